#!/usr/bin/env bash
# Grading a whole class through the API as one job (issue 12): a fresh `netpraxis serve`, a course of N
# students (roster import), one local lab each (4 Linux hosts in a chain, 5 checks), every lab started; then
# each lab graded alone, one after the other (the slowest is the reference), and the whole class graded as one
# class.grade job with CONCURRENCY labs at once. Prints the class job's wall time, the slowest single lab's,
# their ratio (issue 12 aims at <= 3x on 2 cores for 200 labs), and the server's peak memory during the run.
# Needs root (network namespaces). Usage: scripts/bench-class-grade.sh BUILD_DIR [N] [CONCURRENCY]
set -euo pipefail
build=${1:?usage: scripts/bench-class-grade.sh BUILD_DIR [N] [CONCURRENCY]}
n=${2:-20}
conc=${3:-16}
here=$(cd "$(dirname "$0")" && pwd)
bin=$build/src/cmd/netpraxis
[ -x "$bin" ] || cmake --build "$build" --target netpraxis >/dev/null
if [ "$(id -u)" != 0 ]; then echo "bench-class-grade: needs root (network namespaces); skipped"; exit 0; fi
# shellcheck source=lib/bench-api-common.sh
source "$here/lib/bench-api-common.sh"

dir=$(mktemp -d /tmp/np-bench-class-XXXXXX)
port=$(free_port)
api=http://127.0.0.1:$port/api/v1
# lab.max_labs and lab.max_nodes raised for the class (the shipped 32 labs / 320 nodes would refuse the rest).
printf 'lab:\n  state_dir: %s/labs\n  max_labs: %d\n  max_nodes: %d\n' "$dir" "$((n + 8))" "$((4 * n + 32))" \
    >"$dir/config.yaml"
"$bin" --log-level warn --config "$dir/config.yaml" serve --listen "127.0.0.1:$port" --store "sqlite:$dir/np.db" \
    >"$dir/log" 2>&1 &
server=$!
envs=()
cleanup() {  # every lab destroyed through the API (the server removes its namespaces), then the server
    if kill -0 "$server" 2>/dev/null && [ -n "${token:-}" ]; then
        for e in "${envs[@]}"; do call POST "/environments/$e/actions" '{"action":"destroy"}' >/dev/null || true; done
        for e in "${envs[@]}"; do wait_state "$e" absent 600 || true; done
    fi
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # so that a stopped run still destroys its labs

call() {  # METHOD PATH [BODY]
    curl -fsS -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        ${3:+-d "$3"} "$api$2"
}
field() { grep -o "\"$1\":\"[^\"]*\"" | head -1 | sed 's/.*:"\(.*\)"/\1/'; }  # first "KEY":"value" of stdin
now() { date +%s.%N; }
wait_job() {  # JOB_ID: polls every 20 ms until it finishes; prints its final state
    local st
    while :; do
        st=$(call GET "/jobs/$1" | grep -o '"state":"[a-z]*"' | head -1 | cut -d'"' -f4)
        case $st in succeeded | failed | cancelled) echo "$st"; return ;; esac
        sleep 0.02
    done
}
wait_state() {  # ENV_ID STATE TENTHS
    for _ in $(seq "$3"); do
        call GET "/environments/$1" | grep -q "\"observed_state\":\"$2\"" && return 0
        sleep 0.1
    done
    return 1
}
json_text() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | sed ':a;N;$!ba;s/\n/\\n/g'; }  # stdin as a JSON string body

token=$(admin_token "$port" "$dir/log")
[ -n "$token" ] || { echo "bench-class-grade: the server did not start:"; cat "$dir/log"; exit 1; }

topology=$(json_text <<'EOF'
name: chain4
nodes:
  h1: {kind: linux, exec: ["ip addr add 10.60.1.1/24 dev eth1"]}
  h2: {kind: linux, exec: ["ip addr add 10.60.1.2/24 dev eth1", "ip addr add 10.60.2.2/24 dev eth2"]}
  h3: {kind: linux, exec: ["ip addr add 10.60.2.3/24 dev eth1", "ip addr add 10.60.3.3/24 dev eth2"]}
  h4: {kind: linux, exec: ["ip addr add 10.60.3.4/24 dev eth1"]}
links:
  - endpoints: ["h1:eth1", "h2:eth1"]
  - endpoints: ["h2:eth2", "h3:eth1"]
  - endpoints: ["h3:eth2", "h4:eth1"]
EOF
)
spec=$(json_text <<'EOF'
id: chain4
title: Four hosts in a chain
version: 1
devices:
  h1: {platform: linux}
  h2: {platform: linux}
  h3: {platform: linux}
  h4: {platform: linux}
checks:
  - {id: h1-addr, on: h1, run: ip -br addr, expect: {contains: 10.60.1.1/24}, points: 1}
  - {id: h2-addr, on: h2, run: ip -br addr, expect: {contains: 10.60.2.2/24}, points: 1}
  - {id: h1-h2, on: h1, run: ping -c 1 -W 1 10.60.1.2, expect: {ping: {min_success: 100}}, points: 1}
  - {id: h3-h4, on: h3, run: ping -c 1 -W 1 10.60.3.4, expect: {ping: {min_success: 100}}, points: 1}
  - {id: h4-route, on: h4, run: ip route, expect: {contains: 10.60.9.0/24}, points: 1}
grading: {settle: off}
EOF
)
ex=$(call POST /exercises "{\"slug\":\"chain4\",\"title\":\"Chain\",\"spec\":\"$spec\",\"topology\":\"$topology\"}" | field id)
call POST "/exercises/$ex/versions/1/publish" >/dev/null
course=$(call POST /courses '{"slug":"bench-class"}' | field id)
csv="username\\n"
for i in $(seq -w 1 "$n"); do csv+="bench-s$i\\n"; done
call POST "/courses/$course/roster" "{\"csv\":\"$csv\"}" >/dev/null
job=$(call POST "/courses/$course/assignments" "{\"exercise_id\":\"$ex\"}" | field id)
[ "$(wait_job "$job")" = succeeded ] || { echo "bench-class-grade: course.assign failed"; exit 1; }
mapfile -t envs < <(call GET "/environments?exercise_id=$ex&limit=500" | grep -o '"id":"[^"]*","assignment_id"' |
    cut -d'"' -f4)
mapfile -t assignments < <(call GET "/assignments?exercise_id=$ex&limit=500" | grep -o '"id":"[^"]*","exercise_id"' |
    cut -d'"' -f4)
echo "bench-class-grade: $n labs of 4 Linux hosts, 5 checks each; class concurrency $conc; $(nproc) cores"
t0=$(now)
for e in "${envs[@]}"; do call POST "/environments/$e/actions" '{"action":"start"}' >/dev/null; done
for e in "${envs[@]}"; do wait_state "$e" running 6000 || { echo "lab of $e did not start"; exit 1; }; done
printf 'labs started: %.1f s\n' "$(echo "$(now) - $t0" | bc)"

# Each lab alone (a teacher's evaluation: no attempt rules), one after the other.
slowest=0
total=0
for a in "${assignments[@]}"; do
    t=$(now)
    job=$(call POST "/assignments/$a/evaluations" | grep -o '"job":{"id":"[^"]*"' | cut -d'"' -f6)
    wait_job "$job" >/dev/null
    d=$(echo "$(now) - $t" | bc)
    total=$(echo "$total + $d" | bc)
    if (($(echo "$d > $slowest" | bc))); then slowest=$d; fi
done

# The class as one job, the server's memory sampled while it runs.
peak=0
t=$(now)
run=$(call POST "/exercises/$ex/class-grading" "{\"concurrency\":$conc}" | field id)
while :; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
    ((rss > peak)) && peak=$rss
    st=$(call GET "/jobs/$run" | grep -o '"state":"[a-z]*"' | head -1 | cut -d'"' -f4)
    case $st in succeeded | failed | cancelled) break ;; esac
    sleep 0.02
done
wall=$(echo "$(now) - $t" | bc)
report=$(call GET "/class-gradings/$run/report")
graded=$(grep -o '"graded":[0-9]*' <<<"$report" | head -1 | cut -d: -f2)
errors=$(grep -o '"errors":[0-9]*' <<<"$report" | head -1 | cut -d: -f2)
printf 'single labs, one at a time: slowest %.2f s, mean %.2f s\n' "$slowest" "$(echo "$total / $n" | bc -l)"
printf 'class grading (%s): %.2f s wall, %s graded, %s errors; ratio to the slowest single lab: %.1fx\n' \
    "$st" "$wall" "$graded" "$errors" "$(echo "$wall / $slowest" | bc -l)"
printf 'server peak RSS during the class run: %.1f MB\n' "$(echo "$peak / 1024" | bc -l)"
