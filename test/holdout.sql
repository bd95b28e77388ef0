-- crm_calibration_holdout: the CDNOW backtest lifetimes documents (19,684
-- repeat purchase days in the holdout, 16,874 forecast by BG/NBD), every
-- field against crm_rfm and plain SQL, parallel plans, bad input.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SET TimeZone = 'UTC';
SELECT plan(20);

CREATE TEMP TABLE cdnow_raw (line text);
\copy cdnow_raw FROM 'data/cdnow_master.txt'
CREATE TABLE cdnow AS
SELECT f[1]::int AS customer_id, to_date(f[2], 'YYYYMMDD')::timestamptz AS ordered_at,
       f[4]::numeric(10, 2) AS amount
FROM (SELECT regexp_split_to_array(btrim(line, E' \r'), '\s+') AS f FROM cdnow_raw) s
WHERE f[1] ~ '^[0-9]+$';
ANALYZE cdnow;

-- Calibration to 1997-09-30, observation to 1998-06-30, in weeks
CREATE TEMP TABLE backtest AS
SELECT customer_id, (crm_calibration_holdout(ordered_at, amount, '1997-09-30', '1998-06-30', '1 week')).*
FROM cdnow GROUP BY customer_id;
SELECT is((SELECT count(*) FROM backtest WHERE frequency_cal IS NOT NULL), 23570::bigint,
          'all 23,570 CDNOW customers first bought in the calibration period');
SELECT is((SELECT sum(frequency_holdout) FROM backtest), 19684::bigint,
          'the holdout has 19,684 repeat purchase days');
SELECT ok((SELECT abs(sum(crm_bgnbd_expected(m, duration_holdout, frequency_cal, recency_cal, t_cal)) - 16874) < 1
           FROM backtest, (SELECT crm_bgnbd_fit(frequency_cal, recency_cal, t_cal) AS m FROM backtest) f),
          'BG/NBD fitted on the calibration period forecasts 16,874 of them');

-- The weekly tracking query of the README: repeat purchase days counted
-- from the orders agree with the backtest's by the end of each period, and
-- the expectation at the end of calibration is that of each customer's t_cal
CREATE TEMP TABLE tracking AS
WITH m AS (SELECT crm_bgnbd_fit(frequency_cal, recency_cal, t_cal) AS m FROM backtest),
     days AS (SELECT DISTINCT customer_id, ordered_at::date AS day FROM cdnow),
     firsts AS (SELECT customer_id, min(day) AS first_day FROM days GROUP BY customer_id),
     cohorts AS (SELECT first_day, count(*) AS customers FROM firsts GROUP BY first_day),
     weeks AS (SELECT w, date '1996-12-31' + 7 * w AS week_end FROM (VALUES (39), (78)) v(w))
SELECT w,
       (SELECT count(*) FROM days d JOIN firsts f USING (customer_id)
        WHERE d.day > f.first_day AND d.day <= week_end) AS actual,
       (SELECT sum(customers * crm_bgnbd_expected_new(m, (week_end - first_day) / 7.0))
        FROM cohorts, m WHERE first_day <= week_end) AS expected
FROM weeks;
SELECT is((SELECT array_agg(actual ORDER BY w) FROM tracking),
          (SELECT ARRAY[sum(frequency_cal), sum(frequency_cal + frequency_holdout)] FROM backtest),
          'tracking: repeat purchase days by weeks 39 and 78 as the backtest counts them');
SELECT ok((SELECT abs(t.expected / (SELECT sum(crm_bgnbd_expected_new(m, t_cal))
                                     FROM backtest, (SELECT crm_bgnbd_fit(frequency_cal, recency_cal, t_cal) AS m FROM backtest) f)
                      - 1) < 1e-12 FROM tracking t WHERE w = 39),
          'tracking: expected repeat purchases by week 39 are those of each customer''s t_cal');

-- The calibration fields are crm_rfm's over the orders up to calibration_end
SELECT is_empty($$SELECT b.customer_id FROM backtest b
                  JOIN (SELECT customer_id, (crm_rfm(ordered_at, amount, '1997-09-30', '1 week')).*
                        FROM cdnow WHERE ordered_at <= '1997-09-30' GROUP BY customer_id) r USING (customer_id)
                  WHERE (b.frequency_cal, b.recency_cal, b.t_cal, b.avg_value_cal)
                        IS DISTINCT FROM (r.frequency, r.recency, r.t, r.avg_repeat_value)$$,
                'frequency, recency, t and average value of the calibration period equal crm_rfm''s');
-- The holdout fields are counts and sums of the orders after it
SELECT is_empty($$SELECT b.customer_id FROM backtest b
                  LEFT JOIN (SELECT customer_id, count(DISTINCT ordered_at::date) AS days, sum(amount) AS value
                             FROM cdnow WHERE ordered_at > '1997-09-30' AND ordered_at <= '1998-06-30'
                             GROUP BY customer_id) h USING (customer_id)
                  WHERE (b.frequency_holdout, b.value_holdout) IS DISTINCT FROM (coalesce(h.days, 0), coalesce(h.value, 0))
                     OR b.duration_holdout <> 273 / 7.0$$,
                'holdout purchase days, value and duration (273 days) as plain SQL counts them');

-- A customer who first bought after calibration_end is not in the cohort;
-- orders after observation_end count for nothing; days are local days
SELECT is((SELECT crm_calibration_holdout(t, 10, '2024-01-31', '2024-03-31')
           FROM (VALUES ('2024-02-05'::timestamptz)) v(t)), NULL, 'first purchase after calibration_end: NULL');
SELECT is((SELECT crm_calibration_holdout(t, a, '2024-01-31 12:00', '2024-03-31')
           FROM (VALUES ('2024-01-01'::timestamptz, 10), ('2024-01-31 20:00', 1), ('2024-02-10', 5),
                        ('2024-02-10 09:00', 2.5), ('2024-04-01', 100)) v(t, a)),
          ROW(1, 30, 30, 1, 1, 60, 7.5)::crm_calibration_holdout,
          'the day of calibration_end is calibration, a later order of that day too; two orders on one day are one purchase day');
SELECT is((SELECT (crm_calibration_holdout(t, a, '2024-01-31', '2024-03-31')).value_holdout
           FROM (VALUES ('2024-01-01'::timestamptz, 1::numeric), ('2024-02-01', 0.123456789), ('2024-02-02', 1e30)) v(t, a)),
          1e30 + 0.123456789, 'amounts beyond 10^-8 or 10^30 are summed exactly');

-- Parallel: partial states serialised, combined in the leader
CREATE TABLE cdnow_many AS SELECT c.customer_id % 2000 AS customer_id, c.ordered_at, c.amount FROM cdnow c;
ANALYZE cdnow_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET enable_hashagg = off;
\ir lib/plan_of.sql
SELECT ok(pg_temp.plan_of($$SELECT customer_id, crm_calibration_holdout(ordered_at, amount, '1997-09-30', '1998-06-30')
                            FROM cdnow_many GROUP BY customer_id$$) ~ 'Partial',
          'grouped, it runs as a parallel partial aggregate');
CREATE TEMP TABLE parallel_result AS
SELECT customer_id, crm_calibration_holdout(ordered_at, amount, '1997-09-30', '1998-06-30') AS h
FROM cdnow_many GROUP BY customer_id;
RESET ALL;
SET TimeZone = 'UTC';
SELECT is_empty($$SELECT customer_id FROM parallel_result p
                  JOIN (SELECT customer_id, crm_calibration_holdout(ordered_at, amount, '1997-09-30', '1998-06-30') AS h
                        FROM cdnow_many GROUP BY customer_id) s USING (customer_id)
                  WHERE p.h IS DISTINCT FROM s.h$$,
                'and gives what a serial plan gives, customer by customer');

-- Bad input
SELECT throws_ok($$SELECT crm_calibration_holdout(now(), 1, '2024-03-31', '2024-01-31')$$, '22023',
                 'observation_end must not be earlier than calibration_end', 'observation before calibration');
SELECT throws_ok($$SELECT crm_calibration_holdout(now(), 1, NULL, '2024-01-31')$$, '22004',
                 'calibration_end must not be null', 'NULL calibration_end');
SELECT throws_ok($$SELECT crm_calibration_holdout(now(), 1, '2024-01-31', '2024-03-31', '0 days')$$, '22003',
                 'unit must be a positive interval', 'zero unit');
SELECT throws_ok($$SELECT crm_calibration_holdout(now(), 1, c, '2024-03-31')
                   FROM (VALUES ('2024-01-31'::timestamptz), ('2024-02-01')) v(c)$$, '22023',
                 'calibration_end, observation_end and unit must be the same for every row of a group',
                 'periods that change within a group');
SELECT throws_ok($$SELECT crm_calibration_holdout('infinity', 1, '2024-01-31', '2024-03-31')$$, '22023',
                 'ordered_at cannot be infinity', 'infinite order time');

SELECT throws_ok($$SELECT crm_calibration_holdout(now(), 1, '2024-01-31', NULL)$$, '22004',
                 'observation_end must not be null', 'NULL observation_end');
SELECT throws_ok($$SELECT crm_calibration_holdout(now(), 1, '2024-01-31', 'infinity')$$, '22023',
                 'calibration_end and observation_end cannot be infinity', 'infinite observation_end');
SELECT is((SELECT crm_calibration_holdout(NULL, 1, '2024-01-31', '2024-03-31')), NULL,
          'only rows with a NULL order time: NULL');
SELECT * FROM finish();
ROLLBACK;
