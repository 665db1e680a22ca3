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
 * A raw image on an SSH host, read and written through {@code dd} rather than one round trip per
 * block: a reader stays open while reads move forward (short gaps are read and dropped, long ones
 * reopen it at the new offset). Writes go to one long-lived remote loop that reads frames
 * ("OFFSET LENGTH" line, then the bytes) and writes each with a {@code dd} of exactly that many
 * bytes; contiguous writes are gathered into frames of up to {@value #FRAME} bytes, so a full copy
 * costs a process per 8 MiB and a sparse incremental one a process per run of changed blocks, on
 * one channel (a new channel costs an sshd fork and round trips). Closing the disk hands the SSH
 * connection back.
 */
final class SshRawDisk implements BlockSource, BlockTarget {
    /** Below this gap, reading on is cheaper than a new channel and a new dd. */
    private static final long SKIP_LIMIT = 8L << 20;
    private static final byte[] ZEROS = new byte[64 * 1024];
    static final int FRAME = 8 << 20;

    private final SshHost host;
    private final Path file;
    private final boolean deleteOnClose;
    private final String quoted;
    private SshHost.Exec reader;
    private long readerPosition;
    private SshHost.Exec writer;
    /** Contiguous bytes not yet sent, starting at {@code pendingOffset}. */
    private final java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();
    private long pendingOffset;
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
        if (pending.size() > 0 && (offset != pendingOffset + pending.size() || pending.size() >= FRAME)) {
            sendFrame();
        }
        if (pending.size() == 0) {
            pendingOffset = offset;
        }
        int length = data.remaining();
        byte[] bytes = buffer(length);
        data.get(bytes, 0, length);
        pending.write(bytes, 0, length);
    }

    /** Sends the gathered bytes as one frame to the remote write loop (started on first use). */
    private void sendFrame() throws IOException {
        if (writer == null) {
            // sh's read takes the header line byte by byte; dd with iflag=fullblock and count=1 then
            // reads exactly LENGTH bytes, so the next header is where the loop reads next.
            writer = host.start("while read -r off len; do dd of=" + quoted
                    + " bs=\"$len\" count=1 iflag=fullblock oflag=seek_bytes seek=\"$off\" conv=notrunc status=none || exit 1; done");
        }
        writer.stdin().write((pendingOffset + " " + pending.size() + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        pending.writeTo(writer.stdin());
        pending.reset();
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

    /** Sends what is gathered, ends the loop's input and waits for it to exit, so that every write is in the file. */
    private void closeWriter() throws IOException {
        if (pending.size() > 0) {
            sendFrame();
        }
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
