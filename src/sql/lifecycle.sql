
-- Lifecycle stage

CREATE FUNCTION crm_lifecycle_stage(orders bigint,
                                    first_at timestamptz,
                                    last_at timestamptz,
                                    as_of timestamptz,
                                    decline_gaps float8 DEFAULT 2,
                                    churn_gaps float8 DEFAULT 4,
                                    mature_orders integer DEFAULT 5,
                                    one_time_churn interval DEFAULT '365 days',
                                    min_gap interval DEFAULT '1 day')
RETURNS crm_lifecycle
AS 'MODULE_PATHNAME', 'crm_lifecycle_stage'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_lifecycle_stage(bigint, timestamptz, timestamptz, timestamptz, float8, float8, integer, interval, interval) IS
'Lifecycle stage at as_of of a customer with orders orders between first_at and last_at: prospect with no order; a one-time buyer is in acquisition until one_time_churn has passed, then churned; a repeat buyer silent for more than churn_gaps (decline_gaps) of their average gaps between orders is churned (in decline), otherwise in maturity from mature_orders orders, else in growth. NULL orders, or a NULL timestamp with orders > 0, gives NULL';
