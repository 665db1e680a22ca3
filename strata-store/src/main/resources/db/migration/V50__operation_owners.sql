-- Which controller process runs the operation in flight on a server (a build, a delete, an
-- action). Several controllers share the database; when one dies, the elected leader takes over
-- the operations whose owner no longer holds a ZooKeeper session and finishes them.
create table operation_owners (
    server_id     varchar(36) primary key,
    controller_id varchar(64) not null,
    claimed_at    timestamp with time zone not null
);
