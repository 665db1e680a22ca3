#!/usr/bin/env bash
# Cold migrate, resize (confirm and revert), migration list, diagnostics and instance action events, evacuate,
# and the server migrations of a live migration under way, with the real openstack and nova clients.
# Moves need a second host: this script starts its own clouds of simulated hosts on free ports (the
# shared one of run-all.sh has one): three quick hosts, then two slow ones to watch a live migration.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
data=$(mktemp -d /tmp/strata-migrate.XXXXXX)
pid=""
# start_cloud ARGS…: an all-in-one cloud on a free port with a fresh data directory under $data.
start_cloud() {
  local dir
  dir=$(mktemp -d "$data/cloud.XXXXXX")
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$root/bin/strata" up --data-dir "$dir" --port "$port" --bind 127.0.0.1 --admin-password migrate-admin "$@" \
    >"$dir/up.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/up.log"; fail "strata up died"; }
    sleep 0.5
  done
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { cat "$dir/up.log"; fail "strata up did not start"; }
  # shellcheck disable=SC1091
  source "$dir/openrc"
}
stop_cloud() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}
cleanup() {
  stop_cloud
  rm -rf "$data"
}
trap cleanup EXIT
start_cloud --fake-hosts 3
head -c 100000 /dev/urandom > "$data/disk.img"
image=$(openstack image create --file "$data/disk.img" --disk-format raw --container-format bare mig-image -f value -c id)
server=$(openstack server create --image "$image" --flavor m1.tiny mig-vm -f value -c id)
wait_status "$server" ACTIVE
source_host=$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)

echo "resize to m1.small, then confirm"
openstack server resize --flavor m1.small "$server"
wait_status "$server" VERIFY_RESIZE
grep -q m1.small <<<"$(openstack server show "$server" -f value -c flavor)" || fail "flavor after resize: $(openstack server show "$server" -f value -c flavor)"
moved_to=$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)
[ "$moved_to" != "$source_host" ] || fail "resize stayed on $source_host"
openstack server resize confirm "$server"
wait_status "$server" ACTIVE
expect_eq "$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)" "$moved_to" "host after confirm"

echo "cold migrate, then revert"
openstack server migrate "$server"
wait_status "$server" VERIFY_RESIZE
[ "$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)" != "$moved_to" ] || fail "migrate stayed on $moved_to"
openstack server resize revert "$server"
wait_status "$server" ACTIVE
expect_eq "$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)" "$moved_to" "host after revert"
grep -q m1.small <<<"$(openstack server show "$server" -f value -c flavor)" || fail "flavor after revert"

echo "refusals: same flavor, confirm without a resize"
openstack server resize --flavor m1.small "$server" >/dev/null 2>&1 && fail "resize to the same flavor accepted"
openstack server resize confirm "$server" >/dev/null 2>&1 && fail "confirm of an ACTIVE server accepted"

echo "migration lists: openstack and nova"
openstack server migration list --server "$server" -f json > "$data/migrations.json"
python3 - "$data/migrations.json" "$server" <<'PY' || fail "server migration list: $(cat "$data/migrations.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 2, rows
statuses = sorted(r["Status"] for r in rows)
assert statuses == ["confirmed", "reverted"], statuses
assert all(r["Server UUID"] == sys.argv[2] for r in rows), rows
PY
types=$(OS_COMPUTE_API_VERSION=2.23 openstack server migration list --server "$server" -f value -c Type | sort | tr '\n' ' ')
expect_eq "$types" "migration resize " "migration types"
nova migration-list > "$data/nova-migrations.txt" 2>/dev/null
grep -q "$server" "$data/nova-migrations.txt" || fail "nova migration-list: $(cat "$data/nova-migrations.txt")"
grep -q confirmed "$data/nova-migrations.txt" || fail "nova migration-list lacks the confirmed resize"

echo "diagnostics and instance action events"
nova diagnostics "$server" > "$data/diag.txt" 2>/dev/null
grep -q cpu0_time "$data/diag.txt" || fail "nova diagnostics: $(cat "$data/diag.txt")"
grep -q vda_read "$data/diag.txt" || fail "nova diagnostics lacks disk figures"
actions=$(openstack server event list "$server" -f value -c Action | tr '\n' ' ')
expect_eq "$actions" "revertResize migrate confirmResize resize create " "server event list"
request=$(openstack server event list "$server" -f value -c "Request ID" -c Action | awk '$2 == "resize" {print $1}')
openstack server event show "$server" "$request" -f json > "$data/event.json"
python3 - "$data/event.json" <<'PY' || fail "server event show: $(cat "$data/event.json")"
import json, sys
action = json.load(open(sys.argv[1]))
events = action["events"]
assert [e["event"] for e in events] == ["compute_resize_instance"], events
assert events[0]["result"] == "Success", events
PY

echo "evacuate from a host forced down"
failed_host=$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)
openstack --os-compute-api-version 2.11 compute service set --down "$failed_host" nova-compute
# nova's client: openstack 6.0's `server evacuate` reads .id off the (empty) answer and fails after the request.
nova --os-compute-api-version 2.14 evacuate "$server" >/dev/null 2>&1
wait_status "$server" ACTIVE
[ "$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)" != "$failed_host" ] || fail "evacuate stayed on $failed_host"
grep -q evacuation <<<"$(OS_COMPUTE_API_VERSION=2.23 openstack server migration list --server "$server" -f value -c Type)" \
  || fail "no evacuation listed"
openstack --os-compute-api-version 2.11 compute service set --up "$failed_host" nova-compute

echo "a cold migration to a named host needs 2.56, above what the cloud serves"
openstack --os-compute-api-version 2.56 server migrate --host "$source_host" "$server" >/dev/null 2>&1 \
  && fail "migrate --host at 2.56 accepted"
openstack server delete --wait "$server"

echo "a live migration under way (hosts taking 8 s a step): list, show; abort and force complete refused"
stop_cloud
start_cloud --fake-hosts 2 --fake-action-delay 8s
image=$(openstack image create --file "$data/disk.img" --disk-format raw --container-format bare live-image -f value -c id)
server=$(openstack server create --image "$image" --flavor m1.tiny live-vm -f value -c id)
wait_status "$server" ACTIVE
source_host=$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)
openstack server migrate --live-migration "$server"
migration=""
for _ in $(seq 1 20); do
  migration=$(OS_COMPUTE_API_VERSION=2.23 openstack server migration list --server "$server" --status running -f value -c Id)
  [ -n "$migration" ] && break
  sleep 0.2
done
[ -n "$migration" ] || fail "no running live migration listed for $server"
OS_COMPUTE_API_VERSION=2.24 openstack server migration show "$server" "$migration" -f json > "$data/live.json"
python3 - "$data/live.json" "$server" "$source_host" <<'PY' || fail "server migration show: $(cat "$data/live.json")"
import json, sys
shown = json.load(open(sys.argv[1]))
assert shown["Status"] == "running", shown
assert shown["Server UUID"] == sys.argv[2], shown
assert shown["Source Compute"] == sys.argv[3], shown
assert shown["Dest Compute"] not in (None, "", sys.argv[3]), shown
PY
nova --os-compute-api-version 2.23 server-migration-list "$server" > "$data/nova-live.txt" 2>&1 \
  || fail "nova server-migration-list: $(cat "$data/nova-live.txt")"
matches running "$data/nova-live.txt" || fail "nova server-migration-list: $(cat "$data/nova-live.txt")"
OS_COMPUTE_API_VERSION=2.24 openstack server migration abort "$server" "$migration" >"$data/abort.txt" 2>&1 \
  && fail "abort of a running live migration accepted"
matches "not supported" "$data/abort.txt" || fail "abort: $(cat "$data/abort.txt")"
OS_COMPUTE_API_VERSION=2.22 openstack server migration force complete "$server" "$migration" >"$data/force.txt" 2>&1 \
  && fail "force complete of a running live migration accepted"
matches "not supported" "$data/force.txt" || fail "force complete: $(cat "$data/force.txt")"
wait_status "$server" ACTIVE
[ "$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)" != "$source_host" ] || fail "live migration stayed on $source_host"
expect_eq "$(OS_COMPUTE_API_VERSION=2.23 openstack server migration list --server "$server" --status running -f value -c Id)" "" \
  "running migrations after the move"
OS_COMPUTE_API_VERSION=2.24 openstack server migration show "$server" "$migration" >/dev/null 2>&1 \
  && fail "server migration show of a completed live migration"
openstack server delete --wait "$server"
echo "ok"
