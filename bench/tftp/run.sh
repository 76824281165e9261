#!/usr/bin/env bash
# TFTP benchmark: PxeServer's TFTP server against tftpd-hpa (and atftpd), serving the same files across a veth
# pair between two network namespaces, server on one core and clients on another.
#
#   sudo bench/tftp/run.sh [output.md]      (default bench/results/tftp.md, not tracked)
#
# (a) boot storms with tftp-storm (tftp-storm.c, built here with gcc): a 1 MiB file to N concurrent transfers
#     from one client process, each from its own UDP port, every block checked against the file. Cases from
#     STORMS (default "200:1468:1 500:1468:1 200:1468:4", clients:blksize:windowsize; windowsize > 1 also asks
#     tsize=0, as OVMF does). Each case runs STORM_REPEAT times (default 5) per server, servers interleaved;
#     the run with the median wall time is reported, failures are summed over all runs, and each server's CPU
#     time is read from a cgroup of its own (cgroup v2, created and removed here).
# (b) one 32 MiB file with curl and atftp at blksize 512, 1468, 8192
# (c) the same file with atftp windowsize 4 and 16 at blksize 1468 (tftpd-hpa ignores windowsize: lock-step)
# Each single-transfer case runs REPEAT times (default 3) and reports the median. PARTS (default "storm single
# window") selects the sections.
# The veth MTU is 9000 (MTU=...): blksize 8192 then fits one frame for every server. At 1500 PxeServer lowers
# blksize 8192 to 1468 (one block per frame) while tftpd-hpa sends IP fragments: not a like-for-like comparison.
# Needs root, tftpd-hpa (in.tftpd), curl, atftp, gcc, taskset, the .NET SDK; atftpd is unpacked (not installed)
# from its Debian package into a temporary folder.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
OUT="${1:-$REPO/bench/results/tftp.md}"
mkdir -p "$(dirname "$OUT")"
REPEAT="${REPEAT:-3}"
STORM_REPEAT="${STORM_REPEAT:-5}"
STORMS="${STORMS:-200:1468:1 500:1468:1 200:1468:4}"
PARTS="${PARTS:-storm single window}"
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
CGROUP_BASE=

cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ -n "$CGROUP_BASE" ] && [ -d "$CGROUP_BASE" ]; then
        # tftpd-hpa's children outlive their parent until their transfer ends: stop what is left in our groups.
        for group in "$CGROUP_BASE"/*/; do
            [ -f "$group/cgroup.kill" ] && echo 1 > "$group/cgroup.kill" 2>/dev/null || true
        done
        for _ in $(seq 20); do rmdir "$CGROUP_BASE"/*/ "$CGROUP_BASE" 2>/dev/null && break; sleep 0.1; done
    fi
    ip netns del "$NS_SRV" 2>/dev/null || true
    ip netns del "$NS_CLI" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
for tool in in.tftpd curl atftp gcc taskset ip dotnet; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

echo "building TftpBenchHost (Release)"
dotnet build -c Release "$HERE/TftpBenchHost/TftpBenchHost.csproj" -o "$WORK/host" >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }

echo "building tftp-storm"
gcc -O2 -Wall -Wextra -Werror -std=gnu11 -o "$WORK/tftp-storm" "$HERE/tftp-storm.c"

echo "unpacking atftpd"
( cd "$WORK" && apt-get download atftpd >/dev/null 2>&1 && dpkg-deb -x atftpd_*.deb atftpd ) || echo "atftpd unavailable: windowed reference skipped"
ATFTPD="$WORK/atftpd/usr/sbin/atftpd"

mkdir -p "$WORK/root"
head -c 1048576 /dev/urandom > "$WORK/root/1m.bin"
head -c 33554432 /dev/urandom > "$WORK/root/32m.bin"
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

# Each server runs in a cgroup of its own (cgroup v2, created here and removed at the end) so that its CPU time
# can be read, including that of tftpd-hpa's forked children. Without a writable cgroup v2 hierarchy the
# server CPU column shows "-".
for dir in /sys/fs/cgroup /sys/fs/cgroup/unified; do
    if [ -f "$dir/cgroup.controllers" ] && mkdir "$dir/tftp-bench-$ID" 2>/dev/null; then
        CGROUP_BASE="$dir/tftp-bench-$ID"
        break
    fi
done

# runs a command in the cgroup NAME (when there is one). Only in the background (`in_cgroup NAME cmd &`): it
# replaces the subshell with the command, so that $! is the server's PID.
in_cgroup() {
    local name=$1
    shift
    if [ -n "$CGROUP_BASE" ]; then
        mkdir -p "$CGROUP_BASE/$name"
        exec sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGROUP_BASE/$name" "$@"
    fi
    exec "$@"
}

# CPU seconds used so far by the server NAME's processes, or "-"
server_cpu() {
    if [ -n "$CGROUP_BASE" ] && [ -f "$CGROUP_BASE/$1/cpu.stat" ]; then
        awk '/^usage_usec/ { printf "%.3f\n", $2 / 1e6 }' "$CGROUP_BASE/$1/cpu.stat"
    else
        echo -
    fi
}

# Servers, each pinned to SERVER_CPU inside the server namespace.
in_cgroup PxeServer ip netns exec "$NS_SRV" taskset -c "$SERVER_CPU" "$WORK/host/TftpBenchHost" --root "$WORK/root" --bind "$SRV_IP" --port "$PORT_OURS" \
    --max-transfers 1024 >"$WORK/ours.log" 2>&1 &
PIDS+=($!)
in_cgroup tftpd-hpa ip netns exec "$NS_SRV" taskset -c "$SERVER_CPU" in.tftpd --foreground --listen --address "$SRV_IP:$PORT_HPA" \
    --secure --user root "$WORK/root" >"$WORK/hpa.log" 2>&1 &
PIDS+=($!)
ATFTPD_PID=
ATFTPD_CRASHES=()
start_atftpd() {
    in_cgroup atftpd ip netns exec "$NS_SRV" taskset -c "$SERVER_CPU" "$ATFTPD" --daemon --no-fork --user root --group root \
        --port "$PORT_ATFTPD" --bind-address "$SRV_IP" --maxthread 1000 --logfile /dev/null "$WORK/root" >>"$WORK/atftpd.log" 2>&1 &
    ATFTPD_PID=$!
    PIDS+=("$ATFTPD_PID")
}
# atftpd has aborted in storms: note it (with the case) and start it again, so later cases still compare.
ensure_atftpd() {
    kill -0 "$ATFTPD_PID" 2>/dev/null && return
    ATFTPD_CRASHES+=("$1")
    start_atftpd
    sleep 0.5
}
[ -x "$ATFTPD" ] && start_atftpd
for _ in $(seq 50); do grep -q listening "$WORK/ours.log" 2>/dev/null && break; sleep 0.2; done
grep -q listening "$WORK/ours.log" || { cat "$WORK/ours.log"; exit 1; }
sleep 0.5

now() { date +%s.%N; }
in_cli() { ip netns exec "$NS_CLI" taskset -c "$CLIENT_CPU" "$@"; }

# Warm-up (JIT, page cache, hot-file cache) so every server starts equal.
for port in $PORT_OURS $PORT_HPA; do in_cli curl -s -o /dev/null --tftp-blksize 1468 "tftp://$SRV_IP:$port/1m.bin"; done
in_cli curl -s -o /dev/null --tftp-blksize 1468 "tftp://$SRV_IP:$PORT_OURS/32m.bin"

# busy jiffies (user+nice+system+irq+softirq) of the server and client cores
HZ=$(getconf CLK_TCK)
busy() { awk -v s="cpu$SERVER_CPU" -v c="cpu$CLIENT_CPU" '$1==s{a=$2+$3+$4+$7+$8} $1==c{b=$2+$3+$4+$7+$8} END{print a, b}' /proc/stat; }

# (a) one storm: prints tftp-storm's key=value line plus the busy share of the server and client cores;
# failure reasons go to $WORK/storm-<name>.err
storm() {
    local name=$1 port=$2 clients=$3 blksize=$4 window=$5 extra=() s0 c0 s1 c1 t0 t1 p0 p1 line
    [ "$window" -gt 1 ] && extra=(-w "$window" -t)
    p0=$(server_cpu "$name")
    read -r s0 c0 < <(busy)
    t0=$(now)
    line=$(in_cli "$WORK/tftp-storm" -s "$SRV_IP" -p "$port" -f 1m.bin -l "$WORK/root/1m.bin" -n "$clients" -b "$blksize" \
        "${extra[@]}" -D 120 2>>"$WORK/storm-$name.err") || true
    t1=$(now)
    read -r s1 c1 < <(busy)
    p1=$(server_cpu "$name")
    [ -n "$line" ] || line="clients=$clients ok=0 failures=$clients wall_s=fail"
    echo "$line server_busy_pct=$(echo "scale=0; 100 * ($s1 - $s0) / $HZ / ($t1 - $t0)" | bc) client_busy_pct=$(echo "scale=0; 100 * ($c1 - $c0) / $HZ / ($t1 - $t0)" | bc) server_cpu_s=$([ "$p0" = - ] && echo - || echo "$p1 - $p0" | bc)"
}

# value of key in a key=value line
kv() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

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
        printf '%.3f\n' "$(echo "$end - $start" | bc)"
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
ratio() { { [ "$1" = fail ] || [ "$2" = fail ] || [ "$1" = - ] || [ "$2" = - ]; } && echo "-" || echo "scale=2; $1 / $2" | bc; }

{
echo "# TFTP benchmark"
echo
echo "Run $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)."
echo "Server pinned to CPU $SERVER_CPU, clients to CPU $CLIENT_CPU, across a veth pair (MTU $MTU) between two network namespaces."
echo "Load average at start (other work on the machine): $(cut -d' ' -f1-3 /proc/loadavg)."
echo "tftpd-hpa $(dpkg-query -W -f '${Version}' tftpd-hpa 2>/dev/null), atftpd $(dpkg-deb -f "$WORK"/atftpd_*.deb Version 2>/dev/null || echo -), curl $(curl --version | head -1 | cut -d' ' -f2), atftp $(dpkg-query -W -f '${Version}' atftp 2>/dev/null)."
} > "$OUT"

SERVERS=("PxeServer:$PORT_OURS" "tftpd-hpa:$PORT_HPA")
[ -x "$ATFTPD" ] && SERVERS+=("atftpd:$PORT_ATFTPD")

if [[ " $PARTS " == *" storm "* ]]; then
    # Warm-up storms (JIT, hot-file cache, page cache), not reported.
    for entry in "${SERVERS[@]}"; do
        storm warmup "${entry#*:}" 20 1468 1 >/dev/null
        storm warmup "${entry#*:}" 20 1468 4 >/dev/null
    done
    {
    echo
    echo "## (a) Boot storms: 1 MiB to N concurrent transfers from one tftp-storm process"
    echo
    echo "Each row is the run with the median wall time of $STORM_REPEAT (servers interleaved); failures are summed over all"
    echo "$STORM_REPEAT runs. Latency is per transfer, from its first request to its last block. Server CPU is the CPU time of"
    echo "the server's cgroup during the storm (tftpd-hpa's forked children included, softirq time not). Busy shares are of"
    echo "the whole run on each core, other work included; tftp-storm's own share is its CPU time over the wall time."
    } >> "$OUT"
    for case in $STORMS; do
        IFS=: read -r clients blksize window <<<"$case"
        declare -A runs=() fails=()
        for _ in $(seq "$STORM_REPEAT"); do
            for entry in "${SERVERS[@]}"; do
                name=${entry%%:*}
                [ "$name" = atftpd ] && ensure_atftpd "before a run of the $case storm"
                line=$(storm "$name" "${entry#*:}" "$clients" "$blksize" "$window")
                runs[$name]+="$line"$'\n'
                fails[$name]=$(( ${fails[$name]:-0} + $(kv failures "$line") ))
            done
        done
        {
        echo
        if [ "$window" -gt 1 ]; then
            echo "### $clients clients, blksize $blksize, windowsize $window, tsize (as OVMF asks)"
        else
            echo "### $clients clients, blksize $blksize, lock-step"
        fi
        echo
        echo "| server | wall time (s) | failures (all runs) | p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | client retransmits | server CPU (s) | server core busy | client core busy | tftp-storm CPU |"
        echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
        } >> "$OUT"
        declare -A walls=() cpus=()
        for entry in "${SERVERS[@]}"; do
            name=${entry%%:*}
            # median by wall time; a run with failures sorts last
            line=$(printf '%s' "${runs[$name]}" | awk '{for(i=1;i<=NF;i++){split($i,kv,"="); if(kv[1]=="wall_s") w=kv[2]; if(kv[1]=="failures") f=kv[2]} print (f>0||w=="fail"?1e9:w), $0}' \
                | sort -g | sed -n "$(( (STORM_REPEAT + 1) / 2 ))p" | cut -d' ' -f2-)
            walls[$name]=$(kv wall_s "$line")
            cpus[$name]=$(kv server_cpu_s "$line")
            echo "| $name | ${walls[$name]} | ${fails[$name]} | $(kv p50_ms "$line") | $(kv p90_ms "$line") | $(kv p99_ms "$line") | $(kv max_ms "$line") | $(kv retransmits "$line") | $(kv server_cpu_s "$line") | $(kv server_busy_pct "$line")% | $(kv client_busy_pct "$line")% | $(kv client_cpu_pct "$line")% |" >> "$OUT"
        done
        {
        echo
        echo -n "PxeServer / tftpd-hpa wall time: **$(ratio "${walls[PxeServer]}" "${walls[tftpd-hpa]}")**"
        [ -n "${walls[atftpd]:-}" ] && echo -n "; PxeServer / atftpd: **$(ratio "${walls[PxeServer]}" "${walls[atftpd]}")**"
        echo " (goal ≤ 0.5 × tftpd-hpa, 0 failures)."
        echo
        echo -n "PxeServer / tftpd-hpa server CPU time: $(ratio "${cpus[PxeServer]}" "${cpus[tftpd-hpa]}")"
        [ -n "${cpus[atftpd]:-}" ] && echo -n "; PxeServer / atftpd: $(ratio "${cpus[PxeServer]}" "${cpus[atftpd]}")"
        echo "."
        for entry in "${SERVERS[@]}"; do
            name=${entry%%:*}
            if [ -s "$WORK/storm-$name.err" ]; then
                echo
                echo "$name failures, by reason (tftp-storm prints at most 10 per run):"
                sed -E 's/^transfer [0-9]+ failed after block [0-9]+: //; s/ \([0-9]+\)$//' "$WORK/storm-$name.err" | grep -v '^\.\.\.' \
                    | sort | uniq -c | sed -E 's/^ *([0-9]+) (.*)$/- \1 × \2/' || true
                rm -f "$WORK/storm-$name.err"
            fi
        done
        } >> "$OUT"
        unset runs fails walls cpus
    done
fi

if [[ " $PARTS " == *" single "* ]]; then
{
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
fi

if [[ " $PARTS " == *" window "* ]]; then
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
        if [ -x "$ATFTPD" ]; then ensure_atftpd "before a windowed transfer"; atf+=("$(single atftp $PORT_ATFTPD 1468 "$window")"); else atf+=(fail); fi
    done
    o=$(median "${ours[@]}"); h=$(median "${hpa[@]}"); a=$(median "${atf[@]}")
    echo "| $window | $o ($(rate "$o")) | $h ($(rate "$h")) | $a ($(rate "$a")) | $(ratio "$h" "$o") | $(ratio "$a" "$o") |" >> "$OUT"
done
fi

[ -x "$ATFTPD" ] && ensure_atftpd "at the end"
if [ "${#ATFTPD_CRASHES[@]}" -gt 0 ]; then
    { echo; echo "atftpd was found dead (and restarted) ${#ATFTPD_CRASHES[@]} time(s): $(IFS=';'; echo "${ATFTPD_CRASHES[*]}"). Its last words: \`$(tail -c 300 "$WORK/atftpd.log" | tr '\n' ' ')\`"; } >> "$OUT"
fi
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
