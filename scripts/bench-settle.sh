#!/usr/bin/env bash
# Grading on a converging network (issue 17): grades OSPF labs (examples/ospf-two-lans, no settle or retry key)
# right after their configuration is applied — a correct, a partly correct and a broken one at a time — N
# times each (default 20), while BUSY other processes (default: one per core) keep every core busy. Prints, per
# lab, how many grades had the exact score and how many did not (flakes; the bar is 0), and grading times.
# Needs root and FRR. Usage: scripts/bench-settle.sh BUILD_DIR [N] [BUSY]
set -euo pipefail
build=${1:?usage: scripts/bench-settle.sh BUILD_DIR [N] [BUSY]}
n=${2:-20}
busy=${3:-$(nproc)}
bin=$build/tests/integration/eval/eval_settle_stress_test
[ -x "$bin" ] || cmake --build "$build" --target eval_settle_stress_test >/dev/null
if [ "$(id -u)" != 0 ]; then echo "bench-settle: needs root (network namespaces); skipped"; exit 0; fi
out=$(mktemp /tmp/np-bench-settle-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; rm -f "$out"; }
trap cleanup EXIT
for _ in $(seq "$busy"); do yes >/dev/null & pids+=($!); done

echo "bench-settle: $n grades each of a correct, a partly correct and a broken OSPF lab, $busy busy processes"
start=$(date +%s)
NP_SETTLE_STRESS_REPEAT=$n "$bin" --gtest_color=no >"$out" 2>&1 && rc=0 || rc=$?
echo "wall: $(( $(date +%s) - start )) s, test exit code $rc"
awk '
  /^settle-stress / {
    mode = $2; split($3, s, "="); split($4, x, "="); split($5, t, "="); split($6, r, "=");
    runs[mode]++; if (s[2] == x[2]) exact[mode]++; else { flaky[mode]++; bad[mode] = bad[mode] " " s[2] }
    ms[mode, runs[mode]] = t[2]; rounds[mode] += r[2]
  }
  END {
    printf "%-8s %5s %6s %7s %10s %10s %10s %11s\n", "lab", "runs", "exact", "flakes", "min ms", "median ms", "max ms", "avg rounds"
    split("correct partial broken", order, " ")
    for (k = 1; k <= 3; k++) {
      m = order[k]; c = runs[m] + 0
      if (c == 0) { printf "%-8s %5d\n", m, 0; continue }
      for (i = 1; i <= c; i++) v[i] = ms[m, i] + 0
      for (i = 1; i <= c; i++) for (j = i + 1; j <= c; j++) if (v[j] < v[i]) { tmp = v[i]; v[i] = v[j]; v[j] = tmp }
      printf "%-8s %5d %6d %7d %10d %10d %10d %11.1f%s\n", m, c, exact[m] + 0, flaky[m] + 0, v[1], v[int((c + 1) / 2)], v[c],
             rounds[m] / c, (flaky[m] ? "   scores:" bad[m] : "")
    }
  }' "$out"
if [ "$rc" != 0 ]; then echo "--- failures:"; grep -E '^\[  FAILED|Failure|Expected|Which is|actual' "$out" | head -40; fi
