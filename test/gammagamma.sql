-- Gamma-Gamma fitted by crm_gammagamma_fit: the published CDNOW figures,
-- customers without repeat purchases left out, parallel plans, and every
-- bad input.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(31);

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

-- Per customer: the expected transaction value (FHL, "RFM and CLV", eq. 5)
-- and the predicted lifetime value, against the formulas evaluated here.
CREATE TEMP TABLE models AS
SELECT (SELECT crm_gammagamma_fit(x, zbar) FROM published WHERE x > 0) AS g,
       (SELECT crm_bgnbd_fit(x, t_x, "T") FROM published) AS m;
SELECT is_empty($$SELECT id FROM published, models
                  WHERE abs(crm_gammagamma_expected(g, x, zbar)
                            - CASE WHEN x = 0 THEN (g).p * (g).gamma / ((g).q - 1)
                                   ELSE (g).p * ((g).gamma + x * zbar) / ((g).p * x + (g).q - 1) END)
                        > 1e-12 * crm_gammagamma_expected(g, x, zbar)$$,
                'expected value: p (gamma + x m) / (p x + q - 1) for every customer, the population mean for x = 0');
SELECT ok((SELECT abs(crm_gammagamma_expected(g, 2, 22.35) - 24.6586) < 0.001 FROM models),
          'customer 1 of the CDNOW sample: 24.6586, as lifetimes'' documentation shows');
SELECT is((SELECT crm_bgnbd_expected_new(m, 39) FROM models),
          (SELECT crm_bgnbd_expected(m, 39, 0, 0, 0) FROM models),
          'a new customer''s expected purchases are the conditional ones with nothing observed');
SELECT is_empty($$SELECT id FROM published, models
                  WHERE id <= 50 AND abs(crm_clv_predict(m, g, x, t_x, "T", zbar, 12, 0.01, 4.345)
                      - (SELECT sum(crm_gammagamma_expected(g, x, zbar)
                                    * (crm_bgnbd_expected(m, i * 4.345, x, t_x, "T")
                                       - crm_bgnbd_expected(m, (i - 1) * 4.345, x, t_x, "T"))
                                    / 1.01 ^ i)
                         FROM generate_series(1, 12) AS i)) > 1e-9$$,
                'predicted CLV: 12 monthly periods of expected purchases times expected value, discounted at 1% a month');
SELECT is_empty($$SELECT id FROM published, models, (SELECT crm_paretonbd_fit(x, t_x, "T") AS pm FROM published) p
                  WHERE id <= 50 AND abs(crm_clv_predict(pm, g, x, t_x, "T", zbar, 12, 0.01, 4.345)
                      - (SELECT sum(crm_gammagamma_expected(g, x, zbar)
                                    * (crm_paretonbd_expected(pm, i * 4.345, x, t_x, "T")
                                       - crm_paretonbd_expected(pm, (i - 1) * 4.345, x, t_x, "T"))
                                    / 1.01 ^ i)
                         FROM generate_series(1, 12) AS i)) > 1e-9$$,
                'and the same with a Pareto/NBD purchase model');
SELECT is_empty($$SELECT id FROM published, models, (SELECT crm_mbgnbd_fit(x, t_x, "T") AS mm FROM published) p
                  WHERE id <= 50 AND abs(crm_clv_predict(mm, g, x, t_x, "T", zbar, 12, 0.01, 4.345)
                      - (SELECT sum(crm_gammagamma_expected(g, x, zbar)
                                    * (crm_mbgnbd_expected(mm, i * 4.345, x, t_x, "T")
                                       - crm_mbgnbd_expected(mm, (i - 1) * 4.345, x, t_x, "T"))
                                    / 1.01 ^ i)
                         FROM generate_series(1, 12) AS i)) > 1e-9$$,
                'and with an MBG/NBD one');
SELECT is((SELECT crm_clv_predict(m, g, 2, 30.43, 38.86, 22.35, 0, 0.01, 4.345) FROM models), 0::float8,
          'no periods: no value');
SELECT throws_ok($$SELECT crm_clv_predict(m, g, 2, 30.43, 38.86, 22.35, -1, 0.01, 4.345) FROM models$$,
                 '22003', 'periods must be between 0 and 10000', 'negative periods');
SELECT throws_ok($$SELECT crm_clv_predict(m, g, 2, 30.43, 38.86, 22.35, 12, -1, 4.345) FROM models$$,
                 '22003', 'discount_rate must be greater than -1', 'discount rate -1');
SELECT throws_ok($$SELECT crm_clv_predict(m, g, 2, 30.43, 38.86, 22.35, 12, 0.01, 0) FROM models$$,
                 '22003', 'period_length must be positive', 'zero period length');
SELECT throws_ok($$SELECT crm_gammagamma_expected(ROW(1, 1, 1, 0, 1, 1, false, NULL, NULL, NULL)::crm_gammagamma_model, 1, 1)$$,
                 '22023', 'the model did not converge', 'an unconverged model is refused');
SELECT throws_ok($$SELECT crm_gammagamma_expected(ROW(0.5, 0.2, 1, 0, 1, 1, true, NULL, NULL, NULL)::crm_gammagamma_model, 0, 1)$$,
                 '22023', 'the expected value needs p * frequency + q > 1', 'q <= 1 has no population mean');

-- Parameter recovery: 100,000 customers with 1 to 10 repeat purchases,
-- each customer's nu ~ Gamma(q, gamma) and the average of x values
-- ~ Gamma(x p, x nu) (the mean of x draws from Gamma(p, nu)), seeded.
\ir lib/simulate.sql
SELECT setseed(0.24);
CREATE TEMP TABLE spend AS
SELECT x, pg_temp.rgamma(x * 6.0) / (x * nu) AS m
FROM (SELECT 1 + floor(10 * random())::int AS x, pg_temp.rgamma(3.5) / 15.0 AS nu
      FROM generate_series(1, 100000)) c;
CREATE TEMP TABLE recovered AS SELECT (crm_gammagamma_fit(x, m)).* FROM spend;
SELECT ok((SELECT converged AND abs(p / 6.0 - 1) < 0.05 AND abs(q / 3.5 - 1) < 0.05
                  AND abs(gamma / 15.0 - 1) < 0.05 FROM recovered),
          'simulated p = 6, q = 3.5, gamma = 15 recovered within 5%');

SELECT is((SELECT crm_gammagamma_fit(x, zbar) FROM published WHERE false), NULL, 'no rows: NULL');
SELECT is((SELECT crm_gammagamma_fit(x, NULL) FROM published), NULL, 'only NULL values: NULL');
SELECT throws_ok($$SELECT crm_gammagamma_fit(x, zbar) FROM published WHERE x = 0$$, '22023',
                 'no customer made a repeat purchase', 'all-zero frequencies: an error, not NaN');
SELECT throws_ok($$SELECT crm_gammagamma_fit(-1, 10)$$, '22003', NULL, 'negative frequency');
SELECT throws_ok($$SELECT crm_gammagamma_fit(2.5, 10)$$, '22023', NULL, 'fractional frequency');
SELECT is((SELECT row(f.*)::text FROM (SELECT (crm_gammagamma_fit(x, v)).* FROM
                (SELECT x, zbar AS v FROM published UNION ALL VALUES (3, 0), (2, -5)) p) f),
          (SELECT row(f.*)::text FROM fit f), 'averages of 0 or less are left out of the fit');
SELECT throws_ok($$SELECT crm_gammagamma_expected(g, 2, -1) FROM models$$, '22003',
                 'avg_value must not be negative', 'a negative average is refused in scoring');
SELECT throws_ok($$SELECT crm_gammagamma_fit(2, 'NaN')$$, '22023', 'avg_value cannot be NaN', 'NaN value');
SELECT throws_ok($$SELECT crm_gammagamma_fit(x, zbar, -0.1) FROM published$$, '22003',
                 'penalizer must not be negative', 'negative penalizer');
SELECT throws_ok($$SELECT crm_gammagamma_fit(x, zbar, NULL) FROM published$$, '22004',
                 'penalizer must not be null', 'NULL penalizer');

SELECT * FROM finish();
ROLLBACK;
