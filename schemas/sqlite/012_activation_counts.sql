-- moonstat warehouse, SQLite, version 12: activations counted where the
-- devices are written. A day's activations are its devices by first day,
-- grouped by platform and country; the daily KPIs read them through the
-- index devices_by_day (a night) or by scanning every device of the game (a
-- first load, a backfill). The merge now keeps the counts itself
-- (etl/activation_counts.h): +1 for every new device row, -1 from the
-- stored row's cell and +1 to the new one when a late device_start moves a
-- device, and a cell whose count falls to 0 goes away. The index cost a
-- 5M-event first load a 537K-row sort and every night a random insert per
-- new device; the counts are a few rows per game and day.
CREATE TABLE activations (
    game_id      TEXT NOT NULL,
    day          INTEGER NOT NULL,    -- the devices' first_day
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    devices      INTEGER NOT NULL,    -- > 0: how many devices were first seen
    PRIMARY KEY (game_id, day, platform, country)
) WITHOUT ROWID;
INSERT INTO activations (game_id, day, platform, country, devices)
    SELECT game_id, first_day, platform, country, count(*) FROM devices
    GROUP BY game_id, first_day, platform, country;
DROP INDEX devices_by_day;
