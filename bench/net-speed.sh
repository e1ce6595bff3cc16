#!/usr/bin/env bash
# Network speed: the same Debian cloud kernel and busybox initramfs (virtio_net, udhcpc, nc, httpd) under hako
# (soft CPU, --net user) and under qemu-system-x86_64 -accel tcg -M q35 (virtio-net-pci on -netdev stream to a
# passt of its own, QEMU 7.2's way to use passt, with passt's MTU of 65520 given to the guest as libvirt does and
# as hako does by itself), in one run. For each: small-request latency (sequential HTTP
# GETs of a 100-byte file from busybox httpd through the host port forward, a new connection each), TCP
# throughput host -> guest (bytes into nc -l through the port forward) and guest -> host (nc to a listener on the
# host's loopback through passt's gateway address). Prints the figures and hako's share of QEMU's.
# MEGABYTES (default 64) each way: enough for steady state. With 16, hako's whole transfer host -> guest lasted
# about a second, most of it before the JVM had compiled the translations of the guest's receive path (QEMU's TCG
# translates in microseconds), and the figure measured that warm-up (0.17 of QEMU's, against 0.4-0.5 at 64).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
for tool in qemu-system-x86_64 passt python3; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install qemu-system-x86 passt python3)" >&2; exit 1; }
done
megabytes="${MEGABYTES:-64}"
requests="${REQUESTS:-100}"

cache="${HAKO_CACHE:-$HOME/.cache/hako}"
kernel="$(ls "$cache"/debs/extracted/linux-image-*-cloud-amd64*/boot/vmlinuz-* 2>/dev/null | head -1)"
[ -n "$kernel" ] || { echo "no cached Debian cloud kernel: run ./hako run once first" >&2; exit 1; }
modules_dir="$(dirname "$(dirname "$kernel")")/lib/modules"
modules_dir="$(ls -d "$modules_dir"/*/kernel)"
mods="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_legacy_dev.ko
  drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko net/core/failover.ko
  drivers/net/net_failover.ko drivers/net/virtio_net.ko"
adds=()
names=""
for m in $mods; do adds+=(--add "$modules_dir/$m=/lib/modules/$(basename "$m")"); names="$names $(basename "$m")"; done

cat > "$work/dhcp" <<'SCRIPT'
#!/bin/busybox sh
case "$1" in bound|renew)
  ip addr add $ip/${mask:-24} dev $interface; ip route add default via $router dev $interface
  echo "$router" > /tmp/router;; esac
SCRIPT
chmod +x "$work/dhcp"
cat > "$work/init" <<INIT
#!/bin/busybox sh
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
for m in $names; do insmod /lib/modules/\$m; done
ip link set lo up; ip link set eth0 up
udhcpc -i eth0 -s /bin/dhcp -q -n -t 20 -T 1 >/dev/null
mkdir -p /www; head -c 100 /dev/zero | tr '\\\\0' x > /www/small; httpd -p 8080 -h /www
echo BENCH-READY
# stdin that never ends (a FIFO opened for reading and writing): hako gives the console's end of input to the
# guest as Ctrl-D, and an nc that sees it half-closes the connection before any data arrived
mkfifo /tmp/quiet; nc -l -p 5001 0<> /tmp/quiet > /dev/null
echo BENCH-RECEIVED
head -c $((megabytes << 20)) /dev/zero | nc \$(cat /tmp/router) \$(cat /tmp/hostport 2>/dev/null || echo 5999)
echo BENCH-SENT
sleep 3600
INIT
"$here/hako" initramfs --init "$work/init" --add "$work/dhcp=/bin/dhcp" "${adds[@]}" "$work/initrd.cpio" >/dev/null
append="console=ttyS0 rdinit=/init panic=-1 quiet"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The host side of one run: waits for the guest, measures, prints "latency_ms h2g_MBps g2h_MBps".
cat > "$work/measure.py" <<'PY'
import socket, sys, time
log, http_port, data_port, listen_port, megabytes, requests = sys.argv[1], *map(int, sys.argv[2:7])
def wait_for(text, timeout=600):
    end = time.time() + timeout
    while time.time() < end:
        if text in open(log, errors="replace").read():
            return
        time.sleep(0.2)
    sys.exit(f"no {text} from the guest:\n" + open(log, errors="replace").read()[-2000:])
wait_for("BENCH-READY")
time.sleep(1)
listener = socket.create_server(("127.0.0.1", listen_port))
samples = []
for _ in range(requests):
    t = time.perf_counter()
    with socket.create_connection(("127.0.0.1", http_port)) as c:
        c.sendall(b"GET /small HTTP/1.0\r\n\r\n")
        while c.recv(65536):
            pass
    samples.append(time.perf_counter() - t)
samples.sort()
latency = samples[len(samples) // 2] * 1000
payload = b"\0" * (1 << 20)
t = time.perf_counter()
with socket.create_connection(("127.0.0.1", data_port)) as c:
    for _ in range(megabytes):
        c.sendall(payload)
    c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
h2g = megabytes / (time.perf_counter() - t)
conn, _ = listener.accept()
t, got = time.perf_counter(), 0
while True:
    # Acknowledge at once: passt acknowledges the guest's data only once the host's receiver has, so the host's
    # delayed ACK (40 ms for a lone segment under the loopback's 64 KiB MSS) held the guest's next send each round,
    # and the figure measured how many rounds fell into that timer (0.47 to 1.9 MiB/s for one build).
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    b = conn.recv(1 << 20)
    if not b:
        break
    got += len(b)
g2h = got / (1 << 20) / (time.perf_counter() - t)
print(f"{latency:.2f} {h2g:.2f} {g2h:.2f}")
PY

run_one() { # label, then the VM command (with @HTTP@ @DATA@ placeholders already substituted)
  local label="$1"; shift
  local log="$work/$label.log"
  : > "$log"
  "$@" > "$log" 2>&1 < /dev/null &
  local vm=$!
  pids+=("$vm")
  local result
  result=$(python3 "$work/measure.py" "$log" "$http" "$data" "$listen" "$megabytes" "$requests") || {
    kill "$vm" 2>/dev/null; echo "$label failed" >&2; exit 1; }
  kill "$vm" 2>/dev/null || true
  wait "$vm" 2>/dev/null || true
  echo "$result"
}

# The guest sends to port 5999 of its gateway; passt maps the gateway to the host's loopback.
listen=5999
http=$(free_port); data=$(free_port)
hako_result=$(run_one hako "$here/hako" run --kernel "$kernel" --initrd "$work/initrd.cpio" --append "$append" \
  --memory 512M --net "user,hostfwd=tcp:127.0.0.1:$http-:8080,hostfwd=tcp:127.0.0.1:$data-:5001")

http=$(free_port); data=$(free_port)
socket_dir="$(mktemp -d)"; chmod 777 "$socket_dir"
passt -f -q -1 -s "$socket_dir/passt.sock" -t "127.0.0.1/$http:8080" -t "127.0.0.1/$data:5001" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$socket_dir/passt.sock" ] && break; sleep 0.1; done
qemu_result=$(run_one qemu qemu-system-x86_64 -accel tcg -M q35 -m 512M -nodefaults -no-user-config -nographic \
  -serial stdio -kernel "$kernel" -initrd "$work/initrd.cpio" -append "$append" \
  -netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$socket_dir/passt.sock" \
  -device virtio-net-pci,netdev=n0,host_mtu=65520)
rm -rf "$socket_dir"

read -r hl hh hg <<<"$hako_result"
read -r ql qh qg <<<"$qemu_result"
echo "backend: passt for both (hako --net user; QEMU 7.2 -netdev stream), $megabytes MiB each way, $requests requests"
printf "%-28s %12s %12s\n" "" "hako" "qemu tcg"
printf "%-28s %12s %12s\n" "request latency (median ms)" "$hl" "$ql"
printf "%-28s %12s %12s\n" "host -> guest (MiB/s)" "$hh" "$qh"
printf "%-28s %12s %12s\n" "guest -> host (MiB/s)" "$hg" "$qg"
awk -v a="$hh" -v b="$qh" -v c="$hg" -v d="$qg" \
  'BEGIN { printf "hako/qemu throughput: host->guest %.2f, guest->host %.2f\n", a / b, c / d }'
