#!/usr/bin/env bash
# kill -9 `pxe serve` during mixed API, install and DHCP load, ROUNDS times (default 50), restarting on the same data
# directory and checking every acknowledged write after each restart. The test suite runs 4 rounds; this runs more.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export PXE_CRASH_ROUNDS="${ROUNDS:-50}"
cd "$ROOT"
exec dotnet test tests/Pxe.Server.Tests --filter "FullyQualifiedName~CrashSafetyTests" --logger "console;verbosity=detailed"
