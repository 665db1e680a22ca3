package io.strata.migration.host;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import io.strata.migration.disk.QemuImg;
import io.strata.migration.disk.RawDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;

/** The worker's own file system and processes. */
public final class LocalHost implements HostAccess {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    @Override
    public String name() {
        return "local";
    }

    @Override
    public boolean isDirectory(Path path) {
        return Files.isDirectory(path);
    }

    @Override
    public boolean isWritable(Path path) {
        return Files.isWritable(path);
    }

    @Override
    public boolean exists(Path path) {
        return Files.exists(path);
    }

    @Override
    public List<String> list(Path dir, boolean directories) throws IOException {
        Predicate<Path> kind = directories ? Files::isDirectory : Files::isRegularFile;
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.filter(kind).map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Override
    public String readString(Path file) throws IOException {
        return Files.readString(file);
    }

    @Override
    public void writeString(Path file, String text) throws IOException {
        Files.writeString(file, text);
    }

    @Override
    public void createDirectories(Path dir) throws IOException {
        Files.createDirectories(dir);
    }

    @Override
    public void prepareScratch(Path dir, List<Path> stale) throws IOException {
        Files.createDirectories(dir);
        for (Path file : stale) {
            Files.deleteIfExists(file);
        }
    }

    @Override
    public Path realPath(Path file) throws IOException {
        return file.toRealPath();
    }

    @Override
    public void touch(Path file) throws IOException {
        if (!Files.exists(file)) {
            Files.createFile(file);
        }
    }

    @Override
    public void deleteIfExists(Path path) throws IOException {
        Files.deleteIfExists(path);
    }

    @Override
    public void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    @Override
    public boolean isEmptyDirectory(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }

    @Override
    public void move(Path from, Path to) throws IOException {
        Files.move(from, to);
    }

    @Override
    public Path createTempFile(Path dir, String prefix, String suffix) throws IOException {
        Files.createDirectories(dir);
        return Files.createTempFile(dir, prefix, suffix);
    }

    @Override
    public JsonNode imageInfo(Path image) throws IOException {
        // Standard output only: qemu-img warns on stderr (e.g. about bitmaps a bitmap-unaware writer invalidated).
        return MAPPER.readTree(runScript("qemu-img info -U --output=json " + HostAccess.quote(image.toString())));
    }

    @Override
    public void convert(Path from, String fromFormat, Path to, String toFormat) throws IOException {
        QemuImg.convert(from, fromFormat, to, toFormat);
    }

    @Override
    public BlockSource openRawSource(Path file, boolean deleteOnClose) throws IOException {
        return deleteOnClose ? RawDisk.openTemporary(file) : RawDisk.openForReading(file);
    }

    @Override
    public BlockTarget openRawTarget(Path file) throws IOException {
        return RawDisk.openForWriting(file);
    }

    @Override
    public String runScript(String script) throws IOException {
        return run(List.of("sh", "-c", script), "'" + script + "'");
    }

    /** No shell in between: starting {@code sh} cost ~4 ms more than the program alone here. */
    @Override
    public String runProgram(List<String> command) throws IOException {
        return run(command, String.join(" ", command));
    }

    @Override
    public boolean isLocal() {
        return true;
    }

    private static String run(List<String> command, String what) throws IOException {
        Path errors = Files.createTempFile("strata-script-", ".err");
        try {
            Process process = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
                    .redirectError(errors.toFile()).start();
            byte[] output = process.getInputStream().readAllBytes();
            try {
                if (!process.waitFor(10, TimeUnit.MINUTES)) {
                    process.destroyForcibly();
                    throw new IOException(what + " did not finish");
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + what, e);
            }
            if (process.exitValue() != 0) {
                throw new IOException(what + " failed (" + process.exitValue() + "): " + Files.readString(errors).strip());
            }
            return new String(output, java.nio.charset.StandardCharsets.UTF_8);
        } finally {
            Files.deleteIfExists(errors);
        }
    }

    @Override
    public Tunnel reach(Path socket) {
        java.net.SocketAddress address = java.net.UnixDomainSocketAddress.of(socket);
        return new Tunnel() {
            @Override
            public java.net.SocketAddress address() {
                return address;
            }

            @Override
            public void close() {}
        };
    }

    @Override
    public void stopProcess(long pid) {
        ProcessHandle.of(pid).ifPresent(process -> {
            process.destroy();
            try {
                process.onExit().get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                process.destroyForcibly();
            }
        });
    }

    @Override
    public void close() {}
}
