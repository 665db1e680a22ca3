package io.strata.migration.host;

import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A raw image on an SSH host, read and written through {@code dd} streams rather than one round
 * trip per block: a reader stays open while reads move forward (short gaps are read and dropped,
 * long ones reopen it at the new offset), and a writer stays open while writes are contiguous.
 * Replication reads and writes in ascending order, so a full copy is one stream each way.
 * Closing the disk closes the SSH session it was opened on.
 */
final class SshRawDisk implements BlockSource, BlockTarget {
    /** Below this gap, reading on is cheaper than a new channel and a new dd. */
    private static final long SKIP_LIMIT = 8L << 20;
    private static final byte[] ZEROS = new byte[64 * 1024];

    private final SshHost host;
    private final Path file;
    private final boolean deleteOnClose;
    private final String quoted;
    private SshHost.Exec reader;
    private long readerPosition;
    private SshHost.Exec writer;
    private long writerPosition;
    private byte[] transfer = new byte[0];

    SshRawDisk(SshHost host, Path file, boolean deleteOnClose) {
        this.host = host;
        this.file = file;
        this.deleteOnClose = deleteOnClose;
        this.quoted = SshHost.quote(file);
    }

    @Override
    public long size() {
        try {
            closeWriter();
            return host.size(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public List<Extent> dataExtents() throws IOException {
        return host.dataExtents(file);
    }

    @Override
    public void read(long offset, ByteBuffer into) throws IOException {
        closeWriter();
        if (reader == null || offset < readerPosition || offset - readerPosition > SKIP_LIMIT) {
            closeReader();
            reader = host.start("dd if=" + quoted + " bs=256K iflag=skip_bytes skip=" + offset + " status=none");
            reader.stdin().close();
            readerPosition = offset;
        }
        reader.stdout().skipNBytes(offset - readerPosition);
        readerPosition = offset;
        int length = into.remaining();
        byte[] bytes = buffer(length);
        int read = reader.stdout().readNBytes(bytes, 0, length);
        readerPosition += read;
        // Past the end of the file reads as zeros, as a guest would see a shorter disk.
        Arrays.fill(bytes, read, length, (byte) 0);
        into.put(bytes, 0, length);
    }

    @Override
    public void write(long offset, ByteBuffer data) throws IOException {
        closeReader();
        if (writer == null || offset != writerPosition) {
            closeWriter();
            writer = host.start("dd of=" + quoted + " bs=256K oflag=seek_bytes seek=" + offset + " conv=notrunc status=none");
            writerPosition = offset;
        }
        int length = data.remaining();
        byte[] bytes = buffer(length);
        data.get(bytes, 0, length);
        writer.stdin().write(bytes, 0, length);
        writerPosition += length;
    }

    @Override
    public void zero(long offset, int length) throws IOException {
        for (int done = 0; done < length; done += ZEROS.length) {
            write(offset + done, ByteBuffer.wrap(ZEROS, 0, Math.min(ZEROS.length, length - done)));
        }
    }

    @Override
    public void resize(long newSize) throws IOException {
        closeWriter();
        host.run("truncate -s " + newSize + " " + quoted);
    }

    @Override
    public void flush() throws IOException {
        closeWriter();
        host.run("sync " + quoted);
    }

    private byte[] buffer(int length) {
        if (transfer.length < length) {
            transfer = new byte[length];
        }
        return transfer;
    }

    private void closeReader() {
        if (reader != null) {
            // Dropping the channel ends the remote dd (SIGPIPE); what it had not sent is not needed.
            reader.close();
            reader = null;
        }
    }

    /** Ends the writer's input and waits for dd to exit, so that its writes are in the file. */
    private void closeWriter() throws IOException {
        if (writer == null) {
            return;
        }
        SshHost.Exec closing = writer;
        writer = null;
        try (closing) {
            closing.stdin().close();
            closing.stdout().readAllBytes();
            closing.finish();
        }
    }

    @Override
    public void close() throws IOException {
        try {
            closeReader();
            closeWriter();
            if (deleteOnClose) {
                host.run("rm -f " + quoted);
            }
        } finally {
            host.close();
        }
    }
}
