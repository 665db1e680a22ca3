package io.strata.migration.morphing;

/**
 * The shell scripts morphing runs in the appliance (busybox sh, through the guest agent's
 * guest-exec). They print one line per finding or change, which {@link OsMorpher} parses; they
 * never print what they read from the guest's files other than os-release.
 */
final class MorphScripts {
    private MorphScripts() {}

    /**
     * Lists every virtio disk and partition: "table DEV N" (a partition table with N partitions;
     * its partitions are listed on their own), "root DEV FSTYPE" followed by "os-release DEV LINE"
     * lines, "fs DEV FSTYPE" (a filesystem without os-release), "empty DEV" (nothing mountable).
     * Everything is mounted read-only; a Debian /etc/os-release is a relative symlink into /usr/lib.
     */
    static final String DETECT = """
            # XFS (RHEL's default root) is a module the appliance does not load at boot.
            modprobe xfs 2>/dev/null
            mkdir -p /mnt/probe
            for path in /sys/class/block/vd*; do
                [ -e "$path" ] || continue
                dev=${path##*/}
                if [ ! -e "$path/partition" ]; then
                    parts=$(ls -d "$path/$dev"* 2>/dev/null | wc -l)
                    if [ "$parts" -gt 0 ]; then
                        echo "table $dev $parts"
                        continue
                    fi
                fi
                if mount -o ro "/dev/$dev" /mnt/probe 2>/dev/null; then
                    fs=$(awk -v d="/dev/$dev" '$1 == d {print $3}' /proc/mounts)
                    release=""
                    for f in /mnt/probe/etc/os-release /mnt/probe/usr/lib/os-release; do
                        if [ -L "$f" ]; then
                            target=$(readlink "$f")
                            case "$target" in
                                /*) f=/mnt/probe$target ;;
                                *) f=${f%/*}/$target ;;
                            esac
                        fi
                        if [ -f "$f" ]; then release=$f; break; fi
                    done
                    if [ -n "$release" ]; then
                        echo "root $dev $fs"
                        sed "s/^/os-release $dev /" "$release"
                        echo
                    else
                        echo "fs $dev $fs"
                    fi
                    umount /mnt/probe || { echo "cannot unmount /dev/$dev" >&2; exit 1; }
                else
                    echo "empty $dev"
                fi
            done
            """;

    /**
     * Arguments: the root device and the family ("debian" or "rhel"). Prints "change WHAT" per
     * change, "note WHAT" for what it left alone. Replaced files are kept once as NAME.strata.bak (a suffix RHEL's network scripts
     * ignore), so that a repeated run does not overwrite the original with the morphed file.
     */
    static final String MORPH = """
            dev=$1
            family=$2
            r=/mnt/root
            mkdir -p $r
            mount -o rw "/dev/$dev" $r || { echo "cannot mount /dev/$dev read-write" >&2; exit 1; }

            backup() {
                [ -e "$1.strata.bak" ] || cp -p "$1" "$1.strata.bak"
            }

            # Persistent NIC names bound to the old platform's MACs would rename the new NIC.
            for rules in etc/udev/rules.d/70-persistent-net.rules etc/udev/rules.d/75-persistent-net-generator.rules; do
                if [ -e "$r/$rules" ]; then
                    rm -f "$r/$rules" && echo "change removed /$rules"
                fi
            done

            case "$family" in
            debian)
                if ls $r/etc/netplan/*.yaml >/dev/null 2>&1; then
                    for y in $r/etc/netplan/*.yaml; do
                        [ "${y##*/}" = 50-strata-dhcp.yaml ] && continue
                        mv "$y" "$y.strata.bak" && echo "change moved /etc/netplan/${y##*/} aside (${y##*/}.strata.bak)"
                    done
                    cat > $r/etc/netplan/50-strata-dhcp.yaml <<'EOF'
            network:
              version: 2
              ethernets:
                strata-nics:
                  match:
                    name: "e*"
                  dhcp4: true
            EOF
                    echo "change wrote /etc/netplan/50-strata-dhcp.yaml: every Ethernet NIC by DHCP"
                elif [ -f $r/etc/network/interfaces ]; then
                    f=$r/etc/network/interfaces
                    nic=$(awk '$1 == "iface" && $2 != "lo" {print $2; exit}' $f)
                    [ -n "$nic" ] || nic=eth0
                    backup $f
                    cat > $f <<EOF
            # Written by Strata's OS morphing; the original is interfaces.strata.bak.
            auto lo
            iface lo inet loopback

            auto $nic
            iface $nic inet dhcp
            EOF
                    echo "change rewrote /etc/network/interfaces: $nic by DHCP (the original kept as /etc/network/interfaces.strata.bak)"
                else
                    echo "note no network configuration changed: neither netplan nor /etc/network/interfaces found"
                fi
                ;;
            rhel)
                d=$r/etc/sysconfig/network-scripts
                if [ -d $d ]; then
                    nic=""
                    for f in $d/ifcfg-*; do
                        [ -f "$f" ] || continue
                        case "${f##*/}" in ifcfg-lo|*.strata.bak) continue ;; esac
                        [ -n "$nic" ] || nic=${f##*/ifcfg-}
                        if grep -q '^HWADDR=' "$f"; then
                            backup "$f"
                            sed -i '/^HWADDR=/d' "$f" && echo "change removed HWADDR from /etc/sysconfig/network-scripts/${f##*/}"
                        fi
                    done
                    [ -n "$nic" ] || nic=eth0
                    [ -f $d/ifcfg-$nic ] && backup $d/ifcfg-$nic
                    cat > $d/ifcfg-$nic <<EOF
            DEVICE=$nic
            TYPE=Ethernet
            BOOTPROTO=dhcp
            ONBOOT=yes
            EOF
                    echo "change wrote /etc/sysconfig/network-scripts/ifcfg-$nic: $nic by DHCP"
                else
                    echo "note no network configuration changed: /etc/sysconfig/network-scripts not found"
                fi
                ;;
            *)
                echo "unknown family $family" >&2
                umount $r
                exit 2
                ;;
            esac

            # The old hypervisor's guest tools: their services are disabled (systemd and SysV links).
            for unit in open-vm-tools vmtoolsd vmware-tools vgauth hv-kvp-daemon hv-vss-daemon hv-fcopy-daemon hypervkvpd hypervvssd hypervfcopyd; do
                for link in $r/etc/systemd/system/*.wants/$unit.service $r/etc/rc[0-6].d/S[0-9][0-9]$unit; do
                    [ -L "$link" ] || continue
                    rm -f "$link" && echo "change disabled $unit (removed ${link#$r})"
                done
            done

            sync
            umount $r || { echo "cannot unmount /dev/$dev" >&2; exit 1; }
            """;

    /**
     * Arguments: the root device and a user script's text. Runs the script with the guest's root
     * mounted read-write, its mount point as the first argument (as Coriolis runs a Linux user
     * script); a script without "#!" is run by /bin/sh. Exits with the script's status, after
     * unmounting; a failed unmount is exit 125 so that it is not taken for the script's.
     */
    static final String USER_SCRIPT = """
            dev=$1
            r=/mnt/root
            mkdir -p $r
            mount -o rw "/dev/$dev" $r || { echo "cannot mount /dev/$dev read-write" >&2; exit 125; }
            f=/tmp/strata-user-script
            printf '%s' "$2" > $f
            chmod 700 $f
            case "$2" in
            '#!'*) "$f" "$r" ;;
            *) /bin/sh "$f" "$r" ;;
            esac
            status=$?
            rm -f $f
            sync
            umount $r || { echo "cannot unmount /dev/$dev" >&2; exit 125; }
            exit $status
            """;
}
