-- moonstat warehouse, SQLite, version 13: activity_by_account leads with the
-- day's 16-day bucket. Keyed (game, account, day), a night's account-days
-- (one day, every active account) landed all over the index: on the 5M
-- bench's day-30 night nearly every leaf page of it was rewritten (the
-- insert and its commit 0.19 s of the store, the WAL and the checkpoint
-- carrying the whole index), and that grew with every day of history.
-- Keyed (game, day / 16, account, day) the night writes only the pages of
-- its own bucket, at most 16 days of account-days whatever the history
-- (0.09 s on the same night). The readers by account name the buckets they
-- read: the probe of an account's latest earlier day of its week or month
-- (at most 3 buckets, newest first), a cohort's retained days (its 30 days:
-- at most 3), the days of an account whose attributes moved (every bucket
-- of the game's days). The width is ACTIVITY_BUCKET_DAYS (etl/warehouse.h).
-- An index parked by a first load that stopped before building it is built
-- here, with its new definition.
DELETE FROM parked_indexes WHERE name = 'activity_by_account';
DROP INDEX IF EXISTS activity_by_account;
CREATE INDEX activity_by_account ON activity (game_id, day / 16, account_id, day);
