#!/usr/bin/env bash
# One boot/list/delete with the legacy nova client (python3-novaclient), which negotiates the
# newest microversion both sides support.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

head -c 100000 /dev/urandom > "$work/disk.img"
image=$(openstack image create --file "$work/disk.img" --disk-format raw --container-format bare nova-cli-image -f value -c id)
nova version-list >/dev/null
nova boot --flavor m1.tiny --image "$image" --poll nova-cli-vm >/dev/null
nova list | matches "nova-cli-vm.*ACTIVE" || fail "nova list does not show the ACTIVE server"
nova delete nova-cli-vm >/dev/null
for _ in $(seq 1 60); do
  nova list | matches nova-cli-vm || break
  sleep 1
done
nova list | matches nova-cli-vm && fail "server still listed after nova delete"
openstack image delete "$image"
echo "ok"
