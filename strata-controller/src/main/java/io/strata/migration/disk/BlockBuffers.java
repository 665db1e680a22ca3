package io.strata.migration.disk;

import java.nio.ByteBuffer;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * The replications' 64 KiB direct buffers, kept for the next execution of this process (a worker
 * runs one after another). An execution uses ~100 of them (the reads ahead, the hashing stage's,
 * the writer's); made anew each time they cost 2.4-14 ms here on 2 busy cores (zeroed memory,
 * page faults on its first touch), a sizeable part of an incremental execution that reads 1 % of
 * a disk in ~60 ms. At most {@value #KEPT} are kept (8 MiB); more are left to the collector.
 * A buffer is given back only once nothing reads or writes it any more.
 */
final class BlockBuffers {
    static final int SIZE = DiskReplicator.BLOCK_SIZE;
    private static final int KEPT = 128;
    private static final BlockingQueue<ByteBuffer> KEPT_BUFFERS = new ArrayBlockingQueue<>(KEPT);

    private BlockBuffers() {}

    /** A cleared buffer of {@link #SIZE} bytes: one kept, or a new one. */
    static ByteBuffer take() {
        ByteBuffer kept = KEPT_BUFFERS.poll();
        return kept != null ? kept.clear() : ByteBuffer.allocateDirect(SIZE);
    }

    /** Keeps a buffer from {@link #take} that nothing uses any more (dropped when enough are kept). */
    static void give(ByteBuffer buffer) {
        if (buffer.isDirect() && buffer.capacity() == SIZE) {
            KEPT_BUFFERS.offer(buffer);
        }
    }
}
