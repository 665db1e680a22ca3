package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * Glance's rules: who sees which image (public, community, the owner's project, accepted
 * shares), who may change it, and the queued → saving → active life of its data.
 */
public final class ImageService {
    public static final Set<String> VISIBILITIES = Set.of("public", "private", "shared", "community");
    public static final Set<String> DISK_FORMATS = Set.of("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop");
    public static final Set<String> CONTAINER_FORMATS = Set.of("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed");

    private final ImageStore store;
    private final ImageFiles files;
    private final Policy policy;
    private final Clock clock;

    public ImageService(ImageStore store, ImageFiles files, Policy policy, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.files = requireNonNull(files, "files is null");
        this.policy = requireNonNull(policy, "policy is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** Uploads interrupted by a crash go back to queued, and their partial files are removed. */
    public void recover() {
        files.removeIncompleteUploads();
        for (Image image : store.list(new ImageStore.ListQuery(null, "all", null, Image.SAVING, null, null, null, null, List.of(), null,
                100_000))) {
            store.transition(image.id(), Image.SAVING, Image.QUEUED, now());
        }
    }

    public Image get(AuthContext auth, String id) {
        Image image = store.find(id).orElse(null);
        if (image == null || !visible(auth, image)) {
            throw CloudException.notFound("No image found with ID %s", id);
        }
        return image;
    }

    private boolean visible(AuthContext auth, Image image) {
        if (auth.isAdmin() || image.visibility().equals("public") || image.visibility().equals("community")) {
            return true;
        }
        if (auth.projectId() != null && auth.projectId().equals(image.owner())) {
            return true;
        }
        return image.visibility().equals("shared") && auth.projectId() != null && store.member(image.id(), auth.projectId()).isPresent();
    }

    public List<Image> list(AuthContext auth, ImageStore.ListQuery query) {
        policy.enforce(auth, "image:get_images");
        return store.list(query);
    }

    public Image createQueued(AuthContext auth, String name, Map<String, String> properties, String diskFormat, String containerFormat) {
        return create(auth, new Draft(null, name, "private", diskFormat, containerFormat, 0, 0, false, false, properties, List.of()));
    }

    /** What a create request asks for, checked for types by the API. */
    public record Draft(String id, String name, String visibility, String diskFormat, String containerFormat, int minDisk, int minRam,
            boolean protectedImage, boolean osHidden, Map<String, String> properties, List<String> tags) {}

    public Image create(AuthContext auth, Draft draft) {
        policy.enforce(auth, "image:add_image");
        checkVisibility(auth, draft.visibility());
        checkFormats(draft.diskFormat(), draft.containerFormat());
        String id = draft.id() == null ? UUID.randomUUID().toString() : draft.id();
        if (draft.id() != null) {
            try {
                UUID.fromString(draft.id());
            } catch (IllegalArgumentException e) {
                throw CloudException.badRequest("Invalid image id format: %s", draft.id());
            }
            if (store.find(id).isPresent()) {
                throw CloudException.conflict("Image with identifier %s already exists!", id);
            }
        }
        Instant now = now();
        Image image = new Image(id, draft.name(), auth.projectId(), Image.QUEUED, draft.visibility(), draft.containerFormat(),
                draft.diskFormat(), null, null, null, null, null, draft.minDisk(), draft.minRam(), draft.protectedImage(),
                draft.osHidden(), draft.properties(), dedupe(draft.tags()), now, now);
        store.insert(image);
        return image;
    }

    /** Applies changes already validated by the API (the result of a JSON patch). */
    public Image update(AuthContext auth, Image changed) {
        Image current = owned(auth, changed.id(), "image:modify_image");
        if (!changed.visibility().equals(current.visibility())) {
            checkVisibility(auth, changed.visibility());
        }
        checkFormats(changed.diskFormat(), changed.containerFormat());
        if (!current.status().equals(Image.QUEUED)
                && (!java.util.Objects.equals(changed.diskFormat(), current.diskFormat())
                        || !java.util.Objects.equals(changed.containerFormat(), current.containerFormat()))) {
            throw CloudException.forbidden("Attribute disk_format and container_format can be only replaced for a queued image.");
        }
        Image updated = new Image(current.id(), changed.name(), current.owner(), current.status(), changed.visibility(),
                changed.containerFormat(), changed.diskFormat(), current.sizeBytes(), current.virtualSize(), current.checksum(),
                current.osHashAlgo(), current.osHashValue(), changed.minDisk(), changed.minRam(), changed.protectedImage(),
                changed.osHidden(), changed.properties(), dedupe(changed.tags()), current.createdAt(), now());
        store.update(updated);
        return updated;
    }

    /** Streams the image's data in; the image is active afterwards, or back to queued with nothing stored. */
    public Image upload(AuthContext auth, String id, InputStream data) {
        Image image = owned(auth, id, "image:modify_image");
        if (image.diskFormat() == null || image.containerFormat() == null) {
            throw CloudException.badRequest("Properties disk_format, container_format must be set prior to saving data.");
        }
        if (!store.transition(id, Image.QUEUED, Image.SAVING, now())) {
            Image current = store.find(id).orElse(image);
            throw CloudException.conflict("Image status transition from %s to saving is not allowed", current.status());
        }
        ImageFiles.Written written;
        try {
            written = files.write(id, data);
        } catch (RuntimeException e) {
            store.transition(id, Image.SAVING, Image.QUEUED, now());
            throw e;
        }
        if (!store.activate(id, written.size(), written.md5(), written.sha512(), now())) {
            // Deleted while uploading: drop the data.
            files.delete(id);
            throw CloudException.conflict("Image %s was deleted during the upload.", id);
        }
        return store.find(id).orElseThrow();
    }

    /** The data of an image the caller can see; null when it has none yet. */
    public Path dataOf(AuthContext auth, String id) {
        Image image = get(auth, id);
        if (image.status().equals(Image.DEACTIVATED) && !auth.isAdmin()) {
            throw CloudException.forbidden("The requested image has been deactivated. Image data download is forbidden.");
        }
        return image.status().equals(Image.ACTIVE) || image.status().equals(Image.DEACTIVATED) ? files.path(id) : null;
    }

    /** The local file of an active image (compute boots from it). */
    public Path file(Image image) {
        if (!image.status().equals(Image.ACTIVE)) {
            throw CloudException.conflict("Image %s is not active.", image.id());
        }
        return files.path(image.id());
    }

    public Image createFromFile(AuthContext auth, String name, Map<String, String> properties, String diskFormat, String containerFormat,
            Path source) {
        Image image = createQueued(auth, name, properties, diskFormat, containerFormat);
        try (InputStream in = java.nio.file.Files.newInputStream(source)) {
            return upload(auth, image.id(), in);
        } catch (java.io.IOException e) {
            delete(auth, image.id());
            throw new CloudException(ErrorCode.INTERNAL, "cannot read " + source + ": " + e.getMessage(), e);
        }
    }

    public void delete(AuthContext auth, String id) {
        Image image = owned(auth, id, "image:delete_image");
        if (image.protectedImage()) {
            throw CloudException.forbidden("Image %s is protected and cannot be deleted.", id);
        }
        store.delete(id);
        files.delete(id);
    }

    public void setActive(AuthContext auth, String id, boolean active) {
        policy.enforce(auth, "image:publicize_image");
        Image image = get(auth, id);
        if (active) {
            if (image.status().equals(Image.DEACTIVATED)) {
                store.transition(id, Image.DEACTIVATED, Image.ACTIVE, now());
            } else if (!image.status().equals(Image.ACTIVE)) {
                throw CloudException.forbidden("Not allowed to reactivate an image in status '%s'", image.status());
            }
        } else if (image.status().equals(Image.ACTIVE)) {
            store.transition(id, Image.ACTIVE, Image.DEACTIVATED, now());
        } else if (!image.status().equals(Image.DEACTIVATED)) {
            throw CloudException.forbidden("Not allowed to deactivate an image in status '%s'", image.status());
        }
    }

    // --- tags

    public void addTag(AuthContext auth, String id, String tag) {
        Image image = owned(auth, id, "image:modify_image");
        if (tag.isEmpty() || tag.length() > 255) {
            throw CloudException.badRequest("Invalid tag: it must be 1 to 255 characters.");
        }
        if (!image.tags().contains(tag)) {
            List<String> tags = new ArrayList<>(image.tags());
            tags.add(tag);
            update(auth, withTags(image, tags));
        }
    }

    public void removeTag(AuthContext auth, String id, String tag) {
        Image image = owned(auth, id, "image:modify_image");
        if (!image.tags().contains(tag)) {
            throw CloudException.notFound("Tag %s not found", tag);
        }
        List<String> tags = new ArrayList<>(image.tags());
        tags.remove(tag);
        update(auth, withTags(image, tags));
    }

    private static Image withTags(Image i, List<String> tags) {
        return new Image(i.id(), i.name(), i.owner(), i.status(), i.visibility(), i.containerFormat(), i.diskFormat(), i.sizeBytes(),
                i.virtualSize(), i.checksum(), i.osHashAlgo(), i.osHashValue(), i.minDisk(), i.minRam(), i.protectedImage(), i.osHidden(),
                i.properties(), tags, i.createdAt(), i.updatedAt());
    }

    // --- members

    public List<ImageMember> members(AuthContext auth, String id) {
        Image image = get(auth, id);
        requireShared(image);
        if (isOwner(auth, image)) {
            return store.members(id);
        }
        return store.member(id, auth.projectId()).stream().toList();
    }

    public ImageMember member(AuthContext auth, String id, String memberId) {
        Image image = get(auth, id);
        requireShared(image);
        if (!isOwner(auth, image) && !memberId.equals(auth.projectId())) {
            throw CloudException.notFound("%s is not a member of image %s", memberId, id);
        }
        return store.member(id, memberId).orElseThrow(() -> CloudException.notFound("%s is not a member of image %s", memberId, id));
    }

    public ImageMember addMember(AuthContext auth, String id, String memberId) {
        Image image = owned(auth, id, "image:modify_image");
        requireShared(image);
        if (store.member(id, memberId).isPresent()) {
            throw CloudException.conflict("Member %s already has access to image %s", memberId, id);
        }
        Instant now = now();
        ImageMember member = new ImageMember(id, memberId, "pending", now, now);
        store.addMember(member);
        return member;
    }

    /** A member accepts or rejects a share; only the member itself may. */
    public ImageMember setMemberStatus(AuthContext auth, String id, String memberId, String status) {
        Image image = get(auth, id);
        requireShared(image);
        if (!Set.of("accepted", "rejected", "pending").contains(status)) {
            throw CloudException.badRequest("Invalid status: %s", status);
        }
        if (!memberId.equals(auth.projectId()) && !auth.isAdmin()) {
            throw CloudException.forbidden("Only the shared member %s can change the status of its membership.", memberId);
        }
        store.member(id, memberId).orElseThrow(() -> CloudException.notFound("%s is not a member of image %s", memberId, id));
        store.setMemberStatus(id, memberId, status, now());
        return store.member(id, memberId).orElseThrow();
    }

    public void removeMember(AuthContext auth, String id, String memberId) {
        Image image = owned(auth, id, "image:modify_image");
        requireShared(image);
        store.member(id, memberId).orElseThrow(() -> CloudException.notFound("%s is not a member of image %s", memberId, id));
        store.removeMember(id, memberId);
    }

    private static void requireShared(Image image) {
        if (!image.visibility().equals("shared")) {
            throw CloudException.forbidden("Only shared images have members.");
        }
    }

    // --- rules

    private Image owned(AuthContext auth, String id, String operation) {
        policy.enforce(auth, operation);
        Image image = get(auth, id);
        if (!isOwner(auth, image)) {
            throw CloudException.forbidden("You are not permitted to modify image %s.", id);
        }
        return image;
    }

    private static boolean isOwner(AuthContext auth, Image image) {
        return auth.isAdmin() || (auth.projectId() != null && auth.projectId().equals(image.owner()));
    }

    private void checkVisibility(AuthContext auth, String visibility) {
        if (!VISIBILITIES.contains(visibility)) {
            throw CloudException.badRequest("Invalid visibility value: %s", visibility);
        }
        if (visibility.equals("public") && !policy.allows(auth, "image:publicize_image")) {
            throw CloudException.forbidden("You are not authorized to complete publicize_image action.");
        }
    }

    private static void checkFormats(String diskFormat, String containerFormat) {
        if (diskFormat != null && !DISK_FORMATS.contains(diskFormat)) {
            throw CloudException.badRequest("Invalid disk format '%s' for image.", diskFormat);
        }
        if (containerFormat != null && !CONTAINER_FORMATS.contains(containerFormat)) {
            throw CloudException.badRequest("Invalid container format '%s' for image.", containerFormat);
        }
    }

    private static List<String> dedupe(List<String> tags) {
        return List.copyOf(new java.util.LinkedHashSet<>(tags));
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
