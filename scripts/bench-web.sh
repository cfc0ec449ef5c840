#!/usr/bin/env bash
# Figures of the web app (printed, not asserted): initial bundle size gzipped, the class board's main-thread
# time for 1,000 SSE events over 200 students (Chromium), and, as root, one console's keystroke->echo round
# trip through the WebSocket against the device's own telnet. Starts its own `netpraxis serve` on a free
# loopback port with a scratch store. Usage: scripts/bench-web.sh NETPRAXIS_BINARY
set -uo pipefail
binary=$(realpath "${1:?usage: scripts/bench-web.sh NETPRAXIS_BINARY}")
root=$(cd "$(dirname "$0")/.." && pwd)
[ -f "$root/web/dist/index.html" ] || { echo "web/dist is not built: make web-app"; exit 1; }
scratch=$(mktemp -d /tmp/np-webbench.XXXXXX)
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$scratch"
}
trap cleanup EXIT
printf 'server:\n  static_dir: %s\n  access_log: false\nlab:\n  state_dir: %s/labs\n' "$root/web/dist" "$scratch" \
    >"$scratch/config.yaml"
"$binary" --config "$scratch/config.yaml" serve --listen 127.0.0.1:0 --store "sqlite:$scratch/np.db" \
    >"$scratch/server.log" 2>&1 &
server=$!
deadline=$((SECONDS + 60))
until grep -q "listening on" "$scratch/server.log" || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$scratch/server.log" | head -1)
password=$(sed -n "s/.*one-time password: \([A-Za-z0-9_-]*\).*/\1/p" "$scratch/server.log" | head -1)
[ -n "$port" ] && [ -n "$password" ] || { echo "serve did not start:"; cat "$scratch/server.log"; exit 1; }
roundtrip=${NP_ROUNDTRIP:-0}
[ -z "${NP_ROUNDTRIP:-}" ] && [ "$(id -u)" -eq 0 ] && command -v vpcs >/dev/null && roundtrip=1
NP_URL="http://127.0.0.1:$port" NP_ADMIN_PASSWORD="$password" NP_DIST="$root/web/dist" NP_ROUNDTRIP=$roundtrip \
    timeout 600 node "$root/web/tests/bench.mjs"
