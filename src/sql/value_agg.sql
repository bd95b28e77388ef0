
-- Population aggregates over customer values: tier thresholds, Pareto
-- share and the whole pyramid

CREATE FUNCTION crm_value_accum(crm_agg_state, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_value_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_accum(crm_agg_state, float8) IS
'Transition function of crm_tier_thresholds(value) and crm_pyramid(value)';

CREATE FUNCTION crm_value_accum(crm_agg_state, float8, float8[])
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_value_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_accum(crm_agg_state, float8, float8[]) IS
'Transition function of crm_tier_thresholds(value, cuts) and crm_pyramid(value, cuts)';

CREATE FUNCTION crm_pareto_accum(crm_agg_state, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_pareto_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pareto_accum(crm_agg_state, float8) IS
'Transition function of crm_pareto_share(value)';

CREATE FUNCTION crm_pareto_accum(crm_agg_state, float8, float8)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_pareto_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pareto_accum(crm_agg_state, float8, float8) IS
'Transition function of crm_pareto_share(value, top_fraction)';

CREATE FUNCTION crm_value_combine(crm_agg_state, crm_agg_state)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_value_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_combine(crm_agg_state, crm_agg_state) IS
'Combine function of crm_tier_thresholds, crm_pareto_share and crm_pyramid (parallel query, Citus)';

CREATE FUNCTION crm_tier_thresholds_final(crm_agg_state)
RETURNS float8[]
AS 'MODULE_PATHNAME', 'crm_tier_thresholds_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_tier_thresholds_final(crm_agg_state) IS
'Final function of crm_tier_thresholds';

CREATE FUNCTION crm_pareto_share_final(crm_agg_state)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_pareto_share_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pareto_share_final(crm_agg_state) IS
'Final function of crm_pareto_share';

CREATE FUNCTION crm_pyramid_final(crm_agg_state)
RETURNS crm_pyramid_tier[]
AS 'MODULE_PATHNAME', 'crm_pyramid_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pyramid_final(crm_agg_state) IS
'Final function of crm_pyramid';

CREATE AGGREGATE crm_tier_thresholds(value float8) (
    SFUNC = crm_value_accum, STYPE = crm_agg_state, SSPACE = 1024, FINALFUNC = crm_tier_thresholds_final,
    COMBINEFUNC = crm_value_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_tier_thresholds(float8) IS
'Value thresholds of the pyramid with the default cuts 1% / 5% / 20%: the lowest value of the vip, major and ordinary tiers (Infinity for a tier nobody reaches), so that crm_tier_of(value, thresholds) equals crm_tier(rank() OVER (ORDER BY value DESC), count(*) OVER ()); NULL values are skipped';

CREATE AGGREGATE crm_tier_thresholds(value float8, cuts float8[]) (
    SFUNC = crm_value_accum, STYPE = crm_agg_state, SSPACE = 1024, FINALFUNC = crm_tier_thresholds_final,
    COMBINEFUNC = crm_value_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_tier_thresholds(float8, float8[]) IS
'Value thresholds of the pyramid with custom cuts (three strictly increasing cumulative fractions in (0,1]); NULL values are skipped';

CREATE AGGREGATE crm_pareto_share(value float8) (
    SFUNC = crm_pareto_accum, STYPE = crm_agg_state, SSPACE = 1024, FINALFUNC = crm_pareto_share_final,
    COMBINEFUNC = crm_value_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pareto_share(float8) IS
'Share of the total value brought by the top 20% of customers (the 80/20 check), 0 to 1; values must not be negative; NULL when the total is 0';

CREATE AGGREGATE crm_pareto_share(value float8, top_fraction float8) (
    SFUNC = crm_pareto_accum, STYPE = crm_agg_state, SSPACE = 1024, FINALFUNC = crm_pareto_share_final,
    COMBINEFUNC = crm_value_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pareto_share(float8, float8) IS
'Share of the total value brought by the top_fraction of customers, read off the Lorenz curve (interpolated between customers); values must not be negative; NULL when the total is 0';

CREATE AGGREGATE crm_pyramid(value float8) (
    SFUNC = crm_value_accum, STYPE = crm_agg_state, SSPACE = 1024, FINALFUNC = crm_pyramid_final,
    COMBINEFUNC = crm_value_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pyramid(float8) IS
'The customer pyramid with the default cuts: one crm_pyramid_tier per tier, vip first, with customers, value and their shares; read it with SELECT p.* FROM unnest((SELECT crm_pyramid(value) FROM ...)) p';

CREATE AGGREGATE crm_pyramid(value float8, cuts float8[]) (
    SFUNC = crm_value_accum, STYPE = crm_agg_state, SSPACE = 1024, FINALFUNC = crm_pyramid_final,
    COMBINEFUNC = crm_value_combine, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pyramid(float8, float8[]) IS
'The customer pyramid with custom cuts: one crm_pyramid_tier per tier, vip first';
