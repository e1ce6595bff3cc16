#!/usr/bin/env bash
# Sequential write (into a fresh image, every cluster allocated, then flushed) and sequential read through
# hako's qcow2 against QEMU's own qcow2 driver (qemu-img bench, queue depth 1, host page cache), both with
# 64 KiB clusters and the same request size. Usage: bench/disk-speed.sh [MIB [REQUEST_KIB]]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
mib="${1:-1024}"
kib="${2:-64}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
classpath="$("$here/bench/test-classpath.sh" hako-vmm)"
"$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -cp "$classpath" \
  dev.hako.vmm.image.disk.DiskSpeed "$work/hako.qcow2" "$mib" "$kib"

count=$(( mib * 1024 / kib ))
qemu_rate() {
  local what="$1"; shift
  local seconds
  seconds="$(qemu-img bench -f qcow2 -t writeback -d 1 -c "$count" -s "${kib}k" "$@" "$work/qemu.qcow2" \
    | sed -n 's/^Run completed in \([0-9.]*\) seconds.*/\1/p')"
  awk -v w="$what" -v m="$mib" -v s="$seconds" 'BEGIN { printf "qemu qcow2 sequential %-5s %8.1f MiB/s\n", w, m / s }'
}
qemu-img create -q -f qcow2 -o cluster_size=64k "$work/qemu.qcow2" "${mib}M"
qemu_rate write -w --flush-interval="$count"
qemu_rate read
