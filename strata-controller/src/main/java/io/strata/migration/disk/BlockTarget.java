package io.strata.migration.disk;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/** A destination disk that replicated blocks are written into. */
public interface BlockTarget extends Closeable {
    long size() throws IOException;

    void resize(long newSize) throws IOException;

    void write(long offset, ByteBuffer data) throws IOException;

    /** Makes a range read as zeros (a hole where the file system allows). */
    void zero(long offset, int length) throws IOException;

    void read(long offset, ByteBuffer into) throws IOException;

    /** Makes everything written durable. */
    void flush() throws IOException;

    /**
     * Bytes this target has put on its own link for the writes so far (compressed frames and
     * their headers), or -1 when writes cross no link (a file of this worker).
     */
    default long wireBytes() {
        return -1;
    }
}
