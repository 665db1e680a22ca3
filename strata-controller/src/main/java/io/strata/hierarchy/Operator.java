package io.strata.hierarchy;

import io.strata.identity.AuthContext;
import io.strata.identity.Domain;
import io.strata.identity.IdentityStore;
import io.strata.identity.Project;
import io.strata.identity.Roles;
import io.strata.identity.User;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Who Snooze's calls act as. Snooze had no users: its VMs belong to the cloud administrator
 * (user and project "admin"), so the Compute API shows and manages them like any admin server.
 */
public final class Operator {
    private Operator() {}

    public static AuthContext cloudAdmin(IdentityStore identity) {
        Project project = identity.findProjectByName(Domain.DEFAULT_ID, "admin")
                .orElseThrow(() -> new IllegalStateException("the admin project is missing"));
        User user = identity.findUserByName(Domain.DEFAULT_ID, "admin")
                .orElseThrow(() -> new IllegalStateException("the admin user is missing"));
        return new AuthContext(user.id(), user.name(), Domain.DEFAULT_ID, Domain.DEFAULT_NAME, project.id(), project.name(),
                Domain.DEFAULT_ID, Domain.DEFAULT_NAME, null, null, Set.of(Roles.ADMIN, Roles.MEMBER, Roles.READER), List.of("snooze"),
                "snooze", Instant.EPOCH, Instant.MAX);
    }
}
