#!/usr/bin/env bash
# /api/docs in a real browser (Debian's Chromium, headless): the page, its scripts and the API's OpenAPI
# document load under the page's Content-Security-Policy and Swagger UI renders the routes. Usage:
# scripts/test-api-docs-browser.sh NETPRAXIS_BINARY
set -uo pipefail
binary=$(realpath "${1:?usage: scripts/test-api-docs-browser.sh NETPRAXIS_BINARY}")
command -v chromium >/dev/null || { echo "chromium is not installed (scripts/install-deps.sh test)"; exit 1; }
scratch=$(mktemp -d /tmp/np-docs.XXXXXX)
server=
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null; wait 2>/dev/null; rm -rf "$scratch"; }
trap cleanup EXIT
cd "$scratch"
NETPRAXIS_SERVER__PORT=0 "$binary" serve >server.log 2>&1 &
server=$!
deadline=$((SECONDS + 30))
until grep -q "listening on" server.log || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' server.log | head -1)
[ -n "$port" ] || { echo "serve did not start:"; cat server.log; exit 1; }
# Virtual time: the page gets 15 s of its own clock whatever the machine's load, then the DOM is printed.
timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --user-data-dir="$scratch/profile" \
    --virtual-time-budget=15000 --dump-dom "http://127.0.0.1:$port/api/docs" >dom.html 2>chromium.log
found=0
for path in /api/v1/auth/login /api/v1/me /api/v1/exercises /api/v1/assignments; do
    if grep -q "data-path=\"$path\"" dom.html; then found=$((found + 1)); else echo "not rendered: $path"; fi
done
if grep -qi "content security policy" chromium.log; then
    echo "CSP violations:"; grep -i "content security policy" chromium.log | head -5; exit 1
fi
echo "API reference in Chromium: $found of 4 routes rendered"
[ "$found" -eq 4 ]
