-- What only committed transactions show: pg_notify('crm_status') messages
-- (a loyal customer entering decline among them) and a rolled-back
-- transaction leaving no trace.  Runs in a scratch database through dblink
-- sessions that commit, so nothing outlives the test.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(12);

CREATE FUNCTION pg_temp.connstr(db text) RETURNS text LANGUAGE sql AS $$
    SELECT format('dbname=%s port=%s host=%s user=%s', db, current_setting('port'),
                  split_part(current_setting('unix_socket_directories'), ',', 1), current_user) $$;
-- Run SQL in the writer session, which commits each statement
CREATE FUNCTION pg_temp.w(sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM * FROM dblink('writer', sql) AS t(x text);
END $$;

DO $$
BEGIN
    PERFORM dblink_connect('admin', pg_temp.connstr(current_database()));
    PERFORM dblink_exec('admin', 'DROP DATABASE IF EXISTS crm_notify_test');
    PERFORM dblink_exec('admin', 'CREATE DATABASE crm_notify_test');
    PERFORM dblink_connect('writer', pg_temp.connstr('crm_notify_test'));
    PERFORM dblink_connect('listener', pg_temp.connstr('crm_notify_test'));
    PERFORM pg_temp.w($q$SET TimeZone = 'UTC'$q$);
    PERFORM pg_temp.w('CREATE EXTENSION crm');
    PERFORM pg_temp.w('CREATE TABLE o (customer_id int, amount numeric, ordered_at timestamptz)');
    PERFORM pg_temp.w($q$SELECT crm_track('o', 'customer_id', 'amount', 'ordered_at',
                                          as_of => '2024-02-01', time_zone => 'UTC')$q$);
    PERFORM dblink_exec('listener', 'LISTEN crm_status');
END $$;

-- The payloads received so far, waiting up to two seconds for the first
CREATE FUNCTION pg_temp.received() RETURNS SETOF jsonb LANGUAGE plpgsql AS $$
DECLARE
    n record;
    got boolean := false;
BEGIN
    FOR i IN 1 .. 40 LOOP
        FOR n IN SELECT * FROM dblink_get_notify('listener') LOOP
            got := true;
            RETURN NEXT n.extra::jsonb;
        END LOOP;
        EXIT WHEN got;
        PERFORM pg_sleep(0.05);
    END LOOP;
END $$;
CREATE FUNCTION pg_temp.state(c int) RETURNS text LANGUAGE sql AS $$
    SELECT s FROM dblink('writer', format('SELECT format(''%%s %%s %%s'', orders, lifecycle, loyalty)
                                          FROM o_crm_state WHERE customer = %s', c)) AS t(s text) $$;

-- A first order: one message, prospect -> acquisition
SELECT pg_temp.w($$INSERT INTO o VALUES (1, 10, '2024-01-20')$$) \g /dev/null
CREATE TEMP TABLE got AS SELECT * FROM pg_temp.received() AS m;
SELECT is((SELECT count(*) FROM got), 1::bigint, 'one message for a new customer');
SELECT is((SELECT m FROM got),
          '{"table": "public.o", "customer": 1, "status": "lifecycle", "old": "prospect",
            "new": "acquisition", "tier": "small", "loyalty": "none", "lifecycle": "acquisition"}'::jsonb,
          'the message says which table, customer and status, old and new');

-- A rolled-back transaction changes nothing and sends nothing
DO $$
BEGIN
    PERFORM pg_temp.w('BEGIN');
    PERFORM pg_temp.w($q$INSERT INTO o VALUES (2, 10, '2024-01-20'), (1, 5, '2024-01-25')$q$);
    PERFORM pg_temp.w('ROLLBACK');
END $$;
SELECT is((SELECT count(*) FROM pg_temp.received()), 0::bigint, 'no message from a rolled-back transaction');
SELECT is(pg_temp.state(2), NULL, 'no state from a rolled-back transaction');
SELECT is(pg_temp.state(1), '1 acquisition none', 'customer 1 as before the rolled-back transaction');

-- Customer 4 buys every 10 days: growth, repeat rate 2/3: inertia.  Two
-- weeks later (idle 25 days > 2 gaps) they are in decline: crm_refresh
-- records it and the message carries the loyalty type, the early warning.
SELECT pg_temp.w($$INSERT INTO o VALUES (4, 10, '2024-01-01'), (4, 10, '2024-01-11'),
                                        (4, 10, '2024-01-21')$$) \g /dev/null
SELECT is((SELECT count(*) FROM pg_temp.received()), 2::bigint,
          'a new repeat buyer: lifecycle and loyalty messages');
SELECT is(pg_temp.state(4), '3 growth inertia', 'customer 4 is a loyal customer in growth');
DO $$
BEGIN
    PERFORM pg_temp.w($q$UPDATE crm_tracking SET as_of = '2024-02-15'$q$);
    PERFORM pg_temp.w($q$SELECT crm_refresh('o')$q$);
END $$;
DELETE FROM got;
INSERT INTO got SELECT * FROM pg_temp.received();
SELECT is((SELECT m - 'table' - 'tier' FROM got WHERE m->>'customer' = '4'),
          '{"customer": 4, "status": "lifecycle", "old": "growth", "new": "decline",
            "loyalty": "inertia", "lifecycle": "decline"}'::jsonb,
          'a loyal customer entering decline is announced with its loyalty type');
SELECT ok((SELECT b FROM dblink('writer',
               'SELECT loyal_customer_leaving FROM o_crm_alerts WHERE customer = 4') AS t(b boolean)),
          'and listed in the alerts view');

-- notify => false: the history still records, no message is sent
DO $$
BEGIN
    PERFORM pg_temp.w('UPDATE crm_tracking SET notify = false');
    PERFORM pg_temp.w($q$INSERT INTO o VALUES (5, 10, '2024-02-10')$q$);
END $$;
SELECT is((SELECT count(*) FROM pg_temp.received()), 0::bigint, 'no message with notify off');
SELECT is((SELECT n FROM dblink('writer', 'SELECT count(*) FROM o_crm_history WHERE customer = 5')
           AS t(n bigint)), 1::bigint, 'but the history has the change');
SELECT is_empty($$SELECT * FROM dblink('writer', 'SELECT * FROM crm_verify(''o'')')
                  AS t(c text, f text, a text, b text)$$,
                'crm_verify finds nothing after committed and rolled-back transactions');

DO $$
BEGIN
    PERFORM dblink_disconnect('writer');
    PERFORM dblink_disconnect('listener');
    PERFORM dblink_exec('admin', 'DROP DATABASE crm_notify_test');
    PERFORM dblink_disconnect('admin');
END $$;

SELECT * FROM finish();
ROLLBACK;
