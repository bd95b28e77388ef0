-- What only committed transactions show: pg_notify('crm_status') messages
-- (a loyal customer entering decline among them) and a rolled-back
-- transaction leaving no trace.  Runs in a scratch database through dblink
-- sessions that commit, so nothing outlives the test.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT plan(48);

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

-- The messages received so far: waiting up to two seconds for the first,
-- then until none has come for two polls 0.1 s apart (a large commit's
-- hundred messages take a while to reach the listener)
CREATE TEMP TABLE messages (m jsonb, bytes int, sender int);
CREATE FUNCTION pg_temp.receive() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    n record;
    got bigint := 0;
    quiet int := 0;
    before bigint;
BEGIN
    DELETE FROM messages;
    FOR i IN 1 .. 40 LOOP
        FOR n IN SELECT * FROM dblink_get_notify('listener') LOOP
            got := got + 1;
            INSERT INTO messages VALUES (n.extra::jsonb, octet_length(n.extra), n.be_pid);
        END LOOP;
        EXIT WHEN got > 0;
        PERFORM pg_sleep(0.05);
    END LOOP;
    WHILE got > 0 AND quiet < 2 LOOP
        PERFORM pg_sleep(0.1);
        before := got;
        FOR n IN SELECT * FROM dblink_get_notify('listener') LOOP
            got := got + 1;
            INSERT INTO messages VALUES (n.extra::jsonb, octet_length(n.extra), n.be_pid);
        END LOOP;
        quiet := CASE WHEN got = before THEN quiet + 1 ELSE 0 END;
    END LOOP;
    RETURN got;
END $$;
-- The changes those messages carry, each with its message's table
CREATE FUNCTION pg_temp.received() RETURNS SETOF jsonb LANGUAGE sql AS $$
    SELECT c || jsonb_build_object('table', m->'table')
    FROM messages, jsonb_array_elements(m->'changes') AS c $$;
CREATE FUNCTION pg_temp.state(c int) RETURNS text LANGUAGE sql AS $$
    SELECT s FROM dblink('writer', format('SELECT format(''%%s %%s %%s'', orders, lifecycle, loyalty)
                                          FROM o_crm_state WHERE customer = %s', c)) AS t(s text) $$;

-- A first order: one message, prospect -> acquisition
SELECT pg_temp.w($$INSERT INTO o VALUES (1, 10, '2024-01-20')$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'one message for a new customer');
SELECT is((SELECT m FROM pg_temp.received() AS m),
          '{"table": "public.o", "customer": 1, "status": "lifecycle", "old": "prospect",
            "new": "acquisition", "tier": "small", "loyalty": "none", "lifecycle": "acquisition"}'::jsonb,
          'the message says which table, customer and status, old and new');

-- It came from crm's status relay, which the writer's commit started, not
-- from the writer; the outbox it went through is empty again.  The relay
-- leaves after a second without messages, and the next message starts one.
CREATE FUNCTION pg_temp.writer_pid() RETURNS int LANGUAGE sql AS $$
    SELECT pid FROM dblink('writer', 'SELECT pg_backend_pid()') AS t(pid int) $$;
CREATE FUNCTION pg_temp.relays() RETURNS bigint LANGUAGE sql AS $$
    SELECT n FROM dblink('admin', $q$SELECT count(*) FROM pg_stat_activity
                                     WHERE backend_type = 'crm status relay'
                                       AND datname = 'crm_notify_test'$q$) AS t(n bigint) $$;
CREATE FUNCTION pg_temp.relay_left() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1 .. 100 LOOP
        IF pg_temp.relays() = 0 THEN
            RETURN true;
        END IF;
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN false;
END $$;
SELECT isnt((SELECT sender FROM messages), pg_temp.writer_pid(),
            'the message was sent by another process than the writer');
SELECT is((SELECT n FROM dblink('writer', 'SELECT count(*) FROM crm_status_outbox') AS t(n bigint)),
          0::bigint, 'the outbox is empty once the message is sent');
SELECT ok(pg_temp.relay_left(), 'the relay leaves when no message comes');
SELECT pg_temp.w($$INSERT INTO o VALUES (3, 10, '2024-01-20')$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'a message after the relay left is sent too');
SELECT isnt((SELECT sender FROM messages), pg_temp.writer_pid(), 'by a new relay');
-- Three transactions in a row: a first order, its refund and the same order
-- again.  The first and last change are equal; the relay may send all three
-- in one transaction, where NOTIFY would drop a payload equal to an earlier
-- one, but each message names its transaction, as the history does.
SELECT pg_temp.w($$BEGIN; INSERT INTO o VALUES (7, 10, '2024-01-20'); COMMIT;
                   BEGIN; DELETE FROM o WHERE customer_id = 7; COMMIT;
                   BEGIN; INSERT INTO o VALUES (7, 10, '2024-01-20'); COMMIT$$) \g /dev/null
SELECT is(pg_temp.receive(), 3::bigint, 'three transactions, three messages');
SELECT is((SELECT string_agg(c->>'old' || '>' || (c->>'new'), ' ' ORDER BY (m->>'transaction')::bigint)
           FROM messages, jsonb_array_elements(m->'changes') AS c),
          'prospect>acquisition acquisition>prospect prospect>acquisition',
          'the equal changes of the first and the last are both sent, in order');
SELECT is((SELECT array_agg((m->>'transaction')::bigint ORDER BY (m->>'transaction')::bigint) FROM messages),
          (SELECT array_agg(x ORDER BY x) FROM dblink('writer',
              'SELECT transaction_id::text::bigint FROM o_crm_history WHERE customer = 7') AS t(x bigint)),
          'each message names the transaction the history records for its change');
SELECT is((SELECT count(DISTINCT m->>'transaction') FROM messages), 3::bigint,
          'three different transactions');
-- With crm.status_relay off, the writer sends its messages itself
DO $$
BEGIN
    PERFORM pg_temp.w('SET crm.status_relay = off');
    PERFORM pg_temp.w($q$INSERT INTO o VALUES (6, 10, '2024-01-20')$q$);
    PERFORM pg_temp.w('RESET crm.status_relay');
END $$;
SELECT is(pg_temp.receive(), 1::bigint, 'crm.status_relay off: the message is sent');
SELECT is((SELECT sender FROM messages), pg_temp.writer_pid(), 'by the writer');
-- A relay stopped while running (here right after sending, still waiting
-- for more) is replaced by the next transaction with a message
SELECT pg_temp.w($$INSERT INTO o VALUES (3, 10, '2024-01-25')$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'a second order of customer 3 sends a message');
SELECT * FROM dblink('admin', $$SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                               WHERE backend_type = 'crm status relay'
                                 AND datname = 'crm_notify_test'$$) AS t(b boolean) \g /dev/null
SELECT ok(pg_temp.relay_left(), 'the relay is stopped');
SELECT pg_temp.w($$INSERT INTO o VALUES (6, 10, '2024-01-25')$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'the next message is still sent');

-- A rolled-back transaction changes nothing and sends nothing
DO $$
BEGIN
    PERFORM pg_temp.w('BEGIN');
    PERFORM pg_temp.w($q$INSERT INTO o VALUES (2, 10, '2024-01-20'), (1, 5, '2024-01-25')$q$);
    PERFORM pg_temp.w('ROLLBACK');
END $$;
SELECT is(pg_temp.receive(), 0::bigint, 'no message from a rolled-back transaction');
SELECT is(pg_temp.state(2), NULL, 'no state from a rolled-back transaction');
SELECT is(pg_temp.state(1), '1 acquisition none', 'customer 1 as before the rolled-back transaction');

-- Customer 4 buys every 10 days: growth, repeat rate 2/3: inertia.  Two
-- weeks later (idle 25 days > 2 gaps) they are in decline: crm_refresh
-- records it and the message carries the loyalty type, the early warning.
SELECT pg_temp.w($$INSERT INTO o VALUES (4, 10, '2024-01-01'), (4, 10, '2024-01-11'),
                                        (4, 10, '2024-01-21')$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'one message for one statement');
SELECT is((SELECT count(*) FROM pg_temp.received()), 2::bigint,
          'a new repeat buyer: lifecycle and loyalty changes in it');
SELECT is(pg_temp.state(4), '3 growth inertia', 'customer 4 is a loyal customer in growth');
DO $$
BEGIN
    PERFORM pg_temp.w($q$UPDATE crm_tracking SET as_of = '2024-02-15'$q$);
    PERFORM pg_temp.w($q$SELECT crm_refresh('o')$q$);
END $$;
SELECT is(pg_temp.receive(), 1::bigint, 'crm_refresh sends its changes');
SELECT is((SELECT m - 'table' - 'tier' FROM pg_temp.received() AS m
           WHERE m->>'customer' = '4' AND m->>'status' = 'lifecycle'),
          '{"customer": 4, "status": "lifecycle", "old": "growth", "new": "decline",
            "loyalty": "inertia", "lifecycle": "decline"}'::jsonb,
          'a loyal customer entering decline is announced with its loyalty type');
SELECT ok((SELECT b FROM dblink('writer',
               'SELECT loyal_customer_leaving FROM o_crm_alerts WHERE customer = 4') AS t(b boolean)),
          'and listed in the alerts view');

-- A bulk load of 500 new customers: their 500 changes come in several
-- messages, each below the 8000-byte limit of a NOTIFY payload.
SELECT pg_temp.w($$INSERT INTO o SELECT 1000 + i, 5, '2024-01-31' FROM generate_series(1, 500) AS i$$) \g /dev/null
SELECT cmp_ok(pg_temp.receive(), '>', 5::bigint, 'a bulk load sends several messages');
SELECT is((SELECT count(*) FROM pg_temp.received() AS m WHERE m->>'new' = 'acquisition'), 500::bigint,
          'which carry every change');
SELECT cmp_ok((SELECT max(bytes) FROM messages), '<', 8000, 'each message fits in a NOTIFY payload');
-- 9,000 changes: recorded and sent in batches of 8,192
SELECT pg_temp.w($$INSERT INTO o SELECT 20000 + i, 5, '2024-01-31' FROM generate_series(1, 9000) AS i$$) \g /dev/null
SELECT cmp_ok(pg_temp.receive(), '>', 100::bigint, 'a larger load sends more messages');
SELECT is((SELECT count(*) || ' changes of ' || count(DISTINCT m->>'customer') || ' customers'
           FROM pg_temp.received() AS m WHERE m->>'new' = 'acquisition'),
          '9000 changes of 9000 customers', 'and every one of its changes, once');
SELECT is((SELECT n FROM dblink('writer', 'SELECT count(*) FROM o_crm_history WHERE customer > 20000')
           AS t(n bigint)), 9000::bigint, 'the history has them all');

-- Text keys are JSON strings, escaped, whether one customer changes or
-- several at once (the two ways the messages are built)
DO $$
BEGIN
    PERFORM pg_temp.w('CREATE TABLE t (customer text, amount numeric, ordered_at timestamptz)');
    PERFORM pg_temp.w($q$SELECT crm_track('t', 'customer', 'amount', 'ordered_at',
                                          as_of => '2024-02-01', time_zone => 'UTC')$q$);
END $$;
SELECT pg_temp.w($$INSERT INTO t VALUES (E'say "hi"\\ \n', 10, '2024-01-20')$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'one message for a new text-keyed customer');
SELECT is((SELECT m->>'customer' FROM pg_temp.received() AS m), E'say "hi"\\ \n',
          'a key with quotes, a backslash and a newline comes back whole');
SELECT pg_temp.w($$INSERT INTO t SELECT E'k"\\' || i, 5, '2024-01-20' FROM generate_series(1, 6) AS i$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'one message for six new customers');
SELECT is((SELECT array_agg(m->>'customer' ORDER BY m->>'customer') FROM pg_temp.received() AS m),
          (SELECT array_agg(E'k"\\' || i ORDER BY E'k"\\' || i) FROM generate_series(1, 6) AS i),
          'and their keys come back whole');

-- A key too long for any message: the change is recorded, not sent
SELECT pg_temp.w($$INSERT INTO t VALUES (repeat('x', 8000), 10, '2024-01-20')$$) \g /dev/null
SELECT is(pg_temp.receive(), 0::bigint, 'no message for a key longer than a payload');
SELECT is((SELECT n FROM dblink('writer', $$SELECT count(*) FROM t_crm_history WHERE customer = repeat('x', 8000)$$)
           AS t(n bigint)), 1::bigint, 'but the history has its change');

-- notify => 'none': the history still records, no message is sent
DO $$
BEGIN
    PERFORM pg_temp.w($q$UPDATE crm_tracking SET notify = 'none'$q$);
    PERFORM pg_temp.w($q$INSERT INTO o VALUES (5, 10, '2024-02-10')$q$);
END $$;
SELECT is(pg_temp.receive(), 0::bigint, 'no message with notify off');
SELECT is((SELECT n FROM dblink('writer', 'SELECT count(*) FROM o_crm_history WHERE customer = 5')
           AS t(n bigint)), 1::bigint, 'but the history has the change');
SELECT is_empty($$SELECT * FROM dblink('writer', 'SELECT * FROM crm_verify(''o'')')
                  AS t(c text, f text, a text, b text)$$,
                'crm_verify finds nothing after committed and rolled-back transactions');

-- notify => 'alerts': only customers entering decline or churned are sent.
-- Judged on 2025-06-01, customer 9's orders of Jan 1, Mar 31 and Apr 1
-- (span 90 days over 2 gaps of 45, idle 61 days) are growth and make them
-- inertia-loyal: recorded, not sent.  An order of Mar 30 makes the gaps 30
-- days, and 61 idle days are more than two gaps: decline, sent alone.
DO $$
BEGIN
    PERFORM pg_temp.w($q$UPDATE crm_tracking SET notify = 'alerts', as_of = '2025-06-01'$q$);
    PERFORM pg_temp.w($q$INSERT INTO o VALUES (9, 10, '2025-01-01'), (9, 10, '2025-04-01'),
                                              (9, 10, '2025-03-31')$q$);
END $$;
SELECT is(pg_temp.receive(), 0::bigint, 'alerts: a new customer in growth is not announced');
SELECT is(pg_temp.state(9), '3 growth inertia', 'customer 9 is in growth');
SELECT pg_temp.w($$INSERT INTO o VALUES (9, 10, '2025-03-30')$$) \g /dev/null
SELECT is(pg_temp.receive(), 1::bigint, 'alerts: one message when the customer enters decline');
SELECT is((SELECT jsonb_agg(m - 'table' - 'tier') FROM pg_temp.received() AS m),
          '[{"customer": 9, "status": "lifecycle", "old": "growth", "new": "decline",
             "loyalty": "inertia", "lifecycle": "decline"}]'::jsonb,
          'with only that change');
SELECT is((SELECT n FROM dblink('writer', $q$SELECT count(*) FROM o_crm_history
                                         WHERE customer = 9 AND status <> 'tier'$q$) AS t(n bigint)),
          3::bigint, 'the history has all three changes of customer 9');
-- a refresh a year and more after most first orders: churned customers,
-- and maybe new tiers; the messages carry the churned and declining only
SELECT pg_temp.w($$SELECT crm_refresh('o')$$) \g /dev/null
SELECT cmp_ok(pg_temp.receive(), '>', 0::bigint, 'alerts: crm_refresh sends the customers who churned');
SELECT is((SELECT count(*) FROM pg_temp.received() AS m
           WHERE m->>'status' <> 'lifecycle' OR m->>'new' NOT IN ('decline', 'churned')), 0::bigint,
          'and nothing else');
SELECT is((SELECT count(*) FROM pg_temp.received()),
          (SELECT n FROM dblink('writer', $q$SELECT count(*) FROM o_crm_history
                                         WHERE transaction_id = (SELECT max(transaction_id) FROM o_crm_history)
                                           AND status = 'lifecycle' AND new_value IN ('decline', 'churned')$q$)
                         AS t(n bigint)),
          'every one of them');

DO $$
BEGIN
    PERFORM dblink_disconnect('writer');
    PERFORM dblink_disconnect('listener');
    PERFORM dblink_exec('admin', 'DROP DATABASE crm_notify_test');
    PERFORM dblink_disconnect('admin');
END $$;

SELECT * FROM finish();
ROLLBACK;
