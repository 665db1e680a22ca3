#!/usr/bin/env bash
# A synthetic day through the Snooze API (issue 5's power figures, end to end): for each mode
# (all hosts on; energy saver; consolidation + energy saver) starts `strata up` with N simulated
# hosts on a fresh data directory, with the hierarchy's intervals compressed like the hours, and
# runs `strata-bench cluster-day` against it.
# Usage: bench/cluster-day.sh [--hosts 200] [--hour-seconds 10] [--modes all-on,energy,consolidation]
#        [--peak 1000] [--trough 300] [other cluster-day options]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JAVA_HOME=$(bin/java-home); export JAVA_HOME
hosts=200
hour=10
modes=all-on,energy,consolidation
load_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=$2; shift 2 ;;
    --hour-seconds) hour=$2; shift 2 ;;
    --modes) modes=$2; shift 2 ;;
    *) load_args+=("$1"); shift ;;
  esac
done
[ -n "${STRATA_SKIP_BUILD:-}" ] || mvn -B -q -DskipTests package -pl strata-bench,strata-cli -am >/dev/null
# Compressed like the hours: idle 10 minutes before power-off, consolidation hourly, 5 % of the
# hosts kept on in reserve, 20 group managers.
idle=$(python3 -c "print(round($hour / 6, 2))")
reserve=$(( hosts / 200 > 0 ? hosts / 200 : 1 ))
per_gm=$(( hosts / 20 > 0 ? hosts / 20 : 1 ))
for mode in ${modes//,/ }; do
  data=$(mktemp -d /tmp/strata-bench.XXXXXX)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  {
    echo "hostsPerGroupManager=$per_gm"
    echo "monitoringInterval=PT1S"
    echo "relocation=false"
    case "$mode" in
      all-on) echo "energySaver=false"; echo "consolidationInterval=PT0S" ;;
      energy) echo "energySaver=true"; echo "consolidationInterval=PT0S" ;;
      consolidation) echo "energySaver=true"; echo "consolidationInterval=PT${hour}S" ;;
      *) echo "unknown mode $mode" >&2; exit 2 ;;
    esac
    echo "wakeupDriver=test"
    echo "idleThreshold=PT${idle}S"
    echo "reservedNodes=$reserve"
  } > "$data/hierarchy.properties"
  STRATA_SKIP_BUILD=1 STRATA_JAVA_OPTS="${STRATA_JAVA_OPTS:--Xmx2g}" bin/strata up --data-dir "$data" --port "$port" \
    --bind 127.0.0.1 --admin-password bench --fake-hosts "$hosts" >"$data/strata.log" 2>&1 &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
  for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
  echo "mode $mode: $(tr '\n' ' ' < "$data/hierarchy.properties")"
  "$JAVA_HOME/bin/java" -jar strata-bench/target/strata-bench.jar cluster-day "http://127.0.0.1:$port" bench --hour-seconds "$hour" \
    "${load_args[@]}"
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$data"
  trap - EXIT
done
