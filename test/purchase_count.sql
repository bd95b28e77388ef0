-- P(X(t) = n) under BG/NBD, MBG/NBD and Pareto/NBD: BTYD's published
-- values, and for new customers and every CDNOW sample customer (and one
-- with 1,000 purchases) the probabilities summing to 1, their mean equal
-- to the expected purchases, the churn score as the formula gives it, and
-- Pareto/NBD's new customers against a simulation.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(21);

-- BTYD (R), bgnbd.pmf with r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
CREATE TEMP TABLE btyd AS SELECT ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, true, NULL, NULL, NULL)::crm_bgnbd_model AS m;
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
       (SELECT crm_mbgnbd_fit(x, t_x, "T") FROM published WHERE id > 0) AS mbg,
       (SELECT crm_paretonbd_fit(x, t_x, "T") FROM published WHERE id > 0) AS pn;

-- Each customer: sum over n = 0 .. 3,000 (the one with 1,000 purchases in
-- 52 weeks expects about 750 in the next 39)
CREATE TEMP TABLE sums AS
SELECT id, x, t_x, "T",
       sum(crm_bgnbd_p_purchases(bg, n, 39, x, t_x, "T")) AS bg_total,
       sum(n * crm_bgnbd_p_purchases(bg, n, 39, x, t_x, "T")) AS bg_mean,
       sum(crm_mbgnbd_p_purchases(mbg, n, 39, x, t_x, "T")) AS mbg_total,
       sum(n * crm_mbgnbd_p_purchases(mbg, n, 39, x, t_x, "T")) AS mbg_mean,
       sum(crm_paretonbd_p_purchases(pn, n, 39, x, t_x, "T")) AS pn_total,
       sum(n * crm_paretonbd_p_purchases(pn, n, 39, x, t_x, "T")) AS pn_mean
FROM (SELECT * FROM published WHERE id IN (0, 1, 2, 3, 4, 5, 18, 100, 1000, 2357)) p, models,
     generate_series(0, CASE WHEN x > 100 THEN 3000 ELSE 200 END) n
GROUP BY id, x, t_x, "T";
SELECT is_empty($$SELECT id FROM sums WHERE abs(bg_total - 1) > 1e-9 OR abs(mbg_total - 1) > 1e-9
                                          OR abs(pn_total - 1) > 1e-9$$,
                'for customers with 0 to 1,000 repeat purchases the probabilities sum to 1, under the three models');
SELECT is_empty($$SELECT id FROM sums, models
                  WHERE abs(bg_mean / crm_bgnbd_expected(bg, 39, x, t_x, "T") - 1) > 1e-8$$,
                'BG/NBD: their mean is crm_bgnbd_expected');
SELECT is_empty($$SELECT id FROM sums, models
                  WHERE abs(mbg_mean / crm_mbgnbd_expected(mbg, 39, x, t_x, "T") - 1) > 1e-8$$,
                'MBG/NBD: their mean is crm_mbgnbd_expected');
SELECT is_empty($$SELECT id FROM sums, models
                  WHERE abs(pn_mean / crm_paretonbd_expected(pn, 39, x, t_x, "T") - 1) > 1e-8$$,
                'Pareto/NBD: their mean is crm_paretonbd_expected');

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

-- Pareto/NBD, a new customer: both forms of its death term (alpha below
-- beta, as on CDNOW, and above), and alpha = beta where they meet
CREATE TEMP TABLE pn_new AS
SELECT k, ROW(r, alpha, s, beta, 0, 1, 1, true, NULL, NULL, NULL)::crm_paretonbd_model AS m
FROM (VALUES ('cdnow', 0.5533, 10.58, 0.6062, 11.67), ('alpha above beta', 0.8, 20, 0.5, 4),
             ('alpha = beta', 0.8, 7, 1.5, 7)) v(k, r, alpha, s, beta);
SELECT is_empty($$SELECT k FROM pn_new, generate_series(0, 600) n GROUP BY k, m
                  HAVING abs(sum(crm_paretonbd_p_purchases_new(m, n, 39)) - 1) > 1e-10
                      OR abs(sum(n * crm_paretonbd_p_purchases_new(m, n, 39)) / crm_paretonbd_expected_new(m, 39) - 1) > 1e-8$$,
                'Pareto/NBD, a new customer: probabilities sum to 1, mean crm_paretonbd_expected_new, alpha below, above and equal to beta');
SELECT is_empty($$SELECT n FROM generate_series(0, 5) n,
                         LATERAL (SELECT crm_paretonbd_p_purchases_new(ROW(0.8, 7, 1.5, 7 * (1 + 1e-9), 0, 1, 1, true, NULL, NULL, NULL)::crm_paretonbd_model, n, 39) AS below,
                                         crm_paretonbd_p_purchases_new(ROW(0.8, 7, 1.5, 7 * (1 - 1e-9), 0, 1, 1, true, NULL, NULL, NULL)::crm_paretonbd_model, n, 39) AS above) p
                  WHERE abs(below / above - 1) > 1e-7$$,
                'the two forms agree where alpha crosses beta');
SELECT is((SELECT crm_paretonbd_p_purchases_new(m, 0, 0) || ' ' || crm_paretonbd_p_purchases_new(m, 2, 0)
           FROM pn_new WHERE k = 'cdnow'), '1 0', 'Pareto/NBD: no time, no purchase');

-- Against 20,000 simulated new customers of the 'alpha above beta' model:
-- the share with n purchases in 39 weeks within 4 standard errors
\ir lib/simulate.sql
SELECT setseed(0.7);
CREATE TEMP TABLE simulated AS
SELECT (pg_temp.paretonbd_customer(0.8, 20, 0.5, 4, 39)).frequency AS n FROM generate_series(1, 20000);
SELECT is_empty($$SELECT n, share, p FROM
                    (SELECT n, count(*) / 20000.0 AS share FROM simulated GROUP BY n) s
                    RIGHT JOIN generate_series(0, 4) g(n) USING (n),
                    LATERAL (SELECT crm_paretonbd_p_purchases_new(m, n, 39) AS p FROM pn_new WHERE k = 'alpha above beta') f
                  WHERE abs(coalesce(share, 0) - p) > 4 * sqrt(p * (1 - p) / 20000)$$,
                'Pareto/NBD: P(X(39) = 0 .. 4) of a new customer are the shares of 20,000 simulated ones');

-- The Pareto/NBD churn score: gone, or alive and no purchase in 13 weeks,
-- which is at least the chance of none by a customer alive all 13 weeks
-- (dying only takes purchases away): E[e^(-13 lambda)] over the rate
-- Gamma(r+x, alpha+T) the history leaves
SELECT is_empty($$SELECT id FROM published, models
                  WHERE crm_paretonbd_p_purchases(pn, 0, 13, x, t_x, "T")
                        < 1 - crm_paretonbd_p_alive(pn, x, t_x, "T")
                          + crm_paretonbd_p_alive(pn, x, t_x, "T")
                            * power(((pn).alpha + "T") / ((pn).alpha + "T" + 13), (pn).r + x) - 1e-12
                     OR crm_paretonbd_p_purchases(pn, 0, 13, x, t_x, "T") > 1$$,
                'Pareto/NBD: every CDNOW customer''s churn score lies between that bound and 1');
SELECT throws_ok($$SELECT crm_paretonbd_p_purchases(pn, 1, 39, 2, 40, 38) FROM models$$, '22023',
                 'recency must not exceed t', 'Pareto/NBD: an impossible history');

-- Bad input
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases_new(m, 1.5, 39) FROM btyd$$, '22023', 'n must be a whole number',
                 'fractional n');
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases_new(m, -1, 39) FROM btyd$$, '22003', NULL, 'negative n');
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases_new(m, 1, -39) FROM btyd$$, '22003', NULL, 'negative horizon');
SELECT throws_ok($$SELECT crm_bgnbd_p_purchases(m, 1, 39, 2, 40, 38) FROM btyd$$, '22023',
                 'recency must not exceed t', 'an impossible history');

SELECT * FROM finish();
ROLLBACK;
