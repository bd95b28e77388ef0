-- The same tracking as crm's triggers, written the usual way: a PL/pgSQL
-- row trigger that upserts the customer's state and writes the history.
-- bench/track times it against crm.  It keeps the same state and history
-- columns (copied from the crm tables of bench_crm_orders) and the same
-- rules, with the settings read once per row from crm_tracking like crm's
-- statements do.
CREATE TABLE bench_plpgsql_state (LIKE bench_crm_orders_crm_state INCLUDING ALL);
CREATE TABLE bench_plpgsql_history (LIKE bench_crm_orders_crm_history INCLUDING ALL);
INSERT INTO bench_plpgsql_state (customer, orders, revenue, promo_orders, first_at, last_at,
                                 purchase_days, first_day_revenue, points, tier, lifecycle)
SELECT customer, orders, revenue, promo_orders, first_at, last_at,
       purchase_days, first_day_revenue, points, tier, lifecycle
FROM bench_crm_orders_crm_state;

CREATE FUNCTION bench_plpgsql_track() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cfg crm_tracking;
    day date;
    old_row bench_plpgsql_state;
    new_row bench_plpgsql_state;
BEGIN
    IF NEW.customer_id IS NULL OR NEW.amount IS NULL OR NEW.ordered_at IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT * INTO cfg FROM crm_tracking WHERE orders_table = 'bench_crm_orders'::regclass;
    day := (NEW.ordered_at AT TIME ZONE cfg.time_zone)::date;
    -- a new customer's row first (concurrent first orders must not collide),
    -- then lock it and fold the order in
    INSERT INTO bench_plpgsql_state (customer) VALUES (NEW.customer_id) ON CONFLICT DO NOTHING;
    SELECT * INTO old_row FROM bench_plpgsql_state WHERE customer = NEW.customer_id FOR UPDATE;
    UPDATE bench_plpgsql_state AS s SET
        orders = s.orders + 1,
        revenue = s.revenue + NEW.amount,
        first_at = least(s.first_at, NEW.ordered_at),
        last_at = greatest(s.last_at, NEW.ordered_at),
        purchase_days = crm_days_union(s.purchase_days, ARRAY[day]),
        first_day_revenue = CASE WHEN s.purchase_days[1] < day THEN s.first_day_revenue
                                 WHEN s.purchase_days[1] > day OR s.purchase_days[1] IS NULL THEN NEW.amount
                                 ELSE s.first_day_revenue + NEW.amount END,
        points = s.points + NEW.amount * cfg.points_per_unit
                 * cfg.tier_multipliers[array_position(enum_range(NULL::crm_tier), s.tier)],
        tier = coalesce(crm_tier_of((s.revenue + NEW.amount)::float8, cfg.thresholds), 'small'),
        lifecycle = crm_lifecycle_stage(s.orders + 1, least(s.first_at, NEW.ordered_at),
                                        greatest(s.last_at, NEW.ordered_at), coalesce(cfg.as_of, now())),
        updated_at = now()
    WHERE s.customer = NEW.customer_id
    RETURNING * INTO new_row;
    IF new_row.tier IS DISTINCT FROM old_row.tier THEN
        INSERT INTO bench_plpgsql_history (customer, status, old_value, new_value)
        VALUES (NEW.customer_id, 'tier', old_row.tier, new_row.tier);
        PERFORM pg_notify('crm_status', json_build_object('customer', NEW.customer_id, 'status', 'tier',
                          'old', old_row.tier, 'new', new_row.tier)::text);
    END IF;
    IF new_row.loyalty IS DISTINCT FROM old_row.loyalty THEN
        INSERT INTO bench_plpgsql_history (customer, status, old_value, new_value)
        VALUES (NEW.customer_id, 'loyalty', old_row.loyalty, new_row.loyalty);
        PERFORM pg_notify('crm_status', json_build_object('customer', NEW.customer_id, 'status', 'loyalty',
                          'old', old_row.loyalty, 'new', new_row.loyalty)::text);
    END IF;
    IF new_row.lifecycle IS DISTINCT FROM old_row.lifecycle THEN
        INSERT INTO bench_plpgsql_history (customer, status, old_value, new_value)
        VALUES (NEW.customer_id, 'lifecycle', old_row.lifecycle, new_row.lifecycle);
        PERFORM pg_notify('crm_status', json_build_object('customer', NEW.customer_id, 'status', 'lifecycle',
                          'old', old_row.lifecycle, 'new', new_row.lifecycle)::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER bench_plpgsql_track AFTER INSERT ON bench_plpgsql_orders
    FOR EACH ROW EXECUTE FUNCTION bench_plpgsql_track();
