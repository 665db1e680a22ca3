#!/usr/bin/env bash
# Controller CPU per create+delete cycle, for A/B comparisons of two builds on a noisy machine.
# Usage: bench/api-cpu.sh TREE LABEL [extra JVM options for the cloud]
# TREE is a worktree whose jars are built (mvn -DskipTests package -pl strata-bench,strata-cli -am).
# Starts a fresh `strata up` (50 fake hosts) from TREE, runs 30 s of warm-up cycles and 20 s of
# measured cycles with 16 clients, and prints one RESULT line: cycles/s, utime+stime of the cloud's
# JVM (/proc/PID/stat) over the measured phase per cycle, and API requests per cycle (/metrics).
# Alternate the builds (A B B A ...): single runs scatter widely when other work shares the cores.
set -euo pipefail
tree=$(cd "$1" && pwd); label=$2; extra=${3:-}
cd "$tree"
JAVA_HOME=$(bin/java-home); export JAVA_HOME
data=$(mktemp -d /tmp/strata-cpu.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
STRATA_SKIP_BUILD=1 STRATA_JAVA_OPTS="-Xmx2g $extra" bin/strata up --data-dir "$data" --port "$port" \
  --bind 127.0.0.1 --admin-password bench --fake-hosts 50 >"$data/strata.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
jpid=$(pgrep -P $pid java || echo $pid)
cpu() { awk '{print $14+$15}' /proc/$jpid/stat; }
reqs() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^strata_api_requests_seconds_count/ {s += $NF} END {printf "%d", s}'; }
tck=$(getconf CLK_TCK)
load0=$(cut -d' ' -f1 /proc/loadavg)
"$JAVA_HOME/bin/java" -jar strata-bench/target/strata-bench.jar api "http://127.0.0.1:$port" bench --phases cycles --seconds 20 --warmup 30 --clients 16 |
while IFS= read -r line; do
  case "$line" in
    warm-up:*) c0=$(cpu); r0=$(reqs); echo "$line" ;;
    create+delete*)
      c1=$(cpu); r1=$(reqs)
      n=$(echo "$line" | sed -E 's/.*cycle n=([0-9]+).*/\1/')
      rate=$(echo "$line" | sed -E 's/create\+delete cycles: ([0-9.]+).*/\1/')
      python3 -c "import sys; c0, c1, r0, r1, n, tck = map(float, sys.argv[1:7]); print('RESULT %s rate=%s n=%d cpu_ms_per_cycle=%.3f req_per_cycle=%.2f load=%s->%s' % (sys.argv[7], sys.argv[8], n, (c1 - c0) * 1000 / tck / n, (r1 - r0) / n, sys.argv[9], sys.argv[10]))" \
        "$c0" "$c1" "$r0" "$r1" "$n" "$tck" "$label" "$rate" "$load0" "$(cut -d' ' -f1 /proc/loadavg)" ;;
    *) echo "$line" ;;
  esac
done
