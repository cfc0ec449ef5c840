#!/usr/bin/env bash
# Runs the benchmarks (they print figures; none is a test) and ends with one summary table: each benchmark's
# exit status, wall time and headline figures (its lines that state a ratio, a target or a total).
# Usage: scripts/bench.sh BUILD_DIR [NAME...]      (no NAME: all of them; `make bench-NAME` runs one)
# Names: api api-ir settle store eval pve lab class class-grade web pve-class. Root-only ones (settle, lab, class,
# class-grade) are skipped otherwise.
# Tunables: CLASS_SIZES (default "10 60 150"), CLASS_GRADE_N (200), SETTLE_N (20), PVE_SIZES (bench_pve's --sizes),
# PVE_CLASS_SIZES (bench_pve_class's class sizes, default 30: 200 real-VPCS guests overload 2 cores), PVE_CLASS_START_WAVE (its pve.start_wave, default
# 4 per node: 12).
set -uo pipefail
build=${1:?usage: scripts/bench.sh BUILD_DIR [NAME...]}
shift
here=$(cd "$(dirname "$0")" && pwd)
all=(api api-ir settle store eval pve lab class class-grade web pve-class)
names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${all[@]}")
for n in "${names[@]}"; do
    [[ " ${all[*]} " == *" $n "* ]] || { echo "bench: unknown benchmark '$n' (known: ${all[*]})" >&2; exit 2; }
done
cmake --build "$build" -j "$(nproc)" >/dev/null || exit 1
logs=$(mktemp -d /tmp/np-bench-XXXXXX)
root() { [ "$(id -u)" = 0 ]; }

run_one() {
    case "$1" in
        api) "$here/bench-api.sh" "$build" ;;
        api-ir) "$here/bench-api-ir.sh" "$build" ;;
        settle) root || { echo "skipped: needs root"; return 0; }
                # A stress test of the test build: taken from there when BUILD_DIR has no tests (release).
                local b=$build
                grep -q 'NETPRAXIS_TESTS:BOOL=OFF' "$build/CMakeCache.txt" 2>/dev/null && b=$(dirname "$build")/ci
                [ -f "$b/CMakeCache.txt" ] || { echo "skipped: no test build at $b (make build-test)"; return 0; }
                "$here/bench-settle.sh" "$b" "${SETTLE_N:-20}" ;;
        store) "$build/bench/store/store_bench" ;;
        eval) "$build/bench/eval/bench_eval_grade" ;;
        pve) "$build/bench/pve/bench_pve" ${PVE_SIZES:+--sizes "$PVE_SIZES"} ;;
        lab) root || { echo "skipped: needs root"; return 0; }; "$here/../bench/lab/lab_updown.sh" "$build/src/cmd/netpraxis" ;;
        class) root || { echo "skipped: needs root"; return 0; }
               # shellcheck disable=SC2086
               "$build/bench/class/bench_class" ${CLASS_SIZES:-10 60 150} ;;
        class-grade) root || { echo "skipped: needs root"; return 0; }
                     "$here/bench-class-grade.sh" "$build" "${CLASS_GRADE_N:-200}" ;;
        web) "$here/bench-web.sh" "$build/src/cmd/netpraxis" ;;
        pve-class) root || { echo "skipped: needs root"; return 0; }
                   # shellcheck disable=SC2086
                   "$build/bench/pveclass/bench_pve_class" ${PVE_CLASS_START_WAVE:+--start-wave "$PVE_CLASS_START_WAVE"} \
                       ${PVE_CLASS_SIZES:-30} ;;
    esac
}

declare -A status secs
for n in "${names[@]}"; do
    echo "=== $n"
    t0=$(date +%s)
    run_one "$n" 2>&1 | tee "$logs/$n.log"
    status[$n]=${PIPESTATUS[0]}
    secs[$n]=$(( $(date +%s) - t0 ))
done

echo
echo "=== summary"
printf '%-7s %-6s %6s  %s\n' bench status wall headline
for n in "${names[@]}"; do
    st=ok; [ "${status[$n]}" != 0 ] && st="FAIL(${status[$n]})"
    first=1
    # Headline lines: ratios, targets, medians, totals, per-row table lines of the class and pve benchmarks.
    while IFS= read -r line; do
        if [ $first = 1 ]; then printf '%-7s %-6s %5ss  %s\n' "$n" "$st" "${secs[$n]}" "$line"; first=0
        else printf '%-7s %-6s %6s  %s\n' "" "" "" "$line"; fi
    done < <(grep -E -i 'ratio|target|median|skipped|^\| +[0-9]|^(clone|delete|template) |per (node|namespace)|memory:|ops/s' \
                  "$logs/$n.log" | grep -v '^|---' | head -8)
    [ $first = 1 ] && printf '%-7s %-6s %5ss  %s\n' "$n" "$st" "${secs[$n]}" "(see its output above)"
done
rm -rf "$logs"
fail=0
for n in "${names[@]}"; do [ "${status[$n]}" = 0 ] || fail=1; done
exit $fail
