-- The charts of the demo report, from the tables tools/demo.sql left in
-- schema crm_demo: one line each, id, title and Vega-Lite specification,
-- separated by tabs (psql -At -F '<tab>').

\set ON_ERROR_STOP on
SET client_min_messages = warning;

SELECT 'pyramid', 'Customer pyramid', crm_chart_pyramid(crm_pyramid(revenue), 'Customer pyramid (revenue to 1998-06-30)')
FROM crm_demo.customers;

SELECT 'loyalty', 'Loyalty mix',
       crm_chart_mix('Loyalty mix', array_agg(loyalty::text ORDER BY loyalty),
                     array_agg(customers ORDER BY loyalty), array_agg(revenue ORDER BY loyalty))
FROM (SELECT loyalty, count(*) AS customers, sum(revenue)::numeric AS revenue
      FROM crm_demo.customers GROUP BY loyalty) m;

SELECT 'lifecycle', 'Lifecycle mix',
       crm_chart_mix('Lifecycle mix on 1998-06-30', array_agg(stage::text ORDER BY stage),
                     array_agg(customers ORDER BY stage), array_agg(revenue ORDER BY stage))
FROM (SELECT stage, count(*) AS customers, sum(revenue)::numeric AS revenue
      FROM crm_demo.customers GROUP BY stage) m;

-- R and F scores as a tracking's segments view gives them: quintiles of
-- the days since the last order (fewer is better) and of the orders
WITH d AS (SELECT orders, revenue, date '1998-07-01' - last_at::date AS days_since_last FROM crm_demo.customers),
q AS (SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY days_since_last) AS r_cuts,
             percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY orders) AS f_cuts
      FROM d),
s AS (SELECT crm_rfm_score(d.days_since_last, q.r_cuts::float8[], false) AS r,
             crm_rfm_score(d.orders, q.f_cuts::float8[]) AS f, d.revenue
      FROM d CROSS JOIN q)
SELECT 'rfm', 'Recency and frequency scores',
       crm_chart_rfm_heatmap(array_agg(r), array_agg(f), array_agg(customers), array_agg(revenue))
FROM (SELECT r, f, count(*) AS customers, sum(revenue)::numeric AS revenue FROM s GROUP BY r, f) g;

SELECT 'p_alive_matrix', 'Probability alive',
       crm_chart_p_alive_matrix(bgnbd, 20, 39, 'Probability alive on 1997-09-30 (BG/NBD)')
FROM crm_demo.models;

SELECT 'expected_matrix', 'Expected purchases',
       crm_chart_expected_matrix(bgnbd, 39, 20, 39, 'Expected repeat purchases in the next 39 weeks (BG/NBD)')
FROM crm_demo.models;

SELECT 'p_alive_distribution', 'Distribution of P(alive)',
       crm_chart_p_alive_distribution(array_agg(crm_bgnbd_p_alive(m.bgnbd, c.frequency, c.recency, c.t)),
                                      'Distribution of P(alive) on 1997-09-30 (BG/NBD)')
FROM crm_demo.calibration c CROSS JOIN crm_demo.models m;

-- Who entered decline or churned each week of 1998: every customer's
-- stage judged at the start of each week, by crm_lifecycle_stage on the
-- orders before it, against the week before
WITH weeks AS (SELECT w::date AS w FROM generate_series(date '1997-12-29', date '1998-06-29', interval '7 days') w),
stages AS (
    SELECT w.w, o.customer_id,
           crm_lifecycle_stage(count(*), min(o.ordered_at)::timestamptz, max(o.ordered_at)::timestamptz,
                               w.w::timestamptz) AS stage
    FROM weeks w JOIN crm_demo.orders o ON o.ordered_at < w.w
    GROUP BY w.w, o.customer_id),
entered AS (
    SELECT s.w, s.stage::text AS stage, count(*) AS customers
    FROM stages s JOIN stages p ON p.customer_id = s.customer_id AND p.w = s.w - 7
    WHERE s.stage IN ('decline', 'churned') AND s.stage <> p.stage
    GROUP BY s.w, s.stage)
SELECT 'status_changes', 'Status changes',
       crm_chart_status_changes(array_agg(w ORDER BY w, stage DESC), array_agg(stage ORDER BY w, stage DESC),
                                array_agg(customers ORDER BY w, stage DESC),
                                'Customers entering decline and churned, by week of 1998')
FROM entered;

SELECT 'calibration_holdout', 'Calibration and holdout',
       crm_chart_calibration_holdout(array_agg(label ORDER BY g), array_agg(actual ORDER BY g), array_agg(forecast ORDER BY g),
                                     'Repeat purchase days in the 39 weeks after calibration, by those in it')
FROM (SELECT least(b.frequency_cal, 7) AS g,
             CASE WHEN least(b.frequency_cal, 7) = 7 THEN '7+' ELSE b.frequency_cal::text END AS label,
             avg(b.frequency_holdout)::float8 AS actual,
             avg(crm_bgnbd_expected(m.bgnbd, b.duration_holdout, b.frequency_cal, b.recency_cal, b.t_cal)) AS forecast
      FROM crm_demo.backtest b CROSS JOIN crm_demo.models m
      WHERE b.frequency_cal IS NOT NULL
      GROUP BY 1, 2) t;

-- The weekly tracking of README's Backtests section
WITH m AS (SELECT crm_bgnbd_fit(frequency_cal, recency_cal, t_cal) AS m FROM crm_demo.backtest),
     days AS (SELECT DISTINCT customer_id, ordered_at AS day FROM crm_demo.orders),
     firsts AS (SELECT customer_id, min(day) AS first_day FROM days GROUP BY customer_id),
     cohorts AS (SELECT first_day, count(*) AS customers FROM firsts GROUP BY first_day),
     weeks AS (SELECT w, date '1996-12-31' + 7 * w AS week_end FROM generate_series(1, 78) w),
     tracking AS (
       SELECT w,
              (SELECT count(*) FROM days d JOIN firsts f USING (customer_id)
               WHERE d.day > f.first_day AND d.day <= week_end) AS actual,
              (SELECT sum(customers * crm_bgnbd_expected_new(m, (week_end - first_day) / 7.0))
               FROM cohorts, m WHERE first_day <= week_end) AS expected
       FROM weeks)
SELECT 'tracking', 'Tracking',
       crm_chart_tracking(array_agg(w ORDER BY w), array_agg(actual_in_week::float8 ORDER BY w),
                          array_agg(expected_in_week ORDER BY w), 39,
                          'Repeat purchases, actual and BG/NBD, weeks 1 to 78 (calibration to week 39)')
FROM (SELECT w, actual - lag(actual, 1, 0::bigint) OVER (ORDER BY w) AS actual_in_week,
             expected - lag(expected, 1, 0::float8) OVER (ORDER BY w) AS expected_in_week
      FROM tracking) t;
