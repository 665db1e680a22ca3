package io.strata.migration.disk;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The fingerprint of every block of a replicated disk as the destination holds it after an
 * execution: 128 bits of SHA-256 per block, all zeros for a block of zeros. The file says
 * whether the execution that wrote it completed; an incomplete one means the destination may
 * hold a mix of old and new blocks, so the next execution fingerprints the destination itself.
 */
public final class BlockHashes {
    static final int HASH_BYTES = 16;
    private static final int MAGIC = 0x53424831; // "SBH1"

    private final int blockSize;
    private final byte[] hashes;

    BlockHashes(int blockSize, int blocks) {
        this.blockSize = blockSize;
        this.hashes = new byte[blocks * HASH_BYTES];
    }

    private BlockHashes(int blockSize, byte[] hashes) {
        this.blockSize = blockSize;
        this.hashes = hashes;
    }

    int blockSize() {
        return blockSize;
    }

    int blocks() {
        return hashes.length / HASH_BYTES;
    }

    /** A copy resized to {@code blocks}; new blocks read as zeros. */
    BlockHashes resized(int blocks) {
        return new BlockHashes(blockSize, Arrays.copyOf(hashes, blocks * HASH_BYTES));
    }

    boolean same(int block, byte[] hash) {
        return Arrays.equals(hashes, block * HASH_BYTES, (block + 1) * HASH_BYTES, hash, 0, HASH_BYTES);
    }

    void set(int block, byte[] hash) {
        System.arraycopy(hash, 0, hashes, block * HASH_BYTES, HASH_BYTES);
    }

    static boolean isZero(ByteBuffer block) {
        ByteBuffer view = block.duplicate();
        while (view.remaining() >= 8) {
            if (view.getLong() != 0) {
                return false;
            }
        }
        while (view.hasRemaining()) {
            if (view.get() != 0) {
                return false;
            }
        }
        return true;
    }

    /** The fingerprint of a block's bytes; all zeros for a zero block. */
    static byte[] hash(MessageDigest digest, ByteBuffer block, byte[] into) {
        if (isZero(block)) {
            Arrays.fill(into, (byte) 0);
            return into;
        }
        digest.reset();
        digest.update(block.duplicate());
        byte[] full = digest.digest();
        System.arraycopy(full, 0, into, 0, HASH_BYTES);
        // A real hash of all zero bits would read as "zero block"; flip a bit, as a zero block is never hashed.
        if (Arrays.equals(into, new byte[HASH_BYTES])) {
            into[0] = 1;
        }
        return into;
    }

    static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** What a state file held: the hashes and whether the execution writing them completed. */
    record Loaded(BlockHashes hashes, boolean complete) {}

    static Loaded load(Path file) throws IOException {
        if (!Files.exists(file)) {
            return null;
        }
        try (InputStream raw = Files.newInputStream(file); DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw))) {
            if (in.readInt() != MAGIC) {
                return null;
            }
            boolean complete = in.readBoolean();
            int blockSize = in.readInt();
            int length = in.readInt();
            byte[] hashes = in.readNBytes(length);
            if (hashes.length != length) {
                return new Loaded(null, false);
            }
            return new Loaded(new BlockHashes(blockSize, hashes), complete);
        }
    }

    /** Records that an execution is writing to the destination (whatever hashes were there). */
    static void markIncomplete(Path file, int blockSize) throws IOException {
        write(file, false, new BlockHashes(blockSize, new byte[0]));
    }

    void save(Path file) throws IOException {
        write(file, true, this);
    }

    private static void write(Path file, boolean complete, BlockHashes hashes) throws IOException {
        Files.createDirectories(file.getParent());
        Path temp = file.resolveSibling(file.getFileName() + ".tmp");
        try (OutputStream raw = Files.newOutputStream(temp); DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(raw))) {
            out.writeInt(MAGIC);
            out.writeBoolean(complete);
            out.writeInt(hashes.blockSize);
            out.writeInt(hashes.hashes.length);
            out.write(hashes.hashes);
        }
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
