#!/usr/bin/env bash
# Runs the whole suite through CTest. Services that integration tests need (PostgreSQL, slapd, FRR,
# VPCS, the Proxmox simulator) are started by the tests' own fixtures on loopback ports chosen at run time.
set -euo pipefail
builddir=${1:?usage: scripts/test.sh BUILD_DIR}
cd "$builddir"
ctest --output-on-failure --timeout 600 -j "${CTEST_JOBS:-2}"
