#!/usr/bin/env bash
# Builds the Strata test guest from Debian packages only:
#   vmlinuz       Debian's cloud kernel (linux-image-cloud-amd64)
#   initrd.img    a busybox initramfs (see ./init) with the virtio modules and qemu-guest-agent
#   disk.qcow2    a firmware-bootable disk (MBR + syslinux + the same kernel and initramfs)
# Every boot prints STRATA-GUEST-READY on the serial console once the guest is configured.
#
# Usage: tools/guest-image/build.sh [--out DIR] [--force]
#   DIR defaults to $STRATA_GUEST_IMAGE_OUT or tools/guest-image/out.
# Outputs are cached under ${XDG_CACHE_HOME:-~/.cache}/strata/guest-image/<key>/, the key being
# the package versions plus a hash of this directory's scripts; a complete cache is only copied.
#
# Runs as root on Debian 12. Host packages it needs (apt-get install -y ...):
REQUIRED_PACKAGES="apt dpkg busybox-static cpio gzip syslinux syslinux-common mtools dosfstools fdisk qemu-utils"
# Guest packages it downloads (apt-get download, extracted with dpkg-deb -x, never installed):
GUEST_PACKAGES="linux-image-cloud-amd64 busybox-static qemu-guest-agent libc6 libglib2.0-0 libffi8
  libmount1 libblkid1 libpcre2-8-0 libselinux1 zlib1g libudev1 libnuma1 liburing2"
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${STRATA_GUEST_IMAGE_OUT:-$here/out}
force=0
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --force) force=1; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

missing=""
for p in $REQUIRED_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "build.sh: missing host packages; run: apt-get install -y$missing" >&2
    exit 1
fi

log() { echo "guest-image: $*" >&2; }

# The kernel metapackage names the versioned package that holds the kernel.
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}'; }
if [ -z "$(candidate linux-image-cloud-amd64)" ] || [ "$(candidate linux-image-cloud-amd64)" = "(none)" ]; then
    log "apt lists are empty; running apt-get update"
    apt-get update -qq
fi
kernel_pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
packages="$GUEST_PACKAGES $kernel_pkg"

key_material=$(for p in $packages; do echo "$p=$(candidate "$p")"; done; cat "$here/build.sh" "$here/init" "$here/udhcpc.script" | sha256sum)
key=$(echo "$key_material" | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/strata/guest-image/$key
outputs="vmlinuz initrd.img disk.qcow2 MANIFEST"

complete() { for f in $outputs; do [ -s "$1/$f" ] || return 1; done; }

if [ "$force" = 0 ] && complete "$cache"; then
    log "cache $cache is complete"
else
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work/debs" "$work/x" "$work/root"
    chmod 755 "$work" && chmod 777 "$work/debs"   # apt downloads as the _apt user
    log "downloading $packages"
    (cd "$work/debs" && apt-get download -q $packages >/dev/null)
    for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/x"; done
    x=$work/x
    kver=$(ls "$x/lib/modules")
    root=$work/root

    # busybox (static) is the userland; init installs its applet links at boot.
    mkdir -p "$root"/{bin,sbin,etc/acpi/PWRF,lib/modules,proc,sys,dev,run,tmp,mnt,root,usr/bin,usr/sbin}
    cp "$x/bin/busybox" "$root/bin/busybox"
    ln -s busybox "$root/bin/sh"
    install -m 755 "$here/init" "$root/init"
    install -m 755 "$here/udhcpc.script" "$root/etc/udhcpc.script"
    printf '#!/bin/sh\nsync; poweroff -f\n' > "$root/etc/acpi/PWRF/00000080"
    chmod 755 "$root/etc/acpi/PWRF/00000080"
    # qemu-ga's guest-shutdown calls /sbin/shutdown; our PID 1 is no init daemon, so act directly.
    printf '#!/bin/sh\nsync\ncase " $* " in *" -r "*) reboot -f ;; *) poweroff -f ;; esac\n' > "$root/sbin/shutdown"
    chmod 755 "$root/sbin/shutdown"
    echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
    echo "root:x:0:" > "$root/etc/group"
    echo "strata-guest" > "$root/etc/hostname"

    # Kernel modules the guest needs, with their dependencies, and a modules.dep for modprobe.
    modules="virtio_pci virtio_net virtio_blk virtio_console virtio_balloon isofs vfat button evdev"
    # Loaded only by whoever needs them (not at boot): XFS, which the OS-morphing appliance loads
    # to look for RHEL-family roots (their default filesystem).
    ondemand="xfs"
    busybox depmod -b "$x" "$kver"
    mdir=$x/lib/modules/$kver
    need=""
    for m in $modules $ondemand; do
        line=$(grep -E "/$m\.ko:" "$mdir/modules.dep") || { log "no module $m in $kver"; exit 1; }
        need="$need ${line%%:*} ${line#*:}"
    done
    for rel in $(echo $need | tr ' ' '\n' | sort -u); do
        mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
        cp "$mdir/$rel" "$root/lib/modules/$kver/$rel"
    done
    cp "$mdir/modules.builtin" "$mdir/modules.order" "$root/lib/modules/$kver/"
    busybox depmod -b "$root" "$kver"
    echo "$modules" | tr ' ' '\n' > "$root/etc/modules"

    # qemu-guest-agent with exactly the shared libraries it loads (resolved by Debian's loader).
    cp "$x/usr/sbin/qemu-ga" "$root/usr/sbin/qemu-ga"
    libpath="$x/lib/x86_64-linux-gnu:$x/usr/lib/x86_64-linux-gnu"
    mkdir -p "$root/lib64" "$root/lib/x86_64-linux-gnu"
    cp -L "$x/lib64/ld-linux-x86-64.so.2" "$root/lib64/"
    "$x/lib64/ld-linux-x86-64.so.2" --library-path "$libpath" --list "$x/usr/sbin/qemu-ga" \
        | awk '/=> \// {print $3}' | while read -r lib; do
            cp -L "$lib" "$root/lib/x86_64-linux-gnu/"
        done
    for lib in "$root"/lib/x86_64-linux-gnu/*; do
        case "$lib" in "$x"*) log "library outside the guest tree: $lib"; exit 1 ;; esac
    done

    stage=$work/stage
    mkdir -p "$stage"
    cp "$x/boot/vmlinuz-$kver" "$stage/vmlinuz"
    (cd "$root" && find . | cpio -o -H newc --quiet) | gzip -9 > "$stage/initrd.img"

    # Firmware-bootable disk: MBR from syslinux, one FAT partition at 1 MiB with syslinux in it.
    # movablecore=50%: half of RAM in ZONE_MOVABLE, so that memory blocks can go offline (a
    # live-image clone's memory target is applied that way; see LiveImages.offlineAboveTarget).
    # nokaslr: with KASLR the kernel decompresses itself to a random physical address, and its
    # ~40 MB image landed in the movable half in some boots; those blocks can never go offline,
    # and a clone inherits its live image's layout. Without it the kernel sits at 16 MB, in block 0.
    log "building disk.qcow2"
    raw=$work/disk.raw
    truncate -s 64M "$raw"
    echo 'start=2048, type=c, bootable' | sfdisk -q "$raw"
    part=$work/part.img
    truncate -s $((63 * 1024 * 1024)) "$part"
    mkfs.vfat -n STRATA "$part" >/dev/null
    cat > "$work/syslinux.cfg" <<CFG
DEFAULT strata
PROMPT 0
TIMEOUT 0
LABEL strata
  KERNEL /vmlinuz
  INITRD /initrd.img
  APPEND console=ttyS0 panic=-1 quiet movablecore=50% nokaslr
CFG
    MTOOLS_SKIP_CHECK=1 mcopy -i "$part" "$stage/vmlinuz" "$stage/initrd.img" "$work/syslinux.cfg" ::/
    syslinux --install "$part"
    dd if="$part" of="$raw" bs=1M seek=1 conv=notrunc status=none
    dd if=/usr/lib/syslinux/mbr/mbr.bin of="$raw" bs=440 count=1 conv=notrunc status=none
    qemu-img convert -q -f raw -O qcow2 "$raw" "$stage/disk.qcow2"

    {
        echo "key=$key"
        echo "kernel_version=$kver"
        echo "command_line=console=ttyS0 panic=-1 quiet movablecore=50% nokaslr"
        echo "ready_marker=STRATA-GUEST-READY"
        for p in $packages; do echo "package $p=$(candidate "$p")"; done
    } > "$stage/MANIFEST"

    # Fill a private directory, then rename it into place: concurrent builds never see half a cache.
    mkdir -p "$(dirname "$cache")"
    fresh=$(mktemp -d "$cache.XXXXXX")
    cp "$stage"/* "$fresh/"
    rm -rf "$cache" && mv "$fresh" "$cache" || rm -rf "$fresh"
    log "cached in $cache"
fi

mkdir -p "$out"
for f in $outputs; do cp "$cache/$f" "$out/$f.tmp" && mv "$out/$f.tmp" "$out/$f"; done
log "guest image in $out"
