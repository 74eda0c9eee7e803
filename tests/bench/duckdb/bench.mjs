#!/usr/bin/env node
// tests/bench/duckdb/bench.mjs - the DuckDB side of moonstat's benchmark.
//
// Computes, from the same SDK event files that moonstat reads, the same class
// of work as the nightly job run from scratch: de-duplication by event_id,
// local days per game (ICU time zones), activations, registrations (implicit
// ones by earliest activity), DAU, payers, revenue converted with the day's
// exchange rate, first-time payers, refunds, each with the platform/country
// breakdown rows (ALL/ALL, per platform, per country: GROUPING SETS), then
// retention (days 1-7, 14, 30) and LTV (1, 3, 7, 14, 30) per cohort with the
// same breakdowns.  DuckDB runs in memory through @duckdb/node-api (the
// DuckDB C API), with `SET threads` (2 by default).
//
// It is a benchmark peer, not a second implementation of the contract:
// malformed lines are dropped by the JSON reader (ignore_errors) instead of
// being validated reason by reason, and a duplicate event_id keeps the copy of
// the first file in path order (the line order inside one file is not used).
// See tests/bench/README.md.
//
// usage: node bench.mjs --config moonstat.conf --out DIR [--date YYYY-MM-DD] [--threads N]
//        node bench.mjs --input DIR --fx DIR --games id:Zone,... --out DIR [--currency USD] ...
//
// Writes DIR/daily_kpi.csv, DIR/retention.csv, DIR/ltv.csv and DIR/totals.csv
// (game_id,date,dau,registrations,revenue: the ALL/ALL rows, revenue rounded
// to cents, for tests/bench/run.sh's comparison with moonstat), prints the
// stage timings on stderr and one summary line on stdout.  Exit 0 on success,
// 1 on a failure, 2 on a usage error.

import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const t0 = process.hrtime.bigint();
const secs = (from) => Number(process.hrtime.bigint() - from) / 1e9;

function usage(msg) {
  process.stderr.write(`bench.mjs: ${msg}\n` +
    'usage: node bench.mjs --config moonstat.conf --out DIR [--date YYYY-MM-DD] [--threads N]\n' +
    '       node bench.mjs --input DIR --fx DIR --games id:Zone,... --out DIR [--currency USD] [--date D] [--threads N]\n');
  process.exit(2);
}
function fail(msg) {
  process.stderr.write(`bench.mjs: ${msg}\n`);
  process.exit(1);
}

// ---- arguments and the moonstat configuration --------------------------------

const opt = { threads: '2', currency: null, games: [] };
{
  const a = process.argv.slice(2);
  for (let i = 0; i < a.length; i++) {
    const k = a[i];
    if (k === '-h' || k === '--help') usage('help');
    const v = a[i + 1];
    if (v === undefined) usage(`${k} needs a value`);
    i++;
    switch (k) {
      case '--config': opt.config = v; break;
      case '--input': opt.input = v; break;
      case '--fx': opt.fx = v; break;
      case '--currency': opt.currency = v; break;
      case '--out': opt.out = v; break;
      case '--date': opt.date = v; break;
      case '--threads': opt.threads = v; break;
      case '--games':
        for (const g of v.split(',')) {
          const [id, tz] = g.split(':');
          if (!id || !tz) usage(`--games: expected id:Zone, got '${g}'`);
          opt.games.push({ id, tz });
        }
        break;
      default: usage(`unknown option '${k}'`);
    }
  }
}

// The moonstat INI file: [moonstat] input_dir, fx_rates, reporting_currency and
// one [game <id>] section with `timezone` per game.  Relative paths are
// relative to the file, as moonstat resolves them.
function readConfig(file) {
  let text;
  try { text = fs.readFileSync(file, 'utf8'); } catch (e) { fail(`cannot read ${file}: ${e.message}`); }
  const base = path.dirname(path.resolve(file));
  const res = { games: [] };
  let section = null;
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.*)\]$/.exec(line);
    if (sec) { section = sec[1].trim(); continue; }
    line = line.replace(/\s[#;].*$/, '');
    const eq = line.indexOf('=');
    if (eq < 0) fail(`${file}: not a key = value line: ${raw}`);
    const key = line.slice(0, eq).trim(), val = line.slice(eq + 1).trim();
    if (section === 'moonstat') {
      if (key === 'input_dir') res.input = path.resolve(base, val);
      else if (key === 'fx_rates') {
        if (val.includes('://')) fail(`${file}: fx_rates must be a directory for the bench, got ${val}`);
        res.fx = path.resolve(base, val);
      } else if (key === 'reporting_currency') res.currency = val;
    } else if (section && section.startsWith('game ') && key === 'timezone') {
      res.games.push({ id: section.slice(5).trim(), tz: val });
    }
  }
  return res;
}
if (opt.config) {
  const c = readConfig(opt.config);
  opt.input ??= c.input;
  opt.fx ??= c.fx;
  opt.currency ??= c.currency;
  if (!opt.games.length) opt.games = c.games;
}
opt.currency ??= 'USD';
if (!opt.input) usage('no input directory (--config or --input)');
if (!opt.fx) usage('no exchange-rate directory (--config or --fx)');
if (!opt.out) usage('--out DIR is required');
if (!opt.games.length) usage('no games (--config with [game <id>] sections, or --games)');
if (!/^[A-Z]{3}$/.test(opt.currency)) usage(`bad reporting currency '${opt.currency}'`);
if (opt.date && !/^\d{4}-\d{2}-\d{2}$/.test(opt.date)) usage(`--date: expected YYYY-MM-DD, got '${opt.date}'`);
if (!/^[1-9][0-9]{0,2}$/.test(opt.threads)) usage(`--threads: expected a positive integer, got '${opt.threads}'`);
for (const g of opt.games)
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(g.id) || !/^[A-Za-z0-9_+\-/]+$/.test(g.tz))
    usage(`bad game '${g.id}' or time zone '${g.tz}'`);

// ---- the input files: *.jsonl and *.jsonl.gz under the input tree, hidden
// files and folders skipped, in byte order of the relative path -------------

function listInputs(root) {
  const out = [];
  const walk = (dir, rel) => {
    let ents;
    try { ents = fs.readdirSync(dir, { withFileTypes: true }); } catch (e) { fail(`cannot list ${dir}: ${e.message}`); }
    for (const e of ents) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(dir, e.name), r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(p, r);
      else if (e.isFile() && (e.name.endsWith('.jsonl') || e.name.endsWith('.jsonl.gz'))) out.push({ p, r });
    }
  };
  walk(root, '');
  out.sort((a, b) => Buffer.compare(Buffer.from(a.r), Buffer.from(b.r)));
  return out.map((f) => f.p);
}
const files = listInputs(opt.input);
if (!files.length) fail(`no *.jsonl or *.jsonl.gz files under ${opt.input}`);
const fxFiles = fs.existsSync(opt.fx)
  ? fs.readdirSync(opt.fx).filter((n) => /^\d{4}-\d{2}-\d{2}\.json$/.test(n)).map((n) => path.join(opt.fx, n))
  : fail(`no exchange-rate directory ${opt.fx}`);
if (!fxFiles.length) fail(`no <date>.json exchange-rate documents in ${opt.fx}`);
try { fs.mkdirSync(opt.out, { recursive: true }); } catch (e) { fail(`cannot create ${opt.out}: ${e.message}`); }

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const sqlList = (xs) => `[${xs.map(q).join(', ')}]`;

// ---- the SQL -----------------------------------------------------------------

const KNOWN = `('device_start', 'register', 'login', 'role_create', 'payment')`;
const RET_DAYS = [1, 2, 3, 4, 5, 6, 7, 14, 30];
const LTV_DAYS = [1, 3, 7, 14, 30];
// Breakdown rows: ALL/ALL, one per platform, one per country.
const BD = (keys) => `GROUPING SETS ((${keys}), (${keys}, platform), (${keys}, country))`;
const BD_COLS = `CASE WHEN grouping(platform) = 1 THEN 'ALL' ELSE platform END AS platform,
       CASE WHEN grouping(country) = 1 THEN 'ALL' ELSE country END AS country`;
const horizon = opt.date ? `DATE ${q(opt.date)}` : `(SELECT max(day) FROM ev)`;

const stages = [
  ['setup', `
SET threads = ${opt.threads};
SET TimeZone = 'UTC';
SET preserve_insertion_order = false;
SET temp_directory = ${q(path.join(opt.out, 'duckdb.tmp'))};`],

  // Exchange rates: one row per (document date, currency); the value of one
  // unit of the currency in the reporting currency is rate[R] / rate[C].
  ['fx', `
CREATE TEMP TABLE fx AS
WITH doc AS (
  SELECT date, unnest(map_keys(rates)) AS currency, unnest(map_values(rates)) AS rate
  FROM read_json(${sqlList(fxFiles)}, columns = {base: 'VARCHAR', date: 'DATE', rates: 'MAP(VARCHAR, DOUBLE)'})
)
SELECT c.date, c.currency, r.rate / c.rate AS factor
FROM doc c JOIN doc r ON r.date = c.date AND r.currency = ${q(opt.currency)}
WHERE c.rate > 0;`],

  // Read every file once: known events of configured games, ts to an instant
  // (RFC 3339 string or integer epoch milliseconds), the game's local day
  // (one constant zone per CASE branch: ICU is far slower with a zone that
  // varies per row), normalised platform and country.
  ['read', `
CREATE TEMP TABLE ev AS
WITH r AS (
  SELECT event_id, event, game_id, device_id, account_id, platform, country, order_id, status, amount,
         currency, sandbox, filename,
         coalesce(make_timestamptz(TRY_CAST(ts AS BIGINT) * 1000), TRY_CAST(ts AS TIMESTAMPTZ)) AS t
  FROM read_ndjson(${sqlList(files)},
         columns = {event_id: 'VARCHAR', event: 'VARCHAR', ts: 'VARCHAR', game_id: 'VARCHAR',
                    device_id: 'VARCHAR', account_id: 'VARCHAR', platform: 'VARCHAR', country: 'VARCHAR',
                    order_id: 'VARCHAR', status: 'VARCHAR', amount: 'VARCHAR', currency: 'VARCHAR',
                    sandbox: 'BOOLEAN'},
         ignore_errors = true, filename = true)
  WHERE event IN ${KNOWN} AND game_id IN (${opt.games.map((g) => q(g.id)).join(', ')}) AND event_id IS NOT NULL
)
SELECT event_id, event, game_id, device_id, account_id, t,
       (CASE game_id ${opt.games.map((g) => `WHEN ${q(g.id)} THEN timezone(${q(g.tz)}, t)`).join(' ')} END)::DATE AS day,
       CASE WHEN lower(platform) IN ('ios', 'android', 'pc', 'web') THEN lower(platform) ELSE 'other' END AS platform,
       CASE WHEN regexp_full_match(country, '[A-Za-z]{2}') THEN upper(country) ELSE 'ZZ' END AS country,
       order_id, status, TRY_CAST(amount AS DOUBLE) AS amount, currency, coalesce(sandbox, false) AS sandbox,
       filename
FROM r WHERE t IS NOT NULL;`],

  // One copy per event_id: the first file in path order wins (the line order
  // inside one file is not kept).  Duplicates are rare: find their ids
  // first, then delete the other copies.
  ['dedup', `
CREATE TEMP TABLE dup_rows AS
SELECT rowid AS rid FROM ev SEMI JOIN (SELECT event_id FROM ev GROUP BY event_id HAVING count(*) > 1) USING (event_id)
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY filename, rowid) > 1;
DELETE FROM ev WHERE rowid IN (SELECT rid FROM dup_rows);
ALTER TABLE ev DROP COLUMN filename;`],

  // Payment transitions: one per (game, order, status), the earliest event
  // (ts, event_id) wins; amounts converted with the rate of the local day (or
  // the most recent earlier document within 7 days).
  ['payments', `
CREATE TEMP TABLE pay AS
WITH tr AS (
  SELECT game_id, order_id, status,
         arg_min(struct_pack(account_id, event_id, t, day, amount, currency, sandbox, platform, country),
                 struct_pack(t, event_id)) AS p
  FROM ev WHERE event = 'payment' AND status IN ('paid', 'refunded') AND account_id IS NOT NULL
  GROUP BY game_id, order_id, status
), flat AS (
  SELECT game_id, order_id, status, p.account_id, p.event_id, p.t, p.day, p.amount, p.currency, p.sandbox,
         p.platform, p.country FROM tr
)
SELECT f.*, CASE WHEN f.day - x.date <= 7 THEN f.amount * x.factor END AS amount_rep
FROM flat f ASOF LEFT JOIN fx x ON x.currency = f.currency AND f.day >= x.date;`],

  // Devices (first device_start), account-days of activity, accounts
  // (registration day and attributes, first pay day).
  ['facts', `
CREATE TEMP TABLE devices AS
SELECT game_id, device_id, r.day, r.platform, r.country FROM (
  SELECT game_id, device_id, arg_min(struct_pack(day, platform, country), struct_pack(t, event_id)) AS r
  FROM ev WHERE event = 'device_start' AND device_id IS NOT NULL GROUP BY game_id, device_id);

CREATE TEMP TABLE act AS
SELECT DISTINCT game_id, account_id, day FROM (
  SELECT game_id, account_id, day FROM ev
  WHERE event IN ('register', 'login', 'role_create') AND account_id IS NOT NULL
  UNION ALL
  SELECT game_id, account_id, day FROM pay WHERE status = 'paid' AND NOT sandbox);

CREATE TEMP TABLE acct AS
WITH reg AS (
  SELECT game_id, account_id, arg_min(struct_pack(day, platform, country), struct_pack(t, event_id)) AS r
  FROM ev WHERE event = 'register' AND account_id IS NOT NULL GROUP BY game_id, account_id
), unreg AS ( -- active accounts without a register event: registered by their earliest activity
  SELECT DISTINCT game_id, account_id FROM act ANTI JOIN reg USING (game_id, account_id)
), implicit AS (
  SELECT game_id, account_id, arg_min(struct_pack(day, platform, country), struct_pack(t, event_id)) AS r
  FROM (
    SELECT game_id, account_id, day, platform, country, t, event_id FROM ev SEMI JOIN unreg USING (game_id, account_id)
    WHERE event IN ('login', 'role_create')
    UNION ALL
    SELECT game_id, account_id, day, platform, country, t, event_id FROM pay SEMI JOIN unreg USING (game_id, account_id)
    WHERE status = 'paid' AND NOT sandbox)
  GROUP BY game_id, account_id
), firstpay AS (
  SELECT game_id, account_id, min(day) AS pay_day FROM pay WHERE status = 'paid' AND NOT sandbox
  GROUP BY game_id, account_id
), regd AS (
  SELECT game_id, account_id, r.day AS reg_day, r.platform, r.country, false AS implicit FROM reg
  UNION ALL
  SELECT game_id, account_id, r.day, r.platform, r.country, true FROM implicit
)
SELECT coalesce(r.game_id, p.game_id) AS game_id, coalesce(r.account_id, p.account_id) AS account_id,
       r.reg_day, coalesce(r.platform, 'other') AS platform, coalesce(r.country, 'ZZ') AS country,
       r.implicit, p.pay_day
FROM regd r FULL JOIN firstpay p ON p.game_id = r.game_id AND p.account_id = r.account_id;`],

  // Daily KPIs with the breakdown rows, days up to the horizon.
  ['daily_kpi', `
CREATE TEMP TABLE daily_kpi AS
WITH payer_days AS (
  SELECT game_id, account_id, day, sum(amount_rep) AS revenue, count(*) AS orders
  FROM pay WHERE status = 'paid' AND NOT sandbox GROUP BY game_id, account_id, day
), base AS (
  SELECT game_id, day, platform, country, 1 AS activations, 0 AS registrations, 0 AS dau, 0 AS payers,
         0 AS new_payers, 0 AS new_user_payers, 0.0::DOUBLE AS revenue, 0 AS refunds, 0.0::DOUBLE AS refund_amount
  FROM devices
  UNION ALL
  SELECT game_id, reg_day, platform, country, 0, 1, 0, 0, 0, 0, 0, 0, 0 FROM acct WHERE reg_day IS NOT NULL
  UNION ALL
  SELECT s.game_id, s.day, a.platform, a.country, 0, 0, 1, 0, 0, 0, 0, 0, 0
  FROM act s JOIN acct a USING (game_id, account_id)
  UNION ALL
  SELECT s.game_id, s.day, a.platform, a.country, 0, 0, 0, 1, 0, CASE WHEN a.reg_day = s.day THEN 1 ELSE 0 END,
         s.revenue, 0, 0
  FROM payer_days s JOIN acct a USING (game_id, account_id)
  UNION ALL
  SELECT game_id, pay_day, platform, country, 0, 0, 0, 0, 1, 0, 0, 0, 0 FROM acct WHERE pay_day IS NOT NULL
  UNION ALL -- refunds: the account's attributes when it is registered, else the refund event's own
  SELECT p.game_id, p.day, coalesce(a.platform, p.platform), coalesce(a.country, p.country),
         0, 0, 0, 0, 0, 0, 0, 1, p.amount_rep
  FROM pay p LEFT JOIN acct a ON a.game_id = p.game_id AND a.account_id = p.account_id AND a.reg_day IS NOT NULL
  WHERE p.status = 'refunded' AND NOT p.sandbox
)
SELECT day AS date, game_id, ${BD_COLS},
       sum(activations) AS activations, sum(registrations) AS registrations, sum(dau) AS dau,
       sum(payers) AS payers, round(sum(revenue), 2) AS revenue, sum(new_payers) AS new_payers,
       sum(new_user_payers) AS new_user_payers, sum(refunds) AS refunds,
       round(sum(refund_amount), 2) AS refund_amount
FROM base WHERE day <= ${horizon}
GROUP BY ${BD('game_id, day')}
HAVING sum(activations) + sum(registrations) + sum(dau) + sum(payers) + sum(new_payers) + sum(refunds) > 0
    OR sum(revenue) <> 0 OR sum(refund_amount) <> 0;`],

  // Retention: cohort = accounts registered on C; retained on C+N = active on
  // that day; a cell exists once C+N <= the horizon (0 retained included).
  ['retention', `
CREATE TEMP TABLE retention AS
WITH size AS (
  SELECT game_id, reg_day AS cohort_date, ${BD_COLS}, count(*) AS cohort_size
  FROM acct WHERE reg_day IS NOT NULL AND reg_day <= ${horizon}
  GROUP BY ${BD('game_id, reg_day')}
), kept AS (
  SELECT game_id, reg_day AS cohort_date, n, ${BD_COLS}, count(*) AS retained
  FROM (SELECT a.game_id, a.reg_day, a.platform, a.country, s.day - a.reg_day AS n
        FROM acct a JOIN act s USING (game_id, account_id)
        WHERE a.reg_day IS NOT NULL AND s.day <= ${horizon} AND s.day - a.reg_day IN (${RET_DAYS.join(', ')}))
  GROUP BY ${BD('game_id, reg_day, n')}
)
SELECT z.cohort_date, z.game_id, z.platform, z.country, d.n AS day, z.cohort_size,
       coalesce(k.retained, 0) AS retained, round(coalesce(k.retained, 0) / z.cohort_size, 6) AS rate
FROM size z CROSS JOIN (SELECT unnest([${RET_DAYS.join(', ')}]) AS n) d
LEFT JOIN kept k ON k.game_id = z.game_id AND k.cohort_date = z.cohort_date AND k.n = d.n
                AND k.platform = z.platform AND k.country = z.country
WHERE z.cohort_date + d.n <= ${horizon};`],

  // LTV N: gross revenue of the cohort's accounts on days C .. C+N-1 over the
  // cohort size; a cell exists once C+N-1 <= the horizon.
  ['ltv', `
CREATE TEMP TABLE ltv AS
WITH size AS (
  SELECT game_id, reg_day AS cohort_date, ${BD_COLS}, count(*) AS cohort_size
  FROM acct WHERE reg_day IS NOT NULL AND reg_day <= ${horizon}
  GROUP BY ${BD('game_id, reg_day')}
), paid AS (
  SELECT game_id, reg_day AS cohort_date, ${BD_COLS},
         ${LTV_DAYS.map((n) => `sum(amount_rep) FILTER (WHERE off < ${n}) AS r${n}`).join(', ')}
  FROM (SELECT a.game_id, a.reg_day, a.platform, a.country, p.day - a.reg_day AS off, p.amount_rep
        FROM acct a JOIN pay p USING (game_id, account_id)
        WHERE a.reg_day IS NOT NULL AND p.status = 'paid' AND NOT p.sandbox AND p.day <= ${horizon}
          AND p.day >= a.reg_day AND p.day - a.reg_day < ${Math.max(...LTV_DAYS)})
  GROUP BY ${BD('game_id, reg_day')}
), cells AS (
  SELECT z.cohort_date, z.game_id, z.platform, z.country, z.cohort_size, d.n,
         CASE d.n ${LTV_DAYS.map((n) => `WHEN ${n} THEN p.r${n}`).join(' ')} END AS revenue
  FROM size z CROSS JOIN (SELECT unnest([${LTV_DAYS.join(', ')}]) AS n) d
  LEFT JOIN paid p ON p.game_id = z.game_id AND p.cohort_date = z.cohort_date
                  AND p.platform = z.platform AND p.country = z.country
  WHERE z.cohort_date + d.n - 1 <= ${horizon}
)
SELECT cohort_date, game_id, platform, country, n AS day, cohort_size,
       round(coalesce(revenue, 0), 2) AS revenue, round(coalesce(revenue, 0) / cohort_size, 6) AS ltv
FROM cells;`],

  // CSV money with 2 decimals and ratios with 6, as moonstat's exports.
  ['write', `
CREATE MACRO fmt(x, d) AS printf('%.' || d || 'f', CASE WHEN x = 0 THEN 0.0 ELSE x END);
COPY (SELECT date, game_id, platform, country, activations, registrations, dau, payers, fmt(revenue, 2) AS revenue,
             new_payers, new_user_payers, refunds, fmt(refund_amount, 2) AS refund_amount
      FROM daily_kpi ORDER BY ALL) TO ${q(path.join(opt.out, 'daily_kpi.csv'))} (HEADER);
COPY (SELECT cohort_date, game_id, platform, country, day, cohort_size, retained, fmt(rate, 6) AS rate
      FROM retention ORDER BY ALL) TO ${q(path.join(opt.out, 'retention.csv'))} (HEADER);
COPY (SELECT cohort_date, game_id, platform, country, day, cohort_size, fmt(revenue, 2) AS revenue, fmt(ltv, 6) AS ltv
      FROM ltv ORDER BY ALL) TO ${q(path.join(opt.out, 'ltv.csv'))} (HEADER);
COPY (SELECT game_id, strftime(date, '%Y-%m-%d') AS date, dau, registrations, fmt(revenue, 2) AS revenue
      FROM daily_kpi WHERE platform = 'ALL' AND country = 'ALL' ORDER BY game_id, date)
  TO ${q(path.join(opt.out, 'totals.csv'))} (HEADER);`],
];

// ---- run -----------------------------------------------------------------------

let db, con;
try {
  db = await DuckDBInstance.create(':memory:', { threads: opt.threads });
  con = await db.connect();
} catch (e) {
  fail(`cannot start DuckDB: ${e.message}`);
}
for (const [name, sql] of stages) {
  const t = process.hrtime.bigint();
  try {
    await con.run(sql);
  } catch (e) {
    fail(`stage ${name} failed: ${e.message}`);
  }
  process.stderr.write(`bench.mjs: ${name} ${secs(t).toFixed(2)} s\n`);
}
const counts = (await con.runAndReadAll(`
  SELECT (SELECT count(*) FROM ev) AS events, (SELECT count(*) FROM acct WHERE reg_day IS NOT NULL) AS accounts,
         (SELECT count(*) FILTER (WHERE implicit) FROM acct) AS implicit,
         (SELECT count(*) FROM pay WHERE amount_rep IS NULL AND NOT sandbox) AS fx_missing,
         (SELECT count(*) FROM daily_kpi) AS kpi_rows, (SELECT count(*) FROM retention) AS retention_rows,
         (SELECT count(*) FROM ltv) AS ltv_rows`)).getRowObjectsJson()[0];
con.closeSync?.();
fs.rmSync(path.join(opt.out, 'duckdb.tmp'), { recursive: true, force: true });
process.stdout.write(`duckdb: ${files.length} files, ${counts.events} events after de-duplication, ` +
  `${counts.accounts} registered accounts (${counts.implicit} implicit), ${counts.kpi_rows} daily_kpi rows, ` +
  `${counts.retention_rows} retention cells, ${counts.ltv_rows} ltv cells` +
  (Number(counts.fx_missing) ? `, ${counts.fx_missing} payments without a rate` : '') +
  `; threads ${opt.threads}; wall ${secs(t0).toFixed(3)} s\n`);
