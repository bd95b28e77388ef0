-- Gamma-Gamma fitted by crm_gammagamma_fit: the published CDNOW figures,
-- customers without repeat purchases left out, parallel plans, and every
-- bad input.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(17);

CREATE TEMP TABLE published (id int, x int, t_x numeric, "T" numeric, zbar numeric);
\copy published FROM 'data/cdnow_sample_summary.csv' WITH (FORMAT csv, HEADER)

-- Fader, Hardie & Lee, "RFM and CLV" (2005): p = 6.25, q = 3.74,
-- gamma = 15.44 on the 946 CDNOW sample customers with repeat purchases.
CREATE TEMP TABLE fit AS SELECT (crm_gammagamma_fit(x, zbar)).* FROM published WHERE x > 0;
SELECT ok((SELECT converged FROM fit), 'the CDNOW spend fit converges');
SELECT is((SELECT customers FROM fit), 946::bigint, 'over the 946 customers with repeat purchases');
SELECT ok((SELECT abs(p / 6.25 - 1) < 0.01 FROM fit), 'p = 6.25 within 1%');
SELECT ok((SELECT abs(q / 3.74 - 1) < 0.01 FROM fit), 'q = 3.74 within 1%');
SELECT ok((SELECT abs(gamma / 15.44 - 1) < 0.01 FROM fit), 'gamma = 15.44 within 1%');
SELECT is((SELECT row(f.*)::text FROM (SELECT (crm_gammagamma_fit(x, zbar)).* FROM published) f),
          (SELECT row(f.*)::text FROM fit f), 'customers without repeat purchases are left out');

-- Parallel: the same model from partial states.
CREATE TABLE gg_many AS SELECT p.* FROM published p, generate_series(1, 20);
ANALYZE gg_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
\ir lib/plan_of.sql
SELECT matches(pg_temp.plan_of('SELECT crm_gammagamma_fit(x, zbar) FROM gg_many'),
               'Partial Aggregate', 'crm_gammagamma_fit is planned as a partial aggregate');
CREATE TEMP TABLE parallel_fit AS SELECT (crm_gammagamma_fit(x, zbar)).* FROM gg_many;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fit AS SELECT (crm_gammagamma_fit(x, zbar)).* FROM gg_many;
SELECT is((SELECT row(p.*)::text FROM parallel_fit p), (SELECT row(s.*)::text FROM serial_fit s),
          'parallel and serial fits are identical');
RESET max_parallel_workers_per_gather;

SELECT is((SELECT crm_gammagamma_fit(x, zbar) FROM published WHERE false), NULL, 'no rows: NULL');
SELECT is((SELECT crm_gammagamma_fit(x, NULL) FROM published), NULL, 'only NULL values: NULL');
SELECT throws_ok($$SELECT crm_gammagamma_fit(x, zbar) FROM published WHERE x = 0$$, '22023',
                 'no customer made a repeat purchase', 'all-zero frequencies: an error, not NaN');
SELECT throws_ok($$SELECT crm_gammagamma_fit(-1, 10)$$, '22023', NULL, 'negative frequency');
SELECT throws_ok($$SELECT crm_gammagamma_fit(2.5, 10)$$, '22023', NULL, 'fractional frequency');
SELECT throws_ok($$SELECT crm_gammagamma_fit(2, 0)$$, '22003',
                 'avg_value must be positive for a customer with repeat purchases', 'zero value');
SELECT throws_ok($$SELECT crm_gammagamma_fit(2, 'NaN')$$, '22023', 'avg_value cannot be NaN', 'NaN value');
SELECT throws_ok($$SELECT crm_gammagamma_fit(x, zbar, -0.1) FROM published$$, '22003',
                 'penalizer must not be negative', 'negative penalizer');
SELECT throws_ok($$SELECT crm_gammagamma_fit(x, zbar, NULL) FROM published$$, '22004',
                 'penalizer must not be null', 'NULL penalizer');

SELECT * FROM finish();
ROLLBACK;
