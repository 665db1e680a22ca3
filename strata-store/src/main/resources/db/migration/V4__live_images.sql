-- Live images (Gridcentric VMS / Cobalt): a blessed server's frozen memory, device state and disk
-- base on the host that blessed it. The live image is also a row in servers (status BLESSED,
-- metadata blessed_from), so the Compute API lists and shows it like Cobalt does; this table keeps
-- what only the hosts need, and which servers run from which image (its clones, and its source,
-- which resumes as a copy-on-write clone of its own image).

create table live_images (
    id          varchar(36)   primary key,
    source_id   varchar(36)   not null,
    project_id  varchar(255)  not null,
    host        varchar(255)  not null,
    -- blessing | blessed | error | discarded; a discarded image's files go once nothing runs from it
    status      varchar(16)   not null,
    dir         varchar(1024),
    vcpus       int           not null default 0,
    memory_mb   int           not null default 0,
    attributes  varchar(4000) not null default '{}',
    created_at  timestamp with time zone not null,
    updated_at  timestamp with time zone not null
);
create index live_images_source on live_images (source_id);
create index live_images_status on live_images (status);

-- Every server that runs from a live image: the clones (with what their launch asked for, so an
-- interrupted launch can be run again) and the blessed source.
create table live_image_servers (
    server_id        varchar(36)   primary key,
    live_image_id    varchar(36)   not null references live_images (id),
    is_source        boolean       not null default false,
    guest_params     varchar(4000) not null default '{}',
    target_memory_mb int           not null default 0,
    created_at       timestamp with time zone not null
);
create index live_image_servers_image on live_image_servers (live_image_id);
