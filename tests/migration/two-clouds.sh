#!/usr/bin/env bash
# Issue 6's end-to-end migration: two `bin/strata up --driver qemu` clouds on loopback, a running
# real guest (the test guest, with user data and a write into its disk made inside it) migrated
# from the first to the second with the `strata` provider through the strata CLI. On the
# destination it boots, sees the same user data and the same disk (read inside the guest through
# its agent, and the whole disk compared on the host against the stopped source's).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../cli/lib.sh
source "$root/tests/cli/lib.sh"
east=$(mktemp -d /tmp/se.XXXXXX)   # short: QEMU's unix sockets live under them
west=$(mktemp -d /tmp/sw.XXXXXX)
east_port=$(free_port)
west_port=$(free_port)
east_pid=
west_pid=
servers=()

cleanup() {
  for p in "$east_pid" "$west_pid"; do
    [ -n "$p" ] && kill "$p" 2>/dev/null || true
  done
  for p in "$east_pid" "$west_pid"; do
    [ -n "$p" ] && wait "$p" 2>/dev/null || true
  done
  # Guests outlive their controller by design.
  pkill -9 -f "qemu-(system|storage-daemon|nbd).*($east|$west)/" 2>/dev/null || true
  for s in "${servers[@]}"; do rm -rf "/dev/shm/strata/$s"; done
  rm -rf "$east" "$west" 2>/dev/null || true
}
on_failure() {
  cp "$east/strata.log" /tmp/strata-two-clouds-east.log 2>/dev/null || true
  cp "$west/strata.log" /tmp/strata-two-clouds-west.log 2>/dev/null || true
  echo "the cloud logs are in /tmp/strata-two-clouds-{east,west}.log" >&2
}
trap 'status=$?; [ $status -eq 0 ] || on_failure; cleanup; exit $status' EXIT
strata() { STRATA_SKIP_BUILD=1 "$root/bin/strata" "$@"; }
# on_west CMD...: runs CMD with the second cloud's credentials (the shell keeps the first's).
on_west() { (source "$west/openrc" && "$@"); }
wait_console() { # SERVER TEXT [west]
  for _ in $(seq 1 180); do
    ${3:+on_west} strata console log show "$1" 2>/dev/null | matches "$2" && return 0
    sleep 1
  done
  fail "console of $1 never showed '$2'"
}
guest() { TIMEOUT=60 "$here/guest-sh.py" "$1/qemu/$2/qga.sock" "$3"; }
conn() { # PORT PASSWORD
  echo "{\"auth_url\": \"http://127.0.0.1:$1/identity/v3\", \"username\": \"admin\", \"password\": \"$2\",
  \"project_name\": \"admin\", \"user_domain_name\": \"Default\", \"project_domain_name\": \"Default\"}"
}

strata_up "$east/strata.log" "$east_port" --driver qemu --accel tcg --data-dir "$east" --admin-password east-admin
east_pid=$strata_pid
strata_up "$west/strata.log" "$west_port" --driver qemu --accel tcg --data-dir "$west" --admin-password west-admin
west_pid=$strata_pid
# shellcheck disable=SC1091
source "$east/openrc"
"$root/tools/guest-image/register.sh" --name guest >/dev/null

echo "-- a guest with user data on east, written to inside"
printf 'hello from east %s\n' "$RANDOM" >"$east/user_data"
source_id=$(strata server create --flavor m1.tiny --image guest --user-data "$east/user_data" --wait web -f value -c id)
servers+=("$source_id")
expect_eq "$(strata server show web -f value -c status)" ACTIVE "web's status on east"
wait_console web STRATA-GUEST-READY
expect_eq "$(guest "$east" "$source_id" 'cat /run/user_data')" "$(cat "$east/user_data")" "user data inside web on east"
# 128 KiB of random data into the disk, flushed; read back as a checksum for the destination.
region='dd if=/dev/vda bs=64k count=2 skip=40 2>/dev/null | md5sum'
written=$(guest "$east" "$source_id" "dd if=/dev/urandom of=/dev/vda bs=64k count=2 seek=40 conv=fsync 2>/dev/null && sync && $region")
[ "$written" != "$(guest "$east" "$source_id" 'head -c 131072 /dev/zero | md5sum')" ] || fail "the write into web's disk left zeros"

echo "-- migration east -> west with the strata provider"
strata endpoint create --name east --provider strata --connection "$(conn "$east_port" east-admin)" -f value -c id >/dev/null
strata endpoint create --name west --provider strata --connection "$(conn "$west_port" west-admin)" -f value -c id >/dev/null
# The test guest's disk holds no Linux root (its OS is the initramfs): nothing to morph.
migration=$(strata migration create --origin-endpoint east --destination-endpoint west --instance web \
  --shutdown-instances --skip-os-morphing --wait -f value -c id)
expect_eq "$(strata migration show "$migration" -f value -c status)" COMPLETED "migration status"
expect_eq "$(strata server show web -f value -c status)" SHUTOFF "web's status on east after the migration"
moved=$(strata migration show --show-instances-data "$migration" -f json \
  | python3 -c 'import json, sys
r = json.load(sys.stdin)["transfer_result"]
print((json.loads(r) if isinstance(r, str) else r)["web"]["instance_id"])')
servers+=("$moved")

echo "-- on west: the same guest, user data and disk"
expect_eq "$(on_west strata server show "$moved" -f value -c status)" ACTIVE "the migrated server's status on west"
wait_console "$moved" STRATA-GUEST-READY west
expect_eq "$(guest "$west" "$moved" 'cat /run/user_data')" "$(cat "$east/user_data")" "user data inside the migrated guest"
expect_eq "$(guest "$west" "$moved" "$region")" "$written" "the region written inside web, read inside the migrated guest"
# The whole disk: west's running copy against east's stopped source (-U: west's QEMU holds its lock).
qemu-img compare -U "$east/qemu/$source_id/disk.qcow2" "$west/qemu/$moved/disk.qcow2" >/dev/null \
  || fail "the migrated disk differs from the source's: $(qemu-img compare -U "$east/qemu/$source_id/disk.qcow2" "$west/qemu/$moved/disk.qcow2" 2>&1)"
echo "two-cloud migration passed"
