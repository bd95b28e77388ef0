
-- The crm_rfm aggregate: RFM figures and the model summary per customer

CREATE TYPE crm_rfm AS (
    orders           bigint,
    revenue          numeric,
    first_at         timestamptz,
    last_at          timestamptz,
    since_last       float8,
    frequency        integer,
    recency          float8,
    t                float8,
    avg_repeat_value float8
);
COMMENT ON TYPE crm_rfm IS
'Per-customer summary computed by the crm_rfm aggregate: RFM figures and the frequency / recency / t summary of the probabilistic models';
COMMENT ON COLUMN crm_rfm.orders IS 'Number of orders';
COMMENT ON COLUMN crm_rfm.revenue IS 'Sum of the order amounts';
COMMENT ON COLUMN crm_rfm.first_at IS 'Time of the first order';
COMMENT ON COLUMN crm_rfm.last_at IS 'Time of the last order';
COMMENT ON COLUMN crm_rfm.since_last IS 'Time from the day of the last order to as_of, in the unit (the R of RFM)';
COMMENT ON COLUMN crm_rfm.frequency IS 'Number of purchase days after the first purchase day (repeat purchases; several orders on one day count once)';
COMMENT ON COLUMN crm_rfm.recency IS 'Time from the first to the last purchase day, in the unit (model recency, not the R of RFM)';
COMMENT ON COLUMN crm_rfm.t IS 'Time from the first purchase day to as_of, in the unit (the customer''s age)';
COMMENT ON COLUMN crm_rfm.avg_repeat_value IS 'Mean over repeat purchase days of each day''s total (the zbar of the Gamma-Gamma model); NULL without repeat purchases';

CREATE FUNCTION crm_rfm_accum(internal, timestamptz, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_rfm_accum'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_accum(internal, timestamptz, numeric) IS
'Transition function of crm_rfm(ordered_at, amount)';

CREATE FUNCTION crm_rfm_accum(internal, timestamptz, numeric, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_rfm_accum'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_accum(internal, timestamptz, numeric, timestamptz) IS
'Transition function of crm_rfm(ordered_at, amount, as_of)';

CREATE FUNCTION crm_rfm_accum(internal, timestamptz, numeric, timestamptz, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_rfm_accum'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_accum(internal, timestamptz, numeric, timestamptz, interval) IS
'Transition function of crm_rfm(ordered_at, amount, as_of, unit)';

CREATE FUNCTION crm_rfm_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_rfm_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_combine(internal, internal) IS
'Combine function of crm_rfm: merges two partial states (parallel query)';

CREATE FUNCTION crm_rfm_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_rfm_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_serialize(internal) IS
'Serial function of crm_rfm: a partial state as bytea';

CREATE FUNCTION crm_rfm_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_rfm_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_deserialize(bytea, internal) IS
'Deserial function of crm_rfm: a partial state from bytea';

CREATE FUNCTION crm_rfm_final(internal)
RETURNS crm_rfm
AS 'MODULE_PATHNAME', 'crm_rfm_final'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_final(internal) IS
'Final function of crm_rfm: the crm_rfm summary';

CREATE AGGREGATE crm_rfm(ordered_at timestamptz, amount numeric) (
    SFUNC = crm_rfm_accum, STYPE = internal, SSPACE = 400, FINALFUNC = crm_rfm_final,
    COMBINEFUNC = crm_rfm_combine, SERIALFUNC = crm_rfm_serialize,
    DESERIALFUNC = crm_rfm_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_rfm(timestamptz, numeric) IS
'RFM figures and model summary of a customer''s orders, judged at the start of the transaction, times in days; purchase days follow the session TimeZone; rows with NULL ordered_at or amount are skipped';

CREATE AGGREGATE crm_rfm(ordered_at timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = crm_rfm_accum, STYPE = internal, SSPACE = 400, FINALFUNC = crm_rfm_final,
    COMBINEFUNC = crm_rfm_combine, SERIALFUNC = crm_rfm_serialize,
    DESERIALFUNC = crm_rfm_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_rfm(timestamptz, numeric, timestamptz) IS
'RFM figures and model summary of a customer''s orders, judged at as_of, times in days; purchase days follow the session TimeZone';

CREATE AGGREGATE crm_rfm(ordered_at timestamptz, amount numeric, as_of timestamptz, unit interval) (
    SFUNC = crm_rfm_accum, STYPE = internal, SSPACE = 400, FINALFUNC = crm_rfm_final,
    COMBINEFUNC = crm_rfm_combine, SERIALFUNC = crm_rfm_serialize,
    DESERIALFUNC = crm_rfm_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_rfm(timestamptz, numeric, timestamptz, interval) IS
'RFM figures and model summary of a customer''s orders, judged at as_of, times in the given unit (''1 week'' gives days / 7); purchase days follow the session TimeZone';
