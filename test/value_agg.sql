-- Population aggregates: crm_tier_thresholds, crm_pareto_share and
-- crm_pyramid against hand-worked values, against ranking with crm_tier
-- and plain SQL on tied data, NULLs, errors and parallel plans.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(48);

-- Thresholds by hand: of 1..100 the best 1, 5 and 20 customers.
SELECT is((SELECT crm_tier_thresholds(v) FROM generate_series(1, 100) v), '{100, 96, 81}'::float8[],
          '1..100: vip from 100, major from 96, ordinary from 81');
SELECT is((SELECT crm_tier_thresholds(v) FROM generate_series(1, 1000) v), '{991, 951, 801}'::float8[],
          '1..1000: the 10th, 50th and 200th best values');
SELECT is((SELECT crm_tier_thresholds(v) FROM generate_series(1, 10) v), '{Infinity, Infinity, 9}'::float8[],
          '1..10: no vip or major below 100 and 20 customers; ordinary from 9');
SELECT is((SELECT crm_tier_thresholds(v, '{0.1, 0.3, 0.6}') FROM generate_series(1, 10) v), '{10, 8, 5}'::float8[],
          'custom cuts on 1..10');
SELECT is((SELECT crm_tier_thresholds(v) FROM generate_series(1, 100) v WHERE false), NULL,
          'no rows give NULL');
SELECT is((SELECT crm_tier_thresholds(CASE WHEN v % 2 = 0 THEN v END) FROM generate_series(1, 200) v),
          '{200, 192, 162}'::float8[], 'NULL values are skipped: the even numbers up to 200');

-- Thresholds reproduce ranking with ties, for populations of many sizes.
CREATE TEMP TABLE pop AS
SELECT n, i, (((i * 7919) % 97) * ((i * 31) % 13))::float8 AS v
FROM unnest(ARRAY[1, 7, 99, 100, 101, 1000, 12345]) n, generate_series(1, n) i;
CREATE TEMP TABLE ranked AS
SELECT n, v,
       crm_tier(rank() OVER w, count(*) OVER (PARTITION BY n)) AS tier,
       crm_tier(rank() OVER w, count(*) OVER (PARTITION BY n), '{0.1, 0.3, 0.6}') AS custom_tier
FROM pop WINDOW w AS (PARTITION BY n ORDER BY v DESC);
SELECT is_empty($$SELECT r.n, r.v, r.tier FROM ranked r
                  JOIN (SELECT n, crm_tier_thresholds(v) AS t FROM pop GROUP BY n) th USING (n)
                  WHERE crm_tier_of(r.v, th.t) <> r.tier$$,
                'crm_tier_of with crm_tier_thresholds equals ranking for every customer, ties included');
SELECT is_empty($$SELECT r.n, r.v, r.custom_tier FROM ranked r
                  JOIN (SELECT n, crm_tier_thresholds(v, '{0.1, 0.3, 0.6}') AS t FROM pop GROUP BY n) th USING (n)
                  WHERE crm_tier_of(r.v, th.t) <> r.custom_tier$$,
                'the same with custom cuts');
SELECT is_empty($$SELECT n FROM (SELECT n, crm_tier_thresholds(v) AS t FROM pop GROUP BY n) th
                  JOIN (SELECT n, coalesce(min(v) FILTER (WHERE tier = 'vip'), 'Infinity') AS vip,
                               coalesce(min(v) FILTER (WHERE tier >= 'major'), 'Infinity') AS major,
                               coalesce(min(v) FILTER (WHERE tier >= 'ordinary'), 'Infinity') AS ordinary
                        FROM ranked GROUP BY n) r USING (n)
                  WHERE th.t <> ARRAY[r.vip, r.major, r.ordinary]$$,
                'each threshold is the lowest value of its tier by ranking');

-- Pareto share, read off the Lorenz curve.
SELECT is((SELECT crm_pareto_share(v) FROM generate_series(1, 10) v), 19::float8 / 55,
          '1..10: the top 2 bring 19 of 55 (exact sums, one division)');
SELECT is((SELECT crm_pareto_share(v, 0.25) FROM generate_series(1, 10) v), 23::float8 / 55,
          '1..10, top 25%: 10 + 9 + half of 8, of 55');
SELECT is((SELECT crm_pareto_share(v, 0) FROM generate_series(1, 10) v), 0::float8, 'top 0% bring nothing');
SELECT is((SELECT crm_pareto_share(v, 1) FROM generate_series(1, 10) v), 1::float8, 'top 100% bring everything');
SELECT ok(abs((SELECT crm_pareto_share(5) ) - 0.2) < 1e-15, 'a single customer: 20% of them brings 20%');
SELECT ok(abs((SELECT crm_pareto_share(7, 0.3) FROM generate_series(1, 10)) - 0.3) < 1e-15,
          'equal values: the top 30% bring 30%');
SELECT is((SELECT crm_pareto_share(0) FROM generate_series(1, 10)), NULL, 'a zero total gives NULL');
SELECT is((SELECT crm_pareto_share(v) FROM generate_series(1, 10) v WHERE false), NULL, 'no rows give NULL');
SELECT ok(abs((SELECT crm_pareto_share(v) FROM pop WHERE n = 12345)
              - (SELECT (sum(v) FILTER (WHERE rn <= floor(0.2 * total))
                         + (0.2 * total - floor(0.2 * total))
                           * coalesce(max(v) FILTER (WHERE rn = floor(0.2 * total) + 1), 0))
                        / sum(v)
                 FROM (SELECT v, row_number() OVER (ORDER BY v DESC) AS rn, count(*) OVER () AS total
                       FROM pop WHERE n = 12345) s
                 GROUP BY total)) < 1e-12,
          'equals the plain-SQL window computation on 12,345 tied values');

-- Pyramid.
SELECT results_eq($$SELECT p.* FROM unnest((SELECT crm_pyramid(v) FROM generate_series(1, 100) v)) p$$,
    $$VALUES ('vip'::crm_tier, 1::bigint, 0.01::float8, 100::float8, 100 / 5050::float8, 100::float8, 100::float8),
             ('major', 4, 0.04, 390, 390 / 5050::float8, 96, 99),
             ('ordinary', 15, 0.15, 1320, 1320 / 5050::float8, 81, 95),
             ('small', 80, 0.8, 3240, 3240 / 5050::float8, 1, 80)$$,
    '1..100: the pyramid by hand');
SELECT results_eq($$SELECT p.tier, p.customers, p.value, p.lowest_value
                    FROM unnest((SELECT crm_pyramid(7) FROM generate_series(1, 50))) p$$,
    $$VALUES ('vip'::crm_tier, 0::bigint, 0::float8, NULL::float8), ('major', 50, 350, 7),
             ('ordinary', 0, 0, NULL), ('small', 0, 0, NULL)$$,
    '50 equal values share rank 1 of 50 (2% from the top): all major, as crm_tier(1, 50) says');
SELECT results_eq(
    $$SELECT n, p.tier, p.customers, p.value FROM (SELECT n, crm_pyramid(v) AS pyr FROM pop GROUP BY n) s,
             unnest(s.pyr) p ORDER BY n, p.tier DESC$$,
    $$SELECT n, t.tier, count(r.v), coalesce(sum(r.v), 0)
      FROM (SELECT DISTINCT n FROM pop) ns CROSS JOIN unnest(enum_range(NULL::crm_tier)) t(tier)
      LEFT JOIN ranked r USING (n, tier)
      GROUP BY n, t.tier ORDER BY n, t.tier DESC$$,
    'per-tier customers and value equal ranking with crm_tier, for every population');
SELECT results_eq($$SELECT p.tier, p.customers FROM unnest((SELECT crm_pyramid(v, '{0.1, 0.3, 0.6}') FROM generate_series(1, 10) v)) p$$,
    $$VALUES ('vip'::crm_tier, 1::bigint), ('major', 2), ('ordinary', 3), ('small', 4)$$,
    'custom cuts 10% / 30% / 60% on 10 customers');
SELECT is((SELECT crm_pyramid(v) FROM generate_series(1, 10) v WHERE false), NULL, 'no rows give NULL');
SELECT is((SELECT p.value_share FROM unnest((SELECT crm_pyramid(0) FROM generate_series(1, 5))) p LIMIT 1), NULL,
          'a zero total leaves the value shares NULL');
SELECT is((SELECT sum(p.value) FROM unnest((SELECT crm_pyramid(v) FROM generate_series(-5, 5) v)) p), 0::float8,
          'negative values are ranked like any other');

-- Errors.
SELECT throws_ok($$SELECT crm_tier_thresholds(v) FROM unnest('{1, NaN}'::float8[]) v$$,
                 '22023', 'value cannot be NaN', 'NaN value');
SELECT throws_ok($$SELECT crm_pyramid(v) FROM unnest('{1, Infinity}'::float8[]) v$$,
                 '22023', 'value cannot be infinity', 'infinite value');
SELECT throws_ok($$SELECT crm_tier_thresholds(1, '{0.05, 0.01, 0.2}')$$,
                 '22023', 'cuts must be strictly increasing', 'decreasing cuts');
SELECT throws_ok($$SELECT crm_pyramid(1, '{0.01, 0.05}')$$,
                 '2202E', 'cuts must have exactly 3 elements', 'two cuts');
SELECT throws_ok($$SELECT crm_tier_thresholds(1, NULL)$$, '22004', 'cuts must not be null', 'NULL cuts');
SELECT throws_ok($$SELECT crm_tier_thresholds(v, CASE WHEN v < 5 THEN '{0.1,0.2,0.3}' ELSE '{0.1,0.2,0.4}' END::float8[])
                   FROM generate_series(1, 10) v$$,
                 '22023', 'cuts must be the same for every row of a group', 'cuts varying by row');
SELECT throws_ok($$SELECT crm_pareto_share(-1)$$, '22003', 'value must not be negative', 'negative value in a share');
SELECT throws_ok($$SELECT crm_pareto_share(1, 1.5)$$, '22003', 'top_fraction must be between 0 and 1', 'fraction above 1');
SELECT throws_ok($$SELECT crm_pareto_share(1, NULL)$$, '22004', 'top_fraction must not be null', 'NULL fraction');
SELECT throws_ok($$SELECT crm_pareto_share(v, v / 100.0) FROM generate_series(1, 10) v$$,
                 '22023', 'top_fraction must be the same for every row of a group', 'fraction varying by row');

-- Sums are exact, rounded once: the same whatever order the values come
-- in.  Below the top 20% (twenty values of 2^60) are 2^53 and 79 ones:
-- 2^53 + 79 lies halfway between the doubles 2^53 + 78 and 2^53 + 80, and
-- rounds to the even one, 2^53 + 80; adding the ones to 2^53 one at a
-- time would lose every one of them.
CREATE TEMP TABLE rounding AS
SELECT CASE WHEN i <= 20 THEN 2::float8 ^ 60 WHEN i = 21 THEN 2::float8 ^ 53 ELSE 1 END AS v
FROM generate_series(1, 100) i;
SELECT is((SELECT p.value FROM unnest((SELECT crm_pyramid(v ORDER BY v DESC) FROM rounding)) p WHERE p.tier = 'small'),
          9007199254741072::float8, 'the small tier sums to 2^53 + 79 rounded once (largest value first)');
SELECT is((SELECT p.value FROM unnest((SELECT crm_pyramid(v ORDER BY v) FROM rounding)) p WHERE p.tier = 'small'),
          9007199254741072::float8, 'and the same with the smallest first');
-- Cancellation: of 1e20, 1, 97 zeros and -1e20 the total is exactly 1 (a
-- running sum that meets 1e20 first loses the 1 and finds 0).  vip is 1e20
-- alone; the zeros tie with the 5th best and share major with the 1;
-- small is -1e20.
CREATE TEMP TABLE cancelling AS
SELECT unnest(array_cat(ARRAY[1e20, 1, -1e20]::float8[], array_fill(0::float8, ARRAY[97]))) AS v;
SELECT is((SELECT string_agg(format('%s %s %s %s', p.tier, p.customers, p.value, p.value_share), ', ')
           FROM unnest((SELECT crm_pyramid(v ORDER BY v DESC) FROM cancelling)) p),
          'vip 1 1e+20 1e+20, major 98 1 1, ordinary 0 0 0, small 1 -1e+20 -1e+20',
          'the pyramid''s total is exactly 1, so the shares are the values themselves');
-- Values exact in binary and in decimal (multiples of 2^-7): each tier's
-- value is the numeric sum of its values, rounded to float8
CREATE TEMP TABLE sevenths AS
SELECT ((i * 7919) % 1000003) / 128.0::float8 AS v FROM generate_series(1, 100000) i;
SELECT is_empty($$SELECT p.tier FROM unnest((SELECT crm_pyramid(v) FROM sevenths)) p
                  WHERE p.value <> (SELECT sum(v::numeric)::float8 FROM sevenths
                                    WHERE v BETWEEN p.lowest_value AND p.highest_value)$$,
                'every tier''s value is the exact sum of its values, correctly rounded');

-- Parallel plans and identical results.
CREATE TABLE big_values AS
SELECT (exp(((i * 7919) % 1000) / 150.0) + (i % 7))::float8 AS v, i % 10 AS segment
FROM generate_series(1::bigint, 300000) i;
ANALYZE big_values;
\ir lib/plan_of.sql
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial_results AS
SELECT crm_tier_thresholds(v) AS th, crm_tier_thresholds(v, '{0.1, 0.3, 0.6}') AS th_custom,
       crm_pareto_share(v) AS pareto, crm_pareto_share(v, 0.05) AS pareto5,
       crm_pyramid(v)::text AS pyramid
FROM big_values;
CREATE TEMP TABLE serial_grouped AS
SELECT segment, crm_pyramid(v)::text AS pyramid FROM big_values GROUP BY segment;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT matches(pg_temp.plan_of($$SELECT crm_tier_thresholds(v), crm_pareto_share(v), crm_pyramid(v) FROM big_values$$),
               'Partial Aggregate', 'the three aggregates are planned as partial aggregates');
SELECT matches(pg_temp.plan_of($$SELECT crm_tier_thresholds(v), crm_pareto_share(v), crm_pyramid(v) FROM big_values$$),
               'Workers Planned: 2', 'with two workers');
SELECT matches(pg_temp.plan_of($$SELECT segment, crm_pyramid(v) FROM big_values GROUP BY segment$$),
               'Partial (Hash|Group)Aggregate', 'grouped crm_pyramid is planned as a partial aggregate');
SELECT is((SELECT th FROM serial_results), (SELECT crm_tier_thresholds(v) FROM big_values),
          'parallel thresholds equal serial');
SELECT is((SELECT th_custom FROM serial_results), (SELECT crm_tier_thresholds(v, '{0.1, 0.3, 0.6}') FROM big_values),
          'parallel thresholds with custom cuts equal serial');
SELECT is((SELECT crm_pareto_share(v) FROM big_values), (SELECT pareto FROM serial_results),
          'parallel Pareto share equals serial, to the last bit');
SELECT is((SELECT crm_pareto_share(v, 0.05) FROM big_values), (SELECT pareto5 FROM serial_results),
          'parallel Pareto share of the top 5% equals serial');
SELECT is((SELECT crm_pyramid(v)::text FROM big_values), (SELECT pyramid FROM serial_results),
          'the parallel pyramid equals the serial one, values and shares included');
SELECT is_empty($$SELECT segment, p.* FROM (SELECT segment, crm_pyramid(v) AS pyr FROM big_values GROUP BY segment) s,
                                         unnest(s.pyr) p
                  EXCEPT
                  SELECT segment, p.* FROM serial_grouped s, unnest(s.pyramid::crm_pyramid_tier[]) p$$,
                'grouped parallel pyramids equal the serial ones, values and shares included');

SELECT * FROM finish();
ROLLBACK;
