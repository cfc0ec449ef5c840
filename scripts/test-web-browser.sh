#!/usr/bin/env bash
# The web app in a real browser: Playwright (web/node_modules/playwright-core) drives Debian's Chromium,
# headless, against a real `netpraxis serve` on a loopback port chosen at run time, with its own store and
# local labs in a scratch folder (root: the labs are network namespaces with VPCS). Screenshots go to
# OUT_DIR (default: the current folder's web-screenshots/). Usage:
# scripts/test-web-browser.sh NETPRAXIS_BINARY [OUT_DIR]
set -uo pipefail
binary=$(realpath "${1:?usage: scripts/test-web-browser.sh NETPRAXIS_BINARY [OUT_DIR]}")
out=$(realpath -m "${2:-web-screenshots}")
root=$(cd "$(dirname "$0")/.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "needs root (local labs are network namespaces)"; exit 77; }
command -v chromium >/dev/null || { echo "chromium is not installed (scripts/install-deps.sh test)"; exit 1; }
[ -f "$root/web/dist/index.html" ] || { echo "web/dist is not built: make web-app"; exit 1; }
[ -d "$root/web/node_modules/playwright-core" ] || { echo "web/node_modules is missing: make web-app"; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.png "$out"/server.log  # this run's pictures only
scratch=$(mktemp -d /tmp/np-web.XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$scratch"
}
trap cleanup EXIT
cat >"$scratch/config.yaml" <<YAML
server:
  static_dir: $root/web/dist
lab:
  state_dir: $scratch/labs
auth:
  realms:  # two realms: the login page shows its picker
    - {name: local, kind: local, label: "School account"}
    - {name: guests, kind: local, label: "Guest account"}
YAML
"$binary" --config "$scratch/config.yaml" serve --listen 127.0.0.1:0 --store "sqlite:$scratch/np.db" \
    >"$scratch/server.log" 2>&1 &
server=$!
deadline=$((SECONDS + 60))
until grep -q "listening on" "$scratch/server.log" || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$scratch/server.log" | head -1)
password=$(sed -n "s/.*one-time password: \([A-Za-z0-9_-]*\).*/\1/p" "$scratch/server.log" | head -1)
[ -n "$port" ] && [ -n "$password" ] || { echo "serve did not start:"; cat "$scratch/server.log"; exit 1; }
NP_URL="http://127.0.0.1:$port" NP_ADMIN_PASSWORD="$password" NP_SHOTS="$out" \
    timeout 600 node "$root/web/tests/browser.mjs"
status=$?
cp "$scratch/server.log" "$out/server.log"
if [ $status -ne 0 ]; then
    echo "--- server log (last 40 lines) ---"
    grep -v "http.request" "$scratch/server.log" | tail -40
fi
# (browser.mjs waits for its lab's destroy job, failed run or not, before the server stops.)
echo "screenshots: $out"
exit $status
