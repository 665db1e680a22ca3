package io.strata.migration.host;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The host's framer (the real Python 3 script) and the worker's decoder, end to end. */
class ZlibReadFramesTest {
    /** Text-like, zeros and random parts, not a multiple of the frame size. */
    private static byte[] mixedDisk() {
        ByteArrayOutputStream disk = new ByteArrayOutputStream();
        for (int i = 0; disk.size() < 3 << 20; i++) {
            disk.writeBytes(("Dec  4 23:10:" + i % 60 + " host kernel: [" + i + "] eth0 link up, id=" + i * 7919L + "\n")
                    .getBytes(StandardCharsets.US_ASCII));
        }
        disk.writeBytes(new byte[2 << 20]);
        byte[] random = new byte[(1 << 20) + 12_345];
        new Random(7).nextBytes(random);
        disk.writeBytes(random);
        return disk.toByteArray();
    }

    /** Runs the framer on {@code data} as the host would, returns what it sent. */
    private static byte[] framed(byte[] data) throws Exception {
        Process python = new ProcessBuilder("python3", "-c", ZlibReadFrames.FRAMER).start();
        Thread feeder = Thread.ofVirtual().start(() -> {
            try (OutputStream in = python.getOutputStream()) {
                in.write(data);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        byte[] out = python.getInputStream().readAllBytes();
        feeder.join();
        assertThat(python.waitFor()).as(new String(python.getErrorStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
        return out;
    }

    @Test
    void whatTheHostFramesDecodesToTheSameBytesInFewerOnTheWire() throws Exception {
        byte[] disk = mixedDisk();
        byte[] wire = framed(disk);
        try (ZlibReadFrames frames = new ZlibReadFrames(new ByteArrayInputStream(wire))) {
            assertThat(frames.readAllBytes()).isEqualTo(disk);
            assertThat(frames.wireBytes()).isEqualTo(wire.length);
        }
        // Text and zeros shrink; the random MiB goes as it is.
        assertThat(wire.length).isLessThan(disk.length / 3).isGreaterThan((1 << 20) + 12_345);
    }

    @Test
    void skippingAndReadingInSmallPiecesGiveTheSameBytes() throws Exception {
        byte[] disk = mixedDisk();
        try (InputStream frames = new ZlibReadFrames(new ByteArrayInputStream(framed(disk)))) {
            frames.skipNBytes(1_000_003);
            byte[] piece = frames.readNBytes(65_536);
            assertThat(piece).isEqualTo(java.util.Arrays.copyOfRange(disk, 1_000_003, 1_065_539));
            frames.skipNBytes(4 << 20);
            assertThat(frames.readAllBytes()).isEqualTo(java.util.Arrays.copyOfRange(disk, 1_065_539 + (4 << 20), disk.length));
        }
    }

    @Test
    void aDamagedFrameFailsInsteadOfBecomingDiskContent() throws Exception {
        byte[] wire = framed(new byte[1 << 20]);
        // The first frame is compressed (zeros): flip a byte of its zlib data.
        assertThat(wire[0]).isEqualTo((byte) 1);
        wire[9 + 5] ^= 0x40;
        assertThatThrownBy(() -> new ZlibReadFrames(new ByteArrayInputStream(wire)).readAllBytes()).isInstanceOf(IOException.class)
                .hasMessageContaining("corrupt");
        byte[] cut = java.util.Arrays.copyOf(framed(mixedDisk()), 100_000);
        assertThatThrownBy(() -> new ZlibReadFrames(new ByteArrayInputStream(cut)).readAllBytes()).isInstanceOf(IOException.class);
    }
}
