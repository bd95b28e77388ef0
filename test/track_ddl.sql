-- What DDL does to a tracked table: renames of the table, its schema and
-- its columns are followed; a new type of the customer key goes to the
-- state and history; changes tracking cannot follow are refused when they
-- are made; partitions and inheritance children -- present, created,
-- attached, detached, truncated and dropped -- are tracked with the table;
-- dropping the table drops its tracking.  After each, writes go on and
-- crm_verify finds nothing.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(57);

-- Figures of every customer of a tracked table, folded first
CREATE FUNCTION pg_temp.figures(t text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    PERFORM crm_fold();
    EXECUTE format('SELECT string_agg(format(''%%s:%%s/%%s'', customer, orders, revenue), '' '' ORDER BY customer::text)
                    FROM %s', t) INTO result;
    RETURN result;
END $$;
CREATE FUNCTION pg_temp.differences(t text) RETURNS bigint LANGUAGE sql AS $$
    SELECT count(*) FROM crm_verify(t::regclass) $$;

-- 1. Renames: columns, the table, its schema
CREATE TABLE o (id serial, customer_id int, amount numeric, ordered_at timestamptz, note text);
INSERT INTO o (customer_id, amount, ordered_at) VALUES (1, 10, '2024-01-01'), (2, 5, '2024-01-02');
SELECT crm_track('o', 'customer_id', 'amount', 'ordered_at', time_zone => 'UTC');
ALTER TABLE o RENAME COLUMN amount TO total;
ALTER TABLE o RENAME customer_id TO client;
SELECT is((SELECT format('%s %s %s', customer_column, amount_column, ordered_at_column) FROM crm_tracking
           WHERE orders_table = 'o'::regclass), 'client total ordered_at',
          'renamed columns are renamed in crm_tracking');
SELECT lives_ok($$INSERT INTO o (client, total, ordered_at) VALUES (1, 7, '2024-01-03')$$,
                'orders are written after the renames');
SELECT is(pg_temp.figures('o_crm_state'), '1:2/17 2:1/5', 'and counted');
CREATE SCHEMA elsewhere;
ALTER TABLE o RENAME TO orders_moved;
ALTER TABLE orders_moved SET SCHEMA elsewhere;
SELECT lives_ok($$INSERT INTO elsewhere.orders_moved (client, total, ordered_at) VALUES (2, 1, '2024-01-04')$$,
                'orders are written after the table is renamed and moved');
SELECT lives_ok($$UPDATE elsewhere.orders_moved SET total = total + 1 WHERE client = 1$$, 'and updated');
SELECT is(pg_temp.figures('o_crm_state'), '1:2/19 2:2/6', 'the state (where it was) follows');
SELECT is(pg_temp.differences('elsewhere.orders_moved'), 0::bigint,
          'crm_verify under the new name: nothing differs');
SELECT is((SELECT orders_table::text FROM crm_tracking WHERE prefix = 'o_crm'), 'elsewhere.orders_moved',
          'crm_tracking names the table by its new name');

-- 2. Changes tracking cannot follow are refused when they are made
SELECT throws_ok($$ALTER TABLE elsewhere.orders_moved DROP COLUMN total$$, '2BP01',
                 'cannot drop column "total" of elsewhere.orders_moved: crm tracks it',
                 'dropping a tracked column is refused');
SELECT lives_ok($$ALTER TABLE elsewhere.orders_moved DROP COLUMN note$$, 'dropping another column is not');
SELECT throws_ok($$ALTER TABLE elsewhere.orders_moved ALTER COLUMN total TYPE text$$, '42804',
                 'column "total" of elsewhere.orders_moved is tracked by crm and cannot have type text',
                 'an amount of a type tracking cannot read is refused');
SELECT lives_ok($$ALTER TABLE elsewhere.orders_moved ALTER COLUMN total TYPE float8$$,
                'an amount that becomes float8 is taken');
SELECT throws_ok($$DROP TABLE o_crm_state$$, '2BP01', NULL, 'the state of a tracked table cannot be dropped');
SELECT throws_ok($$DROP TABLE o_crm_history$$, '2BP01', NULL, 'nor its history');
SELECT lives_ok($$INSERT INTO elsewhere.orders_moved (client, total, ordered_at) VALUES (3, 2.5, '2024-01-05')$$,
                'orders go on');
SELECT is(pg_temp.differences('elsewhere.orders_moved'), 0::bigint, 'crm_verify: nothing differs');
-- A new owner of the table owns what the fold writes as that owner
CREATE ROLE crm_test_new_owner;
ALTER TABLE elsewhere.orders_moved OWNER TO crm_test_new_owner;
SELECT is((SELECT string_agg(DISTINCT relowner::regrole::text, ',') FROM pg_class
           WHERE relname LIKE 'o\_crm\_%' AND relkind IN ('r', 'v')), 'crm_test_new_owner',
          'the state, history and views follow a new owner of the table');
SELECT lives_ok($$TRUNCATE elsewhere.orders_moved$$, 'a truncation, folded as the new owner');
SELECT is(pg_temp.figures('o_crm_state'), '1:0/0 2:0/0 3:0/0', 'empties every customer');

-- 3. The customer key's type changes: the state and history follow
CREATE TABLE k (customer varchar(5), amount numeric, at timestamptz);
INSERT INTO k VALUES ('ab', 1, '2024-01-01'), ('cd', 2, '2024-01-02');
SELECT crm_track('k', 'customer', 'amount', 'at', time_zone => 'UTC');
ALTER TABLE k ALTER COLUMN customer TYPE varchar(50);
SELECT lives_ok($$INSERT INTO k VALUES (repeat('x', 40), 3, '2024-01-03')$$,
                'varchar(5) -> varchar(50): a longer key is written');
SELECT is((SELECT format_type(atttypid, atttypmod) FROM pg_attribute
           WHERE attrelid = 'k_crm_state'::regclass AND attname = 'customer'), 'character varying(50)',
          'and the state''s key follows');
SELECT is(pg_temp.figures('k_crm_state'), 'ab:1/1 cd:1/2 ' || repeat('x', 40) || ':1/3', 'every key counted');
CREATE TABLE n (customer int, amount numeric, at timestamptz);
INSERT INTO n VALUES (1, 1, '2024-01-01'), (2, 2, '2024-01-02');
SELECT crm_track('n', 'customer', 'amount', 'at', time_zone => 'UTC');
INSERT INTO n VALUES (1, 5, '2024-01-03');
SELECT crm_fold() AS folded \gset
ALTER TABLE n ALTER COLUMN customer TYPE bigint;
SELECT lives_ok($$INSERT INTO n VALUES (9000000000, 1, '2024-01-04')$$, 'int -> bigint: a bigint key is written');
ALTER TABLE n ALTER COLUMN customer TYPE text;
SELECT lives_ok($$INSERT INTO n VALUES (repeat('y', 5000), 1, '2024-01-05')$$,
                'int -> text: a key of 5,000 characters is written');
SELECT is(pg_temp.figures('n_crm_state'), '1:2/6 2:1/2 9000000000:1/1 ' || repeat('y', 5000) || ':1/1',
          'every key counted');
SELECT is((SELECT string_agg(format_type(atttypid, atttypmod), ',') FROM pg_attribute
           WHERE attrelid IN ('n_crm_state'::regclass, 'n_crm_history'::regclass) AND attname = 'customer'),
          'text,text', 'state and history keys are text');
SELECT is((SELECT count(*) FROM n_crm_history WHERE customer = '1'), 1::bigint,
          'the history of customer 1 is kept under the new key type');
SELECT is((SELECT string_agg(d, ', ' ORDER BY d COLLATE "C")
           FROM (SELECT coalesce(pg_get_constraintdef(c.oid), am.amname || ' ' || pg_get_indexdef(i.indexrelid, 1, true)) AS d
                 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_am am ON am.oid = x.relam
                 LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
                 WHERE i.indrelid = 'n_crm_history'::regclass) k),
          'PRIMARY KEY (id), brin changed_at, hash customer',
          'the history is keyed by id, and its customers found by a hash index, which takes keys of any length');
SELECT is(pg_temp.differences('n'), 0::bigint, 'crm_verify: nothing differs');
SELECT ok((SELECT count(*) > 0 FROM n_crm_segments), 'the views were made again');

-- 4. A table partitioned by range of order time, one partition a year,
-- and retention by dropping old ones
CREATE TABLE p (id serial, customer_id int, amount numeric, at timestamptz) PARTITION BY RANGE (at);
CREATE TABLE p2023 PARTITION OF p FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE p2024 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
INSERT INTO p (customer_id, amount, at) VALUES (1, 10, '2023-06-01'), (1, 20, '2024-06-01'), (2, 5, '2024-07-01');
SELECT is(crm_track('p', 'customer_id', 'amount', 'at', time_zone => 'UTC'), 2::bigint, 'a partitioned table is tracked');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'crm\_track\_%' AND tgrelid = 'p2023'::regclass),
          4::bigint, 'its partitions got the triggers');
INSERT INTO p2024 (customer_id, amount, at) VALUES (2, 1, '2024-08-01');
SELECT is(pg_temp.figures('p_crm_state'), '1:2/30 2:2/6', 'an order written straight into a partition');
UPDATE p2023 SET amount = 11;
DELETE FROM p2024 WHERE amount = 5;
SELECT is(pg_temp.figures('p_crm_state'), '1:2/31 2:1/1', 'updates and deletes on a partition');
UPDATE p SET at = '2023-08-01' WHERE amount = 1;
SELECT is(pg_temp.figures('p_crm_state'), '1:2/31 2:1/1', 'an update through the parent moving an order between partitions');
CREATE TABLE p2025 PARTITION OF p FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO p2025 (customer_id, amount, at) VALUES (3, 4, '2025-02-01');
SELECT is(pg_temp.figures('p_crm_state'), '1:2/31 2:1/1 3:1/4', 'a partition created later is tracked');
CREATE TABLE p2022 (id int NOT NULL, customer_id int, amount numeric, at timestamptz);
INSERT INTO p2022 VALUES (100, 1, 100, '2022-03-01'), (101, 4, 7, '2022-04-01');
ALTER TABLE p ATTACH PARTITION p2022 FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
SELECT is(pg_temp.figures('p_crm_state'), '1:3/131 2:1/1 3:1/4 4:1/7', 'an attached partition brings its orders');
INSERT INTO p2022 VALUES (102, 4, 1, '2022-05-01');
SELECT is(pg_temp.figures('p_crm_state'), '1:3/131 2:1/1 3:1/4 4:2/8', 'and is tracked from then on');
ALTER TABLE p DETACH PARTITION p2022;
SELECT is(pg_temp.figures('p_crm_state'), '1:2/31 2:1/1 3:1/4 4:0/0', 'a detached partition takes its orders away');
SELECT is((SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'crm\_track\_%' AND tgrelid = 'p2022'::regclass),
          0::bigint, 'and loses the triggers');
TRUNCATE p2025;
SELECT is(pg_temp.figures('p_crm_state'), '1:2/31 2:1/1 3:0/0 4:0/0', 'a truncated partition');
DROP TABLE p2023;
SELECT is(pg_temp.figures('p_crm_state'), '1:1/20 2:0/0 3:0/0 4:0/0', 'a dropped partition (retention) takes its orders away');
SELECT is(pg_temp.differences('p'), 0::bigint, 'crm_verify: nothing differs');
TRUNCATE p;
SELECT is(pg_temp.figures('p_crm_state'), '1:0/0 2:0/0 3:0/0 4:0/0', 'the whole table truncated');

-- Hash partitions on the customer
CREATE TABLE h (customer_id int, amount numeric, at timestamptz) PARTITION BY HASH (customer_id);
CREATE TABLE h0 PARTITION OF h FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE h1 PARTITION OF h FOR VALUES WITH (MODULUS 2, REMAINDER 1);
SELECT crm_track('h', 'customer_id', 'amount', 'at', time_zone => 'UTC');
INSERT INTO h SELECT i % 10, i, '2024-01-01'::timestamptz + i * interval '1 day' FROM generate_series(1, 100) AS i;
UPDATE h1 SET amount = amount * 2;
DELETE FROM h0 WHERE amount < 20;
SELECT is(pg_temp.differences('h'), 0::bigint, 'hash partitions: inserts, updates and deletes of each partition');

-- 5. Inheritance children
CREATE TABLE parent (customer_id int, amount numeric, at timestamptz);
CREATE TABLE child () INHERITS (parent);
INSERT INTO parent VALUES (1, 1, '2024-01-01');
INSERT INTO child VALUES (1, 2, '2024-01-02');
SELECT crm_track('parent', 'customer_id', 'amount', 'at', time_zone => 'UTC');
INSERT INTO child VALUES (2, 3, '2024-01-03');
SELECT is(pg_temp.figures('parent_crm_state'), '1:2/3 2:1/3', 'a child''s orders count');
UPDATE parent SET amount = amount + 10;
SELECT is(pg_temp.figures('parent_crm_state'), '1:2/23 2:1/13', 'an update of the parent reaching the child');
TRUNCATE ONLY parent;
SELECT is(pg_temp.figures('parent_crm_state'), '1:1/12 2:1/13', 'TRUNCATE ONLY the parent keeps the child''s orders');
ALTER TABLE child NO INHERIT parent;
SELECT is(pg_temp.figures('parent_crm_state'), '1:0/0 2:0/0', 'a child that leaves takes its orders');
ALTER TABLE child INHERIT parent;
SELECT is(pg_temp.figures('parent_crm_state'), '1:1/12 2:1/13', 'and brings them back when it returns');
SELECT is(pg_temp.differences('parent'), 0::bigint, 'crm_verify: nothing differs');

-- 6. Dropping the tracked table drops its tracking; a new table of the
-- same name can be tracked
DROP TABLE k;
SELECT is((SELECT count(*) FROM crm_tracking WHERE prefix = 'k_crm'), 0::bigint,
          'the crm_tracking row of a dropped table is gone');
SELECT is_empty($$SELECT relname FROM pg_class WHERE relname LIKE 'k\_crm\_%'$$,
                'and its state, history and views');
CREATE TABLE k (customer int, amount numeric, at timestamptz);
SELECT is(crm_track('k', 'customer', 'amount', 'at'), 0::bigint, 'a new table of that name is tracked');
CREATE VIEW my_report AS SELECT * FROM n_crm_pyramid;
DROP TABLE n;
SELECT is((SELECT count(*) FROM crm_tracking WHERE prefix = 'n_crm'), 0::bigint,
          'a table whose views a view of the user''s reads is dropped, and its tracking');
SELECT has_table('n_crm_state', 'the state it could not drop stays');
SELECT lives_ok($$DROP VIEW my_report; DROP VIEW n_crm_segments, n_crm_pyramid, n_crm_loyalty_mix,
                    n_crm_lifecycle_mix, n_crm_alerts; DROP TABLE n_crm_state, n_crm_history$$,
                'and can then be dropped by hand');

SELECT * FROM finish();
ROLLBACK;
