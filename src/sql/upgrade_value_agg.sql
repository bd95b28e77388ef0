
-- 0.2.0 gives the population aggregates of 0.1.0 a transition type of their
-- own, crm_agg_state, in place of internal.  The transition type of an
-- aggregate cannot be altered, so they are dropped here with their support
-- functions and created anew below.  A view of yours that uses one of them
-- stops the update with an error that names it: drop the view, update, and
-- create the view again.

DROP AGGREGATE crm_tier_thresholds(float8);
DROP AGGREGATE crm_tier_thresholds(float8, float8[]);
DROP AGGREGATE crm_pareto_share(float8);
DROP AGGREGATE crm_pareto_share(float8, float8);
DROP AGGREGATE crm_pyramid(float8);
DROP AGGREGATE crm_pyramid(float8, float8[]);
DROP FUNCTION crm_value_accum(internal, float8);
DROP FUNCTION crm_value_accum(internal, float8, float8[]);
DROP FUNCTION crm_pareto_accum(internal, float8);
DROP FUNCTION crm_pareto_accum(internal, float8, float8);
DROP FUNCTION crm_value_combine(internal, internal);
DROP FUNCTION crm_value_serialize(internal);
DROP FUNCTION crm_value_deserialize(bytea, internal);
DROP FUNCTION crm_tier_thresholds_final(internal);
DROP FUNCTION crm_pareto_share_final(internal);
DROP FUNCTION crm_pyramid_final(internal);
