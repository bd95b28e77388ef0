
-- BG/BB: purchase opportunities at discrete times

CREATE TYPE crm_bgbb_model AS (
    alpha          float8,
    beta           float8,
    gamma          float8,
    delta          float8,
    log_likelihood float8,
    customers      bigint,
    iterations     integer,
    converged      boolean,
    aic            float8,
    bic            float8,
    covariance     float8[]
);
COMMENT ON TYPE crm_bgbb_model IS
'A BG/BB model fitted by crm_bgbb_fit: probability of taking an opportunity while alive p ~ Beta(alpha, beta), of dropping out before each opportunity after the first theta ~ Beta(gamma, delta)';
COMMENT ON COLUMN crm_bgbb_model.alpha IS 'First shape of the beta distribution of the probabilities of taking an opportunity';
COMMENT ON COLUMN crm_bgbb_model.beta IS 'Second shape of the beta distribution of the probabilities of taking an opportunity';
COMMENT ON COLUMN crm_bgbb_model.gamma IS 'First shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_bgbb_model.delta IS 'Second shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_bgbb_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters';
COMMENT ON COLUMN crm_bgbb_model.customers IS 'Number of customers fitted: the sum of the rows'' customers';
COMMENT ON COLUMN crm_bgbb_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_bgbb_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_bgbb_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters: lower is better between models of the same data';
COMMENT ON COLUMN crm_bgbb_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_bgbb_model.covariance IS 'Asymptotic covariance of the parameters, in their order, from the observed information at the optimum; NULL when the fit did not converge (see crm_model_parameters)';

CREATE FUNCTION crm_bgbb_accum(crm_agg_state, float8, float8, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_bgbb_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_accum(crm_agg_state, float8, float8, float8) IS
'Transition function of crm_bgbb_fit(frequency, recency, opportunities)';

CREATE FUNCTION crm_bgbb_accum(crm_agg_state, float8, float8, float8, bigint)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_bgbb_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_accum(crm_agg_state, float8, float8, float8, bigint) IS
'Transition function of crm_bgbb_fit(frequency, recency, opportunities, customers)';

CREATE FUNCTION crm_bgbb_final(crm_agg_state)
RETURNS crm_bgbb_model
AS 'MODULE_PATHNAME', 'crm_bgbb_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_final(crm_agg_state) IS
'Final function of crm_bgbb_fit: maximises the likelihood';

CREATE AGGREGATE crm_bgbb_fit(frequency float8, recency float8, opportunities float8) (
    SFUNC = crm_bgbb_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_bgbb_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_bgbb_fit(float8, float8, float8) IS
'BG/BB model fitted by maximum likelihood (Fader, Hardie & Berger 2010) to customers with discrete purchase opportunities: frequency = opportunities taken after the first purchase, recency = the last one taken (0 for none), opportunities = those seen; one customer per row; rows with a NULL are skipped';

CREATE AGGREGATE crm_bgbb_fit(frequency float8, recency float8, opportunities float8, customers bigint) (
    SFUNC = crm_bgbb_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_bgbb_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_bgbb_fit(float8, float8, float8, bigint) IS
'BG/BB model fitted to rows that each stand for "customers" customers with the same history, as published data sets of this model come; rows with a NULL are skipped';

CREATE FUNCTION crm_bgbb_p_alive(model crm_bgbb_model, frequency float8, recency float8, opportunities float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgbb_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_p_alive(crm_bgbb_model, float8, float8, float8) IS
'Probability that a customer with this history is alive at the next opportunity (BG/BB, Fader, Hardie & Berger 2010, eq. 11)';

CREATE FUNCTION crm_bgbb_expected(model crm_bgbb_model, future_opportunities float8,
                                  frequency float8, recency float8, opportunities float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgbb_expected'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_expected(crm_bgbb_model, float8, float8, float8, float8) IS
'Expected opportunities taken among the next future_opportunities by a customer with this history (BG/BB, Fader, Hardie & Berger 2010, eq. 13)';

CREATE FUNCTION crm_bgbb_p_alive_interval(model crm_bgbb_model, frequency float8, recency float8, opportunities float8,
                                   level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_bgbb_p_alive_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_p_alive_interval(crm_bgbb_model, float8, float8, float8, float8) IS
'crm_bgbb_p_alive with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters: crm_bgbb_p_alive at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too';

CREATE FUNCTION crm_bgbb_expected_interval(model crm_bgbb_model, future_opportunities float8,
                                  frequency float8, recency float8, opportunities float8,
                                  level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_bgbb_expected_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_expected_interval(crm_bgbb_model, float8, float8, float8, float8, float8) IS
'crm_bgbb_expected with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters, not for the randomness of the opportunities taken: the expectation at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters)';

CREATE FUNCTION crm_bgbb_p_purchases(model crm_bgbb_model, n float8, future_opportunities float8,
                                     frequency float8, recency float8, opportunities float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgbb_p_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_p_purchases(crm_bgbb_model, float8, float8, float8, float8, float8) IS
'Probability that a customer with this history takes exactly n of the next future_opportunities (BG/BB): gone already, or alive and leaving after some of them, or staying through all, taking each with the probability the history leaves; 0 for n above future_opportunities; with n = 0, the churn score';

CREATE FUNCTION crm_bgbb_p_purchases_interval(model crm_bgbb_model, n float8, future_opportunities float8,
                                              frequency float8, recency float8, opportunities float8,
                                              level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_bgbb_p_purchases_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_p_purchases_interval(crm_bgbb_model, float8, float8, float8, float8, float8, float8) IS
'crm_bgbb_p_purchases with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters: the probability at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too; with n = 0, the churn score with its interval';

CREATE FUNCTION crm_bgbb_p_purchases_new(model crm_bgbb_model, n float8, opportunities float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgbb_p_purchases_new'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgbb_p_purchases_new(crm_bgbb_model, float8, float8) IS
'Probability that a new customer takes exactly n of the first opportunities after the first purchase (BG/BB, Fader, Hardie & Berger 2010, eq. 8); 0 for n above opportunities';

CREATE FUNCTION crm_bgbb_expected_new(model crm_bgbb_model, opportunities float8)
RETURNS float8
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$SELECT @extschema@.crm_bgbb_expected(model, opportunities, 0, 0, 0)$$;
COMMENT ON FUNCTION crm_bgbb_expected_new(crm_bgbb_model, float8) IS
'Expected opportunities taken among the first ones after the first purchase by a new customer (BG/BB): alpha / (alpha + beta) delta / (gamma - 1) [1 - G(gamma+delta) G(1+delta+n) / (G(gamma+delta+n) G(1+delta))]';
