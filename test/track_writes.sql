-- The writes real applications make, which tracking must take without
-- failing and count right: orders dated in the future, values the orders
-- table accepts but no figure can use (NaN, infinity, numbers beyond
-- float8), customer keys of any length or compared case-insensitively,
-- statements that insert and update at once (upsert, MERGE, writable
-- CTEs, the user's own triggers), row level security on the orders,
-- truncation and savepoints; then crm_refresh repairing a wrong state.
-- Expected figures are worked out by hand in the comments.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET check_function_bodies = off;  -- the helpers name tables crm_track creates
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(59);

-- One state row's figures as text
CREATE FUNCTION pg_temp.figures(t text, c text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    PERFORM crm_fold();
    EXECUTE format('SELECT format(''%%s orders, %%s revenue, days %%s'', orders, revenue, purchase_days)
                    FROM %I WHERE customer::text = $1', t || '_crm_state') INTO result USING c;
    RETURN result;
END $$;
-- crm_verify's differences, folded first (it folds itself)
CREATE FUNCTION pg_temp.differences(t text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM crm_verify(t::regclass) $$;

-- 1. Orders dated later than now(): an application server whose clock runs
-- ahead, a pre-order.  The stage is judged at the customer's last order
-- when that is later than now.  Two orders 29 days 23 hours apart, judged
-- at the later one (idle 0): growth.
CREATE TABLE fut (id serial PRIMARY KEY, customer_id int, amount numeric,
                  ordered_at timestamptz NOT NULL DEFAULT now());
SELECT crm_track('fut', 'customer_id', 'amount', 'ordered_at', time_zone => 'UTC');
SELECT lives_ok($$INSERT INTO fut (customer_id, amount, ordered_at) VALUES (1, 10, now() + interval '1 hour')$$,
                'an order an hour in the future is written');
SELECT lives_ok($$INSERT INTO fut (customer_id, amount, ordered_at) VALUES (1, 20, now() + interval '30 days')$$,
                'a pre-order a month ahead too');
SELECT lives_ok($$SELECT crm_fold()$$, 'and folded into the state');
SELECT is((SELECT lifecycle::text FROM fut_crm_state WHERE customer = 1), 'growth',
          'judged at the last order: growth');
SELECT lives_ok($$UPDATE fut SET ordered_at = ordered_at + interval '1 year' WHERE amount = 20$$,
                'an update moving an order a year ahead');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT (last_at - now())::text FROM fut_crm_state WHERE customer = 1), '395 days',
          'the last order is a year and a month ahead');
SELECT is((SELECT format('%s %s %s', lifecycle, days_since_last, r_score) FROM fut_crm_segments WHERE customer = 1),
          'growth 0 5', 'the segments view judges it too: 0 days since the last purchase, the best recency');
SELECT is(pg_temp.differences('fut'), 0::bigint, 'crm_verify: nothing differs');

-- 2. Values the orders table accepts.  NaN, infinite amounts and infinite
-- times count for nobody; an amount of 1e400 is a number and counts,
-- exactly (revenue is numeric; tiers compare it clamped to 1e300).
CREATE TABLE odd (id serial, customer_id int, amount numeric, ordered_at timestamptz);
INSERT INTO odd (customer_id, amount, ordered_at) VALUES
    (1, 10, '2024-01-01'), (1, 'NaN', '2024-01-02'), (1, '-Infinity', '2024-01-03'),
    (1, 'Infinity', '2024-01-04'), (1, 5, 'infinity'), (1, 5, '-infinity'), (2, 1e400, '2024-01-05');
SELECT is(crm_track('odd', 'customer_id', 'amount', 'ordered_at', time_zone => 'UTC'), 2::bigint,
          'tracking starts on them: two customers');
SELECT is(pg_temp.figures('odd', '1'), '1 orders, 10 revenue, days {2024-01-01}',
          'only the finite order of customer 1 counts');
SELECT is((SELECT revenue FROM odd_crm_state WHERE customer = 2), 1e400::numeric,
          'an amount beyond float8 is kept exactly');
SELECT lives_ok($$INSERT INTO odd (customer_id, amount, ordered_at) VALUES
                      (1, 10, '2024-01-06'), (1, 'NaN', '2024-01-07'), (1, 'Infinity', '2024-01-08'),
                      (1, 5, 'infinity'), (2, 1e400, '2024-01-09'), (3, 'NaN', 'infinity')$$,
                'the same values written while tracked');
SELECT is(pg_temp.figures('odd', '1'), '2 orders, 20 revenue, days {2024-01-01,2024-01-06}',
          'customer 1: the finite order counts');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT format('%s orders, revenue %s', orders, revenue = 2e400::numeric)
           FROM odd_crm_state WHERE customer = 2),
          '2 orders, revenue t', 'customer 2: 2e400, exactly');
SELECT is((SELECT count(*) FROM odd_crm_state WHERE customer = 3), 0::bigint,
          'an order with nothing to judge makes no customer');
SELECT lives_ok($$UPDATE odd SET amount = 'NaN' WHERE amount = 10 AND ordered_at = '2024-01-01'$$,
                'an update to NaN');
SELECT is(pg_temp.figures('odd', '1'), '1 orders, 10 revenue, days {2024-01-06}',
          'takes the order out of the figures');
SELECT lives_ok($$SELECT crm_refresh('odd')$$, 'crm_refresh ranks revenue beyond float8');
SELECT is((SELECT revenue FROM odd_crm_pyramid WHERE customers = 2), 2e400::numeric + 10,
          'the pyramid view sums revenue exactly');
SELECT lives_ok($$SELECT * FROM odd_crm_segments$$, 'the segments view scores it');
SELECT is(pg_temp.differences('odd'), 0::bigint, 'crm_verify: nothing differs');

-- Floating point amounts and dates take NaN and infinity too
CREATE TABLE oddf (customer_id int, amount float8, at date);
SELECT crm_track('oddf', 'customer_id', 'amount', 'at', time_zone => 'UTC');
SELECT lives_ok($$INSERT INTO oddf VALUES (1, 'NaN', '2024-01-01'), (1, 'Infinity', '2024-01-01'),
                      (1, '-Infinity', '2024-01-01'), (1, 1e308, '2024-01-01'), (1, 1e308, '2024-01-02'),
                      (1, 5, 'infinity'), (1, 5, '-infinity')$$,
                'float8 NaN and infinities, dates at infinity');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT format('%s orders, revenue %s', orders, revenue = 2 * 1e308::numeric)
           FROM oddf_crm_state WHERE customer = 1),
          '2 orders, revenue t', 'two orders of 1e308: revenue 2e308, beyond float8');
SELECT is(pg_temp.differences('oddf'), 0::bigint, 'crm_verify: nothing differs');

-- 3. A text customer key of any length: unique by a hash index, since a
-- B-tree entry cannot hold more than about 2.7 kB
CREATE TABLE lk (customer text, amount numeric, at timestamptz);
INSERT INTO lk VALUES (repeat('k', 10000), 5, '2024-01-01');
SELECT is(crm_track('lk', 'customer', 'amount', 'at', time_zone => 'UTC'), 1::bigint,
          'a table with a 10,000-character key is tracked');
SELECT lives_ok($$INSERT INTO lk VALUES (repeat('k', 10000), 7, '2024-01-02'),
                                        (repeat('k', 10000) || 'x', 1, '2024-01-03')$$,
                'orders of long keys are written');
SELECT is(pg_temp.figures('lk', repeat('k', 10000)), '2 orders, 12 revenue, days {2024-01-01,2024-01-02}',
          'the long key''s figures');
SELECT is((SELECT count(*) FROM lk_crm_history WHERE customer = repeat('k', 10000) || 'x'), 1::bigint,
          'its history is recorded');
SELECT lives_ok($$UPDATE lk SET customer = repeat('k', 10000) WHERE amount = 1$$, 'and its orders move');
SELECT is(pg_temp.figures('lk', repeat('k', 10000)), '3 orders, 13 revenue, days {2024-01-01,2024-01-02,2024-01-03}',
          'to the other long key');
SELECT is(pg_temp.differences('lk'), 0::bigint, 'crm_verify: nothing differs');

-- 4. One statement that inserts and updates orders of the same customer
-- counts each order once.  Customer 1 starts with 10 and 20.
CREATE TABLE up (id int PRIMARY KEY, customer_id int, amount numeric, at timestamptz);
INSERT INTO up VALUES (1, 1, 10, '2024-01-01'), (2, 1, 20, '2024-01-02');
SELECT crm_track('up', 'customer_id', 'amount', 'at', time_zone => 'UTC');
-- upsert: order 2 becomes 30, order 3 of 21 is new: 10 + 30 + 21
INSERT INTO up VALUES (2, 1, 30, '2024-01-02'), (3, 1, 21, '2024-01-03')
    ON CONFLICT (id) DO UPDATE SET amount = excluded.amount;
SELECT is(pg_temp.figures('up', '1'), '3 orders, 61 revenue, days {2024-01-01,2024-01-02,2024-01-03}',
          'INSERT ... ON CONFLICT DO UPDATE: 3 orders, 61');
-- MERGE: order 3 becomes 41, order 4 of 20 is new: 10 + 30 + 41 + 20
MERGE INTO up u
USING (VALUES (3, 1, 41, '2024-01-03'::timestamptz), (4, 1, 20, '2024-01-04')) AS s (id, c, a, t)
ON u.id = s.id
WHEN MATCHED THEN UPDATE SET amount = s.a
WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.c, s.a, s.t);
SELECT is(pg_temp.figures('up', '1'), '4 orders, 101 revenue, days {2024-01-01,2024-01-02,2024-01-03,2024-01-04}',
          'MERGE: 4 orders, 101');
-- a writable CTE: order 1 replaced by order 5 of 15 on its day: 30 + 41 + 20 + 15
WITH d AS (DELETE FROM up WHERE id = 1 RETURNING customer_id, at)
INSERT INTO up SELECT 5, customer_id, 15, at FROM d;
SELECT is(pg_temp.figures('up', '1'), '4 orders, 106 revenue, days {2024-01-01,2024-01-02,2024-01-03,2024-01-04}',
          'a writable CTE deleting and inserting: 4 orders, 106');
-- the user's own trigger takes 10 off order 4 when a big order comes: 30 + 41 + 10 + 15 + 200
CREATE FUNCTION pg_temp.halve() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE public.up SET amount = amount - 10 WHERE id = 4;
    RETURN NULL;
END $$;
CREATE TRIGGER halve AFTER INSERT ON up FOR EACH ROW WHEN (NEW.amount > 100) EXECUTE FUNCTION pg_temp.halve();
INSERT INTO up VALUES (6, 1, 200, '2024-01-06');
SELECT is(pg_temp.figures('up', '1'),
          '5 orders, 296 revenue, days {2024-01-01,2024-01-02,2024-01-03,2024-01-04,2024-01-06}',
          'an AFTER trigger of the user''s updating another order: 5 orders, 296');
SELECT is(pg_temp.differences('up'), 0::bigint, 'crm_verify: nothing differs');

-- 5. Row level security on the orders: a clerk sees orders under 15 only,
-- and changes one of them; the state still counts every order.
CREATE TABLE rls (id serial, customer_id int, amount numeric, at timestamptz);
INSERT INTO rls (customer_id, amount, at) VALUES (1, 10, '2024-01-01'), (1, 20, '2024-01-02'), (1, 31, '2024-01-03');
SELECT crm_track('rls', 'customer_id', 'amount', 'at', time_zone => 'UTC');
ALTER TABLE rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY small_orders ON rls USING (amount < 15);
CREATE ROLE crm_test_clerk;
GRANT SELECT, UPDATE, DELETE ON rls TO crm_test_clerk;
SET ROLE crm_test_clerk;
UPDATE rls SET amount = 11 WHERE amount = 10;
SELECT crm_fold() AS folded \gset
RESET ROLE;
SELECT is(pg_temp.figures('rls', '1'), '3 orders, 62 revenue, days {2024-01-01,2024-01-02,2024-01-03}',
          'an update by a role that sees one order: all three still count');
SET ROLE crm_test_clerk;
DELETE FROM rls WHERE amount = 11;
SELECT crm_fold() AS folded \gset
RESET ROLE;
SELECT is(pg_temp.figures('rls', '1'), '2 orders, 51 revenue, days {2024-01-02,2024-01-03}',
          'a delete by that role: the orders it cannot see still count');
SELECT is(pg_temp.differences('rls'), 0::bigint, 'crm_verify: nothing differs');

-- 6. A customer key in a case-insensitive collation: 'Bob', 'BOB' and
-- 'bob' are one customer, as the orders table's own equality has it
CREATE COLLATION crm_test_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE ci (customer text COLLATE crm_test_ci, amount numeric, at timestamptz);
INSERT INTO ci VALUES ('Bob', 1, '2024-01-01'), ('BOB', 2, '2024-01-02'), ('bob', 3, '2024-01-03');
SELECT is(crm_track('ci', 'customer', 'amount', 'at', time_zone => 'UTC'), 1::bigint,
          'three spellings, one customer');
INSERT INTO ci VALUES ('bOB', 4, '2024-01-04'), ('BoB', 5, '2024-01-05');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT format('%s rows, %s orders, %s revenue', count(*), sum(orders), sum(revenue))
           FROM ci_crm_state), '1 rows, 5 orders, 15 revenue',
          'two more spellings fold into the same row');
SELECT is(pg_temp.differences('ci'), 0::bigint, 'crm_verify groups as the collation does: nothing differs');
UPDATE ci_crm_state SET orders = 4;
SELECT is((SELECT format('%s %s->%s', field, tracked, recomputed) COLLATE "C" FROM crm_verify('ci')), 'orders 4->5',
          'and sees a wrong count');
UPDATE ci_crm_state SET orders = 5;
UPDATE ci SET customer = 'ALICE' WHERE amount = 5;
SELECT crm_fold() AS folded \gset
SELECT is((SELECT string_agg(format('%s %s %s', lower(customer), orders, revenue), ', ' ORDER BY revenue)
                  COLLATE "C" FROM ci_crm_state), 'alice 1 5, bob 4 10', 'an order moving to another customer');

-- 7. The pyramid view keeps money exact: numeric revenue per tier, tiers
-- as the customers' ranks give them (200 customers, revenue i + 0.01)
CREATE TABLE pyr (customer_id int, amount numeric, at timestamptz);
INSERT INTO pyr SELECT i, i + 0.01, '2024-01-01' FROM generate_series(1, 200) AS i;
SELECT crm_track('pyr', 'customer_id', 'amount', 'at', time_zone => 'UTC');
SELECT results_eq($$SELECT tier, customers, revenue, lowest_revenue, highest_revenue FROM pyr_crm_pyramid$$,
                  $$SELECT t.tier, count(r.revenue), coalesce(sum(r.revenue), 0), min(r.revenue), max(r.revenue)
                    FROM unnest('{vip,major,ordinary,small}'::crm_tier[]) WITH ORDINALITY AS t (tier, n)
                    LEFT JOIN (SELECT revenue, crm_tier(rank() OVER (ORDER BY revenue DESC), count(*) OVER ()) AS tier
                               FROM pyr_crm_state) r ON r.tier = t.tier
                    GROUP BY t.tier, t.n ORDER BY t.n$$,
                  'pyramid: customers and exact revenue per tier, as ranks give them');
SELECT is((SELECT pg_typeof(revenue)::text || ' ' || sum(revenue) OVER () FROM pyr_crm_pyramid LIMIT 1),
          'numeric 20102.00', 'revenue is numeric: 200 x 201 / 2 + 2.00');
SELECT is((SELECT pg_typeof(a.revenue)::text || ' ' || pg_typeof(b.revenue)::text FROM
           (SELECT revenue FROM pyr_crm_loyalty_mix LIMIT 1) a, (SELECT revenue FROM pyr_crm_lifecycle_mix LIMIT 1) b),
          'numeric numeric', 'and in the loyalty and lifecycle mixes');

-- 8. TRUNCATE then new orders in one transaction; savepoints
CREATE TABLE tr (c int, a numeric, t timestamptz);
INSERT INTO tr VALUES (1, 5, '2024-01-01'), (2, 6, '2024-01-02');
SELECT crm_track('tr', 'c', 'a', 't', time_zone => 'UTC');
UPDATE tr_crm_state SET attitude = 0.5 WHERE customer = 1;
TRUNCATE tr;
INSERT INTO tr VALUES (1, 7, '2024-01-03');
SELECT is(pg_temp.figures('tr', '1') || '; ' || pg_temp.figures('tr', '2'),
          '1 orders, 7 revenue, days {2024-01-03}; 0 orders, 0 revenue, days {}',
          'truncate then insert: only the new order counts');
SAVEPOINT s1;
INSERT INTO tr VALUES (2, 5, '2024-01-04');
SELECT crm_fold() AS folded \gset
ROLLBACK TO SAVEPOINT s1;
SELECT is(crm_fold(), 0::bigint, 'a rolled-back savepoint leaves nothing to fold');
SELECT is(pg_temp.figures('tr', '2'), '0 orders, 0 revenue, days {}', 'nor anything in the state');
INSERT INTO tr VALUES (2, 8, '2024-01-05');
SAVEPOINT s2;
SELECT crm_fold() AS folded \gset
ROLLBACK TO SAVEPOINT s2;
SELECT is(pg_temp.figures('tr', '2'), '1 orders, 8 revenue, days {2024-01-05}',
          'an order folded in a rolled-back savepoint is folded again');

-- 9. crm_refresh(repair => true) recomputes a state gone wrong, keeping the
-- survey columns and the history
UPDATE tr_crm_state SET orders = 99, revenue = 1000, purchase_days = '{}' WHERE customer = 1;
DELETE FROM tr_crm_state WHERE customer = 2;
SELECT is(pg_temp.differences('tr'), 4::bigint, 'crm_verify sees the damage: orders, revenue, days, a missing customer');
SELECT count(*) AS history_before FROM tr_crm_history \gset
SELECT lives_ok($$SELECT crm_refresh('tr', repair => true)$$, 'crm_refresh with repair');
SELECT is(pg_temp.differences('tr'), 0::bigint, 'crm_verify: nothing differs');
SELECT is((SELECT attitude FROM tr_crm_state WHERE customer = 1), 0.5::float8, 'the survey answer is kept');
SELECT cmp_ok((SELECT count(*) FROM tr_crm_history), '>=', :history_before::bigint, 'the history is kept');
SELECT throws_ok($$SELECT crm_refresh('tr', NULL)$$, '22004', 'repair must not be null', 'a NULL repair');

-- 10. A temporary table cannot be tracked: nothing would remove its tracking
-- when the session ends
CREATE TEMP TABLE tmp_orders (c int, a numeric, t timestamptz);
SELECT throws_ok($$SELECT crm_track('tmp_orders', 'c', 'a', 't')$$, '0A000',
                 'temporary table "tmp_orders" cannot be tracked', 'a temporary table is refused');
CREATE TABLE parted (c int, a numeric, t timestamptz) PARTITION BY RANGE (t);
CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
SELECT throws_ok($$SELECT crm_track('parted_2024', 'c', 'a', 't')$$, '42809',
                 '"parted_2024" is a partition', 'a partition alone is refused');

SELECT * FROM finish();
ROLLBACK;
