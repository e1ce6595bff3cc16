#!/usr/bin/env bash
# What hako's start costs, with and without the launcher's AOT cache (HAKO_AOT=0), best of RUNS (default 3):
#   `hako user -- busybox true` wall; bench/user-speed.sh's two rows (busybox sha256sum of 64 MiB, gzip -c of
#   16 MiB) wall; `hako run` of the default guest to its first kernel line (earlyprintk), wall.
# Extra JVM options for both columns come from HAKO_JAVA_OPTS, as for ./hako. BASELINE=DIR adds a first column:
# the same runs with another checkout's ./hako (e.g. an older commit, built there).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
runs="${RUNS:-3}"
baseline="${BASELINE:-}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

. "$here/bench/user-inputs.sh"

"$here/hako" user -- "$busybox" true >/dev/null 2>&1 || true   # build and train once, outside the timings
[ -z "$baseline" ] || "$baseline/hako" user -- "$busybox" true >/dev/null 2>&1 || true

millis() { echo $(($(date +%s%N) / 1000000)); }

# Best wall time in ms of RUNS runs of a command (its output dropped).
best_of() {
  local best="" t0 t
  for _ in $(seq "$runs"); do
    t0=$(millis); "$@" >/dev/null 2>&1 < /dev/null; t=$(($(millis) - t0))
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}

# Ms from starting `hako run` (HAKO_AOT=$1, the launcher $2) to the first line of the kernel's early console;
# the guest is then stopped.
first_kernel_line() {
  local t0 t line
  t0=$(millis)
  coproc guest { HAKO_AOT="$1" exec "$2" run --append "console=ttyS0 earlyprintk=ttyS0" 2>&1 < /dev/null; }
  t=""
  while IFS= read -r -t 120 line <&"${guest[0]}"; do
    case "$line" in *"Linux version"*) t=$(($(millis) - t0)); break ;; esac
  done
  kill "$guest_PID" 2>/dev/null || true
  wait "$guest_PID" 2>/dev/null || true
  echo "${t:-none}"
}

best_first_line() { # HAKO_AOT, launcher
  local best="" t
  for _ in $(seq "$runs"); do
    t=$(first_kernel_line "$1" "$2")
    [ "$t" = none ] && { echo "no kernel line from hako run" >&2; exit 1; }
    if [ -z "$best" ] || [ "$t" -lt "$best" ]; then best=$t; fi
  done
  echo "$best"
}

row() { # label, hako's arguments...
  local label="$1"; shift
  local cells=""
  [ -z "$baseline" ] || cells+=" $(best_of "$baseline/hako" "$@") |"
  cells+=" $(best_of env HAKO_AOT=0 "$here/hako" "$@") | $(best_of env HAKO_AOT=1 "$here/hako" "$@") |"
  echo "| $label |$cells"
}

echo "best of $runs, wall ms, JVM start included"
if [ -n "$baseline" ]; then
  echo "| run | $baseline | without AOT cache | with AOT cache |"
  echo "|---|---|---|---|"
else
  echo "| run | without AOT cache | with AOT cache |"
  echo "|---|---|---|"
fi
row "hako user -- busybox true" user -- "$busybox" true
row "hako user -- busybox sha256sum (64 MiB)" user -- "$busybox" sha256sum "$work/random64"
row "hako user -- busybox gzip -c (16 MiB)" user -- "$busybox" gzip -c "$work/text16"
cells=""
[ -z "$baseline" ] || cells+=" $(best_first_line 1 "$baseline/hako") |"
cells+=" $(best_first_line 0 "$here/hako") | $(best_first_line 1 "$here/hako") |"
echo "| hako run to the first kernel line |$cells"
