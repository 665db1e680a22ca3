-- One row that controllers starting on the same database lock (select ... for update) while
-- they create the first records (the admin user, the default flavors), one after another.
create table start_lock (id integer primary key);
insert into start_lock (id) values (1);
