-- moonstat warehouse, PostgreSQL, version 9 (as schemas/sqlite/009): the
-- table of the secondary indexes a first load builds after its facts are
-- committed. PostgreSQL loads with its indexes in place (COPY), so nothing
-- is parked here; the table keeps both backends' schemas the same.
CREATE TABLE parked_indexes (
    name         TEXT PRIMARY KEY,
    create_sql   TEXT NOT NULL
);
