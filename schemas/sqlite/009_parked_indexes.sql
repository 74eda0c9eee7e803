-- moonstat warehouse, SQLite, version 9: the secondary indexes a first load
-- builds after its facts are committed. An empty fact table is loaded
-- without its secondary indexes (etl/load_order.h); the big tables' ones
-- (devices, roles, activity, accounts) are built while the reports are
-- computed, which a first load's reports do not need them for, in a
-- transaction of their own. Their definitions wait here, written in the
-- facts' transaction and deleted in the build's: a run that stops between
-- the two leaves them here, and the next run builds them before it merges.
CREATE TABLE parked_indexes (
    name         TEXT PRIMARY KEY,       -- the index
    create_sql   TEXT NOT NULL           -- its CREATE INDEX, as the catalog had it
);
