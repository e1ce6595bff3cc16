#!/usr/bin/env bash
# A whole Debian 12 system, in one run under hako (soft CPU) and under qemu-system-x86_64 -accel tcg -M q35,
# with the same kernel, initrd and disk (a qcow2 overlay over the bundle's disk, one per VM, so the bundle is not
# changed; virtio-blk-pci on both): boot time to the bundle's "hako: system is running" line (wall clock and the
# guest's uptime), then sequential disk throughput inside the guest (dd of 256 MiB with conv=fsync, then read
# back with the page cache dropped). Prints both and the ratios.
#   bench/debian-system.sh [BUNDLE]     (default: builds one with `hako image create` into the cache, as root)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for tool in qemu-system-x86_64 qemu-img; do
  command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install qemu-system-x86 qemu-utils)" >&2; exit 1; }
done
bundle="${1:-${HAKO_CACHE:-$HOME/.cache/hako}/bench-debian12}"
if [ ! -f "$bundle/bundle.json" ]; then
  echo "building the Debian bundle into $bundle" >&2
  "$here/hako" image create "$bundle" >&2
fi
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
json() { python3 -c "import json,sys; d=json.load(open('$bundle/bundle.json')); print($1)"; }
kernel="$bundle/$(json 'd["kernel"]')"
initrd="$bundle/$(json 'd["initrd"]')"
cmdline="$(json 'd["cmdline"]')"
disk="$bundle/$(json 'd["disk"]["file"]')"
format="$(json 'd["disk"]["format"]')"
memory="$(json 'd["memoryMiB"]')M"
guest_commands='dd if=/dev/zero of=/root/bench bs=1M count=256 conv=fsync 2>&1 | tail -1 | sed "s/^/BENCH-WRITE /"; sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/root/bench of=/dev/null bs=1M 2>&1 | tail -1 | sed "s/^/BENCH-READ /"; rm -f /root/bench; systemctl poweroff'

# label, overlay, command...: boots, waits for the root prompt after the status line, runs the disk commands.
run_vm() {
  local label="$1" overlay="$2"; shift 2
  qemu-img create -q -f qcow2 -b "$disk" -F "$format" "$overlay"
  local out="$work/$label.log" fifo="$work/$label.in"
  mkfifo "$fifo"
  local t0; t0=$(date +%s.%N)
  "$@" < "$fifo" > "$out" 2>&1 &
  local pid=$!
  exec 3> "$fifo"
  local ready=""
  for _ in $(seq 1800); do
    if [ -z "$ready" ] && grep -aq "hako: system is" "$out"; then
      ready=$(date +%s.%N)
    fi
    if [ -n "$ready" ] && grep -aq 'root@hako:~# ' "$out"; then break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  [ -n "$ready" ] || { echo "$label: no boot status line" >&2; tail -30 "$out" >&2; exit 1; }
  printf '%s\n' "$guest_commands" >&3
  wait "$pid" || true
  exec 3>&-
  local wall uptime write read
  wall=$(awk -v a="$t0" -v b="$ready" 'BEGIN { printf "%.1f", b - a }')
  uptime=$(sed -n 's/.*hako: system is [a-z]* (uptime \([0-9.]*\) s).*/\1/p' "$out" | head -1)
  write=$(sed -n 's/.*BENCH-WRITE .*, \([0-9.]* [kMG]*B\/s\).*/\1/p' "$out" | head -1)
  read=$(sed -n 's/.*BENCH-READ .*, \([0-9.]* [kMG]*B\/s\).*/\1/p' "$out" | head -1)
  echo "$wall $uptime ${write// /} ${read// /}"
}

read -r h_wall h_up h_write h_read < <(run_vm hako "$work/hako.qcow2" "$here/hako" run --kernel "$kernel" \
  --initrd "$initrd" --append "$cmdline" --memory "$memory" --disk "$work/hako.qcow2")
read -r q_wall q_up q_write q_read < <(run_vm qemu "$work/qemu.qcow2" qemu-system-x86_64 -accel tcg -M q35 \
  -m "$memory" -nographic -no-reboot -kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
  -drive "file=$work/qemu.qcow2,if=none,id=d,format=qcow2" -device virtio-blk-pci,drive=d)

echo "                     boot wall  uptime   dd write   dd read"
printf "hako (soft):         %8ss %7ss %10s %9s\n" "$h_wall" "$h_up" "$h_write" "$h_read"
printf "qemu tcg q35:        %8ss %7ss %10s %9s\n" "$q_wall" "$q_up" "$q_write" "$q_read"
awk -v h="$h_wall" -v q="$q_wall" 'BEGIN { printf "boot wall-time ratio hako/qemu: %.1fx\n", h / q }'
to_mb() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /GB/) n *= 1000; if (v ~ /kB/) n /= 1000; print n }'; }
awk -v h="$(to_mb "$h_write")" -v q="$(to_mb "$q_write")" 'BEGIN { if (q > 0) printf "disk write hako/qemu: %.2f\n", h / q }'
awk -v h="$(to_mb "$h_read")" -v q="$(to_mb "$q_read")" 'BEGIN { if (q > 0) printf "disk read hako/qemu: %.2f\n", h / q }'
