-- P(X(t) = n) under BG/NBD and MBG/NBD: BTYD's published values, and for
-- new customers and every CDNOW sample customer (and one with 1,000
-- purchases) the probabilities summing to 1, their mean equal to the
-- expected purchases, and the churn score as the formula gives it.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(14);

-- BTYD (R), bgnbd.pmf with r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
CREATE TEMP TABLE btyd AS SELECT ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, true)::crm_bgnbd_model AS m;
SELECT ok((SELECT abs(crm_bgnbd_p_purchases_new(m, 10, 2) / 1.07869e-07 - 1) < 1e-5 FROM btyd),
          'P(X(2) = 10) = 1.07869e-07');
SELECT ok((SELECT abs(crm_bgnbd_p_purchases_new(m, 0, 39) - 0.5737864) < 1e-7 FROM btyd),
          'P(X(39) = 0) = 0.5737864');
SELECT ok((SELECT abs(sum(crm_bgnbd_p_purchases_new(m, n, 39)) - 1) < 1e-12
                  AND abs(sum(n * crm_bgnbd_p_purchases_new(m, n, 39)) / crm_bgnbd_expected_new(m, 39) - 1) < 1e-9
           FROM btyd, generate_series(0, 400) n GROUP BY m),
          'a new customer''s probabilities sum to 1, and their mean is crm_bgnbd_expected_new');
SELECT is((SELECT crm_bgnbd_p_purchases_new(m, 0, 0) || ' ' || crm_bgnbd_p_purchases_new(m, 3, 0) FROM btyd), '1 0',
          'no time, no purchase');

CREATE TEMP TABLE published (id int, x int, t_x numeric, "T" numeric, zbar numeric);
\copy published FROM 'data/cdnow_sample_summary.csv' WITH (FORMAT csv, HEADER)
INSERT INTO published VALUES (0, 1000, 50, 52, NULL);
CREATE TEMP TABLE models AS
SELECT (SELECT crm_bgnbd_fit(x, t_x, "T") FROM published WHERE id > 0) AS bg,
       (SELECT crm_mbgnbd_fit(x, t_x, "T") FROM published WHERE id > 0) AS mbg;

-- Each customer: sum over n = 0 .. 3,000 (the one with 1,000 purchases in
-- 52 weeks expects about 750 in the next 39)
CREATE TEMP TABLE sums AS
SELECT id, x, t_x, "T",
       sum(crm_bgnbd_p_purchases(bg, n, 39, x, t_x, "T")) AS bg_total,
       sum(n * crm_bgnbd_p_purchases(bg, n, 39, x, t_x, "T")) AS bg_mean,
       sum(crm_mbgnbd_p_purchases(mbg, n, 39, x, t_x, "T")) AS mbg_total,
       sum(n * crm_mbgnbd_p_purchases(mbg, n, 39, x, t_x, "T")) AS mbg_mean
FROM (SELECT * FROM published WHERE id IN (0, 1, 2, 3, 4, 5, 18, 100, 1000, 2357)) p, models,
     generate_series(0, CASE WHEN x > 100 THEN 3000 ELSE 200 END) n
GROUP BY id, x, t_x, "T";
SELECT is_empty($$SELECT id FROM sums WHERE abs(bg_total - 1) > 1e-9 OR abs(mbg_total - 1) > 1e-9$$,
                'for customers with 0 to 1,000 repeat purchases the probabilities sum to 1, under both models');
SELECT is_empty($$SELECT id FROM sums, models
                  WHERE abs(bg_mean / crm_bgnbd_expected(bg, 39, x, t_x, "T") - 1) > 1e-8$$,
                'BG/NBD: their mean is crm_bgnbd_expected');
SELECT is_empty($$SELECT id FROM sums, models
                  WHERE abs(mbg_mean / crm_mbgnbd_expected(mbg, 39, x, t_x, "T") - 1) > 1e-8$$,
                'MBG/NBD: their mean is crm_mbgnbd_expected');

-- The churn score: gone, or alive and no purchase from a rate Gamma(r+x, alpha+T)
SELECT is_empty($$SELECT id FROM published, models
                  WHERE abs(crm_bgnbd_p_purchases(bg, 0, 13, x, t_x, "T")
                            - (1 - crm_bgnbd_p_alive(bg, x, t_x, "T")
                               + crm_bgnbd_p_alive(bg, x, t_x, "T")
                                 * power(((bg).alpha + "T") / ((bg).alpha + "T" + 13), (bg).r + x))) > 1e-12$$,
                'P(no purchase in the next 13 weeks) of every CDNOW customer, as the formula gives it');
SELECT ok((SELECT crm_mbgnbd_p_purchases_new(mbg, 0, 39) > crm_bgnbd_p_purchases_new(bg, 0, 39) FROM models),
          'MBG/NBD gives a new customer more chance of never coming back');
SELECT ok((SELECT abs(sum(crm_mbgnbd_p_purchases_new(mbg, n, 39)) - 1) < 1e-12
                  AND abs(sum(n * crm_mbgnbd_p_purchases_new(mbg, n, 39)) / crm_mbgnbd_expected_new(mbg, 39) - 1) < 1e-9
           FROM models, generate_series(0, 400) n GROUP BY mbg),
          'MBG/NBD, a new customer: probabilities sum to 1, mean crm_mbgnbd_expected_new');

-- Bad input
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases_new(m, 1.5, 39) FROM btyd$$, '22023', 'n must be a whole number',
                 'fractional n');
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases_new(m, -1, 39) FROM btyd$$, '22003', NULL, 'negative n');
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases_new(m, 1, -39) FROM btyd$$, '22003', NULL, 'negative horizon');
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases(m, 1, 39, 2, 40, 38) FROM btyd$$, '22023',
                 'recency must not exceed t', 'an impossible history');

SELECT * FROM finish();
ROLLBACK;
