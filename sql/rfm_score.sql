-- RFM scores from quintile thresholds and the named segments
CREATE TABLE rfm_customers(id int, days_since_last int, orders int, revenue numeric);
INSERT INTO rfm_customers
SELECT i, (i * 37) % 365, 1 + (i * 7) % 11, round(((i * 53) % 1000)::numeric, 2)
FROM generate_series(1, 20) i;
WITH q AS (
    SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY days_since_last) AS r,
           percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY orders) AS f,
           percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY revenue::float8) AS m
    FROM rfm_customers
), scored AS (
    SELECT c.*,
           crm_rfm_score(days_since_last, q.r, higher_is_better => false) AS r_score,
           crm_rfm_score(orders, q.f) AS f_score,
           crm_rfm_score(revenue::float8, q.m) AS m_score
    FROM rfm_customers c, q
)
SELECT id, days_since_last, orders, revenue, r_score, f_score, m_score,
       crm_rfm_segment(r_score, f_score, m_score) AS segment
FROM scored ORDER BY id;
-- the three segments that R's rfm package order never reaches
SELECT crm_rfm_segment(5, 1, 1) AS default_order, crm_rfm_segment(5, 1, 1, r_package_order => true) AS package_order
UNION ALL
SELECT crm_rfm_segment(3, 1, 1), crm_rfm_segment(3, 1, 1, true)
UNION ALL
SELECT crm_rfm_segment(1, 5, 5), crm_rfm_segment(1, 5, 5, true);
-- errors
SELECT crm_rfm_score(5, '{1, 2, 3}');
SELECT crm_rfm_score(5, '{4, 3, 2, 1}');
SELECT crm_rfm_segment(6, 1, 1);
DROP TABLE rfm_customers;
