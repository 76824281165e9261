#!/usr/bin/env bash
# HTTP benchmark of PxeServer: rendered install files per second, and /files throughput next to nginx.
# Run by hand from anywhere: bash bench/http/run.sh   (about 3 minutes on 2 cores, build included).
# Everything listens on 127.0.0.1 only; every process started here is stopped by its PID on exit.
# Settings (environment): PXE_BENCH_SECONDS (wrk duration, default 20), PXE_BENCH_WARMUP (seconds of install-file
# load before measuring, default 15), PXE_BENCH_MACHINES (default 10000),
# SERVER_CPU / CLIENT_CPU (cores for taskset, default 0 and 1).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SECONDS_PER_RUN="${PXE_BENCH_SECONDS:-20}"
MACHINES="${PXE_BENCH_MACHINES:-10000}"
WARMUP="${PXE_BENCH_WARMUP:-15}"
SERVER_CPU="${SERVER_CPU:-0}"
CLIENT_CPU="${CLIENT_CPU:-1}"
export PXE_BENCH_MACHINES="$MACHINES"

for tool in wrk nginx taskset curl python3; do
  command -v "$tool" >/dev/null || { echo "run.sh: '$tool' is missing (apt-get install wrk nginx-light util-linux curl python3)" >&2; exit 1; }
done

WORK="$(mktemp -d /tmp/pxe-http-bench.XXXXXX)"
chmod 755 "$WORK"   # nginx's worker runs as an unprivileged user and must read data/files
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

wait_http() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "run.sh: $1 did not answer within 20 s" >&2
  return 1
}

# wrk_run NAME URL [wrk args...]: runs wrk pinned to the client core, keeps its output, fails on non-2xx answers.
wrk_run() {
  local name="$1" url="$2"
  shift 2
  timeout $((SECONDS_PER_RUN + 30)) taskset -c "$CLIENT_CPU" wrk --latency -d "${SECONDS_PER_RUN}s" "$@" "$url" > "$WORK/$name.txt"
  cat "$WORK/$name.txt"
  if grep -q "Non-2xx" "$WORK/$name.txt"; then
    echo "run.sh: $name had error answers" >&2
    exit 1
  fi
}

rps() { awk '/^Requests\/sec:/ { print $2 }' "$WORK/$1.txt"; }

# Transfer/sec in MiB/s (wrk prints B, KB, MB or GB, binary multiples).
mibs() {
  awk '/^Transfer\/sec:/ {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v);
    f = (u == "GB") ? 1024 : (u == "MB") ? 1 : (u == "KB") ? 1 / 1024 : 1 / 1048576;
    printf "%.0f\n", v * f }' "$WORK/$1.txt"
}

echo "== build (Release)"
timeout 600 dotnet build "$ROOT/src/Pxe.Server/Pxe.Server.csproj" -c Release -o "$WORK/bin" -v quiet -nologo > "$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log"; exit 1; }

cp -r "$ROOT/profiles" "$WORK/profiles"
cp -r "$ROOT/templates" "$WORK/templates"
mkdir -p "$WORK/data/files"
head -c $((100 * 1024 * 1024)) /dev/urandom > "$WORK/data/files/big.bin"
head -c 4096 /dev/urandom > "$WORK/data/files/small.bin"

PXE_PORT="$(free_port)"
PXE="http://127.0.0.1:$PXE_PORT"
echo "== pxe serve on $PXE (core $SERVER_CPU)"
# Logging at Warning: the console logger is not part of what is measured.
Logging__LogLevel__Default=Warning taskset -c "$SERVER_CPU" "$WORK/bin/pxe" serve --data-dir "$WORK/data" --spec-dir "$WORK/profiles" \
  --templates-dir "$WORK/templates" --http "$PXE" > "$WORK/pxe.log" 2>&1 &
PIDS+=($!)
wait_http "$PXE/healthz"

echo "== import $MACHINES machines (profile web)"
python3 - "$MACHINES" > "$WORK/import.json" <<'PY'
import json, sys
n = int(sys.argv[1])
items = [{"mac": "52:54:00:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255),
          "machine": {"profile": "web", "hostname": "web%05d" % i, "ipv4": "10.%d.%d.%d/8" % ((i + 10) >> 16, ((i + 10) >> 8) & 255, (i + 10) & 255),
                      "gateway": "10.0.0.1", "dns": ["10.0.0.2"]}} for i in range(n)]
json.dump(items, sys.stdout)
PY
TOKEN="$(cat "$WORK/data/admin-token")"
status="$(curl -sS -o "$WORK/import.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary "@$WORK/import.json" "$PXE/api/v1/machines/import")"
cat "$WORK/import.out"; echo
[ "$status" = 200 ] || { echo "run.sh: the import failed (HTTP $status)" >&2; exit 1; }

echo "== boot every machine once (each gets its install session and per-install token)"
python3 - "$PXE" "$MACHINES" > "$WORK/urls.txt" <<'PY'
import re, sys, urllib.request
from concurrent.futures import ThreadPoolExecutor
base, n = sys.argv[1], int(sys.argv[2])
def boot(i):
    mac = "52:54:00:%02x:%02x:%02x" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
    script = urllib.request.urlopen(f"{base}/boot/ipxe?mac={mac}", timeout=30).read().decode()
    return re.search(r"inst\.ks=https?://[^/ ]+(/boot/\S+/install)", script).group(1)
with ThreadPoolExecutor(16) as pool:
    for path in pool.map(boot, range(n)):
        print(path)
PY
export PXE_BENCH_URLS="$WORK/urls.txt"
sample="$(curl -fsS "$PXE$(head -n 42 "$WORK/urls.txt" | tail -n 1)")"
echo "sample install file: $(printf '%s' "$sample" | wc -c) bytes, $(printf '%s\n' "$sample" | grep -c '') lines"

# Steady state is what is measured: the first seconds render every machine's file once and the JIT tiers the hot
# path up on the server's one core (about 10 s; bench/http/RESULTS.md shows the climb).
echo "== warm-up ($WARMUP s)"
timeout $((WARMUP + 15)) taskset -c "$CLIENT_CPU" wrk -t2 -c64 -d"${WARMUP}s" -s "$HERE/rotate-install.lua" "$PXE" > /dev/null

echo "== rendered install files: GET /boot/{mac}/install over $MACHINES MACs"
wrk_run install "$PXE" -t2 -c64 -s "$HERE/rotate-install.lua"

NGINX_PORT="$(free_port)"
NGINX="http://127.0.0.1:$NGINX_PORT"
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    types { }
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/body;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location /files/ { alias $WORK/data/files/; }
    }
}
NGX
echo "== nginx on $NGINX (core $SERVER_CPU, one worker, sendfile on)"
taskset -c "$SERVER_CPU" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
PIDS+=($!)
wait_http "$NGINX/files/small.bin"

cmp <(curl -fsS "$PXE/files/big.bin") "$WORK/data/files/big.bin"
cmp <(curl -fsS "$NGINX/files/big.bin") "$WORK/data/files/big.bin"

echo "== 100 MiB file"
wrk_run big-pxe "$PXE/files/big.bin" -t2 -c8
wrk_run big-nginx "$NGINX/files/big.bin" -t2 -c8
echo "== 4 KiB file"
wrk_run small-pxe "$PXE/files/small.bin" -t2 -c64
wrk_run small-nginx "$NGINX/files/small.bin" -t2 -c64

INSTALL="$(rps install)"
BIG_PXE="$(mibs big-pxe)"; BIG_NGX="$(mibs big-nginx)"
SMALL_PXE="$(rps small-pxe)"; SMALL_NGX="$(rps small-nginx)"
cat <<SUM

== summary (wrk -t2, ${SECONDS_PER_RUN} s per run; server on core $SERVER_CPU, wrk on core $CLIENT_CPU)
rendered install files/s     : $INSTALL   (goal >= 20000)
100 MiB file, pxe   MiB/s    : $BIG_PXE
100 MiB file, nginx MiB/s    : $BIG_NGX   (pxe/nginx = $(awk -v a="$BIG_PXE" -v b="$BIG_NGX" 'BEGIN { printf "%.2f", a / b }'), goal >= 0.9)
4 KiB file, pxe   req/s      : $SMALL_PXE
4 KiB file, nginx req/s      : $SMALL_NGX   (pxe/nginx = $(awk -v a="$SMALL_PXE" -v b="$SMALL_NGX" 'BEGIN { printf "%.2f", a / b }'))
SUM
