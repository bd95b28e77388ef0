-- The privilege model: a role allowed to write orders can, with no
-- privilege on the state, the history or the settings, and cannot touch
-- them by hand; the state is written as the owner of the orders table,
-- and sees every order whatever row level security hides, also with the
-- extension in a schema the writer may not use.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS crm CASCADE;
CREATE SCHEMA crm_own;
CREATE EXTENSION crm SCHEMA crm_own;
SELECT plan(14);

CREATE ROLE crm_test_owner;
CREATE ROLE crm_test_writer;
GRANT USAGE ON SCHEMA crm_own TO crm_test_owner;
GRANT CREATE, USAGE ON SCHEMA public TO crm_test_owner;

-- The owner's table, tracked by the owner, written by the writer
SET ROLE crm_test_owner;
CREATE TABLE public.shop (id serial PRIMARY KEY, customer_id int, amount numeric, at timestamptz);
INSERT INTO shop (customer_id, amount, at) VALUES (1, 10, '2024-01-01'), (1, 20, '2024-01-02');
SELECT crm_own.crm_track('public.shop', 'customer_id', 'amount', 'at', time_zone => 'UTC');
GRANT SELECT, INSERT, UPDATE, DELETE ON shop TO crm_test_writer;
GRANT USAGE ON SEQUENCE shop_id_seq TO crm_test_writer;
RESET ROLE;

SET ROLE crm_test_writer;
SELECT lives_ok($$INSERT INTO shop (customer_id, amount, at) VALUES (1, 5, '2024-01-03'), (2, 7, '2024-01-03')$$,
                'the writer inserts orders without any privilege on the state');
SELECT lives_ok($$UPDATE shop SET amount = 11 WHERE amount = 10$$, 'updates them');
SELECT lives_ok($$DELETE FROM shop WHERE amount = 20$$, 'deletes them');
SELECT throws_ok($$UPDATE shop_crm_state SET tier = 'vip'$$, '42501',
                 'permission denied for table shop_crm_state', 'but cannot write the state by hand');
SELECT throws_ok($$INSERT INTO shop_crm_history (customer, status, old_value, new_value)
                   VALUES (1, 'tier', 'small', 'vip')$$, '42501',
                 'permission denied for table shop_crm_history', 'nor forge history');
SELECT throws_ok($$UPDATE crm_own.crm_tracking SET points_per_unit = 100$$, '42501',
                 'permission denied for schema crm_own', 'nor reach the settings');
RESET ROLE;

-- Folded (at commit, or here by crm_fold) as the owner of the orders table
SELECT is(crm_own.crm_fold(), 2::bigint, 'the writer''s orders are folded in: two customers');
SELECT is((SELECT string_agg(format('%s: %s orders, %s', customer, orders, revenue), '; ' ORDER BY customer)
           FROM shop_crm_state), '1: 2 orders, 16; 2: 1 orders, 7', 'with the right figures');
SELECT is((SELECT count(*) FROM shop_crm_history WHERE customer = 2), 1::bigint,
          'and the new customer''s history');
SELECT is((SELECT string_agg(DISTINCT relowner::regrole::text, ',') FROM pg_class
           WHERE relname IN ('shop_crm_state', 'shop_crm_history')), 'crm_test_owner',
          'the state and history belong to the owner');

-- Row level security the owner forces on the orders, and on the state:
-- the fold still sees and writes every customer's orders
SET ROLE crm_test_owner;
ALTER TABLE shop ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY writer_sees_small ON shop USING (amount < 10);
ALTER TABLE shop_crm_state ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
RESET ROLE;
SET ROLE crm_test_writer;
SELECT lives_ok($$UPDATE shop SET amount = 6 WHERE amount = 5$$, 'the writer changes the one order it sees');
RESET ROLE;
SELECT is(crm_own.crm_fold(), 1::bigint, 'folded');
SELECT is((SELECT format('%s orders, %s', orders, revenue) FROM shop_crm_state WHERE customer = 1),
          '2 orders, 17', 'recomputed from every order of the customer: 11 + 6');
SELECT is((SELECT count(*) FROM crm_own.crm_verify('shop')), 0::bigint, 'crm_verify finds nothing');

SELECT * FROM finish();
ROLLBACK;
