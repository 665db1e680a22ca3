package io.strata.migration.disk;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * A raw disk image file, as a source (its data extents from {@code qemu-img map}, so holes are
 * never read) or as a sparse target (zeros become holes, never written bytes).
 * <p>
 * As a target it starts writing back what it was given in the background, after its first
 * {@value #FIRST_WRITEBACK_BYTES} bytes and then every twice as many, up to every
 * {@value #WRITEBACK_BYTES}: otherwise the kernel keeps a whole copy dirty in memory and
 * {@link #flush} writes all of it at the end (0.6-0.9 s per GiB on this host's disk, after the copy instead of
 * during it). One background write-back at a time; its failure is reported by the next flush
 * (Linux reports a failed write-back once: a later fsync may succeed on lost data).
 */
public final class RawDisk implements BlockSource, BlockTarget {
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();
    static final long WRITEBACK_BYTES = 64 << 20;
    static final long FIRST_WRITEBACK_BYTES = 2 << 20;

    private final Path file;
    private final FileChannel channel;
    private final boolean deleteOnClose;
    /** Bytes written since the last background write-back started (by the one thread that writes). */
    private long unflushed;
    /**
     * Bytes after which the next background write-back starts: {@value #FIRST_WRITEBACK_BYTES} at
     * first, doubling up to {@value #WRITEBACK_BYTES}. An incremental execution writes a few MiB
     * in all; written back from the first MiBs on, while the reads go on, they are mostly on the
     * disk when the final flush comes, instead of all of them being written by it.
     */
    private long writebackAfter = FIRST_WRITEBACK_BYTES;
    private volatile CompletableFuture<Void> writeback = CompletableFuture.completedFuture(null);

    private RawDisk(Path file, FileChannel channel, boolean deleteOnClose) {
        this.file = file;
        this.channel = channel;
        this.deleteOnClose = deleteOnClose;
    }

    public static RawDisk openForReading(Path file) throws IOException {
        return new RawDisk(file, FileChannel.open(requireNonNull(file, "file is null"), StandardOpenOption.READ), false);
    }

    /** A scratch copy of a disk (a download, a conversion) that goes away when closed. */
    public static RawDisk openTemporary(Path file) throws IOException {
        return new RawDisk(file, FileChannel.open(requireNonNull(file, "file is null"), StandardOpenOption.READ), true);
    }

    public static RawDisk openForWriting(Path file) throws IOException {
        return new RawDisk(file, FileChannel.open(requireNonNull(file, "file is null"), StandardOpenOption.READ, StandardOpenOption.WRITE,
                StandardOpenOption.CREATE), false);
    }

    public Path file() {
        return file;
    }

    @Override
    public long size() {
        try {
            return channel.size();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Override
    public List<Extent> dataExtents() throws IOException {
        return QemuImg.dataExtents(file, "raw");
    }

    @Override
    public void read(long offset, ByteBuffer into) throws IOException {
        while (into.hasRemaining()) {
            int n = channel.read(into, offset);
            if (n < 0) {
                while (into.hasRemaining()) {
                    into.put((byte) 0);
                }
                return;
            }
            offset += n;
        }
    }

    @Override
    public void resize(long newSize) throws IOException {
        if (newSize < channel.size()) {
            channel.truncate(newSize);
        } else if (newSize > channel.size()) {
            // Writing the last byte extends the file sparsely.
            channel.write(ByteBuffer.wrap(new byte[1]), newSize - 1);
        }
    }

    @Override
    public void write(long offset, ByteBuffer data) throws IOException {
        int length = data.remaining();
        while (data.hasRemaining()) {
            offset += channel.write(data, offset);
        }
        written(length);
    }

    @Override
    public void zero(long offset, int length) throws IOException {
        // Java cannot punch holes; writing zeros keeps the content right (qemu-img can re-sparsify).
        long end = offset + length;
        while (offset < end) {
            ByteBuffer zeros = ZEROS.duplicate();
            zeros.limit((int) Math.min(zeros.capacity(), end - offset));
            offset += channel.write(zeros, offset);
        }
        written(length);
    }

    /**
     * Starts a background write-back once enough was written and the previous one is done; none
     * after one failed (the flush reports that failure).
     */
    private void written(long length) {
        unflushed += length;
        if (unflushed >= writebackAfter && writeback.isDone() && !writeback.isCompletedExceptionally()) {
            unflushed = 0;
            writebackAfter = Math.min(WRITEBACK_BYTES, writebackAfter * 2);
            CompletableFuture<Void> started = new CompletableFuture<>();
            Thread.ofVirtual().name("raw-disk-writeback").start(() -> {
                try {
                    channel.force(false);
                    started.complete(null);
                } catch (IOException | RuntimeException e) {
                    started.completeExceptionally(e);
                }
            });
            writeback = started;
        }
    }

    /** Waits for the background write-back; its failure, if any. */
    private void awaitWriteback() throws IOException {
        try {
            writeback.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while " + file + " was written back");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException("cannot write back " + file + ": " + e.getCause(), e.getCause());
        }
    }

    @Override
    public void flush() throws IOException {
        awaitWriteback();
        channel.force(false);
    }

    @Override
    public void close() throws IOException {
        try {
            // Not reported here: a caller that needs the bytes durable has called flush.
            writeback.handle((done, failure) -> null).get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
        channel.close();
        if (deleteOnClose) {
            java.nio.file.Files.deleteIfExists(file);
        }
    }
}
