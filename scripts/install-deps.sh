#!/usr/bin/env bash
# Installs the Debian 12 packages netpraxis needs, only those missing; quiet when all are present.
# Usage: scripts/install-deps.sh build|run|test
# Package lists: scripts/packages/<group>-*.txt, one package per line, '#' comments.
set -euo pipefail
group=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)

lists=("$here"/packages/build*.txt)
case "$group" in
  build) ;;
  run) lists+=("$here"/packages/run*.txt) ;;
  test) lists+=("$here"/packages/run*.txt "$here"/packages/test*.txt) ;;
  *) echo "usage: $0 build|run|test" >&2; exit 2 ;;
esac

wanted=$(cat "${lists[@]}" 2>/dev/null | sed 's/#.*//' | tr -s ' \t' '\n' | grep -v '^$' | sort -u)
missing=()
for p in $wanted; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "netpraxis needs these Debian packages: ${missing[*]}" >&2
  echo "run: sudo $0 $group" >&2
  exit 1
fi
echo "installing ${#missing[@]} Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Services must not start on install (CI starts what it needs itself, on its own ports).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
