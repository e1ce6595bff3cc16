#!/usr/bin/env bash
# Boot speed: the same Debian kernel and initramfs (print a marker with the guest's uptime, then power off)
# under hako (soft CPU) and under qemu-system-x86_64 -accel tcg -M microvm, in one run. Prints wall times,
# the ratio, and the guest uptime each guest reported at the marker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
command -v qemu-system-x86_64 >/dev/null || { echo "needs qemu-system-x86_64 (apt-get install qemu-system-x86)" >&2; exit 1; }

cat > "$work/init" <<'INIT'
#!/bin/busybox sh
export PATH=/sbin:/usr/sbin:/bin:/usr/bin
mount -t proc proc /proc
echo "HAKO-BENCH-MARKER uptime $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
INIT
"$here/hako" initramfs --init "$work/init" "$work/initrd.cpio"
kernel="$(ls "${HAKO_CACHE:-$HOME/.cache/hako}"/debs/extracted/linux-image-*-cloud-amd64*/boot/vmlinuz-* 2>/dev/null | head -1)"
[ -n "$kernel" ] || { echo "no cached Debian cloud kernel: run ./hako run once first" >&2; exit 1; }
append="console=ttyS0 rdinit=/init panic=-1 quiet"
runs="${RUNS:-3}"

now() { date +%s.%N; }
measure() { # label, command...
  local label="$1"; shift
  local best="" uptime=""
  for _ in $(seq "$runs"); do
    local t0 t1 wall out
    t0=$(now)
    out="$("$@" 2>&1 < /dev/null || true)"
    t1=$(now)
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
    if ! grep -q HAKO-BENCH-MARKER <<<"$out"; then
      echo "$label: no marker in the output:" >&2; tail -20 <<<"$out" >&2; exit 1
    fi
    local up
    up=$(sed -n 's/.*HAKO-BENCH-MARKER uptime \([0-9.]*\).*/\1/p' <<<"$out" | head -1)
    if [ -z "$best" ] || awk -v w="$wall" -v b="$best" 'BEGIN { exit !(w < b) }'; then best=$wall; uptime=$up; fi
    echo "  $label: ${wall}s wall, guest uptime at marker ${up}s" >&2
  done
  echo "$best $uptime"
}

echo "kernel: $kernel"
echo "runs: $runs (best wall time kept)"
read -r hako_wall hako_up < <(measure hako "$here/hako" run --kernel "$kernel" --initrd "$work/initrd.cpio" \
  --append "$append" --memory 512M)
read -r qemu_wall qemu_up < <(measure qemu qemu-system-x86_64 -accel tcg -M microvm -m 512M -no-reboot \
  -nodefaults -no-user-config -nographic -serial stdio -kernel "$kernel" -initrd "$work/initrd.cpio" \
  -append "$append")
echo "hako (soft):        ${hako_wall}s wall, guest uptime at marker ${hako_up}s"
echo "qemu tcg microvm:   ${qemu_wall}s wall, guest uptime at marker ${qemu_up}s"
awk -v h="$hako_wall" -v q="$qemu_wall" 'BEGIN { printf "hako/qemu wall-time ratio: %.1fx\n", h / q }'
