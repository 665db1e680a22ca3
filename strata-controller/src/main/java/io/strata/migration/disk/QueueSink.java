package io.strata.migration.disk;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * Both ends in this process: blocks go through a bounded queue to a thread that writes them into
 * the target, so reading and hashing the source overlaps with writing the destination. Nothing
 * is encoded or compressed (there is no wire); buffers circulate through a free list, so a full
 * copy allocates nothing per block. When the target is remote (an SSH host), it compresses what
 * it sends itself (gzip frames) and counts its own wire bytes.
 */
final class QueueSink implements BlockSink {
    /** Blocks queued at most; a caller handing its buffers over should have this many more of them. */
    static final int DEPTH = 64;

    /** A block (data non-null; given back to {@code release} once written, when not null) or a range to zero, or the end. */
    private record Frame(long offset, int length, ByteBuffer data, java.util.function.Consumer<ByteBuffer> release, boolean end) {}

    private final BlockingQueue<Frame> frames = new ArrayBlockingQueue<>(DEPTH + 1);
    private final BlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(DEPTH);
    private final int blockSize;
    /** Buffers made so far (by the one thread that hands blocks over), at most {@value #DEPTH}. */
    private int allocated;
    private final CompletableFuture<Void> written = new CompletableFuture<>();
    private final Thread writer;
    private volatile boolean aborted;
    private long wireBytes;
    private long payloadBytes;

    QueueSink(BlockTarget target, int blockSize) {
        // Buffers are made when needed: an incremental execution that sends a few blocks does not
        // zero 4 MiB of direct memory first (5-35 ms here on a busy host, with the stage's).
        this.blockSize = blockSize;
        writer = Thread.ofPlatform().daemon().name("block-writer").start(() -> {
            try {
                while (true) {
                    Frame frame = frames.take();
                    if (frame.end()) {
                        written.complete(null);
                        return;
                    }
                    if (frame.data() == null) {
                        target.zero(frame.offset(), frame.length());
                    } else {
                        target.write(frame.offset(), frame.data());
                        if (frame.release() != null) {
                            frame.release().accept(frame.data());
                        } else {
                            free.add(frame.data());
                        }
                    }
                }
            } catch (InterruptedException e) {
                written.completeExceptionally(new InterruptedIOException("block writer stopped"));
            } catch (IOException | RuntimeException e) {
                written.completeExceptionally(e);
            }
        });
    }

    @Override
    public void data(long offset, ByteBuffer block) throws IOException {
        ByteBuffer copy = free.poll();
        if (copy == null && allocated < DEPTH) {
            allocated++;
            copy = ByteBuffer.allocateDirect(blockSize);
        } else if (copy == null) {
            copy = take(free);
        }
        copy.clear();
        copy.put(block.duplicate()).flip();
        // Counted before the hand-off: from then on the writer thread consumes the buffer.
        int length = copy.remaining();
        wireBytes += length;
        payloadBytes += length;
        put(new Frame(offset, length, copy, null, false));
    }

    /** Queues the caller's buffer itself: no copy (1 GiB of memory copied per GiB of a full copy, on 2 busy cores). */
    @Override
    public void handOver(long offset, ByteBuffer block, java.util.function.Consumer<ByteBuffer> release) throws IOException {
        checkWriter();
        int length = block.remaining();
        wireBytes += length;
        payloadBytes += length;
        put(new Frame(offset, length, block, release, false));
    }

    @Override
    public void zero(long offset, int length) throws IOException {
        put(new Frame(offset, length, null, null, false));
        payloadBytes += length;
    }

    @Override
    public void finish() throws IOException {
        put(new Frame(0, 0, null, null, true));
        try {
            written.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the destination was written");
        } catch (ExecutionException e) {
            throw failure(e.getCause());
        }
    }

    @Override
    public void abort() {
        aborted = true;
        try {
            // Blocks already queued are written (at most DEPTH of them), so the destination holds
            // everything read before the cancel; the next execution fingerprints it anyway.
            if (frames.offer(new Frame(0, 0, null, null, true), 1, TimeUnit.SECONDS)) {
                writer.join(TimeUnit.SECONDS.toMillis(30));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            writer.interrupt();
        }
    }

    /** Waits for a free buffer or queue slot, failing at once when the writer has failed. */
    private <T> T take(BlockingQueue<T> queue) throws IOException {
        try {
            while (true) {
                T item = queue.poll(100, TimeUnit.MILLISECONDS);
                if (item != null) {
                    return item;
                }
                checkWriter();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the destination was written");
        }
    }

    private void put(Frame frame) throws IOException {
        try {
            while (!frames.offer(frame, 100, TimeUnit.MILLISECONDS)) {
                checkWriter();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while the destination was written");
        }
    }

    private void checkWriter() throws IOException {
        if (aborted) {
            throw new IOException("the block writer was stopped");
        }
        if (written.isCompletedExceptionally()) {
            try {
                written.get();
            } catch (InterruptedException | ExecutionException e) {
                throw failure(e instanceof ExecutionException ? e.getCause() : e);
            }
        }
    }

    private static IOException failure(Throwable cause) {
        return cause instanceof IOException io ? io : new IOException("the destination failed to apply blocks: " + cause.getMessage(), cause);
    }

    @Override
    public long wireBytes() {
        return wireBytes;
    }

    @Override
    public long payloadBytes() {
        return payloadBytes;
    }
}
