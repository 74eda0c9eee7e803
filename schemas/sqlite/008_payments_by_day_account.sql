-- moonstat warehouse, SQLite, version 8: payments_by_day carries the
-- account id. A day's payers (SELECT DISTINCT account_id ... day = ?), its
-- revenue by account (GROUP BY account_id) and the accounts a day's facts
-- refer to were planned on payments_by_account (game, account, day): it
-- hands out account ids in order, or covers the query, so SQLite preferred
-- it, and scanned every payment of the game to find one day's. The night's
-- cost then grew with the game's history (tests/e2e/incremental_cost.sh
-- measured it once the rest of a night got cheaper). With the account id
-- after the day, payments_by_day is the better index for all three.
DROP INDEX payments_by_day;
CREATE INDEX payments_by_day ON payments (game_id, day, account_id);
