#!/usr/bin/env bash
# Long codec fuzz run: the seeded mutation tests of tests/Pxe.Dhcp.Tests with more iterations.
#   bench/dhcp/fuzz.sh [ITERATIONS] [SEED]      (default 50,000,000 iterations, seed 20261121)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PXE_DHCP_FUZZ_ITERATIONS="${1:-50000000}"
export PXE_DHCP_FUZZ_SEED="${2:-20261121}"
exec dotnet test "$ROOT/tests/Pxe.Dhcp.Tests" -c Release --filter "FullyQualifiedName~TruncationAndFuzzTests.Fuzz"
