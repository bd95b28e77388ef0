
-- Charts: Vega-Lite v5 specifications as jsonb, data inline, for any
-- front end that renders Vega-Lite (Jupyter, Observable, Grafana's Vega
-- panel, vega-embed in a page).  Each takes what it plots as ordinary SQL
-- values; a chart of nothing, or of a model that did not converge, is a
-- chart that says so.

CREATE FUNCTION crm_chart_message(title text, message text)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT jsonb_build_object(
    '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
    'title', coalesce(title, ''),
    'width', 300,
    'height', 60,
    'data', jsonb_build_object('values', jsonb_build_array(jsonb_build_object('message', message))),
    'mark', jsonb_build_object('type', 'text', 'fontSize', 14, 'color', 'gray'),
    'encoding', jsonb_build_object('text', jsonb_build_object('field', 'message', 'type', 'nominal')))
$$;
COMMENT ON FUNCTION crm_chart_message(text, text) IS
'A Vega-Lite chart that shows a message instead of data: what the crm_chart_* functions return for no data or a model that cannot be drawn';

-- Two bar charts side by side, the share of customers and the share of
-- value of each category, in the order of the rows: the pyramid and the
-- mixes
CREATE FUNCTION crm_chart_shares(title text, category text, rows jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT jsonb_build_object(
    '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
    'title', title,
    'data', jsonb_build_object('values', rows),
    'hconcat', (SELECT jsonb_agg(jsonb_build_object(
        'title', part.title,
        'width', 240,
        'mark', 'bar',
        'encoding', jsonb_build_object(
            'y', jsonb_build_object('field', 'category', 'type', 'nominal', 'title', category,
                                    'sort', (SELECT jsonb_agg(r -> 'category' ORDER BY o)
                                             FROM jsonb_array_elements(rows) WITH ORDINALITY e(r, o))),
            'x', jsonb_build_object('field', part.field, 'type', 'quantitative', 'title', NULL,
                                    'axis', jsonb_build_object('format', '.0%'),
                                    'scale', jsonb_build_object('domain', jsonb_build_array(0, 1))),
            'color', jsonb_build_object('value', part.color),
            'tooltip', jsonb_build_array(
                jsonb_build_object('field', 'category', 'type', 'nominal', 'title', category),
                jsonb_build_object('field', 'customers', 'type', 'quantitative'),
                jsonb_build_object('field', 'customer_share', 'type', 'quantitative', 'format', '.1%', 'title', 'share of customers'),
                jsonb_build_object('field', 'value', 'type', 'quantitative', 'format', ',.2f'),
                jsonb_build_object('field', 'value_share', 'type', 'quantitative', 'format', '.1%', 'title', 'share of value'))))
        ORDER BY part.n)
        FROM (VALUES (1, 'Share of customers', 'customer_share', '#4c78a8'),
                     (2, 'Share of value', 'value_share', '#f58518')) part(n, title, field, color)))
$$;
COMMENT ON FUNCTION crm_chart_shares(text, text, jsonb) IS
'Vega-Lite bars of the share of customers and the share of value per category, side by side, categories in the order of the rows (objects with category, customers, customer_share, value, value_share): the layout of crm_chart_pyramid and crm_chart_mix';

CREATE FUNCTION crm_chart_pyramid(tiers crm_pyramid_tier[], title text DEFAULT 'Customer pyramid')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN coalesce(sum(t.customers), 0) = 0
    THEN @extschema@.crm_chart_message(title, 'No customers')
    ELSE @extschema@.crm_chart_shares(title, 'tier', jsonb_agg(jsonb_build_object(
             'category', t.tier, 'customers', t.customers,
             'customer_share', t.customer_share, 'value', t.value,
             'value_share', t.value_share, 'lowest_value', t.lowest_value,
             'highest_value', t.highest_value) ORDER BY t.tier DESC))
    END
FROM unnest(tiers) t
$$;
COMMENT ON FUNCTION crm_chart_pyramid(crm_pyramid_tier[], text) IS
'Vega-Lite chart of the customer pyramid: the share of customers and of value in each tier, vip first; takes what crm_pyramid returns, or the rows of a tracking''s _pyramid view (array_agg(ROW(p.*)::crm_pyramid_tier)); a chart saying so when there are no customers';

CREATE FUNCTION crm_chart_mix(title text, categories text[], customers bigint[], value numeric[])
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
WITH m AS (
    SELECT coalesce(category, '(none)') AS category, coalesce(m.customers, 0) AS customers,
           coalesce(m.value, 0) AS value, n
    FROM unnest(crm_chart_mix.categories, crm_chart_mix.customers, crm_chart_mix.value)
         WITH ORDINALITY m(category, customers, value, n)),
t AS (SELECT sum(customers) AS customers, sum(value) AS value FROM m)
SELECT CASE
    WHEN coalesce(cardinality(crm_chart_mix.categories), 0) <> coalesce(cardinality(crm_chart_mix.customers), 0)
      OR coalesce(cardinality(crm_chart_mix.categories), 0) <> coalesce(cardinality(crm_chart_mix.value), 0)
    THEN @extschema@.crm_chart_message(title, 'categories, customers and value must have as many elements')
    WHEN coalesce(t.customers, 0) = 0
    THEN @extschema@.crm_chart_message(title, 'No customers')
    ELSE @extschema@.crm_chart_shares(title, NULL, (
             SELECT jsonb_agg(jsonb_build_object(
                        'category', m.category, 'customers', m.customers,
                        'customer_share', m.customers::float8 / t.customers,
                        'value', m.value,
                        'value_share', (m.value / nullif(t.value, 0))::float8)
                    ORDER BY m.n)
             FROM m))
    END
FROM t
$$;
COMMENT ON FUNCTION crm_chart_mix(text, text[], bigint[], numeric[]) IS
'Vega-Lite chart of a mix of customers -- loyalty types, lifecycle stages, any categories: the share of customers and of value of each, in the order given; from the rows of a tracking''s _loyalty_mix or _lifecycle_mix view with array_agg(... ORDER BY ...) of each column, or any GROUP BY; a chart saying so when there are no customers or the arrays differ in length';

-- Probability alive and expected purchases over frequency x recency, for
-- a customer seen for t time units (lifetimes' plot_probability_alive_matrix
-- and plot_frequency_recency_matrix)
CREATE FUNCTION crm_chart_matrix(title text, measure text, label text, cells jsonb, t float8)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT jsonb_build_object(
    '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
    'title', jsonb_build_object('text', title,
                                'subtitle', format('customers first seen %s time units ago', t)),
    'data', jsonb_build_object('values', cells),
    'mark', 'rect',
    'width', 400,
    'height', 300,
    'encoding', jsonb_build_object(
        'x', jsonb_build_object('field', 'recency', 'type', 'ordinal',
                                'title', 'recency (time of the last purchase)'),
        'y', jsonb_build_object('field', 'frequency', 'type', 'ordinal', 'sort', 'descending',
                                'title', 'frequency (repeat purchases)'),
        'color', jsonb_build_object('field', measure, 'type', 'quantitative', 'title', label,
                                    'scale', jsonb_build_object('scheme', 'viridis')),
        'tooltip', jsonb_build_array(
            jsonb_build_object('field', 'frequency', 'type', 'ordinal'),
            jsonb_build_object('field', 'recency', 'type', 'ordinal'),
            jsonb_build_object('field', measure, 'type', 'quantitative', 'format', '.3f', 'title', label))))
$$;
COMMENT ON FUNCTION crm_chart_matrix(text, text, text, jsonb, float8) IS
'Vega-Lite heat map of a measure (a field of the cells, shown as label) over frequency x recency (cells: objects with frequency, recency and the measure), for customers first seen t time units ago: the layout of crm_chart_p_alive_matrix and crm_chart_expected_matrix';

-- What keeps a matrix from being drawn, or NULL
CREATE FUNCTION crm_chart_matrix_problem(converged boolean, max_frequency integer, t float8)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN converged IS NULL THEN 'No model'
    WHEN NOT converged THEN 'The model did not converge'
    WHEN NOT coalesce(max_frequency BETWEEN 0 AND 1000, false) THEN 'max_frequency must be between 0 and 1000'
    WHEN NOT coalesce(t >= 0 AND t <= 1000, false) THEN 't must be between 0 and 1000'
    END
$$;
COMMENT ON FUNCTION crm_chart_matrix_problem(boolean, integer, float8) IS
'Why a frequency x recency matrix cannot be drawn (no model, a model that did not converge, a grid out of range), or NULL: what the matrix charts show instead';

CREATE FUNCTION crm_chart_p_alive_matrix(model crm_bgnbd_model, max_frequency integer, t float8,
                                       title text DEFAULT 'Probability alive')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t) IS NOT NULL
    THEN @extschema@.crm_chart_message(title, @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t))
    ELSE @extschema@.crm_chart_matrix(title, 'p_alive', 'P(alive)', (
             SELECT jsonb_agg(jsonb_build_object('frequency', x, 'recency', r,
                                                 'p_alive', @extschema@.crm_bgnbd_p_alive(model, x, r, t)) ORDER BY x, r)
             FROM generate_series(0, max_frequency) x, generate_series(0, floor(t)::integer) r
             WHERE x > 0 OR r = 0), t)
    END
$$;
COMMENT ON FUNCTION crm_chart_p_alive_matrix(crm_bgnbd_model, integer, float8, text) IS
'Vega-Lite heat map of the probability alive (BG/NBD) of customers first seen t time units ago, by frequency 0 to max_frequency and recency 0, 1, .. t (lifetimes plot_probability_alive_matrix); a chart saying so for no model, a model that did not converge, or a grid out of range';

CREATE FUNCTION crm_chart_expected_matrix(model crm_bgnbd_model, horizon float8, max_frequency integer, t float8,
                                       title text DEFAULT 'Expected purchases')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t) IS NOT NULL
    THEN @extschema@.crm_chart_message(title, @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t))
    WHEN NOT coalesce(horizon >= 0 AND horizon <= 1000, false)
    THEN @extschema@.crm_chart_message(title, 'horizon must be between 0 and 1000')
    ELSE @extschema@.crm_chart_matrix(title, 'expected', format('purchases in %s', horizon), (
             SELECT jsonb_agg(jsonb_build_object('frequency', x, 'recency', r,
                                                 'expected', @extschema@.crm_bgnbd_expected(model, horizon, x, r, t)) ORDER BY x, r)
             FROM generate_series(0, max_frequency) x, generate_series(0, floor(t)::integer) r
             WHERE x > 0 OR r = 0), t)
    END
$$;
COMMENT ON FUNCTION crm_chart_expected_matrix(crm_bgnbd_model, float8, integer, float8, text) IS
'Vega-Lite heat map of the purchases expected in the next horizon time units (BG/NBD) of customers first seen t time units ago, by frequency 0 to max_frequency and recency 0, 1, .. t (lifetimes plot_frequency_recency_matrix); a chart saying so for no model, a model that did not converge, or a grid or horizon out of range';

CREATE FUNCTION crm_chart_p_alive_matrix(model crm_paretonbd_model, max_frequency integer, t float8,
                                       title text DEFAULT 'Probability alive')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t) IS NOT NULL
    THEN @extschema@.crm_chart_message(title, @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t))
    ELSE @extschema@.crm_chart_matrix(title, 'p_alive', 'P(alive)', (
             SELECT jsonb_agg(jsonb_build_object('frequency', x, 'recency', r,
                                                 'p_alive', @extschema@.crm_paretonbd_p_alive(model, x, r, t)) ORDER BY x, r)
             FROM generate_series(0, max_frequency) x, generate_series(0, floor(t)::integer) r
             WHERE x > 0 OR r = 0), t)
    END
$$;
COMMENT ON FUNCTION crm_chart_p_alive_matrix(crm_paretonbd_model, integer, float8, text) IS
'Vega-Lite heat map of the probability alive (Pareto/NBD) of customers first seen t time units ago, by frequency 0 to max_frequency and recency 0, 1, .. t (lifetimes plot_probability_alive_matrix); a chart saying so for no model, a model that did not converge, or a grid out of range';

CREATE FUNCTION crm_chart_expected_matrix(model crm_paretonbd_model, horizon float8, max_frequency integer, t float8,
                                       title text DEFAULT 'Expected purchases')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t) IS NOT NULL
    THEN @extschema@.crm_chart_message(title, @extschema@.crm_chart_matrix_problem((model).converged, max_frequency, t))
    WHEN NOT coalesce(horizon >= 0 AND horizon <= 1000, false)
    THEN @extschema@.crm_chart_message(title, 'horizon must be between 0 and 1000')
    ELSE @extschema@.crm_chart_matrix(title, 'expected', format('purchases in %s', horizon), (
             SELECT jsonb_agg(jsonb_build_object('frequency', x, 'recency', r,
                                                 'expected', @extschema@.crm_paretonbd_expected(model, horizon, x, r, t)) ORDER BY x, r)
             FROM generate_series(0, max_frequency) x, generate_series(0, floor(t)::integer) r
             WHERE x > 0 OR r = 0), t)
    END
$$;
COMMENT ON FUNCTION crm_chart_expected_matrix(crm_paretonbd_model, float8, integer, float8, text) IS
'Vega-Lite heat map of the purchases expected in the next horizon time units (Pareto/NBD) of customers first seen t time units ago, by frequency 0 to max_frequency and recency 0, 1, .. t (lifetimes plot_frequency_recency_matrix); a chart saying so for no model, a model that did not converge, or a grid or horizon out of range';

-- Whether arrays passed as the columns of a chart's rows line up: all of
-- the same length
CREATE FUNCTION crm_chart_columns_differ(VARIADIC lengths integer[])
RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT count(DISTINCT coalesce(n, 0)) > 1 FROM unnest(lengths) n
$$;
COMMENT ON FUNCTION crm_chart_columns_differ(integer[]) IS
'Whether the arrays a chart takes as the columns of its rows (their cardinalities given) differ in length, which the chart shows as a message';

CREATE FUNCTION crm_chart_rfm_heatmap(r integer[], f integer[], customers bigint[], value numeric[],
                                      measure text DEFAULT 'customers',
                                      title text DEFAULT 'Customers by recency and frequency score')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
WITH given AS (
    SELECT g.r, g.f, sum(coalesce(g.customers, 0)) AS customers, sum(coalesce(g.value, 0)) AS value
    FROM unnest(crm_chart_rfm_heatmap.r, crm_chart_rfm_heatmap.f, crm_chart_rfm_heatmap.customers,
                crm_chart_rfm_heatmap.value) g(r, f, customers, value)
    WHERE g.r BETWEEN 1 AND 5 AND g.f BETWEEN 1 AND 5
    GROUP BY g.r, g.f),
cells AS (
    SELECT rs AS r, fs AS f, coalesce(g.customers, 0) AS customers, coalesce(g.value, 0) AS value
    FROM generate_series(1, 5) rs CROSS JOIN generate_series(1, 5) fs
    LEFT JOIN given g ON g.r = rs AND g.f = fs)
SELECT CASE
    WHEN @extschema@.crm_chart_columns_differ(cardinality(crm_chart_rfm_heatmap.r), cardinality(crm_chart_rfm_heatmap.f),
                                             cardinality(crm_chart_rfm_heatmap.customers), cardinality(crm_chart_rfm_heatmap.value))
    THEN @extschema@.crm_chart_message(title, 'r, f, customers and value must have as many elements')
    WHEN measure IS NULL OR measure NOT IN ('customers', 'value')
    THEN @extschema@.crm_chart_message(title, 'measure must be customers or value')
    WHEN EXISTS (SELECT FROM unnest(crm_chart_rfm_heatmap.r, crm_chart_rfm_heatmap.f) s(r, f)
                 WHERE NOT coalesce(s.r BETWEEN 1 AND 5 AND s.f BETWEEN 1 AND 5, false))
    THEN @extschema@.crm_chart_message(title, 'r and f must be scores from 1 to 5')
    WHEN (SELECT sum(customers) FROM cells) = 0
    THEN @extschema@.crm_chart_message(title, 'No customers')
    ELSE jsonb_build_object(
        '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
        'title', title,
        'width', 300,
        'height', 300,
        'data', jsonb_build_object('values', (SELECT jsonb_agg(jsonb_build_object(
                    'r', c.r, 'f', c.f, 'customers', c.customers, 'value', c.value) ORDER BY c.r, c.f)
                 FROM cells c)),
        'encoding', jsonb_build_object(
            'x', jsonb_build_object('field', 'f', 'type', 'ordinal', 'title', 'frequency score'),
            'y', jsonb_build_object('field', 'r', 'type', 'ordinal', 'sort', 'descending',
                                    'title', 'recency score')),
        'layer', jsonb_build_array(
            jsonb_build_object(
                'mark', 'rect',
                'encoding', jsonb_build_object(
                    'color', jsonb_build_object('field', measure, 'type', 'quantitative',
                                                'scale', jsonb_build_object('scheme', 'blues')),
                    'tooltip', jsonb_build_array(
                        jsonb_build_object('field', 'r', 'type', 'ordinal', 'title', 'recency score'),
                        jsonb_build_object('field', 'f', 'type', 'ordinal', 'title', 'frequency score'),
                        jsonb_build_object('field', 'customers', 'type', 'quantitative'),
                        jsonb_build_object('field', 'value', 'type', 'quantitative', 'format', ',.2f')))),
            jsonb_build_object(
                'mark', jsonb_build_object('type', 'text', 'fontSize', 11),
                'encoding', jsonb_build_object(
                    'text', jsonb_build_object('field', measure, 'type', 'quantitative',
                                               'format', CASE measure WHEN 'value' THEN ',.0f' ELSE ',d' END)))))
    END
$$;
COMMENT ON FUNCTION crm_chart_rfm_heatmap(integer[], integer[], bigint[], numeric[], text, text) IS
'Vega-Lite heat map of R x F scores (1 to 5, as crm_rfm_score gives them), as R''s rfm package draws it: customers or value (measure) per cell, from the columns of a GROUP BY r, f; a chart saying so for no customers, scores out of range or arrays of different lengths';

CREATE FUNCTION crm_chart_p_alive_distribution(p_alive float8[], title text DEFAULT 'Distribution of P(alive)')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
WITH p AS (SELECT v FROM unnest(p_alive) v WHERE v IS NOT NULL),
bins AS (
    SELECT b, count(p.v) AS customers
    FROM generate_series(1, 20) b
    LEFT JOIN p ON least(width_bucket(p.v, 0, 1, 20), 20) = b
    GROUP BY b)
SELECT CASE
    WHEN EXISTS (SELECT FROM p WHERE NOT (v >= 0 AND v <= 1))
    THEN @extschema@.crm_chart_message(title, 'P(alive) must be between 0 and 1')
    WHEN NOT EXISTS (SELECT FROM p)
    THEN @extschema@.crm_chart_message(title, 'No customers')
    ELSE jsonb_build_object(
        '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
        'title', title,
        'width', 400,
        'data', jsonb_build_object('values', (SELECT jsonb_agg(jsonb_build_object(
                    'from', (b - 1) / 20.0, 'to', b / 20.0, 'customers', customers) ORDER BY b)
                 FROM bins)),
        'mark', 'bar',
        'encoding', jsonb_build_object(
            'x', jsonb_build_object('field', 'from', 'type', 'quantitative', 'bin',
                                    jsonb_build_object('binned', true, 'step', 0.05),
                                    'title', 'P(alive)', 'scale', jsonb_build_object('domain', jsonb_build_array(0, 1))),
            'x2', jsonb_build_object('field', 'to'),
            'y', jsonb_build_object('field', 'customers', 'type', 'quantitative', 'title', 'customers'),
            'tooltip', jsonb_build_array(
                jsonb_build_object('field', 'from', 'type', 'quantitative', 'title', 'P(alive) from'),
                jsonb_build_object('field', 'to', 'type', 'quantitative', 'title', 'to'),
                jsonb_build_object('field', 'customers', 'type', 'quantitative'))))
    END
$$;
COMMENT ON FUNCTION crm_chart_p_alive_distribution(float8[], text) IS
'Vega-Lite histogram of the customers'' probabilities alive in 20 bins of 0.05 (1 in the last), from array_agg of crm_bgnbd_p_alive or any model''s; NULLs skipped; a chart saying so for no customers or a value outside 0..1';

CREATE FUNCTION crm_chart_status_changes(weeks date[], statuses text[], customers bigint[],
                                         title text DEFAULT 'Customers entering each status, by week')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
WITH given AS (
    SELECT c.week, coalesce(c.status, '(none)') AS status, coalesce(c.customers, 0) AS customers, n
    FROM unnest(crm_chart_status_changes.weeks, crm_chart_status_changes.statuses,
                crm_chart_status_changes.customers) WITH ORDINALITY c(week, status, customers, n)
    WHERE c.week IS NOT NULL AND isfinite(c.week)),
c AS (SELECT week, status, sum(customers) AS customers, min(n) AS n FROM given GROUP BY week, status)
SELECT CASE
    WHEN @extschema@.crm_chart_columns_differ(cardinality(crm_chart_status_changes.weeks),
                                             cardinality(crm_chart_status_changes.statuses),
                                             cardinality(crm_chart_status_changes.customers))
    THEN @extschema@.crm_chart_message(title, 'weeks, statuses and customers must have as many elements')
    WHEN coalesce((SELECT sum(customers) FROM c), 0) = 0
    THEN @extschema@.crm_chart_message(title, 'No status changes')
    ELSE jsonb_build_object(
        '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
        'title', title,
        'width', 500,
        'data', jsonb_build_object('values', (SELECT jsonb_agg(jsonb_build_object(
                    'week', to_char(week, 'YYYY-MM-DD'), 'status', status, 'customers', customers)
                    ORDER BY week, n)
                 FROM c)),
        'mark', 'bar',
        'encoding', jsonb_build_object(
            'x', jsonb_build_object('field', 'week', 'type', 'ordinal', 'title', 'week from',
                                    'axis', jsonb_build_object('labelAngle', -45, 'labelOverlap', 'greedy')),
            'y', jsonb_build_object('field', 'customers', 'type', 'quantitative', 'title', 'customers'),
            'color', jsonb_build_object('field', 'status', 'type', 'nominal', 'title', NULL,
                                        'sort', (SELECT jsonb_agg(status ORDER BY first) FROM
                                                 (SELECT status, min(n) AS first FROM c GROUP BY status) s)),
            'tooltip', jsonb_build_array(
                jsonb_build_object('field', 'week', 'type', 'ordinal', 'title', 'week from'),
                jsonb_build_object('field', 'status', 'type', 'nominal'),
                jsonb_build_object('field', 'customers', 'type', 'quantitative'))))
    END
$$;
COMMENT ON FUNCTION crm_chart_status_changes(date[], text[], bigint[], text) IS
'Vega-Lite stacked bars of the customers who entered each status per week (say decline and churned, from a tracking''s history: date_trunc(''week'', changed_at), new_value, count(*)), statuses coloured in the order first given; a chart saying so for no changes or arrays of different lengths';

CREATE FUNCTION crm_chart_calibration_holdout(frequency_cal text[], actual float8[], predicted float8[],
                                              title text DEFAULT 'Holdout purchases by calibration purchases')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
WITH c AS (
    SELECT c.frequency_cal, c.actual, c.predicted, n
    FROM unnest(crm_chart_calibration_holdout.frequency_cal, crm_chart_calibration_holdout.actual,
                crm_chart_calibration_holdout.predicted) WITH ORDINALITY c(frequency_cal, actual, predicted, n)),
long AS (
    SELECT frequency_cal, 'actual' AS series, actual AS purchases, n FROM c
    UNION ALL
    SELECT frequency_cal, 'predicted', predicted, n FROM c)
SELECT CASE
    WHEN @extschema@.crm_chart_columns_differ(cardinality(crm_chart_calibration_holdout.frequency_cal),
                                             cardinality(crm_chart_calibration_holdout.actual),
                                             cardinality(crm_chart_calibration_holdout.predicted))
    THEN @extschema@.crm_chart_message(title, 'frequency_cal, actual and predicted must have as many elements')
    WHEN NOT EXISTS (SELECT FROM c)
    THEN @extschema@.crm_chart_message(title, 'No customers')
    WHEN EXISTS (SELECT FROM c WHERE NOT (actual > '-Infinity' AND actual < 'Infinity' AND predicted > '-Infinity' AND predicted < 'Infinity'))
    THEN @extschema@.crm_chart_message(title, 'actual and predicted must be numbers')
    ELSE jsonb_build_object(
        '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
        'title', title,
        'width', 400,
        'data', jsonb_build_object('values', (SELECT jsonb_agg(jsonb_build_object(
                    'frequency_cal', coalesce(frequency_cal, '(none)'), 'series', series,
                    'purchases', purchases) ORDER BY n, series)
                 FROM long)),
        'mark', jsonb_build_object('type', 'line', 'point', true),
        'encoding', jsonb_build_object(
            'x', jsonb_build_object('field', 'frequency_cal', 'type', 'ordinal',
                                    'sort', (SELECT jsonb_agg(coalesce(frequency_cal, '(none)') ORDER BY n) FROM c),
                                    'title', 'repeat purchases in calibration'),
            'y', jsonb_build_object('field', 'purchases', 'type', 'quantitative',
                                    'title', 'mean repeat purchases in holdout'),
            'color', jsonb_build_object('field', 'series', 'type', 'nominal', 'title', NULL),
            'tooltip', jsonb_build_array(
                jsonb_build_object('field', 'frequency_cal', 'type', 'ordinal', 'title', 'calibration'),
                jsonb_build_object('field', 'series', 'type', 'nominal'),
                jsonb_build_object('field', 'purchases', 'type', 'quantitative', 'format', '.3f'))))
    END
$$;
COMMENT ON FUNCTION crm_chart_calibration_holdout(text[], float8[], float8[], text) IS
'Vega-Lite lines of the mean actual and predicted holdout purchases by calibration purchases (lifetimes'' plot_calibration_purchases_vs_holdout_purchases), from the columns of the calibration-frequency table of a backtest, in the order given (0, 1, .., 7+); a chart saying so for no rows, a value that is not a number, or arrays of different lengths';

CREATE FUNCTION crm_chart_tracking(periods integer[], actual float8[], expected float8[],
                                   calibration_periods integer,
                                   title text DEFAULT 'Repeat purchases: actual and expected')
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
WITH c AS (
    SELECT c.period, coalesce(c.actual, 0) AS actual, coalesce(c.expected, 0) AS expected
    FROM unnest(crm_chart_tracking.periods, crm_chart_tracking.actual, crm_chart_tracking.expected)
         c(period, actual, expected)
    WHERE c.period IS NOT NULL),
running AS (
    SELECT period, actual, expected,
           sum(actual) OVER (ORDER BY period) AS actual_cumulative,
           sum(expected) OVER (ORDER BY period) AS expected_cumulative
    FROM c),
long AS (
    SELECT period, 'actual' AS series, 'per period' AS view, actual AS purchases FROM running
    UNION ALL SELECT period, 'expected', 'per period', expected FROM running
    UNION ALL SELECT period, 'actual', 'cumulative', actual_cumulative FROM running
    UNION ALL SELECT period, 'expected', 'cumulative', expected_cumulative FROM running)
SELECT CASE
    WHEN @extschema@.crm_chart_columns_differ(cardinality(crm_chart_tracking.periods),
                                             cardinality(crm_chart_tracking.actual),
                                             cardinality(crm_chart_tracking.expected))
    THEN @extschema@.crm_chart_message(title, 'periods, actual and expected must have as many elements')
    WHEN NOT EXISTS (SELECT FROM c)
    THEN @extschema@.crm_chart_message(title, 'No periods')
    WHEN EXISTS (SELECT FROM c WHERE NOT (actual > '-Infinity' AND actual < 'Infinity' AND expected > '-Infinity' AND expected < 'Infinity'))
    THEN @extschema@.crm_chart_message(title, 'actual and expected must be numbers')
    WHEN (SELECT count(*) <> count(DISTINCT period) FROM c)
    THEN @extschema@.crm_chart_message(title, 'each period must come once')
    ELSE jsonb_build_object(
        '$schema', 'https://vega.github.io/schema/vega-lite/v5.json',
        'title', title,
        'data', jsonb_build_object('values', (SELECT jsonb_agg(jsonb_build_object(
                    'period', period, 'series', series, 'view', view, 'purchases', purchases)
                    ORDER BY view DESC, series, period)
                 FROM long)),
        'vconcat', (SELECT jsonb_agg(jsonb_build_object(
            'title', v.title,
            'width', 500,
            'height', 180,
            'transform', jsonb_build_array(jsonb_build_object('filter', format('datum.view == %s', to_jsonb(v.view)))),
            'layer', jsonb_build_array(
                jsonb_build_object(
                    'mark', 'line',
                    'encoding', jsonb_build_object(
                        'x', jsonb_build_object('field', 'period', 'type', 'quantitative', 'title', 'period'),
                        'y', jsonb_build_object('field', 'purchases', 'type', 'quantitative', 'title', v.axis),
                        'color', jsonb_build_object('field', 'series', 'type', 'nominal', 'title', NULL),
                        'strokeDash', jsonb_build_object('field', 'series', 'type', 'nominal', 'title', NULL),
                        'tooltip', jsonb_build_array(
                            jsonb_build_object('field', 'period', 'type', 'quantitative'),
                            jsonb_build_object('field', 'series', 'type', 'nominal'),
                            jsonb_build_object('field', 'purchases', 'type', 'quantitative', 'format', ',.1f')))),
                jsonb_build_object(
                    'data', jsonb_build_object('values', jsonb_build_array(
                        jsonb_build_object('period', calibration_periods + 0.5))),
                    'mark', jsonb_build_object('type', 'rule', 'strokeDash', jsonb_build_array(4, 4), 'color', 'gray'),
                    'encoding', jsonb_build_object('x', jsonb_build_object('field', 'period', 'type', 'quantitative')))))
            ORDER BY v.n)
            FROM (VALUES (1, 'per period', 'Per period', 'repeat purchases'),
                         (2, 'cumulative', 'Cumulative', 'cumulative repeat purchases')) v(n, view, title, axis)))
    END
$$;
COMMENT ON FUNCTION crm_chart_tracking(integer[], float8[], float8[], integer, text) IS
'Vega-Lite tracking plot of actual against expected repeat purchases per period and cumulated (Fader, Hardie & Lee 2005, figures 2 and 3; lifetimes'' plot_incremental_transactions and plot_cumulative_transactions), a dashed line after the calibration periods; from the columns of the weekly tracking query of a backtest; a chart saying so for no periods, a period twice, a value that is not a number, or arrays of different lengths';
