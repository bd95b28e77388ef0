-- BG/NBD fitted by crm_bgnbd_fit: the published CDNOW figures (Fader,
-- Hardie & Lee 2005), merged duplicate summaries, parallel plans, the
-- penalizer, and every bad input.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(45);

CREATE TEMP TABLE published (id int, x int, t_x numeric, "T" numeric, zbar numeric);
\copy published FROM 'data/cdnow_sample_summary.csv' WITH (FORMAT csv, HEADER)

-- FHL 2005, section 5: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426,
-- LL = -9582.4 on the 2,357 customers of the CDNOW sample, in weeks.
CREATE TEMP TABLE fit AS SELECT (crm_bgnbd_fit(x, t_x, "T")).* FROM published;
SELECT ok((SELECT converged FROM fit), 'the CDNOW fit converges');
SELECT is((SELECT customers FROM fit), 2357::bigint, 'over 2,357 customers');
SELECT ok((SELECT abs(r / 0.243 - 1) < 0.005 FROM fit), 'r = 0.243 within 0.5%');
SELECT ok((SELECT abs(alpha / 4.414 - 1) < 0.005 FROM fit), 'alpha = 4.414 within 0.5%');
SELECT ok((SELECT abs(a / 0.793 - 1) < 0.005 FROM fit), 'a = 0.793 within 0.5%');
SELECT ok((SELECT abs(b / 2.426 - 1) < 0.005 FROM fit), 'b = 2.426 within 0.5%');
SELECT ok((SELECT abs(log_likelihood + 9582.4) < 0.1 FROM fit), 'log-likelihood -9582.4 within 0.1');

-- Each customer twice: the same maximum, twice the log-likelihood.
CREATE TEMP TABLE twice AS
SELECT (crm_bgnbd_fit(x, t_x, "T")).* FROM (SELECT * FROM published UNION ALL SELECT * FROM published) p;
SELECT is((SELECT customers FROM twice), 4714::bigint, 'duplicated customers are counted');
SELECT ok((SELECT abs(t.r / f.r - 1) < 1e-6 AND abs(t.b / f.b - 1) < 1e-6 FROM twice t, fit f),
          'and give the same parameters');
SELECT ok((SELECT abs(t.log_likelihood - 2 * f.log_likelihood) < 1e-6 FROM twice t, fit f),
          'and twice the log-likelihood');

-- Parallel: partial states merged in the leader give the same model.
CREATE TABLE bgnbd_many AS SELECT p.* FROM published p, generate_series(1, 20);
ANALYZE bgnbd_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
\ir lib/plan_of.sql
SELECT matches(pg_temp.plan_of('SELECT crm_bgnbd_fit(x, t_x, "T") FROM bgnbd_many'),
               'Partial Aggregate', 'crm_bgnbd_fit is planned as a partial aggregate');
CREATE TEMP TABLE parallel_fit AS SELECT (crm_bgnbd_fit(x, t_x, "T")).* FROM bgnbd_many;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fit AS SELECT (crm_bgnbd_fit(x, t_x, "T")).* FROM bgnbd_many;
SELECT is((SELECT row(p.*)::text FROM parallel_fit p), (SELECT row(s.*)::text FROM serial_fit s),
          'parallel and serial fits are identical');
RESET max_parallel_workers_per_gather;

-- The penalizer pulls the parameters towards 0.
SELECT ok((SELECT p.r ^ 2 + p.alpha ^ 2 + p.a ^ 2 + p.b ^ 2 < f.r ^ 2 + f.alpha ^ 2 + f.a ^ 2 + f.b ^ 2
                  AND p.converged
           FROM (SELECT (crm_bgnbd_fit(x, t_x, "T", 0.01)).* FROM published) p, fit f),
          'a penalizer shrinks the parameters');
SELECT is((SELECT row(p.*)::text FROM (SELECT (crm_bgnbd_fit(x, t_x, "T", 0)).* FROM published) p),
          (SELECT row(f.*)::text FROM fit f), 'penalizer 0 is no penalty');

-- Per customer: P(alive) and expected purchases against the formulas of
-- FHL 2005 (eq. 10 and 11) evaluated here in SQL, the hypergeometric
-- function as its series summed term by term in logs (5,000 terms).
CREATE FUNCTION pg_temp.p_alive_sql(m crm_bgnbd_model, x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    SELECT CASE WHEN x = 0 THEN 1
                ELSE 1 / (1 + m.a / (m.b + x - 1) * ((m.alpha + t) / (m.alpha + t_x)) ^ (m.r + x)) END $$;
CREATE FUNCTION pg_temp.expected_sql(m crm_bgnbd_model, h float8, x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    WITH RECURSIVE series(k, lt) AS (
        SELECT 0, 0::float8
        UNION ALL
        SELECT k + 1, lt + ln((m.r + x + k) * (m.b + x + k) / ((m.a + m.b + x - 1 + k) * (k + 1))
                               * h / (m.alpha + t + h))
        FROM series WHERE k < 5000),
    top AS (SELECT max(lt) AS lt FROM series),
    f AS (SELECT top.lt + ln(sum(CASE WHEN s.lt - top.lt < -700 THEN 0 ELSE exp(s.lt - top.lt) END)) AS log_f
          FROM series s, top GROUP BY top.lt)
    SELECT (m.a + m.b + x - 1) / (m.a - 1)
           * (1 - exp((m.r + x) * ln((m.alpha + t) / (m.alpha + t + h)) + f.log_f))
           * pg_temp.p_alive_sql(m, x, t_x, t)
    FROM f $$;
CREATE TEMP TABLE model AS SELECT crm_bgnbd_fit(x, t_x, "T") AS m FROM published;
CREATE TEMP TABLE customers (x float8, t_x float8, t float8);
INSERT INTO customers VALUES (0, 0, 38.86), (1, 1.71, 38.86), (2, 30.43, 38.86), (26, 30.86, 31),
                             (1000, 38, 38.86), (1000, 38.86, 38.86);
SELECT is_empty($$SELECT x, t_x, t FROM customers, model
                  WHERE abs(crm_bgnbd_p_alive(m, x, t_x, t) - pg_temp.p_alive_sql(m, x, t_x, t))
                        > 1e-12 * pg_temp.p_alive_sql(m, x, t_x, t)$$,
                'P(alive) equals FHL eq. 11 for x = 0 .. 1000');
SELECT is((SELECT crm_bgnbd_p_alive(m, 0, 0, 38.86) FROM model), 1::float8,
          'a customer without repeat purchases is alive with probability 1');
SELECT is_empty($$SELECT x, t_x, t, h FROM customers, model, (VALUES (1::float8), (39), (52)) v(h)
                  WHERE abs(crm_bgnbd_expected(m, h, x, t_x, t) - pg_temp.expected_sql(m, h, x, t_x, t))
                        > 1e-9 * pg_temp.expected_sql(m, h, x, t_x, t)$$,
                'expected purchases equal FHL eq. 10 summed as a series, x = 0 .. 1000, horizons 1, 39, 52');
SELECT ok((SELECT crm_bgnbd_expected(m, 39, 5000, 38.86, 38.86) BETWEEN 3000 AND 5100 FROM model),
          'a customer with 5,000 purchases: a finite, plausible expectation (no overflow)');
SELECT is((SELECT crm_bgnbd_expected(m, 0, 2, 30.43, 38.86) FROM model), 0::float8, 'horizon 0: nothing');
SELECT throws_ok($$SELECT crm_bgnbd_expected(m, -1, 2, 30.43, 38.86) FROM model$$, '22003',
                 'horizon must not be negative', 'negative horizon');
SELECT throws_ok($$SELECT crm_bgnbd_p_alive(m, 2, 40, 38.86) FROM model$$, '22023',
                 'recency must not exceed t', 'scoring checks the summary too');
SELECT throws_ok($$SELECT crm_bgnbd_p_alive(ROW(1, 1, 1, 1, 0, 1, 1, false, NULL, NULL, NULL)::crm_bgnbd_model, 1, 1, 2)$$,
                 '22023', 'the model did not converge', 'a model that did not converge is refused');
SELECT throws_ok($$SELECT crm_bgnbd_p_alive(ROW(-1, 1, 1, 1, 0, 1, 1, true, NULL, NULL, NULL)::crm_bgnbd_model, 1, 1, 2)$$,
                 '22003', 'model parameter r must be positive', 'a model with a negative parameter is refused');

-- Parameter recovery: 100,000 customers simulated from known parameters
-- (seeded), observed for 26 to 52 weeks; the fit finds the parameters
-- back within sampling error.
\ir lib/simulate.sql
SELECT setseed(0.42);
CREATE TEMP TABLE simulated AS
SELECT s.frequency, s.recency, t
FROM (SELECT 26 + 26 * random() AS t FROM generate_series(1, 100000)) c,
     LATERAL pg_temp.bgnbd_customer(0.25, 4.0, 0.8, 2.5, c.t) s;
CREATE TEMP TABLE recovered AS SELECT (crm_bgnbd_fit(frequency, recency, t)).* FROM simulated;
SELECT ok((SELECT converged AND abs(r / 0.25 - 1) < 0.05 AND abs(alpha / 4.0 - 1) < 0.05
           FROM recovered), 'simulated r = 0.25 and alpha = 4 recovered within 5%');
SELECT ok((SELECT abs(a / 0.8 - 1) < 0.1 AND abs(b / 2.5 - 1) < 0.1 FROM recovered),
          'simulated a = 0.8 and b = 2.5 recovered within 10% (dropout shows only through repeat buyers)');

-- What often ends in lifetimes' ConvergenceError: every customer with the
-- same T, and frequencies in the hundreds (20,000 customers buying twice a
-- week on average, a 5% chance to drop out after each purchase).
SELECT setseed(0.7);
CREATE TEMP TABLE heavy AS
SELECT s.frequency, s.recency, 52::float8 AS t
FROM generate_series(1, 20000) i,
     LATERAL pg_temp.bgnbd_customer(2, 1, 0.5, 10, 52 + 0 * i) s;  -- one draw per i
SELECT ok((SELECT max(frequency) > 300 FROM heavy), 'the heavy buyers buy hundreds of times');
SELECT ok((SELECT converged AND abs(r / 2 - 1) < 0.1 AND abs(alpha / 1 - 1) < 0.1
                  AND abs(a / 0.5 - 1) < 0.1 AND abs(b / 10 - 1) < 0.1
           FROM (SELECT (crm_bgnbd_fit(frequency, recency, t)).* FROM heavy) f),
          'one T for all and large frequencies: converged, parameters within 10%');
SELECT ok((SELECT NOT converged
           FROM (SELECT (crm_bgnbd_fit(1, 0.4368, 52)).* FROM generate_series(1, 20000)) f),
          '20,000 identical customers: no maximum, not converged');

-- The recovered model (100,000 customers: fitted on a sample first, then
-- on every row) is the maximum of the likelihood, written here in SQL
-- (FHL 2005, eq. 6; for a whole x, ln G(r+x) - ln G(r) is the sum of
-- ln(r+k) and ln B(a, b+x) - ln B(a, b) that of ln((b+k)/(a+b+k)), k < x):
-- it reports that likelihood, and moving any parameter 0.1% either way
-- lowers it.
-- (mid marks the 6,000 customers of a smaller fit below)
ALTER TABLE simulated ADD COLUMN mid boolean;
UPDATE simulated SET mid = ctid IN (SELECT ctid FROM simulated ORDER BY ctid LIMIT 6000);
CREATE FUNCTION pg_temp.loglik_sql(r float8, alpha float8, a float8, b float8,
                                   mid_only boolean DEFAULT false) RETURNS float8
LANGUAGE sql AS $$
    WITH customers AS (SELECT * FROM simulated WHERE mid OR NOT mid_only),
    per_x AS (SELECT frequency AS x, count(*) AS n FROM customers GROUP BY frequency),
    heads AS (SELECT sum(n * (r * ln(alpha)
                              + coalesce((SELECT sum(ln(r + k) + ln((b + k) / (a + b + k)))
                                          FROM generate_series(0, x - 1) k), 0))) AS h
              FROM per_x),
    rows AS (SELECT -(r + frequency) * ln(alpha + t) AS e_a,
                    CASE WHEN frequency > 0
                         THEN ln(a / (b + frequency - 1)) - (r + frequency) * ln(alpha + recency) END AS e_b
             FROM customers)
    SELECT h + (SELECT sum(CASE WHEN e_b IS NULL THEN e_a
                                ELSE greatest(e_a, e_b) + ln(1 + exp(least(e_a, e_b) - greatest(e_a, e_b))) END)
                FROM rows)
    FROM heads $$;
SELECT ok((SELECT abs(log_likelihood / pg_temp.loglik_sql(r, alpha, a, b) - 1) < 1e-9 FROM recovered),
          'the fit reports the log-likelihood of its parameters');
SELECT is_empty($$SELECT i, f FROM recovered, generate_series(1, 4) i, (VALUES (0.999), (1.001)) v(f)
                  WHERE pg_temp.loglik_sql(CASE WHEN i = 1 THEN r * f ELSE r END,
                                           CASE WHEN i = 2 THEN alpha * f ELSE alpha END,
                                           CASE WHEN i = 3 THEN a * f ELSE a END,
                                           CASE WHEN i = 4 THEN b * f ELSE b END)
                        >= log_likelihood$$,
                'no parameter moved by 0.1% either way gives a higher likelihood');

-- A fit of more distinct rows than twice the pilot's 2,048 but fewer than
-- takes a sample (6,000 of those customers) starts from a pilot fit on
-- about 2,000 of them: it is the maximum of the SQL likelihood all the same.
SELECT ok((SELECT count(DISTINCT (frequency, recency, t)) BETWEEN 4097 AND 32768 FROM simulated WHERE mid),
          '6,000 customers: between the pilot''s threshold and the sample''s');
CREATE TEMP TABLE mid_fit AS SELECT (crm_bgnbd_fit(frequency, recency, t)).* FROM simulated WHERE mid;
SELECT ok((SELECT converged AND abs(log_likelihood / pg_temp.loglik_sql(r, alpha, a, b, true) - 1) < 1e-9
           FROM mid_fit),
          'started from a pilot: converged, and reports the log-likelihood of its parameters');
SELECT is_empty($$SELECT i, f FROM mid_fit, generate_series(1, 4) i, (VALUES (0.999), (1.001)) v(f)
                  WHERE pg_temp.loglik_sql(CASE WHEN i = 1 THEN r * f ELSE r END,
                                           CASE WHEN i = 2 THEN alpha * f ELSE alpha END,
                                           CASE WHEN i = 3 THEN a * f ELSE a END,
                                           CASE WHEN i = 4 THEN b * f ELSE b END, true)
                        >= log_likelihood$$,
                'started from a pilot: no parameter moved by 0.1% either way gives a higher likelihood');

-- NULLs and empty input
SELECT is((SELECT crm_bgnbd_fit(x, t_x, "T") FROM published WHERE false), NULL, 'no rows: NULL');
SELECT is((SELECT (crm_bgnbd_fit(x, t_x, t)).customers
           FROM (SELECT x, t_x, CASE WHEN id % 10 = 0 THEN NULL ELSE "T" END AS t FROM published) p),
          2122::bigint, 'rows with a NULL are skipped');

-- Bad input
SELECT throws_ok($$SELECT crm_bgnbd_fit(-1, 0, 10)$$, '22003',
                 'frequency must be between 0 and 1e+09', 'negative frequency');
SELECT throws_ok($$SELECT crm_bgnbd_fit(2, 1, 1e10)$$, '22003',
                 't must be between 0 and 1e+09', 'absurd t');
SELECT throws_ok($$SELECT crm_bgnbd_fit(1.5, 1, 10)$$, '22023', NULL, 'fractional frequency');
SELECT throws_ok($$SELECT crm_bgnbd_fit(2, 11, 10)$$, '22023', 'recency must not exceed t', 'recency > t');
SELECT throws_ok($$SELECT crm_bgnbd_fit(0, 3, 10)$$, '22023',
                 'recency must be 0 for a customer without repeat purchases', 'recency without repeat purchases');
SELECT throws_ok($$SELECT crm_bgnbd_fit(1, 'NaN', 10)$$, '22023', 'recency cannot be NaN', 'NaN');
SELECT throws_ok($$SELECT crm_bgnbd_fit(1, 1, 'Infinity')$$, '22023', 't cannot be infinity', 'infinite t');
SELECT throws_ok($$SELECT crm_bgnbd_fit(x, t_x, "T", -1) FROM published$$, '22003',
                 'penalizer must not be negative', 'negative penalizer');
SELECT throws_ok($$SELECT crm_bgnbd_fit(x, t_x, "T", NULL::float8) FROM published$$, '22004',
                 'penalizer must not be null', 'NULL penalizer (typed: an untyped NULL could be covariates as well)');
SELECT throws_ok($$SELECT crm_bgnbd_fit(x, 0, "T") FROM published WHERE x = 0$$, '22023',
                 'no customer made a repeat purchase', 'all-zero frequencies: an error, not NaN');

SELECT * FROM finish();
ROLLBACK;
