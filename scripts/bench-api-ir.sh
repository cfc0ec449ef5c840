#!/usr/bin/env bash
# API benchmark, noise-free part: user-space instructions per GET /api/v1/me request for netpraxis and for
# the bare Beast server, counted by callgrind (valgrind) over a few seconds of wrk load. Unlike requests/s
# on a shared 2-core machine, the count does not move with what else runs. Kernel work is not counted;
# both servers make the same system calls per request (one recvmsg, one sendmsg: check with strace -c).
# Usage: scripts/bench-api-ir.sh BUILD_DIR [SECONDS]
# IR_KEEP=DIR keeps the callgrind profiles there (np.out.1, bare.out.1: the load; *.out.2: as long idle) for
# callgrind_annotate.
set -euo pipefail
. "$(dirname "$0")/lib/bench-api-common.sh"
build=${1:?usage: scripts/bench-api-ir.sh BUILD_DIR [SECONDS]}
secs=${2:-4}
tmp=$(mktemp -d /tmp/np-bench-ir-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    if [ -n "${IR_KEEP:-}" ]; then mkdir -p "$IR_KEEP" && cp "$tmp"/*.out.[12] "$IR_KEEP"/ 2>/dev/null || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

grind() { exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$tmp/$1.out" "${@:2}"; }

port=$(free_port)
bport=$(free_port)
grind np "$build/src/cmd/netpraxis" --log-level warn serve --listen "127.0.0.1:$port" --store "sqlite:$tmp/np.db" \
    >"$tmp/np.log" 2>&1 &
pids+=($!)
grind bare "$build/bench/api/bench_bare_server" "$bport" >"$tmp/bare.log" 2>&1 &
pids+=($!)
token=$(admin_token "$port" "$tmp/np.log")
sleep 1
# Warm both once (first-request allocations, token cache), then count only the load: start-up runs
# uninstrumented and the dump is taken right after the load.
curl -fsS -o /dev/null -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/v1/me"
curl -fsS -o /dev/null "http://127.0.0.1:$bport/api/v1/me"

load() {  # name pid url [header] -> requests served while instrumented
    local name=$1 pid=$2 url=$3 hdr=${4:-} out

    callgrind_control -i on "$pid" >/dev/null
    if [ -n "$hdr" ]; then out=$(wrk -t1 -c16 -d"${secs}s" -H "$hdr" "$url"); else out=$(wrk -t1 -c16 -d"${secs}s" "$url"); fi
    callgrind_control -d "$pid" >/dev/null  # asks for <out>.1 with the counts so far
    for _ in $(seq 100); do grep -q "^totals:" "$tmp/$name.out.1" 2>/dev/null && break; sleep 0.1; done
    # The same time with no load (<out>.2): what the server does on its own (the job runner's polls, lease
    # renewals) is subtracted, so the figure is the requests' and does not grow when a loaded machine lets
    # valgrind serve fewer of them.
    sleep "$secs"
    callgrind_control -d "$pid" >/dev/null
    callgrind_control -i off "$pid" >/dev/null
    for _ in $(seq 100); do grep -q "^totals:" "$tmp/$name.out.2" 2>/dev/null && break; sleep 0.1; done
    awk '/requests in/ {print $1}' <<<"$out"
}
np_n=$(load np "${pids[0]}" "http://127.0.0.1:$port/api/v1/me" "Authorization: Bearer $token")
b_n=$(load bare "${pids[1]}" "http://127.0.0.1:$bport/api/v1/me")
for p in "${pids[@]}"; do kill "$p"; wait "$p" 2>/dev/null || true; done
pids=()
total() { callgrind_annotate "$1" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}'; }
per_request() { awk -v a="$(total "$tmp/$1.out.1")" -v i="$(total "$tmp/$1.out.2")" -v n="$2" 'BEGIN { printf "%d", (a - i) / n }'; }
idle_rate() { awk -v i="$(total "$tmp/$1.out.2")" -v s="$secs" 'BEGIN { printf "%d", i / s }'; }
np_ir=$(per_request np "$np_n")
b_ir=$(per_request bare "$b_n")
echo "netpraxis idle (no requests): $(idle_rate np) instructions/s, subtracted below"
echo "GET /api/v1/me under callgrind, user-space instructions per request (wrk -c16, ${secs}s)"
printf '%-30s %12s %10s\n' server instr/request requests
printf '%-30s %12s %10s\n' "bare Beast coroutine" "$b_ir" "$b_n"
printf '%-30s %12s %10s\n' "netpraxis (auth+route+metrics)" "$np_ir" "$np_n"
awk -v n="$np_ir" -v b="$b_ir" 'BEGIN { printf "netpraxis/bare user-space instructions per request: %.3f (lower is cheaper)\n", n / b }'
