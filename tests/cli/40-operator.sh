#!/usr/bin/env bash
# The operator's toolbox with the real openstack CLI: aggregates and zones, server groups, security
# groups (remote IP and remote group rules), lock, reset-state, instance actions, snapshots, backups,
# force-delete, quotas and limits.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

host=$(openstack compute service list -f value -c Host | sed -n 1p)
[ -n "$host" ] || fail "no compute host"
head -c 100000 /dev/urandom > "$work/disk.img"
image=$(openstack image create --file "$work/disk.img" --disk-format raw --container-format bare --public ops-image -f value -c id)

echo "aggregates: create with a zone, add host, properties, show, hypervisor show"
openstack aggregate create --zone ops-az ops-agg -f value -c id >/dev/null
openstack aggregate add host ops-agg "$host" >/dev/null
openstack aggregate set --property ssd=true --property rack=r1 ops-agg
openstack aggregate show ops-agg -f json > "$work/agg.json"
python3 - "$work/agg.json" "$host" <<'PY' || fail "aggregate show: $(cat "$work/agg.json")"
import json, sys
agg = json.load(open(sys.argv[1]))
assert agg["availability_zone"] == "ops-az", agg
assert agg["hosts"] == [sys.argv[2]], agg
props = agg["properties"]
assert props.get("ssd") == "true" and props.get("rack") == "r1", props
PY
grep -qx ops-agg <<<"$(openstack aggregate list -f value -c Name)" || fail "aggregate not listed"
grep -q ops-agg <<<"$(openstack hypervisor show "$host" -f value -c aggregates)" || fail "hypervisor show lacks the aggregate"
grep -qx ops-az <<<"$(openstack availability zone list --compute -f value -c "Zone Name")" || fail "zone ops-az not listed"
openstack aggregate unset --property rack ops-agg
grep -q '"rack"' <<<"$(openstack aggregate show ops-agg -f json)" && fail "property rack not removed"
openstack aggregate create ops-agg >/dev/null 2>&1 && fail "duplicate aggregate name accepted"

echo "aggregates: a server booted into the zone lands there"
server=$(openstack server create --image "$image" --flavor m1.tiny --availability-zone ops-az ops-az-vm -f value -c id)
wait_status "$server" ACTIVE
expect_eq "$(openstack server show "$server" -f value -c OS-EXT-AZ:availability_zone)" ops-az "server zone"
expect_eq "$(openstack server show "$server" -f value -c OS-EXT-SRV-ATTR:host)" "$host" "server host"
openstack server delete --wait "$server"

openstack aggregate remove host ops-agg "$host" >/dev/null
openstack aggregate delete ops-agg
grep -qx ops-az <<<"$(openstack availability zone list --compute -f value -c "Zone Name")" && fail "zone ops-az still listed"

echo "server groups: create, boot members with --hint group=, members listed"
group=$(openstack server group create --policy affinity ops-group -f value -c id)
grep -qx ops-group <<<"$(openstack server group list -f value -c Name)" || fail "server group not listed"
m1=$(openstack server create --image "$image" --flavor m1.tiny --hint group="$group" ops-g1 -f value -c id)
m2=$(openstack server create --image "$image" --flavor m1.tiny --hint group="$group" ops-g2 -f value -c id)
wait_status "$m1" ACTIVE
wait_status "$m2" ACTIVE
members=$(openstack server group show ops-group -f json)
echo "$members" | grep -q "$m1" && echo "$members" | grep -q "$m2" || fail "members not listed: $members"
expect_eq "$(openstack server show "$m2" -f value -c OS-EXT-SRV-ATTR:host)" "$(openstack server show "$m1" -f value -c OS-EXT-SRV-ATTR:host)" \
  "affinity host"
openstack server delete --wait "$m1" "$m2"
openstack server group delete ops-group

echo "security groups: create, rules, attach at create, add/remove on a server"
openstack security group create --description "ssh in" ops-sg -f value -c id >/dev/null
openstack security group rule create --protocol tcp --dst-port 22 --remote-ip 10.0.0.0/8 ops-sg -f value -c id >/dev/null
grep -q "10.0.0.0/8" <<<"$(openstack security group rule list ops-sg -f value)" || fail "rule not listed"
openstack security group rule create --protocol icmp --remote-group default ops-sg -f value -c id >/dev/null
# Through the Networking API the client shows a rule's remote group by its id.
default_sg=$(openstack security group show default -f value -c id)
grep -q "icmp.*$default_sg" <<<"$(openstack security group rule list ops-sg -f value -c "IP Protocol" -c "Remote Security Group")" \
  || fail "remote group rule not listed: $(openstack security group rule list ops-sg -f value)"
openstack security group rule create --egress --protocol tcp ops-sg >"$work/egress" 2>&1 && fail "an egress rule was accepted"
grep -q "Only ingress rules are supported" "$work/egress" || fail "egress refusal: $(cat "$work/egress")"
grep -qx default <<<"$(openstack security group list -f value -c Name)" || fail "no default security group"
sgvm=$(openstack server create --image "$image" --flavor m1.tiny --security-group ops-sg ops-sg-vm -f value -c id)
wait_status "$sgvm" ACTIVE
grep -q ops-sg <<<"$(openstack server show "$sgvm" -f value -c security_groups)" || fail "server lacks ops-sg"
openstack server add security group "$sgvm" default
grep -q default <<<"$(openstack server show "$sgvm" -f value -c security_groups)" || fail "default not added"
openstack server remove security group "$sgvm" ops-sg
grep -q ops-sg <<<"$(openstack server show "$sgvm" -f value -c security_groups)" && fail "ops-sg not removed"
openstack server delete --wait "$sgvm"
openstack security group delete ops-sg

echo "admin actions: lock/unlock, reset state"
avm=$(openstack server create --image "$image" --flavor m1.tiny ops-admin-vm -f value -c id)
wait_status "$avm" ACTIVE
openstack server lock "$avm"
expect_eq "$(openstack --os-compute-api-version 2.9 server show "$avm" -f value -c locked)" True "locked"
openstack server unlock "$avm"
events=$(openstack server event list "$avm" -f value -c Action | tr '\n' ' ')
expect_eq "$events" "unlock lock create " "server event list"
openstack server set --state error "$avm"
expect_eq "$(openstack server show "$avm" -f value -c status)" ERROR "status after reset to error"
openstack server set --state active "$avm"
expect_eq "$(openstack server show "$avm" -f value -c status)" ACTIVE "status after reset to active"

echo "admin actions: a snapshot is an image"
openstack server image create --name ops-snap --wait "$avm" >/dev/null
wait_status "$avm" ACTIVE
grep -qx ops-snap <<<"$(openstack image list --property image_type=snapshot -f value -c Name)" || fail "snapshot not an image"
expect_eq "$(openstack image show ops-snap -f value -c status)" active "snapshot image status"
openstack image delete ops-snap

echo "admin actions: backups with rotation"
for n in 1 2 3; do
  openstack server backup create --name "ops-daily-$n" --type daily --rotate 2 --wait "$avm" >/dev/null
  wait_status "$avm" ACTIVE
done
backups=$(openstack image list --property image_type=backup -f value -c Name | sort | tr '\n' ' ')
expect_eq "$backups" "ops-daily-2 ops-daily-3 " "daily backups kept by rotation 2"

echo "admin actions: force-delete of a locked server in ERROR"
openstack server lock "$avm"
openstack server set --state error "$avm"
# No --wait: the client's wait gives up as soon as it sees the status ERROR the server already has.
openstack server delete --force "$avm"
for _ in $(seq 1 30); do openstack server show "$avm" >/dev/null 2>&1 || break; sleep 1; done
openstack server show "$avm" >/dev/null 2>&1 && fail "server still there after delete --force"
for b in ops-daily-2 ops-daily-3; do openstack image delete "$b"; done

echo "quotas: set, show, enforced at create, limits"
openstack project create ops-quota -f value -c id >/dev/null
openstack role add --project ops-quota --user admin admin
openstack quota set --instances 1 --cores 4 ops-quota
openstack quota show ops-quota -f json > "$work/quota.json"
python3 -c 'import json,sys; q=json.load(open(sys.argv[1])); assert q["instances"]==1 and q["cores"]==4, q' "$work/quota.json" \
  || fail "quota show: $(cat "$work/quota.json")"
grep -qx -- -1 <<<"$(openstack quota show --default -f value -c instances)" || fail "default instances quota is not unlimited"
inq=(--os-project-name ops-quota)
first=$(openstack "${inq[@]}" server create --image "$image" --flavor m1.tiny ops-q1 -f value -c id)
if openstack "${inq[@]}" server create --image "$image" --flavor m1.tiny ops-q2 >"$work/q2.out" 2>&1; then
  fail "second server created beyond a quota of 1"
fi
grep -q "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances" "$work/q2.out" || fail "quota error: $(cat "$work/q2.out")"
limits=$(openstack "${inq[@]}" limits show --absolute -f value)
grep -q "maxTotalInstances 1" <<<"$limits" || fail "limits lack maxTotalInstances 1"
grep -q "totalInstancesUsed 1" <<<"$limits" || fail "limits lack totalInstancesUsed 1"
openstack "${inq[@]}" server delete --wait "$first"
openstack project delete ops-quota
openstack image delete "$image"
echo "40-operator: ok"
