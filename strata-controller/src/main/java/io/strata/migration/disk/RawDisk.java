package io.strata.migration.disk;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A raw disk image file, as a source (its data extents from {@code qemu-img map}, so holes are
 * never read) or as a sparse target (zeros become holes, never written bytes).
 */
public final class RawDisk implements BlockSource, BlockTarget {
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(1 << 20).asReadOnlyBuffer();

    private final Path file;
    private final FileChannel channel;
    private final boolean deleteOnClose;

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
        while (data.hasRemaining()) {
            offset += channel.write(data, offset);
        }
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
    }

    @Override
    public void flush() throws IOException {
        channel.force(false);
    }

    @Override
    public void close() throws IOException {
        channel.close();
        if (deleteOnClose) {
            java.nio.file.Files.deleteIfExists(file);
        }
    }
}
