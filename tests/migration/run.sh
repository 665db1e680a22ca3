#!/usr/bin/env bash
# The migration service through the strata CLI against `bin/strata up`, SIGKILLed in the middle of
# disk copies: a replica execution resumes after the restart and ends with the destination equal
# to the source; a migration interrupted the same way and then cancelled leaves nothing behind.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../cli/lib.sh
source "$root/tests/cli/lib.sh"
data=$(mktemp -d /tmp/smg.XXXXXX)
hosts=$(mktemp -d /tmp/smg-hosts.XXXXXX)
port=$(free_port)
log="$data/strata.log"
pid=

start_cloud() {
  strata_up "$log" "$port" --data-dir "$data" --admin-password migration-admin
  pid=$strata_pid
}
crash_cloud() { kill -9 "$pid"; wait "$pid" 2>/dev/null || true; }
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  rm -rf "$data" "$hosts" 2>/dev/null || true
}
trap 'status=$?; if [ $status -ne 0 ]; then cp "$log" /tmp/strata-migration-test.log; echo "the cloud log is in /tmp/strata-migration-test.log" >&2; fi; cleanup; exit $status' EXIT
strata() { STRATA_SKIP_BUILD=1 "$root/bin/strata" "$@"; }
# wait_running TASKS_COMMAND...: until the output shows a REPLICATE_DISKS task running.
wait_copying() {
  for _ in $(seq 1 200); do
    "$@" 2>/dev/null | grep -q "REPLICATE_DISKS big: RUNNING" && return 0
    sleep 0.1
  done
  fail "the disk copy never started"
}

start_cloud
# shellcheck disable=SC1091
source "$data/openrc"
mkdir -p "$hosts/src/big" "$hosts/dst"
# Big enough that the copy outlasts a few polls of the CLI (a JVM start each): in-process copies run at
# about 300 MiB/s since the pipelined replicator, so 768 MiB was often done before the first poll.
head -c $((3072 << 20)) /dev/urandom >"$hosts/src/big/disk.raw"
strata endpoint create --name src --provider qemu-host --connection "{\"path\": \"$hosts/src\"}" -f value -c id >/dev/null
strata endpoint create --name dst --provider qemu-host --connection "{\"path\": \"$hosts/dst\"}" -f value -c id >/dev/null

echo "-- a replica execution survives a SIGKILL of the controller"
replica=$(strata replica create --origin-endpoint src --destination-endpoint dst --instance big -f value -c id)
execution=$(strata replica execute "$replica" -f value -c id)
wait_copying strata replica execution show "$replica" "$execution" -f value -c tasks
crash_cloud
start_cloud
for _ in $(seq 1 240); do
  status=$(strata replica execution show "$replica" "$execution" -f value -c status)
  [ "$status" == RUNNING ] || break
  sleep 0.5
done
expect_eq "$status" COMPLETED "execution after the restart"
volume=$(strata replica show --show-instances-data "$replica" -f json | python3 -c 'import json,sys; print(json.load(sys.stdin)["info"]["big"]["volumes_info"][0]["path"])')
expect_eq "$(sha256sum <"$volume")" "$(sha256sum <"$hosts/src/big/disk.raw")" "destination checksum"
strata replica delete-disks --wait "$replica" >/dev/null 2>&1
[ ! -e "$volume" ] || fail "delete-disks left $volume"
strata replica delete "$replica"

echo "-- a migration SIGKILLed mid-copy and cancelled after the restart leaves nothing"
# The disk holds random data, no OS: nothing to morph.
migration=$(strata migration create --origin-endpoint src --destination-endpoint dst --instance big --skip-os-morphing -f value -c id)
wait_copying strata migration show "$migration" -f value -c tasks
crash_cloud
start_cloud
strata migration cancel "$migration"
for _ in $(seq 1 240); do
  status=$(strata migration show "$migration" -f value -c status)
  [ "$status" == RUNNING ] || [ "$status" == CANCELLING ] || break
  sleep 0.5
done
expect_eq "$status" CANCELED "migration after cancel"
leftover=$(find "$hosts/dst" -type f | wc -l)
expect_eq "$leftover" 0 "files left on the destination"
expect_eq "$(find "$data/migration/scratch" -type f 2>/dev/null | wc -l)" 0 "scratch files left"
echo "OK"
