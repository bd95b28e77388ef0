
-- Relationship type

CREATE FUNCTION crm_relationship(value_score float8, loyalty_score float8,
                                 value_cut float8 DEFAULT 50,
                                 loyalty_cut float8 DEFAULT 50)
RETURNS crm_relationship
AS 'MODULE_PATHNAME', 'crm_relationship'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_relationship(float8, float8, float8, float8) IS
'Relationship type from a value score and a loyalty score, both on a 0-100 scale; a score at or above its cut (default 50) is high: acquaintance (low, low), functional (high value), emotional (high loyalty), partnership (high, high)';
