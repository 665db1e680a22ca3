-- Compute quotas: the limits an admin gave a project (resources not listed use the configured
-- defaults), and one lock row per project that serialises quota checks with the inserts they
-- allow, so concurrent creates (on any controller) never exceed a quota.

create table project_quotas (
    project_id varchar(64) not null,
    resource   varchar(64) not null,
    hard_limit bigint      not null,
    primary key (project_id, resource)
);

create table project_quota_locks (
    project_id varchar(64) primary key
);
