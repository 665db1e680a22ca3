package io.strata.migration.host;

import io.strata.migration.disk.BlockSource.Extent;
import io.strata.migration.disk.NbdClient;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * How the data of an NBD export of a host is read: on the host and sent compressed
 * ({@link HostNbdReader}), or through our own NBD connection to it. The disks that read exports
 * (a qcow2 at rest, a running guest's fleecing node) plan and read through this, whichever it is.
 */
interface ExportReads extends AutoCloseable {
    /** Ascending extents the next reads will ask for, in order; a read elsewhere ends the plan. */
    void plan(List<Extent> extents) throws IOException;

    /** Fills {@code into} from {@code offset}; what lies past the export's end reads as zeros. */
    void readUpTo(long offset, ByteBuffer into) throws IOException;

    @Override
    void close();

    /**
     * The export {@code export} at {@code socket} on {@code host}, read there where it can be
     * (see {@link HostNbdReader#open}), else through {@code client}, which stays the caller's to close.
     */
    static ExportReads of(HostAccess host, Path socket, String export, NbdClient client) throws IOException {
        HostNbdReader onHost = HostNbdReader.open(host, socket, export, client.size());
        if (onHost != null) {
            return onHost;
        }
        return new ExportReads() {
            @Override
            public void plan(List<Extent> extents) throws IOException {
                client.plan(extents);
            }

            @Override
            public void readUpTo(long offset, ByteBuffer into) throws IOException {
                client.readUpTo(client.size(), offset, into);
            }

            @Override
            public void close() {
                // the connection is its owner's
            }
        };
    }
}
