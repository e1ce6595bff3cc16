#!/usr/bin/env bash
# User-mode speed: busybox sha256sum over 64 MiB and gzip -c over 16 MiB, natively, under qemu-x86_64
# (Debian package qemu-user) and under ./hako user. Prints wall times, ratios, and hako's guest
# instructions per second (from HAKO_STATS=1).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v qemu-x86_64 >/dev/null || { echo "needs qemu-x86_64 (apt-get install qemu-user)" >&2; exit 1; }
. "$here/bench/user-inputs.sh"

"$here/hako" user -- "$busybox" true >/dev/null 2>&1 || true   # build once, outside the timings

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

run_case() {
  local label="$1"; shift
  local t0 t1 native qemu hako stats
  t0=$(now); "$busybox" "$@" > "$work/native.out"; t1=$(now); native=$(seconds "$t0" "$t1")
  t0=$(now); qemu-x86_64 "$busybox" "$@" > "$work/qemu.out"; t1=$(now); qemu=$(seconds "$t0" "$t1")
  t0=$(now); HAKO_STATS=1 "$here/hako" user -- "$busybox" "$@" > "$work/hako.out" 2> "$work/hako.err"; t1=$(now)
  hako=$(seconds "$t0" "$t1")
  cmp -s "$work/native.out" "$work/hako.out" || echo "  WARNING: hako output differs from native for $label"
  cmp -s "$work/native.out" "$work/qemu.out" || echo "  WARNING: qemu output differs from native for $label"
  stats=$(grep 'guest instructions' "$work/hako.err" || echo "no HAKO_STATS line")
  echo "$label"
  echo "  native ${native}s   qemu ${qemu}s   hako ${hako}s (wall, JVM start included)"
  awk -v n="$native" -v q="$qemu" -v h="$hako" 'BEGIN {
    printf "  qemu/native %.1fx   hako/native %.1fx   hako/qemu %.1fx\n", q / n, h / n, h / q }'
  echo "  ${stats#hako: }"
  echo "  result ${label%%[ ,]*} $qemu $hako $(sed -n 's/.*(\([0-9.]*\) M instructions\/s).*/\1/p' <<<"$stats")"
}

run_case "sha256sum, 64 MiB random" sha256sum "$work/random64"
run_case "gzip -c, 16 MiB text" gzip -c "$work/text16"
