-- moonstat warehouse, PostgreSQL, version 12 (as schemas/sqlite/012): the
-- merge keeps the activations per (game, day, platform, country) itself, so
-- no index of devices by first day is needed.
CREATE TABLE activations (
    game_id      TEXT NOT NULL,
    day          BIGINT NOT NULL,
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    devices      BIGINT NOT NULL,
    PRIMARY KEY (game_id, day, platform, country)
);
INSERT INTO activations (game_id, day, platform, country, devices)
    SELECT game_id, first_day, platform, country, count(*) FROM devices
    GROUP BY game_id, first_day, platform, country;
DROP INDEX devices_by_day;
