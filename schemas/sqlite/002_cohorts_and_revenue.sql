-- moonstat warehouse, SQLite, version 2: retention, LTV, revenue by period
-- and by channel/currency (metrics.md). Same columns as their CSV.

CREATE TABLE retention (
    cohort_date  TEXT NOT NULL,
    game_id      TEXT NOT NULL,
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    day          INTEGER NOT NULL,
    cohort_size  INTEGER NOT NULL,
    retained     INTEGER NOT NULL,
    rate         TEXT NOT NULL,
    PRIMARY KEY (cohort_date, game_id, platform, country, day)
);

CREATE TABLE ltv (
    cohort_date  TEXT NOT NULL,
    game_id      TEXT NOT NULL,
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    day          INTEGER NOT NULL,
    cohort_size  INTEGER NOT NULL,
    revenue      TEXT NOT NULL,
    ltv          TEXT NOT NULL,
    currency     TEXT NOT NULL,
    PRIMARY KEY (cohort_date, game_id, platform, country, day)
);

CREATE TABLE revenue (
    period        TEXT NOT NULL,         -- day | week | month
    period_start  TEXT NOT NULL,
    period_end    TEXT NOT NULL,
    game_id       TEXT NOT NULL,
    revenue       TEXT NOT NULL,
    refund_amount TEXT NOT NULL,
    net_revenue   TEXT NOT NULL,
    orders        INTEGER NOT NULL,
    payers        INTEGER NOT NULL,
    active_users  INTEGER NOT NULL,
    arppu         TEXT,
    arpu          TEXT,
    currency      TEXT NOT NULL,
    PRIMARY KEY (period, period_start, game_id)
);
CREATE INDEX revenue_by_start ON revenue (period_start);

CREATE TABLE revenue_by_currency (
    date                    TEXT NOT NULL,
    game_id                 TEXT NOT NULL,
    pay_channel             TEXT NOT NULL,
    currency                TEXT NOT NULL,
    orders                  INTEGER NOT NULL,
    amount                  TEXT NOT NULL,   -- in currency, with its minor units
    revenue                 TEXT NOT NULL,   -- in the reporting currency
    refunds                 INTEGER NOT NULL,
    refund_amount_original  TEXT NOT NULL,
    reporting_currency      TEXT NOT NULL,
    PRIMARY KEY (date, game_id, pay_channel, currency)
);
