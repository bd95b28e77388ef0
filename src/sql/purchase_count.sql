
-- P(X(t) = n): how many purchases, under BG/NBD, MBG/NBD and Pareto/NBD

CREATE FUNCTION crm_bgnbd_p_purchases_new(model crm_bgnbd_model, n float8, horizon float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgnbd_p_purchases_new'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_p_purchases_new(crm_bgnbd_model, float8, float8) IS
'Probability that a new customer makes exactly n repeat purchases in the first horizon time units after the first (BG/NBD, Fader, Hardie & Lee 2005, eq. 8)';

CREATE FUNCTION crm_bgnbd_p_purchases(model crm_bgnbd_model, n float8, horizon float8,
                                      frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_bgnbd_p_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_p_purchases(crm_bgnbd_model, float8, float8, float8, float8, float8) IS
'Probability that a customer with this frequency, recency and t makes exactly n purchases in the next horizon time units (BG/NBD): gone, or alive and buying as a new customer would with the purchase rate and dropout probability the history leaves; with n = 0, the churn score';

CREATE FUNCTION crm_bgnbd_p_purchases_interval(model crm_bgnbd_model, n float8, horizon float8,
                                      frequency float8, recency float8, t float8,
                                      level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_bgnbd_p_purchases_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_bgnbd_p_purchases_interval(crm_bgnbd_model, float8, float8, float8, float8, float8, float8) IS
'crm_bgnbd_p_purchases with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters (BG/NBD): the probability at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too; with n = 0, the churn score with its interval';

CREATE FUNCTION crm_mbgnbd_p_purchases_new(model crm_mbgnbd_model, n float8, horizon float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_mbgnbd_p_purchases_new'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_p_purchases_new(crm_mbgnbd_model, float8, float8) IS
'Probability that a new customer makes exactly n repeat purchases in the first horizon time units after the first (MBG/NBD): gone at once with probability a / (a + b), else as BG/NBD with b + 1';

CREATE FUNCTION crm_mbgnbd_p_purchases(model crm_mbgnbd_model, n float8, horizon float8,
                                       frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_mbgnbd_p_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_p_purchases(crm_mbgnbd_model, float8, float8, float8, float8, float8) IS
'Probability that a customer with this frequency, recency and t makes exactly n purchases in the next horizon time units (MBG/NBD); with n = 0, the churn score';

CREATE FUNCTION crm_mbgnbd_p_purchases_interval(model crm_mbgnbd_model, n float8, horizon float8,
                                      frequency float8, recency float8, t float8,
                                      level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_mbgnbd_p_purchases_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_mbgnbd_p_purchases_interval(crm_mbgnbd_model, float8, float8, float8, float8, float8, float8) IS
'crm_mbgnbd_p_purchases with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters (MBG/NBD): the probability at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too; with n = 0, the churn score with its interval';

CREATE FUNCTION crm_paretonbd_p_purchases_new(model crm_paretonbd_model, n float8, horizon float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_paretonbd_p_purchases_new'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_p_purchases_new(crm_paretonbd_model, float8, float8) IS
'Probability that a new customer makes exactly n repeat purchases in the first horizon time units after the first (Pareto/NBD, Fader & Hardie 2006): alive throughout, or gone after the n-th';

CREATE FUNCTION crm_paretonbd_p_purchases(model crm_paretonbd_model, n float8, horizon float8,
                                          frequency float8, recency float8, t float8)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_paretonbd_p_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_p_purchases(crm_paretonbd_model, float8, float8, float8, float8, float8) IS
'Probability that a customer with this frequency, recency and t makes exactly n purchases in the next horizon time units (Pareto/NBD): gone, or alive and, lifetimes having no memory, a new customer with the rates the history leaves; with n = 0, the churn score';

CREATE FUNCTION crm_paretonbd_p_purchases_interval(model crm_paretonbd_model, n float8, horizon float8,
                                      frequency float8, recency float8, t float8,
                                      level float8 DEFAULT 0.95)
RETURNS crm_interval
AS 'MODULE_PATHNAME', 'crm_paretonbd_p_purchases_interval'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_paretonbd_p_purchases_interval(crm_paretonbd_model, float8, float8, float8, float8, float8, float8) IS
'crm_paretonbd_p_purchases with an interval at this level (0.95 by default) for the uncertainty of the model''s parameters (Pareto/NBD): the probability at the parameters z standard deviations away, along the direction in which it changes most (from the covariance the fit stored; see crm_model_parameters), so that the bounds are probabilities too; with n = 0, the churn score with its interval';
