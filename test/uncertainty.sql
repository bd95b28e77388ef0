-- How sure a fitted model is: the covariance every fit stores against the
-- standard errors lifetimes prints and against a Hessian of the
-- log-likelihood computed here in SQL, AIC and BIC, crm_model_parameters
-- for every model type, and the intervals of the predictions against the
-- quantiles of predictions over parameters drawn from the fitted
-- distribution.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(47);

CREATE TEMP TABLE published (id int, x int, t_x numeric, "T" numeric, zbar numeric);
\copy published FROM 'data/cdnow_sample_summary.csv' WITH (FORMAT csv, HEADER)

CREATE TEMP TABLE models AS
SELECT crm_bgnbd_fit(x, t_x, "T") AS bg, crm_mbgnbd_fit(x, t_x, "T") AS mbg,
       crm_paretonbd_fit(x, t_x, "T") AS pn, crm_gammagamma_fit(x, zbar) AS gg
FROM published;
CREATE TEMP TABLE bg AS SELECT (bg).* FROM models;

-- Standard errors lifetimes prints for the CDNOW sample BG/NBD fit
-- (BetaGeoFitter.summary): r 0.01, alpha 0.38, a 0.19, b 0.71
SELECT is((SELECT array_agg(round(std_error::numeric, 2) ORDER BY ord)
           FROM models, crm_model_parameters(bg) WITH ORDINALITY p(parameter, estimate, std_error, l, u, ord)),
          '{0.01,0.38,0.19,0.71}'::numeric[],
          'CDNOW sample BG/NBD: the standard errors lifetimes prints (r 0.01, alpha 0.38, a 0.19, b 0.71)');
SELECT is((SELECT array_agg(parameter ORDER BY ord)
           FROM models, crm_model_parameters(bg) WITH ORDINALITY p(parameter, e, s, l, u, ord)),
          '{r,alpha,a,b}'::text[], 'one row per parameter, in the order of the model type');

-- An independent Hessian: the BG/NBD log-likelihood (FHL 2005, eq. 6)
-- written out in SQL -- the gamma and beta function ratios of a whole
-- frequency x are products over k < x -- and differentiated twice
-- numerically in the log-parameters.
CREATE FUNCTION pg_temp.bgnbd_ll(theta float8[]) RETURNS float8 LANGUAGE sql AS $$
    SELECT sum(ln(exp(lr + lb1 + r * ln(alpha) - (r + x) * ln(alpha + "T"))
                  + CASE WHEN x > 0 THEN exp(lr + lb2 + r * ln(alpha) - (r + x) * ln(alpha + t_x)) ELSE 0 END))
    FROM (SELECT exp(theta[1]) r, exp(theta[2]) alpha, exp(theta[3]) a, exp(theta[4]) b) p,
         LATERAL (SELECT x, t_x::float8 t_x, "T"::float8 "T",
                         (SELECT coalesce(sum(ln(r + k)), 0) FROM generate_series(0, x - 1) k) lr,
                         (SELECT coalesce(sum(ln((b + k) / (a + b + k))), 0) FROM generate_series(0, x - 1) k) lb1,
                         CASE WHEN x > 0 THEN ln(a / (a + b + x - 1))
                              + (SELECT coalesce(sum(ln((b + k) / (a + b + k))), 0) FROM generate_series(0, x - 2) k)
                         END lb2
                  FROM published) c
$$;
-- Inverse of a square matrix, Gauss-Jordan with partial pivoting
CREATE FUNCTION pg_temp.inverse(m float8[]) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    n int := array_length(m, 1);
    w float8[] := array_fill(0::float8, ARRAY[n, 2 * n]);
    piv int;
    t float8;
BEGIN
    FOR i IN 1..n LOOP
        FOR j IN 1..n LOOP w[i][j] := m[i][j]; END LOOP;
        w[i][n + i] := 1;
    END LOOP;
    FOR c IN 1..n LOOP
        piv := c;
        FOR i IN c + 1..n LOOP
            IF abs(w[i][c]) > abs(w[piv][c]) THEN piv := i; END IF;
        END LOOP;
        FOR j IN 1..2 * n LOOP
            t := w[c][j]; w[c][j] := w[piv][j]; w[piv][j] := t;
        END LOOP;
        t := w[c][c];
        FOR j IN 1..2 * n LOOP w[c][j] := w[c][j] / t; END LOOP;
        FOR i IN 1..n LOOP
            IF i <> c THEN
                t := w[i][c];
                FOR j IN 1..2 * n LOOP w[i][j] := w[i][j] - t * w[c][j]; END LOOP;
            END IF;
        END LOOP;
    END LOOP;
    RETURN (SELECT array_agg(row ORDER BY i) FROM
            (SELECT i, array_agg(w[i][n + j] ORDER BY j) row FROM generate_series(1, n) i, generate_series(1, n) j
             GROUP BY i) r);
END $$;
-- Covariance of the parameters from the numerical Hessian of -ll in the
-- log-parameters at theta, turned into the parameters' own scale
CREATE FUNCTION pg_temp.numerical_covariance(ll text, theta float8[]) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    n int := cardinality(theta);
    h float8 := 1e-3;
    hess float8[] := array_fill(0::float8, ARRAY[n, n]);
    inv float8[];
    f0 float8;
    e_i float8[];
    e_j float8[];
    pp float8; pm float8; mp float8; mm float8;
BEGIN
    EXECUTE format('SELECT %s($1)', ll) INTO f0 USING theta;
    FOR i IN 1..n LOOP
        FOR j IN i..n LOOP
            e_i := array_fill(0::float8, ARRAY[n]); e_i[i] := h;
            e_j := array_fill(0::float8, ARRAY[n]); e_j[j] := h;
            EXECUTE format('SELECT %1$s(ARRAY(SELECT t + a + b FROM unnest($1, $2, $3) u(t, a, b))),
                                   %1$s(ARRAY(SELECT t + a - b FROM unnest($1, $2, $3) u(t, a, b))),
                                   %1$s(ARRAY(SELECT t - a + b FROM unnest($1, $2, $3) u(t, a, b))),
                                   %1$s(ARRAY(SELECT t - a - b FROM unnest($1, $2, $3) u(t, a, b)))', ll)
                INTO pp, pm, mp, mm USING theta, e_i, e_j;
            hess[i][j] := -(pp - pm - mp + mm) / (4 * h * h);
            hess[j][i] := hess[i][j];
        END LOOP;
    END LOOP;
    inv := pg_temp.inverse(hess);
    RETURN (SELECT array_agg(row ORDER BY i) FROM
            (SELECT i, array_agg(inv[i][j] * exp(theta[i] + theta[j]) ORDER BY j) row
             FROM generate_series(1, n) i, generate_series(1, n) j GROUP BY i) r);
END $$;

CREATE TEMP TABLE numerical AS
SELECT pg_temp.numerical_covariance('pg_temp.bgnbd_ll', ARRAY[ln(r), ln(alpha), ln(a), ln(b)]) AS cov FROM bg;
SELECT is_empty($$SELECT i, j, b.covariance[i][j], n.cov[i][j] FROM bg b, numerical n,
                         generate_series(1, 4) i, generate_series(1, 4) j
                  WHERE abs(b.covariance[i][j] - n.cov[i][j])
                        > 1e-4 * sqrt(b.covariance[i][i] * b.covariance[j][j])$$,
                'the covariance is the inverse of the Hessian of the log-likelihood computed here (to 1e-4 of the standard errors)');
SELECT ok((SELECT bool_and(b.covariance[i][j] = b.covariance[j][i]) FROM bg b, generate_series(1, 4) i, generate_series(1, 4) j),
          'the covariance is symmetric');

-- The same for sBG, whose likelihood is a product of ratios: P(T = 1) =
-- alpha / (alpha + beta), P(T = t) = P(T = t - 1) (beta + t - 2) / (alpha + beta + t - 1)
CREATE TEMP TABLE cohort (periods int, churned boolean, customers int);
INSERT INTO cohort
SELECT y, true, c FROM unnest('{369,163,86,56,37,27,21}'::int[]) WITH ORDINALITY a(c, y)
UNION ALL SELECT 7, false, 241;
CREATE FUNCTION pg_temp.sbg_ll(theta float8[]) RETURNS float8 LANGUAGE sql AS $$
    WITH RECURSIVE p(t, prob, survival) AS (
        SELECT 1, exp(theta[1]) / (exp(theta[1]) + exp(theta[2])), exp(theta[2]) / (exp(theta[1]) + exp(theta[2]))
        UNION ALL
        SELECT t + 1, prob * (exp(theta[2]) + t - 1) / (exp(theta[1]) + exp(theta[2]) + t),
               survival - prob * (exp(theta[2]) + t - 1) / (exp(theta[1]) + exp(theta[2]) + t)
        FROM p WHERE t < 7)
    SELECT sum(c.customers * ln(CASE WHEN c.churned THEN p.prob ELSE p.survival END))
    FROM cohort c JOIN p ON p.t = c.periods
$$;
CREATE TEMP TABLE sbg AS SELECT (crm_sbg_fit(periods, churned, customers)).* FROM cohort;
SELECT ok((SELECT abs(alpha - 0.704) < 0.001 AND abs(beta - 1.182) < 0.001 FROM sbg),
          'sBG: the regular customers of Fader & Hardie 2007 (alpha 0.704, beta 1.182)');
SELECT ok((SELECT abs(s.log_likelihood - pg_temp.sbg_ll(ARRAY[ln(s.alpha), ln(s.beta)])) < 1e-9 FROM sbg s),
          'sBG: the log-likelihood written out here is the fit''s');
SELECT is_empty($$SELECT i, j FROM sbg s,
                         LATERAL (SELECT pg_temp.numerical_covariance('pg_temp.sbg_ll', ARRAY[ln(s.alpha), ln(s.beta)]) cov) n,
                         generate_series(1, 2) i, generate_series(1, 2) j
                  WHERE abs(s.covariance[i][j] - n.cov[i][j]) > 1e-4 * sqrt(s.covariance[i][i] * s.covariance[j][j])$$,
                'sBG: the covariance is the inverse of the Hessian computed here');

-- AIC and BIC from their definitions, k parameters and n customers
SELECT ok((SELECT abs(aic - (2 * 4 - 2 * log_likelihood)) < 1e-9 AND abs(bic - (4 * ln(2357) - 2 * log_likelihood)) < 1e-9
           FROM bg),
          'AIC = 2 k - 2 LL and BIC = k ln(n) - 2 LL');
SELECT ok((SELECT abs(aic - (2 * 2 - 2 * log_likelihood)) < 1e-9 AND abs(bic - (2 * ln(1000) - 2 * log_likelihood)) < 1e-9
           FROM sbg),
          'with k = 2 for sBG and n the customers the rows stand for');
SELECT ok((SELECT (bg).aic < (pn).aic AND (bg).bic < (pn).bic FROM models),
          'on the CDNOW sample BG/NBD scores better than Pareto/NBD (LL -9582.4 against -9595.0)');

-- crm_model_parameters for every model type: names in order, and the
-- interval exp(ln p -+ 1.959964 se / p)
CREATE TEMP TABLE donations (frequency int, recency int, n int, n_custs int);
\copy donations FROM 'data/donations.csv' WITH (FORMAT csv, HEADER)
CREATE TEMP TABLE every_model AS
SELECT 'bgnbd' AS kind, p.* FROM models, crm_model_parameters(bg) WITH ORDINALITY p(parameter, estimate, std_error, lower_95, upper_95, o)
UNION ALL SELECT 'mbgnbd', p.* FROM models, crm_model_parameters(mbg) WITH ORDINALITY p(parameter, estimate, std_error, lower_95, upper_95, o)
UNION ALL SELECT 'paretonbd', p.* FROM models, crm_model_parameters(pn) WITH ORDINALITY p(parameter, estimate, std_error, lower_95, upper_95, o)
UNION ALL SELECT 'gammagamma', p.* FROM models, crm_model_parameters(gg) WITH ORDINALITY p(parameter, estimate, std_error, lower_95, upper_95, o)
UNION ALL SELECT 'sbg', p.* FROM (SELECT crm_sbg_fit(periods, churned, customers) m FROM cohort) f,
                              crm_model_parameters(m) WITH ORDINALITY p(parameter, estimate, std_error, lower_95, upper_95, o)
UNION ALL SELECT 'bgbb', p.* FROM (SELECT crm_bgbb_fit(frequency, recency, n, n_custs) m FROM donations) f,
                               crm_model_parameters(m) WITH ORDINALITY p(parameter, estimate, std_error, lower_95, upper_95, o);
SELECT is((SELECT string_agg(kind || ':' || names, ' ' ORDER BY kind)
           FROM (SELECT kind, string_agg(parameter, ',' ORDER BY o) names FROM every_model GROUP BY kind) k),
          'bgbb:alpha,beta,gamma,delta bgnbd:r,alpha,a,b gammagamma:p,q,gamma mbgnbd:r,alpha,a,b paretonbd:r,alpha,s,beta sbg:alpha,beta',
          'every model type: its parameters in order');
SELECT is_empty($$SELECT * FROM every_model
                  WHERE NOT (std_error > 0 AND lower_95 < estimate AND estimate < upper_95
                             AND abs(lower_95 - estimate * exp(-1.959964 * std_error / estimate)) < 1e-6 * estimate
                             AND abs(upper_95 - estimate * exp(1.959964 * std_error / estimate)) < 1e-6 * estimate)$$,
                'every model type: a positive standard error and the interval exp(ln p -+ 1.96 se / p) around the estimate');
SELECT ok((SELECT std_error = sqrt((pn).covariance[4][4]) FROM models, crm_model_parameters(pn) p WHERE parameter = 'beta'),
          'the standard error is the square root of the variance in the covariance');

-- A fit that did not converge has no covariance, and only estimates
CREATE TEMP TABLE lone AS SELECT crm_bgnbd_fit(x, t_x, "T") AS m FROM published WHERE id = 1;
SELECT ok((SELECT NOT (m).converged AND (m).covariance IS NULL FROM lone), 'one customer: no maximum, no covariance');
SELECT is((SELECT count(*) FILTER (WHERE std_error IS NULL AND lower_95 IS NULL AND upper_95 IS NULL
                                   AND (estimate IS NOT NULL OR parameter IS NOT NULL))
           FROM lone, crm_model_parameters(m)), 4::bigint,
          'crm_model_parameters shows its estimates without errors or bounds');
SELECT throws_ok($$SELECT crm_model_parameters(ROW(1, 2, 3))$$, '42804',
                 'crm_model_parameters takes a crm model, not record',
                 'a row that is not a crm model is refused');
SELECT throws_ok($$SELECT crm_model_parameters(ROW(p, c.*)) FROM pg_class c, (SELECT 1.0::float8 p) x LIMIT 1$$, '42804', NULL,
                 'as is a table row');
SELECT throws_ok($$SELECT crm_model_parameters(ROW(-1, 1, 1, 1, 0, 1, 1, true, 0, 0, NULL)::crm_bgnbd_model)$$, '22003',
                 'model parameter r must be positive', 'a parameter that is not positive is refused');

-- Intervals of the predictions against simulation: parameters drawn from
-- the fitted asymptotic distribution (normal in the log-parameters), the
-- prediction made with each draw, and the 2.5% and 97.5% quantiles.
CREATE FUNCTION pg_temp.cholesky(m float8[]) RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    n int := array_length(m, 1);
    l float8[] := array_fill(0::float8, ARRAY[n, n]);
    s float8;
BEGIN
    FOR j IN 1..n LOOP
        s := m[j][j];
        FOR k IN 1..j - 1 LOOP s := s - l[j][k] ^ 2; END LOOP;
        l[j][j] := sqrt(s);
        FOR i IN j + 1..n LOOP
            s := m[i][j];
            FOR k IN 1..j - 1 LOOP s := s - l[i][k] * l[j][k]; END LOOP;
            l[i][j] := s / l[j][j];
        END LOOP;
    END LOOP;
    RETURN l;
END $$;
-- draws parameter vectors of a model: exp(ln p + L z), L L' = cov / (p p')
CREATE FUNCTION pg_temp.draws(p float8[], cov float8[], n int) RETURNS TABLE (draw int, q float8[]) LANGUAGE plpgsql AS $$
DECLARE
    k int := cardinality(p);
    l float8[];
    z float8[];
BEGIN
    l := pg_temp.cholesky((SELECT array_agg(row ORDER BY i) FROM
                           (SELECT i, array_agg(cov[i][j] / (p[i] * p[j]) ORDER BY j) row
                            FROM generate_series(1, k) i, generate_series(1, k) j GROUP BY i) r));
    FOR d IN 1..n LOOP
        z := ARRAY(SELECT sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) FROM generate_series(1, k));
        draw := d;
        q := ARRAY(SELECT exp(ln(p[i]) + (SELECT sum(l[i][j] * z[j]) FROM generate_series(1, i) j))
                   FROM generate_series(1, k) i);
        RETURN NEXT;
    END LOOP;
END $$;

SELECT setseed(0.2);
CREATE TEMP TABLE bg_draws AS
SELECT d.draw, ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true, NULL, NULL, NULL)::crm_bgnbd_model AS m
FROM bg, pg_temp.draws(ARRAY[r, alpha, a, b], covariance, 4000) d;
CREATE TEMP TABLE pn_draws AS
SELECT d.draw, ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true, NULL, NULL, NULL)::crm_paretonbd_model AS m
FROM (SELECT (pn).* FROM models) f, pg_temp.draws(ARRAY[r, alpha, s, beta], covariance, 4000) d;
CREATE TEMP TABLE gg_draws AS
SELECT d.draw, ROW(d.q[1], d.q[2], d.q[3], NULL, NULL, NULL, true, NULL, NULL, NULL)::crm_gammagamma_model AS m
FROM (SELECT (gg).* FROM models) f, pg_temp.draws(ARRAY[p, q, gamma], covariance, 4000) d;

-- A customer without repeat purchases, one of two in 30 weeks, a
-- frequent one and one with 500 (far beyond the data)
CREATE TEMP TABLE customers (x float8, t_x float8, "T" float8);
INSERT INTO customers VALUES (0, 0, 38.86), (2, 30.43, 38.86), (25, 36, 38), (500, 38, 38.5);

CREATE TEMP TABLE bg_check AS
SELECT c.*, i.*, s.*
FROM customers c, models,
     LATERAL crm_bgnbd_expected_interval(bg, 39, c.x, c.t_x, c."T") i,
     LATERAL (SELECT percentile_cont(0.025) WITHIN GROUP (ORDER BY crm_bgnbd_expected(m, 39, c.x, c.t_x, c."T")) AS sim_lower,
                     percentile_cont(0.975) WITHIN GROUP (ORDER BY crm_bgnbd_expected(m, 39, c.x, c.t_x, c."T")) AS sim_upper
              FROM bg_draws) s;
-- Measured over these customers and models: the bounds agree to 2.5% or
-- better (to 0.4% for BG/NBD, 1.6% Pareto/NBD, 2.4% MBG/NBD's one-time
-- buyer, whose a and b are known to 17% and 33%); the draws' own error on
-- a 2.5% quantile is about 0.5%, the rest is the curvature of the
-- prediction across the direction the method follows.
SELECT is_empty($$SELECT * FROM bg_check WHERE abs(lower / sim_lower - 1) > 0.03 OR abs(upper / sim_upper - 1) > 0.03$$,
                'BG/NBD: the 95% interval of expected purchases is the 2.5% to 97.5% range of 4,000 draws (to 3%)');
SELECT ok((SELECT bool_and(estimate = crm_bgnbd_expected(bg, 39, c.x, c.t_x, c."T")) FROM bg_check c, models),
          'BG/NBD: the estimate is crm_bgnbd_expected');
SELECT ok((SELECT bool_and(lower < estimate AND estimate < upper) FROM bg_check), 'and lies inside its interval');

CREATE TEMP TABLE pn_check AS
SELECT c.*, i.*, s.*
FROM customers c, models,
     LATERAL crm_paretonbd_expected_interval(pn, 39, c.x, c.t_x, c."T") i,
     LATERAL (SELECT percentile_cont(0.025) WITHIN GROUP (ORDER BY crm_paretonbd_expected(m, 39, c.x, c.t_x, c."T")) AS sim_lower,
                     percentile_cont(0.975) WITHIN GROUP (ORDER BY crm_paretonbd_expected(m, 39, c.x, c.t_x, c."T")) AS sim_upper
              FROM pn_draws) s;
SELECT is_empty($$SELECT * FROM pn_check WHERE abs(lower / sim_lower - 1) > 0.03 OR abs(upper / sim_upper - 1) > 0.03$$,
                'Pareto/NBD: the same against its draws');

-- CLV: the two models are drawn independently, as they are fitted
CREATE TEMP TABLE clv_check AS
SELECT c.*, i.*, s.*
FROM customers c, models,
     LATERAL crm_clv_predict_interval(bg, gg, c.x, c.t_x, c."T", 35, 12, 0.01, 4.345) i,
     LATERAL (SELECT percentile_cont(0.025) WITHIN GROUP (ORDER BY v) AS sim_lower,
                     percentile_cont(0.975) WITHIN GROUP (ORDER BY v) AS sim_upper
              FROM (SELECT crm_clv_predict(b.m, g.m, c.x, c.t_x, c."T", 35, 12, 0.01, 4.345) v
                    FROM bg_draws b JOIN gg_draws g USING (draw)) v) s;
SELECT is_empty($$SELECT * FROM clv_check WHERE abs(lower / sim_lower - 1) > 0.03 OR abs(upper / sim_upper - 1) > 0.03$$,
                'CLV (BG/NBD and Gamma-Gamma): the 95% interval against 4,000 draws of both models');
SELECT ok((SELECT bool_and(abs(estimate / crm_clv_predict(bg, gg, c.x, c.t_x, c."T", 35, 12, 0.01, 4.345) - 1) < 1e-12)
           FROM clv_check c, models),
          'CLV: the estimate is crm_clv_predict');
SELECT ok((SELECT (i).estimate > 0 AND (i).lower < (i).estimate AND (i).estimate < (i).upper
           FROM (SELECT crm_clv_predict_interval(pn, gg, 2, 30.43, 38.86, 35, 12, 0.01, 4.345) i FROM models) x),
          'CLV with Pareto/NBD: an interval around the estimate');
SELECT ok((SELECT (i).estimate = crm_clv_predict(mbg, gg, 0, 0, 38.86, 0, 12, 0.01, 4.345)
                  AND (i).lower < (i).estimate AND (i).estimate < (i).upper
           FROM (SELECT crm_clv_predict_interval(mbg, gg, 0, 0, 38.86, 0, 12, 0.01, 4.345) i, mbg, gg FROM models) x),
          'CLV with MBG/NBD, of a one-time buyer: an interval around crm_clv_predict''s estimate');

-- MBG/NBD and BG/BB against draws of their own
SELECT setseed(0.3);
SELECT is_empty($$SELECT * FROM customers c, models,
                         LATERAL crm_mbgnbd_expected_interval(mbg, 39, c.x, c.t_x, c."T") i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_mbgnbd_expected(ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true,
                                                                           NULL, NULL, NULL)::crm_mbgnbd_model, 39, c.x, c.t_x, c."T")) s
                                  FROM pg_temp.draws(ARRAY[(mbg).r, (mbg).alpha, (mbg).a, (mbg).b], (mbg).covariance, 4000) d) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03$$,
                'MBG/NBD: the same against its draws');
SELECT is_empty($$SELECT * FROM (SELECT crm_bgbb_fit(frequency, recency, n, n_custs) m FROM donations) f,
                         (VALUES (0, 0, 6), (3, 6, 6), (5, 6, 6)) c(x, t_x, n),
                         LATERAL crm_bgbb_expected_interval(m, 5, c.x, c.t_x, c.n) i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_bgbb_expected(ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true,
                                                                         NULL, NULL, NULL)::crm_bgbb_model, 5, c.x, c.t_x, c.n)) s
                                  FROM pg_temp.draws(ARRAY[(m).alpha, (m).beta, (m).gamma, (m).delta], (m).covariance, 4000) d) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03$$,
                'BG/BB: the interval of expected donations in the next 5 drives against its draws');

-- P(alive) with an interval, against the same kind of draws: the bounds
-- are P(alive) at parameters of the model, so they are probabilities
-- (and a BG/NBD customer without repeat purchases is alive, surely).
-- Pareto/NBD's P(alive) of a customer without repeat purchases moves with
-- all four parameters and is skewed by their uncertainty (over four seeds
-- the draws' median is 0.300-0.302 against 0.295 at the fit, their 95%
-- range 0.244-0.247 to 0.359-0.362): the interval, 0.242 to 0.351, sits up
-- to 3% inside the draws' quantiles there, so 5% for that model
SELECT is_empty($$SELECT * FROM customers c, models,
                         LATERAL crm_bgnbd_p_alive_interval(bg, c.x, c.t_x, c."T") i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_bgnbd_p_alive(m, c.x, c.t_x, c."T")) s FROM bg_draws) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03
                     OR i.estimate <> crm_bgnbd_p_alive(bg, c.x, c.t_x, c."T")
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)
                     OR (c.x = 0 AND (i.lower, i.upper) <> (1, 1))$$,
                'BG/NBD: P(alive) and its 95% interval against 4,000 draws, within [0, 1]');
SELECT is_empty($$SELECT * FROM customers c, models,
                         LATERAL crm_paretonbd_p_alive_interval(pn, c.x, c.t_x, c."T") i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_paretonbd_p_alive(m, c.x, c.t_x, c."T")) s FROM pn_draws) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.05 OR abs(i.upper / s.s[2] - 1) > 0.05
                     OR i.estimate <> crm_paretonbd_p_alive(pn, c.x, c.t_x, c."T")
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)$$,
                'Pareto/NBD: the same, within 5%');
SELECT setseed(0.4);
SELECT is_empty($$SELECT * FROM customers c, models,
                         LATERAL crm_mbgnbd_p_alive_interval(mbg, c.x, c.t_x, c."T") i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_mbgnbd_p_alive(ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true,
                                                                          NULL, NULL, NULL)::crm_mbgnbd_model, c.x, c.t_x, c."T")) s
                                  FROM pg_temp.draws(ARRAY[(mbg).r, (mbg).alpha, (mbg).a, (mbg).b], (mbg).covariance, 4000) d) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03
                     OR i.estimate <> crm_mbgnbd_p_alive(mbg, c.x, c.t_x, c."T")
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)$$,
                'MBG/NBD: the same, a one-time buyer''s P(alive) below 1 and uncertain too');
SELECT is_empty($$SELECT * FROM (SELECT crm_bgbb_fit(frequency, recency, n, n_custs) m FROM donations) f,
                         (VALUES (0, 0, 6), (2, 4, 6), (6, 6, 6)) c(x, t_x, n),
                         LATERAL crm_bgbb_p_alive_interval(m, c.x, c.t_x, c.n) i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_bgbb_p_alive(ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true,
                                                                        NULL, NULL, NULL)::crm_bgbb_model, c.x, c.t_x, c.n)) s
                                  FROM pg_temp.draws(ARRAY[(m).alpha, (m).beta, (m).gamma, (m).delta], (m).covariance, 4000) d) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03
                     OR i.estimate <> crm_bgbb_p_alive(m, c.x, c.t_x, c.n)
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)$$,
                'BG/BB: P(alive in 2002) of three histories of the paper''s Table 6, with intervals against draws');

-- P(X = n) in the next 39 weeks with intervals, the churn score (n = 0)
-- and two purchases, against the same draws
SELECT is_empty($$SELECT * FROM customers c, models, (VALUES (0), (2)) k(n),
                         LATERAL crm_bgnbd_p_purchases_interval(bg, k.n, 39, c.x, c.t_x, c."T") i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_bgnbd_p_purchases(m, k.n, 39, c.x, c.t_x, c."T")) s FROM bg_draws) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03
                     OR i.estimate <> crm_bgnbd_p_purchases(bg, k.n, 39, c.x, c.t_x, c."T")
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)$$,
                'BG/NBD: P(no purchase) and P(two) in the next 39 weeks with 95% intervals, against the draws');
SELECT is_empty($$SELECT * FROM customers c, models, (VALUES (0), (2)) k(n),
                         LATERAL crm_paretonbd_p_purchases_interval(pn, k.n, 39, c.x, c.t_x, c."T") i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_paretonbd_p_purchases(m, k.n, 39, c.x, c.t_x, c."T")) s FROM pn_draws) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03
                     OR i.estimate <> crm_paretonbd_p_purchases(pn, k.n, 39, c.x, c.t_x, c."T")
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)$$,
                'Pareto/NBD: the same');
SELECT setseed(0.5);
SELECT is_empty($$SELECT * FROM customers c, models, (VALUES (0), (2)) k(n),
                         LATERAL crm_mbgnbd_p_purchases_interval(mbg, k.n, 39, c.x, c.t_x, c."T") i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_mbgnbd_p_purchases(ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true,
                                                                              NULL, NULL, NULL)::crm_mbgnbd_model, k.n, 39, c.x, c.t_x, c."T")) s
                                  FROM pg_temp.draws(ARRAY[(mbg).r, (mbg).alpha, (mbg).a, (mbg).b], (mbg).covariance, 4000) d) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03
                     OR i.estimate <> crm_mbgnbd_p_purchases(mbg, k.n, 39, c.x, c.t_x, c."T")
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)$$,
                'MBG/NBD: the same');
SELECT setseed(0.6);
SELECT is_empty($$SELECT * FROM (SELECT crm_bgbb_fit(frequency, recency, n, n_custs) m FROM donations) f,
                         (VALUES (0, 0, 6), (2, 4, 6), (6, 6, 6)) c(x, t_x, n), (VALUES (0), (2)) k(k),
                         LATERAL crm_bgbb_p_purchases_interval(m, k.k, 5, c.x, c.t_x, c.n) i,
                         LATERAL (SELECT percentile_cont(ARRAY[0.025, 0.975]) WITHIN GROUP
                                         (ORDER BY crm_bgbb_p_purchases(ROW(d.q[1], d.q[2], d.q[3], d.q[4], NULL, NULL, NULL, true,
                                                                            NULL, NULL, NULL)::crm_bgbb_model, k.k, 5, c.x, c.t_x, c.n)) s
                                  FROM pg_temp.draws(ARRAY[(m).alpha, (m).beta, (m).gamma, (m).delta], (m).covariance, 4000) d) s
                  WHERE abs(i.lower / s.s[1] - 1) > 0.03 OR abs(i.upper / s.s[2] - 1) > 0.03
                     OR i.estimate <> crm_bgbb_p_purchases(m, k.k, 5, c.x, c.t_x, c.n)
                     OR NOT (0 <= i.lower AND i.lower <= i.estimate AND i.estimate <= i.upper AND i.upper <= 1)$$,
                'BG/BB: P(no gift) and P(two) in the next 5 drives with intervals, against draws');

-- The method itself, redone here: the gradient g of the prediction in the
-- log-parameters by central differences, the direction d = C g / sqrt(g' C g)
-- with C the covariance of the log-parameters, and the bounds the
-- predictions at exp(ln p -+ z d), z of the standard normal (1.644854 at
-- 90%, 1.959964 at 95%, 2.575829 at 99%, from the tables).
CREATE FUNCTION pg_temp.bg_model(q float8[]) RETURNS crm_bgnbd_model LANGUAGE sql AS $$
    SELECT ROW(q[1], q[2], q[3], q[4], NULL, NULL, NULL, true, NULL, NULL, NULL)::crm_bgnbd_model
$$;
CREATE TEMP TABLE redone AS
WITH p AS (SELECT ARRAY[r, alpha, a, b] p, covariance c FROM bg),
g AS (SELECT i, (crm_bgnbd_expected(pg_temp.bg_model(ARRAY(SELECT p[k] * CASE WHEN k = i THEN exp(1e-5) ELSE 1 END
                                                             FROM generate_series(1, 4) k)), 39, 2, 30.43, 38.86)
                 - crm_bgnbd_expected(pg_temp.bg_model(ARRAY(SELECT p[k] * CASE WHEN k = i THEN exp(-1e-5) ELSE 1 END
                                                               FROM generate_series(1, 4) k)), 39, 2, 30.43, 38.86))
                / 2e-5 AS g
      FROM p, generate_series(1, 4) i),
d AS (SELECT k.i, sum(c[k.i][gj.i] / (p[k.i] * p[gj.i]) * gj.g) cg FROM p, generate_series(1, 4) k(i), g gj GROUP BY k.i),
sd AS (SELECT sqrt(sum(g.g * d.cg)) sd FROM g JOIN d USING (i))
SELECT level, z,
       crm_bgnbd_expected(pg_temp.bg_model(ARRAY(SELECT p[i] * exp(-z * d.cg / sd) FROM d ORDER BY i)), 39, 2, 30.43, 38.86) lower,
       crm_bgnbd_expected(pg_temp.bg_model(ARRAY(SELECT p[i] * exp(z * d.cg / sd) FROM d ORDER BY i)), 39, 2, 30.43, 38.86) upper
FROM p, sd, (VALUES (0.90, 1.644854), (0.95, 1.959964), (0.99, 2.575829)) l(level, z);
SELECT is_empty($$SELECT * FROM redone r, models, crm_bgnbd_expected_interval(bg, 39, 2, 30.43, 38.86, r.level) i
                  WHERE abs(i.lower / r.lower - 1) > 1e-6 OR abs(i.upper / r.upper - 1) > 1e-6$$,
                'the bounds are the predictions z standard deviations away along the direction of steepest change, z of the normal at 90, 95 and 99%');
SELECT is((SELECT i FROM models, crm_bgnbd_expected_interval(bg, 0, 2, 30.43, 38.86) i),
          ROW(0, 0, 0)::crm_interval, 'a horizon of 0: nothing, for certain');

-- Bad input
SELECT throws_ok($$SELECT crm_bgnbd_expected_interval(bg, 39, 2, 30, 38, 1) FROM models$$, '22003',
                 'level must be between 0 and 1, both excluded', 'a level of 1 is refused');
SELECT throws_ok($$SELECT crm_bgnbd_expected_interval(bg, 39, 2, 30, 38, 0) FROM models$$, '22003', NULL,
                 'as is a level of 0');
SELECT throws_ok($$SELECT crm_bgnbd_expected_interval(bg, 39, 2, 30, 38, 'NaN') FROM models$$, '22003', NULL,
                 'and NaN');
SELECT throws_ok($$SELECT crm_bgnbd_expected_interval(ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, true, 0, 0, NULL)::crm_bgnbd_model,
                                                      39, 2, 30, 38)$$, '22004', 'the model has no covariance',
                 'a model without covariance has no interval');
SELECT throws_ok($$SELECT crm_bgnbd_expected_interval(ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, true, 0, 0, '{1,1,1,1}')::crm_bgnbd_model,
                                                      39, 2, 30, 38)$$, '2202E', 'the covariance of the model must be a 4 x 4 matrix',
                 'a covariance of the wrong shape is refused');
SELECT throws_ok($$SELECT crm_bgnbd_expected_interval(ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, true, 0, 0,
                                                          '{{-1,0,0,0},{0,-1,0,0},{0,0,-1,0},{0,0,0,-1}}')::crm_bgnbd_model,
                                                      39, 2, 30, 38)$$, '22023',
                 'the covariance of the model is not positive semidefinite', 'as is a negative variance');
SELECT throws_ok($$SELECT crm_clv_predict_interval(bg, ROW(6.25, 3.74, 15.44, 0, 1, 1, true, 0, 0, NULL)::crm_gammagamma_model,
                                                   2, 30, 38, 20, 12, 0.01, 4.345) FROM models$$, '22004',
                 'the model has no covariance', 'CLV needs the covariance of both models');
SELECT throws_ok($$SELECT crm_bgnbd_expected_interval(ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, false, 0, 0, NULL)::crm_bgnbd_model,
                                                      39, 2, 30, 38)$$, '22023', 'the model did not converge',
                 'nor has a model that did not converge');
SELECT ok((SELECT crm_bgnbd_expected_interval(bg, 39, 2, 30, 38, NULL) IS NULL FROM models), 'a NULL level gives NULL');

SELECT * FROM finish();
ROLLBACK;
