#!/usr/bin/env bash
# The Image API checked with the real `openstack` CLI against a running Strata cloud:
#
#   bin/strata up --data-dir /tmp/cloud --port 18775 &
#   tests/cli/15-image.sh /tmp/cloud/openrc        # or: source /tmp/cloud/openrc; tests/cli/15-image.sh
#
# Creates an image from a real qcow2 file (POST then PUT file, as the CLI does), lists, shows,
# sets properties and tags, downloads it and compares checksums, checks that another project
# cannot see it, deletes it. Prints one "ok" line per check; exits non-zero on the first failure.
set -euo pipefail

if [ $# -ge 1 ]; then
  # shellcheck disable=SC1090
  source "$1"
fi
: "${OS_AUTH_URL:?source the openrc of the cloud first, or pass its path}"

work=$(mktemp -d)
suffix="$$-$RANDOM"
name="cli-image-$suffix"
image_id=""
project="cli-image-project-$suffix"
user="cli-image-user-$suffix"

cleanup() {
  set +e
  [ -n "$image_id" ] && openstack image delete "$image_id" >/dev/null 2>&1
  openstack user delete "$user" >/dev/null 2>&1
  openstack project delete "$project" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "not ok - $*" >&2
  exit 1
}

# grep that reads all of its input (`| grep -q` would SIGPIPE the writer under pipefail).
matches() { grep "$@" >/dev/null; }

ok() {
  echo "ok - $*"
}

# Reads one value out of the JSON on stdin: json_get properties.kernel_id
json_get() {
  python3 -c '
import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[key]
print(value if not isinstance(value, (list, dict)) else json.dumps(value))
' "$1"
}

# A small qcow2 with real data in it, so that checksums mean something.
head -c 2097152 /dev/urandom > "$work/disk.raw"
if command -v qemu-img >/dev/null; then
  qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$work/disk.qcow2"
  file="$work/disk.qcow2"
  format=qcow2
else
  echo "# qemu-img not found: testing with a raw image instead of qcow2"
  file="$work/disk.raw"
  format=raw
fi
size=$(stat -c %s "$file")
md5=$(md5sum "$file" | cut -d' ' -f1)

image_id=$(openstack image create --file "$file" --disk-format "$format" --container-format bare \
  --property kernel_id=11111111-2222-3333-4444-555555555555 --property ramdisk_id=rd-1 \
  --property os_command_line='console=ttyS0 root=/dev/vda' \
  -f value -c id "$name")
[ -n "$image_id" ] || fail "image create printed no id"
ok "image create --file ($format, $size bytes) -> $image_id"

openstack image list -f value -c ID -c Name | matches "^$image_id $name\$" || fail "image list does not show $name"
ok "image list shows the image"

shown=$(openstack image show "$image_id" -f json)
[ "$(json_get status <<<"$shown")" = active ] || fail "status is $(json_get status <<<"$shown"), not active"
[ "$(json_get size <<<"$shown")" = "$size" ] || fail "size is $(json_get size <<<"$shown"), not $size"
[ "$(json_get checksum <<<"$shown")" = "$md5" ] || fail "checksum is $(json_get checksum <<<"$shown"), not $md5"
[ "$(json_get disk_format <<<"$shown")" = "$format" ] || fail "disk_format is not $format"
[ "$(json_get properties.kernel_id <<<"$shown")" = 11111111-2222-3333-4444-555555555555 ] || fail "kernel_id not kept"
[ "$(json_get properties.os_command_line <<<"$shown")" = 'console=ttyS0 root=/dev/vda' ] || fail "os_command_line not kept"
[ "$(json_get properties.os_hash_algo <<<"$shown")" = sha512 ] || fail "os_hash_algo is not sha512"
ok "image show: active, size, md5 checksum, formats and properties as given"

[ "$(openstack image show "$name" -f value -c id)" = "$image_id" ] || fail "image show by name"
ok "image show by name"

openstack image set --property hw_disk_bus=virtio --property os_distro=cirros "$image_id"
shown=$(openstack image show "$image_id" -f json)
[ "$(json_get properties.hw_disk_bus <<<"$shown")" = virtio ] || fail "image set --property did not set hw_disk_bus"
[ "$(json_get properties.os_distro <<<"$shown")" = cirros ] || fail "image set --property did not set os_distro"
ok "image set --property"

openstack image set --tag blue --tag green "$image_id"
tags=$(openstack image show "$image_id" -f json | json_get tags)
[[ "$tags" == *'"blue"'* && "$tags" == *'"green"'* ]] || fail "image set --tag: tags are $tags"
ok "image set --tag"

openstack image list --tag blue -f value -c ID | matches "^$image_id\$" || fail "image list --tag blue misses the image"
openstack image list --property os_distro=cirros -f value -c ID | matches "^$image_id\$" || fail "image list --property misses the image"
ok "image list filtered by tag and by property"

openstack image unset --tag green --property os_distro "$image_id"
shown=$(openstack image show "$image_id" -f json)
[[ "$(json_get tags <<<"$shown")" != *green* ]] || fail "image unset --tag left the tag"
python3 -c 'import json,sys; sys.exit("os_distro" in json.load(sys.stdin)["properties"])' <<<"$shown" || fail "image unset --property left it"
ok "image unset --tag --property"

openstack image save --file "$work/saved" "$image_id"
[ "$(md5sum "$work/saved" | cut -d' ' -f1)" = "$md5" ] || fail "saved data differs from the uploaded file"
cmp -s "$file" "$work/saved" || fail "saved data differs from the uploaded file"
ok "image save --file: same bytes, same md5"

# Another project sees none of this project's private images.
openstack image set --private "$image_id"
openstack project create "$project" >/dev/null
openstack user create --project "$project" --password "pw-$suffix" "$user" >/dev/null
openstack role add --project "$project" --user "$user" member
other=(--os-username "$user" --os-password "pw-$suffix" --os-project-name "$project")
if openstack "${other[@]}" image list -f value -c ID | matches "^$image_id\$"; then
  fail "another project lists the private image"
fi
if openstack "${other[@]}" image show "$image_id" >/dev/null 2>&1; then
  fail "another project can show the private image"
fi
ok "another project neither lists nor shows the private image"

openstack image delete "$image_id"
deleted="$image_id"
image_id=""
if openstack image show "$deleted" >/dev/null 2>&1; then
  fail "image show still finds the deleted image"
fi
if openstack image list -f value -c ID | matches "^$deleted\$"; then
  fail "image list still shows the deleted image"
fi
ok "image delete"
