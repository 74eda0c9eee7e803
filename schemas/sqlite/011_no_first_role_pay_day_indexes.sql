-- moonstat warehouse, SQLite, version 11: no index of accounts by the day of
-- their first role or first paid payment. Their one reader was the daily
-- KPIs of a few days (a night), counting accounts with role_day or pay_day
-- on the day; those accounts are among the day's active accounts (a
-- role_create is an account event) and its payers (pay_day comes from a
-- paid, non-sandbox payments row), which the daily KPIs read anyway, so
-- they are now counted there (reports/account_attrs.h). The two indexes
-- cost a 5M-event first load 0.4-0.5 s to build and every night two random
-- inserts per new account.
DROP INDEX accounts_by_role_day;
DROP INDEX accounts_by_pay_day;
