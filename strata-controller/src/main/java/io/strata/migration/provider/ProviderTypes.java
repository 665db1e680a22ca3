package io.strata.migration.provider;

import java.util.List;

/** Coriolis' provider type bits (coriolis/constants.py), as the providers API reports them. */
public final class ProviderTypes {
    public static final int IMPORT = 1;
    public static final int EXPORT = 2;
    public static final int REPLICA_IMPORT = 4;
    public static final int REPLICA_EXPORT = 8;
    public static final int ENDPOINT = 16;
    public static final int ENDPOINT_INSTANCES = 32;
    public static final int ENDPOINT_NETWORKS = 128;
    public static final int DESTINATION_ENDPOINT_OPTIONS = 512;
    public static final int ENDPOINT_STORAGE = 32768;
    public static final int SOURCE_ENDPOINT_OPTIONS = 131072;

    /** What every Strata provider implements: both directions, replicas, listings. */
    public static final List<Integer> ALL = List.of(IMPORT, EXPORT, REPLICA_IMPORT, REPLICA_EXPORT, ENDPOINT, ENDPOINT_INSTANCES,
            ENDPOINT_NETWORKS, DESTINATION_ENDPOINT_OPTIONS, ENDPOINT_STORAGE, SOURCE_ENDPOINT_OPTIONS);

    private ProviderTypes() {}
}
