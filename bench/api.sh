#!/usr/bin/env bash
# API benchmark against the fake driver: starts `strata up` (50 simulated hosts, fresh data dir)
# and runs the HTTP load driver against it (after a 30 s warm-up of create/delete cycles, --warmup S).
# Usage: bench/api.sh [--clients N] [--seconds S] [--servers N] [--warmup S] [--phases tokens,cycles,list] [--db JDBC_URL]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
JAVA_HOME=$(bin/java-home); export JAVA_HOME
mvn -B -q -DskipTests package -pl strata-bench,strata-cli -am >/dev/null
data=$(mktemp -d /tmp/strata-bench.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
db_args=()
load_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --db) db_args=(--db "$2"); shift 2 ;;
    *) load_args+=("$1"); shift ;;
  esac
done
STRATA_SKIP_BUILD=1 STRATA_JAVA_OPTS="${STRATA_JAVA_OPTS:--Xmx2g}" bin/strata up --data-dir "$data" --port "$port" \
  --bind 127.0.0.1 --admin-password bench --fake-hosts 50 "${db_args[@]}" >"$data/strata.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
"$JAVA_HOME/bin/java" -jar strata-bench/target/strata-bench.jar api "http://127.0.0.1:$port" bench "${load_args[@]}"
