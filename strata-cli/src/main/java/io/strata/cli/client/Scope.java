package io.strata.cli.client;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** What the token is for: a project, a whole domain, or nothing in particular. */
public sealed interface Scope {
    /** Writes {@code auth.scope} when there is one. */
    void writeTo(ObjectNode auth);

    record Project(String id, String name, DomainRef domain) implements Scope {
        public Project {
            if (id == null) {
                requireNonNull(name, "a project needs an id or a name");
                requireNonNull(domain, "domain is null (a project name is only unique within a domain)");
            }
        }

        @Override
        public void writeTo(ObjectNode auth) {
            ObjectNode project = auth.putObject("scope").putObject("project");
            if (id != null) {
                project.put("id", id);
            } else {
                project.put("name", name);
                domain.writeTo(project);
            }
        }
    }

    record Domain(DomainRef domain) implements Scope {
        public Domain {
            requireNonNull(domain, "domain is null");
        }

        @Override
        public void writeTo(ObjectNode auth) {
            ObjectNode scope = auth.putObject("scope");
            domain.writeTo(scope);
        }
    }

    record Unscoped() implements Scope {
        @Override
        public void writeTo(ObjectNode auth) {
            // No scope: the token carries no roles and no catalog beyond Identity's own.
        }
    }
}
