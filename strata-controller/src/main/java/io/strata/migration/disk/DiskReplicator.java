package io.strata.migration.disk;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PipedInputStream;
import java.io.PipedOutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.BooleanSupplier;

/**
 * Copies a disk to a destination, moving only the blocks that differ from what the destination
 * already holds. What it holds is known from the fingerprints the previous execution saved, so
 * a later execution reads the source once and sends only changed blocks; the first execution
 * reads only the source's data extents and sends only non-zero blocks. The calling thread reads;
 * a {@link HashingStage} thread fingerprints and picks the blocks to send, so reading overlaps
 * with hashing. With both ends in this
 * process (the default) blocks go through a bounded queue to a writer thread ({@link QueueSink}),
 * so reading and hashing overlap with writing, and a target with a link of its own compresses
 * what it sends and reports it ({@link BlockTarget#wireBytes}); through a {@link Transport} they
 * travel DEFLATE-compressed as a {@link BlockStream}. A source that tracks changes (a running
 * QEMU's dirty bitmap) names the changed extents, and only those blocks are read at all. When
 * the previous execution did not finish
 * (cancelled, crashed), the destination's own blocks are fingerprinted instead, so it ends up
 * equal to the source whatever mix of blocks the interrupted run left.
 */
public final class DiskReplicator {
    public static final int BLOCK_SIZE = 64 * 1024;
    private static final int PIPE_BUFFER = 4 << 20;

    /** What one replication did. */
    public record Stats(long diskBytes, int blocks, int blocksSent, int zeroBlocksSent, long bytesRead, long payloadBytes, long wireBytes,
            long millis, boolean incremental) {}

    /** Receives progress as bytes of the disk scanned out of its size. */
    public interface Progress {
        void report(long scanned, long total);
    }

    /** Where the encoded stream goes: by default a pipe into a thread applying it to the target. */
    public interface Transport {
        /** Starts the receiving side; returns the stream to write frames into and the receiver's completion. */
        Channel open(BlockTarget target) throws IOException;

        record Channel(OutputStream out, CompletableFuture<Long> received) {}
    }

    /** Null: both ends in this process, through a {@link QueueSink}. */
    private final Transport transport;

    public DiskReplicator() {
        this.transport = null;
    }

    public DiskReplicator(Transport transport) {
        this.transport = java.util.Objects.requireNonNull(transport, "transport is null");
    }

    public Stats replicate(BlockSource source, BlockTarget target, Path stateFile, BooleanSupplier cancelled, Progress progress)
            throws IOException {
        long started = System.nanoTime();
        long size = source.size();
        int blocks = (int) ((size + BLOCK_SIZE - 1) / BLOCK_SIZE);
        MessageDigest digest = BlockHashes.digest();

        BlockHashes.Loaded saved = BlockHashes.load(stateFile);
        BlockHashes previous;
        boolean incremental;
        long bytesRead = 0;
        if (saved != null && saved.complete() && saved.hashes() != null && saved.hashes().blockSize() == BLOCK_SIZE) {
            previous = saved.hashes().resized(blocks);
            incremental = true;
        } else if (target.size() == 0) {
            previous = new BlockHashes(BLOCK_SIZE, blocks);
            incremental = false;
        } else {
            previous = fingerprint(target, blocks, digest, cancelled);
            bytesRead += target.size();
            incremental = saved != null;
        }
        if (target.size() != size) {
            target.resize(size);
        }
        BlockHashes.markIncomplete(stateFile, BLOCK_SIZE);

        // With change tracking, only the changed blocks are read; the others keep their fingerprints.
        List<BlockSource.Extent> changed = incremental && saved != null && saved.complete() ? source.changedExtents() : null;
        BitSet toRead = changed != null ? dataBlocks(changed, blocks) : dataBlocks(source.dataExtents(), blocks);
        BlockHashes current = changed != null ? previous.resized(blocks) : new BlockHashes(BLOCK_SIZE, blocks);
        source.willRead(runs(toRead, size));
        byte[] zeroHash = new byte[BlockHashes.HASH_BYTES];
        BlockSink writer = transport == null ? new QueueSink(target, BLOCK_SIZE) : new StreamSink(transport.open(target));
        // A target with a link of its own (an SSH host) counts what really crossed it; the
        // in-process queue only knows the bytes it handed over.
        long targetWireBefore = transport == null ? target.wireBytes() : -1;
        boolean finished = false;
        // Three threads: this one reads, the stage hashes and picks the blocks to send, the sink's writes.
        HashingStage hashing = new HashingStage(writer, previous, current, BLOCK_SIZE);
        try {
            for (int block = 0; block < blocks; block++) {
                if (cancelled.getAsBoolean()) {
                    throw new CancellationException("replication cancelled at block " + block + " of " + blocks);
                }
                long offset = (long) block * BLOCK_SIZE;
                int length = (int) Math.min(BLOCK_SIZE, size - offset);
                if (!toRead.get(block)) {
                    if (changed == null && !previous.same(block, zeroHash)) {
                        hashing.zero(offset, length);
                    }
                    continue;
                }
                ByteBuffer buffer = hashing.buffer();
                buffer.limit(length);
                source.read(offset, buffer);
                hashing.block(block, offset, buffer.flip());
                bytesRead += length;
                if ((block & 255) == 0) {
                    progress.report(offset, size);
                }
            }
            // The source's export can go while the last blocks are hashed, written and flushed.
            source.readsDone();
            hashing.finish();
            writer.finish();
            finished = true;
            hashing.recycle();
        } finally {
            if (!finished) {
                // The stage stops first: the sink is then used by this thread alone.
                hashing.close();
                writer.abort();
            }
        }
        target.flush();
        long wireBytes = targetWireBefore >= 0 ? target.wireBytes() - targetWireBefore : writer.wireBytes();
        current.save(stateFile);
        source.complete();
        progress.report(size, size);
        return new Stats(size, blocks, hashing.sent(), hashing.zerosSent(), bytesRead, writer.payloadBytes(), wireBytes,
                (System.nanoTime() - started) / 1_000_000, incremental);
    }

    private static BlockHashes fingerprint(BlockTarget target, int blocks, MessageDigest digest, BooleanSupplier cancelled) throws IOException {
        BlockHashes hashes = new BlockHashes(BLOCK_SIZE, blocks);
        long size = target.size();
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK_SIZE);
        byte[] hash = new byte[BlockHashes.HASH_BYTES];
        for (int block = 0; block < blocks && (long) block * BLOCK_SIZE < size; block++) {
            if (cancelled.getAsBoolean()) {
                throw new CancellationException("replication cancelled");
            }
            buffer.clear().limit((int) Math.min(BLOCK_SIZE, size - (long) block * BLOCK_SIZE));
            target.read((long) block * BLOCK_SIZE, buffer);
            buffer.flip();
            hashes.set(block, BlockHashes.hash(digest, buffer, hash));
        }
        return hashes;
    }

    private static BitSet dataBlocks(List<BlockSource.Extent> extents, int blocks) {
        BitSet bits = new BitSet(blocks);
        for (BlockSource.Extent extent : extents) {
            int first = (int) (extent.offset() / BLOCK_SIZE);
            int last = (int) Math.min(blocks, (extent.end() + BLOCK_SIZE - 1) / BLOCK_SIZE);
            bits.set(first, Math.max(first, last));
        }
        return bits;
    }

    /** The blocks to read as byte ranges, adjacent blocks merged, the last one clipped to the disk's size. */
    private static List<BlockSource.Extent> runs(BitSet blocks, long size) {
        List<BlockSource.Extent> runs = new java.util.ArrayList<>();
        for (int first = blocks.nextSetBit(0); first >= 0; first = blocks.nextSetBit(first)) {
            int end = blocks.nextClearBit(first);
            long offset = (long) first * BLOCK_SIZE;
            runs.add(new BlockSource.Extent(offset, Math.min(size, (long) end * BLOCK_SIZE) - offset));
            first = end;
        }
        return runs;
    }

    private static void await(CompletableFuture<Long> received) throws IOException {
        try {
            received.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while the destination applied blocks", e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof UncheckedIOException unchecked) {
                throw unchecked.getCause();
            }
            throw new IOException("the destination failed to apply blocks: " + cause.getMessage(), cause);
        }
    }

    /** The encoded stream over a transport: DEFLATE-compressed frames. */
    private static final class StreamSink implements BlockSink {
        private final Transport.Channel channel;
        private final BlockStream.Writer writer;

        StreamSink(Transport.Channel channel) {
            this.channel = channel;
            this.writer = new BlockStream.Writer(channel.out());
        }

        @Override
        public void data(long offset, ByteBuffer block) throws IOException {
            writer.data(offset, block);
        }

        @Override
        public void zero(long offset, int length) throws IOException {
            writer.zero(offset, length);
        }

        @Override
        public void finish() throws IOException {
            writer.close();
            await(channel.received());
        }

        @Override
        public void abort() {
            // Ends the receiver: it sees a broken stream and stops.
            try {
                channel.out().close();
            } catch (IOException ignored) {
                // Already closed by a failed receiver.
            }
            try {
                channel.received().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException ignored) {
                // The original failure is what matters.
            }
        }

        @Override
        public long wireBytes() {
            return writer.wireBytes();
        }

        @Override
        public long payloadBytes() {
            return writer.payloadBytes();
        }
    }

    /** A pipe into a virtual thread that applies the encoded frames to the target (the stream format without a network). */
    public static Transport.Channel pipe(BlockTarget target) throws IOException {
        PipedInputStream in = new PipedInputStream(PIPE_BUFFER);
        PipedOutputStream out = new PipedOutputStream(in);
        CompletableFuture<Long> received = new CompletableFuture<>();
        Thread.ofVirtual().name("block-receiver").start(() -> {
            try (InputStream stream = in) {
                received.complete(BlockStream.apply(stream, target));
            } catch (IOException e) {
                received.completeExceptionally(new UncheckedIOException(e));
            } catch (RuntimeException e) {
                received.completeExceptionally(e);
            }
        });
        return new Transport.Channel(out, received);
    }
}
