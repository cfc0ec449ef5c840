#!/usr/bin/env bash
# Benchmark (not a test): `netpraxis lab up`/`down` time for a 10-node lab (4 frr routers with ospfd,
# 4 linux hosts, 2 vpcs PCs), and memory per node (PSS of the node's processes; kernel memory for namespaces and veths is not counted:
# the shared machine is too noisy to see it in MemAvailable). Needs root.
# usage: bench/lab/lab_updown.sh PATH/TO/netpraxis [ROUNDS]
set -euo pipefail
bin=${1:?usage: lab_updown.sh NETPRAXIS_BINARY [ROUNDS]}
rounds=${2:-3}
work=$(mktemp -d /tmp/np-bench-lab.XXXXXX)
env="bench$$"
kns="npbk$$x"  # prefix of the namespaces of the kernel-memory probe
cleanup() {
    "$bin" --log-level error lab --state-dir "$work/state" down "$env" >/dev/null 2>&1 || true
    for ns in $(ip netns list | awk '{print $1}' | grep "^$kns" || true); do ip netns del "$ns"; done
    rm -rf "$work"
}
trap cleanup EXIT

cat > "$work/ten.yaml" <<'YAML'
name: ten-nodes
nodes:
  r1: {kind: frr, daemons: [ospfd]}
  r2: {kind: frr, daemons: [ospfd]}
  r3: {kind: frr, daemons: [ospfd]}
  r4: {kind: frr, daemons: [ospfd]}
  h1: {kind: linux, exec: ["ip addr add 192.168.1.10/24 dev eth1"]}
  h2: {kind: linux, exec: ["ip addr add 192.168.2.10/24 dev eth1"]}
  h3: {kind: linux, exec: ["ip addr add 192.168.3.10/24 dev eth1"]}
  h4: {kind: linux, exec: ["ip addr add 192.168.4.10/24 dev eth1"]}
  pc1: {kind: vpcs, config: "ip 10.0.1.10/24 10.0.1.1\n"}
  pc2: {kind: vpcs, config: "ip 10.0.4.10/24 10.0.4.1\n"}
links:
  - endpoints: ["r1:eth2", "r2:eth2"]
  - endpoints: ["r2:eth3", "r3:eth3"]
  - endpoints: ["r3:eth2", "r4:eth2"]
  - endpoints: ["h1:eth1", "r1:eth1"]
  - endpoints: ["h2:eth1", "r2:eth1"]
  - endpoints: ["h3:eth1", "r3:eth1"]
  - endpoints: ["h4:eth1", "r4:eth1"]
  - endpoints: ["pc1:eth0", "r1:eth4"]
  - endpoints: ["pc2:eth0", "r4:eth4"]
YAML

np() { "$bin" --log-level error lab --state-dir "$work/state" "$@"; }
ms() { date +%s%3N; }
pss_kib() {  # sum of PSS (KiB) of the given PIDs
    local total=0 pid v
    for pid in "$@"; do
        v=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

echo "10-node local lab (4 frr+ospfd, 4 linux, 2 vpcs), $rounds rounds"
for i in $(seq 1 "$rounds"); do
    t0=$(ms); np up "$work/ten.yaml" --name "$env" >/dev/null; t1=$(ms)
    sleep 2
    if [ "$i" = 1 ]; then
        frr=0; linux=0
        for n in r1 r2 r3 r4; do frr=$((frr + $(pss_kib $(ip netns pids "${env}_$n")))); done
        for n in h1 h2 h3 h4; do linux=$((linux + $(pss_kib $(ip netns pids "${env}_$n") ))); done
        vpcs_pids=$(for p in /proc/[0-9]*; do c=$(readlink "$p/cwd" 2>/dev/null || true); case "$c" in "$work/state/$env"*) echo "${p#/proc/}";; esac; done)
        vpcs=$(pss_kib $vpcs_pids)
        echo "memory: frr node $((frr / 4)) KiB PSS (zebra+ospfd+staticd+watchfrr), linux node $((linux / 4)) KiB," \
             "vpcs node incl. its TAP bridge $((vpcs / 2)) KiB"
    fi
    t2=$(ms); np down "$env" >/dev/null; t3=$(ms)
    echo "round $i: up $((t1 - t0)) ms, down $((t3 - t2)) ms"
done

# Kernel memory of a namespace node (not in any PSS): 100 namespaces with lo up and one veth end each.
kmem() { awk '/^(Slab|Percpu|KernelStack|PageTables):/ {s+=$2} END {print s}' /proc/meminfo; }
k0=$(kmem)
for i in $(seq 1 100); do ip netns add "$kns$i"; ip -n "$kns$i" link set lo up; done
for i in $(seq 1 2 99); do ip link add eth1 netns "$kns$i" type veth peer name eth1 netns "$kns$((i + 1))"; done
sleep 1
k1=$(kmem)
echo "kernel memory per namespace with one veth end: $(((k1 - k0) / 100)) KiB (Slab+Percpu+KernelStack+PageTables delta)"
