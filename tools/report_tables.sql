-- The tables of tools/report for the tracked table :'orders'
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\ir report_tracking.sql

\echo Customer pyramid (revenue now)
SELECT tier, customers, round((100 * customer_share)::numeric, 2) AS "% of customers", revenue,
       round((100 * revenue_share)::numeric, 2) AS "% of revenue", lowest_revenue AS "from"
FROM :pyramid_view;

\echo Loyalty mix
SELECT loyalty, customers, round((100 * customer_share)::numeric, 2) AS "% of customers", revenue,
       round((100 * revenue_share)::numeric, 2) AS "% of revenue"
FROM :loyalty_view ORDER BY loyalty;

\echo Lifecycle mix now
SELECT lifecycle AS stage, customers, round((100 * customer_share)::numeric, 2) AS "% of customers", revenue,
       round((100 * revenue_share)::numeric, 2) AS "% of revenue"
FROM :lifecycle_view ORDER BY lifecycle;

\echo Top 10 customers by CLV
SELECT customer, tier, loyalty, lifecycle AS stage, orders, revenue, round(clv::numeric, 2) AS clv
FROM :segments_view ORDER BY clv DESC NULLS LAST, customer LIMIT 10;

\echo Customers entering decline or churned (alerts)
SELECT stage, count(*) AS customers, count(*) FILTER (WHERE loyal_customer_leaving) AS "with a loyalty type"
FROM :alerts_view GROUP BY stage ORDER BY stage;
