package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import java.util.Locale;
import java.util.Optional;

/**
 * Who sees and who may change an image, as Glance decides it: an image a caller may not see is
 * 404 (its existence is not revealed); one it sees but does not own is 403 for changes.
 */
final class ImageAccess {
    private final ImageStore store;

    ImageAccess(ImageStore store) {
        this.store = requireNonNull(store, "store is null");
    }

    /** The image {@code auth} may see; 404 otherwise. */
    Image visible(AuthContext auth, String id) {
        requireNonNull(auth, "auth is null");
        requireNonNull(id, "id is null");
        return findVisible(auth, id).orElseThrow(() -> notFound(id));
    }

    /** Glance's is_image_visible: any membership status lets a project see a shared image. */
    Optional<Image> findVisible(AuthContext auth, String id) {
        return store.find(id.toLowerCase(Locale.ROOT)).filter(image -> isVisible(auth, image));
    }

    private boolean isVisible(AuthContext auth, Image image) {
        if (auth.isAdmin() || image.owner() == null) {
            return true;
        }
        if (image.visibility() == Visibility.PUBLIC || image.visibility() == Visibility.COMMUNITY) {
            return true;
        }
        String project = auth.projectId();
        if (project == null) {
            return false;
        }
        if (project.equals(image.owner())) {
            return true;
        }
        return image.visibility() == Visibility.SHARED && store.findMember(image.id(), project).isPresent();
    }

    static boolean isOwnerOrAdmin(AuthContext auth, Image image) {
        return auth.isAdmin() || (image.owner() != null && image.owner().equals(auth.projectId()));
    }

    /** Glance's check_is_image_mutable: only the owner's project and admins change an image. */
    static void requireMutable(AuthContext auth, Image image) {
        if (!isOwnerOrAdmin(auth, image)) {
            throw CloudException.forbidden("You do not own this image");
        }
    }

    static CloudException notFound(String id) {
        return CloudException.notFound("No image found with ID %s", id);
    }
}
