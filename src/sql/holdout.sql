
-- The crm_calibration_holdout aggregate: the data of a backtest

CREATE TYPE crm_calibration_holdout AS (
    frequency_cal     integer,
    recency_cal       float8,
    t_cal             float8,
    avg_value_cal     float8,
    frequency_holdout integer,
    duration_holdout  float8,
    value_holdout     numeric
);
COMMENT ON TYPE crm_calibration_holdout IS
'Per-customer summary computed by the crm_calibration_holdout aggregate: the model summary over the calibration period (crm_rfm''s definitions) and what the customer did in the holdout period after it';
COMMENT ON COLUMN crm_calibration_holdout.frequency_cal IS 'Purchase days in the calibration period after the first (repeat purchases)';
COMMENT ON COLUMN crm_calibration_holdout.recency_cal IS 'Time from the first to the last purchase day of the calibration period, in the unit';
COMMENT ON COLUMN crm_calibration_holdout.t_cal IS 'Time from the first purchase day to the day of calibration_end, in the unit';
COMMENT ON COLUMN crm_calibration_holdout.avg_value_cal IS 'Mean total of the repeat purchase days of the calibration period; NULL without repeat purchases';
COMMENT ON COLUMN crm_calibration_holdout.frequency_holdout IS 'Purchase days in the holdout period: after the day of calibration_end, up to that of observation_end (all repeat purchases)';
COMMENT ON COLUMN crm_calibration_holdout.duration_holdout IS 'Length of the holdout period, from the day of calibration_end to that of observation_end, in the unit';
COMMENT ON COLUMN crm_calibration_holdout.value_holdout IS 'Sum of the amounts of the holdout period (0 without purchases there)';

CREATE FUNCTION crm_holdout_accum(internal, timestamptz, numeric, timestamptz, timestamptz)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_holdout_accum'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_holdout_accum(internal, timestamptz, numeric, timestamptz, timestamptz) IS
'Transition function of crm_calibration_holdout(ordered_at, amount, calibration_end, observation_end)';

CREATE FUNCTION crm_holdout_accum(internal, timestamptz, numeric, timestamptz, timestamptz, interval)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_holdout_accum'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_holdout_accum(internal, timestamptz, numeric, timestamptz, timestamptz, interval) IS
'Transition function of crm_calibration_holdout(ordered_at, amount, calibration_end, observation_end, unit)';

CREATE FUNCTION crm_holdout_combine(internal, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_holdout_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_holdout_combine(internal, internal) IS
'Combine function of crm_calibration_holdout: merges two partial states (parallel query)';

CREATE FUNCTION crm_holdout_serialize(internal)
RETURNS bytea
AS 'MODULE_PATHNAME', 'crm_holdout_serialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_holdout_serialize(internal) IS
'Serial function of crm_calibration_holdout: a partial state as bytea';

CREATE FUNCTION crm_holdout_deserialize(bytea, internal)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_holdout_deserialize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_holdout_deserialize(bytea, internal) IS
'Deserial function of crm_calibration_holdout: a partial state from bytea';

CREATE FUNCTION crm_holdout_final(internal)
RETURNS crm_calibration_holdout
AS 'MODULE_PATHNAME', 'crm_holdout_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_holdout_final(internal) IS
'Final function of crm_calibration_holdout: the summary, NULL for a customer whose first purchase is after calibration_end';

CREATE AGGREGATE crm_calibration_holdout(ordered_at timestamptz, amount numeric,
                                         calibration_end timestamptz, observation_end timestamptz) (
    SFUNC = crm_holdout_accum, STYPE = internal, FINALFUNC = crm_holdout_final,
    COMBINEFUNC = crm_holdout_combine, SERIALFUNC = crm_holdout_serialize,
    DESERIALFUNC = crm_holdout_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_calibration_holdout(timestamptz, numeric, timestamptz, timestamptz) IS
'A customer''s summary over the calibration period (purchase days up to that of calibration_end) and purchases in the holdout period after it, up to the day of observation_end, times in days; NULL for a customer not in the calibration cohort; purchase days follow the session TimeZone; rows with NULL ordered_at or amount are skipped';

CREATE AGGREGATE crm_calibration_holdout(ordered_at timestamptz, amount numeric,
                                         calibration_end timestamptz, observation_end timestamptz,
                                         unit interval) (
    SFUNC = crm_holdout_accum, STYPE = internal, FINALFUNC = crm_holdout_final,
    COMBINEFUNC = crm_holdout_combine, SERIALFUNC = crm_holdout_serialize,
    DESERIALFUNC = crm_holdout_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_calibration_holdout(timestamptz, numeric, timestamptz, timestamptz, interval) IS
'The same, times in the given unit (''1 week'' gives days / 7)';
