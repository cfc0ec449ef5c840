#!/usr/bin/env bash
# The web app's unit tests (vitest, web/tests/unit): the pure parts (API client error mapping, the class
# board's reducer, formatting). Offline: web/node_modules comes from `make web-app` (npm ci, lockfile).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$root/web/node_modules/vitest/vitest.mjs" ] || { echo "web/node_modules is missing: make web-app"; exit 1; }
cd "$root/web"
exec node node_modules/vitest/vitest.mjs run --reporter=verbose
