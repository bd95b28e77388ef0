-- The orders tables of bench/track and bench/track_instructions: 200,000
-- orders of 100,000 customers, an index on the customer, copied untracked
-- (bench_plain_orders), tracked by crm (bench_crm_orders), by the floor's
-- one-UPDATE trigger (bench_floor_orders), and a copy bench/track tracks
-- in PL/pgSQL (bench_plpgsql_orders, bench/plpgsql_tracking.sql).
CREATE EXTENSION IF NOT EXISTS crm;
SELECT crm_untrack(to_regclass('bench_crm_orders')) WHERE to_regclass('bench_crm_orders') IS NOT NULL
   AND EXISTS (SELECT FROM crm_tracking WHERE orders_table = to_regclass('bench_crm_orders'));
DROP TABLE IF EXISTS bench_plain_orders, bench_crm_orders, bench_plpgsql_orders,
                     bench_plpgsql_state, bench_plpgsql_history,
                     bench_crm_orders_crm_state, bench_crm_orders_crm_history,
                     bench_floor_orders, bench_floor_state CASCADE;
DROP FUNCTION IF EXISTS bench_plpgsql_track(), bench_floor_track();
SELECT setseed(0.5);
CREATE TABLE bench_plain_orders (id bigserial PRIMARY KEY, customer_id int, amount numeric(10, 2),
                                 ordered_at timestamptz);
CREATE INDEX ON bench_plain_orders (customer_id);
INSERT INTO bench_plain_orders (customer_id, amount, ordered_at)
SELECT 1 + (random() * 99999)::int, round((5 + random() * 95)::numeric, 2),
       now() - random() * interval '730 days'
FROM generate_series(1, 200000);
CREATE TABLE bench_crm_orders (LIKE bench_plain_orders INCLUDING ALL);
CREATE TABLE bench_plpgsql_orders (LIKE bench_plain_orders INCLUDING ALL);
INSERT INTO bench_crm_orders SELECT * FROM bench_plain_orders;
INSERT INTO bench_plpgsql_orders SELECT * FROM bench_plain_orders;
SELECT crm_track('bench_crm_orders', 'customer_id', 'amount', 'ordered_at', time_zone => 'UTC');

-- the floor: one UPDATE by key per order, nothing else
CREATE TABLE bench_floor_orders (LIKE bench_plain_orders INCLUDING ALL);
INSERT INTO bench_floor_orders SELECT * FROM bench_plain_orders;
CREATE TABLE bench_floor_state (customer int PRIMARY KEY, orders bigint NOT NULL, revenue numeric NOT NULL);
INSERT INTO bench_floor_state
SELECT g, count(o.id), coalesce(sum(o.amount), 0)
FROM generate_series(1, 100000) g LEFT JOIN bench_floor_orders o ON o.customer_id = g GROUP BY g;
CREATE FUNCTION bench_floor_track() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE bench_floor_state SET orders = orders + 1, revenue = revenue + NEW.amount
    WHERE customer = NEW.customer_id;
    IF NOT FOUND THEN
        INSERT INTO bench_floor_state VALUES (NEW.customer_id, 1, NEW.amount)
        ON CONFLICT (customer) DO UPDATE
        SET orders = bench_floor_state.orders + 1, revenue = bench_floor_state.revenue + NEW.amount;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER bench_floor_track AFTER INSERT ON bench_floor_orders
    FOR EACH ROW EXECUTE FUNCTION bench_floor_track();
