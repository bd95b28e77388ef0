-- Generates bench_orders with :orders orders (psql variable), skewed like a
-- real shop: most customers buy once, a long tail buys very often, and
-- amounts are log-normal.  Deterministic for a given :orders (setseed).
--
--   customer_id: 20% of orders come from new customers who never return;
--                the rest from orders/10 regulars, floor(orders/10 * u^3),
--                so low ids buy very often and high ids rarely
--   amount      = exp(3.5 + 0.9 N(0,1)), rounded to cents (median ~ 33)
--   ordered_at  = uniform over 2021-01-01 .. 2023-12-31

\set ON_ERROR_STOP on
SELECT setseed(0.42);
SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_orders;
CREATE TABLE bench_orders (
    customer_id integer       NOT NULL,
    ordered_at  timestamptz   NOT NULL,
    amount      numeric(12,2) NOT NULL
);
INSERT INTO bench_orders
SELECT CASE WHEN random() < 0.2 THEN :orders / 10 + g
            ELSE floor((:orders / 10) * power(random(), 3))::int END,
       timestamptz '2021-01-01 00:00+00' + random() * interval '1095 days',
       round(exp(3.5 + 0.9 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))::numeric, 2)
FROM generate_series(1, :orders) g;
VACUUM ANALYZE bench_orders;

-- One value per customer, for the population aggregates.
DROP TABLE IF EXISTS bench_customers;
CREATE TABLE bench_customers AS
SELECT customer_id, sum(amount)::float8 AS revenue FROM bench_orders GROUP BY customer_id;
VACUUM ANALYZE bench_customers;

SELECT count(*) AS orders,
       (SELECT count(*) FROM bench_customers) AS customers,
       round(100.0 * (SELECT count(*) FROM (SELECT 1 FROM bench_orders GROUP BY customer_id HAVING count(*) = 1) s)
             / (SELECT count(*) FROM bench_customers), 1) AS "% one-time buyers",
       (SELECT max(n) FROM (SELECT count(*) AS n FROM bench_orders GROUP BY customer_id) s) AS "most orders"
FROM bench_orders;
