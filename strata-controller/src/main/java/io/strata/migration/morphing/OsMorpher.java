package io.strata.migration.morphing;

import static java.util.Objects.requireNonNull;

import io.strata.hypervisor.qemu.GuestAgentClient;
import io.strata.hypervisor.qemu.QemuAppliance;
import io.strata.migration.provider.ProviderException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * OS morphing, as Coriolis does it between copying the disks and booting them on the destination:
 * an appliance VM on this worker (the OS-morphing minion) gets the instance's disks attached
 * read-write, finds the root filesystem by its /etc/os-release, and adapts the guest to its new
 * hardware: no persistent NIC names bound to the old MACs, the first NIC by DHCP, the old
 * hypervisor's tools disabled. Every step is repeatable: a resumed task morphs an already morphed
 * disk again to the same result, and backups of replaced files are made only once.
 */
public final class OsMorpher {
    /**
     * @param qemuBinary   qemu-system-x86_64
     * @param image        the appliance's kernel and initramfs (the test guest of tools/guest-image)
     * @param memoryMb     the appliance's memory
     * @param bootTimeout  how long its guest agent may take to answer (TCG boots are slow)
     * @param accelerator  "kvm" or "tcg", asked once, at the first morphing (deciding may boot a probe guest)
     */
    public record Settings(Path qemuBinary, QemuAppliance.Image image, int memoryMb, Duration bootTimeout, Supplier<String> accelerator) {
        public Settings {
            requireNonNull(qemuBinary, "qemuBinary is null");
            requireNonNull(image, "image is null");
            requireNonNull(bootTimeout, "bootTimeout is null");
            requireNonNull(accelerator, "accelerator is null");
            if (memoryMb < 128) {
                throw new IllegalArgumentException("the appliance needs at least 128 MiB, not " + memoryMb);
            }
        }

        /** The appliance booted under TCG from a directory with vmlinuz and initrd.img (tools/guest-image/out). */
        public static Settings forImage(Path dir) {
            return forImage(dir, () -> "tcg");
        }

        /** As above, under the accelerator {@code accelerator} gives (see {@link QemuAppliance#accelerator}). */
        public static Settings forImage(Path dir, Supplier<String> accelerator) {
            return new Settings(Path.of("qemu-system-x86_64"), QemuAppliance.Image.in(dir), 256, Duration.ofMinutes(3), accelerator);
        }
    }

    /** What morphing found and changed; {@code userScriptOutput} is null when no user script ran. */
    public record Outcome(String rootDevice, String filesystem, OsRelease os, List<String> changes, String userScriptOutput) {
        public Outcome {
            changes = List.copyOf(changes);
        }
    }

    /** Lines of a user script's output shown as progress; the rest is in the task's info. */
    private static final int SHOWN_SCRIPT_LINES = 20;

    private static final Duration STEP_LIMIT = Duration.ofMinutes(5);

    private final Settings settings;
    private String accelerator;

    public OsMorpher(Settings settings) {
        this.settings = requireNonNull(settings, "settings is null");
    }

    /**
     * Morphs the guest whose disks are {@code disks} (raw, the boot disk first). Fails with a
     * {@link ProviderException} naming what it found when no disk holds a supported Linux root.
     */
    public Outcome morph(List<QemuAppliance.Disk> disks, Consumer<String> progress, BooleanSupplier cancelled) {
        return morph(disks, null, progress, cancelled);
    }

    /**
     * As above, then runs {@code userScript} (when not null) with the morphed root mounted; a
     * script that exits non-zero fails morphing with its exit status and output.
     */
    public Outcome morph(List<QemuAppliance.Disk> disks, String userScript, Consumer<String> progress, BooleanSupplier cancelled) {
        if (disks.isEmpty()) {
            throw new ProviderException("the instance has no disks to morph");
        }
        if (!settings.image().exists()) {
            throw new ProviderException("OS morphing needs an appliance kernel and initramfs, and " + settings.image().kernel() + " or "
                    + settings.image().initrd() + " is missing (build them with tools/guest-image/build.sh and start the controller with "
                    + "--os-morphing-image DIR), or set skip_os_morphing");
        }
        progress.accept("Booting the OS morphing appliance with " + disks.size() + " disk(s)");
        try (QemuAppliance appliance = QemuAppliance.boot(settings.qemuBinary(), accelerator(), settings.image(), disks, settings.memoryMb(),
                settings.bootTimeout(), cancelled)) {
            GuestAgentClient guest = appliance.agent();
            checkCancelled(cancelled);
            Detection detection = detect(guest);
            progress.accept("Found " + detection.describe());
            if (detection.roots().isEmpty()) {
                throw new ProviderException("no Linux root filesystem (one with /etc/os-release) was found: " + detection.describe());
            }
            Map.Entry<String, Root> first = detection.roots().entrySet().iterator().next();
            Root root = first.getValue();
            OsRelease os = root.os();
            OsFamily family = OsFamily.of(os);
            if (family == null) {
                throw new ProviderException("unsupported OS " + os.describe() + " on " + first.getKey() + " (" + root.filesystem()
                        + "); OS morphing supports the Debian family (Debian, Ubuntu) and the RHEL family (RHEL, CentOS, Rocky, Alma, Fedora)");
            }
            progress.accept("Detected " + os.describe() + " (" + family.displayName() + " family) on " + first.getKey() + " (" + root.filesystem() + ")");
            checkCancelled(cancelled);
            List<String> changes = new ArrayList<>();
            String output = run(guest, List.of("/bin/sh", "-c", MorphScripts.MORPH, "morph", first.getKey(), family.scriptName()));
            for (String line : output.split("\n")) {
                if (line.startsWith("change ")) {
                    String change = line.substring("change ".length());
                    changes.add(change);
                    progress.accept("Changed: " + change);
                } else if (line.startsWith("note ")) {
                    progress.accept(line.substring("note ".length()));
                }
            }
            String scriptOutput = null;
            if (userScript != null) {
                checkCancelled(cancelled);
                progress.accept("Running the user script on " + first.getKey());
                scriptOutput = runUserScript(guest, first.getKey(), userScript);
                String[] lines = scriptOutput.strip().split("\n");
                for (int i = 0; i < Math.min(lines.length, SHOWN_SCRIPT_LINES) && !lines[i].isEmpty(); i++) {
                    progress.accept("User script: " + lines[i]);
                }
                progress.accept("The user script exited 0");
            }
            return new Outcome(first.getKey(), root.filesystem(), os, changes, scriptOutput);
        }
    }

    /** A filesystem with an os-release. */
    private record Root(String filesystem, OsRelease os) {}

    /** Every block device the appliance sees and what it holds. */
    private record Detection(Map<String, String> seen, Map<String, Root> roots) {
        String describe() {
            List<String> parts = new ArrayList<>();
            seen.forEach((device, what) -> parts.add(device + ": " + what));
            return parts.isEmpty() ? "no block devices" : String.join(", ", parts);
        }
    }

    private static Detection detect(GuestAgentClient guest) {
        String output = run(guest, List.of("/bin/sh", "-c", MorphScripts.DETECT));
        Map<String, String> seen = new LinkedHashMap<>();
        Map<String, Root> roots = new LinkedHashMap<>();
        Map<String, StringBuilder> releases = new LinkedHashMap<>();
        for (String line : output.split("\n")) {
            String[] words = line.split(" ", 3);
            if (words.length < 2) {
                continue;
            }
            String device = words[1];
            String rest = words.length > 2 ? words[2] : "";
            switch (words[0]) {
                case "table" -> seen.put(device, "partition table with " + rest + " partition(s)");
                case "empty" -> seen.put(device, "no filesystem the appliance can mount");
                case "fs" -> seen.put(device, rest + " without /etc/os-release");
                case "root" -> {
                    seen.put(device, rest + " with /etc/os-release");
                    releases.put(device, new StringBuilder());
                    roots.put(device, new Root(rest, null));
                }
                case "os-release" -> releases.computeIfAbsent(device, d -> new StringBuilder()).append(rest).append('\n');
                default -> {
                    // Anything else the script printed is not part of the protocol.
                }
            }
        }
        roots.replaceAll((device, root) -> new Root(root.filesystem(), OsRelease.parse(releases.get(device).toString())));
        return new Detection(seen, roots);
    }

    /** The appliance's accelerator, decided at the first morphing and kept. */
    private synchronized String accelerator() {
        if (accelerator == null) {
            accelerator = settings.accelerator().get();
        }
        return accelerator;
    }

    private static String runUserScript(GuestAgentClient guest, String device, String script) {
        GuestAgentClient.ExecResult result = guest.exec(List.of("/bin/sh", "-c", MorphScripts.USER_SCRIPT, "user-script", device, script), STEP_LIMIT);
        String output = (result.stdout().strip() + "\n" + result.stderr().strip()).strip();
        if (result.exitCode() == 125) {
            throw new ProviderException("OS morphing could not run the user script in the appliance: " + output);
        }
        if (result.exitCode() != 0) {
            throw new ProviderException("the user script failed (exit " + result.exitCode() + ")" + (output.isEmpty() ? "" : ": " + output));
        }
        return output;
    }

    private static String run(GuestAgentClient guest, List<String> command) {
        GuestAgentClient.ExecResult result = guest.exec(command, STEP_LIMIT);
        if (result.exitCode() != 0) {
            throw new ProviderException("OS morphing failed in the appliance (exit " + result.exitCode() + "): "
                    + (result.stderr().strip() + " " + result.stdout().strip()).strip());
        }
        return result.stdout();
    }

    private static void checkCancelled(BooleanSupplier cancelled) {
        if (cancelled.getAsBoolean()) {
            throw new CancellationException("OS morphing cancelled");
        }
    }
}
