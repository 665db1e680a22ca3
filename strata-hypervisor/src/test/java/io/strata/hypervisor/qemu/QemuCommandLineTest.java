package io.strata.hypervisor.qemu;

import static org.assertj.core.api.Assertions.assertThat;

import io.strata.hypervisor.BootSource;
import io.strata.hypervisor.NetworkSpec;
import io.strata.hypervisor.VmSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QemuCommandLineTest {
    private final QemuConfig config = QemuConfig.defaults(Path.of("/var/lib/strata"), "host", "10.0.0.1")
            .withTimeouts(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1));
    private final NetworkSpec network = new NetworkSpec("fa:16:3e:aa:bb:cc", "10.0.0.10", 24, "10.0.0.1", List.of(), 2222);

    private VmSpec spec(BootSource boot) {
        return new VmSpec("1b4e28ba-2fa1-11d2-883f-0016d3cca427", "web", "web", 2, 512, 0, boot, null,
                Map.of(), Map.of(), network, Map.of(), 0);
    }

    @Test
    void ramIsASharedFileUnderTheRamRootFromTheStart() {
        VmSpec spec = spec(new BootSource(Path.of("/images/disk.qcow2"), "qcow2", null, null, null));
        RunDir run = RunDir.of(config, spec.id());
        String line = String.join(" ", QemuCommandLine.build(config, "tcg", spec, run, UserNetwork.of(network), true, true));
        assertThat(line)
                .contains("-machine pc,memory-backend=mem -accel tcg,tb-size=64")
                .contains("memory-backend-file,id=mem,size=512M,mem-path=/dev/shm/strata/" + spec.id() + "/ram,share=on")
                .contains("-smp 2 -m 512M")
                .contains("-daemonize -pidfile /var/lib/strata/qemu/" + spec.id() + "/qemu.pid")
                .contains("-no-shutdown")
                .contains("hostfwd=tcp:127.0.0.1:2222-:22")
                .contains("virtio-net-pci,netdev=net0,mac=fa:16:3e:aa:bb:cc")
                .contains("file=/var/lib/strata/qemu/" + spec.id() + "/disk.qcow2,format=qcow2")
                .contains("name=org.qemu.guest_agent.0")
                .contains("-uuid " + spec.id())
                .doesNotContain("-kernel", "-cpu host");
    }

    @Test
    void newVmsGetTwoSerialPortsAndClonesAndMigrationTargetsTheirSourcesPorts() {
        VmSpec spec = spec(new BootSource(Path.of("/images/disk.qcow2"), "qcow2", null, null, null));
        RunDir run = RunDir.of(config, spec.id());
        List<String> fresh = QemuCommandLine.build(config, "tcg", spec, run, UserNetwork.of(network), true, true);
        assertThat(fresh).contains("virtio-serial-pci,id=vser0,max_ports=2");
        assertThat(QemuCommandLine.serialPortsOf(fresh)).isEqualTo(QemuCommandLine.SERIAL_PORTS);

        // A VM started before the ports were set has QEMU's default: what follows it must keep it.
        QemuCommandLine.Storage storage = QemuCommandLine.Storage.of(run, true, true);
        List<String> legacy = QemuCommandLine.build(config, "tcg", spec, run, UserNetwork.of(network), storage, null);
        assertThat(legacy).contains("virtio-serial-pci,id=vser0").doesNotContain("virtio-serial-pci,id=vser0,max_ports=2");
        assertThat(QemuCommandLine.serialPortsOf(legacy)).isNull();
        assertThat(QemuCommandLine.serialPortsOf(List.of("-device", "virtio-serial-pci,id=vser0,max_ports=7"))).isEqualTo(7);
    }

    @Test
    void aManifestWrittenBeforeSerialPortsWereKeptReadsAsQemusDefault(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        java.nio.file.Files.writeString(LiveImageManifest.file(dir), """
                {"blessedFrom": "vm-1", "vcpus": 1, "memoryMb": 256, "targetMemoryMb": 0, "accelerator": "tcg",
                 "boot": {"disk": null, "diskFormat": null, "kernel": null, "ramdisk": null, "commandLine": null},
                 "hasRootDisk": false, "mac": "fa:16:3e:00:00:01", "ipAddress": "10.0.0.3", "netdev": null}
                """);
        assertThat(LiveImageManifest.read(dir).serialPorts()).isNull();
    }

    @Test
    void directKernelBootAddsTheSerialConsoleToTheImagesCommandLine() {
        BootSource kernel = new BootSource(null, null, Path.of("/k"), Path.of("/r"), "quiet");
        List<String> args = QemuCommandLine.build(config, "kvm", spec(kernel), RunDir.of(config, "x"), UserNetwork.of(network), false, true);
        assertThat(String.join(" ", args)).contains("-accel kvm -cpu host").contains("-kernel /k -initrd /r");
        assertThat(args.get(args.indexOf("-append") + 1)).isEqualTo("quiet console=ttyS0");
        assertThat(QemuCommandLine.kernelCommandLine(new BootSource(Path.of("/d"), "raw", Path.of("/k"), null, null), true))
                .isEqualTo("root=/dev/vda console=ttyS0");
        assertThat(QemuCommandLine.kernelCommandLine(new BootSource(null, null, Path.of("/k"), null, "console=ttyS0,115200"), false))
                .isEqualTo("console=ttyS0,115200");
    }

    @Test
    void aClonesOwnConfigDriveKeepsEveryDeviceInItsPlace() {
        VmSpec spec = spec(new BootSource(Path.of("/images/disk.qcow2"), "qcow2", null, null, null));
        RunDir run = RunDir.of(config, spec.id());
        QemuCommandLine.Storage image = new QemuCommandLine.Storage(run.rootDisk(), Path.of("/images/golden/config.iso"),
                Path.of("/images/golden/ram"), false);
        List<String> original = QemuCommandLine.build(config, "tcg", spec, run, UserNetwork.of(network), image);
        List<String> own = QemuCommandLine.withConfigDrive(original, run.configDrive(), "strata-config-2");
        // A clone resumes a booted guest: its own code cache is the smaller one, until it boots.
        assertThat(String.join(" ", original)).contains("-accel tcg,tb-size=16 ");
        assertThat(String.join(" ", QemuCommandLine.forBoot(original))).contains("-accel tcg,tb-size=64 ").doesNotContain("tb-size=16");

        assertThat(own).hasSameSizeAs(original);
        int drive = original.indexOf("file=/images/golden/config.iso,format=raw,if=none,id=config0,readonly=on");
        assertThat(drive).isPositive();
        assertThat(own.get(drive)).isEqualTo("file=" + run.configDrive() + ",format=raw,if=none,id=config0,readonly=on");
        assertThat(own.get(drive + 2)).isEqualTo("virtio-blk-pci,drive=config0,serial=strata-config-2");
        for (int i = 0; i < own.size(); i++) {
            if (i != drive && i != drive + 2) {
                assertThat(own.get(i)).isEqualTo(original.get(i));
            }
        }
        // Doing it again (a descriptor already rewritten) changes nothing more.
        assertThat(QemuCommandLine.withConfigDrive(own, run.configDrive(), "strata-config-2")).isEqualTo(own);
        List<String> without = QemuCommandLine.build(config, "tcg", spec, run, UserNetwork.of(network), true, false);
        assertThat(QemuCommandLine.withConfigDrive(without, run.configDrive(), "x")).isEqualTo(without);
    }

    @Test
    void novaStyleVersionNumbers() {
        assertThat(QemuHypervisor.parseVersion("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)")).isEqualTo(7_002_022);
        assertThat(QemuHypervisor.parseVersion("QEMU emulator version 8.1.0")).isEqualTo(8_001_000);
    }
}
