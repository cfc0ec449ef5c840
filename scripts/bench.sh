#!/usr/bin/env bash
# Runs every benchmark (they print figures; none is a test). Usage: scripts/bench.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: scripts/bench.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
cmake --build "$build" -j "$(nproc)" >/dev/null
"$here/bench-api.sh" "$build"
for b in "$here"/bench-*.sh; do
  [ "$b" = "$here/bench-api.sh" ] && continue
  "$b" "$build"
done
