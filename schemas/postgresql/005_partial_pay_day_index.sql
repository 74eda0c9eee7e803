-- moonstat warehouse, PostgreSQL, version 5 (as schemas/sqlite/005):
-- accounts_by_pay_day holds only the accounts that have paid. It serves one
-- query, a day's first-time payers (pay_day = $2), which implies pay_day IS
-- NOT NULL, so the planner still uses it.
DROP INDEX accounts_by_pay_day;
CREATE INDEX accounts_by_pay_day ON accounts (game_id, pay_day) WHERE pay_day IS NOT NULL;
