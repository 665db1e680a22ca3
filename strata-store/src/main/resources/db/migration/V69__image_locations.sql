-- The own address of the controller that holds an image's data (set by that controller), so that
-- controllers with separate storage copy it from there (io.strata.image.ImageReplication).
alter table images add column stored_at varchar(1024);
