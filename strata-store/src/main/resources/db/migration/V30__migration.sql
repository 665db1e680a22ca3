-- Migration and replication (Coriolis): endpoints, transfers (replicas and migrations), their
-- executions with task graphs, schedules, minion pools, regions and worker services. Each object
-- is one JSON document; its kind and ids are columns so that lists and lookups stay indexed.
-- "version" makes every update a compare-and-set, so two controllers never lose each other's writes.

create table migration_objects (
    kind       varchar(32)  not null,
    id         varchar(36)  not null,
    project_id varchar(64),
    parent_id  varchar(36),
    version    bigint       not null,
    body       varchar(1048576) not null,
    created_at timestamp with time zone not null,
    updated_at timestamp with time zone not null,
    primary key (kind, id)
);
create index migration_objects_project on migration_objects (kind, project_id, created_at);
create index migration_objects_parent on migration_objects (kind, parent_id);

-- Connection info of endpoints, encrypted with AES-GCM under a key kept in the data directory
-- (never in the database): a stolen database dump reveals no cloud credentials.
create table migration_secrets (
    id         varchar(36)  primary key,
    project_id varchar(64),
    name       varchar(255),
    nonce      varchar(64)  not null,
    ciphertext varchar(1048576) not null,
    created_at timestamp with time zone not null
);
