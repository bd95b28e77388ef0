-- Pareto/NBD fitted by crm_paretonbd_fit: the published CDNOW figures,
-- agreement of the two forms of the likelihood, parallel plans, errors.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(14);

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

-- P(alive) against Fader & Hardie's eq. 18 evaluated here, the 2F1 of A0
-- summed as its series in logs (3,000 terms).
CREATE FUNCTION pg_temp.log_2f1(a float8, b float8, c float8, z float8) RETURNS float8
LANGUAGE sql AS $$
    WITH RECURSIVE series(k, lt) AS (
        SELECT 0, 0::float8
        UNION ALL
        SELECT k + 1, lt + ln((a + k) * (b + k) / ((c + k) * (k + 1)) * z)
        FROM series WHERE k < 3000 AND z > 0),
    top AS (SELECT max(lt) AS lt FROM series)
    SELECT top.lt + ln(sum(CASE WHEN s.lt - top.lt < -700 THEN 0 ELSE exp(s.lt - top.lt) END))
    FROM series s, top GROUP BY top.lt $$;
CREATE FUNCTION pg_temp.p_alive_sql(m crm_paretonbd_model, x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE sql AS $$
    SELECT 1 / (1 + (m).s / ((m).r + (m).s + x) * ((m).alpha + t) ^ ((m).r + x) * ((m).beta + t) ^ (m).s * a0)
    FROM (SELECT CASE WHEN (m).alpha >= (m).beta THEN
                   exp(pg_temp.log_2f1((m).r + (m).s + x, (m).s + 1, (m).r + (m).s + x + 1,
                                       ((m).alpha - (m).beta) / ((m).alpha + t_x))
                       - ((m).r + (m).s + x) * ln((m).alpha + t_x))
                   - exp(pg_temp.log_2f1((m).r + (m).s + x, (m).s + 1, (m).r + (m).s + x + 1,
                                         ((m).alpha - (m).beta) / ((m).alpha + t))
                         - ((m).r + (m).s + x) * ln((m).alpha + t))
                 ELSE
                   exp(pg_temp.log_2f1((m).r + (m).s + x, (m).r + x, (m).r + (m).s + x + 1,
                                       ((m).beta - (m).alpha) / ((m).beta + t_x))
                       - ((m).r + (m).s + x) * ln((m).beta + t_x))
                   - exp(pg_temp.log_2f1((m).r + (m).s + x, (m).r + x, (m).r + (m).s + x + 1,
                                         ((m).beta - (m).alpha) / ((m).beta + t))
                         - ((m).r + (m).s + x) * ln((m).beta + t)) END AS a0) a $$;
CREATE TEMP TABLE model AS SELECT crm_paretonbd_fit(x, t_x, "T") AS m FROM published;
SELECT is_empty($$SELECT id FROM published, model
                  WHERE id IN (1, 2, 3, 4, 18, 1516)
                    AND abs(crm_paretonbd_p_alive(m, x, t_x, "T") - pg_temp.p_alive_sql(m, x, t_x, "T")) > 1e-9$$,
                'P(alive) equals eq. 18 for customers with 0 to 26 repeat purchases');
SELECT ok((SELECT crm_paretonbd_p_alive(m, 0, 0, 38.86) > 0 AND crm_paretonbd_p_alive(m, 0, 0, 38.86) < 1 FROM model),
          'a customer without repeat purchases may be gone: P(alive) below 1');
SELECT ok((SELECT crm_paretonbd_p_alive(m, 5, 38.86, 38.86) = 1 FROM model),
          'a customer who just bought is alive');
SELECT throws_ok($$SELECT crm_paretonbd_fit(2, 11, 10)$$, '22023', 'recency must not exceed t', 'recency > t');
SELECT throws_ok($$SELECT crm_paretonbd_fit(x, 0, "T") FROM published WHERE x = 0$$, '22023',
                 'no customer made a repeat purchase', 'all-zero frequencies: an error, not NaN');
SELECT is((SELECT crm_paretonbd_fit(x, t_x, "T") FROM published WHERE false), NULL, 'no rows: NULL');

SELECT * FROM finish();
ROLLBACK;
