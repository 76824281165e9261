#!/usr/bin/env bash
# DHCP benchmark: full DORA exchanges per second with < 1% drops, PxeServer's DHCP server against kea-dhcp4 2.2
# (single-threaded, memfile), both with the same relayed /16 pool, measured with perfdhcp in relay mode.
#
#   sudo bench/dhcp/run.sh [--duration SECONDS] [--start RATE] [--max RATE] [--only ours|kea] [--ours pxe|host] [--durability full|process]
#
# "ours" is `pxe serve` itself by default (leases in its SQLite store, synchronous=FULL, group commit; unknown MACs
# not recorded as machines, as perfdhcp invents a new MAC per exchange); --ours host runs the DHCP library alone in
# a small host with an append-only lease journal (the durability of Kea's memfile).
#
# Layout: namespace "srv" holds the server on veth s0 (10.232.0.1/24); namespace "cli" holds perfdhcp on veth c0
# (10.232.0.2/24 and 10.240.0.1/16). perfdhcp sends to the server's unicast address from 10.240.0.1:67 with
# giaddr 10.240.0.1, i.e. as a relay agent; the server selects the 10.240.0.0/16 subnet by giaddr and answers to
# the relay on port 67. The server is pinned to core 0 and perfdhcp to core 1. Every trial starts a fresh server
# with a fresh lease store. Needs root, iproute2, perfdhcp (kea-admin), kea-dhcp4 (kea-dhcp4-server), dotnet.
set -euo pipefail

DURATION=10
START_RATE=2000
MAX_RATE=60000
ONLY=""
OURS_KIND=pxe
DURABILITY=full
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --start) START_RATE="$2"; shift 2 ;;
    --max) MAX_RATE="$2"; shift 2 ;;
    --only) ONLY="$2"; shift 2 ;;
    --ours) OURS_KIND="$2"; shift 2 ;;
    --durability) DURABILITY="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SUFFIX="$$"
SRV="pxdb-srv-$SUFFIX"
CLI="pxdb-cli-$SUFFIX"
WORK="$(mktemp -d /tmp/pxe-dhcp-bench.XXXXXX)"
SERVER_PID=""

for tool in ip perfdhcp kea-dhcp4 dotnet taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (perfdhcp: kea-admin, kea-dhcp4: kea-dhcp4-server)" >&2; exit 1; }
done

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  ip netns del "$SRV" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "building the benchmark host (Release)..." >&2
dotnet build -c Release "$HERE/Pxe.Dhcp.Bench" -o "$WORK/host" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
# The server as it ships: published for this machine's runtime, ReadyToRun (precompiled).
case "$(uname -m)" in aarch64) RID=linux-arm64 ;; *) RID=linux-x64 ;; esac
dotnet publish -c Release -r "$RID" --self-contained false "$ROOT/src/Pxe.Server/Pxe.Server.csproj" -o "$WORK/pxe" >>"$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; exit 1; }
# No profiles are needed to answer DHCP: an empty spec keeps the benchmark independent of the spec files.
mkdir -p "$WORK/spec" "$WORK/templates"
cat >"$WORK/pxe.json" <<PXE
{
  "Logging": { "LogLevel": { "Default": "Warning" } },
  "Pxe": {
    "DataDirectory": "$WORK/pxedata", "SpecDirectory": "$WORK/spec", "TemplatesDirectory": "$WORK/templates",
    "HttpUrl": "http://127.0.0.1:18080", "ServerUrl": "http://10.232.0.1:18080", "RecordUnknownMachines": false, "Durability": "$DURABILITY",
    "Tftp": { "Enabled": false },
    "Dhcp": {
      "Mode": "full", "Interfaces": [ "s0" ], "ServerAddress": "10.232.0.1", "UnknownMachines": "discover",
      "Subnets": [
        { "Network": "10.232.0.0/24", "Interface": "s0", "Dns": [ "10.232.0.1" ] },
        { "Network": "10.240.0.0/16", "Pool": "10.240.0.2-10.240.255.254", "Router": "10.240.0.1", "Dns": [ "10.232.0.1" ], "LeaseSeconds": 3600 }
      ]
    }
  }
}
PXE

ip netns add "$SRV"
ip netns add "$CLI"
ip link add "pxdba$SUFFIX" type veth peer name "pxdbb$SUFFIX"
ip link set "pxdba$SUFFIX" netns "$SRV"
ip link set "pxdbb$SUFFIX" netns "$CLI"
ip -n "$SRV" link set "pxdba$SUFFIX" name s0
ip -n "$CLI" link set "pxdbb$SUFFIX" name c0
for ns in "$SRV" "$CLI"; do ip -n "$ns" link set lo up; done
ip -n "$SRV" link set s0 up
ip -n "$CLI" link set c0 up
ip -n "$SRV" addr add 10.232.0.1/24 dev s0
ip -n "$CLI" addr add 10.232.0.2/24 dev c0
ip -n "$CLI" addr add 10.240.0.1/16 dev c0
ip -n "$SRV" route add 10.240.0.0/16 via 10.232.0.2

cat >"$WORK/kea.json" <<KEA
{
  "Dhcp4": {
    "interfaces-config": { "interfaces": [ "s0" ], "dhcp-socket-type": "udp" },
    "lease-database": { "type": "memfile", "persist": true, "name": "$WORK/kea.leases", "lfc-interval": 0 },
    "valid-lifetime": 3600, "renew-timer": 1800, "rebind-timer": 3150,
    "subnet4": [
      { "subnet": "10.232.0.0/24", "interface": "s0",
        "option-data": [ { "name": "domain-name-servers", "data": "10.232.0.1" } ] },
      { "subnet": "10.240.0.0/16", "pools": [ { "pool": "10.240.0.2 - 10.240.255.254" } ],
        "option-data": [ { "name": "routers", "data": "10.240.0.1" }, { "name": "domain-name-servers", "data": "10.232.0.1" } ] }
    ],
    "loggers": [ { "name": "kea-dhcp4", "output_options": [ { "output": "$WORK/kea.log" } ], "severity": "WARN" } ]
  }
}
KEA

start_server() { # $1 = ours | kea
  rm -rf "$WORK/journal" "$WORK/kea.leases"* "$WORK/server.log" "$WORK/pxedata"
  if [[ "$1" == ours && "$OURS_KIND" == pxe ]]; then
    ip netns exec "$SRV" taskset -c 0 "$WORK/pxe/pxe" serve --config "$WORK/pxe.json" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 200); do grep -q "serving on" "$WORK/server.log" 2>/dev/null && return 0; sleep 0.1; done
    cat "$WORK/server.log" >&2; return 1
  elif [[ "$1" == ours ]]; then
    ip netns exec "$SRV" taskset -c 0 dotnet "$WORK/host/Pxe.Dhcp.Bench.dll" --interface=s0 --journal="$WORK/journal" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do grep -q READY "$WORK/server.log" 2>/dev/null && return 0; sleep 0.1; done
    cat "$WORK/server.log" >&2; return 1
  else
    KEA_PIDFILE_DIR="$WORK" KEA_LOCKFILE_DIR="$WORK" ip netns exec "$SRV" taskset -c 0 kea-dhcp4 -c "$WORK/kea.json" >"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do [[ -f "$WORK/kea.leases" ]] && { sleep 0.3; return 0; }; sleep 0.1; done
    cat "$WORK/server.log" "$WORK/kea.log" >&2 2>/dev/null; return 1
  fi
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

leases_stored() { # $1 = ours | kea
  if [[ "$1" == ours && "$OURS_KIND" == pxe ]]; then
    python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from leases where state = \"Bound\"").fetchone()[0])' "$WORK/pxedata/pxe.db"
  elif [[ "$1" == ours ]]; then
    sed -n 's/.*leases-stored=\([0-9]*\).*/\1/p' "$WORK/server.log" | tail -1
  else
    # memfile CSV: one header line, then one line per lease write; count distinct addresses.
    tail -n +2 "$WORK/kea.leases" 2>/dev/null | cut -d, -f1 | sort -u | wc -l
  fi
}

RESULTS="$WORK/trials.tsv"
# trial SERVER RATE -> prints "pass|fail achieved do_drop ra_drop leases"
trial() {
  local server="$1" rate="$2" out="$WORK/perfdhcp.out"
  start_server "$server"
  # CPU time of the server process (ip netns exec and taskset exec it, so $SERVER_PID is the server itself).
  local ticks_before ticks_after
  ticks_before="$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)"
  ip netns exec "$CLI" taskset -c 1 perfdhcp -4 -g single -r "$rate" -R 60000 -p "$DURATION" -l 10.240.0.1 10.232.0.1 >"$out" 2>&1 || true
  ticks_after="$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat" 2>/dev/null || echo 0)"
  stop_server
  local achieved do_drop ra_drop leases
  achieved="$(sed -n 's/^Rate: \([0-9.]*\) 4-way.*/\1/p' "$out" | head -1)"
  do_drop="$(sed -n 's/^drops ratio: \([0-9.]*\) %.*/\1/p' "$out" | sed -n 1p)"
  ra_drop="$(sed -n 's/^drops ratio: \([0-9.]*\) %.*/\1/p' "$out" | sed -n 2p)"
  leases="$(leases_stored "$server")"
  # Server CPU per exchange in microseconds (clock ticks of 1/CLK_TCK s over the exchanges completed).
  local hz cpu_us
  hz="$(getconf CLK_TCK)"
  cpu_us="$(awk -v t=$(( ticks_after - ticks_before )) -v hz="$hz" -v r="${achieved:-0}" -v d="$DURATION" 'BEGIN { if (r > 0) printf "%.0f", t / hz * 1e6 / (r * d); else print "?" }')"
  local verdict=fail
  if [[ -n "$do_drop" && -n "$ra_drop" ]] && awk -v a="$do_drop" -v b="$ra_drop" 'BEGIN { exit !(a < 1 && b < 1) }'; then verdict=pass; fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%H:%M:%S)" "$server" "$rate" "${achieved:-?}" "${do_drop:-?}" "${ra_drop:-?}" "${leases:-?}" "$cpu_us" "$verdict" | tee -a "$RESULTS" >&2
  [[ "$verdict" == pass ]]
}

# Highest passing rate per server: a geometric ladder (x1.25) until a failure (halving instead when the start rate
# fails), then bisection to within 3 %. The two servers' trials alternate, so both see the same machine over time.
declare -A LOW HIGH RATE DONE
SERVERS=()
[[ "$ONLY" != kea ]] && SERVERS+=(ours)
[[ "$ONLY" != ours ]] && SERVERS+=(kea)
for s in "${SERVERS[@]}"; do LOW[$s]=0; HIGH[$s]=""; RATE[$s]="$START_RATE"; DONE[$s]=""; done

next_rate() { # $1 = server; sets RATE or DONE
  local s="$1" low="${LOW[$1]}" high="${HIGH[$1]}"
  if [[ -z "$high" ]]; then
    RATE[$s]=$(( RATE[$s] * 5 / 4 ))
    if (( RATE[$s] > MAX_RATE )); then DONE[$s]=1; fi
  elif (( low == 0 )); then
    if (( high <= 200 )); then DONE[$s]=1; else RATE[$s]=$(( high / 2 )); fi
  elif (( high - low <= high * 3 / 100 )); then
    DONE[$s]=1
  else
    RATE[$s]=$(( (low + high) / 2 ))
  fi
}

printf 'time\tserver\trate\tachieved\tDO drops %%\tRA drops %%\tleases stored\tserver CPU us/exchange\tverdict\n' >"$RESULTS"
echo "load average before: $(cat /proc/loadavg)" >&2
while :; do
  active=0
  for s in "${SERVERS[@]}"; do
    [[ -n "${DONE[$s]}" ]] && continue
    active=1
    if trial "$s" "${RATE[$s]}"; then LOW[$s]="${RATE[$s]}"; else HIGH[$s]="${RATE[$s]}"; fi
    next_rate "$s"
  done
  (( active )) || break
done
OURS="${LOW[ours]:-}"; KEA="${LOW[kea]:-}"
echo "load average after: $(cat /proc/loadavg)" >&2

echo
echo "## Trials"
echo
echo '```'
column -t -s $'\t' "$RESULTS"
echo '```'
echo
echo "highest rate with < 1% drops: ours ${OURS:-n/a}, kea ${KEA:-n/a} exchanges/s"
if [[ -n "$OURS" && -n "$KEA" && "$KEA" != 0 ]]; then
  awk -v o="$OURS" -v k="$KEA" 'BEGIN { printf "ratio ours/kea: %.2f\n", o / k }'
fi
