
-- Time-invariant covariates in BG/NBD, MBG/NBD and Pareto/NBD (src/covariates.c)

CREATE TYPE crm_bgnbd_covariate_model AS (
    r                     float8,
    alpha                 float8,
    a                     float8,
    b                     float8,
    purchase_coefficients float8[],
    dropout_coefficients  float8[],
    log_likelihood        float8,
    customers             bigint,
    iterations            integer,
    converged             boolean,
    aic                   float8,
    bic                   float8,
    covariance            float8[]
);
COMMENT ON TYPE crm_bgnbd_covariate_model IS
'A BG/NBD model with covariates fitted by crm_bgnbd_fit(frequency, recency, t, covariates): a customer with covariates c has purchase rate lambda ~ Gamma(r, alpha exp(-purchase_coefficients . c)) and dropout probability p ~ Beta(a, b exp(-dropout_coefficients . c)); crm_bgnbd_customer_model gives that customers crm_bgnbd_model';
COMMENT ON COLUMN crm_bgnbd_covariate_model.r IS 'Shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN crm_bgnbd_covariate_model.alpha IS 'Scale of the gamma distribution of purchase rates of a customer whose covariates are all 0';
COMMENT ON COLUMN crm_bgnbd_covariate_model.a IS 'First shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_bgnbd_covariate_model.b IS 'Second shape of the beta distribution of dropout probabilities of a customer whose covariates are all 0';
COMMENT ON COLUMN crm_bgnbd_covariate_model.purchase_coefficients IS 'Coefficients of the covariates on purchases: alpha_i = alpha exp(-purchase_coefficients . covariates), so that a positive one means more purchases';
COMMENT ON COLUMN crm_bgnbd_covariate_model.dropout_coefficients IS 'Coefficients of the covariates on dropping out: b_i = b exp(-dropout_coefficients . covariates), so that a positive one means a higher dropout probability';
COMMENT ON COLUMN crm_bgnbd_covariate_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters (without the penalty)';
COMMENT ON COLUMN crm_bgnbd_covariate_model.customers IS 'Number of customers fitted';
COMMENT ON COLUMN crm_bgnbd_covariate_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_bgnbd_covariate_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_bgnbd_covariate_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters (coefficients included): lower is better between models of the same data';
COMMENT ON COLUMN crm_bgnbd_covariate_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_bgnbd_covariate_model.covariance IS 'Asymptotic covariance of the parameters, in the order: the four base parameters, the purchase coefficients, the dropout coefficients; NULL when the fit did not converge';

CREATE TYPE crm_mbgnbd_covariate_model AS (
    r                     float8,
    alpha                 float8,
    a                     float8,
    b                     float8,
    purchase_coefficients float8[],
    dropout_coefficients  float8[],
    log_likelihood        float8,
    customers             bigint,
    iterations            integer,
    converged             boolean,
    aic                   float8,
    bic                   float8,
    covariance            float8[]
);
COMMENT ON TYPE crm_mbgnbd_covariate_model IS
'An MBG/NBD model with covariates fitted by crm_mbgnbd_fit(frequency, recency, t, covariates): a customer with covariates c has purchase rate lambda ~ Gamma(r, alpha exp(-purchase_coefficients . c)) and dropout probability p ~ Beta(a, b exp(-dropout_coefficients . c)), a chance to drop out after the first purchase too; crm_mbgnbd_customer_model gives that customers crm_mbgnbd_model';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.r IS 'Shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.alpha IS 'Scale of the gamma distribution of purchase rates of a customer whose covariates are all 0';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.a IS 'First shape of the beta distribution of dropout probabilities';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.b IS 'Second shape of the beta distribution of dropout probabilities of a customer whose covariates are all 0';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.purchase_coefficients IS 'Coefficients of the covariates on purchases: alpha_i = alpha exp(-purchase_coefficients . covariates), so that a positive one means more purchases';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.dropout_coefficients IS 'Coefficients of the covariates on dropping out: b_i = b exp(-dropout_coefficients . covariates), so that a positive one means a higher dropout probability';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters (without the penalty)';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.customers IS 'Number of customers fitted';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters (coefficients included): lower is better between models of the same data';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_mbgnbd_covariate_model.covariance IS 'Asymptotic covariance of the parameters, in the order: the four base parameters, the purchase coefficients, the dropout coefficients; NULL when the fit did not converge';

CREATE TYPE crm_paretonbd_covariate_model AS (
    r                     float8,
    alpha                 float8,
    s                     float8,
    beta                  float8,
    purchase_coefficients float8[],
    dropout_coefficients  float8[],
    log_likelihood        float8,
    customers             bigint,
    iterations            integer,
    converged             boolean,
    aic                   float8,
    bic                   float8,
    covariance            float8[]
);
COMMENT ON TYPE crm_paretonbd_covariate_model IS
'A Pareto/NBD model with covariates fitted by crm_paretonbd_fit(frequency, recency, t, covariates): a customer with covariates c has purchase rate lambda ~ Gamma(r, alpha exp(-purchase_coefficients . c)) and dropout rate mu ~ Gamma(s, beta exp(-dropout_coefficients . c)); crm_paretonbd_customer_model gives that customers crm_paretonbd_model';
COMMENT ON COLUMN crm_paretonbd_covariate_model.r IS 'Shape of the gamma distribution of purchase rates';
COMMENT ON COLUMN crm_paretonbd_covariate_model.alpha IS 'Scale of the gamma distribution of purchase rates of a customer whose covariates are all 0';
COMMENT ON COLUMN crm_paretonbd_covariate_model.s IS 'Shape of the gamma distribution of dropout rates';
COMMENT ON COLUMN crm_paretonbd_covariate_model.beta IS 'Scale of the gamma distribution of dropout rates of a customer whose covariates are all 0';
COMMENT ON COLUMN crm_paretonbd_covariate_model.purchase_coefficients IS 'Coefficients of the covariates on purchases: alpha_i = alpha exp(-purchase_coefficients . covariates), so that a positive one means more purchases';
COMMENT ON COLUMN crm_paretonbd_covariate_model.dropout_coefficients IS 'Coefficients of the covariates on dropping out: beta_i = beta exp(-dropout_coefficients . covariates), so that a positive one means a higher dropout rate';
COMMENT ON COLUMN crm_paretonbd_covariate_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters (without the penalty)';
COMMENT ON COLUMN crm_paretonbd_covariate_model.customers IS 'Number of customers fitted';
COMMENT ON COLUMN crm_paretonbd_covariate_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_paretonbd_covariate_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_paretonbd_covariate_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters (coefficients included): lower is better between models of the same data';
COMMENT ON COLUMN crm_paretonbd_covariate_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_paretonbd_covariate_model.covariance IS 'Asymptotic covariance of the parameters, in the order: the four base parameters, the purchase coefficients, the dropout coefficients; NULL when the fit did not converge';

CREATE FUNCTION crm_fit_covariates_accum(crm_agg_state, float8, float8, float8, float8[])
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_fit_covariates_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_fit_covariates_accum(crm_agg_state, float8, float8, float8, float8[]) IS
'Transition function of crm_bgnbd_fit, crm_mbgnbd_fit and crm_paretonbd_fit with covariates: collects (frequency, recency, t, covariates), identical rows merged';

CREATE FUNCTION crm_fit_covariates_accum(crm_agg_state, float8, float8, float8, float8[], float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_fit_covariates_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_fit_covariates_accum(crm_agg_state, float8, float8, float8, float8[], float8) IS
'Transition function of crm_bgnbd_fit, crm_mbgnbd_fit and crm_paretonbd_fit with covariates and a penalizer';

CREATE FUNCTION crm_bgnbd_covariates_final(crm_agg_state)
RETURNS crm_bgnbd_covariate_model
AS 'MODULE_PATHNAME', 'crm_bgnbd_covariates_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_covariates_final(crm_agg_state) IS
'Final function of crm_bgnbd_fit with covariates: fits the model by maximum likelihood';

CREATE FUNCTION crm_mbgnbd_covariates_final(crm_agg_state)
RETURNS crm_mbgnbd_covariate_model
AS 'MODULE_PATHNAME', 'crm_mbgnbd_covariates_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_covariates_final(crm_agg_state) IS
'Final function of crm_mbgnbd_fit with covariates: fits the model by maximum likelihood';

CREATE FUNCTION crm_paretonbd_covariates_final(crm_agg_state)
RETURNS crm_paretonbd_covariate_model
AS 'MODULE_PATHNAME', 'crm_paretonbd_covariates_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_covariates_final(crm_agg_state) IS
'Final function of crm_paretonbd_fit with covariates: fits the model by maximum likelihood';

-- The covariate fits are PARALLEL RESTRICTED: they keep every customer
-- whose covariates differ from the others', and a partial state of such
-- rows would travel from each parallel worker to the leader whole, copied
-- on the way, at a higher cost than the scan it shares (bench/README.md);
-- so the leader reads the rows, and what produces them -- a scan, a GROUP
-- BY over the orders -- may still run in parallel workers.  The combine
-- function stays for Citus, whose workers send their states to the
-- coordinator.
CREATE AGGREGATE crm_bgnbd_fit(frequency float8, recency float8, t float8, covariates float8[]) (
    SFUNC = crm_fit_covariates_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_bgnbd_covariates_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = RESTRICTED);
COMMENT ON AGGREGATE crm_bgnbd_fit(float8, float8, float8, float8[]) IS
'BG/NBD model with time-invariant covariates (Fader & Hardie 2007) fitted by maximum likelihood: each customer''s covariates (1 to 8 numbers, as many for every customer) scale the purchase and dropout distributions; rows with a NULL are skipped';

CREATE AGGREGATE crm_bgnbd_fit(frequency float8, recency float8, t float8, covariates float8[], penalizer float8) (
    SFUNC = crm_fit_covariates_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_bgnbd_covariates_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = RESTRICTED);
COMMENT ON AGGREGATE crm_bgnbd_fit(float8, float8, float8, float8[], float8) IS
'BG/NBD model with covariates and an L2 penalty on their coefficients: penalizer times the sum of the squared coefficients is added to the mean negative log-likelihood';

CREATE FUNCTION crm_bgnbd_customer_model(model crm_bgnbd_covariate_model, covariates float8[])
RETURNS crm_bgnbd_model
AS 'MODULE_PATHNAME', 'crm_bgnbd_customer_model'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_customer_model(crm_bgnbd_covariate_model, float8[]) IS
'The plain BG/NBD model of a customer with these covariates: the base parameters with the scales moved by the covariates, the covariance carried over by the delta method; every crm_bgnbd_* scoring function takes it';

CREATE AGGREGATE crm_mbgnbd_fit(frequency float8, recency float8, t float8, covariates float8[]) (
    SFUNC = crm_fit_covariates_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_mbgnbd_covariates_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = RESTRICTED);
COMMENT ON AGGREGATE crm_mbgnbd_fit(float8, float8, float8, float8[]) IS
'MBG/NBD model with time-invariant covariates fitted by maximum likelihood, as crm_bgnbd_fit with covariates: each customer''s covariates (1 to 8 numbers, as many for every customer) scale the purchase and dropout distributions; rows with a NULL are skipped';

CREATE AGGREGATE crm_mbgnbd_fit(frequency float8, recency float8, t float8, covariates float8[], penalizer float8) (
    SFUNC = crm_fit_covariates_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_mbgnbd_covariates_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = RESTRICTED);
COMMENT ON AGGREGATE crm_mbgnbd_fit(float8, float8, float8, float8[], float8) IS
'MBG/NBD model with covariates and an L2 penalty on their coefficients: penalizer times the sum of the squared coefficients is added to the mean negative log-likelihood';

CREATE FUNCTION crm_mbgnbd_customer_model(model crm_mbgnbd_covariate_model, covariates float8[])
RETURNS crm_mbgnbd_model
AS 'MODULE_PATHNAME', 'crm_mbgnbd_customer_model'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_customer_model(crm_mbgnbd_covariate_model, float8[]) IS
'The plain MBG/NBD model of a customer with these covariates: the base parameters with the scales moved by the covariates, the covariance carried over by the delta method; every crm_mbgnbd_* scoring function takes it';

CREATE AGGREGATE crm_paretonbd_fit(frequency float8, recency float8, t float8, covariates float8[]) (
    SFUNC = crm_fit_covariates_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_paretonbd_covariates_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = RESTRICTED);
COMMENT ON AGGREGATE crm_paretonbd_fit(float8, float8, float8, float8[]) IS
'Pareto/NBD model with time-invariant covariates (Fader & Hardie 2007) fitted by maximum likelihood: each customer''s covariates (1 to 8 numbers, as many for every customer) scale the purchase and dropout distributions; rows with a NULL are skipped';

CREATE AGGREGATE crm_paretonbd_fit(frequency float8, recency float8, t float8, covariates float8[], penalizer float8) (
    SFUNC = crm_fit_covariates_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_paretonbd_covariates_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = RESTRICTED);
COMMENT ON AGGREGATE crm_paretonbd_fit(float8, float8, float8, float8[], float8) IS
'Pareto/NBD model with covariates and an L2 penalty on their coefficients: penalizer times the sum of the squared coefficients is added to the mean negative log-likelihood';

CREATE FUNCTION crm_paretonbd_customer_model(model crm_paretonbd_covariate_model, covariates float8[])
RETURNS crm_paretonbd_model
AS 'MODULE_PATHNAME', 'crm_paretonbd_customer_model'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_customer_model(crm_paretonbd_covariate_model, float8[]) IS
'The plain Pareto/NBD model of a customer with these covariates: the base parameters with the scales moved by the covariates, the covariance carried over by the delta method; every crm_paretonbd_* scoring function takes it';
