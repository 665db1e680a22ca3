package io.strata.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The test guest of tools/guest-image (a Debian cloud kernel with a busybox initramfs that prints
 * {@value #READY} on its serial console and runs qemu-guest-agent), built on first use (build.sh
 * answers from its cache when nothing changed) and registered in a cloud through the Image API the
 * way tools/guest-image/register.sh does: kernel (aki), ramdisk (ari) and a qcow2 disk image
 * whose kernel_id/ramdisk_id/os_command_line make it boot by direct kernel boot.
 */
public final class TestGuest {
    public static final String READY = "STRATA-GUEST-READY";
    private static final java.util.regex.Pattern COUNTER = java.util.regex.Pattern.compile("STRATA-COUNTER (\\d+)");
    private static Path dir;

    private TestGuest() {}

    /** The last value of the counter the guest prints on its console every second (0 when none yet). */
    public static int lastCounter(String console) {
        java.util.regex.Matcher m = COUNTER.matcher(console);
        int last = 0;
        while (m.find()) {
            last = Integer.parseInt(m.group(1));
        }
        return last;
    }

    /**
     * Waits until the driver has personalised clone {@code id} (its /run/meta_data.json names it),
     * asking its guest agent through fresh connections once a second: the agent serves one
     * connection at a time and the driver needs it meanwhile, so none is held between polls.
     */
    public static void awaitPersonalised(Path agentSocket, String id, java.time.Duration atMost) {
        org.awaitility.Awaitility.await().atMost(atMost).pollInterval(java.time.Duration.ofSeconds(1)).until(() -> {
            try (io.strata.hypervisor.qemu.GuestAgentClient guest = io.strata.hypervisor.qemu.GuestAgentClient.connect(agentSocket,
                    java.time.Duration.ofSeconds(30))) {
                return guest.shell("cat /run/meta_data.json").contains(id);
            }
        });
    }

    public static synchronized Path dir() {
        if (dir == null) {
            Path repo = Path.of(System.getProperty("basedir", ".")).toAbsolutePath().getParent();
            Path out = repo.resolve("tools/guest-image/out");
            if (!Files.isRegularFile(out.resolve("vmlinuz")) || !Files.isRegularFile(out.resolve("initrd.img"))
                    || !Files.isRegularFile(out.resolve("disk.qcow2"))) {
                run(repo.resolve("tools/guest-image/build.sh"), out);
            }
            dir = out;
        }
        return dir;
    }

    /** Registers the guest in the caller's project; returns the id of the bootable image. */
    public static String register(ApiClient client, String name) {
        try {
            Path d = dir();
            String commandLine = Files.readAllLines(d.resolve("MANIFEST")).stream()
                    .filter(line -> line.startsWith("command_line="))
                    .map(line -> line.substring("command_line=".length()))
                    .findFirst().orElse("console=ttyS0 panic=-1 movablecore=50% nokaslr");
            String kernel = upload(client, name + "-kernel", "aki", "aki", d.resolve("vmlinuz"), null);
            String ramdisk = upload(client, name + "-ramdisk", "ari", "ari", d.resolve("initrd.img"), null);
            return upload(client, name, "bare", "qcow2", d.resolve("disk.qcow2"),
                    "\"kernel_id\": \"" + kernel + "\", \"ramdisk_id\": \"" + ramdisk + "\", \"os_command_line\": \"" + commandLine + "\"");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String upload(ApiClient client, String name, String container, String disk, Path file, String extraJson)
            throws IOException {
        String body = "{\"name\": \"" + name + "\", \"container_format\": \"" + container + "\", \"disk_format\": \"" + disk + "\""
                + (extraJson == null ? "" : ", " + extraJson) + "}";
        String id = client.post("/image/v2/images", body).expect(201).json().get("id").asText();
        client.sendBytes("PUT", "/image/v2/images/" + id + "/file", Files.readAllBytes(file),
                Map.of("Content-Type", "application/octet-stream")).expect(204);
        return id;
    }

    private static void run(Path script, Path out) {
        try {
            Process process = new ProcessBuilder("bash", script.toString(), "--out", out.toString()).inheritIO().start();
            if (!process.waitFor(15, TimeUnit.MINUTES) || process.exitValue() != 0) {
                throw new IllegalStateException("building the test guest with " + script + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
