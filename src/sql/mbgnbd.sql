
-- MBG/NBD: BG/NBD where a customer may drop out at the first purchase too

CREATE TYPE crm_mbgnbd_model AS (
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
COMMENT ON TYPE crm_mbgnbd_model IS
'An MBG/NBD model fitted by crm_mbgnbd_fit: purchase rate lambda ~ Gamma(r, alpha), dropout probability at each purchase, the first included, p ~ Beta(a, b)';
COMMENT ON COLUMN crm_mbgnbd_model.r IS 'Shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN crm_mbgnbd_model.alpha IS 'Scale of the gamma distribution of purchase rates, in the time unit of the data';
COMMENT ON COLUMN crm_mbgnbd_model.a IS 'First shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_mbgnbd_model.b IS 'Second shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_mbgnbd_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters (without the penalty)';
COMMENT ON COLUMN crm_mbgnbd_model.customers IS 'Number of customers fitted';
COMMENT ON COLUMN crm_mbgnbd_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_mbgnbd_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_mbgnbd_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters: lower is better between models of the same data';
COMMENT ON COLUMN crm_mbgnbd_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_mbgnbd_model.covariance IS 'Asymptotic covariance of the parameters, in their order, from the observed information at the optimum; NULL when the fit did not converge (see crm_model_parameters)';

CREATE FUNCTION crm_mbgnbd_final(crm_agg_state)
RETURNS crm_mbgnbd_model
AS 'MODULE_PATHNAME', 'crm_mbgnbd_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_final(crm_agg_state) IS
'Final function of crm_mbgnbd_fit: maximises the likelihood';

CREATE AGGREGATE crm_mbgnbd_fit(frequency float8, recency float8, t float8) (
    SFUNC = crm_fit_summary_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_mbgnbd_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_mbgnbd_fit(float8, float8, float8) IS
'MBG/NBD model fitted by maximum likelihood (Batislam, Denizel & Filiztekin 2007) to customer summaries, as crm_bgnbd_fit takes them: a customer may drop out right after the first purchase, so that one who never came back may be gone; rows with a NULL are skipped';

CREATE AGGREGATE crm_mbgnbd_fit(frequency float8, recency float8, t float8, penalizer float8) (
    SFUNC = crm_fit_summary_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_mbgnbd_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_mbgnbd_fit(float8, float8, float8, float8) IS
'MBG/NBD model fitted with an L2 penalty: minimises the mean negative log-likelihood plus penalizer times the sum of the squared parameters, as crm_bgnbd_fit''s penalizer does';

CREATE FUNCTION crm_mbgnbd_p_alive(model crm_mbgnbd_model, frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_mbgnbd_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_p_alive(crm_mbgnbd_model, float8, float8, float8) IS
'Probability that a customer with this frequency, recency and t is still alive (MBG/NBD, Batislam et al. 2007): 1 / (1 + a / (b + x) ((alpha + t) / (alpha + recency))^(r + x)), below 1 for a customer without repeat purchases too';

CREATE FUNCTION crm_mbgnbd_expected(model crm_mbgnbd_model, horizon float8,
                                    frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_mbgnbd_expected'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_expected(crm_mbgnbd_model, float8, float8, float8, float8) IS
'Expected purchases in the next horizon time units of a customer with this frequency, recency and t (MBG/NBD, Batislam et al. 2007): BG/NBD''s conditional expectation with b + 1 for b, times this model''s P(alive), in the time unit the model was fitted in';

CREATE FUNCTION crm_mbgnbd_p_alive_interval(model crm_mbgnbd_model, frequency float8, recency float8, t float8,
                                   level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_mbgnbd_p_alive_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_p_alive_interval(crm_mbgnbd_model, float8, float8, float8, float8) IS
'crm_mbgnbd_p_alive with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters: crm_mbgnbd_p_alive at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too';

CREATE FUNCTION crm_mbgnbd_expected_interval(model crm_mbgnbd_model, horizon float8,
                                   frequency float8, recency float8, t float8,
                                   level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_mbgnbd_expected_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_expected_interval(crm_mbgnbd_model, float8, float8, float8, float8, float8) IS
'crm_mbgnbd_expected with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters, not for the randomness of the purchases themselves: the expectation at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters)';

CREATE FUNCTION crm_mbgnbd_expected_new(model crm_mbgnbd_model, horizon float8)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$SELECT @extschema@.crm_mbgnbd_expected(model, horizon, 0, 0, 0)$$;
COMMENT ON FUNCTION crm_mbgnbd_expected_new(crm_mbgnbd_model, float8) IS
'Expected purchases of a new customer in their first horizon time units after the first purchase (MBG/NBD): b / (a - 1) [1 - (alpha / (alpha + horizon))^r 2F1(r, b + 1; a + b; horizon / (alpha + horizon))], which counts that a new customer may be gone at once';
