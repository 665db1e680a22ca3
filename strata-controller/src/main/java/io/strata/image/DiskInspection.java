package io.strata.image;

import java.nio.ByteBuffer;

/**
 * What the first bytes of image data say: qcow2 (with its virtual size and whether it is safe to
 * hand to QEMU) or anything else, which Strata treats as raw. Like Glance's format inspector, this
 * catches a qcow2 that names a backing file or an external data file: QEMU would open that host
 * file on the image owner's behalf.
 *
 * @param format "qcow2" or "raw"
 * @param virtualSize the disk size the qcow2 header declares; null for raw (its size is its data size)
 * @param unsafeReason why the data must not be used as a disk, or null when it may
 */
public record DiskInspection(String format, Long virtualSize, String unsafeReason) {
    /** Bytes of the head of the data that {@link #of} needs (qcow2 v3 header with features). */
    public static final int HEAD_BYTES = 512;

    private static final int QCOW_MAGIC = 0x514649fb;
    private static final long QCOW_INCOMPATIBLE_DATA_FILE = 1L << 2;

    public static DiskInspection of(byte[] head, int length) {
        if (length < 32) {
            return new DiskInspection("raw", null, null);
        }
        ByteBuffer header = ByteBuffer.wrap(head, 0, length);
        if (header.getInt(0) != QCOW_MAGIC) {
            return new DiskInspection("raw", null, null);
        }
        int version = header.getInt(4);
        long backingFileOffset = header.getLong(8);
        long virtualSize = header.getLong(24);
        String unsafe = null;
        if (backingFileOffset != 0) {
            unsafe = "qcow2 image names a backing file";
        } else if (version >= 3 && length >= 80 && (header.getLong(72) & QCOW_INCOMPATIBLE_DATA_FILE) != 0) {
            unsafe = "qcow2 image names an external data file";
        } else if (version < 2 || version > 3 || virtualSize < 0) {
            unsafe = "qcow2 header is not valid";
        }
        return new DiskInspection("qcow2", virtualSize, unsafe);
    }
}
