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

    /** A byte range of a disk. */
    record Extent(long offset, long length) {
        public long end() {
            return offset + length;
        }
    }
}
