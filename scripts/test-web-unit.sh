#!/usr/bin/env bash
# The web app's unit tests (vitest, web/tests/unit): the pure parts (API client error mapping, the class
# board's reducer, formatting), type-checked first. Offline: web/node_modules comes from `make web-app`
# (npm ci, lockfile).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$root/web/node_modules/vitest/vitest.mjs" ] || { echo "web/node_modules is missing: make web-app"; exit 1; }
cd "$root/web"
# The tests' TypeScript is checked too (vitest only strips the types).
node node_modules/typescript/bin/tsc -p tsconfig.tests.json
exec node node_modules/vitest/vitest.mjs run --reporter=verbose
