-- moonstat warehouse, PostgreSQL, version 13 (as schemas/sqlite/013):
-- activity_by_account leads with the day's 16-day bucket, so a night's
-- account-days go into the pages of their own bucket instead of all over an
-- index that grows with history; the readers by account name their buckets.
DELETE FROM parked_indexes WHERE name = 'activity_by_account';
DROP INDEX IF EXISTS activity_by_account;
CREATE INDEX activity_by_account ON activity (game_id, (day / 16), account_id, day);
