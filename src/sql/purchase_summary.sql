
-- The purchase summary live tracking keeps per customer: the same one-pass
-- state as crm_rfm, read out without a judgement date.

CREATE TYPE crm_purchase_summary AS (
    orders            bigint,
    revenue           numeric,
    first_at          timestamptz,
    last_at           timestamptz,
    purchase_days     date[],
    first_day_revenue numeric
);
COMMENT ON TYPE crm_purchase_summary IS
'Per-customer purchase summary computed by the crm_purchase_summary aggregate: what live tracking keeps for each customer';
COMMENT ON COLUMN crm_purchase_summary.orders IS 'Number of orders';
COMMENT ON COLUMN crm_purchase_summary.revenue IS 'Sum of the amounts, exact, with the largest scale of the inputs';
COMMENT ON COLUMN crm_purchase_summary.first_at IS 'Time of the first order';
COMMENT ON COLUMN crm_purchase_summary.last_at IS 'Time of the last order';
COMMENT ON COLUMN crm_purchase_summary.purchase_days IS 'Distinct purchase days in the session TimeZone, sorted';
COMMENT ON COLUMN crm_purchase_summary.first_day_revenue IS 'Sum of the amounts of the first purchase day';

CREATE FUNCTION crm_purchase_summary_final(internal)
RETURNS crm_purchase_summary
AS 'MODULE_PATHNAME', 'crm_purchase_summary_final'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_purchase_summary_final(internal) IS
'Final function of crm_purchase_summary: the crm_purchase_summary of the crm_rfm state';

CREATE AGGREGATE crm_purchase_summary(ordered_at timestamptz, amount numeric) (
    SFUNC = crm_rfm_accum, STYPE = internal, SSPACE = 400, FINALFUNC = crm_purchase_summary_final,
    COMBINEFUNC = crm_rfm_combine, SERIALFUNC = crm_rfm_serialize,
    DESERIALFUNC = crm_rfm_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_purchase_summary(timestamptz, numeric) IS
'Orders, revenue, first and last order, sorted purchase days (session TimeZone) and first-day revenue of a customer''s orders, in one pass; rows with NULL ordered_at or amount are skipped';

CREATE FUNCTION crm_purchase_summary_accum(internal, timestamptz, numeric, text)
RETURNS internal
AS 'MODULE_PATHNAME', 'crm_purchase_summary_accum'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_purchase_summary_accum(internal, timestamptz, numeric, text) IS
'Transition function of crm_purchase_summary with a time zone: crm_rfm_accum with purchase days in the named zone';

CREATE AGGREGATE crm_purchase_summary(ordered_at timestamptz, amount numeric, time_zone text) (
    SFUNC = crm_purchase_summary_accum, STYPE = internal, SSPACE = 400,
    FINALFUNC = crm_purchase_summary_final,
    COMBINEFUNC = crm_rfm_combine, SERIALFUNC = crm_rfm_serialize,
    DESERIALFUNC = crm_rfm_deserialize, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm_purchase_summary(timestamptz, numeric, text) IS
'crm_purchase_summary with purchase days in the named time zone rather than the session''s: what live tracking computes, the same on every node of a Citus cluster';
