-- Customer pyramid tiers
-- by rank (1 = best) among 200 customers: the top 1% is 2 customers
SELECT rank, crm_tier(rank, 200)
FROM (VALUES (1), (2), (3), (10), (11), (40), (41), (200)) AS v(rank);
-- by fraction from the top, default and custom cuts
SELECT crm_tier(0.01) AS at_1pct, crm_tier(0.03) AS at_3pct,
       crm_tier(0.3, '{0.1, 0.3, 0.6}') AS custom;
-- by value, given the lowest value of the vip, major and ordinary tiers
SELECT value, crm_tier_of(value, '{5000, 1000, 200}')
FROM (VALUES (12000), (5000), (999.99), (200), (10)) AS v(value);
-- a pyramid from an order log: rank() keeps equal values in one tier
WITH customers(id, revenue) AS (
    SELECT i, (i % 50) * 10.0 FROM generate_series(1, 500) i
), tiered AS (
    SELECT revenue, crm_tier(rank() OVER (ORDER BY revenue DESC), count(*) OVER ()) AS tier
    FROM customers
)
SELECT tier, count(*) AS customers, min(revenue) AS lowest, max(revenue) AS highest
FROM tiered GROUP BY tier ORDER BY tier DESC;
-- errors
SELECT crm_tier(1.5);
SELECT crm_tier(0.5, '{0.2, 0.05, 0.01}');
SELECT crm_tier(0.5, '{0.01, 0.05}');
SELECT crm_tier(0.5, '{0.01, NULL, 0.2}');
SELECT crm_tier(0, 100);
SELECT crm_tier_of(300, '{200, 1000, 5000}');
