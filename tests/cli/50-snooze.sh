#!/usr/bin/env bash
# The seed's Snooze curl examples against the running cloud (no token: Snooze had none):
# startVirtualCluster with the seed's libvirt template, poll getVirtualClusterResponse until the
# cluster is settled, getLocalControllerList; the VM is an ordinary server in `openstack server list`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"
url=${STRATA_URL:?STRATA_URL is not set}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

read -r -d '' template <<'JSON' || true
{
"virtualMachineTemplates":[
{
"libVirtTemplate":"<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><domain type=\"kvm\"> <name>debian1</name> <uuid>0f476e56-67ea-11e1-858e-00216a972a36</uuid> <memory>200000</memory> <currentMemory>200000</currentMemory> <vcpu>1</vcpu> <os> <type arch=\"x86_64\" machine=\"pc-0.12\">hvm</type> <boot dev=\"hd\"/> </os> <features> <acpi/> <apic/> <pae/> </features> <clock offset=\"utc\"/> <on_poweroff>destroy</on_poweroff> <on_reboot>restart</on_reboot> <on_crash>restart</on_crash> <devices> <emulator>/usr/bin/kvm</emulator> <disk device=\"disk\" type=\"file\"> <driver name=\"qemu\" type=\"qcow2\"/> <source file=\"path_to_disk_image\"/> <target bus=\"virtio\" dev=\"vda\"/> <address bus=\"0x00\" domain=\"0x0000\" function=\"0x0\" slot=\"0x05\" type=\"pci\"/> </disk> <controller index=\"0\" type=\"ide\"> <address bus=\"0x00\" domain=\"0x0000\" function=\"0x1\" slot=\"0x01\" type=\"pci\"/> </controller> <interface type=\"bridge\"> <mac address=\"52:54:01:84:26:2c\"/> <source bridge=\"virbr0\"/> </interface> <serial type=\"pty\"> <target port=\"0\"/> </serial> <console type=\"pty\"> <target port=\"0\" type=\"serial\"/> </console> <graphics autoport=\"yes\" listen=\"0.0.0.0\" port=\"-1\" type=\"vnc\"/> <input bus=\"usb\" type=\"tablet\"/> <input bus=\"ps2\" type=\"mouse\"/> <memballoon model=\"virtio\"> <address bus=\"0x00\" domain=\"0x0000\" function=\"0x0\" slot=\"0x06\" type=\"pci\"/> </memballoon> </devices> </domain>",
"networkCapacityDemand":{
"rxBytes":12800.0,
"txBytes":12800.0
}
}
]
}
JSON

task=$(curl -fsS -H "Content-Type: application/json" -X POST -d "$template" "$url/groupmanager?startVirtualCluster")
[[ "$task" =~ ^[0-9a-f-]{36}$ ]] || fail "startVirtualCluster answered '$task', not a task id"

for _ in $(seq 1 60); do
  curl -fsS -H "Content-Type: application/json" -X POST -d "$task" "$url/groupmanager?getVirtualClusterResponse" > "$work/response"
  [ -s "$work/response" ] && break
  sleep 1
done
[ -s "$work/response" ] || fail "getVirtualClusterResponse stayed empty for 60 s"
python3 - "$work/response" <<'PY' || fail "unexpected cluster response: $(cat "$work/response")"
import json, sys
vm = json.load(open(sys.argv[1]))["virtualMachineMetaData"][0]
assert vm["status"] == "RUNNING", vm["status"]
assert vm["errorCode"] == "UNKNOWN", vm["errorCode"]
assert vm["requestedCapacity"] == [1.0, 200000.0, 12800.0, 12800.0], vm["requestedCapacity"]
for key in ("virtualMachineId", "localControllerId", "groupManagerId", "groupManagerControlDataAddress", "localControllerControlDataAddress"):
    assert key in vm["virtualMachineLocation"], key
assert vm["ipAddress"] and "<name>debian1</name>" in vm["xmlRepresentation"]
PY
vm=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["virtualMachineMetaData"][0]["virtualMachineLocation"]["virtualMachineId"])' "$work/response")

# The seed's third example, verbatim but for the address.
curl -fsS "$url/bootstrap?getLocalControllerList" > "$work/lcs"
python3 - "$work/lcs" "$vm" <<'PY' || fail "unexpected local controller list: $(cat "$work/lcs")"
import json, sys
lcs = json.load(open(sys.argv[1]))["localControllers"]
assert lcs, "no local controllers"
for lc in lcs:
    for key in ("id", "controlDataAddress", "status", "hypervisorSettings", "totalCapacity", "wakeupSettings", "hostname",
                "assignedVirtualMachines", "virtualMachineMetaData"):
        assert key in lc, key
    assert len(lc["totalCapacity"]) == 4
assert any(sys.argv[2] in lc["assignedVirtualMachines"] for lc in lcs), "the VM is on no local controller"
PY
curl -fsS "$url/bootstrap?getGroupLeaderDescription" | matches '"controlDataAddress"' || fail "no group leader description"

# An ordinary Compute server too.
openstack server list -f value -c ID -c Name | matches "^$vm debian1$" || fail "debian1 is not in openstack server list"

# Snooze's VM commands, then destroy.
curl -fsS -H "Content-Type: application/json" -X POST -d "$vm" "$url/groupmanager?suspendVirtualMachine" | matches true \
  || fail "suspendVirtualMachine failed"
wait_status "$vm" PAUSED 60
curl -fsS -H "Content-Type: application/json" -X POST -d "$vm" "$url/groupmanager?resumeVirtualMachine" >/dev/null
wait_status "$vm" ACTIVE 60
status=$(curl -sS -o /dev/null -w '%{http_code}' -X POST -d '{"virtualClusterTemplates": 1}' "$url/groupmanager?startVirtualCluster")
expect_eq "$status" 400 "a bad template"
curl -fsS -H "Content-Type: application/json" -X POST -d "$vm" "$url/groupmanager?destroyVirtualMachine" >/dev/null
for _ in $(seq 1 60); do
  openstack server show "$vm" >/dev/null 2>&1 || exit 0
  sleep 1
done
fail "destroyVirtualMachine left $vm behind"
