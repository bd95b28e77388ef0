
-- Customer pyramid tiers

CREATE FUNCTION crm_tier(top_fraction float8)
RETURNS crm_tier
AS 'MODULE_PATHNAME', 'crm_tier_fraction'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_tier(float8) IS
'Pyramid tier of a customer whose top_fraction (the share of customers ranked at or above them, in [0,1]) is given, with the default cuts: vip up to 0.01, major up to 0.05, ordinary up to 0.20, small above; a customer on a cut belongs to the upper tier';

CREATE FUNCTION crm_tier(top_fraction float8, cuts float8[])
RETURNS crm_tier
AS 'MODULE_PATHNAME', 'crm_tier_fraction_cuts'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_tier(float8, float8[]) IS
'Pyramid tier of a customer from top_fraction with custom cuts: three strictly increasing cumulative fractions in (0,1] ending the vip, major and ordinary tiers';

CREATE FUNCTION crm_tier(rank bigint, total bigint)
RETURNS crm_tier
AS 'MODULE_PATHNAME', 'crm_tier_rank'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_tier(bigint, bigint) IS
'Pyramid tier of the customer ranked rank (1 = best) among total customers, with the default cuts 1% / 5% / 20%; use rank() so that customers of equal value share a tier';

CREATE FUNCTION crm_tier(rank bigint, total bigint, cuts float8[])
RETURNS crm_tier
AS 'MODULE_PATHNAME', 'crm_tier_rank_cuts'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_tier(bigint, bigint, float8[]) IS
'Pyramid tier of the customer ranked rank (1 = best) among total customers with custom cuts: three strictly increasing cumulative fractions in (0,1]';

CREATE FUNCTION crm_tier_of(value float8, thresholds float8[])
RETURNS crm_tier
AS 'MODULE_PATHNAME', 'crm_tier_of'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_tier_of(float8, float8[]) IS
'Pyramid tier of a customer value given value thresholds: the lowest value of the vip, major and ordinary tiers, in that order (never increasing); a value equal to a threshold belongs to its tier';
