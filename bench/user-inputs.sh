#!/usr/bin/env bash
# Shared by bench/user-speed.sh and bench/start-speed.sh (sourced, with $work set): Debian's static busybox in
# hako's cache (fetched with apt-get download if missing) as $busybox, and the inputs of the user-mode rows:
# $work/random64 (64 MiB for sha256sum) and $work/text16 (16 MiB of text for gzip).
cache="${HAKO_CACHE:-$HOME/.cache/hako}"
busybox="$cache/busybox-static/bin/busybox"
if [ ! -x "$busybox" ]; then
  mkdir -p "$cache"
  (cd "$cache" && ls busybox-static_*.deb >/dev/null 2>&1 || apt-get download busybox-static >/dev/null)
  dpkg-deb -x "$(ls "$cache"/busybox-static_*.deb | head -1)" "$cache/busybox-static"
fi
head -c $((64 << 20)) /dev/urandom > "$work/random64"
# Compressible input for gzip: text with repetition, like source code or logs.
awk 'BEGIN { for (i = 1; i <= 800000; i++) print "line " i " value " (i * 7919) % 10007 }' > "$work/text16"
truncate -s $((16 << 20)) "$work/text16"
