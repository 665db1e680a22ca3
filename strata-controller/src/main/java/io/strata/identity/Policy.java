package io.strata.identity;

import io.strata.core.CloudException;
import io.strata.core.ErrorCode;
import java.util.Map;

/**
 * The policy table: one rule per operation, named as in Nova's and Keystone's policy files so
 * operators recognise them. Ownership (a server belongs to the caller's project) is checked by
 * the services on the object itself; this table decides which roles may attempt an operation.
 */
public final class Policy {
    /** Who may call an operation. */
    public enum Rule {
        /** Any valid token. */
        ANY,
        /** reader, member or admin on the scoped project. */
        READER,
        /** member or admin on the scoped project. */
        MEMBER,
        /** admin only. */
        ADMIN
    }

    private final Map<String, Rule> rules;

    public Policy(Map<String, Rule> rules) {
        this.rules = Map.copyOf(rules);
    }

    public static Policy defaults() {
        return new Policy(Map.ofEntries(
                // Compute: project members manage their servers and keypairs; admins the rest.
                Map.entry("os_compute_api:servers:index", Rule.READER),
                Map.entry("os_compute_api:servers:index:get_all_tenants", Rule.ADMIN),
                Map.entry("os_compute_api:servers:detail", Rule.READER),
                Map.entry("os_compute_api:servers:show", Rule.READER),
                Map.entry("os_compute_api:servers:create", Rule.MEMBER),
                Map.entry("os_compute_api:servers:create:forced_host", Rule.ADMIN),
                Map.entry("os_compute_api:servers:update", Rule.MEMBER),
                Map.entry("os_compute_api:servers:delete", Rule.MEMBER),
                Map.entry("os_compute_api:servers:action", Rule.MEMBER),
                Map.entry("os_compute_api:servers:show:host_status", Rule.ADMIN),
                Map.entry("os_compute_api:os-extended-server-attributes", Rule.ADMIN),
                Map.entry("os_compute_api:os-console-output", Rule.MEMBER),
                Map.entry("os_compute_api:servers:create_image", Rule.MEMBER),
                Map.entry("os_compute_api:server-metadata", Rule.MEMBER),
                Map.entry("os_compute_api:server-metadata:index", Rule.READER),
                Map.entry("os_compute_api:os-flavor-manage:create", Rule.ADMIN),
                Map.entry("os_compute_api:os-flavor-manage:update", Rule.ADMIN),
                Map.entry("os_compute_api:os-flavor-manage:delete", Rule.ADMIN),
                Map.entry("os_compute_api:os-flavor-extra-specs:index", Rule.READER),
                Map.entry("os_compute_api:os-flavor-extra-specs:create", Rule.ADMIN),
                Map.entry("os_compute_api:os-flavor-access", Rule.ADMIN),
                Map.entry("os_compute_api:flavors", Rule.ANY),
                Map.entry("os_compute_api:os-keypairs", Rule.ANY),
                Map.entry("os_compute_api:os-keypairs:other_user", Rule.ADMIN),
                Map.entry("os_compute_api:limits", Rule.ANY),
                Map.entry("os_compute_api:os-availability-zone:list", Rule.ANY),
                Map.entry("os_compute_api:os-availability-zone:detail", Rule.ADMIN),
                Map.entry("os_compute_api:os-hypervisors", Rule.ADMIN),
                Map.entry("os_compute_api:os-services", Rule.ADMIN),
                Map.entry("os_compute_api:os-migrate-server:migrate_live", Rule.ADMIN),
                // The operator's toolbox: aggregates and quotas are admin matters; projects read their quotas.
                Map.entry("os_compute_api:os-aggregates", Rule.ADMIN),
                Map.entry("os_compute_api:os-quota-sets:show", Rule.READER),
                Map.entry("os_compute_api:os-quota-sets:detail", Rule.READER),
                Map.entry("os_compute_api:os-quota-sets:defaults", Rule.ANY),
                Map.entry("os_compute_api:os-quota-sets:update", Rule.ADMIN),
                Map.entry("os_compute_api:os-quota-sets:delete", Rule.ADMIN),
                Map.entry("os_compute_api:os-quota-sets:other_project", Rule.ADMIN),
                Map.entry("os_compute_api:os-server-groups:index", Rule.READER),
                Map.entry("os_compute_api:os-server-groups:index:all_projects", Rule.ADMIN),
                Map.entry("os_compute_api:os-server-groups:show", Rule.READER),
                Map.entry("os_compute_api:os-server-groups:create", Rule.MEMBER),
                Map.entry("os_compute_api:os-server-groups:delete", Rule.MEMBER),
                Map.entry("os_compute_api:os-security-groups:list", Rule.READER),
                Map.entry("os_compute_api:os-lock-server:lock", Rule.MEMBER),
                Map.entry("os_compute_api:os-lock-server:unlock", Rule.MEMBER),
                Map.entry("os_compute_api:os-admin-actions:reset_state", Rule.ADMIN),
                Map.entry("os_compute_api:os-create-backup", Rule.MEMBER),
                Map.entry("os_compute_api:os-evacuate", Rule.ADMIN),
                Map.entry("os_compute_api:os-migrate-server:migrate", Rule.ADMIN),
                Map.entry("os_compute_api:os-migrations:index", Rule.ADMIN),
                Map.entry("os_compute_api:servers:migrations:index", Rule.ADMIN),
                Map.entry("os_compute_api:servers:migrations:show", Rule.ADMIN),
                Map.entry("os_compute_api:servers:migrations:delete", Rule.ADMIN),
                Map.entry("os_compute_api:servers:migrations:force_complete", Rule.ADMIN),
                Map.entry("os_compute_api:os-server-diagnostics", Rule.ADMIN),
                Map.entry("os_compute_api:servers:resize", Rule.MEMBER),
                Map.entry("os_compute_api:servers:confirm_resize", Rule.MEMBER),
                Map.entry("os_compute_api:servers:revert_resize", Rule.MEMBER),
                Map.entry("os_compute_api:os-deferred-delete:force", Rule.MEMBER),
                Map.entry("os_compute_api:os-deferred-delete:restore", Rule.MEMBER),
                Map.entry("os_compute_api:os-instance-actions:list", Rule.READER),
                Map.entry("os_compute_api:os-instance-actions:show", Rule.READER),
                Map.entry("os_compute_api:os-instance-actions:events", Rule.ADMIN),
                Map.entry("os_compute_api:os-security-groups:manage", Rule.MEMBER),
                // Identity: admins manage; users read themselves and their projects.
                Map.entry("identity:admin", Rule.ADMIN),
                Map.entry("identity:list_roles", Rule.ADMIN),
                Map.entry("identity:list_role_assignments", Rule.ADMIN),
                // Image: members upload into their project; admins publish.
                Map.entry("image:get_images", Rule.READER),
                Map.entry("image:add_image", Rule.MEMBER),
                Map.entry("image:modify_image", Rule.MEMBER),
                Map.entry("image:delete_image", Rule.MEMBER),
                Map.entry("image:publicize_image", Rule.ADMIN),
                // Network: the one shared network is visible to every project, as Neutron's shared networks are.
                Map.entry("get_network", Rule.ANY),
                Map.entry("get_subnet", Rule.ANY),
                // Migration (Coriolis): members run transfers in their project; admins manage regions and workers.
                Map.entry("migration:read", Rule.READER),
                Map.entry("migration:write", Rule.MEMBER),
                Map.entry("migration:admin", Rule.ADMIN)));
    }

    /** Throws 403 unless {@code auth} may perform {@code operation}. */
    public void enforce(AuthContext auth, String operation) {
        if (!allows(auth, operation)) {
            throw new CloudException(ErrorCode.FORBIDDEN, "Policy doesn't allow " + operation + " to be performed.");
        }
    }

    public boolean allows(AuthContext auth, String operation) {
        Rule rule = rules.get(operation);
        if (rule == null) {
            // An operation missing from the table is a bug; refusing is the safe side of it.
            return false;
        }
        return switch (rule) {
            case ANY -> true;
            case READER -> auth.hasRole(Roles.READER) || auth.hasRole(Roles.MEMBER) || auth.isAdmin();
            case MEMBER -> auth.hasRole(Roles.MEMBER) || auth.isAdmin();
            case ADMIN -> auth.isAdmin();
        };
    }
}
