#!/usr/bin/env bash
# Real guests through the real openstack CLI against `bin/strata up --driver qemu`, and the
# all-in-one process SIGKILLed in the middle of a boot, of a delete and with guests running:
# after a restart no VM is lost, none is duplicated and no process or disk is left over.
# Also a QEMU process that dies on its own. TCG, so it runs on any machine with qemu-system-x86.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../cli/lib.sh
source "$root/tests/cli/lib.sh"
data=$(mktemp -d /tmp/sq.XXXXXX)   # short: QEMU's unix sockets live under it
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
log="$data/strata.log"
pid=

start_cloud() {
  "$root/bin/strata" up --driver qemu --accel tcg --data-dir "$data" --port "$port" --bind 127.0.0.1 \
    --admin-password qemu-admin >>"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { tail -50 "$log"; fail "strata up died"; }
    sleep 0.5
  done
  fail "strata up did not start"
}
crash_cloud() { kill -9 "$pid"; wait "$pid" 2>/dev/null || true; }
qemu_pids() { pgrep -f "qemu-system.*$1" || true; }
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  pkill -9 -f "qemu-system.*$data" 2>/dev/null || true
  rm -rf "$data" 2>/dev/null || true
}
trap 'status=$?; if [ $status -ne 0 ]; then cp "$log" /tmp/strata-qemu-test.log; echo "the cloud log is in /tmp/strata-qemu-test.log" >&2; fi; cleanup; exit $status' EXIT
wait_console() { # SERVER TEXT COUNT
  for _ in $(seq 1 120); do
    [ "$(openstack console log show "$1" 2>/dev/null | grep -c "$2")" -ge "$3" ] && return 0
    sleep 1
  done
  fail "console of $1 never showed '$2' $3 time(s)"
}
wait_gone() {
  for _ in $(seq 1 120); do
    openstack server show "$1" >/dev/null 2>&1 || return 0
    sleep 1
  done
  fail "server $1 was not deleted"
}

start_cloud
# shellcheck disable=SC1091
source "$data/openrc"
"$root/tools/guest-image/register.sh" --name guest >/dev/null

echo "-- boot, console, stop/start and delete through the openstack CLI"
openstack server create --flavor m1.tiny --image guest --wait vm1 -f value -c id >/dev/null
expect_eq "$(openstack server show vm1 -f value -c status)" ACTIVE "vm1 status"
wait_console vm1 STRATA-GUEST-READY 1
[ "$(openstack console log show --lines 3 vm1 | wc -l)" -le 3 ] || fail "console log --lines 3 printed more"
openstack hypervisor list -f value -c "Hypervisor Type" | matches -x QEMU || fail "hypervisor type is not QEMU"
openstack server stop vm1 && wait_status vm1 SHUTOFF
openstack server start vm1 && wait_status vm1 ACTIVE
wait_console vm1 STRATA-GUEST-READY 2
vm1=$(openstack server show vm1 -f value -c id)
openstack server delete --wait vm1
[ -z "$(qemu_pids "$vm1")" ] || fail "vm1's QEMU outlived its delete"
[ ! -e "$data/qemu/$vm1" ] || fail "vm1's run directory outlived its delete"

echo "-- SIGKILL while a server is being built"
vm2=$(openstack server create --flavor m1.tiny --image guest vm2 -f value -c id)
for _ in $(seq 1 200); do [ -n "$(qemu_pids "$vm2")" ] && break; sleep 0.05; done
crash_cloud
start_cloud
wait_status vm2 ACTIVE
wait_console vm2 STRATA-GUEST-READY 1
expect_eq "$(qemu_pids "$vm2" | wc -l)" 1 "QEMU processes of vm2 after the crash"

echo "-- SIGKILL with a guest running: the restarted agent adopts it, it keeps running"
before=$(qemu_pids "$vm2")
crash_cloud
kill -0 "$before" || fail "vm2's QEMU died with the agent"
start_cloud
wait_status vm2 ACTIVE
expect_eq "$(qemu_pids "$vm2")" "$before" "vm2's QEMU after the agent restarted"
openstack server stop vm2 && wait_status vm2 SHUTOFF
openstack server start vm2 && wait_status vm2 ACTIVE

echo "-- a QEMU process that dies on its own is noticed"
kill -9 "$(qemu_pids "$vm2")"
wait_status vm2 SHUTOFF 30
openstack server start vm2 && wait_status vm2 ACTIVE

echo "-- SIGKILL in the middle of a delete"
openstack server delete vm2
crash_cloud
start_cloud
wait_gone vm2
[ -z "$(qemu_pids "$vm2")" ] || fail "vm2's QEMU outlived its delete across a crash"
[ ! -e "$data/qemu/$vm2" ] || fail "vm2's run directory outlived its delete across a crash"
[ ! -e "/dev/shm/strata/$vm2" ] || fail "vm2's RAM file outlived its delete across a crash"
echo "qemu CLI and crash tests passed"
