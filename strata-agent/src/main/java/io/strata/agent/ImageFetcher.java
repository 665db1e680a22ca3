package io.strata.agent;

import java.nio.file.Path;

/**
 * Makes an image's data available as a file on this host: the image service's own file in the
 * all-in-one process, a verified download into a local cache on remote agents.
 */
@FunctionalInterface
public interface ImageFetcher {
    Path fetch(ImageRef image);
}
