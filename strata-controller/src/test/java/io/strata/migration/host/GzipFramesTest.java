package io.strata.migration.host;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write frames as the SSH host receives them: gzip members that the real {@code gzip -dc}
 * unpacks to exactly the frame's bytes, no member for data that would not shrink, and the
 * remote write loop itself run by the local {@code sh}: it applies gzip and raw frames at their
 * offsets and stops with a failure at a damaged member.
 */
class GzipFramesTest {
    @TempDir
    Path dir;

    private static byte[] text(int length, int seed) {
        StringBuilder lines = new StringBuilder();
        for (int i = 0; lines.length() < length; i++) {
            lines.append("record ").append(seed).append('-').append(i).append(": status=ok bytes=").append(i * 4096).append('\n');
        }
        return Arrays.copyOf(lines.toString().getBytes(StandardCharsets.US_ASCII), length);
    }

    private static byte[] random(int length, long seed) {
        byte[] bytes = new byte[length];
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < length; i++) {
            bytes[i] = (byte) random.nextInt();
        }
        return bytes;
    }

    private static byte[] member(GzipFrames frames, byte[] data) {
        int size = frames.compress(data, data.length);
        return size < 0 ? null : Arrays.copyOf(frames.output(), size);
    }

    private static byte[] gunzip(byte[] member) throws Exception {
        Process gzip = new ProcessBuilder("gzip", "-dc").start();
        // Fed from another thread: gzip's output fills its pipe long before all input is in.
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (OutputStream in = gzip.getOutputStream()) {
                in.write(member);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        byte[] out = gzip.getInputStream().readAllBytes();
        feeder.join();
        assertThat(gzip.waitFor()).isZero();
        return out;
    }

    @Test
    void membersUnpackWithGzipToTheFrameExactly() throws Exception {
        try (GzipFrames frames = new GzipFrames()) {
            byte[] data = text(8 << 20, 1);
            byte[] member = member(frames, data);
            assertThat(member).isNotNull();
            assertThat(member.length).isLessThan(data.length / 5);
            assertThat(gunzip(member)).isEqualTo(data);

            // The same compressor again, on zeros (a disk's unwritten blocks) and on a short frame.
            byte[] zeros = new byte[1 << 20];
            byte[] zeroMember = member(frames, zeros);
            assertThat(zeroMember.length).isLessThan(zeros.length / 128);
            assertThat(gunzip(zeroMember)).isEqualTo(zeros);
            byte[] small = text(5000, 2);
            assertThat(gunzip(member(frames, small))).isEqualTo(small);
        }
    }

    @Test
    void dataThatDoesNotShrinkGetsNoMember() {
        try (GzipFrames frames = new GzipFrames()) {
            assertThat(frames.compress(random(8 << 20, 3), 8 << 20)).isEqualTo(-1);
            // Below the minimum a frame is not worth gzip's processes on the host.
            assertThat(frames.compress(text(1000, 4), 1000)).isEqualTo(-1);
        }
    }

    @Test
    void probesAcrossTheFrameFindCompressibleDataAfterARandomStart() throws Exception {
        byte[] data = text(4 << 20, 5);
        System.arraycopy(random(256 << 10, 6), 0, data, 0, 256 << 10);
        try (GzipFrames frames = new GzipFrames()) {
            byte[] member = member(frames, data);
            assertThat(member).isNotNull();
            assertThat(member.length).isLessThan(data.length / 2);
            assertThat(gunzip(member)).isEqualTo(data);
        }
    }

    /** Runs the write loop locally as sh runs it on the host; returns its exit status. */
    private static int runLoop(Path file, byte[] frames) throws Exception {
        Process loop = new ProcessBuilder("sh", "-c", SshRawDisk.writeLoop(SshHost.quote(file)))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        try (OutputStream in = loop.getOutputStream()) {
            in.write(frames);
        } catch (IOException brokenPipe) {
            // The loop stopped before reading everything: its status says why.
        }
        assertThat(loop.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return loop.exitValue();
    }

    /** A frame as SshRawDisk sends it: one gzip member of all the runs when they shrink, a raw frame per run otherwise. */
    private static void frame(ByteArrayOutputStream out, GzipFrames frames, long[] offsets, byte[]... runs) throws IOException {
        ByteArrayOutputStream batch = new ByteArrayOutputStream();
        int length = 0;
        for (int i = 0; i < runs.length; i++) {
            batch.write((offsets[i] + " " + runs[i].length + "\n").getBytes(StandardCharsets.US_ASCII));
            batch.write(runs[i]);
            length += runs[i].length;
        }
        int size = frames.compress(batch.toByteArray(), batch.size());
        if (size >= 0) {
            out.write(("0 " + length + " " + size + " gz\n").getBytes(StandardCharsets.US_ASCII));
            out.write(frames.output(), 0, size);
            return;
        }
        for (int i = 0; i < runs.length; i++) {
            out.write((offsets[i] + " " + runs[i].length + " " + runs[i].length + " raw\n").getBytes(StandardCharsets.US_ASCII));
            out.write(runs[i]);
        }
    }

    @Test
    void theWriteLoopAppliesFramesAndStopsAtADamagedOne() throws Exception {
        Path file = Files.write(dir.resolve("disk's file.raw"), new byte[0]);
        byte[] first = text(1 << 20, 7);
        byte[] second = random(100_000, 8);
        byte[] third = text(300_000, 9);
        byte[] expected = new byte[3 << 20];
        System.arraycopy(first, 0, expected, 0, first.length);
        System.arraycopy(second, 0, expected, 2 << 20, second.length);
        System.arraycopy(third, 0, expected, (3 << 20) - third.length, third.length);
        byte[] fourth = text(70_000, 10);
        System.arraycopy(fourth, 0, expected, (5 << 19), fourth.length);
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        try (GzipFrames compressor = new GzipFrames()) {
            // Two runs in one member, a raw run, then a member of one run.
            frame(frames, compressor, new long[] {0, (3 << 20) - third.length}, first, third);
            frame(frames, compressor, new long[] {2 << 20}, second);
            frame(frames, compressor, new long[] {5 << 19}, fourth);
        }
        assertThat(frames.toString(StandardCharsets.ISO_8859_1)).contains(" gz\n").contains(" raw\n");
        assertThat(runLoop(file, frames.toByteArray())).isZero();
        assertThat(Files.readAllBytes(file)).isEqualTo(expected);

        // A member damaged on the way (one bit of its compressed body): gzip's check fails, the
        // loop stops with a failure and applies nothing after it.
        Path damagedFile = Files.write(dir.resolve("damaged.raw"), new byte[0]);
        ByteArrayOutputStream damaged = new ByteArrayOutputStream();
        try (GzipFrames compressor = new GzipFrames()) {
            ByteArrayOutputStream batch = new ByteArrayOutputStream();
            frame(batch, compressor, new long[] {0}, first);
            byte[] member = batch.toByteArray();
            member[member.length / 2] ^= 0x10;
            damaged.write(member);
            frame(damaged, compressor, new long[] {2 << 20}, second);
        }
        assertThat(runLoop(damagedFile, damaged.toByteArray())).isNotZero();
        assertThat(Files.size(damagedFile)).isLessThan(2 << 20);
    }
}
