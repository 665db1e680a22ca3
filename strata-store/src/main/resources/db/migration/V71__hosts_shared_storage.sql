-- The name of the instance storage a host shares with others (its agent's
-- --shared-instance-storage directory), null when its VMs' disks are its own: hosts with the same
-- name rebuild each other's servers from their disks when one of them dies (evacuation).
alter table hosts add column shared_storage varchar(64);
