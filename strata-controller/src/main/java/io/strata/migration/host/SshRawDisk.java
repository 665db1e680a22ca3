package io.strata.migration.host;

import io.strata.migration.disk.BlockSource;
import io.strata.migration.disk.BlockTarget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A raw image on an SSH host, read and written through {@code dd} rather than one round trip per
 * block: a reader stays open while reads move forward (short gaps are read and dropped, long ones
 * reopen it at the new offset). Writes go to one long-lived remote loop that reads frames
 * ("OFFSET LENGTH WIRE KIND" line, then WIRE bytes) on one channel (a new channel costs an sshd
 * fork and round trips). Contiguous writes are gathered into runs, and runs into batches of up
 * to {@value #FRAME} bytes. A batch that compresses goes as one frame of KIND {@code gz}: a gzip
 * member made here ({@link GzipFrames}) holding each run as an "OFFSET LENGTH" line and its
 * bytes, unpacked there by {@code gzip -dc} into an inner loop with a {@code dd} per run; one
 * that does not (encrypted or compressed data), or any batch with compression turned off, goes
 * as a {@code raw} frame per run, written by one {@code dd} each. So a full copy costs a few
 * processes per 8 MiB, and a sparse incremental one a {@code dd} per run of changed blocks plus
 * a few per batch. This is compression of what the worker sends without SSH's own: JSch's
 * compressed sending is unsafe under AEAD ciphers (see {@link SshHost#connect}).
 * Closing the disk hands the SSH connection back.
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
    /** The reader's bytes: its output, or that decoded from compressed frames. */
    private java.io.InputStream readerIn;
    private long readerPosition;
    private final boolean compressReads;
    /** Whether the host can send compressed frames (has Python 3); null until the first read. */
    private Boolean framedReads;
    private long readWireBytes;
    private SshHost.Exec writer;
    /** Bytes not yet sent, {@code pendingLength} of them: the runs' one after another. */
    private byte[] pending = new byte[0];
    private int pendingLength;
    /** Runs of contiguous writes gathered for the next batch. */
    private long[] runOffsets = new long[0];
    private int[] runLengths = new int[0];
    private int runCount;
    private byte[] transfer = new byte[0];
    /** Null: writes go uncompressed. */
    private final GzipFrames compressor;
    private long wireBytes;

    SshRawDisk(SshHost host, Path file, boolean deleteOnClose, boolean compressWrites, boolean compressReads) {
        this.host = host;
        this.compressReads = compressReads;
        this.file = file;
        this.deleteOnClose = deleteOnClose;
        this.quoted = SshHost.quote(file);
        this.compressor = compressWrites ? new GzipFrames() : null;
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
            String dd = "dd if=" + quoted + " bs=256K iflag=skip_bytes skip=" + offset + " status=none";
            if (framedReads == null) {
                framedReads = compressReads && host.hasPython3();
            }
            reader = host.start(framedReads ? dd + " | python3 -c " + SshHost.quote(ZlibReadFrames.FRAMER) : dd);
            reader.stdin().close();
            readerIn = framedReads ? new ZlibReadFrames(reader.stdout()) : reader.stdout();
            readerPosition = offset;
        }
        readerIn.skipNBytes(offset - readerPosition);
        readerPosition = offset;
        int length = into.remaining();
        byte[] bytes = buffer(length);
        int read = readerIn.readNBytes(bytes, 0, length);
        readerPosition += read;
        // Past the end of the file reads as zeros, as a guest would see a shorter disk.
        Arrays.fill(bytes, read, length, (byte) 0);
        into.put(bytes, 0, length);
    }

    @Override
    public void write(long offset, ByteBuffer data) throws IOException {
        closeReader();
        if (pendingLength >= FRAME) {
            sendBatch();
        }
        int length = data.remaining();
        if (pending.length < pendingLength + length) {
            pending = Arrays.copyOf(pending, Math.max(pendingLength + length, Math.min(2 * pending.length, FRAME + length)));
        }
        if (runCount > 0 && runOffsets[runCount - 1] + runLengths[runCount - 1] == offset) {
            runLengths[runCount - 1] += length;
        } else {
            if (runCount == runOffsets.length) {
                runOffsets = Arrays.copyOf(runOffsets, Math.max(16, 2 * runCount));
                runLengths = Arrays.copyOf(runLengths, Math.max(16, 2 * runCount));
            }
            runOffsets[runCount] = offset;
            runLengths[runCount] = length;
            runCount++;
        }
        data.get(pending, pendingLength, length);
        pendingLength += length;
    }

    /**
     * Sends the gathered runs to the remote write loop (started on first use): compressed, all of
     * them in one gzip member, each run inside it as an "OFFSET LENGTH" line and its bytes, so
     * that a sparse incremental copy pays the host's decompressing processes once per batch and
     * a {@code dd} per run, as a plain one does; otherwise each run as a raw frame.
     */
    private void sendBatch() throws IOException {
        if (writer == null) {
            writer = host.start(writeLoop(quoted));
        }
        int compressed = -1;
        if (compressor != null) {
            java.io.ByteArrayOutputStream runs = new java.io.ByteArrayOutputStream(pendingLength + 32 * runCount);
            for (int run = 0, start = 0; run < runCount; start += runLengths[run], run++) {
                runs.writeBytes((runOffsets[run] + " " + runLengths[run] + "\n").getBytes(StandardCharsets.US_ASCII));
                runs.write(pending, start, runLengths[run]);
            }
            byte[] batch = runs.toByteArray();
            compressed = compressor.compress(batch, batch.length);
        }
        if (compressed >= 0) {
            send("0 " + pendingLength + " " + compressed + " gz\n", compressor.output(), 0, compressed);
        } else {
            for (int run = 0, start = 0; run < runCount; start += runLengths[run], run++) {
                send(runOffsets[run] + " " + runLengths[run] + " " + runLengths[run] + " raw\n", pending, start, runLengths[run]);
            }
        }
        runCount = 0;
        pendingLength = 0;
    }

    private void send(String header, byte[] bytes, int start, int length) throws IOException {
        byte[] line = header.getBytes(StandardCharsets.US_ASCII);
        writer.stdin().write(line);
        writer.stdin().write(bytes, start, length);
        wireBytes += line.length + length;
    }

    /**
     * The remote loop that applies frames to the file. sh's read takes a header line byte by
     * byte; a dd with iflag=fullblock and count=1 then reads exactly WIRE bytes, so the next
     * header is where the loop reads next. A {@code raw} frame is LENGTH bytes for OFFSET. A
     * {@code gz} frame is a gzip member holding runs ("OFFSET LENGTH" line, then the bytes),
     * applied by an inner loop of the same kind (a header that is not two numbers stops it). A
     * pipeline's status is its last command's (POSIX sh has no pipefail), so gzip's own status
     * comes out on fd 3: a damaged member (gzip checks its CRC-32 and length) stops the loop and
     * fails the replication, whose next execution then fingerprints the destination rather than
     * trusting it.
     */
    static String writeLoop(String quotedFile) {
        String write = "dd of=" + quotedFile + " bs=\"$l\" count=1 iflag=fullblock oflag=seek_bytes seek=\"$o\" conv=notrunc status=none";
        return "while read -r off len wire kind; do case \"$kind\" in "
                + "gz) r=$( { { dd bs=\"$wire\" count=1 iflag=fullblock status=none | gzip -dc; echo $? >&3; } "
                + "| while read -r o l; do case \"$o$l\" in ''|*[!0-9]*) exit 1 ;; esac; " + write + " || exit 1; done; } 3>&1 ) "
                + "&& [ \"$r\" = 0 ] || exit 1 ;; "
                + "*) o=$off l=$len; " + write + " || exit 1 ;; esac; done";
    }

    /**
     * Bytes that came from the host in compressed read frames (headers included) since this disk
     * was opened, readers closed so far; 0 when reads go plain (for tests).
     */
    long readWireBytes() {
        return readWireBytes + (readerIn instanceof ZlibReadFrames frames ? frames.wireBytes() : 0);
    }

    /** Bytes sent to the host for writes, frame headers included, since this disk was opened. */
    @Override
    public long wireBytes() {
        return wireBytes;
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
            if (readerIn instanceof ZlibReadFrames frames) {
                readWireBytes += frames.wireBytes();
            }
            // Dropping the channel ends the remote dd (SIGPIPE); what it had not sent is not needed.
            reader.close();
            reader = null;
            readerIn = null;
        }
    }

    /** Sends what is gathered, ends the loop's input and waits for it to exit, so that every write is in the file. */
    private void closeWriter() throws IOException {
        if (runCount > 0) {
            sendBatch();
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
            if (compressor != null) {
                compressor.close();
            }
            host.close();
        }
    }
}
