-- Identity (Keystone v3): domains, projects, users, roles, role assignments, tokens.
-- Ids are 32 hex characters like Keystone's; names are unique within their domain.

create table domains (
    id          varchar(64)  primary key,
    name        varchar(255) not null unique,
    description varchar(1024) not null default '',
    enabled     boolean      not null default true,
    created_at  timestamp with time zone not null
);

create table projects (
    id          varchar(64)  primary key,
    domain_id   varchar(64)  not null references domains (id),
    name        varchar(255) not null,
    description varchar(1024) not null default '',
    enabled     boolean      not null default true,
    created_at  timestamp with time zone not null,
    unique (domain_id, name)
);

create table users (
    id                 varchar(64)  primary key,
    domain_id          varchar(64)  not null references domains (id),
    name               varchar(255) not null,
    password_hash      varchar(512),
    email              varchar(255),
    description        varchar(1024) not null default '',
    enabled            boolean      not null default true,
    default_project_id varchar(64),
    created_at         timestamp with time zone not null,
    unique (domain_id, name)
);

create table roles (
    id          varchar(64)  primary key,
    name        varchar(255) not null unique,
    description varchar(1024) not null default '',
    created_at  timestamp with time zone not null
);

-- A role a user holds on a project or on a domain (target_type 'project' | 'domain').
create table role_assignments (
    user_id     varchar(64) not null references users (id) on delete cascade,
    target_type varchar(16) not null,
    target_id   varchar(64) not null,
    role_id     varchar(64) not null references roles (id) on delete cascade,
    primary key (user_id, target_type, target_id, role_id)
);
create index role_assignments_target on role_assignments (target_type, target_id);

-- Tokens are random; only their SHA-256 is stored, so a database dump reveals none.
create table tokens (
    token_hash varchar(64)  primary key,
    user_id    varchar(64)  not null references users (id) on delete cascade,
    project_id varchar(64),
    domain_id  varchar(64),
    methods    varchar(255) not null,
    audit_id   varchar(64)  not null,
    issued_at  timestamp with time zone not null,
    expires_at timestamp with time zone not null
);
create index tokens_expires_at on tokens (expires_at);
create index tokens_user on tokens (user_id);
