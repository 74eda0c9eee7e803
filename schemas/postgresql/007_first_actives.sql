-- moonstat warehouse, PostgreSQL, version 7 (as schemas/sqlite/007): per
-- game and day, the accounts active that day for the first time in its week
-- and in its calendar month; a period's distinct active users are the sum
-- over its days (reports/period_actives.h).
CREATE TABLE first_actives (
    game_id      TEXT NOT NULL,
    day          BIGINT NOT NULL,
    week_first   BIGINT NOT NULL,
    month_first  BIGINT NOT NULL,
    PRIMARY KEY (game_id, day)
);
