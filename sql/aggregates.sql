-- Aggregates: per-customer RFM summary and population cut points
SET TimeZone = 'UTC';
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric(10,2));
INSERT INTO orders VALUES
    (1, '2024-01-01 10:00', 10.00), (1, '2024-01-01 12:00', 5.00), (1, '2024-01-08 09:00', 20.00),
    (1, '2024-01-22 08:00', 30.00), (1, '2024-01-22 15:00', 10.00),
    (2, '2024-01-05 18:30', 7.50),
    (3, '2024-01-02 09:00', 99.90), (3, '2024-01-16 09:00', 45.10);
-- one row per customer: RFM figures and the model summary, in weeks
SELECT customer_id, (crm_rfm(ordered_at, amount, '2024-01-29', '1 week')).*
FROM orders GROUP BY customer_id ORDER BY customer_id;
-- the default unit is days
SELECT customer_id, (r).frequency, (r).recency, (r).t, (r).since_last
FROM (SELECT customer_id, crm_rfm(ordered_at, amount, '2024-01-29') AS r
      FROM orders GROUP BY customer_id) s
ORDER BY customer_id;
-- population cut points over 1,000 customers with values 1..1000
SELECT crm_tier_thresholds(v) AS thresholds,
       crm_tier_thresholds(v, '{0.1, 0.3, 0.6}') AS custom,
       crm_pareto_share(v) AS top_20_pct_share,
       round(crm_pareto_share(v, 0.01)::numeric, 4) AS top_1_pct_share
FROM generate_series(1, 1000) v;
-- the whole pyramid in one call
SELECT p.tier, p.customers, p.customer_share, p.value,
       round(p.value_share::numeric, 4) AS value_share, p.lowest_value, p.highest_value
FROM unnest((SELECT crm_pyramid(v) FROM generate_series(1, 1000) v)) p;
-- thresholds give every customer the tier ranking would
WITH c AS (SELECT i, (i % 37)::float8 AS v FROM generate_series(1, 500) i),
     t AS (SELECT crm_tier_thresholds(v) AS th FROM c)
SELECT count(*) FILTER (WHERE crm_tier_of(v, th) <> crm_tier(r, n)) AS disagreements
FROM (SELECT v, rank() OVER (ORDER BY v DESC) AS r, count(*) OVER () AS n FROM c) ranked, t;
-- errors
SELECT crm_rfm(ordered_at, amount, '2024-01-10') FROM orders;
SELECT crm_rfm(ordered_at, amount, '2024-02-01', '0 days') FROM orders;
SELECT crm_pareto_share(v) FROM (VALUES (5), (-1)) AS s(v);
SELECT crm_tier_thresholds(v, '{0.2, 0.05, 0.01}') FROM generate_series(1, 10) v;
DROP TABLE orders;
