
-- Live tracking of an orders table (src/track/)

CREATE SEQUENCE crm_tracking_id_seq AS integer;
COMMENT ON SEQUENCE crm_tracking_id_seq IS 'Identifiers of tracked orders tables';

CREATE TABLE crm_tracking (
    id integer PRIMARY KEY DEFAULT nextval('crm_tracking_id_seq'),
    orders_table regclass NOT NULL UNIQUE,
    state_schema name NOT NULL,
    customer_column name NOT NULL,
    amount_column name NOT NULL,
    ordered_at_column name NOT NULL,
    promo_column name,
    customer_type text NOT NULL,
    prefix name NOT NULL,
    time_zone text NOT NULL,
    cuts float8[] NOT NULL,
    thresholds float8[],
    points_per_unit numeric NOT NULL CHECK (points_per_unit >= 0),
    tier_multipliers numeric[] NOT NULL
        CHECK (cardinality(tier_multipliers) = 4 AND array_position(tier_multipliers, NULL) IS NULL
               AND 0 <= ALL (tier_multipliers)),
    as_of timestamptz,
    notify text NOT NULL CHECK (notify IN ('all', 'alerts', 'none')),
    tracked_at timestamptz NOT NULL DEFAULT now(),
    refreshed_at timestamptz,
    restoring boolean NOT NULL DEFAULT false,
    UNIQUE (state_schema, prefix)
);
ALTER SEQUENCE crm_tracking_id_seq OWNED BY crm_tracking.id;
COMMENT ON TABLE crm_tracking IS
'One row per orders table tracked with crm_track: its columns, where the state lives, and the settings the triggers, crm_refresh and the views read';
COMMENT ON COLUMN crm_tracking.id IS 'Tracking identifier, passed to the triggers';
COMMENT ON COLUMN crm_tracking.orders_table IS 'The tracked orders table (followed through renames and moves to another schema)';
COMMENT ON COLUMN crm_tracking.state_schema IS 'Schema of the state and history tables and of the views: the orders table''s when tracking started';
COMMENT ON COLUMN crm_tracking.customer_column IS 'Orders column holding the customer key (renames are followed)';
COMMENT ON COLUMN crm_tracking.amount_column IS 'Orders column holding the order amount; negative amounts are refunds';
COMMENT ON COLUMN crm_tracking.ordered_at_column IS 'Orders column holding the order time';
COMMENT ON COLUMN crm_tracking.promo_column IS 'Optional boolean orders column marking promotional orders';
COMMENT ON COLUMN crm_tracking.customer_type IS 'Type of the customer key';
COMMENT ON COLUMN crm_tracking.prefix IS 'Name prefix of the state and history tables and of the views';
COMMENT ON COLUMN crm_tracking.time_zone IS 'Time zone whose calendar days are the purchase days';
COMMENT ON COLUMN crm_tracking.cuts IS 'Pyramid cuts: cumulative customer fractions ending the vip, major and ordinary tiers';
COMMENT ON COLUMN crm_tracking.thresholds IS 'Lowest revenue of the vip, major and ordinary tiers, as of the last crm_refresh';
COMMENT ON COLUMN crm_tracking.points_per_unit IS 'Loyalty points earned per unit of amount';
COMMENT ON COLUMN crm_tracking.tier_multipliers IS 'Points multiplier of the small, ordinary, major and vip tiers, in that order';
COMMENT ON COLUMN crm_tracking.as_of IS 'Fixed time at which time-dependent stages are evaluated; NULL means now()';
COMMENT ON COLUMN crm_tracking.notify IS 'Which status changes are sent on channel crm_status: all, alerts (a customer entering decline or churned) or none';
COMMENT ON COLUMN crm_tracking.tracked_at IS 'When tracking started';
COMMENT ON COLUMN crm_tracking.refreshed_at IS 'When the tier thresholds were last recomputed';
COMMENT ON COLUMN crm_tracking.restoring IS 'Restored from a dump and not written since: sessions that restore (row_security off) do not count the orders they load into the state they load';

-- pg_dump keeps the rows of this table (and the sequence position) with the
-- extension; the state and history tables are ordinary tables, dumped with
-- their data, and the triggers are dumped with the orders table.
SELECT pg_catalog.pg_extension_config_dump('crm_tracking', '');
SELECT pg_catalog.pg_extension_config_dump('crm_tracking_id_seq', '');

-- Every role may read the settings (the triggers run as whoever writes to the
-- orders table); only the owner of an orders table may change its row.
GRANT SELECT, INSERT, UPDATE, DELETE ON crm_tracking TO PUBLIC;
GRANT USAGE ON SEQUENCE crm_tracking_id_seq TO PUBLIC;
ALTER TABLE crm_tracking ENABLE ROW LEVEL SECURITY;
CREATE POLICY crm_tracking_read ON crm_tracking FOR SELECT USING (true);
CREATE POLICY crm_tracking_owner ON crm_tracking FOR ALL
    USING (pg_catalog.pg_has_role(
        (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = orders_table), 'USAGE'));

-- Status messages on their way to channel crm_status (src/track/relay.c):
-- transactions append them, crm's status relay worker deletes and sends
-- them.  Unlogged, like the notification queue; not dumped.
CREATE UNLOGGED SEQUENCE crm_status_outbox_id_seq;
COMMENT ON SEQUENCE crm_status_outbox_id_seq IS 'Order in which status messages were queued';
CREATE UNLOGGED TABLE crm_status_outbox (
    id bigint NOT NULL,
    payload text NOT NULL
);
ALTER SEQUENCE crm_status_outbox_id_seq OWNED BY crm_status_outbox.id;
COMMENT ON TABLE crm_status_outbox IS
'Status messages of committed transactions not yet sent on channel crm_status by the crm status relay (normally empty)';
COMMENT ON COLUMN crm_status_outbox.id IS 'Queue order: messages are sent in this order';
COMMENT ON COLUMN crm_status_outbox.payload IS 'The message, a JSON object as sent with pg_notify';

-- Customers whose fold a transaction on a Citus node left for later
-- (src/track/deferred.c): its changes were prepared for two-phase commit
-- while another transaction held the customer's state row.  The status
-- relay folds them once that transaction has committed.  Empty on one
-- server; logged, so a crash loses none.
CREATE TABLE crm_deferred_folds (
    tracking_id integer NOT NULL,
    shard bigint NOT NULL,
    customer text NOT NULL,
    deferred_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE crm_deferred_folds IS
'Customers of a tracked table distributed by Citus whose changes are folded into their state by the status relay, after the transaction that wrote them (normally empty; see crm_fold_deferred)';
COMMENT ON COLUMN crm_deferred_folds.tracking_id IS 'The tracking (crm_tracking.id)';
COMMENT ON COLUMN crm_deferred_folds.shard IS 'The shard of the orders, state or history table whose shard group holds the customer on this node';
COMMENT ON COLUMN crm_deferred_folds.customer IS 'The customer key, as text';
COMMENT ON COLUMN crm_deferred_folds.deferred_at IS 'Start time of the transaction that left the fold for later';

CREATE FUNCTION crm_fold_deferred()
RETURNS bigint
AS 'MODULE_PATHNAME', 'crm_fold_deferred'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION crm_fold_deferred() IS
'Fold now the customers that transactions on this Citus node left for later (crm_deferred_folds), recomputing each from the orders; returns the number of customers. The status relay does it within milliseconds; crm_verify and crm_refresh do it on every node first';

CREATE FUNCTION crm_track(orders regclass,
                          customer_column name,
                          amount_column name,
                          ordered_at_column name,
                          promo_column name DEFAULT NULL,
                          cuts float8[] DEFAULT '{0.01,0.05,0.20}',
                          points_per_unit numeric DEFAULT 1,
                          tier_multipliers numeric[] DEFAULT '{1,1,1,1}',
                          as_of timestamptz DEFAULT NULL,
                          time_zone text DEFAULT NULL,
                          notify text DEFAULT 'all',
                          prefix name DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'crm_track'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION crm_track(regclass, name, name, name, name, float8[], numeric, numeric[], timestamptz, text, text, name) IS
'Start tracking an orders table: creates <prefix>_state (one row per customer), <prefix>_history (status changes) and the views <prefix>_segments, _pyramid, _loyalty_mix, _lifecycle_mix and _alerts next to it (prefix defaults to <table>_crm), fills the state from the existing orders in one pass, and adds triggers that keep it current; returns the number of customers. Only the owner of the table may track it';

CREATE FUNCTION crm_untrack(orders regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'crm_untrack'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION crm_untrack(regclass) IS
'Stop tracking an orders table: drops its triggers, views, state and history tables and its crm_tracking row, leaving the orders table as it was';

CREATE FUNCTION crm_distribute_tracked(orders regclass)
RETURNS bigint
AS 'MODULE_PATHNAME', 'crm_distribute_tracked'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION crm_distribute_tracked(regclass) IS
'On a Citus coordinator: distribute a tracked orders table by its customer column (unless Citus already does), its state and history tables with it, keeping both, and recount every customer from the orders; returns the number of customers. For a table tracked on one server or restored from a dump, and for one distributed after crm_track';

CREATE FUNCTION crm_refresh(orders regclass, repair boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'crm_refresh'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION crm_refresh(regclass, boolean) IS
'Recompute the tier thresholds of a tracked orders table from all customers, then re-tier everyone and re-evaluate lifecycle stages at the current time in one statement (changes go to the history); with repair => true, first recompute every customer''s figures from the orders, keeping the survey columns and the history. Returns the number of customers whose status changed. Commits of order writes to the table wait until it commits';

CREATE FUNCTION crm_fold(orders regclass DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'crm_fold'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION crm_fold(regclass) IS
'Fold the orders this transaction has written to a tracked table (every tracked table when NULL) into the customer state now, rather than at commit; returns the number of state rows written. The state rows stay locked until the transaction ends';

CREATE FUNCTION crm_verify(orders regclass)
RETURNS TABLE (customer text, field text, tracked text, recomputed text)
AS 'MODULE_PATHNAME', 'crm_verify'
LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION crm_verify(regclass) IS
'Recompute every customer of a tracked orders table from the orders themselves (with crm_rfm) and return each difference from the tracked state: no rows means nothing was lost';

CREATE FUNCTION crm_days_union(days date[], more date[])
RETURNS date[]
AS 'MODULE_PATHNAME', 'crm_days_union'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_days_union(date[], date[]) IS
'Sorted union without duplicates of two sets of days; NULL elements are dropped and a NULL array counts as empty';

CREATE FUNCTION crm_orders_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_orders_trigger'
LANGUAGE C;
COMMENT ON FUNCTION crm_orders_trigger() IS
'Statement trigger that crm_track puts on a tracked orders table and each of its partitions: notes the orders a statement inserts, and the customers its updates, deletes and truncation touch; the transaction folds them into the customer state when it commits';

CREATE FUNCTION crm_state_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_state_trigger'
LANGUAGE C;
COMMENT ON FUNCTION crm_state_trigger() IS
'Row trigger that crm_track puts on a customer state table: checks the survey columns and sets the loyalty type from the row whenever a statement writes it, so that editing attitude, referrals or has_alternative reclassifies the customer (the fold of new orders sets the loyalty type itself)';

CREATE FUNCTION crm_history_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_history_trigger'
LANGUAGE C;
COMMENT ON FUNCTION crm_history_trigger() IS
'Statement trigger that crm_track puts on a customer state table: records every change of tier, loyalty type or lifecycle stage that a statement on the state table makes in the history table and announces it on channel crm_status, as the tracking''s notify setting says (all, alerts or none)';

CREATE FUNCTION crm_tracking_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'crm_tracking_trigger'
LANGUAGE C;
COMMENT ON FUNCTION crm_tracking_trigger() IS
'Trigger on crm_tracking: marks a row that crm_track did not insert -- one a restore brings -- as restoring, and after a change tells every backend to read the settings again';
CREATE TRIGGER crm_tracking_restored BEFORE INSERT ON crm_tracking
    FOR EACH ROW EXECUTE FUNCTION crm_tracking_trigger();
CREATE TRIGGER crm_tracking_changed AFTER INSERT OR UPDATE OR DELETE ON crm_tracking
    FOR EACH STATEMENT EXECUTE FUNCTION crm_tracking_trigger();

CREATE FUNCTION crm_ddl_trigger()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'crm_ddl_trigger'
LANGUAGE C;
COMMENT ON FUNCTION crm_ddl_trigger() IS
'Event trigger: follows renames and new key types of tracked columns and refuses changes tracking cannot follow; gives new partitions and inheritance children of a tracked table the triggers and recomputes the customers of those attached, detached or dropped; drops the tracking of a dropped table';
CREATE EVENT TRIGGER crm_ddl_start ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'DROP TABLE', 'DROP SCHEMA')
    EXECUTE FUNCTION crm_ddl_trigger();
CREATE EVENT TRIGGER crm_ddl_end ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE')
    EXECUTE FUNCTION crm_ddl_trigger();
CREATE EVENT TRIGGER crm_sql_drop ON sql_drop
    EXECUTE FUNCTION crm_ddl_trigger();
COMMENT ON EVENT TRIGGER crm_ddl_start IS
'Before ALTER TABLE, DROP TABLE and DROP SCHEMA: refuses dropping a tracked column, folds the transaction''s pending orders of a table about to change, and reads the customers of partitions and children about to leave a tracked table';
COMMENT ON EVENT TRIGGER crm_ddl_end IS
'After ALTER TABLE and CREATE TABLE: follows renamed tracked columns and new types of the customer key, refuses types tracking cannot read, and gives new, attached or inheriting tables of a tracked table its triggers';
COMMENT ON EVENT TRIGGER crm_sql_drop IS
'After DROP: drops the state, history, views and crm_tracking row of a dropped tracked table, and refuses dropping the state or history of a table still tracked';
