-- moonstat warehouse, PostgreSQL, version 2: retention, LTV, revenue by
-- period and by channel/currency (metrics.md). Same tables, columns and
-- column order as schemas/sqlite/002_cohorts_and_revenue.sql; keys start
-- with game_id, with an index on the partition date (see 001_init.sql).

CREATE TABLE retention (
    cohort_date  DATE NOT NULL,
    game_id      TEXT NOT NULL,
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    day          BIGINT NOT NULL,
    cohort_size  BIGINT NOT NULL,
    retained     BIGINT NOT NULL,
    rate         NUMERIC(20,6) NOT NULL,
    PRIMARY KEY (game_id, cohort_date, platform, country, day)
);
CREATE INDEX retention_by_date ON retention (cohort_date);

CREATE TABLE ltv (
    cohort_date  DATE NOT NULL,
    game_id      TEXT NOT NULL,
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    day          BIGINT NOT NULL,
    cohort_size  BIGINT NOT NULL,
    revenue      NUMERIC(20,2) NOT NULL,
    ltv          NUMERIC(20,6) NOT NULL,
    currency     TEXT NOT NULL,
    PRIMARY KEY (game_id, cohort_date, platform, country, day)
);
CREATE INDEX ltv_by_date ON ltv (cohort_date);

CREATE TABLE revenue (
    period        TEXT NOT NULL,         -- day | week | month
    period_start  DATE NOT NULL,
    period_end    DATE NOT NULL,
    game_id       TEXT NOT NULL,
    revenue       NUMERIC(20,2) NOT NULL,
    refund_amount NUMERIC(20,2) NOT NULL,
    net_revenue   NUMERIC(20,2) NOT NULL,
    orders        BIGINT NOT NULL,
    payers        BIGINT NOT NULL,
    active_users  BIGINT NOT NULL,
    arppu         NUMERIC(20,6),
    arpu          NUMERIC(20,6),
    currency      TEXT NOT NULL,
    PRIMARY KEY (game_id, period, period_start)
);
CREATE INDEX revenue_by_start ON revenue (period_start);

CREATE TABLE revenue_by_currency (
    date                    DATE NOT NULL,
    game_id                 TEXT NOT NULL,
    pay_channel             TEXT NOT NULL,
    currency                TEXT NOT NULL,
    orders                  BIGINT NOT NULL,
    amount                  NUMERIC NOT NULL,   -- in currency, with its minor units ('330.00', '1200')
    revenue                 NUMERIC(20,2) NOT NULL,   -- in the reporting currency
    refunds                 BIGINT NOT NULL,
    refund_amount_original  NUMERIC NOT NULL,
    reporting_currency      TEXT NOT NULL,
    PRIMARY KEY (game_id, date, pay_channel, currency)
);
CREATE INDEX revenue_by_currency_by_date ON revenue_by_currency (date);
