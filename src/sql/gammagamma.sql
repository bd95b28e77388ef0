
-- Probabilistic models fitted in the database: Gamma-Gamma spend

CREATE TYPE crm_gammagamma_model AS (
    p              float8,
    q              float8,
    gamma          float8,
    log_likelihood float8,
    customers      bigint,
    iterations     integer,
    converged      boolean
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

CREATE FUNCTION crm_gammagamma_accum(internal, float8, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_gammagamma_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_gammagamma_accum(internal, float8, float8) IS
'Transition function of crm_gammagamma_fit(frequency, avg_value)';

CREATE FUNCTION crm_gammagamma_accum(internal, float8, float8, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_gammagamma_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_gammagamma_accum(internal, float8, float8, float8) IS
'Transition function of crm_gammagamma_fit(frequency, avg_value, penalizer)';

CREATE FUNCTION crm_gammagamma_final(internal)
RETURNS crm_gammagamma_model
AS 'MODULE_PATHNAME', 'crm_gammagamma_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_gammagamma_final(internal) IS
'Final function of crm_gammagamma_fit: maximises the likelihood';

CREATE AGGREGATE crm_gammagamma_fit(frequency float8, avg_value float8) (
    SFUNC = crm_gammagamma_accum, STYPE = internal, SSPACE = 64, FINALFUNC = crm_gammagamma_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, SERIALFUNC = crm_fit_serialize,
    DESERIALFUNC = crm_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_gammagamma_fit(float8, float8) IS
'Gamma-Gamma spend model fitted by maximum likelihood to frequency (repeat purchases) and avg_value (average value of the repeat purchases, e.g. crm_rfm''s avg_repeat_value); customers without repeat purchases are left out, rows with a NULL skipped';

CREATE AGGREGATE crm_gammagamma_fit(frequency float8, avg_value float8, penalizer float8) (
    SFUNC = crm_gammagamma_accum, STYPE = internal, SSPACE = 64, FINALFUNC = crm_gammagamma_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, SERIALFUNC = crm_fit_serialize,
    DESERIALFUNC = crm_fit_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_gammagamma_fit(float8, float8, float8) IS
'Gamma-Gamma spend model fitted with an L2 penalty: penalizer times the sum of the squared parameters is added to the mean negative log-likelihood, as lifetimes'' penalizer_coef does';
