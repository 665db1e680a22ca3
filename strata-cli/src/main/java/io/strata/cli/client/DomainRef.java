package io.strata.cli.client;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** A domain named by id or by name, as Identity v3 accepts either in auth requests. */
public record DomainRef(String id, String name) {
    public DomainRef {
        if ((id == null) == (name == null)) {
            throw new IllegalArgumentException("a domain reference needs exactly one of id and name");
        }
    }

    public static DomainRef byId(String id) {
        return new DomainRef(id, null);
    }

    public static DomainRef byName(String name) {
        return new DomainRef(null, name);
    }

    void writeTo(ObjectNode parent) {
        ObjectNode domain = parent.putObject("domain");
        if (id != null) {
            domain.put("id", id);
        } else {
            domain.put("name", name);
        }
    }
}
