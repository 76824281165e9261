#!/usr/bin/env bash
# Soak: DURATION seconds (default 1800) of mixed load on one `pxe serve` — rendered install files over HTTP (wrk, few
# connections), TFTP boot-loader fetches (curl), DHCP DORA on loopback, API writes — sampling the server's resident
# memory and open file descriptors every 10 s. Everything listens on 127.0.0.1; every process started here is stopped
# by its PID. Prints the samples and a summary (memory and descriptor drift, errors).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DURATION="${DURATION:-1800}"
MACHINES="${MACHINES:-2000}"
CLIENTS="${CLIENTS:-5000}"   # DHCP clients and API-written machines cycle through this many (a real network's population)
for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "soak.sh: $tool is missing" >&2; exit 1; }; done

WORK="$(mktemp -d /tmp/pxe-soak.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1]=="udp" else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"; }

timeout 600 dotnet build "$ROOT/src/Pxe.Server/Pxe.Server.csproj" -c Release -o "$WORK/bin" -v quiet -nologo > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
cp -r "$ROOT/profiles" "$ROOT/templates" "$WORK/"
mkdir -p "$WORK/data/tftp"
head -c 1048576 /dev/urandom > "$WORK/data/tftp/undionly.kpxe"
HTTP_PORT="$(free_port tcp)"; TFTP_PORT="$(free_port udp)"; DHCP_PORT="$(free_port udp)"; CLIENT_PORT="$(free_port udp)"
PXE="http://127.0.0.1:$HTTP_PORT"
Logging__LogLevel__Default=Warning Pxe__Tftp__Port="$TFTP_PORT" \
Pxe__Dhcp__Mode=full Pxe__Dhcp__Interfaces__0=lo Pxe__Dhcp__ServerAddress=127.0.0.1 Pxe__Dhcp__ListenAddress=127.0.0.1 \
Pxe__Dhcp__BroadcastAddress=127.0.0.1 Pxe__Dhcp__ServerPort="$DHCP_PORT" Pxe__Dhcp__ClientPort="$CLIENT_PORT" \
Pxe__Dhcp__Subnets__0__Network=127.0.0.0/8 Pxe__Dhcp__Subnets__0__Interface=lo Pxe__Dhcp__Subnets__0__Pool=127.80.0.1-127.80.255.250 \
Pxe__Dhcp__Subnets__0__Dns__0=127.0.0.53 Pxe__Dhcp__Subnets__0__LeaseSeconds=120 \
  "$WORK/bin/pxe" serve --data-dir "$WORK/data" --spec-dir "$WORK/profiles" --templates-dir "$WORK/templates" --http "$PXE" > "$WORK/pxe.log" 2>&1 &
SERVER=$!; PIDS+=($SERVER)
for _ in $(seq 1 100); do curl -fsS -o /dev/null "$PXE/healthz" 2>/dev/null && break; sleep 0.2; done
TOKEN="$(cat "$WORK/data/admin-token")"

python3 - "$MACHINES" > "$WORK/import.json" <<'PY'
import json, sys
print(json.dumps([{"mac": "52:54:00:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255), "machine": {"profile": "web"}} for i in range(int(sys.argv[1]))]))
PY
curl -fsS -o /dev/null -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "@$WORK/import.json" "$PXE/api/v1/machines/import"
python3 - "$PXE" "$MACHINES" > "$WORK/urls.txt" <<'PY'
import re, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
base, n = sys.argv[1], int(sys.argv[2])
def boot(i):
    s = urllib.request.urlopen(f"{base}/boot/ipxe?mac=52:54:00:%02x:%02x:%02x" % (i >> 16 & 255, i >> 8 & 255, i & 255), timeout=30).read().decode()
    return re.search(r"inst\.ks=https?://[^/ ]+(/boot/\S+/install)", s).group(1)
with ThreadPoolExecutor(8) as pool:
    print("\n".join(pool.map(boot, range(n))))
PY

echo "== soak for $DURATION s (HTTP install files via wrk -c4, TFTP, DHCP, API writes)"
PXE_BENCH_URLS="$WORK/urls.txt" timeout $((DURATION + 30)) wrk -t1 -c4 -d"${DURATION}s" -s "$ROOT/bench/http/rotate-install.lua" "$PXE" > "$WORK/wrk.txt" 2>&1 &
PIDS+=($!)
python3 - "$DURATION" "$TFTP_PORT" "$DHCP_PORT" "$CLIENT_PORT" "$PXE" "$TOKEN" "$CLIENTS" > "$WORK/load.txt" 2>&1 <<'PY' &
import os, random, socket, struct, subprocess, sys, threading, time, json, urllib.request
duration, tftp_port, dhcp_port, client_port, base, token, clients = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], int(sys.argv[7])
end = time.time() + duration
counts = {"tftp_ok": 0, "tftp_err": 0, "dhcp_ack": 0, "dhcp_retransmit": 0, "dhcp_miss": 0, "dhcp_slowest_s": 0.0, "api_ok": 0, "api_err": 0}
def tftp():
    while time.time() < end:
        r = subprocess.run(["curl", "-sS", "--fail", "-o", "/dev/null", f"tftp://127.0.0.1:{tftp_port}/undionly.kpxe"], capture_output=True)
        counts["tftp_ok" if r.returncode == 0 else "tftp_err"] += 1
        time.sleep(0.05)
def dhcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", client_port)); s.settimeout(2)
    n = 0
    def pkt(t, xid, mac, req=None):
        p = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000, b"\0"*4, b"\0"*4, b"\0"*4, b"\0"*4, mac + b"\0"*10, b"\0"*64, b"\0"*128)
        o = b"\x63\x82\x53\x63" + bytes([53, 1, t, 61, 7, 1]) + mac
        if req: o += bytes([50, 4]) + req + bytes([54, 4, 127, 0, 0, 1])
        return (p + o + b"\xff").ljust(300, b"\0")
    while time.time() < end:
        n += 1; c = n % clients; xid = random.getrandbits(32); mac = bytes([2, 1, (c >> 16) & 255, (c >> 8) & 255, c & 255, 7])
        def exchange(packet):
            # As a real client: retransmit after 2 s without an answer, three tries in all (RFC 2131 §4.1).
            for attempt in range(3):
                if attempt: counts["dhcp_retransmit"] += 1
                sent = time.time()
                s.sendto(packet, ("127.0.0.1", dhcp_port))
                try:
                    while True:
                        d = s.recv(1500)
                        if struct.unpack("!I", d[4:8])[0] == xid:
                            counts["dhcp_slowest_s"] = max(counts["dhcp_slowest_s"], round(time.time() - sent, 3))
                            return d
                except socket.timeout:
                    pass
            raise socket.timeout()
        try:
            offer = exchange(pkt(1, xid, mac))
            exchange(pkt(3, xid, mac, offer[16:20]))
            counts["dhcp_ack"] += 1
        except socket.timeout:
            counts["dhcp_miss"] += 1
        time.sleep(0.01)
def api():
    n = 0
    while time.time() < end:
        n += 1; c = n % clients
        req = urllib.request.Request(f"{base}/api/v1/machines/52:54:01:%02x:%02x:%02x" % (c >> 16 & 255, c >> 8 & 255, c & 255),
            data=json.dumps({"profile": "web", "tags": ["soak-%d" % (n % 7)]}).encode(), method="PUT", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        try:
            urllib.request.urlopen(req, timeout=10).read(); counts["api_ok"] += 1
        except Exception:
            counts["api_err"] += 1
        time.sleep(0.05)
threads = [threading.Thread(target=f) for f in (tftp, dhcp, api)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(counts))
PY
LOAD=$!; PIDS+=($LOAD)

echo "seconds rss_mib fds"
start=$(date +%s)
cpu_start=$(awk '{ print $14 + $15 }' "/proc/$SERVER/stat")
while kill -0 "$LOAD" 2>/dev/null; do
  rss=$(awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$SERVER/status")
  fds=$(ls "/proc/$SERVER/fd" | wc -l)
  echo "$(( $(date +%s) - start )) $rss $fds" | tee -a "$WORK/samples.txt"
  sleep 10
done
cpu_end=$(awk '{ print $14 + $15 }' "/proc/$SERVER/stat")
elapsed=$(( $(date +%s) - start ))
wait "$LOAD" || true
sleep 2
echo "== server CPU: $(awk -v a="$cpu_start" -v b="$cpu_end" -v t="$elapsed" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / t }') cores on average (of $(nproc))"
echo "== load: $(tail -n 1 "$WORK/load.txt")"
grep -E "Requests/sec|Non-2xx|Socket errors" "$WORK/wrk.txt" || true
python3 - "$WORK/samples.txt" <<'PY'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
warm = [r for r in rows if r[0] >= 60] or rows
rss = [r[1] for r in warm]; fds = [r[2] for r in warm]
mean = sum(rss) / len(rss)
print(f"rss after warm-up: min {min(rss):.1f} MiB, max {max(rss):.1f} MiB, mean {mean:.1f} (samples within {min(rss)/mean*100-100:+.1f} % .. {max(rss)/mean*100-100:+.1f} % of the mean)")
# Single samples follow the garbage collector's saw-tooth; the trend is in the means of 5-minute windows.
windows = {}
for t, r, _ in warm: windows.setdefault(int(t // 300), []).append(r)
means = [sum(v) / len(v) for _, v in sorted(windows.items())]
print("rss 5-minute means: " + ", ".join(f"{m:.1f}" for m in means) + f" MiB (last window {means[-1]/means[0]*100-100:+.1f} % against the first)")
print(f"open fds after warm-up: min {min(fds):.0f}, max {max(fds):.0f}, first {fds[0]:.0f}, last {fds[-1]:.0f}")
PY
