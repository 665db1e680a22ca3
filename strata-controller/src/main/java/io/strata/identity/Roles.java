package io.strata.identity;

/**
 * The roles every Strata cloud has, with Keystone's implications: admin implies member, member
 * implies reader. A token carries the implied roles too, as Keystone's does.
 */
public final class Roles {
    public static final String ADMIN = "admin";
    public static final String MEMBER = "member";
    public static final String READER = "reader";

    private Roles() {}

    public static java.util.Set<String> withImplied(java.util.Collection<String> roles) {
        java.util.Set<String> all = new java.util.TreeSet<>(roles);
        if (all.contains(ADMIN)) {
            all.add(MEMBER);
        }
        if (all.contains(MEMBER)) {
            all.add(READER);
        }
        return all;
    }
}
