package io.strata.agent;

/** Attributes a source host adds to a cold disk so that a host copying it can check the copy. */
public final class ColdDisks {
    /** Size of the disk's file in bytes. */
    public static final String SIZE = "file_size";
    /** SHA-256 of the disk's file, hex. */
    public static final String SHA256 = "file_sha256";

    private ColdDisks() {}
}
