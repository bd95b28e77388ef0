-- Live tracking: crm_track backfills, then every DML path (single and
-- multi-row INSERT, COPY, amount and customer UPDATE, DELETE, refunds,
-- NULLs, savepoint rollback, TRUNCATE) keeps the state equal to values
-- worked out by hand below, the history records each status change, and
-- crm_verify finds nothing.  All times UTC; judged at a fixed as_of.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET check_function_bodies = off;  -- the helpers name tables crm_track creates
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(75);

CREATE TABLE shop_orders (
    id serial PRIMARY KEY,
    customer_id int,
    amount numeric(12, 2),
    ordered_at timestamptz,
    promo boolean NOT NULL DEFAULT false,
    note text
);
INSERT INTO shop_orders (customer_id, amount, ordered_at, promo) VALUES
    (1, 10.00, '2024-01-01 10:00', false),
    (1, 5.00, '2024-01-01 12:00', true),
    (2, 7.00, '2024-01-03 00:00', false),
    (NULL, 3.00, '2024-01-04', false),       -- no customer: not counted
    (3, NULL, '2024-01-05', false),          -- no amount: not counted
    (8, 1.00, '2024-01-10', false),
    (8, 1.00, '2024-01-20', false);
SELECT crm_fold() AS folded \gset

-- One state row as text: the figures the tests below work out by hand
CREATE FUNCTION pg_temp.st(c int) RETURNS text LANGUAGE sql AS $$
    SELECT format('%s orders, %s revenue, %s promo, %s..%s, days %s, first day %s, %s points, %s, %s, %s',
                  orders, revenue, promo_orders, to_char(first_at, 'MM-DD HH24:MI'),
                  to_char(last_at, 'MM-DD HH24:MI'), purchase_days, first_day_revenue, points,
                  tier, lifecycle, loyalty)
    FROM shop_orders_crm_state WHERE customer = c $$;
-- History rows of a customer as text, oldest first
CREATE FUNCTION pg_temp.hist(c int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(format('%s %s->%s', status, old_value, new_value), '; ' ORDER BY id)
    FROM shop_orders_crm_history WHERE customer = c $$;

-- Backfill: customers 1, 2 and 8 (the NULL rows count for nobody).  Points:
-- 2 per unit, small tier x1.  Fewer than 100 customers leave every upper
-- tier empty.  Customer 1's two orders are 2 hours apart: one occasion, so
-- acquisition (59.5 days idle on 2024-03-01, less than 365).
SELECT is(crm_track('shop_orders', 'customer_id', 'amount', 'ordered_at',
                    promo_column => 'promo', time_zone => 'UTC', as_of => '2024-03-01',
                    points_per_unit => 2, tier_multipliers => '{1,1,1,3}'),
          3::bigint, 'crm_track backfills three customers');
SELECT is(pg_temp.st(1),
          '2 orders, 15.00 revenue, 1 promo, 01-01 10:00..01-01 12:00, days {2024-01-01}, first day 15.00, 30.00 points, small, acquisition, none',
          'backfill: customer 1');
SELECT is(pg_temp.st(2),
          '1 orders, 7.00 revenue, 0 promo, 01-03 00:00..01-03 00:00, days {2024-01-03}, first day 7.00, 14.00 points, small, acquisition, none',
          'backfill: customer 2');
SELECT is(pg_temp.st(8),
          '2 orders, 2.00 revenue, 0 promo, 01-10 00:00..01-20 00:00, days {2024-01-10,2024-01-20}, first day 1.00, 4.00 points, small, churned, inertia',
          'backfill: customer 8, a repeat buyer idle 41 days after a 10-day gap, inertia');

-- Purchase days edited by hand out of order, with a NULL: the fold sorts
-- them again as it adds an order's day (one between the two, and one
-- already there)
SAVEPOINT hand_days;
UPDATE shop_orders_crm_state SET purchase_days = '{2024-01-20,NULL,2024-01-10}' WHERE customer = 8;
INSERT INTO shop_orders (customer_id, amount, ordered_at) VALUES (8, 1.00, '2024-01-15'), (8, 1.00, '2024-01-20');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT purchase_days FROM shop_orders_crm_state WHERE customer = 8),
          '{2024-01-10,2024-01-15,2024-01-20}'::date[], 'purchase days edited by hand are sorted again');
ROLLBACK TO SAVEPOINT hand_days;
SELECT is((SELECT count(*) FROM shop_orders_crm_state WHERE customer = 3), 0::bigint,
          'an order without amount makes no customer');
SELECT is((SELECT count(*) FROM shop_orders_crm_history), 0::bigint,
          'the backfill records no history: it starts with tracking');
SELECT is_empty($$SELECT c.relname FROM pg_class c
                  WHERE c.relname LIKE 'shop\_orders\_crm\_%' AND c.relkind IN ('r', 'v')
                    AND obj_description(c.oid, 'pg_class') IS NULL
                  UNION ALL
                  SELECT c.relname || '.' || a.attname FROM pg_class c
                  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                  WHERE c.relname LIKE 'shop\_orders\_crm\_%' AND c.relkind IN ('r', 'v')
                    AND col_description(c.oid, a.attnum) IS NULL$$,
                'every created table, view and column has a COMMENT');
SELECT set_eq($$SELECT c.relname::text FROM pg_class c
                WHERE c.relname LIKE 'shop\_orders\_crm\_%' AND c.relkind IN ('r', 'v')$$,
              ARRAY['shop_orders_crm_state', 'shop_orders_crm_history', 'shop_orders_crm_segments',
                    'shop_orders_crm_pyramid', 'shop_orders_crm_loyalty_mix',
                    'shop_orders_crm_lifecycle_mix', 'shop_orders_crm_alerts'],
              'crm_track creates the state and history tables and five views under stable names');
SELECT set_eq($$SELECT rtrim(format('%s %s %s', am.amname, pg_get_indexdef(i.indexrelid, 1, true),
                                   array_to_string(c.reloptions, ',')))
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
                WHERE i.indrelid = 'shop_orders_crm_history'::regclass$$,
              ARRAY['btree customer', 'brin changed_at autosummarize=on'],
              'history keyed by customer (then id), and indexed by changed_at as a block range index');
SELECT is((SELECT pg_get_constraintdef(oid) FROM pg_constraint
           WHERE conrelid = 'shop_orders_crm_history'::regclass AND contype = 'p'),
          'PRIMARY KEY (customer, id)', 'the history''s primary key is (customer, id)');
SELECT is((SELECT thresholds FROM crm_tracking WHERE orders_table = 'shop_orders'::regclass),
          '{Infinity,Infinity,Infinity}'::float8[], 'thresholds of 3 customers: upper tiers empty');

-- A transaction's orders reach the state when it commits; crm_fold brings
-- them in now, as every test below does after its statement.
-- (Customer 8 stays churned and inertia throughout: no history.)
INSERT INTO shop_orders (customer_id, amount, ordered_at, promo) VALUES (8, 1.00, '2024-01-15 09:00', false);
SELECT is((SELECT revenue FROM shop_orders_crm_state WHERE customer = 8), 2.00,
          'an order is not in the state before the commit');
SELECT is(crm_fold('shop_orders'), 1::bigint, 'crm_fold writes the one customer''s row');
SELECT is((SELECT revenue FROM shop_orders_crm_state WHERE customer = 8), 3.00,
          'and the order is there');
DELETE FROM shop_orders WHERE amount = 1.00 AND customer_id = 8 AND ordered_at = '2024-01-15 09:00';
SELECT is(crm_fold(), 1::bigint, 'crm_fold of every tracked table');
SELECT is(crm_fold(), 0::bigint, 'and nothing more is pending');

-- Single-row INSERT: customer 1 buys 20.00 on promotion on Feb 1.  Span
-- 30 d 23 h over 2 gaps = 15.48 d; idle 28.6 d < 2 gaps: growth.  Repeat
-- rate 1 of 2 days = 0.5 (high), promo share 2/3: incentive.
INSERT INTO shop_orders (customer_id, amount, ordered_at, promo) VALUES (1, 20.00, '2024-02-01 09:00', true);
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(1),
          '3 orders, 35.00 revenue, 2 promo, 01-01 10:00..02-01 09:00, days {2024-01-01,2024-02-01}, first day 15.00, 70.00 points, small, growth, incentive',
          'single-row insert folds the order in');
SELECT is(pg_temp.hist(1), 'loyalty none->incentive; lifecycle acquisition->growth',
          'the history records both changes');

-- Multi-row INSERT: a new customer 4 (two orders on one day) and an order
-- of customer 2 on the day before their first: a new first purchase day,
-- whose revenue becomes the first-day revenue.
INSERT INTO shop_orders (customer_id, amount, ordered_at) VALUES
    (4, 1.50, '2024-02-10 08:00'), (4, 2.50, '2024-02-10 20:00'), (2, 4.00, '2024-01-02 23:30');
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(4),
          '2 orders, 4.00 revenue, 0 promo, 02-10 08:00..02-10 20:00, days {2024-02-10}, first day 4.00, 8.00 points, small, acquisition, none',
          'multi-row insert: new customer');
SELECT is(pg_temp.st(2),
          '2 orders, 11.00 revenue, 0 promo, 01-02 23:30..01-03 00:00, days {2024-01-02,2024-01-03}, first day 4.00, 22.00 points, small, acquisition, inertia',
          'multi-row insert: an earlier order becomes the first day');
SELECT is(pg_temp.hist(4), 'lifecycle prospect->acquisition',
          'a new customer''s history starts from prospect');

-- COPY: customer 5 buys 100.00 then gets 30.00 refunded (a refund is no
-- order and no purchase day); customer 1 gets a free (0.00) order.
COPY shop_orders (customer_id, amount, ordered_at, promo) FROM STDIN;
5	100.00	2024-02-20 10:00	f
5	-30.00	2024-02-21 10:00	f
1	0.00	2024-02-15 00:00	f
\.
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(5),
          '1 orders, 70.00 revenue, 0 promo, 02-20 10:00..02-20 10:00, days {2024-02-20}, first day 100.00, 140.00 points, small, acquisition, none',
          'COPY with a refund: revenue net, one order, one day');
SELECT is(pg_temp.st(1),
          '4 orders, 35.00 revenue, 2 promo, 01-01 10:00..02-15 00:00, days {2024-01-01,2024-02-01,2024-02-15}, first day 15.00, 70.00 points, small, growth, incentive',
          'COPY: a zero-amount order is an order');

-- UPDATE of an amount: customer 5's 100.00 becomes 120.00; points follow
-- the change in revenue.
UPDATE shop_orders SET amount = 120.00 WHERE customer_id = 5 AND amount = 100.00;
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(5),
          '1 orders, 90.00 revenue, 0 promo, 02-20 10:00..02-20 10:00, days {2024-02-20}, first day 120.00, 180.00 points, small, acquisition, none',
          'amount update recomputes the customer');

-- UPDATE of the customer: customer 2's Jan 2 order moves to new customer 6.
UPDATE shop_orders SET customer_id = 6 WHERE customer_id = 2 AND ordered_at = '2024-01-02 23:30';
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(2),
          '1 orders, 7.00 revenue, 0 promo, 01-03 00:00..01-03 00:00, days {2024-01-03}, first day 7.00, 14.00 points, small, acquisition, none',
          'customer change: the old customer loses the order');
SELECT is(pg_temp.st(6),
          '1 orders, 4.00 revenue, 0 promo, 01-02 23:30..01-02 23:30, days {2024-01-02}, first day 4.00, 8.00 points, small, acquisition, none',
          'customer change: the new customer gains it');
SELECT is(pg_temp.hist(2), 'loyalty none->inertia; loyalty inertia->none',
          'customer 2 became and stopped being a repeat buyer');

-- UPDATE of a column tracking does not read changes nothing.
UPDATE shop_orders SET note = 'checked';
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(1),
          '4 orders, 35.00 revenue, 2 promo, 01-01 10:00..02-15 00:00, days {2024-01-01,2024-02-01,2024-02-15}, first day 15.00, 70.00 points, small, growth, incentive',
          'updating an untracked column keeps the figures');

-- DELETE: customer 1's Feb 1 order is cancelled.  Span 44.6 d over 2 gaps,
-- idle 15 d: growth.  Repeat 2 of 3 days, promo 1 of 3: inertia.
DELETE FROM shop_orders WHERE customer_id = 1 AND amount = 20.00;
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(1),
          '3 orders, 15.00 revenue, 1 promo, 01-01 10:00..02-15 00:00, days {2024-01-01,2024-02-15}, first day 15.00, 30.00 points, small, growth, inertia',
          'delete recomputes the customer and takes the points back');

-- NULLs: an order without customer or amount changes nothing; giving the
-- amount later counts it.
INSERT INTO shop_orders (customer_id, amount, ordered_at) VALUES (NULL, 5, '2024-02-01'), (7, NULL, '2024-02-01');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT count(*) FROM shop_orders_crm_state WHERE customer = 7), 0::bigint,
          'an order without amount is not counted');
UPDATE shop_orders SET amount = 9 WHERE customer_id = 3;
SELECT crm_fold() AS folded \gset
SELECT is(pg_temp.st(3),
          '1 orders, 9.00 revenue, 0 promo, 01-05 00:00..01-05 00:00, days {2024-01-05}, first day 9.00, 18.00 points, small, acquisition, none',
          'an amount given later counts the order');

-- A rolled-back savepoint leaves no trace.
SAVEPOINT before_big_order;
INSERT INTO shop_orders (customer_id, amount, ordered_at) VALUES (1, 1000, '2024-02-28');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT revenue FROM shop_orders_crm_state WHERE customer = 1), 1015.00, 'the order counts inside the savepoint');
ROLLBACK TO SAVEPOINT before_big_order;
SELECT is((SELECT revenue FROM shop_orders_crm_state WHERE customer = 1), 15.00, 'and is gone after ROLLBACK TO SAVEPOINT');

SELECT is_empty($$SELECT * FROM crm_verify('shop_orders')$$, 'crm_verify: the state matches the orders');

-- crm_verify reports what differs.
UPDATE shop_orders_crm_state SET revenue = revenue + 1, purchase_days = '{}' WHERE customer = 2;
SELECT results_eq($$SELECT * FROM crm_verify('shop_orders')$$,
                  $$VALUES ('2', 'purchase_days', '{}', '{2024-01-03}'),
                           ('2', 'revenue', '8.00', '7.00')$$,
                  'crm_verify lists each field that differs');
UPDATE shop_orders_crm_state SET revenue = revenue - 1, purchase_days = '{2024-01-03}' WHERE customer = 2;
DELETE FROM shop_orders_crm_state WHERE customer = 6;
SELECT results_eq($$SELECT * FROM crm_verify('shop_orders')$$,
                  $$VALUES ('6', 'customer', 'missing', 'present')$$,
                  'crm_verify reports a customer missing from the state');
UPDATE shop_orders SET note = NULL WHERE customer_id = 6;
SELECT crm_fold() AS folded \gset
SELECT is((SELECT count(*) FROM crm_verify('shop_orders')), 1::bigint,
          'an update of untracked columns does not recompute the customer');
UPDATE shop_orders SET amount = amount + 1 WHERE customer_id = 6;
SELECT crm_fold() AS folded \gset
UPDATE shop_orders SET amount = amount - 1 WHERE customer_id = 6;
SELECT crm_fold() AS folded \gset
SELECT is_empty($$SELECT * FROM crm_verify('shop_orders')$$, 'changing an order of the customer restores the row');

-- Survey inputs: attitude 0.9 and two referrals make customer 1 devoted.
UPDATE shop_orders_crm_state SET attitude = 0.9, referrals = 2 WHERE customer = 1;
SELECT is((SELECT loyalty FROM shop_orders_crm_state WHERE customer = 1), 'devoted'::crm_loyalty,
          'the loyalty type recomputes when survey columns change');
SELECT is((SELECT format('%s %s->%s', status, old_value, new_value) FROM shop_orders_crm_history
           WHERE customer = 1 ORDER BY id DESC LIMIT 1), 'loyalty inertia->devoted',
          'and the change is in the history');
SELECT throws_ok($$UPDATE shop_orders_crm_state SET attitude = 1.5 WHERE customer = 1$$, '22003', NULL,
                 'survey values outside [0,1] are rejected');

-- The fold sets the loyalty type itself (crm_state_trigger is left out of
-- its writes): from the same columns, survey and promotional share
-- included.  27 new customers, one per combination of attitude, referrals
-- and has_alternative set through the state table (every fourth price
-- sensitive), then 1 to 3 further orders: on the first order's day for
-- every fifth customer, else on later days; all on promotion for customers
-- c % 7 < 3.  Judged by crm_verify (crm_loyalty_type in SQL) and by the
-- trigger again.
SAVEPOINT fold_loyalty;
INSERT INTO shop_orders (customer_id, amount, ordered_at)
SELECT c, 5.00, '2024-02-01' FROM generate_series(100, 126) c;
SELECT crm_fold() AS folded \gset
UPDATE shop_orders_crm_state
SET attitude = (ARRAY[NULL, 0.2, 0.9])[1 + (customer - 100) % 3],
    referrals = (ARRAY[NULL, 0, 3])[1 + (customer - 100) / 3 % 3],
    has_alternative = (ARRAY[NULL, true, false])[1 + (customer - 100) / 9 % 3],
    price_sensitivity = CASE WHEN customer % 4 = 0 THEN 0.9 END
WHERE customer >= 100;
INSERT INTO shop_orders (customer_id, amount, ordered_at, promo)
SELECT c, 3.00, timestamptz '2024-02-01 12:00' +
                CASE WHEN c % 5 = 0 THEN 0 ELSE 1 + k % 2 END * interval '1 day', c % 7 < 3
FROM generate_series(100, 126) c, generate_series(1, 1 + c % 3) k;
SELECT crm_fold() AS folded \gset
SELECT is((SELECT count(DISTINCT loyalty)::int FROM shop_orders_crm_state WHERE customer >= 100), 8,
          'the new customers end up in all eight loyalty types');
SELECT is_empty($$SELECT * FROM crm_verify('shop_orders') WHERE customer::int >= 100$$,
                'the loyalty types the fold set are crm_loyalty_type''s');
CREATE TEMP TABLE folded_loyalty AS
    SELECT customer, loyalty FROM shop_orders_crm_state WHERE customer >= 100;
UPDATE shop_orders_crm_state SET attitude = attitude WHERE customer >= 100;
SELECT is_empty($$SELECT customer, loyalty FROM shop_orders_crm_state WHERE customer >= 100
                  EXCEPT SELECT * FROM folded_loyalty$$,
                'and crm_state_trigger, run on every row again, sets the same');
ROLLBACK TO SAVEPOINT fold_loyalty;

-- Time passes: judged on 2024-06-01, the views show the stages of now
-- without any order arriving; crm_refresh records them.  It also computes
-- thresholds from the 7 customers: vip and major (1% and 5% of 7 round
-- down to nobody) stay empty, ordinary is the top 20% = 1 customer: the
-- 90.00 of customer 5.
UPDATE crm_tracking SET as_of = '2024-06-01' WHERE orders_table = 'shop_orders'::regclass;
SELECT is((SELECT lifecycle::text FROM shop_orders_crm_segments WHERE customer = 1), 'churned',
          'segments view: customer 1 (average gap 22 d, idle 107 d) is churned now');
SELECT is((SELECT recorded_lifecycle::text FROM shop_orders_crm_segments WHERE customer = 1), 'growth',
          'while the recorded stage is still growth');
SELECT ok((SELECT loyal_customer_leaving AND NOT recorded FROM shop_orders_crm_alerts WHERE customer = 1),
          'alerts: a loyal customer leaving, not yet recorded');
SELECT is(crm_refresh('shop_orders'), 2::bigint,
          'crm_refresh changes two customers: 1 churned, 5 promoted to ordinary');
SELECT is((SELECT thresholds FROM crm_tracking WHERE orders_table = 'shop_orders'::regclass),
          '{Infinity,Infinity,90}'::float8[], 'thresholds of 7 customers');
SELECT is((SELECT format('%s %s->%s', status, old_value, new_value) FROM shop_orders_crm_history
           WHERE customer = 1 ORDER BY id DESC LIMIT 1), 'lifecycle growth->churned',
          'crm_refresh records the change');
SELECT ok((SELECT recorded AND changed_at IS NOT NULL FROM shop_orders_crm_alerts WHERE customer = 1),
          'alerts: now recorded, with its time');

-- Tiers: 200 more customers with revenue 1 .. 200 are tiered on arrival
-- with the stored thresholds (90 and up: ordinary); crm_refresh then sets
-- thresholds so each customer gets the tier ranking everyone would give.
INSERT INTO shop_orders (customer_id, amount, ordered_at)
SELECT 1000 + i, i, '2024-02-01' FROM generate_series(1, 200) AS i;
SELECT crm_fold() AS folded \gset
SELECT is((SELECT count(*) FROM shop_orders_crm_state WHERE tier = 'ordinary'), 112::bigint,
          'new customers are tiered with the stored thresholds: 111 of them and customer 5');
CREATE TEMP TABLE tiers_before AS SELECT customer, tier FROM shop_orders_crm_state;
CREATE TEMP TABLE refreshed AS SELECT crm_refresh('shop_orders') AS changed;
SELECT is((SELECT changed FROM refreshed),
          (SELECT count(*) FROM tiers_before b JOIN shop_orders_crm_state s USING (customer)
           WHERE s.tier <> b.tier),
          'crm_refresh reports each customer whose tier changed');
SELECT is_empty($$SELECT customer, tier FROM shop_orders_crm_state
                  EXCEPT
                  SELECT customer, crm_tier(rank() OVER (ORDER BY revenue DESC), count(*) OVER ())
                  FROM shop_orders_crm_state$$,
                'after crm_refresh every tier equals the tier of the customer''s rank');
SELECT set_eq($$SELECT tier, customers FROM shop_orders_crm_pyramid WHERE customers > 0$$,
              $$SELECT tier, count(*) FROM shop_orders_crm_state GROUP BY tier$$,
              'the pyramid view counts the same customers per tier');
SELECT is_empty($$SELECT customer FROM shop_orders_crm_state s
                  WHERE s.tier::text <> coalesce((SELECT new_value FROM shop_orders_crm_history h
                                                 WHERE h.customer = s.customer AND h.status = 'tier'
                                                 ORDER BY h.id DESC LIMIT 1), 'small')$$,
                'the history replays to every customer''s tier');
SELECT is((SELECT sum(customers)::bigint FROM shop_orders_crm_loyalty_mix),
          (SELECT count(*) FROM shop_orders_crm_state), 'loyalty mix covers every customer');
SELECT is((SELECT sum(customer_share) FROM shop_orders_crm_lifecycle_mix), 1::float8,
          'lifecycle mix shares add up to 1');

-- A vip earns three points per unit; points of the past stay.
SELECT is((SELECT tier FROM shop_orders_crm_state WHERE customer = 1200), 'vip'::crm_tier, 'customer 1200 is vip');
INSERT INTO shop_orders (customer_id, amount, ordered_at) VALUES (1200, 10, '2024-02-02');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT points FROM shop_orders_crm_state WHERE customer = 1200), 400 + 60::numeric,
          'a vip earns 10 x 2 x 3 points on top of 200 x 2');

SELECT is_empty($$SELECT * FROM crm_verify('shop_orders')$$, 'crm_verify still finds nothing');

-- Bulk loads whose transition tables go to disk (64kB of work_mem), and
-- with more status changes than the history trigger inserts at once
-- (8,192): 10,000 new customers, then a second order for each of them.
-- Judged at 2024-06-01: one order 151 days ago is acquisition (not a year);
-- two orders 18 days apart, silent 133 days (over 4 gaps) is churned, and
-- a repeat rate of 1/2 with nothing else known is inertia.  Within a
-- statement the changes come tier, loyalty, lifecycle.
SET LOCAL work_mem = '64kB';
INSERT INTO shop_orders (customer_id, amount, ordered_at)
SELECT 100000 + i, 1, '2024-01-02' FROM generate_series(1, 10000) AS i;
SELECT crm_fold() AS folded \gset
INSERT INTO shop_orders (customer_id, amount, ordered_at)
SELECT 100000 + i, 1, '2024-01-20' FROM generate_series(1, 10000) AS i;
SELECT crm_fold() AS folded \gset
RESET work_mem;
SELECT is((SELECT string_agg(n || ' ' || h, ', ' ORDER BY h)
           FROM (SELECT count(*) AS n, pg_temp.hist(customer) AS h FROM shop_orders_crm_state
                 WHERE customer > 100000 GROUP BY 2) t),
          '10000 lifecycle prospect->acquisition; loyalty none->inertia; lifecycle acquisition->churned',
          'every one of 20,000 changes of 10,000 customers recorded once, in order');
SELECT is_empty($$SELECT * FROM crm_verify('shop_orders')$$, 'crm_verify finds nothing after them');

-- TRUNCATE: every customer back to no orders, survey inputs kept.
TRUNCATE shop_orders;
SELECT crm_fold() AS folded \gset
SELECT is((SELECT count(*) FROM shop_orders_crm_state WHERE orders > 0 OR revenue <> 0 OR purchase_days <> '{}'),
          0::bigint, 'truncate empties every customer');
SELECT is((SELECT attitude FROM shop_orders_crm_state WHERE customer = 1), 0.9::float8,
          'truncate keeps survey inputs');
SELECT is_empty($$SELECT * FROM crm_verify('shop_orders')$$, 'crm_verify after truncate');

-- Only a Citus node leaves folds for later (README, Live tracking on a
-- cluster): on one server the queue stays empty and folding it does nothing.
SELECT is((SELECT count(*) FROM crm_deferred_folds), 0::bigint, 'one server defers no fold');
SELECT is(crm_fold_deferred(), 0::bigint, 'crm_fold_deferred folds nothing on one server');
-- and there is no cluster to distribute a tracked table to
SELECT throws_ok($$SELECT crm_distribute_tracked('shop_orders')$$, '55000',
                 'Citus is not installed in this database',
                 'crm_distribute_tracked without Citus: 55000');

-- Points keep the scale numeric multiplication gives them: an amount with
-- 2 decimals times points_per_unit 1 (scale 0) and multiplier 1 has 2,
-- times points_per_unit 1.0 has 3 -- in the backfill and in the fold alike
-- (a new customer's points start from 0).
CREATE TABLE scale_a (customer_id int, amount numeric(8, 2), ordered_at timestamptz);
CREATE TABLE scale_b (LIKE scale_a);
INSERT INTO scale_a VALUES (1, 12.34, '2024-01-01');
INSERT INTO scale_b VALUES (1, 12.34, '2024-01-01');
SELECT crm_track('scale_a', 'customer_id', 'amount', 'ordered_at') AS tracked \gset
SELECT crm_track('scale_b', 'customer_id', 'amount', 'ordered_at', points_per_unit => 1.0) AS tracked \gset
INSERT INTO scale_a VALUES (1, 5.00, '2024-01-02'), (2, 5.00, '2024-01-02');
INSERT INTO scale_b VALUES (1, 5.00, '2024-01-02'), (2, 5.00, '2024-01-02');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT string_agg(points::text, ' ' ORDER BY customer) FROM scale_a_crm_state) || ', ' ||
          (SELECT string_agg(points::text, ' ' ORDER BY customer) FROM scale_b_crm_state),
          '17.34 5.00, 17.340 5.000',
          'points: 12.34 + 5.00 and a new customer''s 5.00, at 1 point per unit and at 1.0');
SELECT crm_untrack('scale_a') AS untracked \gset
SELECT crm_untrack('scale_b') AS untracked \gset

-- crm_untrack drops what crm_track made and leaves the table as it was.
SELECT lives_ok($$SELECT crm_untrack('shop_orders')$$, 'crm_untrack');
SELECT is_empty($$SELECT tgname FROM pg_trigger WHERE tgrelid = 'shop_orders'::regclass$$,
                'no trigger left on the orders table');
SELECT is_empty($$SELECT relname FROM pg_class WHERE relname LIKE 'shop\_orders\_crm\_%'$$,
                'no state, history or view left');
SELECT is_empty($$SELECT * FROM crm_tracking$$, 'no crm_tracking row left');

SELECT * FROM finish();
ROLLBACK;
