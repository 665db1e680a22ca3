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
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Glance's rules: who sees which image, who may change it, the status machine of uploads and the
 * limits on properties, tags and members. HTTP handlers and other services (the Compute API's
 * snapshots and boots) call this class alike, so every rule holds for both.
 *
 * <p>Image data is on this controller's disk, so uploads, downloads and the start-up recovery
 * below assume one controller serves the images of its data directory.
 */
public final class ImageService {
    private static final Logger log = LoggerFactory.getLogger(ImageService.class);

    /** Glance's default image_format options. */
    public static final List<String> DISK_FORMATS = List.of("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop");
    public static final List<String> CONTAINER_FORMATS = List.of("ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed");
    /** Glance's image_property_quota, image_tag_quota and image_member_quota defaults. */
    public static final int MAX_PROPERTIES = 128;
    public static final int MAX_TAGS = 128;
    public static final int MAX_MEMBERS = 128;
    public static final int MAX_PROPERTY_VALUE = 65_535;

    /** Attributes only the service sets (Glance's read-only properties). */
    public static final Set<String> READ_ONLY = Set.of("created_at", "updated_at", "status", "checksum", "os_hash_algo", "os_hash_value",
            "size", "virtual_size", "id", "direct_url", "self", "file", "schema", "stores");
    /** Names no property may have: Glance's reserved ones and the core attributes. */
    public static final Set<String> RESERVED = Set.of("location", "locations", "deleted", "deleted_at", "owner");
    public static final Set<String> CORE = Set.of("name", "visibility", "protected", "os_hidden", "min_disk", "min_ram", "owner",
            "container_format", "disk_format", "tags", "id", "status", "checksum", "os_hash_algo", "os_hash_value", "size",
            "virtual_size", "created_at", "updated_at");
    private static final String RESERVED_NAMESPACE = "os_glance";
    private static final Pattern UUID_PATTERN =
            Pattern.compile("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$");

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
        return visible(auth, id);
    }

    /** The local file of an active image's data; 409 when it has none yet. */
    public Path file(Image image) {
        requireNonNull(image, "image is null");
        if (image.status() != ImageStatus.ACTIVE && image.status() != ImageStatus.DEACTIVATED) {
            throw CloudException.conflict("Image %s is %s and has no data.", image.id(), image.status().wireName());
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
        requireNonNull(source, "source is null");
        ImageDraft draft = ImageDraft.of(name, properties == null ? Map.of() : properties, diskFormat, containerFormat);
        Image image = newImage(auth, draft);
        requireFormats(image);
        ImageData data = files.adopt(source);
        Image active;
        try {
            active = image.toBuilder().status(ImageStatus.ACTIVE).data(data, virtualSize(image, data)).build();
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
        return active;
    }

    /** Registers a private image of the caller's project without data; {@link #upload} adds it. */
    public Image createQueued(AuthContext auth, String name, Map<String, String> properties, String diskFormat, String containerFormat) {
        return create(auth, ImageDraft.of(name, properties == null ? Map.of() : properties, diskFormat, containerFormat));
    }

    /** Streams the image's data in; see {@link #upload(AuthContext, String, InputStream, Long)}. */
    public void upload(AuthContext auth, String id, InputStream data) {
        upload(auth, id, data, null);
    }

    public void delete(AuthContext auth, String id) {
        Image image = visible(auth, id);
        policy.enforce(auth, "image:delete_image");
        requireMutable(auth, image);
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
            marker = findVisible(auth, query.marker())
                    .orElseThrow(() -> CloudException.badRequest("No image found with ID %s", query.marker()));
        }
        return store.list(query, new ImageStore.Viewer(auth.projectId(), auth.isAdmin()), marker);
    }

    /** Applies every change or none (JSON-patch semantics); an empty list changes nothing. */
    public Image update(AuthContext auth, String id, List<ImageChange> changes) {
        Image image = visible(auth, id);
        if (changes.isEmpty()) {
            return image;
        }
        for (ImageChange change : changes) {
            if (change instanceof ImageChange.SetVisibility(Visibility visibility)) {
                enforceVisibility(auth, visibility);
            }
        }
        policy.enforce(auth, "image:modify_image");
        requireMutable(auth, image);
        return store.update(image.id(), current -> {
            Image.Builder builder = current.toBuilder();
            for (ImageChange change : changes) {
                apply(auth, builder, change);
            }
            Image updated = builder.updatedAt(now()).build();
            checkLimits(updated);
            return updated;
        }).orElseThrow(() -> notFound(id));
    }

    public void addTag(AuthContext auth, String id, String tag) {
        checkTag(tag);
        modify(auth, id, current -> {
            List<String> tags = new ArrayList<>(current.tags());
            if (tags.contains(tag)) {
                return current;
            }
            tags.add(tag);
            Image updated = current.toBuilder().tags(tags).updatedAt(now()).build();
            checkLimits(updated);
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
     * Streams data into a queued image: queued → saving while it arrives → active once it is
     * complete, checksummed and on disk. On any failure the image is queued again and no data is
     * left behind.
     *
     * @param expectedSize the size the client announced (x-openstack-image-size), checked when given
     */
    public void upload(AuthContext auth, String id, InputStream data, Long expectedSize) {
        requireNonNull(data, "data is null");
        Image image = visible(auth, id);
        policy.enforce(auth, "image:modify_image");
        requireMutable(auth, image);
        if (image.status() != ImageStatus.QUEUED) {
            throw transitionRefused(image.status());
        }
        requireFormats(image);
        Image saving = store.transition(image.id(), ImageStatus.QUEUED, current -> current.toBuilder()
                        .status(ImageStatus.SAVING).updatedAt(now()).build())
                .orElseThrow(() -> transitionRefused(store.find(id).map(Image::status).orElse(ImageStatus.QUEUED)));
        ImageData received = null;
        Long virtualSize;
        try {
            received = files.receive(data);
            if (expectedSize != null && expectedSize != received.sizeBytes()) {
                throw CloudException.badRequest("Image size %d does not match the announced size %d.", received.sizeBytes(), expectedSize);
            }
            virtualSize = virtualSize(saving, received);
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
    }

    // ------------------------------------------------------------------ members

    public ImageMember addMember(AuthContext auth, String imageId, String memberId) {
        if (memberId == null || memberId.isEmpty()) {
            throw CloudException.badRequest("Member can't be empty");
        }
        if (memberId.length() > 255) {
            throw CloudException.badRequest("Member %s is longer than 255 characters.", memberId);
        }
        Image image = visible(auth, imageId);
        if (image.visibility() != Visibility.SHARED || !isOwnerOrAdmin(auth, image) || !policy.allows(auth, "image:modify_image")) {
            throw CloudException.forbidden("Not allowed to create members for image %s.", image.id());
        }
        if (store.countMembers(image.id()) >= MAX_MEMBERS) {
            throw new CloudException(ErrorCode.OVER_LIMIT, ("Image member limit exceeded for image %s: The limit has been exceeded on "
                    + "the number of allowed image members for this image. Attempted: %d, Maximum: %d").formatted(image.id(),
                    MAX_MEMBERS + 1, MAX_MEMBERS));
        }
        Instant now = now();
        ImageMember member = new ImageMember(image.id(), memberId, MemberStatus.PENDING, now, now);
        if (!store.insertMember(member)) {
            throw CloudException.conflict("Member %s is duplicated for image %s", memberId, image.id());
        }
        return member;
    }

    /** The owner and admins see every member; a member project sees only its own membership. */
    public List<ImageMember> listMembers(AuthContext auth, String imageId) {
        Image image = visible(auth, imageId);
        if (image.visibility() != Visibility.SHARED) {
            throw CloudException.forbidden("Not allowed to list members for image %s: Only shared images have members.", image.id());
        }
        return store.listMembers(image.id()).stream().filter(member -> canSee(auth, image, member)).toList();
    }

    public ImageMember getMember(AuthContext auth, String imageId, String memberId) {
        Image image = visible(auth, imageId);
        if (image.visibility() != Visibility.SHARED) {
            throw CloudException.notFound("Only shared images have members.");
        }
        return visibleMember(auth, image, memberId);
    }

    /** Only the member project (or an admin) answers an offer; the owner cannot accept for it. */
    public ImageMember updateMember(AuthContext auth, String imageId, String memberId, String status) {
        Image image = visible(auth, imageId);
        if (image.visibility() != Visibility.SHARED || (!auth.isAdmin() && image.owner() != null
                && image.owner().equals(auth.projectId()))) {
            throw CloudException.forbidden("Not allowed to update members for image %s.", image.id());
        }
        ImageMember member = visibleMember(auth, image, memberId);
        if (!auth.isAdmin() && !(auth.hasRole("member") && memberId.equals(auth.projectId()))) {
            throw CloudException.forbidden("Not allowed to update members for image %s.", image.id());
        }
        MemberStatus newStatus = MemberStatus.parse(status);
        if (newStatus == null) {
            throw CloudException.badRequest("Incorrect request: Status must be \"pending\", \"accepted\" or \"rejected\".");
        }
        ImageMember updated = member.withStatus(newStatus, now());
        store.updateMember(updated);
        return updated;
    }

    public void removeMember(AuthContext auth, String imageId, String memberId) {
        Image image = visible(auth, imageId);
        if (image.visibility() != Visibility.SHARED || !isOwnerOrAdmin(auth, image) || !policy.allows(auth, "image:modify_image")) {
            throw CloudException.forbidden("Not allowed to delete members for image %s.", image.id());
        }
        visibleMember(auth, image, memberId);
        store.deleteMember(image.id(), memberId);
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
        if (!UUID_PATTERN.matcher(id).matches()) {
            throw CloudException.badRequest("Invalid image id %s: an image id is a UUID.", id);
        }
        if (draft.name() != null && draft.name().length() > 255) {
            throw CloudException.badRequest("Image name is longer than 255 characters.");
        }
        checkFormat("disk_format", draft.diskFormat(), DISK_FORMATS);
        checkFormat("container_format", draft.containerFormat(), CONTAINER_FORMATS);
        checkNotNegative("min_disk", draft.minDisk());
        checkNotNegative("min_ram", draft.minRam());
        draft.properties().forEach(ImageService::checkProperty);
        draft.tags().forEach(ImageService::checkTag);
        Instant now = now();
        Image image = new Image(id.toLowerCase(Locale.ROOT), draft.name(), owner, ImageStatus.QUEUED, visibility, draft.containerFormat(),
                draft.diskFormat(), null, null, null, null, null, draft.minDisk(), draft.minRam(), draft.protectedImage(),
                draft.osHidden(), draft.properties(), draft.tags(), now, now);
        checkLimits(image);
        return image;
    }

    private void apply(AuthContext auth, Image.Builder image, ImageChange change) {
        switch (change) {
            case ImageChange.SetName(String name) -> {
                if (name != null && name.length() > 255) {
                    throw CloudException.badRequest("Image name is longer than 255 characters.");
                }
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
                checkNotNegative("min_disk", value);
                image.minDisk(value);
            }
            case ImageChange.SetMinRam(int value) -> {
                checkNotNegative("min_ram", value);
                image.minRam(value);
            }
            case ImageChange.SetDiskFormat(String value) -> {
                requireQueuedFor("disk_format", image);
                checkFormat("disk_format", value, DISK_FORMATS);
                image.diskFormat(value);
            }
            case ImageChange.SetContainerFormat(String value) -> {
                requireQueuedFor("container_format", image);
                checkFormat("container_format", value, CONTAINER_FORMATS);
                image.containerFormat(value);
            }
            case ImageChange.SetTags(List<String> tags) -> {
                tags.forEach(ImageService::checkTag);
                image.tags(tags);
            }
            case ImageChange.SetProperty(String name, String value, boolean mustExist, boolean mustNotExist) -> {
                checkProperty(name, value);
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

    private void modify(AuthContext auth, String id, java.util.function.UnaryOperator<Image> change) {
        Image image = visible(auth, id);
        policy.enforce(auth, "image:modify_image");
        requireMutable(auth, image);
        store.update(image.id(), change).orElseThrow(() -> notFound(id));
    }

    private void enforceVisibility(AuthContext auth, Visibility visibility) {
        if (visibility == Visibility.PUBLIC && !policy.allows(auth, "image:publicize_image")) {
            throw CloudException.forbidden("You are not authorized to complete publicize_image action.");
        }
    }

    private Image visible(AuthContext auth, String id) {
        requireNonNull(auth, "auth is null");
        requireNonNull(id, "id is null");
        return findVisible(auth, id).orElseThrow(() -> notFound(id));
    }

    /** Glance's is_image_visible: any membership status lets a project see a shared image. */
    private Optional<Image> findVisible(AuthContext auth, String id) {
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

    private static boolean isOwnerOrAdmin(AuthContext auth, Image image) {
        return auth.isAdmin() || (image.owner() != null && image.owner().equals(auth.projectId()));
    }

    /** Glance's check_is_image_mutable: a visible image that is not yours answers 403, not 404. */
    private static void requireMutable(AuthContext auth, Image image) {
        if (!isOwnerOrAdmin(auth, image)) {
            throw CloudException.forbidden("You do not own this image");
        }
    }

    private static boolean canSee(AuthContext auth, Image image, ImageMember member) {
        return isOwnerOrAdmin(auth, image) || member.memberId().equals(auth.projectId());
    }

    private ImageMember visibleMember(AuthContext auth, Image image, String memberId) {
        return store.findMember(image.id(), memberId)
                .filter(member -> canSee(auth, image, member))
                .orElseThrow(() -> CloudException.notFound("%s not found in the member list of the image %s.", memberId, image.id()));
    }

    private void restoreQueued(String id) {
        try {
            store.transition(id, ImageStatus.SAVING, current -> new Image(current.id(), current.name(), current.owner(),
                    ImageStatus.QUEUED, current.visibility(), current.containerFormat(), current.diskFormat(), null, null, null, null,
                    null, current.minDisk(), current.minRam(), current.protectedImage(), current.osHidden(), current.properties(),
                    current.tags(), current.createdAt(), now()));
        } catch (RuntimeException e) {
            // The next start resets it; the upload's own error is the one to report.
            log.error("cannot put image {} back to queued after a failed upload", id, e);
        }
    }

    /**
     * Glance's format check: a qcow2 image must carry qcow2 data, and qcow2 data must not point
     * at other files whatever format the image claims. Formats Strata cannot inspect pass.
     */
    private static Long virtualSize(Image image, ImageData data) {
        DiskInspection inspection = data.inspection();
        if (inspection.format().equals("qcow2") && inspection.unsafeReason() != null) {
            throw CloudException.badRequest("Image failed safety checks: %s.", inspection.unsafeReason());
        }
        if ("qcow2".equals(image.diskFormat())) {
            if (!inspection.format().equals("qcow2")) {
                throw CloudException.badRequest("Image disk_format qcow2 does not match stream data %s", inspection.format());
            }
            return inspection.virtualSize();
        }
        if ("raw".equals(image.diskFormat())) {
            return data.sizeBytes();
        }
        return null;
    }

    private static void requireFormats(Image image) {
        List<String> missing = new ArrayList<>();
        if (image.diskFormat() == null) {
            missing.add("disk_format");
        }
        if (image.containerFormat() == null) {
            missing.add("container_format");
        }
        if (missing.size() == 1) {
            throw CloudException.badRequest("Property %s must be set prior to saving data.", missing.get(0));
        }
        if (missing.size() == 2) {
            throw CloudException.badRequest("Properties disk_format, container_format must be set prior to saving data.");
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

    private static void checkFormat(String attribute, String value, List<String> allowed) {
        if (value != null && !allowed.contains(value)) {
            throw CloudException.badRequest("Invalid value '%s' for parameter '%s': must be one of %s", value, attribute,
                    String.join(", ", allowed));
        }
    }

    private static void checkNotNegative(String attribute, int value) {
        if (value < 0) {
            throw CloudException.badRequest("Invalid value '%d' for parameter '%s': Cannot be a negative value", value, attribute);
        }
    }

    /** The rules on free-form property names and values, for every way a property arrives. */
    public static void checkProperty(String name, String value) {
        requireNonNull(name, "property name is null");
        if (name.isEmpty() || name.length() > 255) {
            throw CloudException.badRequest("Custom property should not be greater than 255 characters.");
        }
        if (RESERVED.contains(name) || name.startsWith(RESERVED_NAMESPACE)) {
            throw CloudException.forbidden("Attribute '%s' is reserved.", name);
        }
        if (READ_ONLY.contains(name)) {
            throw CloudException.forbidden("Attribute '%s' is read-only.", name);
        }
        if (CORE.contains(name)) {
            throw CloudException.badRequest("'%s' is a core attribute of an image, not a free-form property.", name);
        }
        if (value == null) {
            throw CloudException.badRequest("Property %s has no value; image properties are strings.", name);
        }
        if (value.length() > MAX_PROPERTY_VALUE) {
            throw CloudException.badRequest("Property %s is longer than %d characters.", name, MAX_PROPERTY_VALUE);
        }
    }

    private static void checkTag(String tag) {
        if (tag == null || tag.length() > 255) {
            throw CloudException.badRequest("Invalid tag: a tag is a string of at most 255 characters.");
        }
    }

    private static void checkLimits(Image image) {
        if (image.properties().size() > MAX_PROPERTIES) {
            throw new CloudException(ErrorCode.OVER_LIMIT, ("The limit has been exceeded on the number of allowed image properties. "
                    + "Attempted: %d, Maximum: %d").formatted(image.properties().size(), MAX_PROPERTIES));
        }
        if (image.tags().size() > MAX_TAGS) {
            throw new CloudException(ErrorCode.OVER_LIMIT, ("The limit has been exceeded on the number of allowed image tags. "
                    + "Attempted: %d, Maximum: %d").formatted(image.tags().size(), MAX_TAGS));
        }
    }

    private static CloudException notFound(String id) {
        return CloudException.notFound("No image found with ID %s", id);
    }

    private Instant now() {
        // Both databases keep microseconds; an Instant that round-trips unchanged keeps markers exact.
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
