-- Security groups (Nova's os-security-groups): per-project groups of ingress rules, attached to
-- servers. They are stored and shown; enforcement comes with the network service.

create table security_groups (
    id          varchar(36)  primary key,
    project_id  varchar(64)  not null,
    name        varchar(255) not null,
    description varchar(255) not null default '',
    created_at  timestamp with time zone not null,
    unique (project_id, name)
);

create table security_group_rules (
    id              varchar(36) primary key,
    group_id        varchar(36) not null references security_groups (id) on delete cascade,
    protocol        varchar(8),
    from_port       integer,
    to_port         integer,
    cidr            varchar(64),
    remote_group_id varchar(36) references security_groups (id) on delete cascade,
    created_at      timestamp with time zone not null
);
create index security_group_rules_group on security_group_rules (group_id);

create table server_security_groups (
    server_id varchar(36) not null,
    group_id  varchar(36) not null references security_groups (id),
    primary key (server_id, group_id)
);
create index server_security_groups_group on server_security_groups (group_id);
