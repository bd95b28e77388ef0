-- RFM scores from quintile thresholds, and the ten named segments checked
-- cell by cell against the published score ranges of R's rfm package.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(42);

-- Scores: 1 + the number of thresholds below the value.
SELECT results_eq(
    $$WITH t AS (SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY v) AS q
                 FROM generate_series(1, 10) v)
      SELECT crm_rfm_score(v, q) FROM generate_series(1, 10) v, t ORDER BY v$$,
    ARRAY[1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
    'values 1..10 with percentile_disc quintiles score two per bin');
SELECT is(crm_rfm_score(2, '{2, 4, 6, 8}'), 1, 'a value on a threshold stays in the lower bin');
SELECT is(crm_rfm_score(2.0001, '{2, 4, 6, 8}'), 2, 'just above the first threshold');
SELECT is(crm_rfm_score(8, '{2, 4, 6, 8}'), 4, 'on the last threshold');
SELECT is(crm_rfm_score(9, '{2, 4, 6, 8}'), 5, 'above every threshold');
SELECT is(crm_rfm_score(-100, '{2, 4, 6, 8}'), 1, 'below every threshold');
-- Tied thresholds, as for frequency when most customers buy once.
SELECT is(crm_rfm_score(1, '{1, 1, 1, 2}'), 1, 'tied thresholds: one-time buyers stay in bin 1');
SELECT is(crm_rfm_score(2, '{1, 1, 1, 2}'), 4, 'tied thresholds: 2 orders jump to bin 4');
SELECT is(crm_rfm_score(3, '{1, 1, 1, 2}'), 5, 'tied thresholds: 3 orders reach bin 5');
-- Lower is better (recency in days).
SELECT is(crm_rfm_score(10, '{30, 60, 120, 240}', false), 5, 'recency: 10 days scores 5');
SELECT is(crm_rfm_score(30, '{30, 60, 120, 240}', false), 5, 'recency: on the first threshold scores 5');
SELECT is(crm_rfm_score(31, '{30, 60, 120, 240}', false), 4, 'recency: 31 days scores 4');
SELECT is(crm_rfm_score(240, '{30, 60, 120, 240}', false), 2, 'recency: 240 days scores 2');
SELECT is(crm_rfm_score(241, '{30, 60, 120, 240}', false), 1, 'recency: 241 days scores 1');
SELECT is(crm_rfm_score(NULL, '{30, 60, 120, 240}'), NULL, 'strict: NULL gives NULL');

SELECT throws_ok($$SELECT crm_rfm_score(5, '{4, 3, 2, 1}')$$, '22023', 'thresholds must not decrease', 'decreasing thresholds');
SELECT throws_ok($$SELECT crm_rfm_score(5, '{1, 2, 3}')$$, '2202E', 'thresholds must have exactly 4 elements', 'three thresholds');
SELECT throws_ok($$SELECT crm_rfm_score(5, '{}')$$, '2202E', 'thresholds must have exactly 4 elements', 'empty thresholds');
SELECT throws_ok($$SELECT crm_rfm_score(5, '{1, NULL, 3, 4}')$$, '22004', 'thresholds must not contain nulls', 'NULL threshold');
SELECT throws_ok($$SELECT crm_rfm_score('NaN', '{1, 2, 3, 4}')$$, '22023', 'value cannot be NaN', 'NaN value');
SELECT throws_ok($$SELECT crm_rfm_score(5, '{1, 2, 3, NaN}')$$, '22023', 'thresholds cannot be NaN', 'NaN threshold');

-- Segments: the published ranges (rfm package, rfm_segment defaults).
CREATE TEMP TABLE published (pos int, segment text, r_lo int, r_hi int, f_lo int, f_hi int, m_lo int, m_hi int);
INSERT INTO published VALUES
    (1, 'Champions',          4, 5, 4, 5, 4, 5),
    (2, 'Loyal Customers',    2, 5, 3, 5, 3, 5),
    (3, 'Potential Loyalist', 3, 5, 1, 3, 1, 3),
    (4, 'New Customers',      4, 5, 1, 1, 1, 1),
    (5, 'Promising',          3, 4, 1, 1, 1, 1),
    (6, 'Need Attention',     2, 3, 2, 3, 2, 3),
    (7, 'About To Sleep',     2, 3, 1, 2, 1, 2),
    (8, 'At Risk',            1, 2, 2, 5, 2, 5),
    (9, 'Can''t Lose Them',   1, 1, 4, 5, 4, 5),
    (10, 'Lost',              1, 2, 1, 2, 1, 2);
CREATE TEMP TABLE cells AS
SELECT r, f, m FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;
-- The package's order: first match in published order, else Others.
SELECT is_empty($$
    SELECT r, f, m FROM cells
    WHERE crm_rfm_segment(r, f, m, r_package_order => true) IS DISTINCT FROM coalesce(
        (SELECT segment FROM published
         WHERE r BETWEEN r_lo AND r_hi AND f BETWEEN f_lo AND f_hi AND m BETWEEN m_lo AND m_hi
         ORDER BY pos LIMIT 1), 'Others')$$,
    'r_package_order: all 125 cells match the rfm package');
-- The default order: the three shadowed segments move just before the
-- segment that contains them.
SELECT is_empty($$
    SELECT r, f, m FROM cells
    WHERE crm_rfm_segment(r, f, m) IS DISTINCT FROM coalesce(
        (SELECT segment FROM published
         WHERE r BETWEEN r_lo AND r_hi AND f BETWEEN f_lo AND f_hi AND m BETWEEN m_lo AND m_hi
         ORDER BY CASE segment WHEN 'New Customers' THEN 2.1 WHEN 'Promising' THEN 2.2
                               WHEN 'Can''t Lose Them' THEN 7.5 ELSE pos END
         LIMIT 1), 'Others')$$,
    'default order: all 125 cells match the ranges with shadowed segments first');
SELECT is((SELECT count(DISTINCT crm_rfm_segment(r, f, m)) FROM cells), 11::bigint,
          'default order reaches all ten segments and Others');
SELECT is((SELECT count(DISTINCT crm_rfm_segment(r, f, m, true)) FROM cells), 8::bigint,
          'the package order reaches seven segments and Others');

-- Hand-picked cells.
SELECT is(crm_rfm_segment(5, 5, 5), 'Champions', '555 is Champions');
SELECT is(crm_rfm_segment(4, 4, 4), 'Champions', '444 is Champions');
SELECT is(crm_rfm_segment(2, 3, 3), 'Loyal Customers', '233 is Loyal Customers');
SELECT is(crm_rfm_segment(5, 2, 2), 'Potential Loyalist', '522 is Potential Loyalist');
SELECT is(crm_rfm_segment(5, 1, 1), 'New Customers', '511 is New Customers');
SELECT is(crm_rfm_segment(5, 1, 1, true), 'Potential Loyalist', '511 is Potential Loyalist in the package order');
SELECT is(crm_rfm_segment(3, 1, 1), 'Promising', '311 is Promising');
SELECT is(crm_rfm_segment(2, 2, 2), 'Need Attention', '222 is Need Attention');
SELECT is(crm_rfm_segment(2, 1, 2), 'About To Sleep', '212 is About To Sleep');
SELECT is(crm_rfm_segment(1, 3, 3), 'At Risk', '133 is At Risk');
SELECT is(crm_rfm_segment(1, 5, 5), 'Can''t Lose Them', '155 is Can''t Lose Them');
SELECT is(crm_rfm_segment(1, 5, 5, true), 'At Risk', '155 is At Risk in the package order');
SELECT is(crm_rfm_segment(1, 1, 1), 'Lost', '111 is Lost');
SELECT is(crm_rfm_segment(5, 4, 1), 'Others', '541 matches no segment: Others');

SELECT throws_ok('SELECT crm_rfm_segment(0, 3, 3)', '22003', 'r must be between 1 and 5', 'r = 0');
SELECT throws_ok('SELECT crm_rfm_segment(3, 6, 3)', '22003', 'f must be between 1 and 5', 'f = 6');
SELECT throws_ok('SELECT crm_rfm_segment(3, 3, -1)', '22003', 'm must be between 1 and 5', 'm = -1');

SELECT * FROM finish();
ROLLBACK;
