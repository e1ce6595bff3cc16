#!/usr/bin/env bash
# Port-I/O exit round trips per second on KVM and on the soft CPU, measured in one run: a real-mode guest
# loops on OUT; on KVM each OUT is a KVM_RUN exit into hako's IoHandler and back, on the soft CPU a call.
# Prints both rates and the ratio. Usage: bench/kvm-exits.sh [OUTS [ROUNDS]]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
classpath="$("$here/bench/test-classpath.sh" hako-kvm)"
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-exports=java.base/jdk.internal.misc=ALL-UNNAMED -cp "$classpath" \
  dev.hako.kvm.PortIoExitRate "$@"
