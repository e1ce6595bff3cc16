#!/usr/bin/env bash
# Builds one module's test classes and prints the class path that runs a main class among them: its test
# classes, every module's classes and the test-scope jars. Usage: bench/test-classpath.sh MODULE
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
module="$1"
jars="$(mktemp)"
trap 'rm -f "$jars"' EXIT
cd "$here"
./mvnw -q -B -o -pl "$module" -am test-compile dependency:build-classpath \
  -Dmdep.outputFile="$jars" -Dmdep.includeScope=test >&2
classes="$here/$module/target/test-classes"
for dir in "$here"/hako-*/target/classes; do classes="$classes:$dir"; done
echo "$classes:$(cat "$jars")"
