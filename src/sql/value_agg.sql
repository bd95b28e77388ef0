
-- Population aggregates over customer values: tier thresholds, Pareto
-- share and the whole pyramid

CREATE TYPE crm_pyramid_tier AS (
    tier           crm_tier,
    customers      bigint,
    customer_share float8,
    value          float8,
    value_share    float8,
    lowest_value   float8,
    highest_value  float8
);
COMMENT ON TYPE crm_pyramid_tier IS
'One tier of the customer pyramid as returned by crm_pyramid';
COMMENT ON COLUMN crm_pyramid_tier.tier IS 'Pyramid tier';
COMMENT ON COLUMN crm_pyramid_tier.customers IS 'Number of customers in the tier';
COMMENT ON COLUMN crm_pyramid_tier.customer_share IS 'Share of all customers in the tier, 0 to 1';
COMMENT ON COLUMN crm_pyramid_tier.value IS 'Total value of the tier''s customers';
COMMENT ON COLUMN crm_pyramid_tier.value_share IS 'Share of the total value brought by the tier, 0 to 1; NULL when the total is 0';
COMMENT ON COLUMN crm_pyramid_tier.lowest_value IS 'Lowest customer value in the tier; NULL for an empty tier';
COMMENT ON COLUMN crm_pyramid_tier.highest_value IS 'Highest customer value in the tier; NULL for an empty tier';

CREATE FUNCTION crm_value_accum(internal, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_value_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_accum(internal, float8) IS
'Transition function of crm_tier_thresholds(value) and crm_pyramid(value)';

CREATE FUNCTION crm_value_accum(internal, float8, float8[])
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_value_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_accum(internal, float8, float8[]) IS
'Transition function of crm_tier_thresholds(value, cuts) and crm_pyramid(value, cuts)';

CREATE FUNCTION crm_pareto_accum(internal, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_pareto_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pareto_accum(internal, float8) IS
'Transition function of crm_pareto_share(value)';

CREATE FUNCTION crm_pareto_accum(internal, float8, float8)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_pareto_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pareto_accum(internal, float8, float8) IS
'Transition function of crm_pareto_share(value, top_fraction)';

CREATE FUNCTION crm_value_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_value_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_combine(internal, internal) IS
'Combine function of crm_tier_thresholds, crm_pareto_share and crm_pyramid (parallel query)';

CREATE FUNCTION crm_value_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_value_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_serialize(internal) IS
'Serial function of crm_tier_thresholds, crm_pareto_share and crm_pyramid';

CREATE FUNCTION crm_value_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_value_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_value_deserialize(bytea, internal) IS
'Deserial function of crm_tier_thresholds, crm_pareto_share and crm_pyramid';

CREATE FUNCTION crm_tier_thresholds_final(internal)
RETURNS float8[]
AS 'MODULE_PATHNAME', 'crm_tier_thresholds_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_tier_thresholds_final(internal) IS
'Final function of crm_tier_thresholds';

CREATE FUNCTION crm_pareto_share_final(internal)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_pareto_share_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pareto_share_final(internal) IS
'Final function of crm_pareto_share';

CREATE FUNCTION crm_pyramid_final(internal)
RETURNS crm_pyramid_tier[]
AS 'MODULE_PATHNAME', 'crm_pyramid_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_pyramid_final(internal) IS
'Final function of crm_pyramid';

CREATE AGGREGATE crm_tier_thresholds(value float8) (
    SFUNC = crm_value_accum, STYPE = internal, SSPACE = 1024, FINALFUNC = crm_tier_thresholds_final,
    COMBINEFUNC = crm_value_combine, SERIALFUNC = crm_value_serialize,
    DESERIALFUNC = crm_value_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_tier_thresholds(float8) IS
'Value thresholds of the pyramid with the default cuts 1% / 5% / 20%: the lowest value of the vip, major and ordinary tiers (Infinity for a tier nobody reaches), so that crm_tier_of(value, thresholds) equals crm_tier(rank() OVER (ORDER BY value DESC), count(*) OVER ()); NULL values are skipped';

CREATE AGGREGATE crm_tier_thresholds(value float8, cuts float8[]) (
    SFUNC = crm_value_accum, STYPE = internal, SSPACE = 1024, FINALFUNC = crm_tier_thresholds_final,
    COMBINEFUNC = crm_value_combine, SERIALFUNC = crm_value_serialize,
    DESERIALFUNC = crm_value_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_tier_thresholds(float8, float8[]) IS
'Value thresholds of the pyramid with custom cuts (three strictly increasing cumulative fractions in (0,1]); NULL values are skipped';

CREATE AGGREGATE crm_pareto_share(value float8) (
    SFUNC = crm_pareto_accum, STYPE = internal, SSPACE = 1024, FINALFUNC = crm_pareto_share_final,
    COMBINEFUNC = crm_value_combine, SERIALFUNC = crm_value_serialize,
    DESERIALFUNC = crm_value_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pareto_share(float8) IS
'Share of the total value brought by the top 20% of customers (the 80/20 check), 0 to 1; values must not be negative; NULL when the total is 0';

CREATE AGGREGATE crm_pareto_share(value float8, top_fraction float8) (
    SFUNC = crm_pareto_accum, STYPE = internal, SSPACE = 1024, FINALFUNC = crm_pareto_share_final,
    COMBINEFUNC = crm_value_combine, SERIALFUNC = crm_value_serialize,
    DESERIALFUNC = crm_value_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pareto_share(float8, float8) IS
'Share of the total value brought by the top_fraction of customers, read off the Lorenz curve (interpolated between customers); values must not be negative; NULL when the total is 0';

CREATE AGGREGATE crm_pyramid(value float8) (
    SFUNC = crm_value_accum, STYPE = internal, SSPACE = 1024, FINALFUNC = crm_pyramid_final,
    COMBINEFUNC = crm_value_combine, SERIALFUNC = crm_value_serialize,
    DESERIALFUNC = crm_value_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pyramid(float8) IS
'The customer pyramid with the default cuts: one crm_pyramid_tier per tier, vip first, with customers, value and their shares; read it with SELECT p.* FROM unnest((SELECT crm_pyramid(value) FROM ...)) p';

CREATE AGGREGATE crm_pyramid(value float8, cuts float8[]) (
    SFUNC = crm_value_accum, STYPE = internal, SSPACE = 1024, FINALFUNC = crm_pyramid_final,
    COMBINEFUNC = crm_value_combine, SERIALFUNC = crm_value_serialize,
    DESERIALFUNC = crm_value_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_pyramid(float8, float8[]) IS
'The customer pyramid with custom cuts: one crm_pyramid_tier per tier, vip first';
