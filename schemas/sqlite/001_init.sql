-- moonstat warehouse, SQLite, version 1.
--
-- Facts and dimensions: what is needed to recompute any day exactly without
-- re-reading the logs. Days are INTEGER day numbers (days since 1970-01-01)
-- of the game's local calendar; instants are INTEGER epoch milliseconds (UTC);
-- "eid" is the event_id that fixed a first-seen value ("earliest" is the
-- smallest (ts, eid), inputs.md). Reports are tables with the same columns
-- as their CSV; money and ratios are stored as exact decimal TEXT (SQLite has
-- no decimal type, and a REAL would not be exact).

CREATE TABLE runs (
    run_id       TEXT PRIMARY KEY,
    command      TEXT NOT NULL,          -- run | backfill | reconcile
    run_date     TEXT,                   -- --date (YYYY-MM-DD)
    started_at   TEXT NOT NULL,          -- RFC 3339 UTC
    finished_at  TEXT,
    status       TEXT NOT NULL,          -- running | ok | failed
    exit_code    INTEGER,
    message      TEXT
);

-- A file is identified by its path relative to input_dir plus size and content checksum.
CREATE TABLE ingested_files (
    path         TEXT PRIMARY KEY,
    size         INTEGER NOT NULL,
    checksum     TEXT NOT NULL,
    lines        INTEGER NOT NULL,
    run_id       TEXT NOT NULL,
    ingested_at  TEXT NOT NULL
);

-- Per game: the last day processed (the largest --date of any run); days
-- after it are held back.
CREATE TABLE game_state (
    game_id      TEXT PRIMARY KEY,
    horizon      INTEGER NOT NULL
);

-- (game, day) whose facts changed since they were last computed.
CREATE TABLE dirty_days (
    game_id      TEXT NOT NULL,
    day          INTEGER NOT NULL,
    PRIMARY KEY (game_id, day)
) WITHOUT ROWID;

-- Devices: first-seen day = local day of the earliest device_start.
CREATE TABLE devices (
    game_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    first_ts     INTEGER NOT NULL,
    first_eid    TEXT NOT NULL,
    first_day    INTEGER NOT NULL,
    platform     TEXT NOT NULL,
    country      TEXT NOT NULL,
    PRIMARY KEY (game_id, device_id)
);
CREATE INDEX devices_by_day ON devices (game_id, first_day);

-- Accounts and their first days. reg_* = earliest register event; act_* =
-- earliest register/login/role_create; pay_* = earliest paid non-sandbox
-- payment; cohort_day/platform/country = the registration day and attributes
-- that follow from them (metrics.md), kept for indexing.
CREATE TABLE accounts (
    game_id      TEXT NOT NULL,
    account_id   TEXT NOT NULL,
    reg_ts       INTEGER, reg_eid TEXT, reg_day INTEGER, reg_platform TEXT, reg_country TEXT,
    act_ts       INTEGER, act_eid TEXT, act_day INTEGER, act_platform TEXT, act_country TEXT,
    role_ts      INTEGER, role_eid TEXT, role_day INTEGER,
    pay_ts       INTEGER, pay_eid TEXT, pay_day INTEGER, pay_platform TEXT, pay_country TEXT,
    cohort_day   INTEGER,
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
    first_ts     INTEGER NOT NULL,
    first_eid    TEXT NOT NULL,
    first_day    INTEGER NOT NULL,
    account_id   TEXT NOT NULL,
    PRIMARY KEY (game_id, server_id, role_id)
);
CREATE INDEX roles_by_day ON roles (game_id, first_day);
CREATE INDEX roles_by_account ON roles (game_id, account_id);

-- Account-days with a register, login or role_create event (paid payments
-- make an account active too; they are read from payments).
CREATE TABLE activity (
    game_id      TEXT NOT NULL,
    day          INTEGER NOT NULL,
    account_id   TEXT NOT NULL,
    PRIMARY KEY (game_id, day, account_id)
) WITHOUT ROWID;
CREATE INDEX activity_by_account ON activity (game_id, account_id);

-- Payment transitions, one per (game, order, status); the earliest (ts, eid) wins.
CREATE TABLE payments (
    game_id        TEXT NOT NULL,
    order_id       TEXT NOT NULL,
    status         TEXT NOT NULL,        -- paid | refunded
    ts             INTEGER NOT NULL,
    eid            TEXT NOT NULL,
    day            INTEGER NOT NULL,
    account_id     TEXT NOT NULL,
    amount_minor   INTEGER NOT NULL,     -- in minor units of currency
    currency       TEXT NOT NULL,
    pay_channel    TEXT NOT NULL,
    channel_txn_id TEXT,
    product_id     TEXT,
    server_id      TEXT,
    role_id        TEXT,
    sandbox        INTEGER NOT NULL,
    platform       TEXT NOT NULL,
    country        TEXT NOT NULL,
    source         TEXT NOT NULL,        -- log | db
    PRIMARY KEY (game_id, order_id, status)
);
CREATE INDEX payments_by_day ON payments (game_id, day);
CREATE INDEX payments_by_account ON payments (game_id, account_id);

-- Exchange-rate documents as fetched, so a rerun needs no network.
CREATE TABLE fx_documents (
    date         TEXT PRIMARY KEY,
    body         TEXT NOT NULL,
    source       TEXT NOT NULL,
    fetched_at   TEXT NOT NULL
);

-- Rejected lines (the lines themselves are in the quarantine files).
CREATE TABLE quarantine (
    file         TEXT NOT NULL,
    line         INTEGER NOT NULL,
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
    run_date     TEXT NOT NULL,
    game_id      TEXT NOT NULL,
    item         TEXT NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (run_date, game_id, item)
);

CREATE TABLE daily_kpi (
    date                 TEXT NOT NULL,
    game_id              TEXT NOT NULL,
    platform             TEXT NOT NULL,
    country              TEXT NOT NULL,
    activations          INTEGER NOT NULL,
    registrations        INTEGER NOT NULL,
    registration_rate    TEXT,
    new_roles            INTEGER NOT NULL,
    new_role_accounts    INTEGER NOT NULL,
    role_create_rate     TEXT,
    dau                  INTEGER NOT NULL,
    payers               INTEGER NOT NULL,
    revenue              TEXT NOT NULL,
    payer_rate           TEXT,
    new_payers           INTEGER NOT NULL,
    new_payer_rate       TEXT,
    new_user_payers      INTEGER NOT NULL,
    new_user_payer_rate  TEXT,
    arpu                 TEXT,
    arppu                TEXT,
    refunds              INTEGER NOT NULL,
    refund_amount        TEXT NOT NULL,
    currency             TEXT NOT NULL,
    PRIMARY KEY (date, game_id, platform, country)
);
