-- Orders are folded into their customers' state rows in C at commit
-- (src/track/fold.c), each customer's new orders summed up first.  Each
-- pair of orders tables here gets the same orders one INSERT at a time:
-- table a folds each order at once (as transactions of one order each
-- would), table b folds them all at the end (as one transaction of many
-- statements).  The figures and statuses of the two must be equal, and
-- crm_verify must find nothing, for every key, amount and time type,
-- refunds, zero amounts, promotions, days that start at midnight in New
-- York, orders before the first purchase day, and tiers that change on the
-- way.  Then what the fold must keep from UPDATE and INSERT: row triggers,
-- constraints, column defaults; and orders dated after as_of.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
SET check_function_bodies = off;  -- the helpers name tables crm_track creates
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(38);

-- Three pairs: text key, numeric amount, timestamptz, a promotion flag;
-- bigint key, float8 amount, timestamp (local New York time); int key,
-- integer amount, date.
CREATE TABLE a1 (id serial, customer text, amount numeric(10, 2), at timestamptz, promo boolean);
CREATE TABLE a2 (id serial, customer bigint, amount float8, at timestamp);
CREATE TABLE a3 (id serial, customer int, amount integer, at date);
CREATE TABLE b1 (LIKE a1 INCLUDING ALL);
CREATE TABLE b2 (LIKE a2 INCLUDING ALL);
CREATE TABLE b3 (LIKE a3 INCLUDING ALL);

-- The same first 60 orders of 30 customers in each table before tracking,
-- so the backfill sets tier thresholds: top 10% vip, 20% major, 50%
-- ordinary (3, 3 and 9 of 30 customers)
CREATE FUNCTION pg_temp.seed(n int) RETURNS TABLE (c int, amount numeric, at timestamptz, promo boolean)
LANGUAGE sql AS $$
    SELECT 1 + i % 30, ((i * 7919) % 400 - 20)::numeric / 2,
           '2024-01-01 03:00+00'::timestamptz + ((i * 104729) % (150 * 24)) * interval '1 hour',
           CASE i % 3 WHEN 0 THEN true WHEN 1 THEN false END
    FROM generate_series(1, n) AS i $$;
INSERT INTO a1 (customer, amount, at, promo) SELECT 'c' || c, amount, at, promo FROM pg_temp.seed(60);
INSERT INTO a2 (customer, amount, at) SELECT c, amount, at AT TIME ZONE 'America/New_York' FROM pg_temp.seed(60);
INSERT INTO a3 (customer, amount, at) SELECT c, round(amount), (at AT TIME ZONE 'America/New_York')::date FROM pg_temp.seed(60);
INSERT INTO b1 SELECT * FROM a1;
INSERT INTO b2 SELECT * FROM a2;
INSERT INTO b3 SELECT * FROM a3;

SELECT crm_track(t, 'customer', 'amount', 'at', promo_column => CASE WHEN t::text LIKE '%1' THEN 'promo' END,
                 cuts => '{0.1,0.2,0.5}', points_per_unit => 2, tier_multipliers => '{1,1.5,2,3}',
                 as_of => '2024-07-01 00:00+00', time_zone => 'America/New_York', notify => 'none')
FROM unnest('{a1,a2,a3,b1,b2,b3}'::regclass[]) AS t;

-- Orders 61 .. 400 one statement each, in the same order into a and b:
-- customers 1 .. 34 (31 .. 34 new), refunds, zero amounts, NULL promotion
-- flags, times at every hour (so New York midnight splits UTC days), some
-- before a customer's first purchase day.  Table a's are folded one by
-- one, table b's together.
CREATE FUNCTION pg_temp.one_by_one(t text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT * FROM pg_temp.seed(400) OFFSET 60 LOOP
        o.c := 1 + (o.c * 13) % 34;
        IF t LIKE '%1' THEN
            EXECUTE format('INSERT INTO %I (customer, amount, at, promo) VALUES ($1, $2, $3, $4)', t)
                USING 'c' || o.c, o.amount, o.at, o.promo;
        ELSIF t LIKE '%2' THEN
            EXECUTE format('INSERT INTO %I (customer, amount, at) VALUES ($1, $2, $3)', t)
                USING o.c, o.amount, o.at AT TIME ZONE 'America/New_York';
        ELSE
            EXECUTE format('INSERT INTO %I (customer, amount, at) VALUES ($1, $2, $3)', t)
                USING o.c, round(o.amount), (o.at AT TIME ZONE 'America/New_York')::date;
        END IF;
        IF t LIKE 'a%' THEN
            PERFORM crm_fold(t::regclass);
        END IF;
    END LOOP;
    PERFORM crm_fold(t::regclass);
END $$;
SELECT pg_temp.one_by_one(t) FROM unnest('{a1,b1,a2,b2,a3,b3}'::text[]) AS t;

-- The state of a tracked table and its history, as comparable rows
CREATE FUNCTION pg_temp.state(t text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT format(''%%s: %%s orders, %%s revenue, %%s promo, %%s..%%s, %%s, %%s first day, %%s, %%s, %%s'',
                       customer, orders, revenue, promo_orders, first_at, last_at, purchase_days,
                       first_day_revenue, tier, lifecycle, loyalty)
         FROM %I ORDER BY customer', t || '_crm_state');
END $$;
-- The customers whose history does not hold together: a change that does
-- not start where the one before ended, or a last change that is not the
-- customer's status now.  (The backfill records no history, so a status
-- that never changed since has none.)
CREATE FUNCTION pg_temp.unreplayed(t text) RETURNS SETOF text LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format(
        'SELECT DISTINCT h.customer::text
         FROM (SELECT customer, status, old_value, new_value,
                      lag(new_value) OVER (PARTITION BY customer, status ORDER BY id) AS before,
                      row_number() OVER (PARTITION BY customer, status ORDER BY id DESC) AS from_last
               FROM %I) h
         JOIN %I s ON s.customer = h.customer
         WHERE h.old_value IS DISTINCT FROM coalesce(h.before, h.old_value)
            OR (h.from_last = 1 AND h.new_value IS DISTINCT FROM
                CASE h.status WHEN ''tier'' THEN s.tier::text WHEN ''loyalty'' THEN s.loyalty::text
                              ELSE s.lifecycle::text END)',
        t || '_crm_history', t || '_crm_state');
END $$;

SELECT is((SELECT count(*) FROM a1_crm_state), 34::bigint, 'pair 1: 34 customers');
SELECT results_eq($$SELECT pg_temp.state('a1')$$, $$SELECT pg_temp.state('b1')$$,
                  'text key, numeric amount, timestamptz: one by one or together, the same state');
SELECT results_eq($$SELECT pg_temp.state('a2')$$, $$SELECT pg_temp.state('b2')$$,
                  'bigint key, float8 amount, local timestamp: the same state');
SELECT results_eq($$SELECT pg_temp.state('a3')$$, $$SELECT pg_temp.state('b3')$$,
                  'int key, integer amount, date: the same state');
SELECT is_empty($$SELECT pg_temp.unreplayed(t) FROM unnest('{a1,b1,a2,b2,a3,b3}'::text[]) t$$,
                'every history replays to its customers'' statuses');
SELECT cmp_ok((SELECT count(*) FROM a1_crm_history), '>', (SELECT count(*) FROM b1_crm_history),
              'folding one by one records the steps between');
SELECT is((SELECT count(*) FROM crm_verify('a1')) + (SELECT count(*) FROM crm_verify('a2'))
          + (SELECT count(*) FROM crm_verify('a3')) + (SELECT count(*) FROM crm_verify('b1'))
          + (SELECT count(*) FROM crm_verify('b2')) + (SELECT count(*) FROM crm_verify('b3')),
          0::bigint, 'crm_verify finds nothing in any of them');

-- The orders did what the comparisons need: tiers changed, refunds and
-- promotions were folded in, days were added before a first purchase day
SELECT cmp_ok((SELECT count(*) FROM a1_crm_history WHERE status = 'tier'), '>=', 5::bigint,
              'tiers changed on the way');
SELECT is((SELECT count(*) FROM (SELECT * FROM pg_temp.seed(400) OFFSET 60) s), 340::bigint, '340 single orders');
SELECT ok((SELECT count(*) FILTER (WHERE amount < 0) > 10 AND count(*) FILTER (WHERE amount = 0) > 0
                  AND count(*) FILTER (WHERE promo IS NULL) > 50
           FROM (SELECT * FROM pg_temp.seed(400) OFFSET 60) s),
          'refunds, zero amounts and unknown promotion flags among them');
SELECT ok(EXISTS (SELECT FROM a1_crm_state WHERE first_day_revenue > 0
                  AND purchase_days[1] < (SELECT min(at AT TIME ZONE 'America/New_York')::date
                                         FROM (SELECT * FROM a1 ORDER BY id LIMIT 60) f
                                         WHERE f.customer = a1_crm_state.customer AND f.amount >= 0)),
          'a customer''s first purchase day moved earlier');

-- Recomputed from the orders alone: customer c31 is new in pair 1, each of
-- their orders folded at once.  Points: 2 per unit times the multiplier of
-- the tier the revenue so far gave before each order (the thresholds of
-- the backfill throughout).
SELECT is((SELECT format('%s orders, %s revenue, %s points, %s days', orders, revenue, points,
                         cardinality(purchase_days))
           FROM a1_crm_state WHERE customer = 'c31'),
          (SELECT format('%s orders, %s revenue, %s points, %s days',
                         count(*) FILTER (WHERE amount >= 0), sum(amount),
                         sum(amount * 2 * c.tier_multipliers[array_position(enum_range(NULL::crm_tier),
                             coalesce(crm_tier_of(before::float8, c.thresholds), 'small'))]),
                         count(DISTINCT (at AT TIME ZONE 'America/New_York')::date) FILTER (WHERE amount >= 0))
           FROM (SELECT amount, at, coalesce(sum(amount) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING
                                                                               AND 1 PRECEDING), 0) AS before
                 FROM a1 WHERE customer = 'c31') o
           CROSS JOIN crm_tracking c WHERE c.orders_table = 'a1'::regclass),
          'a new customer''s points, order by order');
-- orders 61 .. 400 with seed customer 18 (i % 30 = 17) map to c31: 77, 107, .., 377
SELECT is((SELECT count(*) FROM a1 WHERE customer = 'c31'), 11::bigint, 'customer c31 has 11 orders');

-- The lifecycle stage is the one crm_lifecycle_stage gives, with its defaults
SELECT is((SELECT count(*) FROM a2_crm_state
           WHERE lifecycle IS DISTINCT FROM crm_lifecycle_stage(orders, first_at, last_at, '2024-07-01 00:00+00')),
          0::bigint, 'the stage is crm_lifecycle_stage''s with its default settings');

-- An order dated after as_of (a clock ahead, a pre-order) is tracked: its
-- customer's stage is judged as of that order
SELECT lives_ok($$INSERT INTO a1 (customer, amount, at) VALUES ('c1', 1, '2024-08-01')$$,
                'an order after as_of is written');
SELECT lives_ok($$SELECT crm_fold()$$, 'and folded in');
SELECT is((SELECT lifecycle FROM a1_crm_state WHERE customer = 'c1'),
          (SELECT crm_lifecycle_stage(orders, first_at, last_at, last_at) FROM a1_crm_state
           WHERE customer = 'c1'),
          'its stage is judged at the order''s own time');
SELECT is((SELECT last_at FROM a1_crm_state WHERE customer = 'c1'), '2024-08-01 00:00+00'::timestamptz,
          'it is the last order');

-- A refund of a customer who has no purchase day yet: revenue and points
-- go negative, nothing else moves
INSERT INTO a3 (customer, amount, at) VALUES (40, 5, '2024-03-01'), (40, 5, '2024-03-01');
SELECT crm_fold() AS folded \gset
DELETE FROM a3 WHERE customer = 40;
SELECT crm_fold() AS folded \gset
INSERT INTO a3 (customer, amount, at) VALUES (40, -7, '2024-03-02');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT format('%s orders, %s revenue, %s points, %s, %s, %s', orders, revenue, points,
                         purchase_days, first_at IS NULL, lifecycle)
           FROM a3_crm_state WHERE customer = 40),
          '0 orders, -7 revenue, -14 points, {}, t, prospect', 'a refund alone: prospect, negative revenue');
INSERT INTO a3 (customer, amount, at) VALUES (40, 10, '2024-03-05');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT format('%s orders, %s revenue, %s points, %s, %s first day, %s', orders, revenue, points,
                         purchase_days, first_day_revenue, lifecycle)
           FROM a3_crm_state WHERE customer = 40),
          '1 orders, 3 revenue, 6 points, {2024-03-05}, 10 first day, acquisition',
          'then an order: one purchase day, its amount the first-day revenue');

-- A state row deleted by hand is created again by the next order
DELETE FROM a3_crm_state WHERE customer = 5;
INSERT INTO a3 (customer, amount, at) VALUES (5, 12, '2024-05-05');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT format('%s orders, %s revenue', orders, revenue) FROM a3_crm_state WHERE customer = 5),
          '1 orders, 12 revenue', 'a missing state row is created again (from this order only)');

-- Row triggers on the state table fire as for an UPDATE that sets the
-- figures, with the old and new row; BEFORE triggers may change the row.
-- They run as the table's owner with search_path pg_catalog, pg_temp: the
-- names they use are qualified.
CREATE TABLE seen (customer text, old_points numeric, new_points numeric, tier_changed boolean);
CREATE FUNCTION pg_temp.watch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.seen VALUES (NEW.customer, OLD.points, NEW.points, OLD.tier IS DISTINCT FROM NEW.tier);
    RETURN NULL;
END $$;
CREATE FUNCTION pg_temp.bonus() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.points := NEW.points + 100;
    RETURN NEW;
END $$;
CREATE TRIGGER watch AFTER UPDATE OF points ON a1_crm_state FOR EACH ROW EXECUTE FUNCTION pg_temp.watch();
CREATE TRIGGER bonus BEFORE UPDATE ON a1_crm_state FOR EACH ROW EXECUTE FUNCTION pg_temp.bonus();
SELECT points AS before FROM a1_crm_state WHERE customer = 'c2' \gset
INSERT INTO a1 (customer, amount, at) VALUES ('c2', 4, '2024-06-30');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT tier_changed FROM seen WHERE customer = 'c2'), false, 'an AFTER UPDATE OF points row trigger fired');
SELECT is((SELECT new_points - old_points FROM seen WHERE customer = 'c2'),
          (SELECT 100 + 4 * 2 * tier_multipliers[array_position(enum_range(NULL::crm_tier), s.tier)]
           FROM crm_tracking, a1_crm_state s WHERE orders_table = 'a1'::regclass AND s.customer = 'c2'),
          'with the old and new row: the order''s points and a BEFORE trigger''s bonus');
SELECT is((SELECT points - :before FROM a1_crm_state WHERE customer = 'c2'),
          (SELECT new_points - old_points FROM seen WHERE customer = 'c2'), 'the bonus is stored');
DROP TRIGGER watch ON a1_crm_state;
DROP TRIGGER bonus ON a1_crm_state;

-- A BEFORE trigger that skips the row: the order is in the orders table,
-- the state keeps its figures, as with an UPDATE
CREATE FUNCTION pg_temp.skip() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER skip BEFORE UPDATE ON a1_crm_state FOR EACH ROW EXECUTE FUNCTION pg_temp.skip();
SELECT orders AS before FROM a1_crm_state WHERE customer = 'c3' \gset
SELECT count(*) AS history_before FROM a1_crm_history \gset
INSERT INTO a1 (customer, amount, at) VALUES ('c3', 50000, '2024-06-30');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT orders FROM a1_crm_state WHERE customer = 'c3'), :'before'::bigint,
          'a BEFORE trigger returning NULL skips the state update');
SELECT is((SELECT count(*) FROM a1_crm_history), :'history_before'::bigint,
          'and records no status change (the order would have made c3 vip)');
DROP TRIGGER skip ON a1_crm_state;

-- With a BEFORE trigger of the user's there, crm_state_trigger fires too
-- and sets the loyalty type, as for an UPDATE statement; without one the
-- fold sets it.  Either way it follows the survey columns, as crm_verify
-- (crm_loyalty_type in SQL) has it.  c11 gets a high attitude and a
-- referral, then an order on a new day.
CREATE FUNCTION pg_temp.keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER keep BEFORE UPDATE ON a1_crm_state FOR EACH ROW EXECUTE FUNCTION pg_temp.keep();
UPDATE a1_crm_state SET attitude = 0.9, referrals = 1, has_alternative = true WHERE customer = 'c11';
INSERT INTO a1 (customer, amount, at, promo) VALUES ('c11', 2, '2024-07-01', false);
SELECT crm_fold() AS folded \gset
SELECT is_empty($$SELECT * FROM crm_verify('a1') WHERE field = 'loyalty'$$,
                'with a BEFORE trigger of the user''s on the state, the loyalty types are right');
DROP TRIGGER keep ON a1_crm_state;
-- crm's columns of the state and history tables cannot be renamed or
-- dropped, CASCADE or not (every later commit with orders would fail on
-- them); columns of the user's can, and the fold, which keeps the columns'
-- numbers per backend until the table changes, goes on after such
-- changes.  c11's attitude unknown and price sensitivity 0.9: benefit,
-- where it was devoted.
SELECT throws_ok($$ALTER TABLE a1_crm_state RENAME COLUMN attitude TO feeling$$, '2BP01',
                 'cannot rename column "attitude" of a1_crm_state: crm tracks a1 into it',
                 'renaming a column crm writes in the state table is refused');
SELECT throws_ok($$ALTER TABLE a1_crm_history RENAME COLUMN changed_at TO at$$, '2BP01', NULL,
                 'and in the history table');
SELECT throws_ok($$ALTER TABLE a1_crm_state DROP COLUMN share_of_wallet CASCADE$$, '2BP01',
                 'cannot drop column "share_of_wallet" of a1_crm_state: crm tracks a1 into it',
                 'dropping one is refused, also with CASCADE');
ALTER TABLE a1_crm_state ADD COLUMN note text;
ALTER TABLE a1_crm_state RENAME COLUMN note TO remark;
UPDATE a1_crm_state SET attitude = NULL, price_sensitivity = 0.9 WHERE customer = 'c11';
INSERT INTO a1 (customer, amount, at, promo) VALUES ('c11', 2, '2024-07-02', false);
SELECT crm_fold() AS folded \gset
SELECT is((SELECT loyalty FROM a1_crm_state WHERE customer = 'c11'), 'benefit'::crm_loyalty,
          'a column of the user''s added and renamed in the state table, orders fold as before');
ALTER TABLE a1_crm_state DROP COLUMN remark;
SELECT is_empty($$SELECT * FROM crm_verify('a1') WHERE field = 'loyalty'$$,
                'and every loyalty type is right');
-- The loyalty type is among the columns the fold sets, as an UPDATE's SET
-- list names them: an UPDATE OF loyalty trigger fires for the fold's
-- writes, with or without a BEFORE trigger of the user's (c11: benefit).
CREATE TABLE loyalty_seen (customer text, loyalty crm_loyalty);
CREATE FUNCTION pg_temp.seen_loyalty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.loyalty_seen VALUES (NEW.customer, NEW.loyalty);
    RETURN NULL;
END $$;
CREATE TRIGGER seen_loyalty AFTER UPDATE OF loyalty ON a1_crm_state
    FOR EACH ROW EXECUTE FUNCTION pg_temp.seen_loyalty();
INSERT INTO a1 (customer, amount, at, promo) VALUES ('c11', 2, '2024-07-03', false);
SELECT crm_fold() AS folded \gset
CREATE TRIGGER keep BEFORE UPDATE ON a1_crm_state FOR EACH ROW EXECUTE FUNCTION pg_temp.keep();
INSERT INTO a1 (customer, amount, at, promo) VALUES ('c11', 2, '2024-07-04', false);
SELECT crm_fold() AS folded \gset
SELECT is((SELECT string_agg(loyalty::text, ',') FROM loyalty_seen WHERE customer = 'c11'), 'benefit,benefit',
          'an UPDATE OF loyalty trigger fires for the fold''s writes, with and without a BEFORE trigger');
DROP TRIGGER keep ON a1_crm_state;
DROP TRIGGER seen_loyalty ON a1_crm_state;

-- Constraints are checked as by the UPDATE (the fold fails, as a commit
-- fails on a deferred constraint)
ALTER TABLE a1_crm_state ADD CONSTRAINT small_orders CHECK (revenue < 100000);
SAVEPOINT big_order;
INSERT INTO a1 (customer, amount, at) VALUES ('c4', 200000, '2024-06-30');
SELECT throws_ok($$SELECT crm_fold()$$, '23514', NULL, 'a CHECK constraint on the state table is enforced');
ROLLBACK TO SAVEPOINT big_order;
ALTER TABLE a1_crm_state DROP CONSTRAINT small_orders;

-- History rows take the table's column defaults, also when they change
ALTER TABLE a3_crm_history ALTER COLUMN changed_at SET DEFAULT '2000-01-01 00:00+00';
-- (A new customer's first order inserts the row, the second updates it:
-- 8 days apart, 3 days before as_of, is growth; 1 repeat day of 2, inertia.)
INSERT INTO a3 (customer, amount, at) VALUES (41, 10, '2024-06-20');
SELECT crm_fold() AS folded \gset
INSERT INTO a3 (customer, amount, at) VALUES (41, 10, '2024-06-28');
SELECT crm_fold() AS folded \gset
SELECT is((SELECT string_agg(format('%s %s->%s %s', status, old_value, new_value, changed_at), '; ' ORDER BY id)
           FROM a3_crm_history WHERE customer = 41),
          'lifecycle prospect->acquisition 2000-01-01 00:00:00+00; '
          'loyalty none->inertia 2000-01-01 00:00:00+00; lifecycle acquisition->growth 2000-01-01 00:00:00+00',
          'both orders'' changes carry the changed column default');
SELECT is((SELECT count(DISTINCT id) FROM a3_crm_history WHERE customer = 41), 3::bigint,
          'identity values keep coming from the sequence');
SELECT is((SELECT count(*) FROM a3_crm_history WHERE customer = 41 AND transaction_id = pg_current_xact_id()),
          3::bigint, 'with this transaction''s id');
ALTER TABLE a3_crm_history ALTER COLUMN changed_at SET DEFAULT now();

-- Bulk statements whose transition tables went to disk (rows read from
-- disk are allocated for the slot, which must free the last old row
-- before that memory goes), with notifications off.
CREATE TABLE bulk (customer int, amount numeric, at timestamptz);
SELECT crm_track('bulk', 'customer', 'amount', 'at', as_of => '2024-07-01 00:00+00', notify => 'none');
SET LOCAL work_mem = '64kB';
INSERT INTO bulk SELECT i, 1, '2024-01-02' FROM generate_series(1, 10000) AS i;
SELECT crm_fold() AS folded \gset
INSERT INTO bulk SELECT i, 1, '2024-06-20' FROM generate_series(1, 10000) AS i;
SELECT crm_fold() AS folded \gset
RESET work_mem;
SELECT is((SELECT string_agg(format('%s %s %s->%s', n, status, old_value, new_value), '; ' ORDER BY status, old_value)
           FROM (SELECT status, old_value, new_value, count(*) AS n FROM bulk_crm_history GROUP BY 1, 2, 3) h),
          '10000 lifecycle acquisition->growth; 10000 lifecycle prospect->acquisition; 10000 loyalty none->inertia',
          'bulk loads read from disk: 30,000 changes of 10,000 customers recorded');

SELECT * FROM finish();
ROLLBACK;
