-- Server groups (Nova's os-server-groups): a policy (affinity, anti-affinity and their soft
-- forms) the scheduler applies to the group's members. A server belongs to one group at most.

create table server_groups (
    id         varchar(36)  primary key,
    name       varchar(255) not null,
    project_id varchar(64)  not null,
    user_id    varchar(64)  not null,
    policy     varchar(32)  not null,
    created_at timestamp with time zone not null
);
create index server_groups_project on server_groups (project_id);

create table server_group_members (
    server_id varchar(36) primary key,
    group_id  varchar(36) not null references server_groups (id) on delete cascade
);
create index server_group_members_group on server_group_members (group_id);
