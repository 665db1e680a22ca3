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
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Images and their data, with Glance's rules: registration, updates, tags, the status machine of
 * uploads (queued → saving → active, back to queued on any failure) and deletion. HTTP handlers
 * and other services (the Compute API's snapshots and boots) call this class alike, so every rule
 * holds for both. Sharing is {@link ImageMembers}.
 *
 * <p>Image data is on this controller's disk, so uploads, downloads and the start-up recovery
 * below assume one controller serves the images of its data directory.
 */
public final class ImageService {
    /** Glance's image_size_cap default: 1 TiB. */
    public static final long DEFAULT_SIZE_CAP = ImageRules.DEFAULT_SIZE_CAP;

    private static final Logger log = LoggerFactory.getLogger(ImageService.class);

    private final ImageStore store;
    private final ImageFiles files;
    private final ImageAccess access;
    private final Policy policy;
    private final Clock clock;
    private final DataLocations locations;
    private final long sizeCap;

    /**
     * Where image data lives when controllers do not share image storage (see ImageReplication):
     * told when this controller stored an image's data, and before it reads an active image's
     * data, so that it first copies what another controller holds.
     */
    public interface DataLocations {
        DataLocations SHARED = new DataLocations() {
            @Override
            public void stored(String imageId) {}

            @Override
            public void beforeReading(String imageId) {}
        };

        void stored(String imageId);

        void beforeReading(String imageId);
    }

    public ImageService(ImageStore store, ImageFiles files, Policy policy, Clock clock) {
        this(store, files, policy, clock, DataLocations.SHARED, DEFAULT_SIZE_CAP);
    }

    /**
     * @param sizeCap the largest image data, in bytes, an upload or a snapshot may store (Glance's
     *        image_size_cap); more is refused with 413 and nothing of it is kept
     */
    public ImageService(ImageStore store, ImageFiles files, Policy policy, Clock clock, DataLocations locations, long sizeCap) {
        if (sizeCap < 1) {
            throw new IllegalArgumentException("sizeCap must be at least 1 byte, not " + sizeCap);
        }
        this.sizeCap = sizeCap;
        this.locations = requireNonNull(locations, "locations is null");
        this.store = requireNonNull(store, "store is null");
        this.files = requireNonNull(files, "files is null");
        this.access = new ImageAccess(store);
        this.policy = requireNonNull(policy, "policy is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /**
     * After a crash: uploads that were under way never finished, so their images go back to
     * queued, and files no active image owns are removed.
     */
    public void recover() {
        List<String> reset = store.resetSaving(now());
        if (!reset.isEmpty()) {
            log.warn("{} image upload(s) were interrupted by a restart and are queued again: {}", reset.size(), reset);
        }
        files.sweep(store.idsWithData());
    }

    // ------------------------------------------------------------------ the Java API other services use

    /** The image {@code auth} may see; 404 otherwise (whether or not it exists). */
    public Image get(AuthContext auth, String id) {
        policy.enforce(auth, "image:get_images");
        return access.visible(auth, id);
    }

    /**
     * The local file of an active image's data by id, for this process's own hosts (no caller to
     * check): only the image row is read, as a host's spawn needs neither properties nor tags.
     */
    public Path file(String id) {
        requireNonNull(id, "id is null");
        return file(store.findWithoutDetails(id.toLowerCase(Locale.ROOT)).orElseThrow(() -> ImageAccess.notFound(id)));
    }

    /** The local file of an active image's data; 409 for any other status (no data yet, or deactivated). */
    public Path file(Image image) {
        requireNonNull(image, "image is null");
        if (image.status() != ImageStatus.ACTIVE) {
            throw CloudException.conflict("Image %s is %s, not active.", image.id(), image.status().wireName());
        }
        locations.beforeReading(image.id());
        return files.path(image.id());
    }

    /** Where the data of an image that has data lives, for downloads (admins may read deactivated images). */
    Path dataPath(Image image) {
        if (image.status() != ImageStatus.ACTIVE && image.status() != ImageStatus.DEACTIVATED) {
            throw CloudException.conflict("Image %s is %s and has no data.", image.id(), image.status().wireName());
        }
        if (image.status() == ImageStatus.ACTIVE) {
            locations.beforeReading(image.id());
        }
        return files.path(image.id());
    }

    /**
     * Registers a private image of the caller's project whose data is {@code source} (a snapshot,
     * say). The source file is taken over: moved into the image store when it is on the same file
     * system, else copied and then deleted. If the image cannot be made, the file is moved back.
     */
    public Image createFromFile(AuthContext auth, String name, Map<String, String> properties, String diskFormat,
            String containerFormat, Path source) {
        return createFromFile(auth, ImageDraft.of(name, properties == null ? Map.of() : properties, diskFormat, containerFormat), source);
    }

    /** {@link #createFromFile(AuthContext, String, Map, String, String, Path)} with every attribute a draft can carry (min_disk…). */
    public Image createFromFile(AuthContext auth, ImageDraft draft, Path source) {
        requireNonNull(source, "source is null");
        Image image = newImage(auth, draft);
        ImageRules.requireFormats(image);
        // Before the file is taken over (and read for its digests): one too large stays where it is.
        requireWithinCap(sizeOf(source));
        ImageData data = files.adopt(source);
        Image active;
        try {
            active = image.toBuilder().status(ImageStatus.ACTIVE).data(data, ImageRules.checkData(image, data)).build();
        } catch (RuntimeException e) {
            files.restore(data.file(), source);
            throw e;
        }
        Path stored = files.commit(data, active.id());
        try {
            if (!store.insert(active)) {
                throw CloudException.conflict("Image with identifier %s already exists!", active.id());
            }
        } catch (RuntimeException e) {
            files.restore(stored, source);
            throw e;
        }
        locations.stored(active.id());
        return active;
    }

    /** Registers a private image of the caller's project without data; {@link #upload} adds it. */
    public Image createQueued(AuthContext auth, String name, Map<String, String> properties, String diskFormat, String containerFormat) {
        return create(auth, ImageDraft.of(name, properties == null ? Map.of() : properties, diskFormat, containerFormat));
    }

    /** Streams the image's data in; see {@link #upload(AuthContext, String, InputStream, Long, Long)}. */
    public void upload(AuthContext auth, String id, InputStream data) {
        upload(auth, id, data, null, null);
    }

    public void delete(AuthContext auth, String id) {
        Image image = access.visible(auth, id);
        policy.enforce(auth, "image:delete_image");
        ImageAccess.requireMutable(auth, image);
        if (image.protectedImage()) {
            throw CloudException.forbidden("Image %s is protected and cannot be deleted.", image.id());
        }
        // The row goes first: once it is gone nobody can reach the file, and a crash in between
        // leaves an orphan file that the next start sweeps away.
        if (store.delete(image.id())) {
            files.delete(image.id());
        }
    }

    // ------------------------------------------------------------------ images

    public Image create(AuthContext auth, ImageDraft draft) {
        Image image = newImage(auth, draft);
        if (!store.insert(image)) {
            throw CloudException.conflict("Image with identifier %s already exists!", image.id());
        }
        return image;
    }

    /** A page of the images {@code auth} may see; the marker must be one of them (400 otherwise). */
    public List<Image> list(AuthContext auth, ImageQuery query) {
        policy.enforce(auth, "image:get_images");
        Image marker = null;
        if (query.marker() != null) {
            marker = access.findVisible(auth, query.marker())
                    .orElseThrow(() -> CloudException.badRequest("No image found with ID %s", query.marker()));
        }
        return store.list(query, new ImageStore.Viewer(auth.projectId(), auth.isAdmin()), marker);
    }

    /** Applies every change or none (JSON-patch semantics); an empty list changes nothing. */
    public Image update(AuthContext auth, String id, List<ImageChange> changes) {
        Image image = access.visible(auth, id);
        if (changes.isEmpty()) {
            return image;
        }
        for (ImageChange change : changes) {
            if (change instanceof ImageChange.SetVisibility(Visibility visibility)) {
                enforceVisibility(auth, visibility);
            }
        }
        policy.enforce(auth, "image:modify_image");
        ImageAccess.requireMutable(auth, image);
        return store.update(image.id(), current -> {
            Image.Builder builder = current.toBuilder();
            for (ImageChange change : changes) {
                apply(auth, builder, change);
            }
            Image updated = builder.updatedAt(now()).build();
            ImageRules.checkLimits(updated);
            return updated;
        }).orElseThrow(() -> ImageAccess.notFound(id));
    }

    public void addTag(AuthContext auth, String id, String tag) {
        ImageRules.checkTag(tag);
        modify(auth, id, current -> {
            List<String> tags = new ArrayList<>(current.tags());
            if (tags.contains(tag)) {
                return current;
            }
            tags.add(tag);
            Image updated = current.toBuilder().tags(tags).updatedAt(now()).build();
            ImageRules.checkLimits(updated);
            return updated;
        });
    }

    public void removeTag(AuthContext auth, String id, String tag) {
        modify(auth, id, current -> {
            if (!current.tags().contains(tag)) {
                throw CloudException.notFound("Tag %s not found on image %s.", tag, id);
            }
            List<String> tags = new ArrayList<>(current.tags());
            tags.remove(tag);
            return current.toBuilder().tags(tags).updatedAt(now()).build();
        });
    }

    /**
     * Glance's deactivate action: the data stays but only admins may download it (and no server
     * boots from it). Deactivating a deactivated image changes nothing; other statuses refuse.
     */
    public void deactivate(AuthContext auth, String id) {
        setActive(auth, id, false);
    }

    /** Glance's reactivate action, the reverse of {@link #deactivate}. */
    public void reactivate(AuthContext auth, String id) {
        setActive(auth, id, true);
    }

    private void setActive(AuthContext auth, String id, boolean active) {
        ImageStatus from = active ? ImageStatus.DEACTIVATED : ImageStatus.ACTIVE;
        ImageStatus to = active ? ImageStatus.ACTIVE : ImageStatus.DEACTIVATED;
        modify(auth, id, current -> {
            if (current.status() == to) {
                return current;
            }
            if (current.status() != from) {
                throw CloudException.forbidden("Not allowed to %s image in status '%s'", active ? "reactivate" : "deactivate",
                        current.status().wireName());
            }
            return current.toBuilder().status(to).updatedAt(now()).build();
        });
    }

    /**
     * Streams data into a queued image: queued → saving while it arrives → active once it is
     * complete, checksummed and on disk. On any failure the image is queued again and no data is
     * left behind.
     *
     * <p>Data over the size cap is refused with 413: before anything is read when the announced
     * size or the length of {@code data} says so, else as soon as the byte after the cap arrives.
     *
     * @param expectedSize the size the client announced (x-openstack-image-size), checked when given
     * @param dataLength how many bytes {@code data} holds when that is known before reading it (the
     *        Content-Length of an unencoded body), else null
     */
    public void upload(AuthContext auth, String id, InputStream data, Long expectedSize, Long dataLength) {
        requireNonNull(data, "data is null");
        Image image = access.visible(auth, id);
        policy.enforce(auth, "image:modify_image");
        ImageAccess.requireMutable(auth, image);
        if (image.status() != ImageStatus.QUEUED) {
            throw transitionRefused(image.status());
        }
        ImageRules.requireFormats(image);
        if (expectedSize != null) {
            requireWithinCap(expectedSize);
        }
        if (dataLength != null) {
            requireWithinCap(dataLength);
        }
        Image saving = store.transition(image.id(), ImageStatus.QUEUED, current -> current.toBuilder()
                        .status(ImageStatus.SAVING).updatedAt(now()).build())
                .orElseThrow(() -> transitionRefused(store.find(id).map(Image::status).orElse(ImageStatus.QUEUED)));
        ImageData received = null;
        Long virtualSize;
        try {
            received = files.receive(data, sizeCap);
            if (expectedSize != null && expectedSize != received.sizeBytes()) {
                throw CloudException.badRequest("Image size %d does not match the announced size %d.", received.sizeBytes(), expectedSize);
            }
            virtualSize = ImageRules.checkData(saving, received);
        } catch (RuntimeException e) {
            if (received != null) {
                files.discard(received);
            }
            restoreQueued(saving.id());
            throw e;
        }
        ImageData stored = received;
        Optional<Image> active;
        try {
            files.commit(stored, saving.id());
            active = store.transition(saving.id(), ImageStatus.SAVING, current -> current.toBuilder()
                    .status(ImageStatus.ACTIVE).data(stored, virtualSize).updatedAt(now()).build());
        } catch (RuntimeException e) {
            files.delete(saving.id());
            restoreQueued(saving.id());
            throw e;
        }
        if (active.isEmpty()) {
            // Deleted while the data arrived: the delete found no file yet, so this one is ours to remove.
            files.delete(saving.id());
            throw new CloudException(ErrorCode.GONE, ("Image %s could not be found after upload. The image may have been deleted "
                    + "during the upload, cleaning up the chunks uploaded.").formatted(saving.id()));
        }
        locations.stored(saving.id());
    }

    // ------------------------------------------------------------------ rules

    private Image newImage(AuthContext auth, ImageDraft draft) {
        requireNonNull(auth, "auth is null");
        requireNonNull(draft, "draft is null");
        String owner = draft.owner() == null ? auth.projectId() : draft.owner();
        if (!policy.allows(auth, "image:add_image")) {
            throw CloudException.forbidden("Policy doesn't allow image:add_image to be performed.");
        }
        if (!auth.isAdmin() && owner != null && !owner.equals(auth.projectId())) {
            throw CloudException.forbidden("You are not permitted to create images owned by '%s'.", owner);
        }
        Visibility visibility = draft.visibility() == null ? Visibility.SHARED : draft.visibility();
        enforceVisibility(auth, visibility);
        String id = draft.id() == null ? UUID.randomUUID().toString() : draft.id();
        ImageRules.checkId(id);
        ImageRules.checkName(draft.name());
        ImageRules.checkDiskFormat(draft.diskFormat());
        ImageRules.checkContainerFormat(draft.containerFormat());
        ImageRules.checkNotNegative("min_disk", draft.minDisk());
        ImageRules.checkNotNegative("min_ram", draft.minRam());
        draft.properties().forEach(ImageRules::checkProperty);
        draft.tags().forEach(ImageRules::checkTag);
        Instant now = now();
        Image image = new Image(id.toLowerCase(Locale.ROOT), draft.name(), owner, ImageStatus.QUEUED, visibility, draft.containerFormat(),
                draft.diskFormat(), null, null, null, null, null, draft.minDisk(), draft.minRam(), draft.protectedImage(),
                draft.osHidden(), draft.properties(), draft.tags(), now, now);
        ImageRules.checkLimits(image);
        return image;
    }

    private void apply(AuthContext auth, Image.Builder image, ImageChange change) {
        switch (change) {
            case ImageChange.SetName(String name) -> {
                ImageRules.checkName(name);
                image.name(name);
            }
            case ImageChange.SetVisibility(Visibility visibility) -> image.visibility(visibility);
            case ImageChange.SetOwner(String owner) -> {
                if (!auth.isAdmin()) {
                    throw CloudException.forbidden("Owner can't be updated by non admin.");
                }
                image.owner(owner);
            }
            case ImageChange.SetProtected(boolean value) -> image.protectedImage(value);
            case ImageChange.SetOsHidden(boolean value) -> image.osHidden(value);
            case ImageChange.SetMinDisk(int value) -> {
                ImageRules.checkNotNegative("min_disk", value);
                image.minDisk(value);
            }
            case ImageChange.SetMinRam(int value) -> {
                ImageRules.checkNotNegative("min_ram", value);
                image.minRam(value);
            }
            case ImageChange.SetDiskFormat(String value) -> {
                requireQueuedFor("disk_format", image);
                ImageRules.checkDiskFormat(value);
                image.diskFormat(value);
            }
            case ImageChange.SetContainerFormat(String value) -> {
                requireQueuedFor("container_format", image);
                ImageRules.checkContainerFormat(value);
                image.containerFormat(value);
            }
            case ImageChange.SetTags(List<String> tags) -> {
                tags.forEach(ImageRules::checkTag);
                image.tags(tags);
            }
            case ImageChange.SetProperty(String name, String value, boolean mustExist, boolean mustNotExist) -> {
                ImageRules.checkProperty(name, value);
                if (mustExist && !image.properties().containsKey(name)) {
                    throw CloudException.conflict("Property %s does not exist.", name);
                }
                if (mustNotExist && image.properties().containsKey(name)) {
                    throw CloudException.conflict("Property %s already present.", name);
                }
                image.properties().put(name, value);
            }
            case ImageChange.RemoveProperty(String name) -> {
                if (image.properties().remove(name) == null) {
                    throw CloudException.conflict("Property %s does not exist.", name);
                }
            }
            case ImageChange.RemoveAttribute(String name) -> throw CloudException.forbidden("Property %s may not be removed.", name);
        }
    }

    private void modify(AuthContext auth, String id, UnaryOperator<Image> change) {
        Image image = access.visible(auth, id);
        policy.enforce(auth, "image:modify_image");
        ImageAccess.requireMutable(auth, image);
        store.update(image.id(), change).orElseThrow(() -> ImageAccess.notFound(id));
    }

    private void enforceVisibility(AuthContext auth, Visibility visibility) {
        if (visibility == Visibility.PUBLIC && !policy.allows(auth, "image:publicize_image")) {
            throw CloudException.forbidden("You are not authorized to complete publicize_image action.");
        }
    }

    private void restoreQueued(String id) {
        try {
            store.transition(id, ImageStatus.SAVING, current -> current.toBuilder()
                    .status(ImageStatus.QUEUED).withoutData().updatedAt(now()).build());
        } catch (RuntimeException e) {
            // The next start resets it; the upload's own error is the one to report.
            log.error("cannot put image {} back to queued after a failed upload", id, e);
        }
    }

    private void requireWithinCap(long bytes) {
        if (bytes > sizeCap) {
            throw ImageRules.tooLarge(sizeCap);
        }
    }

    private static long sizeOf(Path source) {
        try {
            return java.nio.file.Files.size(source);
        } catch (java.io.IOException e) {
            return 0; // adopting it says what is wrong with it
        }
    }

    private static void requireQueuedFor(String attribute, Image.Builder image) {
        if (image.status() != ImageStatus.QUEUED) {
            throw CloudException.forbidden("Attribute %s can be only replaced for a queued image.", attribute);
        }
    }

    private static CloudException transitionRefused(ImageStatus from) {
        return CloudException.conflict("Image status transition from %s to saving is not allowed", from.wireName());
    }

    private Instant now() {
        // Both databases keep microseconds; an Instant that round-trips unchanged keeps markers exact.
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
