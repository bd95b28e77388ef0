-- crm: customer segmentation inside PostgreSQL.
-- The 0.1.0 install script as released; never edited: installs of older
-- versions and the upgrade test start from it.

\echo Use "CREATE EXTENSION crm" to load this file. \quit

-- Enums: the label order is the sort order, so comparisons read naturally
-- (tier >= 'major', ORDER BY stage).

CREATE TYPE crm_tier AS ENUM ('small', 'ordinary', 'major', 'vip');
COMMENT ON TYPE crm_tier IS
'Customer pyramid tier, ordered small < ordinary < major < vip: by default vip is the top 1% of customers by value, major the next 4%, ordinary the next 15%, small the other 80%';

CREATE TYPE crm_loyalty AS ENUM
    ('none', 'monopoly', 'inertia', 'latent', 'benefit', 'incentive', 'brand', 'devoted');
COMMENT ON TYPE crm_loyalty IS
'Kind of customer loyalty: monopoly (no alternative), inertia (habit), latent (attached but buys rarely), benefit (price/value advantage), incentive (promotions), brand (attached and repeats), devoted (attached, repeats and refers others), or none';

CREATE TYPE crm_relationship AS ENUM
    ('acquaintance', 'functional', 'emotional', 'partnership');
COMMENT ON TYPE crm_relationship IS
'Relationship type from customer value and loyalty: acquaintance (low value, low loyalty), functional (high value, low loyalty), emotional (low value, high loyalty), partnership (high value, high loyalty)';

CREATE TYPE crm_lifecycle AS ENUM
    ('prospect', 'acquisition', 'growth', 'maturity', 'decline', 'churned');
COMMENT ON TYPE crm_lifecycle IS
'Relationship lifecycle stage: prospect (no purchase yet), acquisition (first purchase), growth, maturity, decline (buying less often than usual), churned';

-- Customer lifetime value

CREATE FUNCTION crm_clv(margin float8, retention float8, discount float8,
                        periods integer DEFAULT NULL,
                        acquisition_cost float8 DEFAULT 0)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_clv'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv(float8, float8, float8, integer, float8) IS
'Customer lifetime value under the retention model: sum over t = 0 .. periods-1 of margin * (retention / (1 + discount))^t, minus acquisition_cost; periods NULL means an unlimited horizon, margin * (1 + discount) / (1 + discount - retention) - acquisition_cost. NULL margin, retention, discount or acquisition_cost gives NULL';

CREATE FUNCTION crm_clv_simple(avg_order_value float8, orders_per_period float8,
                               periods float8, margin float8 DEFAULT 1)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_clv_simple'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_clv_simple(float8, float8, float8, float8) IS
'Simple customer lifetime value: average order value * orders per period * periods * margin (a fraction of revenue kept as profit), with no retention or discounting';

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

-- Loyalty types and loyalty score

CREATE FUNCTION crm_loyalty_type(repeat_rate float8,
                                 attitude float8 DEFAULT NULL,
                                 promo_share float8 DEFAULT NULL,
                                 price_sensitivity float8 DEFAULT NULL,
                                 referrals integer DEFAULT NULL,
                                 has_alternative boolean DEFAULT NULL,
                                 high_repeat float8 DEFAULT 0.5,
                                 high_attitude float8 DEFAULT 0.7,
                                 high_promo float8 DEFAULT 0.5,
                                 high_price_sensitivity float8 DEFAULT 0.5)
RETURNS crm_loyalty
AS 'MODULE_PATHNAME', 'crm_loyalty_type'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_loyalty_type(float8, float8, float8, float8, integer, boolean, float8, float8, float8, float8) IS
'Loyalty type from behaviour (repeat_rate, promo_share, price_sensitivity, all in [0,1]) and attitude (attitude in [0,1], referrals >= 0, has_alternative), by the first matching rule: monopoly, incentive, benefit, devoted, brand, inertia, latent, none; a NULL measure never counts as high, an unknown alternative is assumed to exist, and a NULL repeat_rate gives NULL';

CREATE FUNCTION crm_loyalty_score(repeat_rate float8 DEFAULT NULL,
                                  share_of_wallet float8 DEFAULT NULL,
                                  price_sensitivity float8 DEFAULT NULL,
                                  referrals integer DEFAULT NULL,
                                  attitude float8 DEFAULT NULL,
                                  repurchase_intention float8 DEFAULT NULL,
                                  competitor_attitude float8 DEFAULT NULL,
                                  behaviour_weight float8 DEFAULT 0.5)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_loyalty_score'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_loyalty_score(float8, float8, float8, integer, float8, float8, float8, float8) IS
'Loyalty score 0-100: behaviour_weight * mean of the known behavioural measures (repeat_rate, share_of_wallet, 1 - price_sensitivity, 1 - 0.5^referrals) plus (1 - behaviour_weight) * mean of the known survey measures (attitude, repurchase_intention, 1 - competitor_attitude); NULL measures are left out and a part with none gives its weight to the other; NULL when nothing is known';

-- Relationship type

CREATE FUNCTION crm_relationship(value_score float8, loyalty_score float8,
                                 value_cut float8 DEFAULT 50,
                                 loyalty_cut float8 DEFAULT 50)
RETURNS crm_relationship
AS 'MODULE_PATHNAME', 'crm_relationship'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_relationship(float8, float8, float8, float8) IS
'Relationship type from a value score and a loyalty score, both on a 0-100 scale; a score at or above its cut (default 50) is high: acquaintance (low, low), functional (high value), emotional (high loyalty), partnership (high, high)';

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

-- RFM scores and segments

CREATE FUNCTION crm_rfm_score(value float8, thresholds float8[],
                              higher_is_better boolean DEFAULT true)
RETURNS integer
AS 'MODULE_PATHNAME', 'crm_rfm_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_score(float8, float8[], boolean) IS
'RFM score 1-5 of a value given four never-decreasing thresholds, the upper bounds of the first four bins (as percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) returns): the score is 1 + the number of thresholds below the value, or 5 minus that number when higher_is_better is false (recency in days)';

CREATE FUNCTION crm_rfm_segment(r integer, f integer, m integer,
                                r_package_order boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'crm_rfm_segment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_segment(integer, integer, integer, boolean) IS
'Named RFM segment of recency, frequency and monetary scores 1-5 with the score ranges of R''s rfm package: Champions, Loyal Customers, Potential Loyalist, New Customers, Promising, Need Attention, About To Sleep, At Risk, Can''t Lose Them, Lost, or Others when no range holds. First match wins; by default New Customers and Promising are checked before Potential Loyalist and Can''t Lose Them before At Risk so that every segment is reachable; r_package_order => true keeps the package''s order and results';

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
