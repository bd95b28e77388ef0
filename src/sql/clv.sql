
-- Customer lifetime value

CREATE FUNCTION crm_clv(margin float8, retention float8, discount float8,
                        periods integer DEFAULT NULL,
                        acquisition_cost float8 DEFAULT 0)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_clv'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv(float8, float8, float8, integer, float8) IS
'Customer lifetime value under the retention model: sum over t = 0 .. periods-1 of margin * (retention / (1 + discount))^t, minus acquisition_cost; periods NULL means an unlimited horizon, margin * (1 + discount) / (1 + discount - retention) - acquisition_cost. NULL margin, retention, discount or acquisition_cost gives NULL';

CREATE FUNCTION crm_clv_simple(avg_order_value float8, orders_per_period float8,
                               periods float8, margin float8 DEFAULT 1)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_clv_simple'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_simple(float8, float8, float8, float8) IS
'Simple customer lifetime value: average order value * orders per period * periods * margin (a fraction of revenue kept as profit), with no retention or discounting';
