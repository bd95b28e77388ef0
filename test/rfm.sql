-- The crm_rfm aggregate: a hand-worked customer, every argument form,
-- order independence, day boundaries in the session TimeZone, NULLs,
-- errors, agreement with plain SQL, a 100,000-order customer, parallel
-- plans, and the published CDNOW summary for all 2,357 customers.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(69);

-- Customer 1: 10 + 5 on Jan 1, 20 on Jan 8, 30 + 10 on Jan 22; judged on
-- Jan 29: 5 orders, 75 revenue, 2 repeat days, recency 21 days, t 28 days,
-- 7 days since the last order, average repeat day (20 + 40) / 2 = 30.
CREATE TEMP TABLE hand (customer int, ordered_at timestamptz, amount numeric);
INSERT INTO hand VALUES
    (1, '2024-01-01 10:00', 10), (1, '2024-01-01 12:00', 5), (1, '2024-01-08 09:00', 20),
    (1, '2024-01-22 08:00', 30), (1, '2024-01-22 15:00', 10),
    (2, '2024-01-05 00:00', 7);
SELECT row_eq($$SELECT (crm_rfm(ordered_at, amount, '2024-01-29', '1 week')).* FROM hand WHERE customer = 1$$,
              ROW(5::bigint, 75::numeric, '2024-01-01 10:00'::timestamptz, '2024-01-22 15:00'::timestamptz,
                  1::float8, 2, 3::float8, 4::float8, 30::float8)::crm_rfm,
              'hand-worked customer in weeks');
SELECT row_eq($$SELECT (crm_rfm(ordered_at, amount, '2024-01-29')).* FROM hand WHERE customer = 1$$,
              ROW(5::bigint, 75::numeric, '2024-01-01 10:00'::timestamptz, '2024-01-22 15:00'::timestamptz,
                  7::float8, 2, 21::float8, 28::float8, 30::float8)::crm_rfm,
              'the same customer in days (the default unit)');
SELECT row_eq($$SELECT (crm_rfm(ordered_at, amount, '2024-01-29', '1 month')).* FROM hand WHERE customer = 1$$,
              ROW(5::bigint, 75::numeric, '2024-01-01 10:00'::timestamptz, '2024-01-22 15:00'::timestamptz,
                  7 / 30::float8, 2, 21 / 30::float8, 28 / 30::float8, 30::float8)::crm_rfm,
              'a month unit counts 30 days');
SELECT row_eq($$SELECT (crm_rfm(ordered_at, amount, '2024-01-29')).* FROM hand WHERE customer = 2$$,
              ROW(1::bigint, 7::numeric, '2024-01-05'::timestamptz, '2024-01-05'::timestamptz,
                  24::float8, 0, 0::float8, 24::float8, NULL::float8)::crm_rfm,
              'a single order: no repeat, recency 0, no average repeat value');
SELECT is((SELECT (crm_rfm(ordered_at, amount)).t FROM hand WHERE customer = 1),
          (current_date - date '2024-01-01')::float8,
          'without as_of, t runs to the day the transaction started');
SELECT is((SELECT crm_rfm(ordered_at, amount, '2024-01-29' ORDER BY ordered_at DESC) FROM hand),
          (SELECT crm_rfm(ordered_at, amount, '2024-01-29' ORDER BY ordered_at) FROM hand),
          'orders in any order give the same result');
SELECT is((SELECT (crm_rfm(ordered_at, amount, '2024-01-29')).revenue FROM hand
           WHERE customer = 1 OR ordered_at IS NULL),
          75::numeric, 'a refund can be added as a negative amount later');
INSERT INTO hand VALUES (1, '2024-01-23', -20), (1, NULL, 5), (1, '2024-01-24', NULL), (3, NULL, NULL);
SELECT row_eq($$SELECT (crm_rfm(ordered_at, amount, '2024-01-29')).* FROM hand WHERE customer = 1$$,
              ROW(6::bigint, 55::numeric, '2024-01-01 10:00'::timestamptz, '2024-01-23 00:00'::timestamptz,
                  6::float8, 3, 22::float8, 28::float8, 40 / 3::float8)::crm_rfm,
              'a negative amount is a refund on its own day; rows with NULLs are skipped');
SELECT is((SELECT crm_rfm(ordered_at, amount, '2024-01-29') FROM hand WHERE customer = 3), NULL,
          'a group with no complete row gives NULL');
SELECT is((SELECT crm_rfm(ordered_at, amount, '2024-01-29') FROM hand WHERE false), NULL,
          'no rows give NULL');

-- Purchase days follow the session TimeZone.
CREATE TEMP TABLE late (ordered_at timestamptz, amount numeric);
INSERT INTO late VALUES ('2024-03-01 23:30+00', 10), ('2024-03-02 00:30+00', 10);
SELECT is((SELECT (crm_rfm(ordered_at, amount, '2024-03-10 12:00+00')).frequency FROM late), 1,
          'UTC: 23:30 and 00:30 are two purchase days');
SET TimeZone = 'America/New_York';
SELECT is((SELECT (crm_rfm(ordered_at, amount, '2024-03-10 12:00+00')).frequency FROM late), 0,
          'New York: both orders fall on March 1, one purchase day');
SELECT is((SELECT (crm_rfm(ordered_at, amount, '2024-03-10 12:00+00')).t FROM late), 9::float8,
          'New York: t counts local days (March 1 to March 10)');
SET TimeZone = 'UTC';
-- Every 37 minutes over two years (DST changes included), and every 997
-- hours from 1990 to 2030, in zones with and without DST: the purchase day
-- equals the timestamp's ::date.
CREATE TEMP TABLE stamps AS
SELECT ts FROM generate_series(timestamptz '2023-01-01 00:00+00', '2024-12-31', interval '37 minutes') ts
UNION ALL
SELECT ts FROM generate_series(timestamptz '1990-01-01 00:00+00', '2030-01-01', interval '997 hours') ts;
CREATE FUNCTION pg_temp.day_mismatches(zone text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n bigint;
BEGIN
    EXECUTE format('SET LOCAL TimeZone = %L', zone);
    SELECT count(*) INTO n FROM (
        SELECT ts, (crm_rfm(ts, 1, '2040-01-01')).t AS t FROM stamps GROUP BY ts) s
    WHERE date '2040-01-01' - t::int <> ts::date;
    RETURN n;
END $$;
SELECT is(pg_temp.day_mismatches('America/New_York'), 0::bigint, 'purchase days equal ::date in America/New_York');
SELECT is(pg_temp.day_mismatches('Europe/Berlin'), 0::bigint, 'purchase days equal ::date in Europe/Berlin');
SELECT is(pg_temp.day_mismatches('Australia/Lord_Howe'), 0::bigint, 'purchase days equal ::date in Australia/Lord_Howe (30-minute DST)');
SELECT is(pg_temp.day_mismatches('Asia/Kolkata'), 0::bigint, 'purchase days equal ::date in Asia/Kolkata (fixed +05:30)');
SELECT is(pg_temp.day_mismatches('Pacific/Chatham'), 0::bigint, 'purchase days equal ::date in Pacific/Chatham (+12:45/+13:45)');
SET TimeZone = 'UTC';

-- Errors.
SELECT throws_ok($$SELECT crm_rfm(ordered_at, amount, '2024-01-20') FROM hand WHERE customer = 1$$,
                 '22023', 'as_of must not be earlier than the day of the last order', 'as_of before the last order');
SELECT throws_ok($$SELECT crm_rfm(ordered_at, amount, ordered_at + interval '1 day') FROM hand WHERE customer = 1$$,
                 '22023', 'as_of and unit must be the same for every row of a group', 'as_of varying within a group');
SELECT results_eq($$SELECT customer, (crm_rfm(ordered_at, amount,
                                              CASE customer WHEN 1 THEN timestamptz '2024-01-29'
                                                            ELSE timestamptz '2024-02-05' END)).t
                     FROM hand WHERE customer IN (1, 2) GROUP BY customer ORDER BY customer$$,
                   $$VALUES (1, 28::float8), (2, 31::float8)$$,
                   'as_of may differ between groups: each customer judged at its own date');
SELECT throws_ok($$SELECT crm_rfm(ordered_at, amount, '2024-02-01', '0 days') FROM hand$$,
                 '22003', 'unit must be a positive interval', 'zero unit');
SELECT throws_ok($$SELECT crm_rfm(ordered_at, amount, '2024-02-01', '-1 week') FROM hand$$,
                 '22003', 'unit must be a positive interval', 'negative unit');
SELECT throws_ok($$SELECT crm_rfm(ordered_at, amount, '2024-02-01', NULL) FROM hand$$,
                 '22004', 'unit must not be null', 'NULL unit');
SELECT throws_ok($$SELECT crm_rfm(ordered_at, amount, NULL) FROM hand$$,
                 '22004', 'as_of must not be null', 'NULL as_of');
SELECT throws_ok($$SELECT crm_rfm(ordered_at, amount, 'infinity') FROM hand$$,
                 '22023', 'as_of cannot be infinity', 'infinite as_of');
SELECT throws_ok($$SELECT crm_rfm('infinity', 1, '2024-02-01')$$,
                 '22023', 'ordered_at cannot be infinity', 'infinite order time');
SELECT throws_ok($$SELECT crm_rfm('2024-01-01', 'NaN', '2024-02-01')$$,
                 '22023', 'amount must be a finite number', 'NaN amount');

-- Agreement with plain SQL on 3,000 customers with many same-day orders.
CREATE TABLE rfm_orders AS
SELECT (i % 3000) AS customer,
       timestamptz '2023-01-01' + ((i * 7919) % 400) * interval '1 day'
                                + ((i * 104729) % 86400) * interval '1 second' AS ordered_at,
       round(((i * 31) % 20000) / 100.0 - 20, 2) AS amount
FROM generate_series(1::bigint, 200000) i;
ANALYZE rfm_orders;
CREATE TEMP TABLE expected_rfm AS
WITH d AS (
    SELECT customer, ordered_at, amount, ordered_at::date AS day,
           min(ordered_at::date) OVER (PARTITION BY customer) AS first_day
    FROM rfm_orders
)
SELECT customer, count(*) AS orders, sum(amount) AS revenue,
       min(ordered_at) AS first_at, max(ordered_at) AS last_at,
       (date '2024-03-01' - max(day))::float8 AS since_last,
       (count(DISTINCT day) - 1)::int AS frequency,
       (max(day) - min(day))::float8 AS recency,
       (date '2024-03-01' - min(day))::float8 AS t,
       ((sum(amount) - sum(amount) FILTER (WHERE day = first_day)) / nullif(count(DISTINCT day) - 1, 0))::float8
         AS avg_repeat_value
FROM d GROUP BY customer;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_rfm AS
SELECT customer, (crm_rfm(ordered_at, amount, '2024-03-01')).* FROM rfm_orders GROUP BY customer;
SELECT is((SELECT count(*) FROM serial_rfm), 3000::bigint, 'one row per customer');
SELECT is_empty($$SELECT customer, orders, revenue, first_at, last_at, since_last, frequency, recency, t
                  FROM serial_rfm
                  EXCEPT
                  SELECT customer, orders, revenue, first_at, last_at, since_last, frequency, recency, t
                  FROM expected_rfm$$,
                'every field equals plain SQL (count, sum, min, max, count DISTINCT day, ...)');
SELECT is_empty($$SELECT customer FROM expected_rfm e FULL JOIN serial_rfm s USING (customer)
                  WHERE s.customer IS NULL OR e.customer IS NULL
                     OR (e.avg_repeat_value IS NULL) <> (s.avg_repeat_value IS NULL)
                     OR abs(e.avg_repeat_value - s.avg_repeat_value) > 1e-12 * abs(e.avg_repeat_value)$$,
                'the same customers, and the average repeat value to 1e-12 (exact numeric sums, one float division)');

\ir lib/plan_of.sql
-- States live in the aggregate's memory context, which the
-- executor resets after each group (sorted), after each batch (hashed,
-- spilling), or not at all; grouping sets feed two contexts at once.
CREATE TEMP VIEW rfm_mismatches AS
SELECT * FROM ((SELECT * FROM serial_rfm EXCEPT
                SELECT customer, (crm_rfm(ordered_at, amount, '2024-03-01')).* FROM rfm_orders GROUP BY customer)
               UNION ALL
               (SELECT customer, (crm_rfm(ordered_at, amount, '2024-03-01')).* FROM rfm_orders GROUP BY customer
                EXCEPT SELECT * FROM serial_rfm)) d;
SET enable_hashagg = off;
SELECT matches(pg_temp.plan_of($$SELECT customer, crm_rfm(ordered_at, amount) FROM rfm_orders GROUP BY customer$$),
               'GroupAggregate', 'with hashing off, a sorted aggregate');
SELECT is_empty('SELECT * FROM rfm_mismatches', 'sorted, a fresh context per group: the same results');
RESET enable_hashagg;
SET enable_sort = off;
SET work_mem = '64kB';
SELECT ok((SELECT (pg_temp.plan_of($$SELECT customer, crm_rfm(ordered_at, amount) FROM rfm_orders GROUP BY customer$$,
                                   'ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF')
                   ~ 'Batches: ([2-9]|[1-9][0-9]+)')),
          'with work_mem 64kB, a hash aggregate that spills to batches');
SELECT is_empty('SELECT * FROM rfm_mismatches', 'hashed and spilled, a context reset per batch: the same results');
RESET work_mem;
SELECT matches(pg_temp.plan_of($$SELECT customer, crm_rfm(ordered_at, amount) FROM rfm_orders
                                 GROUP BY GROUPING SETS ((customer), ())$$),
               'MixedAggregate', 'grouping sets: a mixed aggregate');
SELECT is_empty($$SELECT * FROM serial_rfm EXCEPT
                  SELECT customer, (crm_rfm(ordered_at, amount, '2024-03-01')).* FROM rfm_orders
                  GROUP BY GROUPING SETS ((customer), ()) HAVING customer IS NOT NULL$$,
                'grouping sets, hashed and plain in one pass: each customer the same');
SELECT is((SELECT (r).orders FROM (SELECT customer, crm_rfm(ordered_at, amount, '2024-03-01') AS r
                                   FROM rfm_orders GROUP BY GROUPING SETS ((customer), ())) g
           WHERE customer IS NULL),
          200000::bigint, 'and the grand total counts every order');
RESET enable_sort;
SELECT is_empty($$SELECT * FROM serial_rfm EXCEPT
                  SELECT DISTINCT customer, (crm_rfm(ordered_at, amount, '2024-03-01') OVER (PARTITION BY customer)).*
                  FROM rfm_orders$$,
                'as a window aggregate: the same results');

-- Parallel: partial aggregation in workers gives the same answer.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of($$SELECT customer, crm_rfm(ordered_at, amount, '2024-03-01') FROM rfm_orders GROUP BY customer$$),
               'Partial (Hash|Group)Aggregate', 'grouped crm_rfm is planned as a partial aggregate');
SELECT matches(pg_temp.plan_of($$SELECT customer, crm_rfm(ordered_at, amount, '2024-03-01') FROM rfm_orders GROUP BY customer$$),
               'Workers Planned: 2', 'with two workers');
CREATE TEMP TABLE parallel_rfm AS
SELECT customer, (crm_rfm(ordered_at, amount, '2024-03-01')).* FROM rfm_orders GROUP BY customer;
SELECT is_empty($$(SELECT * FROM parallel_rfm EXCEPT SELECT * FROM serial_rfm)
                  UNION ALL (SELECT * FROM serial_rfm EXCEPT SELECT * FROM parallel_rfm)$$,
                'parallel and serial grouped results are identical');
-- Amounts beyond 8 decimals or 10^20 are summed with numeric arithmetic;
-- customers mixing both kinds, split across workers, stay exact.
CREATE TABLE odd_amounts AS
SELECT customer, ordered_at,
       CASE WHEN customer % 3 = 0 AND ordered_at::date = date '2023-06-01' THEN amount + 0.000000001
            WHEN customer % 3 = 1 AND ordered_at::date = date '2023-06-01' THEN amount + 1e25
            ELSE amount END AS amount
FROM rfm_orders;
INSERT INTO odd_amounts SELECT c, '2023-06-01 12:00+00', 1 FROM generate_series(0, 2999) c;
ANALYZE odd_amounts;
CREATE TEMP TABLE odd_expected AS
SELECT customer, sum(amount) AS revenue,
       ((sum(amount) - sum(amount) FILTER (WHERE ordered_at::date = min_day)) / (count(DISTINCT ordered_at::date) - 1))::float8 AS avg_repeat_value
FROM (SELECT *, min(ordered_at::date) OVER (PARTITION BY customer) AS min_day FROM odd_amounts) o
GROUP BY customer;
-- a view, so that each SELECT from it aggregates afresh under the current settings
CREATE TEMP VIEW odd_mismatches AS
SELECT customer FROM odd_expected e
JOIN (SELECT customer, (crm_rfm(ordered_at, amount, '2024-03-01')).* FROM odd_amounts GROUP BY customer) c
USING (customer)
WHERE c.revenue <> e.revenue OR scale(c.revenue) <> scale(e.revenue)
   OR abs(c.avg_repeat_value - e.avg_repeat_value) > 1e-12 * abs(e.avg_repeat_value);
SELECT is_empty('SELECT * FROM odd_mismatches',
                'in parallel, sums of amounts with 9 decimals or above 10^20 equal sum() exactly, scale included');
SET max_parallel_workers_per_gather = 0;
SELECT is_empty('SELECT * FROM odd_mismatches', 'and serially');
SET max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of($$SELECT crm_rfm(ordered_at, amount, '2024-03-01') FROM rfm_orders$$),
               'Partial Aggregate', 'one big group is planned as a partial aggregate too');
SELECT is((SELECT crm_rfm(ordered_at, amount, '2024-03-01') FROM rfm_orders),
          (SELECT row(count(*), sum(amount), min(ordered_at), max(ordered_at),
                      (date '2024-03-01' - max(ordered_at::date))::float8,
                      (count(DISTINCT ordered_at::date) - 1)::int,
                      (max(ordered_at::date) - min(ordered_at::date))::float8,
                      (date '2024-03-01' - min(ordered_at::date))::float8,
                      ((sum(amount) - sum(amount) FILTER (WHERE ordered_at::date = date '2023-01-01'))
                        / 100000000)::float8 / (count(DISTINCT ordered_at::date) - 1) * 100000000)::crm_rfm
           FROM rfm_orders),
          'the combined states of all workers equal plain SQL over the whole table');

-- crm_purchase_summary: the same state read out as live tracking keeps it,
-- in parallel and serially equal to plain SQL (exact first-day revenue).
CREATE TEMP VIEW summary_mismatches AS
WITH p AS (SELECT customer, (crm_purchase_summary(ordered_at, amount)).* FROM odd_amounts GROUP BY customer),
e AS (SELECT customer, count(*) AS orders, sum(amount) AS revenue, min(ordered_at) AS first_at,
             max(ordered_at) AS last_at, array_agg(DISTINCT ordered_at::date) AS purchase_days,
             sum(amount) FILTER (WHERE ordered_at::date = min_day) AS first_day_revenue
      FROM (SELECT *, min(ordered_at::date) OVER (PARTITION BY customer) AS min_day FROM odd_amounts) o
      GROUP BY customer)
SELECT * FROM ((SELECT * FROM p EXCEPT SELECT * FROM e) UNION ALL (SELECT * FROM e EXCEPT SELECT * FROM p)) d;
SELECT matches(pg_temp.plan_of($$SELECT customer, crm_purchase_summary(ordered_at, amount) FROM odd_amounts GROUP BY customer$$),
               'Partial (Hash|Group)Aggregate', 'crm_purchase_summary is planned as a partial aggregate');
SELECT is_empty('SELECT * FROM summary_mismatches',
                'in parallel, crm_purchase_summary equals count, sum, min, max, array_agg(DISTINCT day) and the first day''s sum');
SET max_parallel_workers_per_gather = 0;
SELECT is_empty('SELECT * FROM summary_mismatches', 'and serially');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- crm_purchase_summary by hand: customer 1 of the hand table has days Jan 1
-- (10 + 5), Jan 8 and Jan 22; orders dated after today are no error (no
-- judgement date); days follow the session TimeZone.
SELECT is((SELECT crm_purchase_summary(ordered_at, amount) FROM hand WHERE customer = 1 AND ordered_at < '2024-01-23'),
          ROW(5::bigint, 75::numeric, '2024-01-01 10:00'::timestamptz, '2024-01-22 15:00'::timestamptz,
              '{2024-01-01,2024-01-08,2024-01-22}'::date[], 15::numeric)::crm_purchase_summary,
          'crm_purchase_summary of the hand-worked customer');
SELECT is((SELECT (crm_purchase_summary(t, 1)).purchase_days
           FROM (VALUES (timestamptz '2999-01-02 00:00+00'), ('2999-01-01 00:00+00')) v(t)),
          '{2999-01-01,2999-01-02}'::date[], 'future orders are summed, days sorted');
SET TimeZone = 'Asia/Tokyo';
SELECT is((SELECT (crm_purchase_summary(t, 1)).purchase_days
           FROM (VALUES (timestamptz '2024-01-01 20:00+00')) v(t)),
          '{2024-01-02}'::date[], 'purchase days follow the session TimeZone');
SET TimeZone = 'UTC';
-- With a time zone: purchase days there, whatever the session's.  20:00 UTC
-- on Jan 1 is Jan 2 in Tokyo and still Jan 1 in New York; 03:00 UTC on
-- Jan 3 is Jan 2 in New York.
SELECT is((SELECT (crm_purchase_summary(t, 1, 'Asia/Tokyo')).purchase_days
           FROM (VALUES (timestamptz '2024-01-01 20:00+00')) v(t)),
          '{2024-01-02}'::date[], 'crm_purchase_summary with a time zone: days in that zone, not the session''s');
SELECT is((SELECT crm_purchase_summary(t, a, 'America/New_York')
           FROM (VALUES (timestamptz '2024-01-01 20:00+00', 4), ('2024-01-03 03:00+00', 6),
                        ('2024-01-01 23:00+00', 1)) v(t, a)),
          ROW(3::bigint, 11::numeric, '2024-01-01 20:00+00'::timestamptz, '2024-01-03 03:00+00'::timestamptz,
              '{2024-01-01,2024-01-02}'::date[], 5::numeric)::crm_purchase_summary,
          'and the first day''s revenue is that zone''s first day');
SELECT throws_ok($$SELECT crm_purchase_summary(now(), 1, 'Mars/Olympus')$$, '22023',
                 'time zone "Mars/Olympus" not recognized', 'an unknown time zone: 22023');
SELECT throws_ok($$SELECT crm_purchase_summary(now(), 1, NULL)$$, '22004',
                 'time_zone must not be null', 'a NULL time zone: 22004');

-- Amounts of every shape the int128 path reads (amount.c): scales 0..8,
-- magnitudes up to 10^19, base-10000 digit boundaries, negatives, zero --
-- and beyond it (more decimals, 10^20 and up) the numeric fallback.  The
-- revenue must equal sum() exactly, scale included.
CREATE TEMP TABLE shapes AS
SELECT g % 40 AS customer, timestamptz '2024-01-01' + (g % 17) * interval '1 day' AS ordered_at,
       CASE WHEN g % 3 = 0 THEN -1 ELSE 1 END
       * round((((g * 7919) % 1000003) / 1000003.0 * 10 ^ ((g % 20)))::numeric, g % 9) AS amount
FROM generate_series(1, 20000) g
UNION ALL
SELECT 40 + i, '2024-01-01', v::numeric
FROM unnest(ARRAY['0', '0.00000001', '9999.9999', '10000', '10000.0001', '99999999.99999999',
                  '-0.0001', '1234567890123456789.12345678', '99999999999999999999.99999999',
                  '100000000000000000000', '0.000000001', '-1e25', '12.5000']) WITH ORDINALITY AS u(v, i);
SELECT is_empty($$SELECT customer FROM shapes GROUP BY customer
                  HAVING (crm_rfm(ordered_at, amount, '2024-02-01')).revenue IS DISTINCT FROM sum(amount)
                      OR scale((crm_rfm(ordered_at, amount, '2024-02-01')).revenue) IS DISTINCT FROM scale(sum(amount))$$,
                'sums of amounts of every shape equal sum(), value and scale');

-- One customer with 100,000 orders over 1,000 days, shuffled: the day set
-- holds 1,000 entries and each order costs O(1).
SELECT row_eq($$SELECT (crm_rfm(ordered_at, amount, '2030-01-01' ORDER BY (i * 7919) % 100000)).*
                FROM (SELECT i, timestamptz '2025-01-01' + (i % 1000) * interval '1 day' AS ordered_at, 1::numeric AS amount
                      FROM generate_series(1, 100000) i) o$$,
              ROW(100000::bigint, 100000::numeric, '2025-01-01'::timestamptz, '2027-09-27'::timestamptz,
                  (date '2030-01-01' - date '2027-09-27')::float8, 999, 999::float8,
                  (date '2030-01-01' - date '2025-01-01')::float8, 100::float8)::crm_rfm,
              '100,000 orders on 1,000 days: each repeat day totals 100');

-- The day set in each of its forms, fed in a set order: dense days (a
-- bitmap) arriving ascending and descending, so that it grows to either
-- side; sparse days (20 days ten years apart: a hash table); dense days,
-- then one 50 years later (the bitmap turns into a hash table), then more;
-- and a shuffled, repeating sequence.  The days and their count must be
-- those of array_agg(DISTINCT day).
CREATE TEMP TABLE day_shapes AS
SELECT 1 AS c, date '2024-01-01' + g AS day, g AS ord FROM generate_series(0, 299) g
UNION ALL SELECT 2, date '2024-01-01' - g, g FROM generate_series(0, 299) g
UNION ALL SELECT 3, date '1900-01-01' + g * 3653, g FROM generate_series(0, 19) g
UNION ALL SELECT 4, date '2024-01-01' + g, g FROM generate_series(0, 9) g
UNION ALL SELECT 4, date '2074-01-01', 10
UNION ALL SELECT 4, date '2024-02-01' + g, 11 + g FROM generate_series(0, 9) g
UNION ALL SELECT 5, date '2024-01-01' + (g * 37) % 200, g FROM generate_series(0, 999) g;
SELECT is_empty($$SELECT c FROM (
                    SELECT c, (crm_purchase_summary(day::timestamptz, 1 ORDER BY ord)).purchase_days AS days,
                           (crm_rfm(day::timestamptz, 1, '2100-01-01' ORDER BY ord)).frequency,
                           array_agg(DISTINCT day ORDER BY day) AS expected
                    FROM day_shapes GROUP BY c) x
                  WHERE days IS DISTINCT FROM expected OR frequency <> cardinality(expected) - 1$$,
                'purchase days kept inline, in a bitmap grown either way, in a hash table, and turning from one to the other');

-- Days beyond the eighth wait in the state and are looked up in the set
-- four at a time; a state read or sent on with days still waiting must
-- count each once.  Days are offsets from 2024-01-01, in this order:
--   1: 0..8, then 3, 20, 3 -- three waiting, one new: 10 days
--   2: 0..8, then 20, 21, 20, 22 -- looked up together, one repeat: 12
--   3: as 2, then 23, 2 -- two waiting, one new: 13
--   4: 20 days ten years apart (a hash table), then the 6th again and
--      one new: 21
--   5: 0..7, then 0..7 again -- all inline: 8
CREATE TABLE waiting_days AS
SELECT c, date '2024-01-01' + d AS day, ord
FROM (VALUES (1, ARRAY[0,1,2,3,4,5,6,7,8,3,20,3]),
             (2, ARRAY[0,1,2,3,4,5,6,7,8,20,21,20,22]),
             (3, ARRAY[0,1,2,3,4,5,6,7,8,20,21,20,22,23,2]),
             (4, ARRAY(SELECT g * 3653 - 73060 FROM generate_series(0, 19) g) || ARRAY[5 * 3653 - 73060, 100]),
             (5, ARRAY[0,1,2,3,4,5,6,7,0,1,2,3,4,5,6,7])) v(c, days),
     unnest(days) WITH ORDINALITY AS u(d, ord)
ORDER BY c, ord;
ANALYZE waiting_days;
CREATE TEMP VIEW waiting_mismatches AS
SELECT c FROM (
    SELECT c, (crm_purchase_summary(day::timestamptz, 1)).purchase_days AS days,
           (crm_rfm(day::timestamptz, 1)).frequency,
           array_agg(DISTINCT day ORDER BY day) AS expected
    FROM waiting_days GROUP BY c) x
JOIN (VALUES (1, 9), (2, 11), (3, 12), (4, 20), (5, 7)) f(c, hand_frequency) USING (c)
WHERE days IS DISTINCT FROM expected OR frequency <> cardinality(expected) - 1
   OR frequency <> hand_frequency;
SET max_parallel_workers_per_gather = 0;
SELECT is_empty('SELECT * FROM waiting_mismatches',
                'days still waiting for the set are counted once, by both final functions of one shared state');
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of($$SELECT c, crm_rfm(day::timestamptz, 1) FROM waiting_days GROUP BY c$$),
               'Partial (Hash|Group)Aggregate', 'the waiting days go through a partial aggregate');
SELECT is_empty('SELECT * FROM waiting_mismatches',
                'and are sent between processes once each');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
-- As a running window aggregate, the state is read after every row and
-- then grows on: each row's frequency is its distinct days so far less one.
SELECT is_empty($$SELECT c, ord FROM (
                    SELECT c, ord, (crm_rfm(day::timestamptz, 1) OVER (PARTITION BY c ORDER BY ord)).frequency
                    FROM waiting_days) w
                  WHERE frequency <> (SELECT count(DISTINCT day) - 1 FROM waiting_days p
                                      WHERE p.c = w.c AND p.ord <= w.ord)$$,
                'a running crm_rfm counts the days so far at every row, waiting ones included');

-- CDNOW sample: calibration up to 1997-09-30 in weeks must reproduce the
-- published summary (x, t_x, T, zbar) of all 2,357 customers.
CREATE TEMP TABLE cdnow_raw (line text);
\copy cdnow_raw FROM 'data/cdnow_sample.txt'
CREATE TEMP TABLE cdnow AS
SELECT f[2]::int AS customer, to_date(f[3], 'YYYYMMDD')::timestamptz AS ordered_at, f[5]::numeric AS amount
FROM (SELECT regexp_split_to_array(btrim(line, E' \r'), '\s+') AS f FROM cdnow_raw) s;
CREATE TEMP TABLE published (id int, x int, t_x numeric, "T" numeric, zbar numeric);
\copy published FROM 'data/cdnow_sample_summary.csv' WITH (FORMAT csv, HEADER)
CREATE TEMP TABLE calibration AS
SELECT customer, (crm_rfm(ordered_at, amount, '1997-09-30', '1 week')).*
FROM cdnow WHERE ordered_at <= '1997-09-30' GROUP BY customer;
SELECT is((SELECT count(*) FROM cdnow), 6919::bigint, 'the CDNOW sample has 6,919 orders');
SELECT is((SELECT count(*) FROM calibration), 2357::bigint, 'all 2,357 customers bought in the calibration period');
SELECT is_empty($$SELECT p.id, c.frequency, p.x FROM published p JOIN calibration c ON c.customer = p.id
                  WHERE c.frequency <> p.x$$, 'x (repeat purchases) matches for every customer');
SELECT is_empty($$SELECT p.id, c.recency, p.t_x FROM published p JOIN calibration c ON c.customer = p.id
                  WHERE round(c.recency::numeric, 2) <> p.t_x$$, 't_x matches to 2 decimals for every customer');
SELECT is_empty($$SELECT p.id, c.t, p."T" FROM published p JOIN calibration c ON c.customer = p.id
                  WHERE round(c.t::numeric, 2) <> p."T"$$, 'T matches to 2 decimals for every customer');
SELECT is_empty($$SELECT p.id, c.avg_repeat_value, p.zbar FROM published p JOIN calibration c ON c.customer = p.id
                  WHERE round(coalesce(c.avg_repeat_value, 0)::numeric, 2) <> p.zbar$$,
                'zbar matches to 2 decimals for every customer (0 in the file where we say NULL)');

SELECT * FROM finish();
ROLLBACK;
