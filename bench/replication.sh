#!/usr/bin/env bash
# Replication benchmark: a 1 GiB raw disk, a full execution, 1% of its 64 KiB blocks changed, an
# incremental execution; bytes on the wire and time of each, against `qemu-img convert` of the
# same disk in the same run. Not a test: copy the figures into bench/RESULTS.md.
#
# Usage: bench/replication.sh [--size-mb 1024] [--changed-percent 1] [--dir DIR] [--cases raw,qcow2,live]
set -euo pipefail
cd "$(dirname "$0")/.."
JAVA_HOME=$(bin/java-home); export JAVA_HOME
mvn -B -q -DskipTests package -pl strata-bench -am >/dev/null
exec "$JAVA_HOME/bin/java" -Dlogback.configurationFile=bench/logback-quiet.xml -jar strata-bench/target/strata-bench.jar replication "$@"
