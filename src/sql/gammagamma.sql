
-- Probabilistic models fitted in the database: Gamma-Gamma spend

CREATE TYPE crm_gammagamma_model AS (
    p              float8,
    q              float8,
    gamma          float8,
    log_likelihood float8,
    customers      bigint,
    iterations     integer,
    converged      boolean,
    aic            float8,
    bic            float8,
    covariance     float8[]
);
COMMENT ON TYPE crm_gammagamma_model IS
'A Gamma-Gamma spend model fitted by crm_gammagamma_fit: transaction values ~ Gamma(p, nu) per customer, nu ~ Gamma(q, gamma) across customers';
COMMENT ON COLUMN crm_gammagamma_model.p IS 'Shape of the gamma distribution of a customer''s transaction values';
COMMENT ON COLUMN crm_gammagamma_model.q IS 'Shape of the gamma distribution of nu across customers';
COMMENT ON COLUMN crm_gammagamma_model.gamma IS 'Scale of the gamma distribution of nu across customers';
COMMENT ON COLUMN crm_gammagamma_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters (without the penalty)';
COMMENT ON COLUMN crm_gammagamma_model.customers IS 'Number of customers with repeat purchases fitted';
COMMENT ON COLUMN crm_gammagamma_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_gammagamma_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_gammagamma_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters: lower is better between models of the same data';
COMMENT ON COLUMN crm_gammagamma_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_gammagamma_model.covariance IS 'Asymptotic covariance of the parameters, in their order, from the observed information at the optimum; NULL when the fit did not converge (see crm_model_parameters)';

CREATE FUNCTION crm_gammagamma_accum(crm_agg_state, float8, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_gammagamma_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_gammagamma_accum(crm_agg_state, float8, float8) IS
'Transition function of crm_gammagamma_fit(frequency, avg_value)';

CREATE FUNCTION crm_gammagamma_accum(crm_agg_state, float8, float8, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_gammagamma_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_gammagamma_accum(crm_agg_state, float8, float8, float8) IS
'Transition function of crm_gammagamma_fit(frequency, avg_value, penalizer)';

CREATE FUNCTION crm_gammagamma_final(crm_agg_state)
RETURNS crm_gammagamma_model
AS 'MODULE_PATHNAME', 'crm_gammagamma_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_gammagamma_final(crm_agg_state) IS
'Final function of crm_gammagamma_fit: maximises the likelihood';

CREATE AGGREGATE crm_gammagamma_fit(frequency float8, avg_value float8) (
    SFUNC = crm_gammagamma_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_gammagamma_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_gammagamma_fit(float8, float8) IS
'Gamma-Gamma spend model fitted by maximum likelihood to frequency (repeat purchases) and avg_value (average value of the repeat purchases, e.g. crm_rfm''s avg_repeat_value); customers without repeat purchases or with an average of 0 or less are left out, rows with a NULL skipped';

CREATE AGGREGATE crm_gammagamma_fit(frequency float8, avg_value float8, penalizer float8) (
    SFUNC = crm_gammagamma_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_gammagamma_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_gammagamma_fit(float8, float8, float8) IS
'Gamma-Gamma spend model fitted with an L2 penalty: penalizer times the sum of the squared parameters is added to the mean negative log-likelihood, as lifetimes'' penalizer_coef does';

CREATE FUNCTION crm_gammagamma_expected(model crm_gammagamma_model, frequency float8, avg_value float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_gammagamma_expected'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_gammagamma_expected(crm_gammagamma_model, float8, float8) IS
'Expected average transaction value of a customer with frequency repeat purchases of average avg_value (Gamma-Gamma): p (gamma + frequency avg_value) / (p frequency + q - 1); the population mean p gamma / (q - 1) for frequency 0';

-- Predicted customer lifetime value (src/clv_predict.c)

CREATE FUNCTION crm_clv_predict(bgnbd crm_bgnbd_model, gammagamma crm_gammagamma_model,
                                frequency float8, recency float8, t float8, avg_value float8,
                                periods integer, discount_rate float8, period_length float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_clv_predict'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_predict(crm_bgnbd_model, crm_gammagamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'Predicted lifetime value over periods discount periods of period_length model time units (4.345 for months of a weekly model): the sum over periods i of expected transaction value (Gamma-Gamma) times the expected purchases in period i (BG/NBD), discounted by (1 + discount_rate)^i, as lifetimes'' customer_lifetime_value computes it';

CREATE FUNCTION crm_clv_predict_interval(bgnbd crm_bgnbd_model, gammagamma crm_gammagamma_model,
                                         frequency float8, recency float8, t float8, avg_value float8,
                                         periods integer, discount_rate float8, period_length float8,
                                         level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_clv_predict_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_predict_interval(crm_bgnbd_model, crm_gammagamma_model, float8, float8, float8, float8, integer, float8, float8, float8) IS
'crm_clv_predict (BG/NBD and Gamma-Gamma) with an interval at this level (0.95 by default) for the uncertainty of both models'' parameters, fitted separately and so independent: the CLV at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters)';

CREATE FUNCTION crm_clv_predict(mbgnbd crm_mbgnbd_model, gammagamma crm_gammagamma_model,
                                frequency float8, recency float8, t float8, avg_value float8,
                                periods integer, discount_rate float8, period_length float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_clv_predict_mbgnbd'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_predict(crm_mbgnbd_model, crm_gammagamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'Predicted lifetime value as crm_clv_predict with a BG/NBD model, the expected purchases in each period from an MBG/NBD model';

CREATE FUNCTION crm_clv_predict_interval(mbgnbd crm_mbgnbd_model, gammagamma crm_gammagamma_model,
                                         frequency float8, recency float8, t float8, avg_value float8,
                                         periods integer, discount_rate float8, period_length float8,
                                         level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_clv_predict_interval_mbgnbd'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_predict_interval(crm_mbgnbd_model, crm_gammagamma_model, float8, float8, float8, float8, integer, float8, float8, float8) IS
'crm_clv_predict (MBG/NBD and Gamma-Gamma) with an interval at this level (0.95 by default) for the uncertainty of both models'' parameters, fitted separately and so independent: the CLV at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters)';

CREATE FUNCTION crm_clv_predict(paretonbd crm_paretonbd_model, gammagamma crm_gammagamma_model,
                                frequency float8, recency float8, t float8, avg_value float8,
                                periods integer, discount_rate float8, period_length float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_clv_predict_paretonbd'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_predict(crm_paretonbd_model, crm_gammagamma_model, float8, float8, float8, float8, integer, float8, float8) IS
'Predicted lifetime value as crm_clv_predict with a BG/NBD model, the expected purchases in each period from a Pareto/NBD model';

CREATE FUNCTION crm_clv_predict_interval(paretonbd crm_paretonbd_model, gammagamma crm_gammagamma_model,
                                         frequency float8, recency float8, t float8, avg_value float8,
                                         periods integer, discount_rate float8, period_length float8,
                                         level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_clv_predict_interval_paretonbd'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_predict_interval(crm_paretonbd_model, crm_gammagamma_model, float8, float8, float8, float8, integer, float8, float8, float8) IS
'crm_clv_predict (Pareto/NBD and Gamma-Gamma) with an interval at this level (0.95 by default) for the uncertainty of both models'' parameters, fitted separately and so independent: the CLV at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters)';
