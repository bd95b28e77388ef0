-- Tracking after the extension is dropped and created again in the same
-- session.  A new crm_tracking numbers its trackings from 1 again, so the
-- new tracking of the same orders table has the id the session has
-- already seen; its triggers must still read the new extension's settings
-- (its schema, its columns), not those the session read before.  Revenue
-- is counted from "amount" by the first and third tracking and from
-- "amount2" (ten times as much) by the second, so using the wrong one
-- shows in every figure.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS crm CASCADE;
CREATE EXTENSION crm;
SELECT plan(15);

CREATE TABLE reinstall_orders (
    customer_id int,
    ordered_at timestamptz,
    amount numeric(12, 2),
    amount2 numeric(12, 2)
);

-- 1. tracked by crm in public, counting amount; an order folded in keeps
-- the session's settings of tracking 1, and one more is left to fold when
-- the extension goes
SELECT is(crm_track('reinstall_orders', 'customer_id', 'amount', 'ordered_at',
                    prefix => 'first'), 0::bigint, 'first tracking starts empty');
INSERT INTO reinstall_orders VALUES (1, '2024-01-01', 10, 100);
SELECT crm_fold() AS folded \gset
INSERT INTO reinstall_orders VALUES (1, '2024-01-01', 1000, 1000);
DELETE FROM reinstall_orders WHERE amount = 1000;
SELECT is((SELECT revenue FROM first_state WHERE customer = 1), 10.00::numeric,
          'first tracking counts amount');

-- 2. crm again, in another schema, counting amount2: tracking id 1 again
DROP EXTENSION crm CASCADE;
CREATE SCHEMA crm_again;
CREATE EXTENSION crm SCHEMA crm_again;
SELECT is(crm_again.crm_track('reinstall_orders', 'customer_id', 'amount2', 'ordered_at',
                              prefix => 'second'), 1::bigint,
          'second tracking backfills the one customer');
SELECT is((SELECT id FROM crm_again.crm_tracking), 1,
          'the new crm_tracking numbers its tracking 1 again');
INSERT INTO reinstall_orders VALUES (1, '2024-01-02', 10, 100);
SELECT crm_again.crm_fold() AS folded \gset
SELECT is((SELECT (orders, revenue)::text FROM second_state WHERE customer = 1),
          '(2,200.00)', 'a single order reaches the new schema''s state, counting amount2');
INSERT INTO reinstall_orders VALUES (1, '2024-01-03', 10, 100), (2, '2024-01-03', 1, 10);
SELECT crm_again.crm_fold() AS folded \gset
SELECT results_eq($$SELECT customer, orders, revenue FROM second_state ORDER BY customer$$,
                  $$VALUES (1, 3::bigint, 300.00::numeric), (2, 1::bigint, 10.00::numeric)$$,
                  'several orders at once reach it too');
SELECT is_empty($$SELECT * FROM crm_again.crm_verify('reinstall_orders')$$,
                'crm_verify: the second tracking matches the orders');

-- 3. crm again, back in public, counting amount: the same schema and id as
-- the first time, but a new crm_tracking and the other amount column
DROP EXTENSION crm CASCADE;
CREATE EXTENSION crm;
SELECT is(crm_track('reinstall_orders', 'customer_id', 'amount', 'ordered_at',
                    prefix => 'third'), 2::bigint,
          'third tracking backfills both customers');
SELECT is((SELECT id FROM crm_tracking), 1, 'and is tracking 1 as well');
INSERT INTO reinstall_orders VALUES (1, '2024-01-04', 10, 100);
SELECT crm_fold() AS folded \gset
SELECT is((SELECT (orders, revenue)::text FROM third_state WHERE customer = 1),
          '(4,40.00)', 'a single order is counted from amount, as the third tracking says');
INSERT INTO reinstall_orders VALUES (2, '2024-01-05', 1, 10), (3, '2024-01-05', 5, 50);
SELECT crm_fold() AS folded \gset
SELECT results_eq($$SELECT customer, orders, revenue FROM third_state ORDER BY customer$$,
                  $$VALUES (1, 4::bigint, 40.00::numeric), (2, 2::bigint, 2.00::numeric),
                           (3, 1::bigint, 5.00::numeric)$$,
                  'several orders at once are counted from amount');

-- 4. an invalidation that changes nothing (ANALYZE of crm_tracking) keeps
-- the settings in use
ANALYZE crm_tracking;
INSERT INTO reinstall_orders VALUES (3, '2024-01-06', 5, 50);
SELECT crm_fold() AS folded \gset
SELECT is((SELECT (orders, revenue)::text FROM third_state WHERE customer = 3),
          '(2,10.00)', 'after ANALYZE crm_tracking, orders are still counted from amount');
SELECT is_empty($$SELECT * FROM crm_verify('reinstall_orders')$$,
                'crm_verify: the third tracking matches the orders');

-- 5. a crm_tracking that is not where the extension keeps it
ALTER TABLE crm_tracking RENAME TO crm_tracking_moved;
SELECT throws_ok($$INSERT INTO reinstall_orders VALUES (3, '2024-01-07', 5, 50)$$,
                 '42P01', 'crm_tracking is missing from the extension''s schema',
                 'a renamed crm_tracking is an error, not a silent use of old settings');
ALTER TABLE crm_tracking_moved RENAME TO crm_tracking;
INSERT INTO reinstall_orders VALUES (3, '2024-01-07', 5, 50);
SELECT crm_fold() AS folded \gset
SELECT is((SELECT (orders, revenue)::text FROM third_state WHERE customer = 3),
          '(3,15.00)', 'renamed back, tracking goes on');

SELECT * FROM finish();
ROLLBACK;
