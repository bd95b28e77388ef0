-- The crm demo on the CDNOW order log (tools/demo pipes the orders in).
-- Everything lives in schema crm_demo, recreated on each run.

\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS crm;
DROP SCHEMA IF EXISTS crm_demo CASCADE;
CREATE SCHEMA crm_demo;

CREATE TABLE crm_demo.orders (
    customer_id integer NOT NULL,
    ordered_at  date    NOT NULL,
    cds         integer NOT NULL,
    amount      numeric(10,2) NOT NULL
);
-- On a Citus cluster (tools/demo --citus) the orders are distributed by
-- customer; everything below is the same SQL
\if :{?citus}
SELECT create_distributed_table('crm_demo.orders', 'customer_id') \gset
\echo 'crm_demo.orders is distributed by customer_id over the Citus workers'
\endif
\copy crm_demo.orders FROM pstdin WITH (FORMAT csv)
ANALYZE crm_demo.orders;

-- The data ends on 1998-06-30; the demo judges every customer on that day.
\set as_of '''1998-06-30'''

-- One row per customer with everything the report needs: crm_rfm gives
-- the order figures in one pass, crm_tier_thresholds the value cut points
-- of the pyramid.
CREATE TABLE crm_demo.customers AS
WITH per_customer AS (
    SELECT customer_id,
           crm_rfm(ordered_at::timestamptz, amount, :as_of) AS r,
           count(DISTINCT date_trunc('quarter', ordered_at)) AS quarters_bought
    FROM crm_demo.orders
    GROUP BY customer_id
), measured AS (
    SELECT customer_id, (r).orders, (r).revenue::float8 AS revenue,
           (r).first_at, (r).last_at,
           -- repeat rate: share of the quarters after the first one in
           -- which the customer bought again
           (quarters_bought - 1)::float8
             / greatest(1, (extract(year FROM age(date_trunc('quarter', :as_of::date),
                                                  date_trunc('quarter', (r).first_at)))::int * 4
                           + extract(month FROM age(date_trunc('quarter', :as_of::date),
                                                    date_trunc('quarter', (r).first_at)))::int / 3))
             AS repeat_rate
    FROM per_customer
), thresholds AS (
    SELECT crm_tier_thresholds(revenue) AS t FROM measured
)
SELECT customer_id, orders, revenue, first_at, last_at, repeat_rate,
       crm_lifecycle_stage(orders, first_at, last_at, :as_of) AS stage,
       crm_tier_of(revenue, thresholds.t) AS tier,
       -- CDNOW records behaviour only: no survey, promotion or alternative,
       -- so only the behavioural loyalty types can appear.
       crm_loyalty_type(least(repeat_rate, 1)) AS loyalty
FROM measured, thresholds;

-- CLV: 30% margin on the customer's yearly spend so far, retained with a
-- probability that depends on the lifecycle stage, 10% discount a year.
ALTER TABLE crm_demo.customers ADD COLUMN clv float8;
UPDATE crm_demo.customers SET clv =
    crm_clv(0.3 * revenue / greatest(1, extract(epoch FROM :as_of::timestamptz - first_at) / (365.25 * 86400)),
            CASE stage WHEN 'maturity' THEN 0.8 WHEN 'growth' THEN 0.7
                       WHEN 'acquisition' THEN 0.5 WHEN 'decline' THEN 0.3
                       ELSE 0 END,
            0.1);

\pset footer off
\echo
\echo 'The CDNOW order log'
SELECT count(DISTINCT customer_id) AS customers, count(*) AS orders,
       min(ordered_at) AS first_order, max(ordered_at) AS last_order,
       sum(amount) AS revenue
FROM crm_demo.orders;
\echo 'Customer pyramid (customers ranked by revenue; ties share a tier)'
SELECT p.tier, p.customers,
       round((100 * p.customer_share)::numeric, 2) AS "% of customers",
       round(p.value::numeric, 2) AS revenue,
       round((100 * p.value_share)::numeric, 2) AS "% of revenue",
       round(p.lowest_value::numeric, 2) AS "from"
FROM unnest((SELECT crm_pyramid(revenue) FROM crm_demo.customers)) p;

SELECT round((100 * crm_pareto_share(revenue))::numeric, 1) AS "% of revenue from the top 20% of customers"
FROM crm_demo.customers;

\echo 'Loyalty mix (repeat rate = share of later quarters with a purchase)'
SELECT loyalty,
       count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS "% of customers",
       round((100 * sum(revenue) / sum(sum(revenue)) OVER ())::numeric, 2) AS "% of revenue"
FROM crm_demo.customers
GROUP BY loyalty
ORDER BY loyalty DESC;

\echo 'Lifecycle mix on 1998-06-30'
SELECT stage,
       count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS "% of customers",
       round((100 * sum(revenue) / sum(sum(revenue)) OVER ())::numeric, 2) AS "% of revenue"
FROM crm_demo.customers
GROUP BY stage
ORDER BY stage;

\echo 'Top 10 customers by CLV (30% margin, retention by stage, 10% discount)'
SELECT customer_id, tier, loyalty, stage, orders,
       round(revenue::numeric, 2) AS revenue,
       round(clv::numeric, 2) AS clv
FROM crm_demo.customers
ORDER BY clv DESC, customer_id
LIMIT 10;

-- Predicted value: BG/NBD and Gamma-Gamma fitted on the first 39 weeks
-- (to 1997-09-30, as in Fader, Hardie & Lee 2005), in weeks, then each
-- customer scored on that calibration summary.
CREATE TABLE crm_demo.calibration AS
SELECT customer_id, (crm_rfm(ordered_at::timestamptz, amount, '1997-09-30', '1 week')).*
FROM crm_demo.orders WHERE ordered_at <= '1997-09-30'
GROUP BY customer_id;
CREATE TABLE crm_demo.models AS
SELECT (SELECT crm_bgnbd_fit(frequency, recency, t) FROM crm_demo.calibration) AS bgnbd,
       (SELECT crm_gammagamma_fit(frequency, avg_repeat_value) FROM crm_demo.calibration) AS spend;

\echo 'BG/NBD (purchases) and Gamma-Gamma (spend) fitted on the 39 calibration weeks, with standard errors and 95% intervals'
SELECT model, p.parameter, round(p.estimate::numeric, 3) AS estimate, round(p.std_error::numeric, 3) AS std_error,
       round(p.lower_95::numeric, 3) AS lower_95, round(p.upper_95::numeric, 3) AS upper_95
FROM crm_demo.models m,
     LATERAL (SELECT 'BG/NBD' AS model, x.parameter, x.estimate, x.std_error, x.lower_95, x.upper_95, o FROM crm_model_parameters(m.bgnbd) WITH ORDINALITY x(parameter, estimate, std_error, lower_95, upper_95, o)
              UNION ALL
              SELECT 'Gamma-Gamma', x.parameter, x.estimate, x.std_error, x.lower_95, x.upper_95, 4 + o FROM crm_model_parameters(m.spend) WITH ORDINALITY x(parameter, estimate, std_error, lower_95, upper_95, o)) p
ORDER BY p.o;

\echo 'Top 10 customers by predicted value over the next 12 months (1% a month discount), with what they actually bought in the 39 weeks after'
SELECT c.customer_id, c.frequency, round(c.recency::numeric, 1) AS recency, round(c.t::numeric, 1) AS t,
       round(crm_bgnbd_p_alive(m.bgnbd, c.frequency, c.recency, c.t)::numeric, 3) AS p_alive,
       round(crm_bgnbd_expected(m.bgnbd, 39, c.frequency, c.recency, c.t)::numeric, 2) AS expected_39_weeks,
       coalesce(a.days, 0) AS actual_39_weeks,
       round(v.estimate::numeric, 2) AS clv_12_months,
       round(v.lower::numeric, 2) || ' - ' || round(v.upper::numeric, 2) AS "95% interval"
FROM crm_demo.calibration c
CROSS JOIN crm_demo.models m
CROSS JOIN LATERAL crm_clv_predict_interval(m.bgnbd, m.spend, c.frequency, c.recency, c.t,
                                            coalesce(c.avg_repeat_value, 0), 12, 0.01, 4.345) v
LEFT JOIN (SELECT customer_id, count(DISTINCT ordered_at) AS days
           FROM crm_demo.orders WHERE ordered_at > '1997-09-30'
           GROUP BY customer_id) a ON a.customer_id = c.customer_id
ORDER BY clv_12_months DESC, c.customer_id
LIMIT 10;

-- Backtest: the same calibration weeks summarised by crm_calibration_holdout
-- with what each customer did in the 39 weeks after, against the BG/NBD
-- forecast of those weeks (Fader, Hardie & Lee 2005, figure 4).
CREATE TABLE crm_demo.backtest AS
SELECT customer_id,
       (crm_calibration_holdout(ordered_at::timestamptz, amount, '1997-09-30', '1998-06-30', '1 week')).*
FROM crm_demo.orders
GROUP BY customer_id;

\echo 'Backtest: mean repeat purchase days in the 39 weeks after calibration, actual and BG/NBD forecast, by repeat purchases in calibration'
SELECT CASE WHEN least(b.frequency_cal, 7) = 7 THEN '7+' ELSE b.frequency_cal::text END AS calibration,
       count(*) AS customers,
       round(avg(b.frequency_holdout), 2) AS actual,
       round(avg(crm_bgnbd_expected(m.bgnbd, b.duration_holdout, b.frequency_cal, b.recency_cal, b.t_cal))::numeric, 2) AS forecast
FROM crm_demo.backtest b CROSS JOIN crm_demo.models m
GROUP BY least(b.frequency_cal, 7), 1
ORDER BY least(b.frequency_cal, 7);

\echo 'Forecast accuracy over all customers'
SELECT sum(actual) AS actual, round(sum(forecast)::numeric, 1) AS forecast,
       round((100 * (sum(forecast) - sum(actual)) / sum(actual))::numeric, 1) AS "% error",
       round(avg(abs(forecast - actual))::numeric, 3) AS mae,
       round(sqrt(avg((forecast - actual) ^ 2))::numeric, 3) AS rmse,
       round(corr(forecast, actual)::numeric, 3) AS correlation
FROM (SELECT b.frequency_holdout AS actual,
             crm_bgnbd_expected(m.bgnbd, b.duration_holdout, b.frequency_cal, b.recency_cal, b.t_cal) AS forecast
      FROM crm_demo.backtest b CROSS JOIN crm_demo.models m) f;

-- One-time buyers: BG/NBD takes them all to be alive; MBG/NBD lets them
-- have left right after their first purchase.
\echo 'Customers without a repeat purchase in calibration: probability alive on 1997-09-30, by month of first purchase'
WITH m AS (SELECT crm_mbgnbd_fit(frequency, recency, t) AS mbgnbd FROM crm_demo.calibration)
SELECT to_char(c.first_at, 'YYYY-MM') AS first_purchase, count(*) AS customers,
       round(avg(crm_bgnbd_p_alive(models.bgnbd, 0, 0, c.t))::numeric, 3) AS "BG/NBD",
       round(avg(crm_mbgnbd_p_alive(m.mbgnbd, 0, 0, c.t))::numeric, 3) AS "MBG/NBD"
FROM crm_demo.calibration c CROSS JOIN crm_demo.models models CROSS JOIN m
WHERE c.frequency = 0
GROUP BY 1 ORDER BY 1;
