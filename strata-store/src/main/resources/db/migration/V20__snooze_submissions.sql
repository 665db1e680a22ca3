-- Snooze virtual cluster submissions (startVirtualCluster). Each accepted submission is kept here
-- before its task id is answered, so getVirtualClusterResponse works after a controller restart or
-- a leader change: nothing accepted is lost. The VMs themselves are ordinary rows in servers.
create table snooze_submissions (
    task_id     varchar(36)   primary key,
    -- a VirtualClusterErrorCode when the whole submission failed, else null
    error_code  varchar(64),
    created_at  timestamp with time zone not null
);

-- One VM of a submission, in template order: what it asked for (the capacity vector
-- [cpu, memory KB, rx KB, tx KB] and its libvirt XML) and the server that runs it.
create table snooze_submission_vms (
    task_id     varchar(36)    not null references snooze_submissions (task_id),
    position    int            not null,
    server_id   varchar(36),
    name        varchar(255)   not null,
    vcpus       int            not null,
    memory_kb   bigint         not null,
    rx_kb       double precision not null,
    tx_kb       double precision not null,
    xml         text,
    error_code  varchar(64),
    primary key (task_id, position)
);
create index snooze_submission_vms_server on snooze_submission_vms (server_id);
