-- Tracking's inputs: every bad argument and misuse gets its SQLSTATE; only
-- the owner may track a table; names with quotes, spaces and SQL in them
-- work; every customer key type and order time type works.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(62);

CREATE TABLE t_orders (id serial, customer_id int, amount numeric, ordered_at timestamptz,
                       promo boolean, price float8, label text, qty int);
CREATE VIEW t_view AS SELECT * FROM t_orders;
INSERT INTO t_orders (customer_id, amount, ordered_at) VALUES (1, 10, '2024-01-01');

-- Required arguments
SELECT throws_ok($$SELECT crm_track(NULL, 'customer_id', 'amount', 'ordered_at')$$,
                 '22004', 'orders must not be null', 'orders NULL');
SELECT throws_ok($$SELECT crm_track('t_orders', NULL, 'amount', 'ordered_at')$$,
                 '22004', 'customer_column must not be null', 'customer_column NULL');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', NULL, 'ordered_at')$$,
                 '22004', 'amount_column must not be null', 'amount_column NULL');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', NULL)$$,
                 '22004', 'ordered_at_column must not be null', 'ordered_at_column NULL');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', cuts => NULL)$$,
                 '22004', 'cuts must not be null', 'cuts NULL');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', notify => NULL)$$,
                 '22004', 'notify must not be null', 'notify NULL');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', notify => 'sometimes')$$,
                 '22023', 'notify must be ''all'', ''alerts'' or ''none''', 'notify not one of the three');

-- The table and its columns
SELECT throws_ok($$SELECT crm_track('t_view', 'customer_id', 'amount', 'ordered_at')$$,
                 '42809', '"t_view" is not a table', 'a view cannot be tracked');
SELECT throws_ok($$SELECT crm_track('t_orders', 'nope', 'amount', 'ordered_at')$$,
                 '42703', 'column "nope" of relation "t_orders" does not exist', 'missing customer column');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', promo_column => 'nope')$$,
                 '42703', NULL, 'missing promo column');
SELECT throws_ok($$SELECT crm_track('t_orders', 'ctid', 'amount', 'ordered_at')$$,
                 '22023', 'customer column cannot be system column "ctid"', 'system column');
SELECT throws_ok($$SELECT crm_track('t_orders', 'price', 'amount', 'ordered_at')$$,
                 '42804', 'customer column "price" has type double precision', 'customer key type');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'label', 'ordered_at')$$,
                 '42804', 'amount column "label" has type text', 'amount type');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'qty')$$,
                 '42804', 'ordered_at column "qty" has type integer', 'order time type');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', promo_column => 'qty')$$,
                 '42804', 'promo column "qty" has type integer', 'promo type');

-- Settings
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', cuts => '{0.5,0.2,0.9}')$$,
                 '22023', 'cuts must be strictly increasing', 'cuts out of order');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', cuts => '{0.1,0.2}')$$,
                 '2202E', 'cuts must have exactly 3 elements', 'two cuts');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', points_per_unit => -1)$$,
                 '22003', 'points_per_unit must not be negative', 'negative points');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', points_per_unit => 'NaN')$$,
                 '22023', 'points_per_unit cannot be NaN', 'NaN points');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', tier_multipliers => '{1,2,3}')$$,
                 '2202E', 'tier_multipliers must have exactly 4 elements', 'three multipliers');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', tier_multipliers => '{1,NULL,3,4}')$$,
                 '22004', 'tier_multipliers must not contain nulls', 'NULL multiplier');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', tier_multipliers => '{1,-2,3,4}')$$,
                 '22003', 'tier_multipliers must not be negative', 'negative multiplier');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', tier_multipliers => '{{1,2},{3,4}}')$$,
                 '2202E', 'tier_multipliers must be a one-dimensional array', 'two-dimensional multipliers');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', time_zone => 'Mars/Olympus')$$,
                 '22023', NULL, 'unknown time zone');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', prefix => '')$$,
                 '22023', 'prefix must not be empty', 'empty prefix');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at', prefix => repeat('p', 50))$$,
                 '42622', NULL, 'prefix too long for the names made from it');

-- Tracking twice, and functions on tables that are not tracked
SELECT is(crm_track('t_orders', 'customer_id', 'amount', 'ordered_at'), 1::bigint, 'tracking works');
SELECT throws_ok($$SELECT crm_track('t_orders', 'customer_id', 'amount', 'ordered_at')$$,
                 '42710', 'table public.t_orders is already tracked', 'tracking twice');
CREATE TABLE t_other (c int, a numeric, t timestamptz);
SELECT throws_ok($$SELECT crm_track('t_other', 'c', 'a', 't', prefix => 't_orders_crm')$$,
                 '42710', 'prefix "t_orders_crm" is already used in schema "public"', 'prefix clash');
SELECT throws_ok($$SELECT crm_untrack('t_other')$$, '42704', 'table public.t_other is not tracked', 'untrack untracked');
SELECT throws_ok($$SELECT crm_refresh('t_other')$$, '42704', NULL, 'refresh untracked');
SELECT throws_ok($$SELECT * FROM crm_verify('t_other')$$, '42704', NULL, 'verify untracked');
SELECT throws_ok($$SELECT crm_fold('t_other')$$, '42704', 'table public.t_other is not tracked', 'fold untracked');
SELECT throws_ok($$SELECT crm_fold('no_such_table')$$, '42P01', NULL, 'fold of a table that does not exist');

-- The caller's search_path cannot change what the triggers compute: a
-- now() shadowing the built-in one is not called.
CREATE SCHEMA evil;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$SELECT timestamptz '1999-01-01'$$;
SET search_path = evil, pg_catalog, public;
INSERT INTO t_orders (customer_id, amount, ordered_at) VALUES (1, 5, '2024-01-02');
SELECT public.crm_fold() AS folded \gset
RESET search_path;
SELECT is((SELECT extract(year FROM updated_at) > 2000 AND revenue = 15
           FROM t_orders_crm_state WHERE customer = 1), true,
          'a search_path with a shadowing now() does not reach the triggers');

-- Trigger protocol: our trigger functions refuse any other use
CREATE TABLE t_misuse (customer_id int, amount numeric, ordered_at timestamptz);
CREATE TRIGGER misuse_row AFTER INSERT ON t_misuse FOR EACH ROW
    EXECUTE FUNCTION crm_orders_trigger('1');
SELECT throws_ok($$INSERT INTO t_misuse VALUES (1, 1, now())$$, '39P01',
                 'crm_orders_trigger: must be fired AFTER INSERT, UPDATE or DELETE, or BEFORE TRUNCATE, FOR EACH STATEMENT',
                 'row trigger refused');
DROP TRIGGER misuse_row ON t_misuse;
CREATE TRIGGER misuse_args AFTER INSERT ON t_misuse FOR EACH STATEMENT
    EXECUTE FUNCTION crm_orders_trigger();
SELECT throws_ok($$INSERT INTO t_misuse VALUES (1, 1, now())$$, '39P01',
                 'crm_orders_trigger: expected one argument, the tracking id', 'trigger without id refused');
DROP TRIGGER misuse_args ON t_misuse;
CREATE TRIGGER misuse_tables AFTER INSERT ON t_misuse FOR EACH STATEMENT
    EXECUTE FUNCTION crm_orders_trigger('1');
SELECT throws_ok($$INSERT INTO t_misuse VALUES (1, 1, now())$$, '39P01',
                 'crm_orders_trigger: transition tables crm_old and crm_new are missing',
                 'trigger without transition tables refused');
DROP TRIGGER misuse_tables ON t_misuse;
CREATE TRIGGER misuse_history AFTER DELETE ON t_misuse REFERENCING OLD TABLE AS crm_old
    FOR EACH STATEMENT EXECUTE FUNCTION crm_history_trigger('1');
SELECT throws_ok($$DELETE FROM t_misuse$$, '39P01',
                 'crm_history_trigger: must be fired by INSERT or UPDATE', 'history trigger on DELETE refused');

-- Ownership: another role can neither track, untrack nor rewrite settings
CREATE ROLE crm_test_intruder;
GRANT SELECT, INSERT ON t_other, t_orders TO crm_test_intruder;
SET ROLE crm_test_intruder;
SELECT throws_ok($$SELECT crm_track('t_other', 'c', 'a', 't')$$, '42501',
                 'must be owner of table t_other', 'a non-owner cannot track');
SELECT throws_ok($$SELECT crm_untrack('t_orders')$$, '42501', NULL, 'a non-owner cannot untrack');
UPDATE crm_tracking SET notify = 'none';
RESET ROLE;
SELECT is((SELECT notify FROM crm_tracking WHERE orders_table = 't_orders'::regclass), 'all',
          'a non-owner cannot change the settings of a tracked table');

-- Names with quotes, spaces and SQL in them
CREATE SCHEMA "My Shop";
CREATE TABLE "My Shop"."Order ""Book""; DROP TABLE t_orders; --" (
    "Customer Id" text, "Amount €" numeric, "when" timestamp, "promo?" boolean);
INSERT INTO "My Shop"."Order ""Book""; DROP TABLE t_orders; --" VALUES
    ('a''b', 5, '2024-01-01 23:30', true), ('a''b', 7, '2024-01-02 00:30', false);
SELECT is(crm_track('"My Shop"."Order ""Book""; DROP TABLE t_orders; --"', 'Customer Id', 'Amount €', 'when',
                    promo_column => 'promo?', time_zone => 'Europe/Paris'),
          1::bigint, 'a table with a hostile name is tracked');
INSERT INTO "My Shop"."Order ""Book""; DROP TABLE t_orders; --" VALUES ('x"y', 1, '2024-02-01', false);
UPDATE "My Shop"."Order ""Book""; DROP TABLE t_orders; --" SET "Amount €" = 8 WHERE "Amount €" = 7;
DELETE FROM "My Shop"."Order ""Book""; DROP TABLE t_orders; --" WHERE "Customer Id" = 'x"y';
SELECT crm_fold() AS folded \gset
SELECT is((SELECT format('%s %s %s', orders, revenue, purchase_days)
           FROM "My Shop"."Order ""Book""; DROP TABLE t_orders; --_crm_state" WHERE customer = 'a''b'),
          '2 13 {2024-01-01,2024-01-02}', 'local times are days in the tracking''s zone');
SELECT is_empty($$SELECT * FROM crm_verify('"My Shop"."Order ""Book""; DROP TABLE t_orders; --"')$$,
                'crm_verify on the hostile names');
SELECT has_table('t_orders', 'the SQL in the name did not run');
SELECT lives_ok($$SELECT crm_untrack('"My Shop"."Order ""Book""; DROP TABLE t_orders; --"')$$,
                'crm_untrack on the hostile names');

-- Every customer key type, and dates as order times
CREATE FUNCTION pg_temp.round_trip(key_type text, time_type text, k1 text, k2 text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('CREATE TABLE rt (c %s, a numeric, t %s)', key_type, time_type);
    EXECUTE format('INSERT INTO rt VALUES (%L, 1, %L), (%L, 2, %L)', k1, '2024-01-01', k2, '2024-01-02');
    PERFORM crm_track('rt', 'c', 'a', 't');
    EXECUTE format('INSERT INTO rt VALUES (%L, 3, %L)', k1, '2024-01-03');
    EXECUTE format('UPDATE rt SET c = %L WHERE a = 2', k1);
    PERFORM crm_fold();
    SELECT string_agg(format('%s:%s', orders, revenue), ' ' ORDER BY revenue) INTO result FROM rt_crm_state;
    IF EXISTS (SELECT FROM crm_verify('rt')) THEN
        result := result || ' (differences)';
    END IF;
    PERFORM crm_untrack('rt');
    DROP TABLE rt;
    RETURN result;
END $$;
SELECT is(pg_temp.round_trip('bigint', 'timestamptz', '9000000000', '9000000001'), '0:0 3:6', 'bigint keys');
SELECT is(pg_temp.round_trip('uuid', 'timestamptz', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
                             'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'), '0:0 3:6', 'uuid keys');
SELECT is(pg_temp.round_trip('varchar(10)', 'date', 'x', 'y'), '0:0 3:6', 'varchar keys, date times');
SELECT is(pg_temp.round_trip('smallint', 'timestamp', '1', '2'), '0:0 3:6', 'smallint keys, timestamp times');

-- A trigger whose crm_tracking row is gone -- as while a restore has not
-- brought the row yet -- lets the orders through and counts them for
-- nobody, whether the session knew the tracking or not
CREATE TABLE gone_new (c int, a numeric, t timestamptz);
CREATE TABLE gone_known (c int, a numeric, t timestamptz);
INSERT INTO gone_new VALUES (1, 5, '2024-01-01');
INSERT INTO gone_known VALUES (1, 5, '2024-01-01');
SELECT crm_track('gone_new', 'c', 'a', 't'), crm_track('gone_known', 'c', 'a', 't');
INSERT INTO gone_known VALUES (1, 6, '2024-01-02');
SELECT crm_fold() AS folded \gset
DELETE FROM crm_tracking WHERE orders_table IN ('gone_new'::regclass, 'gone_known'::regclass);
SELECT lives_ok($$INSERT INTO gone_new VALUES (1, 7, '2024-01-03')$$,
                'tracking row gone: an order of a session that never read the tracking is written');
SELECT lives_ok($$INSERT INTO gone_known VALUES (1, 7, '2024-01-03')$$,
                'tracking row gone: an order of a session that read it is written');
SELECT is(crm_fold(), 0::bigint, 'and neither reaches a state');
SELECT is((SELECT revenue FROM gone_known_crm_state), 11::numeric, 'the known state stays as it was');

-- crm_days_union
SELECT is(crm_days_union('{2024-01-03,2024-01-01}', '{2024-01-01,NULL,2023-12-31}'),
          '{2023-12-31,2024-01-01,2024-01-03}'::date[], 'days union: sorted, distinct, no NULL');
SELECT is(crm_days_union(NULL, NULL), '{}'::date[], 'days union of two NULLs is empty');
SELECT is(crm_days_union(NULL, '{2024-01-01}'), '{2024-01-01}'::date[], 'a NULL array counts as empty');

-- The crm.status_relay setting (see track_notify.sql for what it does):
-- on by default, a Boolean, and the crm prefix holds no other setting
LOAD 'crm';
SELECT is(current_setting('crm.status_relay'), 'on', 'crm.status_relay is on by default');
SET ROLE crm_test_intruder;
SELECT lives_ok($$SET LOCAL crm.status_relay = off$$, 'crm.status_relay can be turned off by a role without privileges');
RESET ROLE;
SELECT throws_ok($$SET LOCAL crm.status_relay = maybe$$, '22023', NULL,
                 'crm.status_relay takes only a Boolean');
SELECT throws_ok($$SET LOCAL crm.status_relais = on$$, '42602', NULL,
                 'a misspelt crm setting is an error, not a new placeholder');

SELECT * FROM finish();
ROLLBACK;
