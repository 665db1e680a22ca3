package io.strata.migration.disk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** The few qemu-img calls replication needs: allocation maps, formats, conversions. */
public final class QemuImg {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private QemuImg() {}

    /** Extents that hold data, merged where adjacent. */
    public static List<BlockSource.Extent> dataExtents(Path file, String format) throws IOException {
        return parseMap(run("qemu-img", "map", "--output=json", "-f", format, file.toString()));
    }

    /** Data extents from {@code qemu-img map --output=json} output (run here or on another host). */
    public static List<BlockSource.Extent> parseMap(String json) throws IOException {
        JsonNode map = MAPPER.readTree(json);
        List<BlockSource.Extent> extents = new ArrayList<>();
        for (JsonNode entry : map) {
            if (!entry.path("data").asBoolean(false)) {
                continue;
            }
            long start = entry.get("start").asLong();
            long length = entry.get("length").asLong();
            if (!extents.isEmpty() && extents.getLast().end() == start) {
                BlockSource.Extent last = extents.removeLast();
                extents.add(new BlockSource.Extent(last.offset(), last.length() + length));
            } else {
                extents.add(new BlockSource.Extent(start, length));
            }
        }
        return extents;
    }

    /** The image's format as qemu-img detects it (raw, qcow2…); -U: the image may be in use by a running QEMU. */
    public static String format(Path file) throws IOException {
        return MAPPER.readTree(run("qemu-img", "info", "-U", "--output=json", file.toString())).path("format").asText("raw");
    }

    /** {@code qemu-img info -U --output=json}: format, virtual-size… */
    public static String info(Path file) throws IOException {
        return run("qemu-img", "info", "-U", "--output=json", file.toString());
    }

    public static long virtualSize(Path file) throws IOException {
        return MAPPER.readTree(run("qemu-img", "info", "-U", "--output=json", file.toString())).path("virtual-size").asLong();
    }

    public static void convert(Path from, String fromFormat, Path to, String toFormat) throws IOException {
        run("qemu-img", "convert", "-f", fromFormat, "-O", toFormat, from.toString(), to.toString());
    }

    static String run(String... command) throws IOException {
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] output = process.getInputStream().readAllBytes();
        try {
            if (!process.waitFor(10, TimeUnit.MINUTES)) {
                process.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish");
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running " + command[0], e);
        }
        String text = new String(output, StandardCharsets.UTF_8);
        if (process.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + text.strip());
        }
        return text;
    }
}
