-- Nova's reservation_id list filter: the servers of one multiple create, found without a scan.
create index servers_reservation on servers (reservation_id);
