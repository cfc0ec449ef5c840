#!/usr/bin/env bash
# Client overhead of the Proxmox workloads (issue 10): `netpraxis pve clone` and `pve delete` of N VMs
# against `netpraxis pve-sim --profile zero` (no latency, every task done at once), so what is measured is the
# client: its task polling, limiter ramp, verification round trips and connections. Target: >= 250 VMs/s for
# both. Prints VMs/s, API calls per VM and the ratio to the target; with BEFORE=/path/to/an/older/netpraxis it
# runs that binary too and prints after/before.
# Usage: scripts/bench-pve-overhead.sh NETPRAXIS_BINARY [N=500] [RUNS=3]   (the median of RUNS is printed)
set -euo pipefail
bin=${1:?usage: scripts/bench-pve-overhead.sh NETPRAXIS_BINARY [N] [RUNS]}
n=${2:-500}
runs=${3:-3}
target=250
tmp=$(mktemp -d /tmp/np-pve-overhead-XXXXXX)
sim_pid=
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

start_sim() {  # the simulator of the binary under test, on a free port
    "$1" --log-level error pve-sim --port 0 --profile zero >"$tmp/sim.out" &
    sim_pid=$!
    for _ in $(seq 1 200); do
        port=$(grep -o ':[0-9]* ' "$tmp/sim.out" 2>/dev/null | tr -d ': ' || true)
        [ -n "$port" ] && return 0
        sleep 0.05
    done
    echo "pve-sim did not start" >&2; exit 1
}
stop_sim() { kill "$sim_pid"; wait "$sim_pid" 2>/dev/null || true; sim_pid=; }

field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }

# One run: prints "clone_vms_per_s delete_vms_per_s clone_calls_per_vm delete_calls_per_vm".
one_run() {
    local b=$1
    start_sim "$b"
    local common=(--url "http://127.0.0.1:$port" --user root@pam --password-stdin --json)
    echo rootpass | "$b" --log-level error pve clone --template 9000 --count "$n" --prefix ov "${common[@]}" >"$tmp/c.json"
    echo rootpass | "$b" --log-level error pve delete --prefix ov "${common[@]}" >"$tmp/d.json"
    stop_sim
    for f in c d; do
        [ "$(field "$tmp/$f.json" ok)" = "$n" ] || { echo "run failed: $(cat "$tmp/$f.json")" >&2; exit 1; }
    done
    python3 - "$tmp/c.json" "$tmp/d.json" "$n" <<'PY'
import json, sys
c, d, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
print(f"{n / c['seconds']:.1f} {n / d['seconds']:.1f} {c['api_calls'] / n:.2f} {d['api_calls'] / n:.2f}")
PY
}

median_of() {  # RUNS runs of a binary: the median of each column
    local b=$1
    for _ in $(seq 1 "$runs"); do one_run "$b"; done | python3 -c '
import sys, statistics
rows = [list(map(float, l.split())) for l in sys.stdin if l.strip()]
print(" ".join(f"{statistics.median(c):.1f}" for c in zip(*rows)))'
}

after=$(median_of "$bin")
read -r ac ad acc adc <<<"$after"
echo "pve client overhead, N=$n, profile zero, median of $runs runs"
printf '%-8s %10s %10s %12s %12s\n' binary clone_vm/s delete_vm/s clone_api/vm delete_api/vm
if [ -n "${BEFORE:-}" ]; then
    before=$(median_of "$BEFORE")
    read -r bc bd bcc bdc <<<"$before"
    printf '%-8s %10s %10s %12s %12s\n' before "$bc" "$bd" "$bcc" "$bdc"
fi
printf '%-8s %10s %10s %12s %12s\n' after "$ac" "$ad" "$acc" "$adc"
python3 - "$ac" "$ad" "$target" "${bc:-}" "${bd:-}" <<'PY'
import sys
ac, ad, t = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
print(f"clone ratio to target {t:.0f} VMs/s: {ac / t:.2f}; delete ratio to target: {ad / t:.2f} (>= 1.00 meets it)")
if sys.argv[4]:
    print(f"after/before: clone {ac / float(sys.argv[4]):.2f}x, delete {ad / float(sys.argv[5]):.2f}x")
PY
