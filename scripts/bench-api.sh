#!/usr/bin/env bash
# API benchmark (issue 2): GET /api/v1/me with a valid token at 256 connections (wrk), next to a bare Beast
# coroutine server that only parses the request and writes a small JSON reply, in the same run.
# Usage: scripts/bench-api.sh BUILD_DIR [SECONDS]
set -euo pipefail
build=${1:?usage: scripts/bench-api.sh BUILD_DIR [SECONDS]}
secs=${2:-10}
bin=$build/src/app/netpraxis
bare=$build/bench/api/bench_bare_server
tmp=$(mktemp -d /tmp/np-bench-api-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() {  # a port nobody listens on
    local p
    while :; do p=$(shuf -i 20000-39999 -n 1); ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }; done
}

run_wrk() {  # url [header] -> "rps p99_ms"
    local out
    if [ -n "${2:-}" ]; then out=$(wrk -t2 -c256 -d"${secs}s" --latency -H "$2" "$1"); else out=$(wrk -t2 -c256 -d"${secs}s" --latency "$1"); fi
    local rps p99
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
    local errors; errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
    [ -n "$errors" ] && echo "  wrk: $errors" >&2
    echo "$rps $p99"
}

port=$(free_port)
"$bin" --log-level warn serve --listen 127.0.0.1:$port --store "sqlite:$tmp/np.db" >"$tmp/out.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "listening on" "$tmp/out.log" 2>/dev/null && break; sleep 0.1; done
password=$(sed -n 's/.*one-time password: \([^ ]*\).*/\1/p' "$tmp/out.log")
token=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$password\"}" "http://127.0.0.1:$port/api/v1/auth/login" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p')

bport=$(free_port)
"$bare" "$bport" & pids+=($!)
sleep 0.3

echo "GET /api/v1/me, 256 connections, ${secs}s each, wrk -t2 on the same 2 cores"
read -r b_rps b_p99 < <(run_wrk "http://127.0.0.1:$bport/api/v1/me")
read -r n_rps n_p99 < <(run_wrk "http://127.0.0.1:$port/api/v1/me" "Authorization: Bearer $token")
printf '%-28s %12s %10s\n' server requests/s p99_ms
printf '%-28s %12s %10s\n' "bare Beast coroutine" "$b_rps" "$b_p99"
printf '%-28s %12s %10s\n' "netpraxis (auth+route+metrics)" "$n_rps" "$n_p99"
awk -v n="$n_rps" -v b="$b_rps" 'BEGIN { printf "netpraxis/bare throughput ratio: %.3f (target >= 0.90); p99 target < 10 ms\n", n / b }'
