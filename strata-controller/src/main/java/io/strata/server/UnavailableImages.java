package io.strata.server;

import io.strata.compute.ImageCatalog;
import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import java.nio.file.Path;
import java.util.Map;

/** Placeholder until the image service is wired: every image is unknown. */
final class UnavailableImages implements ImageCatalog {
    @Override
    public BootableImage find(AuthContext auth, String imageId) {
        throw CloudException.notFound("Image %s could not be found.", imageId);
    }

    @Override
    public Path file(String imageId) {
        throw CloudException.notFound("Image %s could not be found.", imageId);
    }

    @Override
    public String reserveSnapshot(AuthContext auth, String name, Map<String, String> properties, String diskFormat) {
        throw CloudException.conflict("The image service is not available.");
    }

    @Override
    public void uploadSnapshot(AuthContext auth, String imageId, Path source) {
        throw CloudException.conflict("The image service is not available.");
    }

    @Override
    public void abandonSnapshot(AuthContext auth, String imageId) {
    }
}
