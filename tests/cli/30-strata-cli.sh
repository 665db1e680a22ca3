#!/usr/bin/env bash
# bin/strata's client commands against the real openstack client: for the same cloud and the
# same resources, both print the same thing (-f json compared with keys sorted; a few tables
# compared as text). The openstack client is pinned to the microversion strata speaks.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OS_COMPUTE_API_VERSION=2.47 STRATA_SKIP_BUILD=1
strata() { "$root/bin/strata" "$@"; }
sorted_json() { python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True, indent=1))'; }
# same_json ARGS...: both clients' -f json output of a command, compared with keys sorted.
same_json() {
  diff <(openstack "$@" -f json | sorted_json) <(strata "$@" -f json | sorted_json) >"$work/diff" \
    || fail "strata $* -f json differs from openstack: $(head -20 "$work/diff")"
}
# same_text ARGS...: both clients' output compared as text.
same_text() {
  diff <(openstack "$@") <(strata "$@") >"$work/diff" || fail "strata $* differs from openstack: $(head -20 "$work/diff")"
}

echo "strata vs openstack: setting up"
head -c 200000 /dev/urandom > "$work/disk.img"
strata image create --file "$work/disk.img" --disk-format raw --property os_distro=cirros --tag cli strata-cli-image >/dev/null
strata flavor create --ram 64 --disk 1 --property hw:cpu_policy=dedicated strata.cli >/dev/null
strata keypair create strata-cli-key >/dev/null
strata project create --description "strata cli" strata-cli-project >/dev/null
strata user create --project strata-cli-project --password pw --email cli@example.org strata-cli-user >/dev/null
strata role add --project strata-cli-project --user strata-cli-user member
strata server create --flavor strata.cli --image strata-cli-image --key-name strata-cli-key --property tier=web --wait strata-cli-vm \
  >/dev/null 2>&1

echo "strata vs openstack: identity"
for args in "project list" "project list --long" "project show strata-cli-project" "user list --long" "user show strata-cli-user" \
    "role list" "role show member" "role assignment list" "role assignment list --names --project strata-cli-project" \
    "user list --project strata-cli-project" "catalog list"; do
  # shellcheck disable=SC2086
  same_json $args
done
same_text catalog list
same_text role assignment list --names

echo "strata vs openstack: compute"
for args in "flavor list" "flavor list --long" "flavor list --all" "flavor show strata.cli" "keypair list" "keypair show strata-cli-key" \
    "server list" "server list --long" "server show strata-cli-vm" "hypervisor list" "hypervisor list --long" \
    "hypervisor stats show"; do
  # shellcheck disable=SC2086
  same_json $args
done
same_json compute service list -c ID -c Binary -c Host -c Zone -c Status -c State
same_text flavor list --long
same_text server list --long
same_text keypair list
for format in value yaml shell; do
  same_text server show strata-cli-vm -f $format
done
same_text flavor list -f csv

echo "strata vs openstack: image"
same_json image list
same_json image list --long
same_json image show strata-cli-image
same_text image list --long

echo "strata vs openstack: the same message for a missing server"
expect_eq "$(strata server show no-such-server 2>&1 || true)" "strata: $(openstack server show no-such-server 2>&1 || true)" \
  "missing-server message"

echo "strata vs openstack: cleaning up"
strata server delete --wait strata-cli-vm 2>/dev/null
strata keypair delete strata-cli-key
strata flavor delete strata.cli
strata image delete strata-cli-image
strata user delete strata-cli-user
strata project delete strata-cli-project
echo "ok"
