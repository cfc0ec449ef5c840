#!/bin/bash
# A long run of the intent parsers' mutation fuzzer (tests/unit/eval/intent_fuzz_test.cpp): real device
# outputs mutated and graded as every intent on every platform. Prints the counts of each seed's run; any
# crash or unexpected exception fails it.
#   scripts/bench-intent-fuzz.sh BUILD_DIR [ITERATIONS=200000] [SEEDS=3]
set -eu
build=${1:?usage: bench-intent-fuzz.sh BUILD_DIR [ITERATIONS] [SEEDS]}
iterations=${2:-200000}
seeds=${3:-3}
exe=$build/tests/unit/eval/eval_unit_tests
[ -x "$exe" ] || { echo "no $exe: build eval_unit_tests first" >&2; exit 1; }
for seed in $(seq 1 "$seeds"); do
    start=$(date +%s.%N)
    NP_INTENT_FUZZ_ITERATIONS=$iterations NP_INTENT_FUZZ_SEED=$seed \
        "$exe" --gtest_filter=IntentFuzz.* --gtest_brief=1 | grep '^intent-fuzz'
    echo "  seed $seed: $(awk "BEGIN {printf \"%.1f\", $(date +%s.%N) - $start}") s"
done
