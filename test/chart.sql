-- Charts: every crm_chart_* function returns a Vega-Lite v5 specification
-- whose inline data are the figures computed here independently, in the
-- order drawn; and for no data, a model that cannot be drawn or bad input,
-- a chart that says so instead of an error.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(45);

CREATE FUNCTION pg_temp.message(spec jsonb) RETURNS text LANGUAGE sql AS $$
    SELECT CASE WHEN spec -> 'mark' ->> 'type' = 'text' THEN spec -> 'data' -> 'values' -> 0 ->> 'message' END
$$;
CREATE FUNCTION pg_temp.is_v5(spec jsonb) RETURNS boolean LANGUAGE sql AS $$
    SELECT spec ->> '$schema' = 'https://vega.github.io/schema/vega-lite/v5.json'
$$;

-- The pyramid: 100 customers of values 1 .. 100
CREATE TEMP TABLE pyramid AS SELECT crm_pyramid(v) AS tiers FROM generate_series(1, 100) v;
CREATE TEMP TABLE pyramid_chart AS SELECT crm_chart_pyramid(tiers) AS spec FROM pyramid;
SELECT ok((SELECT pg_temp.is_v5(spec) AND spec ->> 'title' = 'Customer pyramid' FROM pyramid_chart),
          'crm_chart_pyramid: a Vega-Lite v5 specification');
SELECT is((SELECT jsonb_agg(v ->> 'category') FROM pyramid_chart, jsonb_array_elements(spec -> 'data' -> 'values') v),
          '["vip", "major", "ordinary", "small"]'::jsonb, 'the tiers, vip first');
SELECT is_empty($$SELECT t.tier FROM pyramid, unnest(tiers) t, pyramid_chart,
                         jsonb_array_elements(spec -> 'data' -> 'values') v
                  WHERE v ->> 'category' = t.tier::text
                    AND ((v ->> 'customers')::bigint <> t.customers
                         OR (v ->> 'customer_share')::float8 <> t.customer_share
                         OR (v ->> 'value')::float8 <> t.value
                         OR (v ->> 'value_share')::float8 <> t.value_share)$$,
                'its data are crm_pyramid''s figures');
SELECT is((SELECT jsonb_agg(v ->> 'customers') FROM pyramid_chart, jsonb_array_elements(spec -> 'data' -> 'values') v),
          '["1", "4", "15", "80"]'::jsonb, '1, 4, 15 and 80 customers: the top 1%, 5%, 20%');
SELECT is((SELECT jsonb_agg(h -> 'encoding' -> 'x' ->> 'field') FROM pyramid_chart, jsonb_array_elements(spec -> 'hconcat') h),
          '["customer_share", "value_share"]'::jsonb, 'two bar charts: the share of customers and of value');
SELECT is((SELECT pg_temp.message(crm_chart_pyramid(crm_pyramid(v))) FROM generate_series(1, 0) v), 'No customers',
          'no customers: a chart that says so');
SELECT is(pg_temp.message(crm_chart_pyramid('{}')), 'No customers', 'an empty array too');

-- A tracking's pyramid view has the columns of crm_pyramid_tier
CREATE TEMP TABLE view_rows (tier crm_tier, customers bigint, customer_share float8, revenue numeric,
                             revenue_share float8, lowest_revenue numeric, highest_revenue numeric);
INSERT INTO view_rows VALUES ('vip', 1, 0.5, 90, 0.9, 90, 90), ('major', 0, 0, 0, 0, NULL, NULL),
                             ('ordinary', 0, 0, 0, 0, NULL, NULL), ('small', 1, 0.5, 10, 0.1, 10, 10);
SELECT is((SELECT jsonb_agg(v -> 'customers') FROM jsonb_array_elements(
              (SELECT crm_chart_pyramid(array_agg(ROW(p.*)::crm_pyramid_tier)) FROM view_rows p) -> 'data' -> 'values') v),
          '[1, 0, 0, 1]'::jsonb, 'the rows of a pyramid view, empty tiers included');

-- A mix: 3 customers worth 10 and 5 worth 30
CREATE TEMP TABLE mix AS
SELECT crm_chart_mix('Lifecycle mix', ARRAY['growth', 'churned'], ARRAY[3, 5]::bigint[], ARRAY[10, 30]::numeric[]) AS spec;
SELECT ok((SELECT pg_temp.is_v5(spec) AND spec ->> 'title' = 'Lifecycle mix' FROM mix), 'crm_chart_mix: a Vega-Lite v5 specification');
SELECT is((SELECT spec -> 'data' -> 'values' FROM mix),
          '[{"value": 10, "category": "growth", "customers": 3, "value_share": 0.25, "customer_share": 0.375},
            {"value": 30, "category": "churned", "customers": 5, "value_share": 0.75, "customer_share": 0.625}]'::jsonb,
          'shares of 3/8 and 5/8 of the customers, 1/4 and 3/4 of the value, in the order given');
SELECT is(pg_temp.message(crm_chart_mix('m', ARRAY['a'], ARRAY[1, 2]::bigint[], ARRAY[1]::numeric[])),
          'categories, customers and value must have as many elements', 'arrays of different lengths: a message');
SELECT is(pg_temp.message(crm_chart_mix('m', NULL, NULL, NULL)), 'No customers', 'no rows: a message');
SELECT is(pg_temp.message(crm_chart_mix('m', ARRAY['a'], ARRAY[0]::bigint[], ARRAY[0]::numeric[])), 'No customers',
          'no customers in any category: a message');
SELECT ok((SELECT (spec -> 'data' -> 'values' -> 0 -> 'value_share') = 'null'::jsonb
           FROM (SELECT crm_chart_mix('m', ARRAY['a'], ARRAY[2]::bigint[], ARRAY[0]::numeric[]) AS spec) s),
          'a value of 0 in all: no value share rather than a division by zero');

-- The matrices, against the scoring functions
CREATE TEMP TABLE models AS
SELECT ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, true, NULL, NULL, NULL)::crm_bgnbd_model AS bg,
       ROW(0.553, 10.58, 0.606, 11.67, 0, 1, 1, true, NULL, NULL, NULL)::crm_paretonbd_model AS pn;
CREATE TEMP TABLE matrices AS
SELECT crm_chart_p_alive_matrix(bg, 30, 38.86) AS bg_alive, crm_chart_expected_matrix(bg, 39, 30, 38.86) AS bg_expected,
       crm_chart_p_alive_matrix(pn, 30, 38.86) AS pn_alive, crm_chart_expected_matrix(pn, 39, 30, 38.86) AS pn_expected
FROM models;
SELECT ok((SELECT pg_temp.is_v5(bg_alive) AND pg_temp.is_v5(pn_expected) AND bg_alive ->> 'mark' = 'rect' FROM matrices),
          'the matrices: Vega-Lite v5 heat maps');
SELECT is((SELECT jsonb_array_length(bg_alive -> 'data' -> 'values') FROM matrices), 1 + 30 * 39,
          'one cell per frequency 1 .. 30 and recency 0 .. 38, and the one of frequency 0');
SELECT is_empty($$SELECT c FROM matrices, models, jsonb_array_elements(bg_alive -> 'data' -> 'values') c
                  WHERE (c ->> 'p_alive')::float8
                        <> crm_bgnbd_p_alive(bg, (c ->> 'frequency')::float8, (c ->> 'recency')::float8, 38.86)$$,
                'BG/NBD: every cell is crm_bgnbd_p_alive');
SELECT is_empty($$SELECT c FROM matrices, models, jsonb_array_elements(bg_expected -> 'data' -> 'values') c
                  WHERE (c ->> 'expected')::float8
                        <> crm_bgnbd_expected(bg, 39, (c ->> 'frequency')::float8, (c ->> 'recency')::float8, 38.86)$$,
                'BG/NBD: every cell is crm_bgnbd_expected');
SELECT is_empty($$SELECT c FROM matrices, models, jsonb_array_elements(pn_alive -> 'data' -> 'values') c
                  WHERE (c ->> 'p_alive')::float8
                        <> crm_paretonbd_p_alive(pn, (c ->> 'frequency')::float8, (c ->> 'recency')::float8, 38.86)$$,
                'Pareto/NBD: every cell is crm_paretonbd_p_alive');
SELECT is_empty($$SELECT c FROM matrices, models, jsonb_array_elements(pn_expected -> 'data' -> 'values') c
                  WHERE (c ->> 'expected')::float8
                        <> crm_paretonbd_expected(pn, 39, (c ->> 'frequency')::float8, (c ->> 'recency')::float8, 38.86)$$,
                'Pareto/NBD: every cell is crm_paretonbd_expected');
SELECT is(pg_temp.message(crm_chart_p_alive_matrix(ROW(0.243, 4.414, 0.793, 2.426, 0, 1, 1, false, NULL, NULL, NULL)::crm_bgnbd_model, 30, 38.86)),
          'The model did not converge', 'a model that did not converge: a message, not an error');
SELECT is(pg_temp.message(crm_chart_expected_matrix(NULL::crm_paretonbd_model, 39, 30, 38.86)), 'No model', 'no model: a message');
SELECT is(pg_temp.message(crm_chart_p_alive_matrix(bg, 5000, 38.86)), 'max_frequency must be between 0 and 1000', 'a grid too large: a message')
FROM models;
SELECT is(pg_temp.message(crm_chart_p_alive_matrix(bg, 30, 'NaN')), 't must be between 0 and 1000', 'NaN t: a message')
FROM models;
SELECT is(pg_temp.message(crm_chart_expected_matrix(bg, -1, 30, 38.86)), 'horizon must be between 0 and 1000', 'a negative horizon: a message')
FROM models;

-- The R x F heat map: cells summed, the 25 of them all there
CREATE TEMP TABLE rfm AS
SELECT crm_chart_rfm_heatmap(ARRAY[5, 5, 1], ARRAY[5, 5, 2], ARRAY[2, 3, 4]::bigint[], ARRAY[100, 50, 8]::numeric[]) AS spec;
SELECT ok((SELECT pg_temp.is_v5(spec) FROM rfm), 'crm_chart_rfm_heatmap: a Vega-Lite v5 specification');
SELECT is((SELECT count(*) FROM rfm, jsonb_array_elements(spec -> 'data' -> 'values')), 25::bigint, 'all 25 cells');
SELECT is((SELECT jsonb_agg(c ORDER BY (c ->> 'r')::int, (c ->> 'f')::int) FROM rfm, jsonb_array_elements(spec -> 'data' -> 'values') c
           WHERE (c ->> 'customers')::int > 0),
          '[{"f": 2, "r": 1, "value": 8, "customers": 4}, {"f": 5, "r": 5, "value": 150, "customers": 5}]'::jsonb,
          'the rows of a cell added up, the other cells 0');
SELECT is((SELECT spec -> 'layer' -> 0 -> 'encoding' -> 'color' ->> 'field'
           FROM (SELECT crm_chart_rfm_heatmap(ARRAY[1], ARRAY[1], ARRAY[1]::bigint[], ARRAY[1]::numeric[], 'value') AS spec) s),
          'value', 'measure => value colours the cells by value');
SELECT is(pg_temp.message(crm_chart_rfm_heatmap(ARRAY[6], ARRAY[1], ARRAY[1]::bigint[], ARRAY[1]::numeric[])),
          'r and f must be scores from 1 to 5', 'a score of 6: a message');
SELECT is(pg_temp.message(crm_chart_rfm_heatmap(ARRAY[1], ARRAY[1], ARRAY[1]::bigint[], ARRAY[1]::numeric[], 'revenue')),
          'measure must be customers or value', 'an unknown measure: a message');

-- P(alive) in 20 bins of 0.05, 1 in the last
CREATE TEMP TABLE hist AS
SELECT crm_chart_p_alive_distribution(ARRAY[0, 0.04, 0.05, 0.5, 1, 1, NULL]) AS spec;
SELECT is((SELECT jsonb_agg(b -> 'customers' ORDER BY (b ->> 'from')::float8) FROM hist, jsonb_array_elements(spec -> 'data' -> 'values') b),
          '[2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2]'::jsonb,
          'crm_chart_p_alive_distribution: 0 and 0.04 in the first bin, 0.05 in the second, 0.5 in the eleventh, both 1s in the last, the NULL left out');
SELECT is(pg_temp.message(crm_chart_p_alive_distribution(ARRAY[1.5])), 'P(alive) must be between 0 and 1', 'a P(alive) of 1.5: a message');
SELECT is(pg_temp.message(crm_chart_p_alive_distribution(ARRAY['NaN'::float8])), 'P(alive) must be between 0 and 1', 'NaN: a message');
SELECT is(pg_temp.message(crm_chart_p_alive_distribution('{}')), 'No customers', 'none: a message');

-- Status changes by week: rows of a (week, status) added up
CREATE TEMP TABLE changes AS
SELECT crm_chart_status_changes(ARRAY['1998-01-05', '1998-01-05', '1998-01-12', '1998-01-05']::date[],
                                ARRAY['decline', 'churned', 'decline', 'decline'], ARRAY[3, 1, 2, 4]::bigint[]) AS spec;
SELECT is((SELECT spec -> 'data' -> 'values' FROM changes),
          '[{"week": "1998-01-05", "status": "decline", "customers": 7}, {"week": "1998-01-05", "status": "churned", "customers": 1},
            {"week": "1998-01-12", "status": "decline", "customers": 2}]'::jsonb,
          'crm_chart_status_changes: customers per week and status, added up');
SELECT is(pg_temp.message(crm_chart_status_changes('{}', '{}', '{}')), 'No status changes', 'none: a message');
SELECT is(pg_temp.message(crm_chart_status_changes(ARRAY['infinity']::date[], ARRAY['decline'], ARRAY[1]::bigint[])),
          'No status changes', 'an infinite week is left out');

-- Calibration against holdout: the two series, in the order given
CREATE TEMP TABLE calhold AS
SELECT crm_chart_calibration_holdout(ARRAY['0', '1', '7+'], ARRAY[0.25, 0.78, 6.59], ARRAY[0.23, 0.52, 6.47]) AS spec;
SELECT is((SELECT jsonb_agg(jsonb_build_array(v ->> 'frequency_cal', v ->> 'series', (v ->> 'purchases')::float8))
           FROM calhold, jsonb_array_elements(spec -> 'data' -> 'values') v),
          '[["0", "actual", 0.25], ["0", "predicted", 0.23], ["1", "actual", 0.78], ["1", "predicted", 0.52],
            ["7+", "actual", 6.59], ["7+", "predicted", 6.47]]'::jsonb,
          'crm_chart_calibration_holdout: actual and predicted for each calibration frequency');
SELECT is((SELECT spec -> 'encoding' -> 'x' -> 'sort' FROM calhold), '["0", "1", "7+"]'::jsonb, 'drawn in the order given');
SELECT is(pg_temp.message(crm_chart_calibration_holdout(ARRAY['0'], ARRAY['NaN'::float8], ARRAY[1.0])),
          'actual and predicted must be numbers', 'NaN: a message');

-- The tracking plot: per period and cumulated
CREATE TEMP TABLE tracking AS
SELECT crm_chart_tracking(ARRAY[1, 2, 3], ARRAY[10, 20, 5], ARRAY[12, 18, 6], 2) AS spec;
SELECT is((SELECT jsonb_agg((v ->> 'purchases')::float8 ORDER BY (v ->> 'period')::int)
           FROM tracking, jsonb_array_elements(spec -> 'data' -> 'values') v
           WHERE v ->> 'view' = 'cumulative' AND v ->> 'series' = 'actual'),
          '[10, 30, 35]'::jsonb, 'crm_chart_tracking: the actual purchases cumulated');
SELECT is((SELECT jsonb_agg((v ->> 'purchases')::float8 ORDER BY (v ->> 'period')::int)
           FROM tracking, jsonb_array_elements(spec -> 'data' -> 'values') v
           WHERE v ->> 'view' = 'cumulative' AND v ->> 'series' = 'expected'),
          '[12, 30, 36]'::jsonb, 'the expected ones too');
SELECT is((SELECT jsonb_agg(c -> 'layer' -> 1 -> 'data' -> 'values' -> 0 -> 'period') FROM tracking, jsonb_array_elements(spec -> 'vconcat') c),
          '[2.5, 2.5]'::jsonb, 'the end of calibration marked after period 2 in both panels');
SELECT is(pg_temp.message(crm_chart_tracking(ARRAY[1, 1], ARRAY[1, 2], ARRAY[1, 2], 1)), 'each period must come once',
          'a period twice: a message');

SELECT * FROM finish();
ROLLBACK;
