-- moonstat warehouse, PostgreSQL, version 1 (the same tables, columns and
-- column order as schemas/sqlite/001_init.sql, with PostgreSQL's types).
--
-- Days are BIGINT day numbers (days since 1970-01-01) of the game's local
-- calendar; instants are BIGINT epoch milliseconds (UTC); ids are TEXT.
-- Report dates are DATE (read back as YYYY-MM-DD: the session sets
-- DateStyle ISO). Money is NUMERIC(20,2) and ratios NUMERIC(20,6): the text
-- PostgreSQL returns is exactly what the program wrote ('77.83', '0.060302',
-- '0.00'), so the CSVs are byte-identical to the SQLite backend's. Run
-- timestamps stay the RFC 3339 TEXT the program writes (what `moonstat
-- status` shows on both backends).
--
-- Distribution (Citus-style): every fact and report table has game_id in its
-- primary key, first, so that it can be distributed by game_id (and the
-- account tables co-located by (game_id, account_id)); the report tables
-- have an extra index on their partition date, which the exports read by.
-- runs, ingested_files, fx_documents, quarantine and pending_exports are
-- small bookkeeping tables (reference tables); quarantine is keyed by the
-- input file's line, which holds lines of several games.

CREATE TABLE runs (
    run_id       TEXT PRIMARY KEY,
    command      TEXT NOT NULL,          -- run | backfill | reconcile
    run_date     DATE,                   -- --date
    started_at   TEXT NOT NULL,          -- RFC 3339 UTC
    finished_at  TEXT,
    status       TEXT NOT NULL,          -- running | ok | failed
    exit_code    BIGINT,
    message      TEXT
);

-- A file is identified by its path relative to input_dir plus size and content checksum.
CREATE TABLE ingested_files (
    path         TEXT PRIMARY KEY,
    size         BIGINT NOT NULL,
    checksum     TEXT NOT NULL,
    lines        BIGINT NOT NULL,
    run_id       TEXT NOT NULL,
    ingested_at  TEXT NOT NULL
);

-- Per game: the last day processed (the largest --date of any run); days
-- after it are held back.
CREATE TABLE game_state (
    game_id      TEXT PRIMARY KEY,
    horizon      BIGINT NOT NULL
);

-- (game, day) whose facts changed since they were last computed.
CREATE TABLE dirty_days (
    game_id      TEXT NOT NULL,
    day          BIGINT NOT NULL,
    PRIMARY KEY (game_id, day)
);

-- Devices: first-seen day = local day of the earliest device_start.
CREATE TABLE devices (
    game_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    first_ts     BIGINT NOT NULL,
    first_eid    TEXT NOT NULL,
    first_day    BIGINT NOT NULL,
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    PRIMARY KEY (game_id, device_id)
);
CREATE INDEX devices_by_day ON devices (game_id, first_day);

-- Accounts and their first days (see the SQLite schema for the columns).
CREATE TABLE accounts (
    game_id      TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    reg_ts       BIGINT, reg_eid TEXT, reg_day BIGINT, reg_platform TEXT, reg_country TEXT,
    act_ts       BIGINT, act_eid TEXT, act_day BIGINT, act_platform TEXT, act_country TEXT,
    role_ts      BIGINT, role_eid TEXT, role_day BIGINT,
    pay_ts       BIGINT, pay_eid TEXT, pay_day BIGINT, pay_platform TEXT, pay_country TEXT,
    cohort_day   BIGINT,
    platform     TEXT,
    country      TEXT,
    PRIMARY KEY (game_id, account_id)
);
CREATE INDEX accounts_by_cohort ON accounts (game_id, cohort_day);
CREATE INDEX accounts_by_role_day ON accounts (game_id, role_day);
CREATE INDEX accounts_by_pay_day ON accounts (game_id, pay_day);

-- Roles: (game, server, role), created by the account of the earliest role_create.
CREATE TABLE roles (
    game_id      TEXT NOT NULL,
    server_id    TEXT NOT NULL,
    role_id      TEXT NOT NULL,
    first_ts     BIGINT NOT NULL,
    first_eid    TEXT NOT NULL,
    first_day    BIGINT NOT NULL,
    account_id   TEXT NOT NULL,
    PRIMARY KEY (game_id, server_id, role_id)
);
CREATE INDEX roles_by_day ON roles (game_id, first_day);
CREATE INDEX roles_by_account ON roles (game_id, account_id);

-- Account-days with a register, login or role_create event.
CREATE TABLE activity (
    game_id      TEXT NOT NULL,
    day          BIGINT NOT NULL,
    account_id   TEXT NOT NULL,
    PRIMARY KEY (game_id, day, account_id)
);
CREATE INDEX activity_by_account ON activity (game_id, account_id);

-- Payment transitions, one per (game, order, status); the earliest (ts, eid) wins.
CREATE TABLE payments (
    game_id        TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    status         TEXT NOT NULL,        -- paid | refunded
    ts             BIGINT NOT NULL,
    eid            TEXT NOT NULL,
    day            BIGINT NOT NULL,
    account_id     TEXT NOT NULL,
    amount_minor   BIGINT NOT NULL,      -- in minor units of currency
    currency       TEXT NOT NULL,
    pay_channel    TEXT NOT NULL,
    channel_txn_id TEXT,
    product_id     TEXT,
    server_id      TEXT,
    role_id        TEXT,
    sandbox        BIGINT NOT NULL,      -- 0 | 1
    platform       TEXT NOT NULL,
    country        TEXT NOT NULL,
    source         TEXT NOT NULL,        -- log | db
    PRIMARY KEY (game_id, order_id, status)
);
CREATE INDEX payments_by_day ON payments (game_id, day);
CREATE INDEX payments_by_account ON payments (game_id, account_id);

-- Exchange-rate documents as fetched, so a rerun needs no network.
CREATE TABLE fx_documents (
    date         DATE PRIMARY KEY,
    body         TEXT NOT NULL,
    source       TEXT NOT NULL,
    fetched_at   TEXT NOT NULL
);

-- Rejected lines (the lines themselves are in the quarantine files).
CREATE TABLE quarantine (
    file         TEXT NOT NULL,
    line         BIGINT NOT NULL,
    reason       TEXT NOT NULL,
    game_id      TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    PRIMARY KEY (file, line)
);

-- Partitions whose table content changed and whose export is not yet published.
CREATE TABLE pending_exports (
    report       TEXT NOT NULL,
    partition    TEXT NOT NULL,
    PRIMARY KEY (report, partition)
);

-- Reports: the same columns as their CSV (exports.md).
CREATE TABLE data_quality (
    run_date     DATE NOT NULL,
    game_id      TEXT NOT NULL,
    item         TEXT NOT NULL,
    count        BIGINT NOT NULL,
    PRIMARY KEY (game_id, run_date, item)
);
CREATE INDEX data_quality_by_date ON data_quality (run_date);

CREATE TABLE daily_kpi (
    date                 DATE NOT NULL,
    game_id              TEXT NOT NULL,
    platform             TEXT NOT NULL,
    country              TEXT NOT NULL,
    activations          BIGINT NOT NULL,
    registrations        BIGINT NOT NULL,
    registration_rate    NUMERIC(20,6),
    new_roles            BIGINT NOT NULL,
    new_role_accounts    BIGINT NOT NULL,
    role_create_rate     NUMERIC(20,6),
    dau                  BIGINT NOT NULL,
    payers               BIGINT NOT NULL,
    revenue              NUMERIC(20,2) NOT NULL,
    payer_rate           NUMERIC(20,6),
    new_payers           BIGINT NOT NULL,
    new_payer_rate       NUMERIC(20,6),
    new_user_payers      BIGINT NOT NULL,
    new_user_payer_rate  NUMERIC(20,6),
    arpu                 NUMERIC(20,6),
    arppu                NUMERIC(20,6),
    refunds              BIGINT NOT NULL,
    refund_amount        NUMERIC(20,2) NOT NULL,
    currency             TEXT NOT NULL,
    PRIMARY KEY (game_id, date, platform, country)
);
CREATE INDEX daily_kpi_by_date ON daily_kpi (date);
