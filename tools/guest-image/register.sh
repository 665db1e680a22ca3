#!/usr/bin/env bash
# Uploads the test guest (built by build.sh) into a running cloud through the standard
# `openstack` CLI, the way Glance holds kernel-boot images:
#   <name>-kernel   aki (container) / aki (disk), the kernel
#   <name>-ramdisk  ari / ari, the initramfs
#   <name>          bare / qcow2, the disk, with kernel_id, ramdisk_id and os_command_line: boots
#                   by direct kernel boot (the initramfs does everything; the disk is attached)
#   <name>-disk     bare / qcow2, the same disk without properties: boots by firmware
#                   (SeaBIOS + syslinux from its MBR)
# Prints the ids as NAME=ID lines. Needs the usual OS_* variables (or --os-cloud in OS_CLOUD).
#
# Usage: tools/guest-image/register.sh [--dir DIR] [--name NAME] [--public]
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${STRATA_GUEST_IMAGE_OUT:-$here/out}
name=strata-guest
visibility=private
while [ $# -gt 0 ]; do
    case "$1" in
        --dir) dir=$2; shift 2 ;;
        --name) name=$2; shift 2 ;;
        --public) visibility=public; shift ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
command -v openstack >/dev/null || { echo "register.sh: needs the openstack CLI (apt-get install python3-openstackclient)" >&2; exit 1; }
[ -s "$dir/vmlinuz" ] || "$here/build.sh" --out "$dir"

cmdline=$(sed -n 's/^command_line=//p' "$dir/MANIFEST")

create() { # name container disk file [extra args...] -> id
    local n=$1 container=$2 disk=$3 file=$4
    shift 4
    openstack image create "$n" --container-format "$container" --disk-format "$disk" \
        --file "$file" --"$visibility" --property strata_test_guest=true "$@" -f value -c id
}

kernel_id=$(create "$name-kernel" aki aki "$dir/vmlinuz")
ramdisk_id=$(create "$name-ramdisk" ari ari "$dir/initrd.img")
image_id=$(create "$name" bare qcow2 "$dir/disk.qcow2" \
    --property kernel_id="$kernel_id" --property ramdisk_id="$ramdisk_id" \
    --property os_command_line="$cmdline")
disk_id=$(create "$name-disk" bare qcow2 "$dir/disk.qcow2" --property hw_disk_bus=virtio)

echo "kernel=$kernel_id"
echo "ramdisk=$ramdisk_id"
echo "image=$image_id"
echo "disk=$disk_id"
