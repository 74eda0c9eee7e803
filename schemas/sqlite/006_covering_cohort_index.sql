-- moonstat warehouse, SQLite, version 6: accounts_by_cohort carries the
-- account's platform and country. The cohort sizes that retention and LTV
-- divide by are counts per (cohort day, platform, country); with the two
-- attributes in the index they are read from it alone, instead of one table
-- row per account. A night's LTV reads the sizes of 90 cohorts, i.e. every
-- account of the game: 0.29 s for the largest game of the 5M-event bench
-- before, 0.04 s after (tests/bench/RESULTS.md). Its other users (a day's
-- registrations, a cohort's members) use the same leading columns as before.
DROP INDEX accounts_by_cohort;
CREATE INDEX accounts_by_cohort ON accounts (game_id, cohort_day, platform, country);
