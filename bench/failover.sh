#!/usr/bin/env bash
# Leader failover of the distributed form: ZooKeeper (Debian's), two `strata controller`s on a
# fresh PostgreSQL database, two `strata agent`s (fake driver). Each round SIGKILLs the leading
# controller and times (1) until the other answers as leader and (2) until a server created through
# the survivor is ACTIVE; then restarts the dead one for the next round.
# Usage: bench/failover.sh [--rounds N] [--session-timeout SECONDS]
# PostgreSQL: STRATA_TEST_PG_URL/USER/PASSWORD as the tests (default localhost:5432 strata/strata).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=3
session=3
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --session-timeout) session=$2; shift 2 ;;
    *) echo "usage: bench/failover.sh [--rounds N] [--session-timeout SECONDS]" >&2; exit 2 ;;
  esac
done
JAVA_HOME=$(bin/java-home); export JAVA_HOME
java="$JAVA_HOME/bin/java"
bin/strata --version >/dev/null    # builds the jar when sources changed
jar=strata-cli/target/strata.jar
work=$(mktemp -d /tmp/strata-failover.XXXXXX)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${db:-}" ]; then
    PGPASSWORD=$pg_password psql -q -h "${pg_hostport%%:*}" -p "${pg_hostport##*:}" -U "$pg_user" -d postgres -c "drop database if exists $db" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# ZooKeeper: Debian's server, tick 500 ms so that sessions may be as short as 1 s.
zk_port=$(free_port)
zk_cp=$(ls /usr/share/java/{zookeeper,zookeeper-jute,slf4j-api,netty-handler,netty-transport,netty-common,netty-buffer,netty-codec,netty-resolver,netty-transport-native-unix-common,commons-io,metrics-core}.jar | paste -sd:)
"$java" -cp "$zk_cp" org.apache.zookeeper.server.ZooKeeperServerMain "$zk_port" "$work/zk" 500 >"$work/zk.log" 2>&1 &
pids+=($!)

# A fresh database.
pg_url=${STRATA_TEST_PG_URL:-jdbc:postgresql://localhost:5432/strata}
pg_user=${STRATA_TEST_PG_USER:-strata}
pg_password=${STRATA_TEST_PG_PASSWORD:-strata}
db=strata_failover_$(date +%s)_$$
pg_hostport=${pg_url#jdbc:postgresql://}; pg_hostport=${pg_hostport%%/*}
PGPASSWORD=$pg_password psql -q -h "${pg_hostport%%:*}" -p "${pg_hostport##*:}" -U "$pg_user" -d postgres -c "create database $db"
db_url="jdbc:postgresql://$pg_hostport/$db"

token=$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')
ports=("$(free_port)" "$(free_port)")
controller_pid=("" "")
start_controller() {  # index
  local i=$1
  STRATA_SKIP_BUILD=1 "$java" -XX:+UseSerialGC -Xmx512m -jar "$jar" controller --port "${ports[$i]}" --bind 127.0.0.1 \
    --data-dir "$work/controllers" --db "$db_url" --db-user "$pg_user" --db-password "$pg_password" --admin-password bench \
    --zookeeper "127.0.0.1:$zk_port" --zookeeper-session-timeout "$session" --heartbeat-interval 1 --missed-heartbeats 3 \
    --agent-token "$token" >>"$work/controller-$i.log" 2>&1 &
  controller_pid[$i]=$!
  pids+=($!)
}
wait_healthy() {  # port
  for _ in $(seq 1 240); do curl -fsS "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "controller on port $1 did not start; see $work" >&2; exit 1
}
# The timed loops parse JSON with grep, not python: a python start costs up to seconds on a loaded machine.
leader_port() {  # ask port -> leader's port or -1
  local port
  port=$(curl -fsS "http://127.0.0.1:$1/bootstrap?getGroupLeaderDescription" 2>/dev/null \
    | grep -o '"controlDataAddress":{[^}]*}' | grep -o '"port":[0-9]*' | cut -d: -f2)
  echo "${port:--1}"
}
now_ms() { date +%s%3N; }

start_controller 0; wait_healthy "${ports[0]}"
start_controller 1; wait_healthy "${ports[1]}"
for host in lc-1 lc-2; do
  STRATA_SKIP_BUILD=1 "$java" -XX:+UseSerialGC -Xmx256m -jar "$jar" agent --controller "http://127.0.0.1:${ports[0]},http://127.0.0.1:${ports[1]}" \
    --host-name "$host" --listen 127.0.0.1:0 --data-dir "$work/$host" --token "$token" --heartbeat-interval 1 >"$work/$host.log" 2>&1 &
  pids+=($!)
done

api_token() {  # port
  curl -fsS -D - -o /dev/null -H 'Content-Type: application/json' "http://127.0.0.1:$1/identity/v3/auth/tokens" -d '{"auth": {"identity":
    {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"id": "default"}, "password": "bench"}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}' | tr -d '\r' | awk -F': ' 'tolower($1)=="x-subject-token" {print $2}'
}
tok=$(api_token "${ports[0]}")
head -c 65536 /dev/zero >"$work/image.raw"
image=$(curl -fsS -H "X-Auth-Token: $tok" -H 'Content-Type: application/json' "http://127.0.0.1:${ports[0]}/image/v2/images" \
  -d '{"name": "tiny", "disk_format": "raw", "container_format": "bare"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -fsS -X PUT -H "X-Auth-Token: $tok" -H 'Content-Type: application/octet-stream' --data-binary @"$work/image.raw" \
  "http://127.0.0.1:${ports[0]}/image/v2/images/$image/file"
for _ in $(seq 1 120); do
  n=$(curl -fsS -H "X-Auth-Token: $tok" "http://127.0.0.1:${ports[0]}/compute/v2.1/os-hypervisors/detail" \
    | python3 -c 'import json,sys; print(sum(h["state"]=="up" for h in json.load(sys.stdin)["hypervisors"]))')
  [ "$n" -ge 2 ] && break; sleep 0.5
done

create_until_active() {  # port name -> 0 when ACTIVE
  local id status
  id=$(curl -fsS -H "X-Auth-Token: $tok" -H 'Content-Type: application/json' "http://127.0.0.1:$1/compute/v2.1/servers" \
    -d "{\"server\": {\"name\": \"$2\", \"flavorRef\": \"1\", \"imageRef\": \"$image\"}}" 2>/dev/null \
    | grep -o '"id":"[^"]*"' | head -1 | cut -d'"' -f4) || return 1
  [ -n "$id" ] || return 1
  accepted_at=$(now_ms)
  for _ in $(seq 1 1000); do
    status=$(curl -fsS -H "X-Auth-Token: $tok" "http://127.0.0.1:$1/compute/v2.1/servers/$id" 2>/dev/null \
      | grep -o '"status":"[A-Z_]*"' | head -1 | cut -d'"' -f4)
    [ "$status" = ACTIVE ] && return 0
    [ "$status" = ERROR ] && return 1
    sleep 0.02
  done
  return 1
}

echo "failover: ${rounds} rounds, ZooKeeper session timeout ${session} s, host heartbeats 1 s, 2 controllers, 2 fake agents"
for round in $(seq 1 "$rounds"); do
  leader=-1
  for _ in $(seq 1 100); do leader=$(leader_port "${ports[0]}"); [ "$leader" != -1 ] && break; sleep 0.2; done
  if [ "$leader" = "${ports[0]}" ]; then dead=0; alive=1; else dead=1; alive=0; fi
  create_until_active "${ports[$alive]}" "warm-$round" || { echo "round $round: could not create before the kill" >&2; exit 1; }
  t0=$(now_ms)
  kill -9 "${controller_pid[$dead]}"
  # The API does not wait for the election: a create through the survivor runs alongside.
  ( until create_until_active "${ports[$alive]}" "after-kill-$round"; do sleep 0.05; done
    echo "$(( accepted_at - t0 )) $(( $(now_ms) - t0 ))" >"$work/create-$round" ) &
  until [ "$(leader_port "${ports[$alive]}")" = "${ports[$alive]}" ]; do sleep 0.05; done
  t_leader=$(( $(now_ms) - t0 ))
  wait $!
  read -r t_accepted t_create <"$work/create-$round"
  echo "round $round: killed the leader on port ${ports[$dead]}; survivor leads after ${t_leader} ms; a create through it (started at the kill) is accepted (202) after ${t_accepted} ms, ACTIVE after ${t_create} ms"
  start_controller "$dead"; wait_healthy "${ports[$dead]}"
done
