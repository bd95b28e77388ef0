
-- Probabilistic models fitted in the database: BG/NBD

CREATE TYPE crm_bgnbd_model AS (
    r              float8,
    alpha          float8,
    a              float8,
    b              float8,
    log_likelihood float8,
    customers      bigint,
    iterations     integer,
    converged      boolean,
    aic            float8,
    bic            float8,
    covariance     float8[]
);
COMMENT ON TYPE crm_bgnbd_model IS
'A BG/NBD model fitted by crm_bgnbd_fit: purchase rate lambda ~ Gamma(r, alpha), dropout probability after each purchase p ~ Beta(a, b)';
COMMENT ON COLUMN crm_bgnbd_model.r IS 'Shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN crm_bgnbd_model.alpha IS 'Scale of the gamma distribution of purchase rates, in the time unit of the data';
COMMENT ON COLUMN crm_bgnbd_model.a IS 'First shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_bgnbd_model.b IS 'Second shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_bgnbd_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters (without the penalty)';
COMMENT ON COLUMN crm_bgnbd_model.customers IS 'Number of customers fitted';
COMMENT ON COLUMN crm_bgnbd_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_bgnbd_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_bgnbd_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters: lower is better between models of the same data';
COMMENT ON COLUMN crm_bgnbd_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_bgnbd_model.covariance IS 'Asymptotic covariance of the parameters, in their order, from the observed information at the optimum; NULL when the fit did not converge (see crm_model_parameters)';

CREATE FUNCTION crm_fit_summary_accum(crm_agg_state, float8, float8, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_fit_summary_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_fit_summary_accum(crm_agg_state, float8, float8, float8) IS
'Transition function of crm_bgnbd_fit and crm_paretonbd_fit(frequency, recency, t)';

CREATE FUNCTION crm_fit_summary_accum(crm_agg_state, float8, float8, float8, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_fit_summary_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_fit_summary_accum(crm_agg_state, float8, float8, float8, float8) IS
'Transition function of crm_bgnbd_fit and crm_paretonbd_fit(frequency, recency, t, penalizer)';

CREATE FUNCTION crm_fit_combine(crm_agg_state, crm_agg_state)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_fit_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_fit_combine(crm_agg_state, crm_agg_state) IS
'Combine function of the model-fitting aggregates: merges two partial states (parallel query, Citus)';

CREATE FUNCTION crm_bgnbd_final(crm_agg_state)
RETURNS crm_bgnbd_model
AS 'MODULE_PATHNAME', 'crm_bgnbd_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_final(crm_agg_state) IS
'Final function of crm_bgnbd_fit: maximises the likelihood';

CREATE AGGREGATE crm_bgnbd_fit(frequency float8, recency float8, t float8) (
    SFUNC = crm_fit_summary_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_bgnbd_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_bgnbd_fit(float8, float8, float8) IS
'BG/NBD model fitted by maximum likelihood (Fader, Hardie & Lee 2005) to customer summaries: frequency = repeat purchases, recency = time of the last purchase since the first, t = time since the first purchase, all in one time unit (e.g. crm_rfm with a week unit); rows with a NULL are skipped';

CREATE AGGREGATE crm_bgnbd_fit(frequency float8, recency float8, t float8, penalizer float8) (
    SFUNC = crm_fit_summary_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_bgnbd_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_bgnbd_fit(float8, float8, float8, float8) IS
'BG/NBD model fitted with an L2 penalty: minimises the mean negative log-likelihood plus penalizer times the sum of the squared parameters, as lifetimes'' penalizer_coef does';

CREATE FUNCTION crm_bgnbd_p_alive(model crm_bgnbd_model, frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgnbd_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_p_alive(crm_bgnbd_model, float8, float8, float8) IS
'Probability that a customer with this frequency, recency and t is still alive (BG/NBD, Fader, Hardie & Lee 2005): 1 for a customer without repeat purchases, else 1 / (1 + a / (b + x - 1) ((alpha + t) / (alpha + recency))^(r + x))';

CREATE FUNCTION crm_bgnbd_expected(model crm_bgnbd_model, horizon float8,
                                   frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgnbd_expected'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_expected(crm_bgnbd_model, float8, float8, float8, float8) IS
'Expected purchases in the next horizon time units of a customer with this frequency, recency and t (BG/NBD, Fader, Hardie & Lee 2005, eq. 10), in the time unit the model was fitted in';

CREATE FUNCTION crm_bgnbd_p_alive_interval(model crm_bgnbd_model, frequency float8, recency float8, t float8,
                                   level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_bgnbd_p_alive_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_p_alive_interval(crm_bgnbd_model, float8, float8, float8, float8) IS
'crm_bgnbd_p_alive with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters: crm_bgnbd_p_alive at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too';

CREATE FUNCTION crm_bgnbd_expected_interval(model crm_bgnbd_model, horizon float8,
                                   frequency float8, recency float8, t float8,
                                   level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_bgnbd_expected_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_expected_interval(crm_bgnbd_model, float8, float8, float8, float8, float8) IS
'crm_bgnbd_expected with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters, not for the randomness of the purchases themselves: the expectation at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters)';

CREATE FUNCTION crm_bgnbd_expected_new(model crm_bgnbd_model, horizon float8)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$SELECT @extschema@.crm_bgnbd_expected(model, horizon, 0, 0, 0)$$;
COMMENT ON FUNCTION crm_bgnbd_expected_new(crm_bgnbd_model, float8) IS
'Expected purchases of a new customer in their first horizon time units after the first purchase (BG/NBD, Fader, Hardie & Lee 2005, eq. 9): the conditional expectation with frequency, recency and t all 0';
