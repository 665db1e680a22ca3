package io.strata.migration.disk;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;

/** A disk's content as a source of blocks: its size, where data lies, and random reads. */
public interface BlockSource extends Closeable {
    long size();

    /** Extents holding data; everything outside them reads as zeros and is never read. */
    List<Extent> dataExtents() throws IOException;

    /** Reads {@code into.remaining()} bytes at {@code offset} (zeros past the end). */
    void read(long offset, ByteBuffer into) throws IOException;

    /**
     * Extents changed since the previous successful replication, when the source tracks changes
     * (QEMU dirty bitmaps); null when it does not, and every block must be read and compared.
     */
    default List<Extent> changedExtents() throws IOException {
        return null;
    }

    /**
     * The ranges the following reads will cover, ascending: a source that can fetch ahead (NBD)
     * does. Reads elsewhere stay correct, only slower.
     */
    default void willRead(List<Extent> extents) throws IOException {}

    /**
     * Called once every block has been read, while the destination may still be writing and
     * flushing: a source can start releasing what served the reads (an export, its connections)
     * meanwhile. No read follows; {@link #complete} and {@code close} still come, and a failure
     * of that release is reported by {@code close}.
     */
    default void readsDone() {}

    /** Called once the destination holds this view of the disk: change tracking moves on. */
    default void complete() {}

    /** A byte range of a disk. */
    record Extent(long offset, long length) {
        public long end() {
            return offset + length;
        }
    }
}
