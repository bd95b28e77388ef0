
-- The transition state of the population aggregates (crm_tier_thresholds,
-- crm_pareto_share, crm_pyramid, the model fits): a type of its own rather
-- than internal, so that Citus can compute it on its workers and send it to
-- the coordinator as text (src/agg_state.c says more)

CREATE TYPE crm_agg_state;

CREATE FUNCTION crm_agg_state_in(cstring)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_agg_state_in'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_agg_state_in(cstring) IS
'Input function of crm_agg_state: a partial aggregate state in base64, checked by reading it';

CREATE FUNCTION crm_agg_state_out(crm_agg_state)
RETURNS cstring
AS 'MODULE_PATHNAME', 'crm_agg_state_out'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_agg_state_out(crm_agg_state) IS
'Output function of crm_agg_state: the partial aggregate state in base64';

CREATE FUNCTION crm_agg_state_recv(internal)
RETURNS crm_agg_state
AS 'MODULE_PATHNAME', 'crm_agg_state_recv'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_agg_state_recv(internal) IS
'Binary input function of crm_agg_state';

CREATE FUNCTION crm_agg_state_send(crm_agg_state)
RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_agg_state_send'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_agg_state_send(crm_agg_state) IS
'Binary output function of crm_agg_state';

CREATE TYPE crm_agg_state (
    INPUT = crm_agg_state_in,
    OUTPUT = crm_agg_state_out,
    RECEIVE = crm_agg_state_recv,
    SEND = crm_agg_state_send,
    INTERNALLENGTH = VARIABLE,
    STORAGE = extended
);
COMMENT ON TYPE crm_agg_state IS
'Partial state of a crm population aggregate (thresholds, Pareto share, pyramid, model fits), as parallel workers and Citus workers pass it on to be combined';
