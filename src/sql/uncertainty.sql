
-- How sure a fitted model is (src/uncertainty.c)

CREATE TYPE crm_interval AS (
    estimate float8,
    lower    float8,
    upper    float8
);
COMMENT ON TYPE crm_interval IS
'A prediction and the interval around it that the uncertainty of the model''s parameters gives (crm_*_expected_interval, crm_clv_predict_interval)';
COMMENT ON COLUMN crm_interval.estimate IS 'The prediction at the fitted parameters: what the function without _interval returns';
COMMENT ON COLUMN crm_interval.lower IS 'Lower end of the interval';
COMMENT ON COLUMN crm_interval.upper IS 'Upper end of the interval';

CREATE FUNCTION crm_model_parameters(model record)
RETURNS TABLE (parameter text, estimate float8, std_error float8, lower_95 float8, upper_95 float8)
AS 'MODULE_PATHNAME', 'crm_model_parameters'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4;
COMMENT ON FUNCTION crm_model_parameters(record) IS
'The parameters of any crm model (what a crm_*_fit aggregate returns), one row each: estimate, standard error from the covariance the fit stored (observed information at the optimum), and a 95% confidence interval exp(ln estimate -+ 1.96 std_error / estimate), which stays positive as the parameters are; NULL errors and bounds for a model without covariance';
