-- Time-invariant covariates in BG/NBD, MBG/NBD and Pareto/NBD: known coefficients
-- recovered from seeded simulations, the customer model against the
-- formula and the delta method written out here, covariates that carry
-- nothing, the penalizer, parallel plans, and bad input.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(40);
\ir lib/simulate.sql

-- 20,000 customers with a 0/1 covariate (a channel, say) and a standard
-- normal one, observed 20 to 52 weeks.  BG/NBD: r 0.5, alpha 5, a 0.8,
-- b 2.5, purchase coefficients (0.5, -0.3), dropout (-0.4, 0.6), through
-- alpha_i = alpha exp(-purchase . c) and b_i = b exp(-dropout . c).
SELECT setseed(0.1);
CREATE TABLE customers AS
SELECT i, (random() < 0.5)::int::float8 AS c1,
       sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS c2,
       round((20 + 32 * random())::numeric, 1)::float8 AS t
FROM generate_series(1, 20000) i;
CREATE TABLE bg_sim AS
SELECT c.*, s.frequency, s.recency
FROM customers c,
     LATERAL pg_temp.bgnbd_customer(0.5, 5 * exp(-(0.5 * c1 - 0.3 * c2)), 0.8,
                                    2.5 * exp(-(-0.4 * c1 + 0.6 * c2)), c.t) s;
CREATE TEMP TABLE bg AS SELECT crm_bgnbd_fit(frequency, recency, t, ARRAY[c1, c2]) AS m FROM bg_sim;
CREATE TEMP TABLE bg_params AS SELECT p.* FROM bg, crm_model_parameters(m) WITH ORDINALITY p(parameter, estimate, std_error, lower_95, upper_95, o);
SELECT ok((SELECT (m).converged AND (m).customers = 20000 FROM bg), 'BG/NBD with covariates: the fit converges over 20,000 customers');
SELECT is((SELECT array_agg(parameter ORDER BY o) FROM bg_params),
          '{r,alpha,a,b,purchase_coefficients[1],purchase_coefficients[2],dropout_coefficients[1],dropout_coefficients[2]}'::text[],
          'crm_model_parameters names the coefficients after the parameters');
-- Each estimate within 4 of its standard errors of the truth: the
-- standard errors are checked against a Hessian computed independently
-- in test/uncertainty.sql, and 4 of them miss once in 16,000
SELECT is_empty($$SELECT parameter, estimate, truth, std_error FROM bg_params
                  JOIN (VALUES ('r', 0.5), ('alpha', 5), ('a', 0.8), ('b', 2.5),
                               ('purchase_coefficients[1]', 0.5), ('purchase_coefficients[2]', -0.3),
                               ('dropout_coefficients[1]', -0.4), ('dropout_coefficients[2]', 0.6)) v(parameter, truth)
                  USING (parameter)
                  WHERE abs(estimate - truth) > 4 * std_error$$,
                'BG/NBD: every parameter and coefficient within 4 standard errors of the one simulated');
SELECT ok((SELECT bool_and(std_error < 0.05) FROM bg_params WHERE parameter LIKE '%coefficients%'),
          'and the coefficients known to within 0.05');
SELECT is_empty($$SELECT * FROM bg_params WHERE parameter LIKE '%coefficients%'
                  AND (abs(lower_95 - (estimate - 1.959964 * std_error)) > 1e-9
                       OR abs(upper_95 - (estimate + 1.959964 * std_error)) > 1e-9)$$,
                'a coefficient''s interval is estimate -+ 1.96 standard errors');
SELECT ok((SELECT (m).log_likelihood > (SELECT (crm_bgnbd_fit(frequency, recency, t)).log_likelihood FROM bg_sim)
                  AND (m).aic < (SELECT (crm_bgnbd_fit(frequency, recency, t)).aic FROM bg_sim)
           FROM bg),
          'the covariates raise the likelihood above the plain fit''s, and lower the AIC');

-- The customer model: alpha and b moved by the covariates
SELECT ok((SELECT abs((cm).alpha - (m).alpha * exp(-((m).purchase_coefficients[1] * 1 + (m).purchase_coefficients[2] * 0.5))) < 1e-12 * (cm).alpha
                  AND abs((cm).b - (m).b * exp(-((m).dropout_coefficients[1] * 1 + (m).dropout_coefficients[2] * 0.5))) < 1e-12 * (cm).b
                  AND (cm).r = (m).r AND (cm).a = (m).a AND (cm).converged
                  AND (cm).log_likelihood = (m).log_likelihood AND (cm).customers = 20000
           FROM bg, LATERAL (SELECT crm_bgnbd_customer_model(m, ARRAY[1, 0.5]) AS cm) x),
          'crm_bgnbd_customer_model: alpha exp(-purchase . c) and b exp(-dropout . c), r and a and the fit''s fields as they are');
SELECT ok((SELECT (cm).alpha = (m).alpha AND (cm).b = (m).b
           FROM bg, LATERAL (SELECT crm_bgnbd_customer_model(m, ARRAY[0, 0]) AS cm) x),
          'covariates of 0: the base parameters');
-- var(alpha_i) by the delta method written out: alpha_i = alpha e^u,
-- u = -(g1 c1 + g2 c2); d alpha_i = e^u d alpha - alpha_i (c1 d g1 + c2 d g2)
SELECT ok((SELECT abs((cm).covariance[2][2]
                      - (exp(2 * u) * v[2][2]
                         - 2 * exp(u) * ai * (1 * v[2][5] + 0.5 * v[2][6])
                         + ai ^ 2 * (v[5][5] + 2 * 0.5 * v[5][6] + 0.25 * v[6][6])))
                  < 1e-9 * (cm).covariance[2][2]
           FROM bg, LATERAL (SELECT crm_bgnbd_customer_model(m, ARRAY[1, 0.5]) AS cm,
                                    (m).covariance AS v,
                                    -((m).purchase_coefficients[1] + 0.5 * (m).purchase_coefficients[2]) AS u) x,
                LATERAL (SELECT (cm).alpha AS ai) y),
          'its covariance carries the fit''s over by the delta method (the variance of alpha_i written out)');
SELECT ok((SELECT crm_bgnbd_expected(crm_bgnbd_customer_model(m, ARRAY[1, 0.5]), 39, 2, 30, 38)
                  = crm_bgnbd_expected(ROW(cm.r, cm.alpha, cm.a, cm.b, 0, 1, 1, true, NULL, NULL, NULL)::crm_bgnbd_model, 39, 2, 30, 38)
           FROM bg, LATERAL crm_bgnbd_customer_model(m, ARRAY[1, 0.5]) cm),
          'every BG/NBD scoring function takes the customer model');
SELECT ok((SELECT (i).lower < (i).estimate AND (i).estimate < (i).upper
           FROM bg, LATERAL (SELECT crm_bgnbd_expected_interval(crm_bgnbd_customer_model(m, ARRAY[1, 0.5]), 39, 2, 30, 38) AS i) x),
          'intervals included');

-- MBG/NBD: the same customers drawn from MBG/NBD (a chance to drop out
-- after the first purchase too), the same parameters and coefficients
SELECT setseed(0.7);
CREATE TABLE mbg_sim AS
SELECT c.*, s.frequency, s.recency
FROM customers c,
     LATERAL pg_temp.bgnbd_customer(0.5, 5 * exp(-(0.5 * c1 - 0.3 * c2)), 0.8,
                                    2.5 * exp(-(-0.4 * c1 + 0.6 * c2)), c.t, true) s;
CREATE TEMP TABLE mbg AS SELECT crm_mbgnbd_fit(frequency, recency, t, ARRAY[c1, c2]) AS m FROM mbg_sim;
SELECT ok((SELECT (m).converged AND (m).customers = 20000 FROM mbg), 'MBG/NBD with covariates: the fit converges over 20,000 customers');
SELECT is_empty($$SELECT parameter, estimate, truth, std_error
                  FROM mbg, crm_model_parameters(m) p
                  JOIN (VALUES ('r', 0.5), ('alpha', 5), ('a', 0.8), ('b', 2.5),
                               ('purchase_coefficients[1]', 0.5), ('purchase_coefficients[2]', -0.3),
                               ('dropout_coefficients[1]', -0.4), ('dropout_coefficients[2]', 0.6)) v(parameter, truth)
                  USING (parameter)
                  WHERE abs(estimate - truth) > 4 * std_error$$,
                'MBG/NBD: every parameter and coefficient within 4 standard errors of the one simulated');
SELECT ok((SELECT (m).log_likelihood > (SELECT (crm_mbgnbd_fit(frequency, recency, t)).log_likelihood FROM mbg_sim) FROM mbg),
          'the covariates raise the likelihood above the plain MBG/NBD fit''s');
SELECT ok((SELECT abs((cm).alpha - (m).alpha * exp(-((m).purchase_coefficients[1] * 1 + (m).purchase_coefficients[2] * 0.5))) < 1e-12 * (cm).alpha
                  AND abs((cm).b - (m).b * exp(-((m).dropout_coefficients[1] * 1 + (m).dropout_coefficients[2] * 0.5))) < 1e-12 * (cm).b
                  AND (cm).r = (m).r AND (cm).a = (m).a AND (cm).converged
           FROM mbg, LATERAL (SELECT crm_mbgnbd_customer_model(m, ARRAY[1, 0.5]) AS cm) x),
          'crm_mbgnbd_customer_model: alpha and b moved by the covariates');
-- A one-time buyer of covariates (1, 0.5), 30 weeks after the first
-- purchase: P(alive) = 1 / (1 + a / b_i ((alpha_i + 30) / alpha_i)^r), below 1
SELECT ok((SELECT abs(crm_mbgnbd_p_alive(cm, 0, 0, 30) - 1 / (1 + (cm).a / (cm).b * (((cm).alpha + 30) / (cm).alpha) ^ (cm).r)) < 1e-12
                  AND crm_mbgnbd_p_alive(cm, 0, 0, 30) < 1
           FROM mbg, LATERAL crm_mbgnbd_customer_model(m, ARRAY[1, 0.5]) cm),
          'the customer model scores with crm_mbgnbd_p_alive: a one-time buyer may be gone');

-- Pareto/NBD: r 0.6, alpha 8, s 0.8, beta 12, purchase coefficients
-- (0.4, 0.2), dropout (0.5, -0.3)
SELECT setseed(0.2);
CREATE TABLE pn_sim AS
SELECT c.*, s.frequency, s.recency
FROM customers c,
     LATERAL pg_temp.paretonbd_customer(0.6, 8 * exp(-(0.4 * c1 + 0.2 * c2)), 0.8,
                                        12 * exp(-(0.5 * c1 - 0.3 * c2)), c.t) s;
CREATE TEMP TABLE pn AS SELECT crm_paretonbd_fit(frequency, recency, t, ARRAY[c1, c2]) AS m FROM pn_sim;
SELECT ok((SELECT (m).converged FROM pn), 'Pareto/NBD with covariates: the fit converges');
SELECT is_empty($$SELECT parameter, estimate, truth, std_error FROM pn, crm_model_parameters(m)
                  JOIN (VALUES ('r', 0.6), ('alpha', 8), ('s', 0.8), ('beta', 12),
                               ('purchase_coefficients[1]', 0.4), ('purchase_coefficients[2]', 0.2),
                               ('dropout_coefficients[1]', 0.5), ('dropout_coefficients[2]', -0.3)) v(parameter, truth)
                  USING (parameter)
                  WHERE abs(estimate - truth) > 4 * std_error$$,
                'Pareto/NBD: every parameter and coefficient within 4 standard errors of the one simulated');
SELECT ok((SELECT abs((cm).beta - (m).beta * exp(-((m).dropout_coefficients[1] * 1 - (m).dropout_coefficients[2] * 2))) < 1e-12 * (cm).beta
                  AND (cm).s = (m).s
                  AND crm_paretonbd_p_alive(cm, 2, 30, 38) > 0
           FROM pn, LATERAL (SELECT crm_paretonbd_customer_model(m, ARRAY[1, -2]) AS cm) x),
          'crm_paretonbd_customer_model: beta exp(-dropout . c), and the Pareto/NBD functions take it');

-- The likelihood of a covariate fit is the plain model's of each
-- customer at their own alpha and beta: on one customer in ten (every one
-- with covariates of their own, so each sums both series of A0 in the
-- fit's one loop), the fit reports the sum of the likelihoods written in
-- SQL (lib/paretonbd_sql.sql) at the customer models.
\ir lib/paretonbd_sql.sql
CREATE TEMP TABLE pn_tenth_rows AS SELECT * FROM pn_sim WHERE i % 10 = 0;
CREATE TEMP TABLE pn_tenth AS
SELECT crm_paretonbd_fit(frequency, recency, t, ARRAY[c1, c2]) AS m FROM pn_tenth_rows;
SELECT ok((SELECT abs((m).log_likelihood
                      / (SELECT sum(pg_temp.paretonbd_customer_loglik_sql(
                                        crm_paretonbd_customer_model(m, ARRAY[c1, c2]), frequency, recency, t))
                         FROM pn_tenth_rows)
                      - 1) < 1e-9
           FROM pn_tenth),
          'Pareto/NBD with covariates: the fit reports the sum of the customers'' likelihoods at their own parameters');

-- Long series: purchases far more frequent than dropouts (alpha 1, beta
-- 40), so that z runs up to 0.975 and frequencies into the hundreds, and
-- a customer's series of A0 take hundreds of terms -- past the first 64
-- the fit's table of what the terms share starts with (specfun.c).  The
-- fit reports the likelihood written in SQL at its parameters, and none
-- of them moved by a thousandth of itself (the coefficients by 0.01)
-- either way raises that likelihood.
SELECT setseed(0.3);
CREATE TEMP TABLE pn_long AS
SELECT c.c2, s.frequency, s.recency, c.t
FROM (SELECT * FROM customers WHERE i <= 400) c,
     LATERAL pg_temp.paretonbd_customer(0.5, exp(-0.5 * c.c2), 0.7, 40 * exp(-0.3 * c.c2), c.t) s;
CREATE TEMP TABLE pn_long_fit AS
SELECT (m).*, ARRAY[(m).r, (m).alpha, (m).s, (m).beta, (m).purchase_coefficients[1],
                    (m).dropout_coefficients[1]] AS p
FROM (SELECT crm_paretonbd_fit(frequency, recency, t, ARRAY[c2]) AS m FROM pn_long) f;
CREATE FUNCTION pg_temp.pn_long_loglik(p float8[]) RETURNS float8 LANGUAGE sql AS $$
    SELECT sum(pg_temp.paretonbd_customer_loglik_sql(
               ROW(p[1], p[2] * exp(-p[5] * c2), p[3], p[4] * exp(-p[6] * c2), 0, 1, 1, true,
                   NULL, NULL, NULL)::crm_paretonbd_model, frequency, recency, t))
    FROM pn_long $$;
SELECT ok((SELECT converged AND max(frequency) > 100
           FROM pn_long_fit, pn_long GROUP BY converged),
          'Pareto/NBD with covariates and long series: the fit converges (frequencies past 100)');
SELECT ok((SELECT abs(log_likelihood / pg_temp.pn_long_loglik(p) - 1) < 1e-9 FROM pn_long_fit),
          '... and reports the likelihood written in SQL at its parameters');
SELECT is_empty($$SELECT i, f FROM pn_long_fit, generate_series(1, 6) i, (VALUES (-1), (1)) d(f),
                      LATERAL (SELECT array_agg(CASE WHEN j <> i THEN p[j]
                                                     WHEN j <= 4 THEN p[j] * (1 + f * 1e-3)
                                                     ELSE p[j] + f * 1e-2 END ORDER BY j) AS q
                               FROM generate_series(1, 6) j) moved
                  WHERE pg_temp.pn_long_loglik(q) > log_likelihood$$,
                '... which is the maximum: no parameter moved either way raises it');

-- Covariates that carry nothing: 0 for everyone.  Their coefficients
-- have no maximum (converged is false); with a penalizer they are 0 and
-- the rest is the plain fit.
CREATE TEMP TABLE flat AS
SELECT crm_bgnbd_fit(frequency, recency, t, ARRAY[0::float8]) AS unpenalized,
       crm_bgnbd_fit(frequency, recency, t, ARRAY[0::float8], 0.001) AS penalized,
       crm_bgnbd_fit(frequency, recency, t) AS plain
FROM bg_sim;
SELECT ok((SELECT NOT (unpenalized).converged AND (unpenalized).covariance IS NULL FROM flat),
          'a covariate of 0 for everyone: no maximum, not converged');
SELECT ok((SELECT (penalized).converged AND abs((penalized).purchase_coefficients[1]) < 1e-6
                  AND abs((penalized).dropout_coefficients[1]) < 1e-6
                  AND abs((penalized).r / (plain).r - 1) < 1e-5 AND abs((penalized).b / (plain).b - 1) < 1e-5
                  AND abs((penalized).log_likelihood - (plain).log_likelihood) < 1e-6
           FROM flat),
          'with a penalizer: coefficients 0, and the plain model');
SELECT ok((SELECT abs((p).purchase_coefficients[1]) < abs((m).purchase_coefficients[1])
                  AND abs((p).dropout_coefficients[2]) < abs((m).dropout_coefficients[2])
                  AND abs((p).r / (m).r - 1) < 0.1
           FROM bg, (SELECT crm_bgnbd_fit(frequency, recency, t, ARRAY[c1, c2], 0.05) AS p FROM bg_sim) f),
          'the penalizer pulls the coefficients towards 0');

-- One customer per row or counted: rows that share everything merge
SELECT ok((SELECT row(a.*)::text = row(b.*)::text
           FROM (SELECT (crm_bgnbd_fit(frequency, recency, t, ARRAY[c1])).* FROM bg_sim) a,
                (SELECT (crm_bgnbd_fit(frequency, recency, t, ARRAY[c1])).*
                 FROM (SELECT * FROM bg_sim ORDER BY i DESC) r) b),
          'the order of the rows does not change the fit');

-- Parallel plans: a covariate fit is PARALLEL RESTRICTED, so the leader
-- reads its rows (a partial state of distinct customers would travel
-- whole), while parallel workers may still scan them; the same model
ANALYZE bg_sim;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
\ir lib/plan_of.sql
SELECT doesnt_match(pg_temp.plan_of('SELECT crm_bgnbd_fit(frequency, recency, t, ARRAY[c1, c2]) FROM bg_sim'),
                    'Partial Aggregate', 'a covariate fit is not planned as a partial aggregate');
SELECT matches(pg_temp.plan_of('SELECT crm_bgnbd_fit(frequency, recency, t, ARRAY[c1, c2]) FROM bg_sim'),
               'Gather', '... but parallel workers may read its rows');
CREATE TEMP TABLE parallel_fit AS SELECT crm_bgnbd_fit(frequency, recency, t, ARRAY[c1, c2])::text AS m FROM bg_sim;
SET max_parallel_workers_per_gather = 0;
SELECT is((SELECT m FROM parallel_fit), (SELECT m::text FROM bg), 'parallel and serial fits are identical');
RESET max_parallel_workers_per_gather;

-- NULLs and bad input
SELECT is((SELECT (crm_bgnbd_fit(frequency, recency, t, CASE WHEN i % 2 = 0 THEN ARRAY[c1, c2] END)).customers FROM bg_sim),
          10000::bigint, 'rows with NULL covariates are skipped');
SELECT ok((SELECT crm_bgnbd_fit(frequency, recency, t, NULL::float8[]) IS NULL FROM bg_sim), 'all NULL: NULL');
SELECT throws_ok($$SELECT crm_bgnbd_fit(frequency, recency, t, CASE WHEN i = 7 THEN ARRAY[c1] ELSE ARRAY[c1, c2] END) FROM bg_sim$$,
                 '2202E', NULL, 'every customer must have as many covariates');
SELECT throws_ok($$SELECT crm_bgnbd_fit(1, 1, 2, '{}'::float8[])$$, '2202E', 'covariates must have 1 to 8 elements',
                 'no covariates');
SELECT throws_ok($$SELECT crm_bgnbd_fit(1, 1, 2, '{1,2,3,4,5,6,7,8,9}'::float8[])$$, '2202E', NULL, 'nine covariates');
SELECT throws_ok($$SELECT crm_paretonbd_fit(1, 1, 2, ARRAY[1, 'NaN'::float8])$$, '22023', 'covariates cannot be NaN', 'a NaN covariate');
SELECT throws_ok($$SELECT crm_paretonbd_fit(1, 1, 2, ARRAY[1, NULL])$$, '22004', NULL, 'a NULL covariate');
SELECT throws_ok($$SELECT crm_bgnbd_fit(1, 3, 2, ARRAY[1])$$, '22023', 'recency must not exceed t', 'an impossible summary');
SELECT throws_ok($$SELECT crm_bgnbd_fit(1, 1, 2, ARRAY[1], -1)$$, '22003', NULL, 'a negative penalizer');
SELECT throws_ok($$SELECT crm_bgnbd_customer_model(m, ARRAY[1]) FROM bg$$, '2202E',
                 'the model has 2 purchase_coefficients, the customer 1 covariates', 'a customer with too few covariates');

SELECT * FROM finish();
ROLLBACK;
