#!/usr/bin/env bash
# The foundation's conformance flow with the real openstack CLI (python3-openstackclient).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "identity: token, catalog, project/user/role"
[ -n "$(openstack token issue -f value -c id)" ] || fail "no token"
openstack catalog list -f value -c Type | sort | tr '\n' ' ' | matches "compute identity image" || fail "catalog lacks services"
openstack project create conformance-demo -f value -c id >/dev/null
openstack user create --password demo-secret --project conformance-demo conformance-demo -f value -c id >/dev/null
openstack role add --project conformance-demo --user conformance-demo member
openstack role assignment list --project conformance-demo --names -f value | matches "member conformance-demo@Default" \
  || fail "role assignment not listed"

echo "compute: flavors"
openstack flavor create --ram 128 --disk 1 --vcpus 1 conformance.tiny -f value -c id >/dev/null
openstack flavor list -f value -c Name | matches -x conformance.tiny || fail "flavor not listed"

echo "image: create --file, list, download with matching checksum"
head -c 3000000 /dev/urandom > "$work/disk.img"
openstack image create --file "$work/disk.img" --disk-format raw --container-format bare --property os_distro=cirros --property hw_rng_model=virtio \
  conformance-image -f value -c id > "$work/image-id"
image_id=$(cat "$work/image-id")
expect_eq "$(openstack image show "$image_id" -f value -c status)" active "image status"
openstack image list -f value -c Name | matches -x conformance-image || fail "image not listed"
openstack image save --file "$work/downloaded.img" "$image_id"
expect_eq "$(md5sum < "$work/downloaded.img")" "$(md5sum < "$work/disk.img")" "downloaded image checksum"
expect_eq "$(openstack image show "$image_id" -f value -c checksum)" "$(md5sum "$work/disk.img" | cut -d' ' -f1)" "image checksum"

echo "compute: keypair, server create --wait, list, show"
openstack keypair create conformance-key > "$work/key.pem"
grep -q "BEGIN RSA PRIVATE KEY" "$work/key.pem" || fail "no private key"
# --wait prints its progress on stdout too, so read the id back by name afterwards.
openstack server create --flavor conformance.tiny --image conformance-image --key-name conformance-key --wait conformance-vm >/dev/null
server=$(openstack server show conformance-vm -f value -c id)
expect_eq "$(openstack server show "$server" -f value -c status)" ACTIVE "status after create --wait"
openstack server list -f value -c Name | matches -x conformance-vm || fail "server not listed"
openstack server show "$server" -f value -c addresses | matches "default.*10\.0\." || fail "server has no address"

echo "network: list, show, subnets, server create --network NAME|ID"
openstack network list -f value -c Name | matches -x default || fail "network not listed"
network_id=$(openstack network show default -f value -c id)
[ -n "$network_id" ] || fail "network show default gave no id"
expect_eq "$(openstack network show "$network_id" -f value -c status)" ACTIVE "network status"
openstack subnet list -f value -c Network | matches -x "$network_id" || fail "subnet not listed"
openstack server create --flavor conformance.tiny --image conformance-image --network default --wait conformance-net >/dev/null
expect_eq "$(openstack server show conformance-net -f value -c status)" ACTIVE "status of a server created with --network default"
openstack server show conformance-net -f value -c addresses | matches "default.*10\.0\." || fail "server on --network default has no address"
openstack server create --flavor conformance.tiny --image conformance-image --nic net-id="$network_id" --wait conformance-net-id >/dev/null
expect_eq "$(openstack server show conformance-net-id -f value -c status)" ACTIVE "status of a server created with --nic net-id"
openstack server create --flavor conformance.tiny --image conformance-image --network no-such-net conformance-nonet >"$work/nonet" 2>&1 \
  && fail "server create with an unknown network succeeded"
matches -i "no-such-net" "$work/nonet" || fail "unknown network: unclear message: $(cat "$work/nonet")"
openstack server delete --wait conformance-net conformance-net-id

echo "compute: stop/start, reboot, console log"
openstack server stop "$server"
wait_status "$server" SHUTOFF
openstack server start "$server"
wait_status "$server" ACTIVE
openstack server reboot --wait "$server"
expect_eq "$(openstack server show "$server" -f value -c status)" ACTIVE "status after reboot"
openstack console log show --lines 5 "$server" | matches . || fail "empty console log"

echo "tenancy: another project's member sees none of admin's servers"
(
  export OS_USERNAME=conformance-demo OS_PASSWORD=demo-secret OS_PROJECT_NAME=conformance-demo
  [ -z "$(openstack server list -f value -c ID)" ] || fail "demo user sees admin's servers"
  openstack server show "$server" >/dev/null 2>&1 && fail "demo user can show admin's server"
  true
)

echo "compute: delete --wait"
openstack server delete --wait "$server"
openstack server show "$server" >/dev/null 2>&1 && fail "server still shown after delete --wait"
openstack image delete "$image_id"
echo "ok"
