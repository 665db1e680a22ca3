package io.strata.image;

import java.util.List;

/**
 * One change of an image update, as a JSON-patch operation asks for it after the API has checked
 * its shape and types. The service applies a list of them in one transaction, all or nothing.
 */
public sealed interface ImageChange {
    record SetName(String name) implements ImageChange {}

    record SetVisibility(Visibility visibility) implements ImageChange {}

    record SetOwner(String owner) implements ImageChange {}

    record SetProtected(boolean value) implements ImageChange {}

    record SetOsHidden(boolean value) implements ImageChange {}

    record SetMinDisk(int value) implements ImageChange {}

    record SetMinRam(int value) implements ImageChange {}

    record SetDiskFormat(String value) implements ImageChange {}

    record SetContainerFormat(String value) implements ImageChange {}

    record SetTags(List<String> tags) implements ImageChange {
        public SetTags {
            tags = List.copyOf(tags);
        }
    }

    /**
     * Sets a free-form property.
     *
     * @param mustExist JSON-patch "replace": the property must already exist (409 otherwise)
     * @param mustNotExist "add" in the old draft-4 patch format: the property must not exist yet
     */
    record SetProperty(String name, String value, boolean mustExist, boolean mustNotExist) implements ImageChange {}

    /** Removes a free-form property; it must exist. */
    record RemoveProperty(String name) implements ImageChange {}

    /** Removing a core attribute, which Glance refuses (403). */
    record RemoveAttribute(String name) implements ImageChange {}
}
