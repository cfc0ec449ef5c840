#!/usr/bin/env bash
# Runs the command block of README.md's "Using it" section, in order, in a scratch directory, so the README
# cannot drift from the code again (a newcomer's first grading once failed on a lab name the README and the
# inventory disagreed on). Usage: scripts/test-readme.sh NETPRAXIS_BINARY
#
# Each line runs as written, with $B set to the given binary. Servers (`serve`, `pve-sim`) are started in the
# background, must say they listen within 30 s, and are stopped with SIGTERM (serve on a free port, through
# the NETPRAXIS_SERVER__PORT override). `sudo` is dropped when running as root; without root, those lines are
# skipped and said so. `grade` may exit 3 (graded, not full marks: the example lab is the student's to
# configure). Every other command must exit 0.
set -uo pipefail
binary=$(realpath "${1:?usage: scripts/test-readme.sh NETPRAXIS_BINARY}")
repo=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d /tmp/np-readme.XXXXXX)
labs_started=()
cleanup() {
    for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
    for lab in "${labs_started[@]}"; do "$binary" lab down "$lab" >/dev/null 2>&1; done
    rm -rf "$scratch"
}
trap cleanup EXIT
cp -r "$repo/examples" "$scratch/"
cd "$scratch"

# The first ```sh block after "## Using it".
block=$(awk '/^## Using it/{s=1} s&&/^```sh/{b=1;next} b&&/^```/{exit} b{print}' "$repo/README.md")
[ -n "$block" ] || { echo "README.md: no \`\`\`sh block under '## Using it'"; exit 1; }

failures=0 ran=0
while IFS= read -r line; do
    cmd=$(sed -E 's/[[:space:]]{2,}#.*$//' <<<"$line")  # drop the trailing comment
    [[ -z "${cmd// /}" || "$cmd" =~ ^# ]] && continue
    if [[ "$cmd" =~ ^B= ]]; then continue; fi  # $B is the binary under test
    if [[ "$cmd" =~ ^sudo\  ]]; then
        if [ "$(id -u)" -ne 0 ]; then echo "SKIP (needs root): $cmd"; continue; fi
        cmd=${cmd#sudo }
    fi
    ran=$((ran + 1))
    run="B=$(printf %q "$binary"); $cmd"
    log="$scratch/cmd-$ran.log"
    if [[ "$cmd" =~ \$B\ (serve|pve-sim) ]]; then
        NETPRAXIS_SERVER__PORT=0 bash -c "B=$(printf %q "$binary"); exec $cmd" >"$log" 2>&1 &
        pid=$!
        deadline=$((SECONDS + 30))
        until grep -q "listening on" "$log" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; do
            sleep 0.1
        done
        if grep -q "listening on" "$log"; then
            kill -TERM "$pid"; wait "$pid"; rc=$?
            echo "ok   (listened, stopped: $rc) $cmd"
        else
            kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
            echo "FAIL (never listened) $cmd"; sed 's/^/     | /' "$log" | tail -20; failures=$((failures + 1))
        fi
        continue
    fi
    [[ "$cmd" =~ lab\ up\ .*--name\ ([a-z0-9-]+) ]] && labs_started+=("${BASH_REMATCH[1]}")
    bash -c "$run" >"$log" 2>&1 </dev/null
    rc=$?
    if [ $rc -eq 0 ] || { [ $rc -eq 3 ] && [[ "$cmd" =~ \$B\ grade ]]; }; then
        echo "ok   (exit $rc) $cmd"
    else
        echo "FAIL (exit $rc) $cmd"; sed 's/^/     | /' "$log" | tail -20; failures=$((failures + 1))
    fi
done <<<"$block"

echo "README commands: $ran run, $failures failed"
[ "$ran" -gt 0 ] && [ "$failures" -eq 0 ]
