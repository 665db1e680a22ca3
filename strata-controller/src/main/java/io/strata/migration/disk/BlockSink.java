package io.strata.migration.disk;

import java.io.IOException;
import java.nio.ByteBuffer;

/** Where the replicator sends the blocks to write: an encoded stream, or a queue into a writer thread. */
interface BlockSink {
    /** Sends a block's bytes; the buffer may be reused by the caller once this returns. */
    void data(long offset, ByteBuffer block) throws IOException;

    /**
     * Sends a block's bytes and gives its buffer up until {@code release} gets it back (perhaps
     * on another thread, once the block is written): a sink that queues blocks then keeps the
     * caller's buffer instead of copying it. By default it is sent as {@link #data} and given back at once.
     */
    default void handOver(long offset, ByteBuffer block, java.util.function.Consumer<ByteBuffer> release) throws IOException {
        data(offset, block);
        release.accept(block);
    }

    void zero(long offset, int length) throws IOException;

    /** Ends the blocks and waits until the destination has them all. */
    void finish() throws IOException;

    /** Stops the receiving side after a failure or a cancellation; never throws. */
    void abort();

    /** Bytes sent, headers included. */
    long wireBytes();

    /** Bytes of disk content sent. */
    long payloadBytes();
}
