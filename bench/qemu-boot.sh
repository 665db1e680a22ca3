#!/usr/bin/env bash
# QEMU driver benchmark: cold boot of the test guest (create() to STRATA-GUEST-READY on the serial
# console, p50 and max over N sequential boots) and PSS per idle guest, with the accelerator the
# driver chose. Not a test: run it by hand on an otherwise idle host and copy the figures into
# bench/RESULTS.md.
#
# Usage: bench/qemu-boot.sh [--boots 10] [--idle 4] [--settle 10]
set -euo pipefail
cd "$(dirname "$0")/.."
export JAVA_HOME=${JAVA_HOME:-$(bin/java-home)}
cp_file=strata-hypervisor/target/bench-classpath.txt
# One reactor run (no install): the last module written, strata-hypervisor, owns the file.
mvn -B -q -pl strata-hypervisor -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$PWD/$cp_file" -Dmdep.includeScope=test >/dev/null
tools/guest-image/build.sh >/dev/null
exec "$JAVA_HOME/bin/java" -Dbasedir="$PWD/strata-hypervisor" -Dlogback.configurationFile=bench/logback-quiet.xml \
    -cp "strata-hypervisor/target/classes:strata-hypervisor/target/test-classes:$(cat "$cp_file")" \
    io.strata.hypervisor.qemu.QemuBootBenchmark "$@"
