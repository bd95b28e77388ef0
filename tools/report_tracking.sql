-- The names tools/report needs of the tracking of :'orders', as psql
-- variables: its views and history, quoted, and its orders table and
-- columns (tools/report has checked that crm tracks it)
SELECT quote_ident(state_schema) || '.' || quote_ident(prefix || '_pyramid') AS pyramid_view,
       quote_ident(state_schema) || '.' || quote_ident(prefix || '_loyalty_mix') AS loyalty_view,
       quote_ident(state_schema) || '.' || quote_ident(prefix || '_lifecycle_mix') AS lifecycle_view,
       quote_ident(state_schema) || '.' || quote_ident(prefix || '_segments') AS segments_view,
       quote_ident(state_schema) || '.' || quote_ident(prefix || '_alerts') AS alerts_view,
       quote_ident(state_schema) || '.' || quote_ident(prefix || '_history') AS history_table,
       orders_table::text AS orders_table, quote_ident(customer_column) AS customer_column,
       quote_ident(amount_column) AS amount_column, quote_ident(ordered_at_column) AS ordered_at_column
FROM crm_tracking WHERE orders_table = to_regclass(:'orders') \gset
