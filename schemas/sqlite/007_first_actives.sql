-- moonstat warehouse, SQLite, version 7: per game and day, how many
-- accounts were active that day for the first time in its week (Monday to
-- Sunday) and in its calendar month. A week's or month's distinct active
-- users up to a day are the sum over its days, so a night counts its own
-- day instead of the month so far (reports/period_actives.h). Rows are made
-- as periods are computed; a missing row is recomputed, so a warehouse
-- upgraded with an empty table fills it on its next runs.
CREATE TABLE first_actives (
    game_id      TEXT NOT NULL,
    day          INTEGER NOT NULL,
    week_first   INTEGER NOT NULL,
    month_first  INTEGER NOT NULL,
    PRIMARY KEY (game_id, day)
);
