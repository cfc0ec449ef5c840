// Unit tests of the app's pure parts (API client error mapping, board reducer, formatting), in Node: no
// browser. `npm test` (registered with CTest as web_unit_tests).
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node" },
});
