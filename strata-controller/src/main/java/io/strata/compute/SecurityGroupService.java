package io.strata.compute;

import static java.util.Objects.requireNonNull;

import io.strata.core.CloudException;
import io.strata.identity.AuthContext;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;

/**
 * Security groups as nova-network kept them: per project, a {@code default} group made on first
 * use, ingress rules by protocol, ports and CIDR or remote group, attached to servers. The
 * rules are recorded and shown; packet filtering comes with the network service.
 */
public final class SecurityGroupService {
    private final SecurityGroupStore store;
    private final QuotaService quotas;
    private final Clock clock;

    public SecurityGroupService(SecurityGroupStore store, QuotaService quotas, Clock clock) {
        this.store = requireNonNull(store, "store is null");
        this.quotas = requireNonNull(quotas, "quotas is null");
        this.clock = requireNonNull(clock, "clock is null");
    }

    /** The project's default group, created on first use. */
    public SecurityGroup ensureDefault(String projectId) {
        return store.findByName(projectId, SecurityGroup.DEFAULT).orElseGet(() -> {
            store.insert(UUID.randomUUID().toString(), projectId, SecurityGroup.DEFAULT, "default", clock.instant());
            // Whoever won a concurrent insert, the group now exists.
            return store.findByName(projectId, SecurityGroup.DEFAULT).orElseThrow();
        });
    }

    public List<SecurityGroup> list(AuthContext auth, boolean allProjects) {
        if (auth.projectId() != null) {
            ensureDefault(auth.projectId());
        }
        return store.list(allProjects && auth.isAdmin() ? null : auth.projectId());
    }

    public SecurityGroup get(AuthContext auth, String id) {
        return store.find(id).filter(g -> auth.isAdmin() || g.projectId().equals(auth.projectId()))
                .orElseThrow(() -> CloudException.notFound("Security group %s not found.", id));
    }

    public SecurityGroup create(AuthContext auth, String name, String description) {
        long limit = quotas.limits(auth.projectId()).get(QuotaResource.SECURITY_GROUPS);
        ensureDefault(auth.projectId());
        if (limit >= 0 && store.count(auth.projectId()) >= limit) {
            throw CloudException.forbidden("Quota exceeded, too many security groups.");
        }
        String id = UUID.randomUUID().toString();
        if (!store.insert(id, auth.projectId(), name, description, clock.instant())) {
            throw CloudException.badRequest("Security group %s already exists", name);
        }
        return store.find(id).orElseThrow();
    }

    public SecurityGroup update(AuthContext auth, String id, String name, String description) {
        SecurityGroup group = get(auth, id);
        if (group.name().equals(SecurityGroup.DEFAULT) && !name.equals(SecurityGroup.DEFAULT)) {
            throw CloudException.badRequest("Unable to update system group 'default'");
        }
        if (!name.equals(group.name()) && store.findByName(group.projectId(), name).isPresent()) {
            throw CloudException.badRequest("Security group %s already exists", name);
        }
        store.update(id, name, description);
        return store.find(id).orElseThrow();
    }

    public void delete(AuthContext auth, String id) {
        SecurityGroup group = get(auth, id);
        if (group.name().equals(SecurityGroup.DEFAULT)) {
            throw CloudException.badRequest("Removing default security group not allowed.");
        }
        if (store.serversUsing(id) > 0) {
            throw CloudException.badRequest("Security group is still in use");
        }
        store.delete(id);
    }

    /** Adds an ingress rule after Nova's checks; returns it. */
    public SecurityGroup.Rule addRule(AuthContext auth, String parentId, String protocol, Integer fromPort, Integer toPort, String cidr,
            String remoteGroupId) {
        SecurityGroup parent = get(auth, parentId);
        SecurityGroup.Ref remote = null;
        if (remoteGroupId != null) {
            SecurityGroup other = get(auth, remoteGroupId);
            remote = new SecurityGroup.Ref(other.id(), other.name(), other.projectId());
            // Nova ignores the cidr of a rule with a group_id, and the openstack CLI sends both
            // (cidr 0.0.0.0/0 with --remote-group).
            cidr = null;
        } else if (cidr == null) {
            cidr = "0.0.0.0/0";
        }
        if (cidr != null) {
            checkCidr(cidr);
        }
        String proto = protocol == null || protocol.isEmpty() ? null : protocol.toLowerCase(Locale.ROOT);
        checkPorts(proto, fromPort, toPort);
        for (SecurityGroup.Rule existing : parent.rules()) {
            if (Objects.equals(existing.protocol(), proto) && Objects.equals(existing.fromPort(), fromPort)
                    && Objects.equals(existing.toPort(), toPort) && Objects.equals(existing.cidr(), cidr)
                    && Objects.equals(existing.remoteGroup() == null ? null : existing.remoteGroup().id(), remoteGroupId)) {
                throw CloudException.badRequest("This rule already exists in group %s", parent.id());
            }
        }
        long limit = quotas.limits(parent.projectId()).get(QuotaResource.SECURITY_GROUP_RULES);
        if (limit >= 0 && parent.rules().size() >= limit) {
            throw CloudException.forbidden("Quota exceeded, too many security group rules.");
        }
        SecurityGroup.Rule rule = new SecurityGroup.Rule(UUID.randomUUID().toString(), parent.id(), proto, fromPort, toPort, cidr, remote);
        store.insertRule(rule, clock.instant());
        return rule;
    }

    public void deleteRule(AuthContext auth, String ruleId) {
        String groupId = store.groupOfRule(ruleId).orElseThrow(() -> CloudException.notFound("Rule (%s) not found", ruleId));
        get(auth, groupId);
        store.deleteRule(ruleId);
    }

    /** The ids of the named groups of a project (the default when none is named); 400 for an unknown name. */
    public List<String> resolve(String projectId, List<String> names) {
        SecurityGroup defaultGroup = ensureDefault(projectId);
        List<String> ids = new ArrayList<>();
        for (String name : new LinkedHashSet<>(names.isEmpty() ? List.of(SecurityGroup.DEFAULT) : names)) {
            if (name.equals(SecurityGroup.DEFAULT)) {
                // Just read (or made) above: a create without groups reads the project's groups once.
                ids.add(defaultGroup.id());
                continue;
            }
            ids.add(store.findByName(projectId, name).or(() -> store.find(name).filter(g -> g.projectId().equals(projectId)))
                    .orElseThrow(() -> CloudException.badRequest("Security group %s not found for project %s.", name, projectId)).id());
        }
        return ids;
    }

    public void attach(List<Server> servers, List<String> groupIds) {
        store.attach(servers.stream().map(Server::id).toList(), groupIds);
    }

    public void attach(org.jdbi.v3.core.Handle h, List<Server> servers, List<String> groupIds) {
        store.attach(h, servers.stream().map(Server::id).toList(), groupIds);
    }

    public void addToServer(Server server, String name) {
        String groupId = groupByName(server, name);
        if (!store.attachOne(server.id(), groupId)) {
            throw CloudException.badRequest("Security group %s is already associated with the instance %s", name, server.id());
        }
    }

    public void removeFromServer(Server server, String name) {
        String groupId = groupByName(server, name);
        if (!store.detach(server.id(), groupId)) {
            throw CloudException.badRequest("Security group %s not associated with the instance %s", name, server.id());
        }
    }

    public List<SecurityGroup> ofServer(Server server) {
        return store.ofServer(server.id());
    }

    public List<String> namesOfServer(String serverId) {
        return store.namesOfServer(serverId);
    }

    /** The group names of several servers in one query; a server without groups has no entry. */
    public java.util.Map<String, List<String>> namesOfServers(java.util.Collection<String> serverIds) {
        return store.namesOfServers(serverIds);
    }

    private String groupByName(Server server, String name) {
        ensureDefault(server.projectId());
        // Clients send a name or, like openstackclient, the id they resolved it to.
        return store.findByName(server.projectId(), name).or(() -> store.find(name).filter(g -> g.projectId().equals(server.projectId())))
                .orElseThrow(() -> CloudException.notFound("Security group %s not found for project %s.", name, server.projectId())).id();
    }

    private static void checkPorts(String protocol, Integer from, Integer to) {
        if (protocol == null) {
            if (from != null || to != null) {
                throw CloudException.badRequest("Invalid port range %s:%s. Ports need an IP protocol.", from, to);
            }
            return;
        }
        switch (protocol) {
            case "tcp", "udp" -> {
                if (from == null || to == null) {
                    throw CloudException.badRequest("Not enough parameters to build a valid rule.");
                }
                if (from < 1 || to > 65535 || from < 0 || to < 1) {
                    throw CloudException.badRequest("Invalid port range %d:%d. Valid %s ports should be between 1-65535", from, to,
                            protocol.toUpperCase(Locale.ROOT));
                }
                if (from > to) {
                    throw CloudException.badRequest("Invalid port range %d:%d. Former value cannot be greater than the later", from, to);
                }
            }
            case "icmp" -> {
                if (from == null || to == null || from < -1 || from > 255 || to < -1 || to > 255) {
                    throw CloudException.badRequest("Invalid port range %s:%s. For ICMP, the type:code must be valid", from, to);
                }
            }
            default -> throw CloudException.badRequest("Invalid IP protocol %s.", protocol);
        }
    }

    private static void checkCidr(String cidr) {
        int slash = cidr.indexOf('/');
        boolean valid = slash > 0;
        if (valid) {
            String address = cidr.substring(0, slash);
            String bits = cidr.substring(slash + 1);
            boolean v4 = address.matches("(\\d{1,3})(\\.\\d{1,3}){3}")
                    && java.util.Arrays.stream(address.split("\\.")).allMatch(o -> Integer.parseInt(o) <= 255);
            boolean v6 = address.contains(":") && address.matches("[0-9a-fA-F:.]+");
            valid = (v4 || v6) && bits.matches("\\d{1,3}") && Integer.parseInt(bits) <= (v4 ? 32 : 128);
        }
        if (!valid) {
            throw CloudException.badRequest("Invalid cidr %s.", cidr);
        }
    }
}
