-- Customer pyramid tiers: cuts, boundaries, ties, rank and value forms.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(57);

-- Default cuts 1% / 5% / 20%; a fraction on a cut belongs to the upper tier.
SELECT is(crm_tier(0), 'vip'::crm_tier, 'fraction 0 is vip');
SELECT is(crm_tier(0.01), 'vip'::crm_tier, 'fraction 0.01 is vip (boundary goes up)');
SELECT is(crm_tier(0.0100001), 'major'::crm_tier, 'just past 1% is major');
SELECT is(crm_tier(0.05), 'major'::crm_tier, 'fraction 0.05 is major');
SELECT is(crm_tier(0.0500001), 'ordinary'::crm_tier, 'just past 5% is ordinary');
SELECT is(crm_tier(0.2), 'ordinary'::crm_tier, 'fraction 0.20 is ordinary');
SELECT is(crm_tier(0.2000001), 'small'::crm_tier, 'just past 20% is small');
SELECT is(crm_tier(1), 'small'::crm_tier, 'fraction 1 is small');

-- Rank form: 100 customers split 1 / 4 / 15 / 80, 1000 split 10 / 40 / 150 / 800.
SELECT results_eq(
    $$SELECT crm_tier(r, 100), count(*) FROM generate_series(1, 100) r GROUP BY 1 ORDER BY 1 DESC$$,
    $$VALUES ('vip'::crm_tier, 1::bigint), ('major', 4), ('ordinary', 15), ('small', 80)$$,
    '100 ranked customers make a 1/4/15/80 pyramid');
SELECT results_eq(
    $$SELECT crm_tier(r, 1000), count(*) FROM generate_series(1, 1000) r GROUP BY 1 ORDER BY 1 DESC$$,
    $$VALUES ('vip'::crm_tier, 10::bigint), ('major', 40), ('ordinary', 150), ('small', 800)$$,
    '1000 ranked customers make a 10/40/150/800 pyramid');
SELECT results_eq(
    $$SELECT crm_tier(r, 300), count(*) FROM generate_series(1, 300) r GROUP BY 1 ORDER BY 1 DESC$$,
    $$VALUES ('vip'::crm_tier, 3::bigint), ('major', 12), ('ordinary', 45), ('small', 240)$$,
    '300 ranked customers: 3/12/45/240 (rank/total exactly on every cut)');
SELECT is(crm_tier(1, 7), 'ordinary'::crm_tier, 'the best of 7 is 14% from the top: ordinary, no vip below 100 customers');
SELECT is(crm_tier(1, 1), 'small'::crm_tier, 'a lone customer is 100% from the top: small');
SELECT is(crm_tier(5, 100), 'major'::crm_tier, 'rank 5 of 100 is major');
SELECT is(crm_tier(21, 100), 'small'::crm_tier, 'rank 21 of 100 is small');

-- Ties: with rank() equal values share a rank and so a tier; the tiers
-- found by ranking are reproduced by crm_tier_of with each tier's lowest value.
CREATE TEMP TABLE tied AS
SELECT i AS customer, (i * 7919 % 257)::float8 AS value
FROM generate_series(1, 1000) i;
CREATE TEMP TABLE tied_tiers AS
SELECT customer, value, crm_tier(rank() OVER (ORDER BY value DESC), count(*) OVER ()) AS tier
FROM tied;
SELECT is_empty($$SELECT value FROM tied_tiers GROUP BY value HAVING count(DISTINCT tier) > 1$$,
                'customers with equal value share a tier');
-- value = 209 i mod 257: 256 and 255 occur 4 times, 254 three times
-- (ranks 9-11, across the 1% cut at rank 10), so vip has 4 + 4 + 3.
SELECT is((SELECT count(*) FROM tied_tiers WHERE tier = 'vip'), 11::bigint,
          'a tie across the 1% cut lifts the whole tie into vip');
SELECT is_empty($$
    SELECT customer FROM tied_tiers,
        LATERAL (SELECT ARRAY[min(value) FILTER (WHERE tier = 'vip'),
                              min(value) FILTER (WHERE tier >= 'major'),
                              min(value) FILTER (WHERE tier >= 'ordinary')] AS t
                 FROM tied_tiers) th
    WHERE crm_tier_of(value, th.t) <> tier$$,
    'crm_tier_of with the tiers'' lowest values reproduces the ranked tiers');

-- Custom cuts.
SELECT is(crm_tier(0.1, '{0.1, 0.3, 0.6}'), 'vip'::crm_tier, 'custom cuts: 0.1 is vip');
SELECT is(crm_tier(0.3, '{0.1, 0.3, 0.6}'), 'major'::crm_tier, 'custom cuts: 0.3 is major');
SELECT is(crm_tier(0.6, '{0.1, 0.3, 0.6}'), 'ordinary'::crm_tier, 'custom cuts: 0.6 is ordinary');
SELECT is(crm_tier(0.61, '{0.1, 0.3, 0.6}'), 'small'::crm_tier, 'custom cuts: 0.61 is small');
SELECT is(crm_tier(1, '{0.1, 0.3, 1}'), 'ordinary'::crm_tier, 'a last cut of 1 leaves no small tier');
SELECT is(crm_tier(3, 10, '{0.1, 0.3, 0.6}'), 'major'::crm_tier, 'rank 3 of 10 with custom cuts is major');

-- Value thresholds: the lowest value of vip, major and ordinary.
SELECT is(crm_tier_of(5000, '{5000, 1000, 200}'), 'vip'::crm_tier, 'value on the vip threshold is vip');
SELECT is(crm_tier_of(4999.99, '{5000, 1000, 200}'), 'major'::crm_tier, 'just below vip is major');
SELECT is(crm_tier_of(1000, '{5000, 1000, 200}'), 'major'::crm_tier, 'value on the major threshold is major');
SELECT is(crm_tier_of(200, '{5000, 1000, 200}'), 'ordinary'::crm_tier, 'value on the ordinary threshold');
SELECT is(crm_tier_of(199, '{5000, 1000, 200}'), 'small'::crm_tier, 'below every threshold is small');
SELECT is(crm_tier_of(1000, '{1000, 1000, 200}'), 'vip'::crm_tier, 'equal thresholds: the upper tier wins');
SELECT is(crm_tier_of(-5, '{10, 0, -10}'), 'ordinary'::crm_tier, 'negative values and thresholds work');

-- NULLs: all tier functions are strict.
SELECT is(crm_tier(NULL::float8), NULL, 'NULL fraction gives NULL');
SELECT is(crm_tier(NULL::bigint, 100), NULL, 'NULL rank gives NULL');
SELECT is(crm_tier_of(NULL, '{3,2,1}'), NULL, 'NULL value gives NULL');

-- Errors.
SELECT throws_ok('SELECT crm_tier(1.5)', '22003', 'top_fraction must be between 0 and 1', 'fraction above 1');
SELECT throws_ok('SELECT crm_tier(-0.1)', '22003', 'top_fraction must be between 0 and 1', 'negative fraction');
SELECT throws_ok($$SELECT crm_tier('NaN'::float8)$$, '22023', 'top_fraction cannot be NaN', 'NaN fraction');
SELECT throws_ok($$SELECT crm_tier('Infinity'::float8)$$, '22023', 'top_fraction cannot be infinity', 'infinite fraction');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0.1, 0.05, 0.2}')$$, '22023', 'cuts must be strictly increasing', 'decreasing cuts');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0.1, 0.1, 0.2}')$$, '22023', 'cuts must be strictly increasing', 'repeated cut');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0, 0.05, 0.2}')$$, '22003', 'cuts must be greater than 0 and at most 1', 'zero cut');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0.01, 0.05, 1.2}')$$, '22003', 'cuts must be greater than 0 and at most 1', 'cut above 1');
SELECT throws_ok($$SELECT crm_tier(0.5, '{}')$$, '2202E', 'cuts must have exactly 3 elements', 'empty cuts');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0.1, 0.2}')$$, '2202E', 'cuts must have exactly 3 elements', 'two cuts');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0.1, 0.2, 0.3, 0.4}')$$, '2202E', 'cuts must have exactly 3 elements', 'four cuts');
SELECT throws_ok($$SELECT crm_tier(0.5, '{{0.1, 0.2, 0.3}}')$$, '2202E', 'cuts must be a one-dimensional array', '2-D cuts');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0.1, NULL, 0.3}')$$, '22004', 'cuts must not contain nulls', 'NULL in cuts');
SELECT throws_ok($$SELECT crm_tier(0.5, '{0.1, NaN, 0.3}')$$, '22023', 'cuts cannot be NaN', 'NaN in cuts');
SELECT throws_ok('SELECT crm_tier(0, 100)', '22003', 'rank must be between 1 and total', 'rank 0');
SELECT throws_ok('SELECT crm_tier(101, 100)', '22003', 'rank must be between 1 and total', 'rank above total');
SELECT throws_ok('SELECT crm_tier(1, 0)', '22003', 'total must be at least 1', 'no customers');
SELECT throws_ok($$SELECT crm_tier_of('NaN', '{3, 2, 1}')$$, '22023', 'value cannot be NaN', 'NaN value');
SELECT throws_ok($$SELECT crm_tier_of(5, '{200, 1000, 5000}')$$, '22023', 'thresholds must not increase', 'increasing thresholds');
SELECT throws_ok($$SELECT crm_tier_of(5, '{}')$$, '2202E', 'thresholds must have exactly 3 elements', 'empty thresholds');
SELECT is(crm_tier_of(5, '{Infinity, 1, 0}'), 'major'::crm_tier, 'an infinite vip threshold leaves vip empty');
SELECT is(crm_tier_of(5, '{Infinity, Infinity, -Infinity}'), 'ordinary'::crm_tier, 'a threshold of -Infinity admits everyone');
SELECT throws_ok($$SELECT crm_tier_of(5, '{NaN, 1, 0}')$$, '22023', 'thresholds cannot be NaN', 'NaN threshold');

SELECT * FROM finish();
ROLLBACK;
