-- moonstat warehouse, PostgreSQL, version 11 (as schemas/sqlite/011): no
-- index of accounts by the day of their first role or first paid payment;
-- the daily KPIs count those accounts among the day's active accounts and
-- payers.
DROP INDEX accounts_by_role_day;
DROP INDEX accounts_by_pay_day;
