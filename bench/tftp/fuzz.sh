#!/usr/bin/env bash
# A longer seeded fuzzing campaign of the TFTP parser, negotiation and transfer state machine than the unit
# tests run (1,000,000 inputs per test there).
#
#   bench/tftp/fuzz.sh [iterations] [seed]      (default 5,000,000 inputs, seed 20240515)
#
# Both fuzz tests run with the given count: the parser test mutates `iterations` datagrams; the state-machine
# test drives iterations / 200 transfers with up to 200 mutated ACKs, ERRORs and timeouts each. Any exception
# or broken invariant fails the test and prints where. The project is built first, so the figures printed at
# the end (wall time and peak resident memory of the largest process of the test run, from GNU time) cover
# the fuzzing only.
# A failure prints the seed; rerun with the same seed to reproduce, and keep the failing input as a test.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export TFTP_FUZZ_ITERATIONS="${1:-5000000}"
export TFTP_FUZZ_SEED="${2:-20240515}"
PROJECT="$REPO/tests/Pxe.Tftp.Tests"
dotnet build "$PROJECT" -c Release >/dev/null
echo "fuzzing: $TFTP_FUZZ_ITERATIONS iterations, seed $TFTP_FUZZ_SEED"
run=(dotnet test "$PROJECT" -c Release --no-build --logger "console;verbosity=normal"
     --filter "FullyQualifiedName~Pxe.Tftp.Tests.Protocol.FuzzTests")
if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "fuzz run: wall %e s, peak resident memory %M KiB" "${run[@]}"
else
    "${run[@]}"
fi
