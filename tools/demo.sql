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
\copy crm_demo.orders FROM pstdin WITH (FORMAT csv)
ANALYZE crm_demo.orders;

-- The data ends on 1998-06-30; the demo judges every customer on that day.
\set as_of '''1998-06-30'''

-- One row per customer with everything the report needs.
CREATE TABLE crm_demo.customers AS
WITH per_customer AS (
    SELECT customer_id,
           count(*)                          AS orders,
           sum(amount)::float8               AS revenue,
           min(ordered_at)::timestamptz      AS first_at,
           max(ordered_at)::timestamptz      AS last_at,
           count(DISTINCT date_trunc('quarter', ordered_at)) AS quarters_bought
    FROM crm_demo.orders
    GROUP BY customer_id
), measured AS (
    SELECT *,
           -- repeat rate: share of the quarters after the first one in
           -- which the customer bought again
           (quarters_bought - 1)::float8
             / greatest(1, (extract(year FROM age(date_trunc('quarter', :as_of::date),
                                                  date_trunc('quarter', first_at)))::int * 4
                           + extract(month FROM age(date_trunc('quarter', :as_of::date),
                                                    date_trunc('quarter', first_at)))::int / 3))
             AS repeat_rate,
           crm_lifecycle_stage(orders, first_at, last_at, :as_of) AS stage,
           rank() OVER (ORDER BY revenue DESC) AS value_rank,
           count(*) OVER () AS customers
    FROM per_customer
)
SELECT customer_id, orders, revenue, first_at, last_at, repeat_rate, stage,
       crm_tier(value_rank, customers) AS tier,
       -- CDNOW records behaviour only: no survey, promotion or alternative,
       -- so only the behavioural loyalty types can appear.
       crm_loyalty_type(least(repeat_rate, 1)) AS loyalty,
       -- CLV: 30% margin on the customer's yearly spend so far, retained
       -- with a probability that depends on the lifecycle stage, 10% discount.
       crm_clv(0.3 * revenue / greatest(1, extract(epoch FROM :as_of::timestamptz - first_at) / (365.25 * 86400)),
               CASE stage WHEN 'maturity' THEN 0.8 WHEN 'growth' THEN 0.7
                          WHEN 'acquisition' THEN 0.5 WHEN 'decline' THEN 0.3
                          ELSE 0 END,
               0.1) AS clv
FROM measured;

\pset footer off
\echo
\echo 'The CDNOW order log'
SELECT count(DISTINCT customer_id) AS customers, count(*) AS orders,
       min(ordered_at) AS first_order, max(ordered_at) AS last_order,
       sum(amount) AS revenue
FROM crm_demo.orders;
\echo 'Customer pyramid (customers ranked by revenue; ties share a tier)'
SELECT tier,
       count(*) AS customers,
       round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS "% of customers",
       round(sum(revenue)::numeric, 2) AS revenue,
       round((100 * sum(revenue) / sum(sum(revenue)) OVER ())::numeric, 2) AS "% of revenue"
FROM crm_demo.customers
GROUP BY tier
ORDER BY tier DESC;

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
