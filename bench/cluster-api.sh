#!/usr/bin/env bash
# Virtual clusters through the Snooze and the Compute API (issue 5's scale benchmark, end to end):
# starts `strata up` with N simulated hosts (the in-process hierarchy groups them 100 per group
# manager: 2,000 hosts = 20 GMs) on a fresh data directory for each API, and runs
# `strata-bench cluster-api` against it.
# Usage: bench/cluster-api.sh [--hosts 2000] [--via snooze,compute] [--vms 20000] [--cluster 10] [--clients 16] [--db JDBC_URL]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JAVA_HOME=$(bin/java-home); export JAVA_HOME
hosts=2000
vias=snooze,compute
db_args=()
load_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=$2; shift 2 ;;
    --via) vias=$2; shift 2 ;;
    --db) db_args=(--db "$2"); shift 2 ;;
    *) load_args+=("$1"); shift ;;
  esac
done
[ -n "${STRATA_SKIP_BUILD:-}" ] || mvn -B -q -DskipTests package -pl strata-bench,strata-cli -am >/dev/null
for via in ${vias//,/ }; do
  data=$(mktemp -d /tmp/strata-bench.XXXXXX)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  STRATA_SKIP_BUILD=1 STRATA_JAVA_OPTS="${STRATA_JAVA_OPTS:--Xmx4g}" bin/strata up --data-dir "$data" --port "$port" \
    --bind 127.0.0.1 --admin-password bench --fake-hosts "$hosts" "${db_args[@]}" >"$data/strata.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
  for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
  started=$(awk '{print $14 + $15}' /proc/$pid/stat)
  "$JAVA_HOME/bin/java" -jar strata-bench/target/strata-bench.jar cluster-api "http://127.0.0.1:$port" bench --via "$via" "${load_args[@]}"
  echo "$via: controller CPU during the run: $(( ($(awk '{print $14 + $15}' /proc/$pid/stat) - started) / $(getconf CLK_TCK) )) s"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$data"
  trap - EXIT
done
