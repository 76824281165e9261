#!/usr/bin/env bash
# A longer seeded fuzzing campaign of the TFTP parser, negotiation and transfer state machine than the unit
# tests run (200,000 iterations).
#
#   bench/tftp/fuzz.sh [iterations] [seed]
#
# A failure prints the seed; rerun with the same seed to reproduce, and keep the failing input as a test.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export TFTP_FUZZ_ITERATIONS="${1:-5000000}"
export TFTP_FUZZ_SEED="${2:-20240515}"
echo "fuzzing: $TFTP_FUZZ_ITERATIONS iterations, seed $TFTP_FUZZ_SEED"
dotnet test "$REPO/tests/Pxe.Tftp.Tests" --filter "FullyQualifiedName~Pxe.Tftp.Tests.Protocol.FuzzTests"
