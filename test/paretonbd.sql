-- Pareto/NBD fitted by crm_paretonbd_fit: the published CDNOW figures,
-- parallel plans, P(alive) and expected purchases against independent
-- computations, parameter recovery from simulated customers, errors.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(32);

CREATE TEMP TABLE published (id int, x int, t_x numeric, "T" numeric, zbar numeric);
\copy published FROM 'data/cdnow_sample_summary.csv' WITH (FORMAT csv, HEADER)

-- Pareto/NBD on the CDNOW sample, in weeks: r = 0.55, alpha = 10.58,
-- s = 0.61, beta = 11.67 (Fader, Hardie & Lee 2005; Fader & Hardie's note).
CREATE TEMP TABLE fit AS SELECT (crm_paretonbd_fit(x, t_x, "T")).* FROM published;
SELECT ok((SELECT converged FROM fit), 'the CDNOW fit converges');
SELECT ok((SELECT abs(r / 0.55 - 1) < 0.01 FROM fit), 'r = 0.55 within 1%');
SELECT ok((SELECT abs(alpha / 10.58 - 1) < 0.01 FROM fit), 'alpha = 10.58 within 1%');
SELECT ok((SELECT abs(s / 0.61 - 1) < 0.01 FROM fit), 's = 0.61 within 1%');
SELECT ok((SELECT abs(beta / 11.67 - 1) < 0.01 FROM fit), 'beta = 11.67 within 1%');
-- A small penalty: still a converged fit close to the maximum.
SELECT ok((SELECT converged AND log_likelihood > -9700
           FROM (SELECT (crm_paretonbd_fit(x, t_x, "T", 0.001)).* FROM published) p),
          'a penalized fit converges too');

SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE pnbd_many AS SELECT p.* FROM published p, generate_series(1, 20);
ANALYZE pnbd_many;
\ir lib/plan_of.sql
SELECT matches(pg_temp.plan_of('SELECT crm_paretonbd_fit(x, t_x, "T") FROM pnbd_many'),
               'Partial Aggregate', 'crm_paretonbd_fit is planned as a partial aggregate');
CREATE TEMP TABLE parallel_fit AS SELECT (crm_paretonbd_fit(x, t_x, "T")).* FROM pnbd_many;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_fit AS SELECT (crm_paretonbd_fit(x, t_x, "T")).* FROM pnbd_many;
SELECT is((SELECT row(p.*)::text FROM parallel_fit p), (SELECT row(s.*)::text FROM serial_fit s),
          'parallel and serial fits are identical');
RESET max_parallel_workers_per_gather;

-- P(alive) against Fader & Hardie's eq. 18 evaluated here, with A0 summed
-- in SQL (lib/paretonbd_sql.sql).
\ir lib/paretonbd_sql.sql
CREATE FUNCTION pg_temp.p_alive_sql(m crm_paretonbd_model, x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    SELECT CASE WHEN l2 >= l1 THEN 1
                ELSE 1 / (1 + exp(ln((m).s / ((m).r + (m).s + x)) + ((m).r + x) * ln((m).alpha + t)
                                  + (m).s * ln((m).beta + t) + l1 + ln(1 - exp(l2 - l1)))) END
    FROM (SELECT pg_temp.log_a0_term(m, x, t_x) AS l1, pg_temp.log_a0_term(m, x, t) AS l2) a $$;
CREATE TEMP TABLE model AS SELECT crm_paretonbd_fit(x, t_x, "T") AS m FROM published;
SELECT is_empty($$SELECT id FROM published, model
                  WHERE id IN (1, 2, 3, 4, 18, 1516)
                    AND abs(crm_paretonbd_p_alive(m, x, t_x, "T") - pg_temp.p_alive_sql(m, x, t_x, "T")) > 1e-9$$,
                'P(alive) equals eq. 18 for customers with 0 to 26 repeat purchases');
SELECT ok((SELECT crm_paretonbd_p_alive(m, 0, 0, 38.86) > 0 AND crm_paretonbd_p_alive(m, 0, 0, 38.86) < 1 FROM model),
          'a customer without repeat purchases may be gone: P(alive) below 1');
SELECT ok((SELECT crm_paretonbd_p_alive(m, 5, 38.86, 38.86) = 1 FROM model),
          'a customer who just bought is alive');
SELECT is_empty($$SELECT x FROM model, (VALUES (200::float8)) v(x)
                  WHERE abs(crm_paretonbd_p_alive(m, x, 38, 38.86) - pg_temp.p_alive_sql(m, x, 38, 38.86)) > 1e-9$$,
                'and for a customer with 200 repeat purchases');

-- The series of A0 is summed in one of two forms (src/specfun.c): as it
-- stands where its b (r + x when alpha < beta) is at most 1, after
-- Euler's transformation otherwise (s + 1 when alpha >= beta, r + x for a
-- repeat buyer). Against the untransformed series in SQL, as log-odds of
-- P(alive) where it is neither 0 nor 1 in double precision: alpha below,
-- equal to (z = 0) and above beta, and far from it (z up to 0.975).
CREATE TEMP TABLE forms AS
SELECT k, x, t_x, crm_paretonbd_p_alive(m, x, t_x, 38.86) AS p, pg_temp.p_alive_sql(m, x, t_x, 38.86) AS p_sql
FROM (VALUES (1, 0.55, 10.58, 0.61, 11.67), (2, 0.55, 11.67, 0.61, 10.58), (3, 0.55, 10, 0.61, 10),
             (4, 0.3, 1, 0.8, 40), (5, 1.5, 20, 2.5, 2)) v(k, r, alpha, s, beta),
     LATERAL (SELECT ROW(r, alpha, s, beta, 0, 1, 1, true, NULL, NULL, NULL)::crm_paretonbd_model AS m) m,
     (VALUES (0, 0), (1, 10), (7, 30), (60, 37)) c(x, t_x);
SELECT ok((SELECT count(*) = 20 AND count(*) FILTER (WHERE p_sql BETWEEN 1e-12 AND 1 - 1e-9) >= 15
           AND bool_and(abs(ln(p / (1 - p)) - ln(p_sql / (1 - p_sql))) < 1e-9)
                FILTER (WHERE p_sql BETWEEN 1e-12 AND 1 - 1e-9)
           AND bool_and(abs(p - p_sql) < 1e-12)
           FROM forms),
          'P(alive) equals eq. 18 whichever form the series of A0 is summed in');

-- Expected purchases: alive, the rates have the posteriors
-- lambda ~ Gamma(r+x, alpha+T) and mu ~ Gamma(s, beta+T), so
-- E = P(alive) (r+x)/(alpha+T) int_0^h E[exp(-mu tau)] dtau
--   = P(alive) (r+x)/(alpha+T) int_0^h ((beta+T)/(beta+T+tau))^s dtau,
-- integrated here by Simpson's rule on 2,000 intervals -- not the closed
-- form the function uses.
CREATE FUNCTION pg_temp.alive_time_sql(s float8, base float8, h float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT h / 6000 * sum(CASE WHEN i IN (0, 2000) THEN 1 WHEN i % 2 = 1 THEN 4 ELSE 2 END
                          * (base / (base + h * i / 2000)) ^ s)
    FROM generate_series(0, 2000) i $$;
CREATE FUNCTION pg_temp.expected_sql(m crm_paretonbd_model, h float8, x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    SELECT pg_temp.p_alive_sql(m, x, t_x, t) * ((m).r + x) / ((m).alpha + t)
           * pg_temp.alive_time_sql((m).s, (m).beta + t, h) $$;
SELECT is_empty($$SELECT id, h FROM published, model, (VALUES (1::float8), (39), (52)) v(h)
                  WHERE id IN (1, 2, 3, 4, 18, 1516)
                    AND abs(crm_paretonbd_expected(m, h, x, t_x, "T") - pg_temp.expected_sql(m, h, x, t_x, "T"))
                        > 1e-9 * pg_temp.expected_sql(m, h, x, t_x, "T")$$,
                'expected purchases equal the posterior integrated numerically, 0 to 26 repeat purchases, horizons 1, 39, 52');
SELECT ok((SELECT abs(crm_paretonbd_expected(m, 39, 200, 38, 38.86) / pg_temp.expected_sql(m, 39, 200, 38, 38.86) - 1)
                  < 1e-9 FROM model), 'and with 200 repeat purchases');
SELECT ok((SELECT abs(crm_paretonbd_expected(m, 39, 2, 30, 38) / pg_temp.expected_sql(m, 39, 2, 30, 38) - 1) < 1e-9
           FROM (SELECT ROW(0.55, 10.58, 1, 11.67, 0, 1, 1, true, NULL, NULL, NULL)::crm_paretonbd_model AS m) m1),
          's = 1, where the closed form takes its limit');
SELECT ok((SELECT abs(crm_paretonbd_expected_new(m, 39) / ((m).r / (m).alpha * pg_temp.alive_time_sql((m).s, (m).beta, 39)) - 1)
                  < 1e-9 FROM model),
          'a new customer: r/alpha times the expected time alive');
SELECT is((SELECT crm_paretonbd_expected(m, 0, 2, 30.43, 38.86) FROM model), 0::float8, 'horizon 0: nothing');
SELECT throws_ok($$SELECT crm_paretonbd_expected(m, -1, 2, 30.43, 38.86) FROM model$$, '22003',
                 'horizon must not be negative', 'negative horizon');
SELECT throws_ok($$SELECT crm_paretonbd_expected(m, 39, 2, 40, 38.86) FROM model$$, '22023',
                 'recency must not exceed t', 'scoring checks the summary');
SELECT throws_ok($$SELECT crm_paretonbd_expected(ROW(1, 1, 1, 1, 0, 1, 1, false, NULL, NULL, NULL)::crm_paretonbd_model, 39, 2, 30, 38)$$,
                 '22023', 'the model did not converge', 'a model that did not converge is refused');

-- The fit is the maximum of the likelihood (Fader & Hardie's eq. 22)
-- written in SQL (lib/paretonbd_sql.sql): on one customer in eight
-- of the sample, the fit reports that likelihood, and moving any
-- parameter 0.1% either way lowers it.
CREATE TEMP TABLE eighth AS
SELECT crm_paretonbd_fit(x, t_x, "T") AS m, array_agg(x) AS xs, array_agg(t_x) AS t_xs, array_agg("T") AS ts
FROM published WHERE id % 8 = 0;
SELECT ok((SELECT abs((m).log_likelihood / pg_temp.paretonbd_loglik_sql(m, xs, t_xs, ts) - 1) < 1e-9 FROM eighth),
          'the fit reports the log-likelihood of its parameters');
SELECT is_empty($$SELECT i, f FROM eighth, generate_series(1, 4) i, (VALUES (0.999), (1.001)) v(f)
                  WHERE pg_temp.paretonbd_loglik_sql(ROW(CASE WHEN i = 1 THEN (m).r * f ELSE (m).r END,
                                               CASE WHEN i = 2 THEN (m).alpha * f ELSE (m).alpha END,
                                               CASE WHEN i = 3 THEN (m).s * f ELSE (m).s END,
                                               CASE WHEN i = 4 THEN (m).beta * f ELSE (m).beta END,
                                               0, 1, 1, true, NULL, NULL, NULL)::crm_paretonbd_model,
                                           xs, t_xs, ts)
                        >= (m).log_likelihood$$,
                'no parameter moved by 0.1% either way gives a higher likelihood');

-- Parameter recovery: 100,000 customers simulated from the CDNOW
-- parameters (seeded), observed for 26 to 52 weeks.  Over other seeds r
-- and alpha vary by about 2%, s by 4% and beta by 8%: the tolerances are
-- over two standard errors.
\ir lib/simulate.sql
SELECT setseed(0.42);
CREATE TEMP TABLE simulated AS
SELECT s.frequency, s.recency, t
FROM (SELECT 26 + 26 * random() AS t FROM generate_series(1, 100000)) c,
     LATERAL pg_temp.paretonbd_customer(0.55, 10.58, 0.61, 11.67, c.t) s;
CREATE TEMP TABLE recovered AS SELECT (crm_paretonbd_fit(frequency, recency, t)).* FROM simulated;
SELECT ok((SELECT converged AND abs(r / 0.55 - 1) < 0.05 AND abs(alpha / 10.58 - 1) < 0.05 FROM recovered),
          'simulated r = 0.55 and alpha = 10.58 recovered within 5%');
SELECT ok((SELECT abs(s / 0.61 - 1) < 0.1 AND abs(beta / 11.67 - 1) < 0.2 FROM recovered),
          'simulated s = 0.61 within 10% and beta = 11.67 within 20% (dropout is seen only as silence)');

-- One T for all and frequencies in the hundreds (20,000 customers buying
-- twice a week on average, with a mean lifetime of 20 weeks): what often
-- ends in lifetimes' ConvergenceError.
SELECT setseed(0.7);
CREATE TEMP TABLE heavy AS
SELECT s.frequency, s.recency, 52::float8 AS t
FROM generate_series(1, 20000) i,
     LATERAL pg_temp.paretonbd_customer(2, 1, 0.5, 10, 52 + 0 * i) s;  -- one draw per i
SELECT ok((SELECT max(frequency) > 300 FROM heavy), 'the heavy buyers buy hundreds of times');
SELECT ok((SELECT converged AND abs(r / 2 - 1) < 0.1 AND abs(alpha / 1 - 1) < 0.1
                  AND abs(s / 0.5 - 1) < 0.1 AND abs(beta / 10 - 1) < 0.1
           FROM (SELECT (crm_paretonbd_fit(frequency, recency, t)).* FROM heavy) f),
          'one T for all and large frequencies: converged, parameters within 10%');
-- The likelihood keeps what depends on r + x alone in a table for the
-- whole frequencies below 256 and works it out per row for the others: on
-- one heavy buyer in ten (44 of them above 256), the fit reports the
-- likelihood written in SQL.
CREATE TEMP TABLE heavy_tenth AS
SELECT frequency, recency, t FROM (SELECT h.*, row_number() OVER () AS n FROM heavy h) h WHERE n % 10 = 0;
SELECT ok((SELECT count(*) FILTER (WHERE frequency >= 256) > 10 FROM heavy_tenth),
          'a tenth of the heavy buyers still has dozens above 256 purchases');
SELECT ok((SELECT abs((m).log_likelihood / pg_temp.paretonbd_loglik_sql(m, xs, t_xs, ts) - 1) < 1e-9
           FROM (SELECT crm_paretonbd_fit(frequency, recency, t) AS m, array_agg(frequency) AS xs,
                        array_agg(recency) AS t_xs, array_agg(t) AS ts
                 FROM heavy_tenth) f),
          'frequencies above 256: the fit reports the log-likelihood of its parameters');

SELECT throws_ok($$SELECT crm_paretonbd_fit(2, 11, 10)$$, '22023', 'recency must not exceed t', 'recency > t');
SELECT throws_ok($$SELECT crm_paretonbd_fit(x, 0, "T") FROM published WHERE x = 0$$, '22023',
                 'no customer made a repeat purchase', 'all-zero frequencies: an error, not NaN');
SELECT is((SELECT crm_paretonbd_fit(x, t_x, "T") FROM published WHERE false), NULL, 'no rows: NULL');

SELECT * FROM finish();
ROLLBACK;
