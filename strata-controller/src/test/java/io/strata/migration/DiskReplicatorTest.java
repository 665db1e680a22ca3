package io.strata.migration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.strata.migration.disk.DiskReplicator;
import io.strata.migration.disk.RawDisk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The replicator on raw files, through the in-process queue and through the encoded (compressed)
 * stream: what it sends, and that the destination always ends equal to the source.
 */
@ParameterizedClass
@ValueSource(booleans = {false, true})
class DiskReplicatorTest {
    private static final long SIZE = 4L << 20;

    @TempDir
    Path dir;

    @Parameter
    boolean encoded;

    private DiskReplicator.Stats replicate(Path source, Path target, Path state, java.util.function.BooleanSupplier cancelled) throws IOException {
        try (RawDisk from = RawDisk.openForReading(source); RawDisk to = RawDisk.openForWriting(target)) {
            DiskReplicator replicator = encoded ? new DiskReplicator(DiskReplicator::pipe) : new DiskReplicator();
            return replicator.replicate(from, to, state, cancelled, (done, total) -> { });
        }
    }

    @Test
    void anInterruptedExecutionIsRepairedFromTheDestinationItself() throws IOException {
        Path source = HostDirs.sparseDisk(dir.resolve("src.raw"), SIZE, 1, 0, 1, 2, 3, 4, 5, 6, 7, 60);
        Path original = Files.copy(source, dir.resolve("original.raw"));
        Path target = dir.resolve("dst.raw");
        Path state = dir.resolve("state");
        DiskReplicator.Stats first = replicate(source, target, state, () -> false);
        assertThat(first.blocksSent()).isEqualTo(9);
        assertThat(first.payloadBytes()).isEqualTo(9L * HostDirs.BLOCK);
        // Random blocks do not compress: encoded, each is a raw frame (17 bytes of header, 1 for the end);
        // in one process nothing is added.
        assertThat(first.wireBytes()).isEqualTo(encoded ? 9L * (HostDirs.BLOCK + 17) + 1 : 9L * HostDirs.BLOCK);

        // Change everything, then interrupt the copy half-way: the destination holds a mix.
        HostDirs.overwriteBlocks(source, 9, 0, 1, 2, 3, 4, 5, 6, 7, 60);
        AtomicInteger checks = new AtomicInteger();
        assertThatThrownBy(() -> replicate(source, target, state, () -> checks.incrementAndGet() > 5))
                .isInstanceOf(CancellationException.class);
        assertThat(HostDirs.checksum(target, SIZE)).isNotEqualTo(HostDirs.checksum(source, SIZE));

        // The source goes back to what the last complete execution copied: saved fingerprints
        // would say "nothing changed"; the destination's own blocks say otherwise.
        Files.copy(original, source, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        DiskReplicator.Stats repaired = replicate(source, target, state, () -> false);
        assertThat(repaired.blocksSent()).isBetween(1, 5);
        assertThat(HostDirs.checksum(target, SIZE)).isEqualTo(HostDirs.checksum(source, SIZE));
    }

    @Test
    void aGrownOrShrunkSourceIsFollowedAndZeroedBlocksAreSentAsZeros() throws IOException {
        Path source = HostDirs.sparseDisk(dir.resolve("src.raw"), SIZE, 2, 0, 10);
        Path target = dir.resolve("dst.raw");
        Path state = dir.resolve("state");
        replicate(source, target, state, () -> false);

        HostDirs.sparseDisk(source, 2 * SIZE, 2, 0, 100);
        DiskReplicator.Stats grown = replicate(source, target, state, () -> false);
        assertThat(Files.size(target)).isEqualTo(2 * SIZE);
        assertThat(grown.blocksSent()).isEqualTo(1);
        assertThat(grown.zeroBlocksSent()).isEqualTo(1);
        assertThat(HostDirs.checksum(target, 2 * SIZE)).isEqualTo(HostDirs.checksum(source, 2 * SIZE));

        HostDirs.sparseDisk(source, SIZE / 2, 2, 0);
        replicate(source, target, state, () -> false);
        assertThat(Files.size(target)).isEqualTo(SIZE / 2);
        assertThat(HostDirs.checksum(target, SIZE / 2)).isEqualTo(HostDirs.checksum(source, SIZE / 2));
    }

    /**
     * 96 MiB of data: the destination starts writing back in the background after 64 MiB, while
     * blocks are still written, and the copy is whole when the replication returns.
     */
    @Test
    void aCopyLongerThanTheBackgroundWriteBackThresholdEndsWhole() throws IOException {
        long size = 96L << 20;
        int[] all = java.util.stream.IntStream.range(0, (int) (size / HostDirs.BLOCK)).toArray();
        Path source = HostDirs.sparseDisk(dir.resolve("src.raw"), size, 5, all);
        Path target = dir.resolve("dst.raw");
        DiskReplicator.Stats full = replicate(source, target, dir.resolve("state"), () -> false);
        assertThat(full.blocksSent()).isEqualTo(all.length);
        assertThat(HostDirs.checksum(target, size)).isEqualTo(HostDirs.checksum(source, size));
    }

    /**
     * A destination that fails mid-copy (a full disk): the failure reaches the caller through the
     * writer and the hashing thread, nothing hangs, and the state is left incomplete, so the next
     * execution checks the destination's own blocks.
     */
    @Test
    void aDestinationFailingMidCopyFailsTheExecutionWithItsOwnError() throws IOException {
        Path source = HostDirs.sparseDisk(dir.resolve("src.raw"), SIZE, 3, java.util.stream.IntStream.range(0, 64).toArray());
        Path target = dir.resolve("dst.raw");
        Path state = dir.resolve("state");
        try (RawDisk from = RawDisk.openForReading(source); RawDisk file = RawDisk.openForWriting(target)) {
            io.strata.migration.disk.BlockTarget failing = new io.strata.migration.disk.BlockTarget() {
                private int writes;

                @Override
                public long size() throws IOException {
                    return file.size();
                }

                @Override
                public void resize(long newSize) throws IOException {
                    file.resize(newSize);
                }

                @Override
                public void write(long offset, java.nio.ByteBuffer data) throws IOException {
                    if (++writes > 10) {
                        throw new IOException("No space left on device");
                    }
                    file.write(offset, data);
                }

                @Override
                public void zero(long offset, int length) throws IOException {
                    file.zero(offset, length);
                }

                @Override
                public void read(long offset, java.nio.ByteBuffer into) throws IOException {
                    file.read(offset, into);
                }

                @Override
                public void flush() throws IOException {
                    file.flush();
                }

                @Override
                public void close() {}
            };
            DiskReplicator replicator = encoded ? new DiskReplicator(DiskReplicator::pipe) : new DiskReplicator();
            // Through the encoded stream the sender sees the pipe its failed receiver closed ("Pipe closed"), not the receiver's error.
            assertThatThrownBy(() -> replicator.replicate(from, failing, state, () -> false, (done, total) -> { }))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining(encoded ? "Pipe closed" : "No space left on device");
        }
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.getName().equals("block-hasher") && t.isAlive());

        DiskReplicator.Stats repaired = replicate(source, target, state, () -> false);
        assertThat(repaired.blocksSent()).isEqualTo(64 - 10);
        assertThat(HostDirs.checksum(target, SIZE)).isEqualTo(HostDirs.checksum(source, SIZE));
    }
}
