#!/usr/bin/env bash
# The Toss Test, side by side: seconds from "re-image" to the installer's done callback for the same QEMU VM
# (SeaBIOS + iPXE ROM, TCG) booting
#   - pxe-fast: PxeServer with fast iPXE (Dhcp:FastIpxe, an IPv6 router advertisement that ends iPXE's IPv6 wait)
#   - pxe:      PxeServer without it
#   - dnsmasq:  dnsmasq (DHCP + TFTP) with static files served by busybox httpd (a CGI records done)
# Every setup runs the same installer, the same hello-disk image and the same VM, in one lab network (tools/lab).
# For PxeServer the clock starts at the re-image API call; for dnsmasq (static files: re-imaging is editing a
# file) at power-on. Usage: bench/lab/toss.sh [ROUNDS]   (default 3; needs root)
# TOSS_TIMELINE=1 captures the lab bridge during every round and prints its milestones (DHCP, IPv6 router
# solicitations and advertisements, TFTP reads, HTTP requests) in seconds from the round's start.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
rounds=${1:-3}
[ "$(id -u)" -eq 0 ] || { echo "toss: needs root" >&2; exit 2; }

dotnet build -c Release -v quiet -nologo src/Pxe.Server >/dev/null
pxe="$root/src/Pxe.Server/bin/Release/net10.0/pxe"
work=$(mktemp -d /tmp/pxe-toss.XXXXXX)
lab=toss
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    [ -n "$capture_pid" ] && kill "$capture_pid" 2>/dev/null || true
    tools/lab destroy "$lab" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

data="$work/data"
"$pxe" installer build --output "$data/files/installer" --cache "${XDG_CACHE_HOME:-$HOME/.cache}/pxeserver/installer" >/dev/null
hello=$("$pxe" installer hello-disk --output "$data/files/images/hello-disk.img")
sha=${hello##*sha256 }
tools/tftp-root "$data/tftp"
tools/lab destroy "$lab" >/dev/null 2>&1 || true
tools/lab create "$lab" >/dev/null
mac=52:54:00:70:55:01
now() { date +%s.%N; }

vm() { # one power-on, until the guest reboots after done
    tools/lab vm "$lab" toss --mac "$mac" --disk "$work/toss.qcow2" --serial "$work/serial.log" --no-reboot --timeout 300 >/dev/null 2>&1
}

capture_pid=""
capture_start() { # capture_start NAME: records the bridge while one round runs (TOSS_TIMELINE=1)
    [ "${TOSS_TIMELINE:-}" = 1 ] || return 0
    capture_file="$work/$1.pcap"
    tools/lab exec "$lab" dumpcap -q -i labbr0 -w "$capture_file" >/dev/null 2>&1 &
    capture_pid=$!
    sleep 1
}

capture_stop() { # capture_stop T0: prints the round's milestones, seconds from T0 (the round's start)
    [ -n "$capture_pid" ] || return 0
    sleep 2 # libpcap may hold the last packets up to 1 s
    kill "$capture_pid" 2>/dev/null || true
    wait "$capture_pid" 2>/dev/null || true
    capture_pid=""
    tshark -r "$capture_file" -Y 'dhcp || icmpv6.type == 133 || icmpv6.type == 134 || tftp.opcode == 1 || http.request' \
        -T fields -e frame.time_epoch -e dhcp.option.dhcp -e icmpv6.type -e tftp.source_file -e http.request.method -e http.request.uri 2>/dev/null \
        | awk -F'\t' -v t0="$1" '{
            what = $2 != "" ? "dhcp " ($2 == 1 ? "discover" : $2 == 2 ? "offer" : $2 == 3 ? "request" : $2 == 5 ? "ack" : $2) \
                 : $3 == 133 ? "ipv6 router solicitation" : $3 == 134 ? "ipv6 router advertisement" \
                 : $4 != "" ? "tftp read " $4 : "http " $5 " " $6
            printf "    %6.1f s  %s\n", $1 - t0, what }' >&2
}

start_pxe() { # start_pxe true|false
    cat >"$work/settings.json" <<EOF
{ "Pxe": { "HttpUrl": "http://10.211.0.1:8080", "Tftp": { "BindAddress": "10.211.0.1" },
  "Dhcp": { "Mode": "full", "Interfaces": ["labbr0"], "FastIpxe": $1,
    "Subnets": [ { "Network": "10.211.0.0/24", "Interface": "labbr0", "Pool": "10.211.0.100-10.211.0.199",
                   "Router": "10.211.0.1", "Dns": ["10.211.0.1"], "Domain": "lab.test" } ] } } }
EOF
    tools/lab exec "$lab" "$pxe" serve --config "$work/settings.json" --data-dir "$data" --spec-dir "$root/profiles" \
        --templates-dir "$root/templates" >"$work/server.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 240); do tools/lab exec "$lab" curl -fs -o /dev/null http://10.211.0.1:8080/healthz && break; sleep 0.5; done
    tools/lab exec "$lab" curl -fs -o /dev/null http://10.211.0.1:8080/healthz || { echo "toss: pxe serve did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
    export PXE_URL=http://10.211.0.1:8080 PXE_TOKEN
    PXE_TOKEN=$(cat "$data/admin-token")
    tools/lab exec "$lab" "$pxe" machines assign "$mac" --profile hello-disk --hostname toss >/dev/null
}

stop_server() { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""; }

pxe_round() { # prints seconds from the re-image call to done
    local t0 done
    capture_start pxe-round
    t0=$(now)
    tools/lab exec "$lab" "$pxe" machines reimage "$mac" >/dev/null
    vm
    capture_stop "$t0"
    done=$(tools/lab exec "$lab" curl -fs -H "Authorization: Bearer $PXE_TOKEN" "http://10.211.0.1:8080/api/v1/events?mac=$mac&kind=install.done&limit=1" \
        | python3 -c 'import json,sys,datetime; print(datetime.datetime.fromisoformat(json.load(sys.stdin)[0]["time"]).timestamp())')
    awk -v a="$t0" -v b="$done" 'BEGIN { printf "%.1f", b - a }'
}

setup_static() {
    local www="$work/www"
    mkdir -p "$www/cgi-bin" "$www/installer" "$www/images"
    cp "$data/files/installer/linux" "$data/files/installer/initrd.gz" "$www/installer/"
    cp "$data/files/images/hello-disk.img" "$www/images/"
    cat >"$www/boot.ipxe" <<'EOF'
#!ipxe
kernel http://10.211.0.1:8080/installer/linux console=ttyS0,115200 pxe.install=http://10.211.0.1:8080/plan initrd=initrd.gz
initrd --name initrd.gz http://10.211.0.1:8080/installer/initrd.gz
boot
EOF
    cat >"$www/plan" <<EOF
#pxe-install-plan 1
hostname='toss'
disk='first'
image_url='http://10.211.0.1:8080/images/hello-disk.img'
image_sha256='$sha'
image_compression='none'
events_url='http://10.211.0.1:8080/cgi-bin/ok'
done_url='http://10.211.0.1:8080/cgi-bin/done'
after_install='reboot'
EOF
    printf '#!/bin/sh\nprintf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n' >"$www/cgi-bin/ok"
    printf '#!/bin/sh\ndate +%%s.%%N >%s/done.time\nprintf "Content-Type: text/plain\\r\\n\\r\\nok\\n"\n' "$work" >"$www/cgi-bin/done"
    chmod +x "$www/cgi-bin/ok" "$www/cgi-bin/done"
}

start_dnsmasq() {
    tools/lab exec "$lab" dnsmasq --no-daemon --port=0 --interface=labbr0 --bind-interfaces --except-interface=lo \
        --dhcp-range=10.211.0.100,10.211.0.199,255.255.255.0,1h --dhcp-host="$mac,10.211.0.150" \
        --dhcp-option=option:router,10.211.0.1 --dhcp-option=option:dns-server,10.211.0.1 \
        --enable-tftp --tftp-root="$data/tftp" --dhcp-match=set:ipxe,175 \
        --dhcp-boot=tag:!ipxe,undionly.kpxe --dhcp-boot=tag:ipxe,http://10.211.0.1:8080/boot.ipxe \
        --dhcp-leasefile="$work/dnsmasq.leases" --pid-file= >"$work/dnsmasq.log" 2>&1 &
    server_pid=$!
    tools/lab exec "$lab" busybox httpd -f -p 10.211.0.1:8080 -h "$work/www" &
    httpd_pid=$!
    sleep 1
}

dnsmasq_round() { # prints seconds from power-on to done
    local t0
    rm -f "$work/done.time"
    capture_start dnsmasq-round
    t0=$(now)
    vm
    capture_stop "$t0"
    [ -f "$work/done.time" ] || { echo "toss: dnsmasq round did not call done" >&2; tail -20 "$work/serial.log" >&2; exit 1; }
    awk -v a="$t0" -v b="$(cat "$work/done.time")" 'BEGIN { printf "%.1f", b - a }'
}

declare -A results
for setup in pxe-fast pxe dnsmasq; do
    rm -f "$work/toss.qcow2"
    case "$setup" in
        pxe-fast) start_pxe true ;;
        pxe) start_pxe false ;;
        dnsmasq) setup_static; start_dnsmasq ;;
    esac
    [ "$setup" != dnsmasq ] && vm # the first install; the rounds are re-images
    for r in $(seq "$rounds"); do
        if [ "$setup" = dnsmasq ]; then t=$(dnsmasq_round); else t=$(pxe_round); fi
        results[$setup]+="$t "
        echo "$(date +%T) $setup round $r: ${t} s (load $(cut -d' ' -f1 /proc/loadavg))"
    done
    stop_server
    [ "$setup" = dnsmasq ] && { kill "$httpd_pid" 2>/dev/null || true; wait "$httpd_pid" 2>/dev/null || true; }
done

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
fast=$(echo "${results[pxe-fast]}" | median)
plain=$(echo "${results[pxe]}" | median)
dns=$(echo "${results[dnsmasq]}" | median)
echo
echo "| setup | re-image -> done (median of $rounds) | ratio to dnsmasq |"
echo "| --- | --- | --- |"
for s in pxe-fast pxe dnsmasq; do
    m=$(echo "${results[$s]}" | median)
    awk -v s="$s" -v m="$m" -v d="$dns" -v all="${results[$s]}" 'BEGIN { printf "| %s | %.1f s (%s) | %.2f |\n", s, m, all, m / d }'
done
