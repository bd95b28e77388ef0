
-- sBG: subscriptions renewed period by period

CREATE TYPE crm_sbg_model AS (
    alpha          float8,
    beta           float8,
    log_likelihood float8,
    customers      bigint,
    iterations     integer,
    converged      boolean,
    aic            float8,
    bic            float8,
    covariance     float8[]
);
COMMENT ON TYPE crm_sbg_model IS
'A shifted-beta-geometric model fitted by crm_sbg_fit: each customer leaves at the end of each period with probability theta ~ Beta(alpha, beta)';
COMMENT ON COLUMN crm_sbg_model.alpha IS 'First shape of the beta distribution of the probabilities of leaving';
COMMENT ON COLUMN crm_sbg_model.beta IS 'Second shape of the beta distribution of the probabilities of leaving';
COMMENT ON COLUMN crm_sbg_model.log_likelihood IS 'Log-likelihood of the data at the fitted parameters';
COMMENT ON COLUMN crm_sbg_model.customers IS 'Number of customers fitted: the sum of the rows'' customers';
COMMENT ON COLUMN crm_sbg_model.iterations IS 'Optimiser steps taken';
COMMENT ON COLUMN crm_sbg_model.converged IS 'Whether the optimiser converged; do not use a model that did not';
COMMENT ON COLUMN crm_sbg_model.aic IS 'Akaike information criterion, 2 k - 2 log_likelihood for k parameters: lower is better between models of the same data';
COMMENT ON COLUMN crm_sbg_model.bic IS 'Bayesian information criterion, k ln(customers) - 2 log_likelihood: lower is better between models of the same data';
COMMENT ON COLUMN crm_sbg_model.covariance IS 'Asymptotic covariance of the parameters, in their order, from the observed information at the optimum; NULL when the fit did not converge (see crm_model_parameters)';

CREATE FUNCTION crm_sbg_accum(crm_agg_state, float8, boolean)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_sbg_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_sbg_accum(crm_agg_state, float8, boolean) IS
'Transition function of crm_sbg_fit(periods, churned)';

CREATE FUNCTION crm_sbg_accum(crm_agg_state, float8, boolean, bigint)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_sbg_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_sbg_accum(crm_agg_state, float8, boolean, bigint) IS
'Transition function of crm_sbg_fit(periods, churned, customers)';

CREATE FUNCTION crm_sbg_final(crm_agg_state)
RETURNS crm_sbg_model
AS 'MODULE_PATHNAME', 'crm_sbg_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_sbg_final(crm_agg_state) IS
'Final function of crm_sbg_fit: maximises the likelihood';

CREATE AGGREGATE crm_sbg_fit(periods float8, churned boolean) (
    SFUNC = crm_sbg_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_sbg_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_sbg_fit(float8, boolean) IS
'Shifted-beta-geometric model of subscriptions fitted by maximum likelihood (Fader & Hardie 2007): periods = the period in which the customer left when churned, else the periods the customer has been active for; one customer per row; rows with a NULL are skipped';

CREATE AGGREGATE crm_sbg_fit(periods float8, churned boolean, customers bigint) (
    SFUNC = crm_sbg_accum, STYPE = crm_agg_state, SSPACE = 64, FINALFUNC = crm_sbg_final,
    FINALFUNC_MODIFY = READ_WRITE,
    COMBINEFUNC = crm_fit_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_sbg_fit(float8, boolean, bigint) IS
'Shifted-beta-geometric model fitted to rows that each stand for "customers" customers, as cohort tables of customers lost per period come; rows with a NULL are skipped';

CREATE FUNCTION crm_sbg_retention_rate(model crm_sbg_model, period float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_sbg_retention_rate'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_sbg_retention_rate(crm_sbg_model, float8) IS
'Share of the customers active in period "period" (from 1) who renew at its end (sBG, Fader & Hardie 2007): (beta + period - 1) / (alpha + beta + period - 1)';

CREATE FUNCTION crm_sbg_survival(model crm_sbg_model, periods float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_sbg_survival'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_sbg_survival(crm_sbg_model, float8) IS
'Share of a cohort still active after "periods" periods (sBG): B(alpha, beta + periods) / B(alpha, beta)';

CREATE FUNCTION crm_sbg_residual_lifetime(model crm_sbg_model, periods float8, discount_rate float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_sbg_residual_lifetime'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_sbg_residual_lifetime(crm_sbg_model, float8, float8) IS
'Discounted expected residual lifetime (Fader & Hardie 2010) of a customer active after "periods" periods: the expected number of periods still to come, the next one undiscounted and each later one discounted at discount_rate per period; times the margin of a period, the customer''s residual value';
