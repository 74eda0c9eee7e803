-- moonstat warehouse, PostgreSQL, version 6 (as schemas/sqlite/006):
-- accounts_by_cohort carries the account's platform and country, so the
-- cohort sizes (counts per cohort day, platform, country) can be read from
-- the index alone once the table is vacuumed.
DROP INDEX accounts_by_cohort;
CREATE INDEX accounts_by_cohort ON accounts (game_id, cohort_day, platform, country);
