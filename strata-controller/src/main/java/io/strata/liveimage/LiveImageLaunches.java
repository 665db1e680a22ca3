package io.strata.liveimage;

import static java.util.Objects.requireNonNull;

import io.strata.compute.LaunchSource;
import io.strata.core.CloudException;
import java.util.Optional;

/**
 * Tells compute which servers are clones and what they resume from. A clone whose live image can
 * no longer serve it fails its build rather than quietly cold-booting its image.
 */
public final class LiveImageLaunches implements LaunchSource.Lookup {
    private final LiveImageStore store;

    public LiveImageLaunches(LiveImageStore store) {
        this.store = requireNonNull(store, "store is null");
    }

    @Override
    public Optional<LaunchSource> find(String serverId) {
        return store.findLaunch(serverId).map(launch -> {
            LiveImage image = store.find(launch.liveImageId()).orElse(null);
            if (image == null || image.status() != LiveImage.Status.BLESSED) {
                throw CloudException.conflict("Live image %s of server %s is gone.", launch.liveImageId(), serverId);
            }
            return new LaunchSource(image.host(), image.ref(), launch.guestParams(), launch.targetMemoryMb());
        });
    }
}
