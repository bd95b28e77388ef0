-- The charts of tools/report for the tracked table :'orders', one line
-- each: id, title and Vega-Lite specification, separated by tabs.  The
-- models are fitted on the orders in weeks; the backtest calibrates on
-- the first two thirds of the orders' time span.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
\ir report_tracking.sql

SELECT 'pyramid', 'Customer pyramid', crm_chart_pyramid(array_agg(ROW(p.*)::crm_pyramid_tier))
FROM :pyramid_view p;

SELECT 'loyalty', 'Loyalty mix',
       crm_chart_mix('Loyalty mix', array_agg(loyalty::text ORDER BY loyalty),
                     array_agg(customers ORDER BY loyalty), array_agg(revenue::numeric ORDER BY loyalty))
FROM :loyalty_view;

SELECT 'lifecycle', 'Lifecycle mix',
       crm_chart_mix('Lifecycle mix now', array_agg(lifecycle::text ORDER BY lifecycle),
                     array_agg(customers ORDER BY lifecycle), array_agg(revenue::numeric ORDER BY lifecycle))
FROM :lifecycle_view;

SELECT 'rfm', 'Recency and frequency scores',
       crm_chart_rfm_heatmap(array_agg(r_score), array_agg(f_score), array_agg(customers), array_agg(revenue))
FROM (SELECT r_score, f_score, count(*) AS customers, sum(revenue)::numeric AS revenue
      FROM :segments_view WHERE r_score IS NOT NULL GROUP BY 1, 2) g;

SELECT 'status_changes', 'Status changes',
       crm_chart_status_changes(array_agg(week ORDER BY week, new_value DESC), array_agg(new_value ORDER BY week, new_value DESC),
                                array_agg(customers ORDER BY week, new_value DESC),
                                'Customers entering decline and churned, by week')
FROM (SELECT date_trunc('week', changed_at)::date AS week, new_value, count(*) AS customers
      FROM :history_table
      WHERE status = 'lifecycle' AND new_value IN ('decline', 'churned')
      GROUP BY 1, 2) h;

-- Each customer in weeks as of the latest order, and a BG/NBD model of them
CREATE TEMP TABLE report_summary AS
SELECT (crm_rfm(:ordered_at_column, :amount_column::numeric,
                (SELECT max(:ordered_at_column) FROM :orders_table), '1 week')).*
FROM :orders_table GROUP BY :customer_column;
-- (no customer who bought again: no model, and the charts say so)
CREATE TEMP TABLE report_model AS
SELECT (SELECT crm_bgnbd_fit(frequency, recency, t) FROM report_summary
        WHERE EXISTS (SELECT FROM report_summary WHERE frequency > 0)) AS m,
       (SELECT least(greatest(percentile_disc(0.9) WITHIN GROUP (ORDER BY t), 1), 520)
        FROM report_summary) AS t;

SELECT 'p_alive_matrix', 'Probability alive',
       crm_chart_p_alive_matrix(m, 20, round(t), format('Probability alive of customers first seen %s weeks ago (BG/NBD)', round(t)))
FROM report_model;

SELECT 'expected_matrix', 'Expected purchases',
       crm_chart_expected_matrix(m, 52, 20, round(t), 'Expected purchases in the next 52 weeks (BG/NBD)')
FROM report_model;

SELECT 'p_alive_distribution', 'Distribution of P(alive)',
       CASE WHEN (m).converged
            THEN crm_chart_p_alive_distribution((SELECT array_agg(crm_bgnbd_p_alive(m, frequency, recency, s.t))
                                                 FROM report_summary s),
                                                'Distribution of P(alive) now (BG/NBD)')
            ELSE crm_chart_message('Distribution of P(alive) now (BG/NBD)',
                                   crm_chart_matrix_problem((m).converged, 0, 0))
       END
FROM report_model;

-- The backtest: calibration to two thirds of the span, weeks (an empty
-- table has a span of 0 now, and no customer to backtest)
SELECT coalesce(min(:ordered_at_column), now()) AS first_order, coalesce(max(:ordered_at_column), now()) AS last_order,
       coalesce(min(:ordered_at_column) + (max(:ordered_at_column) - min(:ordered_at_column)) * 2 / 3, now())
           AS calibration_end
FROM :orders_table \gset
CREATE TEMP TABLE report_backtest AS
SELECT (crm_calibration_holdout(:ordered_at_column, :amount_column::numeric, :'calibration_end', :'last_order', '1 week')).*
FROM :orders_table GROUP BY :customer_column;
CREATE TEMP TABLE report_backtest_model AS
SELECT (SELECT crm_bgnbd_fit(frequency_cal, recency_cal, t_cal) FROM report_backtest
        WHERE EXISTS (SELECT FROM report_backtest WHERE frequency_cal > 0)) AS m;

SELECT 'calibration_holdout', 'Calibration and holdout',
       CASE WHEN coalesce((SELECT (m).converged FROM report_backtest_model), false)
            THEN crm_chart_calibration_holdout(array_agg(label ORDER BY g), array_agg(actual ORDER BY g),
                                               array_agg(forecast ORDER BY g),
                                               format('Repeat purchase days after %s, by those before', :'calibration_end'::timestamptz::date))
            ELSE crm_chart_message('Calibration and holdout', 'No calibration model: too few repeat purchases')
       END
FROM (SELECT least(b.frequency_cal, 7) AS g,
             CASE WHEN least(b.frequency_cal, 7) = 7 THEN '7+' ELSE b.frequency_cal::text END AS label,
             avg(b.frequency_holdout)::float8 AS actual,
             avg(CASE WHEN (m).converged
                      THEN crm_bgnbd_expected(m, b.duration_holdout, b.frequency_cal, b.recency_cal, b.t_cal) END) AS forecast
      FROM report_backtest b CROSS JOIN report_backtest_model
      WHERE b.frequency_cal IS NOT NULL
      GROUP BY 1, 2) t;

WITH m AS (SELECT m FROM report_backtest_model WHERE (m).converged),
     days AS (SELECT DISTINCT :customer_column AS customer, (:ordered_at_column)::date AS day FROM :orders_table),
     firsts AS (SELECT customer, min(day) AS first_day FROM days GROUP BY customer),
     cohorts AS (SELECT first_day, count(*) AS customers FROM firsts GROUP BY first_day),
     weeks AS (SELECT w, (:'first_order'::timestamptz)::date - 1 + 7 * w AS week_end
               FROM generate_series(1, ceil(extract(epoch FROM :'last_order'::timestamptz - :'first_order'::timestamptz)
                                            / (7 * 86400))::integer) w),
     tracking AS (
       SELECT w,
              (SELECT count(*) FROM days d JOIN firsts f USING (customer)
               WHERE d.day > f.first_day AND d.day <= week_end) AS actual,
              (SELECT sum(customers * crm_bgnbd_expected_new(m, (week_end - first_day) / 7.0))
               FROM cohorts, m WHERE first_day <= week_end) AS expected
       FROM weeks)
SELECT 'tracking', 'Tracking',
       CASE WHEN EXISTS (SELECT FROM m)
            THEN crm_chart_tracking(array_agg(w ORDER BY w), array_agg(actual_in_week::float8 ORDER BY w),
                                    array_agg(expected_in_week ORDER BY w),
                                    floor(extract(epoch FROM :'calibration_end'::timestamptz - :'first_order'::timestamptz)
                                          / (7 * 86400))::integer,
                                    'Repeat purchases by week, actual and BG/NBD')
            ELSE crm_chart_message('Tracking', 'No calibration model: too few repeat purchases')
       END
FROM (SELECT w, actual - lag(actual, 1, 0::bigint) OVER (ORDER BY w) AS actual_in_week,
             coalesce(expected - lag(expected, 1, 0::float8) OVER (ORDER BY w), 0) AS expected_in_week
      FROM tracking) t;
