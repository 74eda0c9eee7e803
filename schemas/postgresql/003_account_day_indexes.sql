-- moonstat warehouse, PostgreSQL, version 3 (as schemas/sqlite/003): an
-- account's days are read by (game, account, day) when a cohort's retention
-- and LTV are computed; with the day in the index a cohort is read without
-- touching other accounts.
DROP INDEX activity_by_account;
CREATE INDEX activity_by_account ON activity (game_id, account_id, day);
DROP INDEX payments_by_account;
CREATE INDEX payments_by_account ON payments (game_id, account_id, day);
