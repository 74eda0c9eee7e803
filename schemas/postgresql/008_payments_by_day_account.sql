-- moonstat warehouse, PostgreSQL, version 8 (as schemas/sqlite/008):
-- payments_by_day carries the account id, so a day's payers and the
-- accounts a day's facts refer to are read from the day's entries alone.
DROP INDEX payments_by_day;
CREATE INDEX payments_by_day ON payments (game_id, day, account_id);
