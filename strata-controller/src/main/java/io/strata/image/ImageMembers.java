package io.strata.image;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import io.strata.identity.AuthContext;
import io.strata.identity.Policy;
import io.strata.identity.Roles;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;

/**
 * Sharing (glance.api.v2.image_members): the owner of a shared image offers it to other projects;
 * each answers for itself (accepted images appear in its list, any member may look at it). The
 * owner and admins see every member of an image, a member project only its own membership.
 */
public final class ImageMembers {
    private final ImageStore store;
    private final ImageAccess access;
    private final Policy policy;
    private final Clock clock;

    public ImageMembers(ImageStore store, Policy policy, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.access = new ImageAccess(store);
        this.policy = requireNonNull(policy, "policy is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    public ImageMember add(AuthContext auth, String imageId, String memberId) {
        if (memberId == null || memberId.isEmpty()) {
            throw CloudException.badRequest("Member can't be empty");
        }
        if (memberId.length() > 255) {
            throw CloudException.badRequest("Member %s is longer than 255 characters.", memberId);
        }
        Image image = access.visible(auth, imageId);
        if (!mayManage(auth, image)) {
            throw CloudException.forbidden("Not allowed to create members for image %s.", image.id());
        }
        if (store.countMembers(image.id()) >= ImageRules.MAX_MEMBERS) {
            throw new CloudException(ErrorCode.OVER_LIMIT, ("Image member limit exceeded for image %s: The limit has been exceeded on "
                    + "the number of allowed image members for this image. Attempted: %d, Maximum: %d").formatted(image.id(),
                    ImageRules.MAX_MEMBERS + 1, ImageRules.MAX_MEMBERS));
        }
        Instant now = now();
        ImageMember member = new ImageMember(image.id(), memberId, MemberStatus.PENDING, now, now);
        if (!store.insertMember(member)) {
            throw CloudException.conflict("Member %s is duplicated for image %s", memberId, image.id());
        }
        return member;
    }

    public List<ImageMember> list(AuthContext auth, String imageId) {
        Image image = access.visible(auth, imageId);
        if (image.visibility() != Visibility.SHARED) {
            throw CloudException.forbidden("Not allowed to list members for image %s: Only shared images have members.", image.id());
        }
        return store.listMembers(image.id()).stream().filter(member -> canSee(auth, image, member)).toList();
    }

    public ImageMember get(AuthContext auth, String imageId, String memberId) {
        Image image = access.visible(auth, imageId);
        if (image.visibility() != Visibility.SHARED) {
            // Glance turns this Forbidden into NotFound so as not to reveal anything.
            throw CloudException.notFound("Only shared images have members.");
        }
        return visibleMember(auth, image, memberId);
    }

    /** Only the member project itself (or an admin) answers an offer; the owner cannot accept for it. */
    public ImageMember update(AuthContext auth, String imageId, String memberId, String status) {
        Image image = access.visible(auth, imageId);
        boolean owner = !auth.isAdmin() && image.owner() != null && image.owner().equals(auth.projectId());
        if (image.visibility() != Visibility.SHARED || owner) {
            throw CloudException.forbidden("Not allowed to update members for image %s.", image.id());
        }
        ImageMember member = visibleMember(auth, image, memberId);
        if (!auth.isAdmin() && !(auth.hasRole(Roles.MEMBER) && memberId.equals(auth.projectId()))) {
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

    public void remove(AuthContext auth, String imageId, String memberId) {
        Image image = access.visible(auth, imageId);
        if (!mayManage(auth, image)) {
            throw CloudException.forbidden("Not allowed to delete members for image %s.", image.id());
        }
        visibleMember(auth, image, memberId);
        store.deleteMember(image.id(), memberId);
    }

    private boolean mayManage(AuthContext auth, Image image) {
        return image.visibility() == Visibility.SHARED && ImageAccess.isOwnerOrAdmin(auth, image)
                && policy.allows(auth, "image:modify_image");
    }

    private static boolean canSee(AuthContext auth, Image image, ImageMember member) {
        return ImageAccess.isOwnerOrAdmin(auth, image) || member.memberId().equals(auth.projectId());
    }

    private ImageMember visibleMember(AuthContext auth, Image image, String memberId) {
        return store.findMember(image.id(), memberId)
                .filter(member -> canSee(auth, image, member))
                .orElseThrow(() -> CloudException.notFound("%s not found in the member list of the image %s.", memberId, image.id()));
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MICROS);
    }
}
