-- Image (Glance v2): images, their free-form properties, tags and members (sharing).
-- An image's data lives in the controller's data directory as images/<id>; the row never names a
-- path, so moving the data directory moves the images with it. Deleted images are removed, not
-- flagged: nothing in Strata reads a deleted image's row.

create table images (
    id               varchar(36)  primary key,
    name             varchar(255),
    owner            varchar(255),
    status           varchar(32)  not null,
    visibility       varchar(16)  not null,
    container_format varchar(32),
    disk_format      varchar(32),
    size_bytes       bigint,
    virtual_size     bigint,
    checksum         varchar(32),
    os_hash_algo     varchar(64),
    os_hash_value    varchar(128),
    min_disk         integer      not null default 0,
    min_ram          integer      not null default 0,
    protected        boolean      not null default false,
    os_hidden        boolean      not null default false,
    created_at       timestamp with time zone not null,
    updated_at       timestamp with time zone not null
);
create index images_owner on images (owner);
create index images_visibility on images (visibility);
create index images_created on images (created_at, id);

-- Free-form properties (kernel_id, hw_*, os_distro…), kept exactly as the client gave them.
create table image_properties (
    image_id varchar(36)  not null references images (id) on delete cascade,
    name     varchar(255) not null,
    value    varchar(65535) not null,
    primary key (image_id, name)
);

create table image_tags (
    image_id varchar(36)  not null references images (id) on delete cascade,
    tag      varchar(255) not null,
    primary key (image_id, tag)
);
create index image_tags_tag on image_tags (tag);

-- Projects a shared image is offered to; status pending | accepted | rejected.
create table image_members (
    image_id   varchar(36)  not null references images (id) on delete cascade,
    member_id  varchar(255) not null,
    status     varchar(16)  not null,
    created_at timestamp with time zone not null,
    updated_at timestamp with time zone not null,
    primary key (image_id, member_id)
);
create index image_members_member on image_members (member_id, status);
