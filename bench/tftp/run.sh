#!/usr/bin/env bash
# TFTP benchmark: PxeServer's TFTP server against tftpd-hpa (and atftpd for windowed transfers), serving the
# same files across a veth pair between two network namespaces, server on one core and clients on another.
#
#   sudo bench/tftp/run.sh [output.md]      (default bench/results/tftp.md, not tracked)
#
# (a) boot storm: a 1 MiB file to 200 concurrent curl clients at blksize 1468: wall time and failures
# (b) one 32 MiB file with curl and atftp at blksize 512, 1468, 8192
# (c) the same file with atftp windowsize 4 and 16 at blksize 1468 (tftpd-hpa ignores windowsize: lock-step)
# Each single-transfer case runs REPEAT times (default 3) and reports the median.
# The veth MTU is 9000 (MTU=...): blksize 8192 then fits one frame for every server. At 1500 PxeServer lowers
# blksize 8192 to 1468 (one block per frame) while tftpd-hpa sends IP fragments: not a like-for-like comparison.
# Needs root, tftpd-hpa (in.tftpd), curl, atftp, taskset, the .NET SDK; atftpd is unpacked (not installed)
# from its Debian package into a temporary folder.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="${1:-$REPO/bench/results/tftp.md}"
mkdir -p "$(dirname "$OUT")"
REPEAT="${REPEAT:-3}"
CLIENTS="${CLIENTS:-200}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
ID="$$"
NS_SRV="tftpb-srv-$ID"
NS_CLI="tftpb-cli-$ID"
SRV_IP=10.252.77.1
CLI_IP=10.252.77.2
MTU="${MTU:-9000}"
PORT_OURS=6969
PORT_HPA=6970
PORT_ATFTPD=6971
WORK="$(mktemp -d /tmp/tftp-bench.XXXXXX)"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    ip netns del "$NS_SRV" 2>/dev/null || true
    ip netns del "$NS_CLI" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
for tool in in.tftpd curl atftp taskset ip dotnet; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

echo "building TftpBenchHost (Release)"
dotnet build -c Release "$HERE/TftpBenchHost/TftpBenchHost.csproj" -o "$WORK/host" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

echo "unpacking atftpd"
( cd "$WORK" && apt-get download atftpd >/dev/null 2>&1 && dpkg-deb -x atftpd_*.deb atftpd ) || echo "atftpd unavailable: windowed reference skipped"
ATFTPD="$WORK/atftpd/usr/sbin/atftpd"

mkdir -p "$WORK/root"
head -c 1048576 /dev/urandom > "$WORK/root/1m.bin"
head -c 33554432 /dev/urandom > "$WORK/root/32m.bin"
SUM_1M="$(sha256sum < "$WORK/root/1m.bin" | cut -d' ' -f1)"
SUM_32M="$(sha256sum < "$WORK/root/32m.bin" | cut -d' ' -f1)"

ip netns add "$NS_SRV"
ip netns add "$NS_CLI"
ip link add "tb$ID-s" mtu "$MTU" type veth peer name "tb$ID-c" mtu "$MTU"
ip link set "tb$ID-s" netns "$NS_SRV"
ip link set "tb$ID-c" netns "$NS_CLI"
ip -n "$NS_SRV" addr add "$SRV_IP/30" dev "tb$ID-s"
ip -n "$NS_CLI" addr add "$CLI_IP/30" dev "tb$ID-c"
for ns in "$NS_SRV" "$NS_CLI"; do ip -n "$ns" link set lo up; done
ip -n "$NS_SRV" link set "tb$ID-s" up
ip -n "$NS_CLI" link set "tb$ID-c" up

# Servers, each pinned to SERVER_CPU inside the server namespace.
ip netns exec "$NS_SRV" taskset -c "$SERVER_CPU" "$WORK/host/TftpBenchHost" --root "$WORK/root" --bind "$SRV_IP" --port "$PORT_OURS" \
    --max-transfers 1024 >"$WORK/ours.log" 2>&1 &
PIDS+=($!)
ip netns exec "$NS_SRV" taskset -c "$SERVER_CPU" in.tftpd --foreground --listen --address "$SRV_IP:$PORT_HPA" \
    --secure --user root "$WORK/root" >"$WORK/hpa.log" 2>&1 &
PIDS+=($!)
if [ -x "$ATFTPD" ]; then
    ip netns exec "$NS_SRV" taskset -c "$SERVER_CPU" "$ATFTPD" --daemon --no-fork --user root --group root \
        --port "$PORT_ATFTPD" --bind-address "$SRV_IP" --maxthread 1000 --logfile /dev/null "$WORK/root" >"$WORK/atftpd.log" 2>&1 &
    PIDS+=($!)
fi
for _ in $(seq 50); do grep -q listening "$WORK/ours.log" 2>/dev/null && break; sleep 0.2; done
grep -q listening "$WORK/ours.log" || { cat "$WORK/ours.log"; exit 1; }
sleep 0.5

now() { date +%s.%N; }
in_cli() { ip netns exec "$NS_CLI" taskset -c "$CLIENT_CPU" "$@"; }

# Warm-up (JIT, page cache, hot-file cache) so every server starts equal.
for port in $PORT_OURS $PORT_HPA; do in_cli curl -s -o /dev/null --tftp-blksize 1468 "tftp://$SRV_IP:$port/1m.bin"; done
in_cli curl -s -o /dev/null --tftp-blksize 1468 "tftp://$SRV_IP:$PORT_OURS/32m.bin"

# busy jiffies (user+nice+system+irq+softirq) of the server and client cores
busy() { awk -v s="cpu$SERVER_CPU" -v c="cpu$CLIENT_CPU" '$1==s{a=$2+$3+$4+$7+$8} $1==c{b=$2+$3+$4+$7+$8} END{print a, b}' /proc/stat; }

# (a) storm: prints "seconds failures"
storm() {
    local port=$1
    in_cli bash -c '
        start=$(date +%s.%N)
        for i in $(seq 1 '"$CLIENTS"'); do
            ( curl -s --max-time 120 -o /dev/null -w "%{size_download}\n" --tftp-blksize 1468 "tftp://'"$SRV_IP:$port"'/1m.bin" \
                > '"$WORK"'/storm.$i 2>/dev/null || echo fail >> '"$WORK"'/storm.$i ) &
        done
        wait
        end=$(date +%s.%N)
        ok=$(grep -lx 1048576 '"$WORK"'/storm.* | wc -l)
        echo "$(echo "$end - $start" | bc) $(( '"$CLIENTS"' - ok ))"
        rm -f '"$WORK"'/storm.*'
}

# one transfer: prints seconds, or "fail"
single() {
    local client=$1 port=$2 blksize=$3 window=$4 out="$WORK/out.bin" start end
    rm -f "$out"
    start=$(now)
    case $client in
        curl) in_cli curl -s --max-time 300 -o "$out" --tftp-blksize "$blksize" "tftp://$SRV_IP:$port/32m.bin" || true ;;
        atftp)
            if [ "$window" = 1 ]; then
                in_cli atftp --option "blksize $blksize" -g -r 32m.bin -l "$out" "$SRV_IP" "$port" >/dev/null 2>&1 || true
            else
                in_cli atftp --option "blksize $blksize" --option "windowsize $window" -g -r 32m.bin -l "$out" "$SRV_IP" "$port" >/dev/null 2>&1 || true
            fi ;;
    esac
    end=$(now)
    if [ -f "$out" ] && [ "$(sha256sum < "$out" | cut -d' ' -f1)" = "$SUM_32M" ]; then
        echo "$end - $start" | bc
    else
        echo fail
    fi
}

median() {
    local values=("$@")
    for v in "${values[@]}"; do [ "$v" = fail ] && { echo fail; return; }; done
    printf '%s\n' "${values[@]}" | sort -g | sed -n "$(( (${#values[@]} + 1) / 2 ))p"
}

rate() { [ "$1" = fail ] && echo "-" || echo "scale=1; 32 / $1" | bc; }
ratio() { { [ "$1" = fail ] || [ "$2" = fail ]; } && echo "-" || echo "scale=2; $1 / $2" | bc; }

{
echo "# TFTP benchmark"
echo
echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)."
echo "Server pinned to CPU $SERVER_CPU, clients to CPU $CLIENT_CPU, across a veth pair (MTU $MTU) between two network namespaces."
echo "Load average at start (other work on the machine): $(cut -d' ' -f1-3 /proc/loadavg)."
echo "tftpd-hpa $(dpkg-query -W -f '${Version}' tftpd-hpa 2>/dev/null), atftpd $(dpkg-deb -f "$WORK"/atftpd_*.deb Version 2>/dev/null || echo -), curl $(curl --version | head -1 | cut -d' ' -f2), atftp $(dpkg-query -W -f '${Version}' atftp 2>/dev/null)."
echo
echo "## (a) Boot storm: 1 MiB to $CLIENTS concurrent curl clients, blksize 1468"
echo
echo "| server | wall time (s) | failures | server core busy | client core busy |"
echo "| --- | --- | --- | --- | --- |"
} > "$OUT"

read -r s0 c0 < <(busy)
read -r storm_ours fail_ours < <(storm $PORT_OURS)
read -r s1 c1 < <(busy)
read -r storm_hpa fail_hpa < <(storm $PORT_HPA)
read -r s2 c2 < <(busy)
hz=$(getconf CLK_TCK)
{
echo "| PxeServer | $storm_ours | $fail_ours | $(echo "scale=0; 100 * ($s1 - $s0) / $hz / $storm_ours" | bc)% | $(echo "scale=0; 100 * ($c1 - $c0) / $hz / $storm_ours" | bc)% |"
echo "| tftpd-hpa | $storm_hpa | $fail_hpa | $(echo "scale=0; 100 * ($s2 - $s1) / $hz / $storm_hpa" | bc)% | $(echo "scale=0; 100 * ($c2 - $c1) / $hz / $storm_hpa" | bc)% |"
echo
echo "Ratio PxeServer / tftpd-hpa: **$(ratio "$storm_ours" "$storm_hpa")** (goal ≤ 0.5, 0 failures)."
echo
echo "## (b) One 32 MiB file, lock-step (median of $REPEAT, seconds; MiB/s in brackets)"
echo
echo "| client | blksize | PxeServer | tftpd-hpa | speed-up (hpa time / ours) |"
echo "| --- | --- | --- | --- | --- |"
} >> "$OUT"

for client in curl atftp; do
    for blksize in 512 1468 8192; do
        ours=(); hpa=()
        for _ in $(seq "$REPEAT"); do
            ours+=("$(single $client $PORT_OURS $blksize 1)")
            hpa+=("$(single $client $PORT_HPA $blksize 1)")
        done
        o=$(median "${ours[@]}"); h=$(median "${hpa[@]}")
        echo "| $client | $blksize | $o ($(rate "$o")) | $h ($(rate "$h")) | $(ratio "$h" "$o") |" >> "$OUT"
    done
done

{
echo
echo "## (c) One 32 MiB file with atftp windowsize, blksize 1468 (median of $REPEAT, seconds; MiB/s in brackets)"
echo
echo "tftpd-hpa does not implement windowsize and answers lock-step."
echo
echo "| windowsize | PxeServer | tftpd-hpa (lock-step) | atftpd (windowed) | vs tftpd-hpa | vs atftpd |"
echo "| --- | --- | --- | --- | --- | --- |"
} >> "$OUT"
for window in 4 16; do
    ours=(); hpa=(); atf=()
    for _ in $(seq "$REPEAT"); do
        ours+=("$(single atftp $PORT_OURS 1468 "$window")")
        hpa+=("$(single atftp $PORT_HPA 1468 "$window")")
        if [ -x "$ATFTPD" ]; then atf+=("$(single atftp $PORT_ATFTPD 1468 "$window")"); else atf+=(fail); fi
    done
    o=$(median "${ours[@]}"); h=$(median "${hpa[@]}"); a=$(median "${atf[@]}")
    echo "| $window | $o ($(rate "$o")) | $h ($(rate "$h")) | $a ($(rate "$a")) | $(ratio "$h" "$o") | $(ratio "$a" "$o") |" >> "$OUT"
done

kill "${PIDS[0]}" 2>/dev/null || true
wait "${PIDS[0]}" 2>/dev/null || true
{
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "Server counters after the run: \`$(grep -o 'started=.*' "$WORK/ours.log" || echo unavailable)\`"
echo
echo "Goals: storm ≤ 0.5× tftpd-hpa with 0 failures; single transfer ≥ 1× tftpd-hpa at every blksize; windowed ≥ 2× tftpd-hpa's lock-step and ≥ 1.2× atftpd's windowed rate."
} >> "$OUT"
cat "$OUT"
