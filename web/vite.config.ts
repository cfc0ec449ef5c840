import { defineConfig } from "vite";

// The app is served by `netpraxis serve` on the API's origin: no base path, no CDN, hashed assets under
// assets/ (the server caches those for a year). `npm run dev` proxies the API to a local server.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { target: "es2020", sourcemap: false, assetsInlineLimit: 0, chunkSizeWarningLimit: 600 },
  server: {
    proxy: { "/api": { target: "http://127.0.0.1:8080", ws: true } },
  },
});
