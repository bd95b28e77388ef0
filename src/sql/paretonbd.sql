
-- Probabilistic models fitted in the database: Pareto/NBD

CREATE TYPE crm_paretonbd_model AS (
    r              float8,
    alpha          float8,
    s              float8,
    beta           float8,
    log_likelihood float8,
    customers      bigint,
    iterations     integer,
    converged      boolean,
    aic            float8,
    bic            float8,
    covariance     float8[]
);
COMMENT ON TYPE crm_paretonbd_model IS
'A Pareto/NBD model fitted by crm_paretonbd_fit: purchase rate lambda ~ Gamma(r, alpha), dropout rate mu ~ Gamma(s, beta)';
COMMENT ON COLUMN crm_paretonbd_model.r IS 'Shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN crm_paretonbd_model.alpha IS 'Scale of the gamma distribution of purchase rates, in the time unit of the data';
COMMENT ON COLUMN crm_paretonbd_model.s IS 'Shape of the gamma distribution of dropout rates';
COMMENT ON COLUMN crm_paretonbd_model.beta IS 'Scale of the gamma distribution of dropout rates, in the time unit of the data';
COMMENT ON COLUMN crm_paretonbd_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters (without the penalty)';
COMMENT ON COLUMN crm_paretonbd_model.customers IS 'Number of customers fitted';
COMMENT ON COLUMN crm_paretonbd_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_paretonbd_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_paretonbd_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters: lower is better between models of the same data';
COMMENT ON COLUMN crm_paretonbd_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_paretonbd_model.covariance IS 'Asymptotic covariance of the parameters, in their order, from the observed information at the optimum; NULL when the fit did not converge (see crm_model_parameters)';

CREATE FUNCTION crm_paretonbd_final(crm_agg_state)
RETURNS crm_paretonbd_model
AS 'MODULE_PATHNAME', 'crm_paretonbd_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_final(crm_agg_state) IS
'Final function of crm_paretonbd_fit: maximises the likelihood';

CREATE AGGREGATE crm_paretonbd_fit(frequency float8, recency float8, t float8) (
    SFUNC = crm_fit_summary_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_paretonbd_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_paretonbd_fit(float8, float8, float8) IS
'Pareto/NBD model fitted by maximum likelihood (Schmittlein, Morrison & Colombo 1987; likelihood as in Fader & Hardie 2005) to customer summaries: frequency, recency, t in one time unit; rows with a NULL are skipped';

CREATE AGGREGATE crm_paretonbd_fit(frequency float8, recency float8, t float8, penalizer float8) (
    SFUNC = crm_fit_summary_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_paretonbd_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_paretonbd_fit(float8, float8, float8, float8) IS
'Pareto/NBD model fitted with an L2 penalty, as crm_bgnbd_fit with a penalizer';

CREATE FUNCTION crm_paretonbd_p_alive(model crm_paretonbd_model, frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_paretonbd_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_p_alive(crm_paretonbd_model, float8, float8, float8) IS
'Probability that a customer with this frequency, recency and t is still alive under a Pareto/NBD model (Fader & Hardie 2005, eq. 18)';

CREATE FUNCTION crm_paretonbd_expected(model crm_paretonbd_model, horizon float8,
                                       frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_paretonbd_expected'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_expected(crm_paretonbd_model, float8, float8, float8, float8) IS
'Expected purchases in the next horizon time units of a customer with this frequency, recency and t under a Pareto/NBD model (Schmittlein, Morrison & Colombo 1987, eq. 22), in the time unit the model was fitted in';

CREATE FUNCTION crm_paretonbd_p_alive_interval(model crm_paretonbd_model, frequency float8, recency float8, t float8,
                                   level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_paretonbd_p_alive_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_p_alive_interval(crm_paretonbd_model, float8, float8, float8, float8) IS
'crm_paretonbd_p_alive with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters: crm_paretonbd_p_alive at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too';

CREATE FUNCTION crm_paretonbd_expected_interval(model crm_paretonbd_model, horizon float8,
                                   frequency float8, recency float8, t float8,
                                   level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_paretonbd_expected_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_expected_interval(crm_paretonbd_model, float8, float8, float8, float8, float8) IS
'crm_paretonbd_expected with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters, not for the randomness of the purchases themselves: the expectation at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters)';

CREATE FUNCTION crm_paretonbd_expected_new(model crm_paretonbd_model, horizon float8)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$SELECT @extschema@.crm_paretonbd_expected(model, horizon, 0, 0, 0)$$;
COMMENT ON FUNCTION crm_paretonbd_expected_new(crm_paretonbd_model, float8) IS
'Expected purchases of a new customer in their first horizon time units after the first purchase under a Pareto/NBD model: the conditional expectation with frequency, recency and t all 0';
