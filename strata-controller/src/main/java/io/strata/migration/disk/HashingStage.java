package io.strata.migration.disk;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The replicator's middle stage, on its own thread: fingerprints the blocks the reading thread
 * hands over, records them in the new fingerprints and passes those that differ from the
 * previous execution's to the sink. SHA-256 costs about 0.7 s of CPU per GiB here; on the
 * reading thread it stalled the reads (an NBD source's read-ahead window ran dry while it
 * hashed), here it runs while the next blocks arrive. Every call to the sink is made from this
 * thread, in the order the blocks were handed over. Buffers circulate through a free list.
 */
final class HashingStage implements AutoCloseable {
    private static final int DEPTH = 16;
    /**
     * Buffers at most: those in this stage's queue, and those a {@link QueueSink} holds until it
     * has written them (it is handed the buffers themselves, not copies).
     */
    private static final int BUFFERS = DEPTH + QueueSink.DEPTH;

    /** A block to hash (data non-null) or a range to zero (data null), or the end. */
    private record Item(int block, long offset, int length, ByteBuffer data, boolean end) {}

    private final BlockingQueue<Item> items = new ArrayBlockingQueue<>(DEPTH + 1);
    /** Filled by this stage's thread and, for the buffers handed over, by the sink's writer. */
    private final BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(BUFFERS);
    private final int blockSize;
    /** Buffers made so far (by the reading thread), at most {@value #BUFFERS}: made when needed. */
    private int allocated;
    private final CompletableFuture<Void> done = new CompletableFuture<>();
    private final Thread thread;
    /** Written by the stage's thread; read after {@link #finish} returned. */
    private int sent;
    private int zerosSent;

    HashingStage(BlockSink sink, BlockHashes previous, BlockHashes current, int blockSize) {
        this.blockSize = blockSize;
        MessageDigest digest = BlockHashes.digest();
        thread = Thread.ofPlatform().daemon().name("block-hasher").start(() -> {
            byte[] hash = new byte[BlockHashes.HASH_BYTES];
            byte[] zeroHash = new byte[BlockHashes.HASH_BYTES];
            try {
                while (true) {
                    Item item = items.take();
                    if (item.end()) {
                        done.complete(null);
                        return;
                    }
                    if (item.data() == null) {
                        sink.zero(item.offset(), item.length());
                        zerosSent++;
                        continue;
                    }
                    BlockHashes.hash(digest, item.data(), hash);
                    current.set(item.block(), hash);
                    if (!previous.same(item.block(), hash)) {
                        if (Arrays.equals(hash, zeroHash)) {
                            sink.zero(item.offset(), item.length());
                            zerosSent++;
                        } else {
                            // The sink gives the buffer back once done with it (the writer thread, after writing).
                            sink.handOver(item.offset(), item.data(), free::add);
                            sent++;
                            continue;
                        }
                    }
                    free.add(item.data());
                }
            } catch (InterruptedException e) {
                done.completeExceptionally(new InterruptedIOException("block hasher stopped"));
            } catch (IOException | RuntimeException e) {
                done.completeExceptionally(e);
            }
        });
    }

    /** A buffer to read the next block into (its capacity is one block), once one is free. */
    ByteBuffer buffer() throws IOException {
        ByteBuffer spare = free.poll();
        if (spare != null) {
            return spare.clear();
        }
        if (allocated < BUFFERS) {
            allocated++;
            return blockSize == BlockBuffers.SIZE ? BlockBuffers.take() : ByteBuffer.allocateDirect(blockSize);
        }
        try {
            while (true) {
                ByteBuffer buffer = free.poll(100, TimeUnit.MILLISECONDS);
                if (buffer != null) {
                    return buffer.clear();
                }
                check();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while blocks were hashed");
        }
    }

    /** Hands over a block read into a buffer from {@link #buffer}, flipped; the buffer is not the caller's any more. */
    void block(int block, long offset, ByteBuffer data) throws IOException {
        put(new Item(block, offset, data.remaining(), data, false));
    }

    /** A range the destination must hold as zeros, passed on to the sink as is. */
    void zero(long offset, int length) throws IOException {
        put(new Item(-1, offset, length, null, false));
    }

    /** Waits until every block handed over is hashed and passed on. */
    void finish() throws IOException {
        put(new Item(-1, 0, 0, null, true));
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while blocks were hashed");
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    /**
     * Gives the buffers back for the next execution; only once the sink has written every block
     * it was handed (it gives the buffers back to this stage), after {@link #finish}.
     */
    void recycle() {
        for (ByteBuffer buffer = free.poll(); buffer != null; buffer = free.poll()) {
            BlockBuffers.give(buffer);
        }
    }

    /** Blocks passed on to the sink as data; valid after {@link #finish}. */
    int sent() {
        return sent;
    }

    /** Blocks and ranges passed on to the sink as zeros; valid after {@link #finish}. */
    int zerosSent() {
        return zerosSent;
    }

    /**
     * Stops the thread after a failure or a cancellation and waits for it: the sink is then the
     * caller's again. Blocks already handed over (at most {@value #DEPTH}) are passed on first,
     * so the destination holds everything read before a cancel, as it did when this thread did
     * not exist.
     */
    @Override
    public void close() {
        try {
            if (!done.isDone() && items.offer(new Item(-1, 0, 0, null, true), 1, TimeUnit.SECONDS)) {
                thread.join(TimeUnit.SECONDS.toMillis(30));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            thread.interrupt();
            try {
                thread.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void put(Item item) throws IOException {
        check();
        try {
            while (!items.offer(item, 100, TimeUnit.MILLISECONDS)) {
                check();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while blocks were hashed");
        }
    }

    /** Fails at once when the stage has failed (the sink refused a block, or the hash failed). */
    private void check() throws IOException {
        if (done.isCompletedExceptionally()) {
            try {
                done.get();
            } catch (InterruptedException | ExecutionException e) {
                throw failure(e instanceof ExecutionException ? e.getCause() : e);
            }
        }
    }

    private static IOException failure(Throwable cause) {
        return cause instanceof IOException io ? io : new IOException("hashing blocks failed: " + cause.getMessage(), cause);
    }
}
