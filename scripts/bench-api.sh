#!/usr/bin/env bash
# API benchmark (issue 2): GET /api/v1/me with a valid token at 256 connections (wrk), next to a bare Beast
# coroutine server that only parses the request and writes a small JSON reply, in the same run.
# Each round measures both servers back to back; besides requests/s and p99 it prints the server's own CPU
# time per request (user+system from /proc/PID/stat), which stays meaningful when the machine is noisy.
# Usage: scripts/bench-api.sh BUILD_DIR [SECONDS] [ROUNDS]
set -euo pipefail
. "$(dirname "$0")/lib/bench-api-common.sh"
build=${1:?usage: scripts/bench-api.sh BUILD_DIR [SECONDS] [ROUNDS]}
secs=${2:-10}
rounds=${3:-3}
bin=$build/src/cmd/netpraxis
bare=$build/bench/api/bench_bare_server
tmp=$(mktemp -d /tmp/np-bench-api-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT


cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run_wrk() {  # pid url [header] -> "rps p99_ms cpu_us_per_request"
    local pid=$1 url=$2 hdr=${3:-} out t0 t1
    t0=$(cpu_ticks "$pid")
    if [ -n "$hdr" ]; then out=$(wrk -t2 -c256 -d"${secs}s" --latency -H "$hdr" "$url"); else out=$(wrk -t2 -c256 -d"${secs}s" --latency "$url"); fi
    t1=$(cpu_ticks "$pid")
    local rps p99 n
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' <<<"$out")
    local errors; errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
    [ -n "$errors" ] && echo "  wrk: $errors" >&2
    awk -v r="$rps" -v p="$p99" -v a="$t0" -v b="$t1" -v n="$n" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%s %s %.2f\n", r, p, (b - a) / hz * 1e6 / n }'
}

port=$(free_port)
"$bin" --log-level warn serve --listen 127.0.0.1:$port --store "sqlite:$tmp/np.db" >"$tmp/out.log" 2>&1 &
pids+=($!)
token=$(admin_token "$port" "$tmp/out.log")

bport=$(free_port)
"$bare" "$bport" & pids+=($!)
sleep 0.3

np_pid=${pids[0]}
bare_pid=${pids[1]}
echo "GET /api/v1/me, 256 connections, ${secs}s each, wrk -t2 on the same 2 cores, $rounds rounds"
printf '%-6s %-10s %12s %9s %14s\n' round server requests/s p99_ms cpu_us/request
ratios=()
for r in $(seq "$rounds"); do
    read -r b_rps b_p99 b_cpu < <(run_wrk "$bare_pid" "http://127.0.0.1:$bport/api/v1/me")
    read -r n_rps n_p99 n_cpu < <(run_wrk "$np_pid" "http://127.0.0.1:$port/api/v1/me" "Authorization: Bearer $token")
    printf '%-6s %-10s %12s %9s %14s\n' "$r" bare "$b_rps" "$b_p99" "$b_cpu"
    printf '%-6s %-10s %12s %9s %14s\n' "$r" netpraxis "$n_rps" "$n_p99" "$n_cpu"
    ratios+=("$(awk -v n="$n_rps" -v b="$b_rps" -v nc="$n_cpu" -v bc="$b_cpu" 'BEGIN { printf "%.3f %.3f", n / b, bc / nc }')")
done
printf '%s\n' "${ratios[@]}" | sort -n | awk '{ t[NR] = $1; c[NR] = $2 } END {
    m = int((NR + 1) / 2)
    printf "median netpraxis/bare throughput ratio: %.3f (target >= 0.90); p99 target < 10 ms\n", t[m]
    printf "CPU per request, bare/netpraxis (1.0 = as cheap as the bare server), same round: %.3f\n", c[m] }'
