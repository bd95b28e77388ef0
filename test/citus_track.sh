#!/usr/bin/env bash
# Live tracking of an orders table distributed by Citus, on a real cluster
# (a coordinator and two workers on loopback ports, started and stopped
# here): crm_track distributes the state and history with the orders; the
# triggers on the shards fold every write through the coordinator into the
# state on the same worker; 8 clients writing at once (orders of customers
# on both workers in one transaction, updates, deletes, survey edits,
# crm_refresh) fail no more than on an untracked table, and crm_verify
# finds nothing after.  The state equals what one server computes from the
# same orders.  A fold that would wait while its transaction is prepared
# for two-phase commit is left for later and done by the status relay.
# Skipped where Citus is not installed, except in CI (.ci/run installs it).
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/../tools/citus_cluster.sh"

citus_required
seconds=${CRM_CONCURRENCY_SECONDS:-10}

plan 66

dir=$(mktemp -d)
trap 'citus_stop "$dir"' EXIT
# ports of their own, clear of the other tests' servers
citus_start "$dir" $((${PGPORT:-5432} + 210)) crm_citus_track
ok $? "a coordinator and two workers are up"
db=$PGDATABASE

# on_workers SQL: the results of SQL on each worker, comma separated
on_workers() {
	q "$db" "SELECT string_agg(result, ',' ORDER BY nodeport) FROM run_command_on_workers(\$cmd\$$1\$cmd\$)"
}

# The orders of 40 customers, distributed by customer, and the same orders
# in a table of the coordinator's own: both tracked alike
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION crm;
CREATE TABLE orders (id bigserial, customer_id int, amount numeric(10, 2),
                     ordered_at timestamptz, promo boolean NOT NULL DEFAULT false,
                     PRIMARY KEY (customer_id, id));
SELECT create_distributed_table('orders', 'customer_id');
INSERT INTO orders (customer_id, amount, ordered_at, promo)
SELECT 1 + i % 40, (i * 37) % 200 - 10, '2024-01-01'::timestamptz + (i * 7919 % 400) * interval '1 day', i % 3 = 0
FROM generate_series(1, 2000) AS i;
CREATE TABLE orders_local (LIKE orders INCLUDING DEFAULTS);
INSERT INTO orders_local SELECT * FROM orders;
SQL
ok $? "2,000 orders of 40 customers, distributed by customer and as a local table"

is "$(q "$db" "SELECT crm_track('orders', 'customer_id', 'amount', 'ordered_at', promo_column => 'promo',
                                time_zone => 'America/New_York')")" 40 "crm_track on the distributed table: 40 customers"
q "$db" "SELECT crm_track('orders_local', 'customer_id', 'amount', 'ordered_at', promo_column => 'promo',
                          time_zone => 'America/New_York')" >/dev/null
is "$(q "$db" "SELECT string_agg(logicalrelid::text || ':' || partmethod::text || ':' ||
                                 (colocationid = (SELECT colocationid FROM pg_dist_partition
                                                  WHERE logicalrelid = 'orders'::regclass))::text, ' '
                                 ORDER BY logicalrelid::text)
               FROM pg_dist_partition WHERE logicalrelid::text LIKE 'orders_crm%'")" \
	"orders_crm_history:h:true orders_crm_state:h:true" \
	"the state and history are distributed by customer, co-located with the orders"
is "$(q "$db" "SELECT partmethod::text || ':' || repmodel::text FROM pg_dist_partition WHERE logicalrelid = 'crm_cluster_tracking'::regclass")" \
	"n:t" "the settings are copied to every node in a reference table"
is "$(on_workers "SELECT count(*) FROM pg_trigger WHERE tgname ~ '^crm_track_(insert|update|delete)_[0-9]+\$'")" "12,12" \
	"each worker's 4 orders shards have the insert, update and delete triggers"

# The state, field by field, against the one the local table's tracking
# computed (the lifecycle is judged now on both, within a second)
state_diff() {
	q "$db" "SELECT count(*) FROM (
	  (SELECT customer, orders, revenue, promo_orders, first_at, last_at, purchase_days,
	          first_day_revenue, points, tier, loyalty FROM $1
	   EXCEPT ALL
	   SELECT customer, orders, revenue, promo_orders, first_at, last_at, purchase_days,
	          first_day_revenue, points, tier, loyalty FROM $2)
	  UNION ALL
	  (SELECT customer, orders, revenue, promo_orders, first_at, last_at, purchase_days,
	          first_day_revenue, points, tier, loyalty FROM $2
	   EXCEPT ALL
	   SELECT customer, orders, revenue, promo_orders, first_at, last_at, purchase_days,
	          first_day_revenue, points, tier, loyalty FROM $1)) d"
}
is "$(state_diff orders_crm_state orders_local_crm_state)" 0 \
	"the distributed state equals the local table's, customer by customer"

# Writes through the coordinator, as one server takes them
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1, 100, '2024-06-01'), (2, 50, '2024-06-02'), (1000, 7, '2024-06-03');
INSERT INTO orders_local (customer_id, amount, ordered_at) VALUES (1, 100, '2024-06-01'), (2, 50, '2024-06-02'), (1000, 7, '2024-06-03');
UPDATE orders SET amount = amount + 1 WHERE customer_id IN (3, 4);
UPDATE orders_local SET amount = amount + 1 WHERE customer_id IN (3, 4);
DELETE FROM orders WHERE customer_id = 5;
DELETE FROM orders_local WHERE customer_id = 5;
BEGIN;
INSERT INTO orders (customer_id, amount, ordered_at) SELECT g, 1, '2024-07-01' FROM generate_series(100, 140) g;
UPDATE orders SET amount = 2 WHERE customer_id = 101;
COMMIT;
BEGIN;
INSERT INTO orders_local (customer_id, amount, ordered_at) SELECT g, 1, '2024-07-01' FROM generate_series(100, 140) g;
UPDATE orders_local SET amount = 2 WHERE customer_id = 101;
COMMIT;
SQL
ok $? "inserts, updates, deletes and a transaction of several statements through the coordinator"
is "$(q "$db" "SELECT count(*) FROM crm_verify('orders')")" 0 "crm_verify: zero differences"
is "$(state_diff orders_crm_state orders_local_crm_state)" 0 "the state still equals the local table's"
is "$(q "$db" "SELECT count(*) > 40 FROM orders_crm_history")" t "the history holds the status changes, on the workers"
is "$(q "$db" "UPDATE orders_crm_state SET attitude = 0.9, referrals = 2, has_alternative = false
               WHERE customer = 1 RETURNING loyalty")" \
	"$(q "$db" "UPDATE orders_local_crm_state SET attitude = 0.9, referrals = 2, has_alternative = false
               WHERE customer = 1 RETURNING loyalty")" "a survey edit sets the loyalty type as on one server"

# No messages on a cluster: the history is the record
is "$(on_workers "SELECT count(*) FROM crm_status_outbox")" "0,0" "no status messages are queued on the workers"

# TRUNCATE: Citus gives shards no TRUNCATE triggers; the coordinator resets
# the state, and orders written before and after it in the transaction count
# as the orders table holds them
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
BEGIN;
INSERT INTO orders (customer_id, amount, ordered_at) VALUES (3, 10, '2024-06-01');
TRUNCATE orders;
INSERT INTO orders (customer_id, amount, ordered_at) VALUES (7, 10, '2024-06-01'), (8, 20, '2024-06-02');
COMMIT;
SQL
ok $? "TRUNCATE between inserts in one transaction"
is "$(q "$db" "SELECT count(*) FROM crm_verify('orders')")" 0 "crm_verify: zero differences after TRUNCATE"
is "$(q "$db" "SELECT count(*) FILTER (WHERE orders > 0) || ' ' || count(*) FROM orders_crm_state")" "2 82" \
	"two customers have orders; the others are kept with none"

# Put the orders back, then crm_refresh and its repair from the coordinator
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO orders SELECT * FROM orders_local WHERE (customer_id, id) NOT IN (SELECT customer_id, id FROM orders);
SQL
ok $? "the orders are back"
is "$(q "$db" "SELECT crm_refresh('orders') >= 0, crm_refresh('orders', repair => true) >= 0")" "t|t" \
	"crm_refresh and crm_refresh(repair => true) run from the coordinator"
is "$(q "$db" "SELECT count(*) FROM crm_verify('orders')")" 0 "crm_verify: zero differences after them"

# A fold that may not wait: customer 1's state row is held by a survey edit
# left open, while a transaction writes orders of customer 1 and of one on
# the other worker -- two nodes, so the coordinator prepares both first.
# The transaction commits at once; customer 1 is left for later and folded
# by the status relay once the edit lets go.
other=$(q "$db" "SELECT c FROM generate_series(2, 100) c
                 WHERE (SELECT nodeport FROM pg_dist_shard_placement
                        WHERE shardid = get_shard_id_for_distribution_column('orders', c))
                    <> (SELECT nodeport FROM pg_dist_shard_placement
                        WHERE shardid = get_shard_id_for_distribution_column('orders', 1))
                 LIMIT 1")
psql -X -q -c "BEGIN" -c "UPDATE orders_crm_state SET attitude = 0.5 WHERE customer = 1" \
	-c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null 2>&1 &
holder=$!
sleep 1
out=$(psql -X -q -c "SET statement_timeout = '1500ms'" -c "BEGIN" \
	-c "INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1, 30, '2024-08-01'), ($other, 40, '2024-08-01')" \
	-c "COMMIT" 2>&1)
is "$out" "" "a transaction over two workers commits while the state row is held: it does not wait"
is "$(on_workers "SELECT count(*) FROM crm_deferred_folds")" \
	"$(q "$db" "SELECT string_agg(CASE WHEN nodeport = (SELECT nodeport FROM pg_dist_shard_placement
                                      WHERE shardid = get_shard_id_for_distribution_column('orders', 1))
                                 THEN '1' ELSE '0' END, ',' ORDER BY nodeport)
               FROM (SELECT DISTINCT nodeport FROM pg_dist_shard_placement WHERE nodeport <> $PGPORT) n")" \
	"customer 1 is left for later on its worker"
wait "$holder"
for _ in $(seq 1 50); do
	[ "$(on_workers "SELECT count(*) FROM crm_deferred_folds")" = "0,0" ] && break
	sleep 0.1
done
is "$(on_workers "SELECT count(*) FROM crm_deferred_folds")" "0,0" "the status relay folded it once the row was free"
is "$(q "$db" "SELECT count(*) FROM crm_verify('orders')")" 0 "crm_verify: zero differences"

# 8 clients at once through the coordinator, on an untracked copy and on
# the tracked table: orders of one customer or of several on both workers
# in one transaction (two-phase commit), updates, deletes, survey edits and
# crm_refresh.  Tracking adds no failure.
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE plain (LIKE orders INCLUDING ALL);
SELECT create_distributed_table('plain', 'customer_id', colocate_with => 'orders');
INSERT INTO plain SELECT * FROM orders;
SQL
for t in plain orders; do
	if [ $t = orders ]; then
		survey="UPDATE orders_crm_state SET attitude = :r / 100.0, referrals = :c2 % 4 WHERE customer = :c;"
		refresh="SELECT crm_refresh('orders');"
	else
		survey="SELECT 1;"
		refresh="SELECT 1;"
	fi
	cat >"$dir/mixed_$t.sql" <<EOF_SQL
\\set c random(1, 40)
\\set c2 random(1, 40)
\\set r random(1, 100)
\\if :r <= 30
INSERT INTO $t (customer_id, amount, ordered_at, promo)
VALUES (:c, round((random() * 120 - 5)::numeric, 2), '2024-01-01'::timestamptz + random() * interval '500 days', random() < 0.3);
\\elif :r <= 40
INSERT INTO $t (customer_id, amount, ordered_at)
SELECT 1 + (random() * 39)::int, round((random() * 50)::numeric, 2), '2024-01-01'::timestamptz + random() * interval '500 days'
FROM generate_series(1, 5);
\\elif :r <= 55
BEGIN;
INSERT INTO $t (customer_id, amount, ordered_at) VALUES (:c, 10, now());
INSERT INTO $t (customer_id, amount, ordered_at) VALUES (:c2, 20, now());
UPDATE $t SET amount = amount + 1 WHERE customer_id = :c AND id = (SELECT max(id) FROM $t WHERE customer_id = :c);
COMMIT;
\\elif :r <= 70
UPDATE $t SET amount = amount + 1 WHERE customer_id = :c AND id = (SELECT min(id) + (random() * 50)::int FROM $t WHERE customer_id = :c);
\\elif :r <= 82
DELETE FROM $t WHERE customer_id = :c AND id = (SELECT max(id) FROM $t WHERE customer_id = :c);
\\elif :r <= 97
$survey
\\else
$refresh
\\endif
EOF_SQL
	pgbench -n --verbose-errors -c 8 -j 2 -T "$seconds" -f "$dir/mixed_$t.sql" >"$dir/out_$t" 2>&1
	ok $? "$t: pgbench ran 8 clients for $seconds s through the coordinator"
	sed 's/^/# /' "$dir/out_$t" | grep -E 'transactions actually processed|failed transactions|ERROR' | head -5
done
is "$(grep -cE 'deadlock|ERROR|aborted|failed transactions: [1-9]' "$dir/out_orders")" \
	"$(grep -cE 'deadlock|ERROR|aborted|failed transactions: [1-9]' "$dir/out_plain")" \
	"as many failed transactions as on the untracked table"
is "$(grep -cE 'deadlock|ERROR|aborted|failed transactions: [1-9]' "$dir/out_orders")" 0 "none"
is "$(q "$db" "SELECT count(*) > 2500 FROM orders")" t "the clients changed the orders"
differences=$(q "$db" "SELECT count(*) FROM crm_verify('orders')")
is "$differences" 0 "crm_verify: zero differences after the concurrent run"
[ "$differences" = 0 ] || q "$db" "SELECT * FROM crm_verify('orders') LIMIT 10" | sed "s/^/# /"
is "$(on_workers "SELECT count(*) FROM pg_prepared_xacts")" "0,0" "no transaction is left prepared on the workers"

# One server computes the same figures from the same orders
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE orders_again AS SELECT * FROM orders;
SELECT crm_track('orders_again', 'customer_id', 'amount', 'ordered_at', promo_column => 'promo',
                 time_zone => 'America/New_York');
SQL
is "$(q "$db" "SELECT count(*) FROM orders_crm_state s FULL JOIN orders_again_crm_state l USING (customer)
               WHERE (s.orders, s.revenue, s.promo_orders, s.first_at, s.last_at, s.purchase_days, s.first_day_revenue)
                     IS DISTINCT FROM
                     (l.orders, l.revenue, l.promo_orders, l.first_at, l.last_at, l.purchase_days, l.first_day_revenue)")" 0 \
	"the figures equal those one server computes from the same orders"
is "$(q "$db" "SELECT count(*) FROM orders_crm_pyramid")" 4 "the views work from the coordinator"

# Dump and restore of the coordinator, as Citus documents moving a database
# onto a cluster: pg_dump reads the shards through the coordinator, the
# restore brings every table back as the coordinator's own (tracked as on
# one server), and crm_distribute_tracked distributes the tracked ones
# again, with their state and history as they were
pg_dump -Fc -f "$dir/cluster.dump" "$db"
ok $? "pg_dump of the coordinator"
restored=crm_citus_restored
citus_add_database $restored
restore_started=$(q "$db" "SELECT clock_timestamp()")
pg_restore -d $restored "$dir/cluster.dump" 2>"$dir/restore.err"
ok $? "pg_restore into a new database of the cluster"
sed 's/^/# /' "$dir/restore.err" | head -5
is "$(q $restored "SELECT * FROM orders_crm_pyramid")" "$(q "$db" "SELECT * FROM orders_crm_pyramid")" \
	"restored, the views give the same figures before the tables are distributed again"
is "$(q $restored "SELECT crm_distribute_tracked('orders')")" "$(q "$db" "SELECT count(*) FROM orders_crm_state")" \
	"crm_distribute_tracked: every customer"
is "$(q $restored "SELECT string_agg(logicalrelid::text || ':' || partmethod::text, ' ' ORDER BY logicalrelid::text)
                   FROM pg_dist_partition WHERE logicalrelid::text LIKE 'orders%'")" \
	"orders:h orders_crm_history:h orders_crm_state:h" "the orders, state and history are distributed again"
# fingerprint DB QUERY: a digest of the rows QUERY returns in DB
fingerprint() { q "$1" "SELECT count(*) || ' ' || md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM ($2) x"; }
is "$(fingerprint $restored "SELECT * FROM orders")" "$(fingerprint "$db" "SELECT * FROM orders")" \
	"the same orders"
state_columns="customer, orders, revenue, promo_orders, first_at, last_at, purchase_days, first_day_revenue,
               points, tier, loyalty, attitude, price_sensitivity, referrals, has_alternative, share_of_wallet"
is "$(fingerprint $restored "SELECT $state_columns FROM orders_crm_state")" \
	"$(fingerprint "$db" "SELECT $state_columns FROM orders_crm_state")" "the same state, survey columns included"
is "$(fingerprint $restored "SELECT * FROM orders_crm_history WHERE changed_at < '$restore_started'")" \
	"$(fingerprint "$db" "SELECT * FROM orders_crm_history")" "the same history"
is "$(q $restored "SELECT count(*) FROM orders_crm_history WHERE changed_at >= '$restore_started' AND status <> 'lifecycle'")" 0 \
	"and nothing more (but lifecycle stages judged again now)"
psql -X -q -v ON_ERROR_STOP=1 -d $restored >/dev/null <<'SQL'
INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1, 13, '2024-10-01'), (39, 14, '2024-10-02'), (5000, 15, '2024-10-03');
DELETE FROM orders WHERE customer_id = 2;
SQL
ok $? "writes to the restored cluster's orders"
is "$(q $restored "SELECT count(*) FROM crm_verify('orders')") $(q $restored "SELECT count(*) FROM crm_verify('orders_local')")" \
	"0 0" "crm_verify: zero differences there, for the distributed tracking and a local one"

# A renamed table: the nodes find it under its new name
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
ALTER TABLE orders RENAME TO orders_renamed;
INSERT INTO orders_renamed (customer_id, amount, ordered_at) VALUES (1, 11, '2024-09-01'), (39, 12, '2024-09-02');
SQL
ok $? "orders of a tracked table renamed on the coordinator"
is "$(q "$db" "SELECT count(*) FROM crm_verify('orders_renamed')")" 0 "crm_verify: zero differences after the rename"
q "$db" "ALTER TABLE orders_renamed RENAME TO orders" >/dev/null

# What cannot be tracked, and in which order to do things
psql -X -q >/dev/null 2>&1 <<'SQL'
CREATE TABLE by_id (id bigint, customer_id int, amount numeric, ordered_at timestamptz);
SELECT create_distributed_table('by_id', 'id');
CREATE TABLE ref_orders (customer_id int, amount numeric, ordered_at timestamptz);
SELECT create_reference_table('ref_orders');
CREATE TABLE later (customer_id int, amount numeric, ordered_at timestamptz);
INSERT INTO later VALUES (1, 5, '2024-01-01');
SELECT crm_track('later', 'customer_id', 'amount', 'ordered_at');
SQL
state_of() { psql -X -q -At -c "\\set VERBOSITY verbose" -c "$1" 2>&1 | grep -o 'ERROR:  [0-9A-Z]\{5\}' | head -1; }
is "$(state_of "SELECT crm_track('by_id', 'customer_id', 'amount', 'ordered_at')")" "ERROR:  0A000" \
	"a table distributed by another column: 0A000"
is "$(state_of "SELECT crm_track('ref_orders', 'customer_id', 'amount', 'ordered_at')")" "ERROR:  0A000" \
	"a reference table: 0A000"
is "$(psql -X -q -At -c "SELECT create_distributed_table('later', 'customer_id')" 2>&1 | grep -c 'because it has triggers')" 1 \
	"a tracked local table cannot be distributed (Citus refuses its triggers)"
# crm_distribute_tracked distributes it with its state and history, kept
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
INSERT INTO later VALUES (2, 7000, '2024-02-01'), (3, 1, '2024-02-02');
SELECT crm_refresh('later');
UPDATE later_crm_state SET attitude = 0.8 WHERE customer = 1;
CREATE TABLE later_history_before AS SELECT * FROM later_crm_history;
CREATE TABLE later_state_before AS SELECT * FROM later_crm_state;
SQL
is "$(q "$db" "SELECT crm_distribute_tracked('later')")" 3 "crm_distribute_tracked on a table tracked on the coordinator: 3 customers"
is "$(q "$db" "SELECT string_agg(logicalrelid::text || ':' || partmethod::text || ':' ||
                                 (colocationid = (SELECT colocationid FROM pg_dist_partition
                                                  WHERE logicalrelid = 'later'::regclass))::text, ' '
                                 ORDER BY logicalrelid::text)
               FROM pg_dist_partition WHERE logicalrelid::text LIKE 'later%'")" \
	"later:h:true later_crm_history:h:true later_crm_state:h:true" \
	"the orders, state and history are distributed by customer, co-located"
is "$(q "$db" "SELECT (SELECT count(*) FROM (TABLE later_history_before EXCEPT ALL TABLE later_crm_history) d)
                    + (SELECT count(*) FROM (TABLE later_crm_history EXCEPT ALL TABLE later_history_before) d)
                    || ' ' || (SELECT count(*) FROM later_crm_history)")" "0 $(q "$db" "SELECT count(*) FROM later_history_before")" \
	"the history is kept, row for row"
is "$(q "$db" "SELECT count(*) FROM (SELECT customer, orders, revenue, purchase_days, points, tier, loyalty, attitude
                                   FROM later_state_before
                                   EXCEPT ALL
                                   SELECT customer, orders, revenue, purchase_days, points, tier, loyalty, attitude
                                   FROM later_crm_state) d")" 0 "the state is kept, survey columns included"
is "$(q "$db" "SELECT count(*) > 0 FROM later_history_before")" t "(a history of status changes, not an empty one)"
out=$(psql -X -q -At -c "INSERT INTO later VALUES (1, 5, '2024-03-01'), (4, 6, '2024-03-02') RETURNING amount" 2>&1)
is "$(grep -c WARNING <<<"$out") $(q "$db" "SELECT orders || ' ' || revenue FROM later_crm_state WHERE customer = 1")" \
	"0 2 10" "orders written afterwards are counted on the workers"
is "$(q "$db" "SELECT count(*) FROM crm_verify('later')")" 0 "crm_verify: zero differences"
is "$(state_of "SELECT crm_distribute_tracked('later')")" "ERROR:  55000" "crm_distribute_tracked a second time: 55000"
is "$(state_of "SELECT crm_distribute_tracked('by_id')")" "ERROR:  42704" "crm_distribute_tracked of an untracked table: 42704"
psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>&1 <<'SQL'
CREATE TABLE too_late (customer_id int, amount numeric, ordered_at timestamptz);
SELECT crm_track('too_late', 'customer_id', 'amount', 'ordered_at');
SET citus.enable_unsafe_triggers = on;
SELECT create_distributed_table('too_late', 'customer_id');
SQL
out=$(psql -X -q -At -c "INSERT INTO too_late VALUES (1, 5, '2024-01-01') RETURNING amount" 2>&1)
is "$(grep -cx 5 <<<"$out")" 1 "a tracked table distributed anyway (unsafe triggers on) still takes orders"
is "$(grep -c 'HINT:  On the coordinator, run crm_distribute_tracked on the table' <<<"$out")" 1 \
	"with a warning that they are not counted, and what to do"
is "$(state_of "SELECT * FROM crm_verify('too_late')")" "ERROR:  55000" \
	"and crm_verify says it was distributed after crm_track: 55000"
is "$(q "$db" "SELECT crm_distribute_tracked('too_late')")" 1 "crm_distribute_tracked distributes its state and history"
is "$(q "$db" "SELECT orders || ' ' || revenue FROM too_late_crm_state")" "1 5" "and counts the order written meanwhile"
out=$(psql -X -q -At -c "INSERT INTO too_late VALUES (1, 6, '2024-01-02') RETURNING amount" 2>&1)
is "$(grep -c WARNING <<<"$out") $(q "$db" "SELECT orders || ' ' || revenue FROM too_late_crm_state")" "0 2 11" \
	"orders written afterwards are counted, without a warning"
is "$(q "$db" "SELECT count(*) FROM crm_verify('too_late')")" 0 "crm_verify: zero differences"

# crm_untrack removes everything, on every node
q "$db" "SELECT crm_untrack('orders')" >/dev/null
is "$(q "$db" "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'orders_crm%'") $(q "$db" "SELECT count(*) FROM crm_cluster_tracking WHERE orders_table = 'public.orders'")" \
	"0 0" "crm_untrack drops the distributed state and history and the copied settings"
is "$(on_workers "SELECT count(*) FROM pg_trigger WHERE tgname ~ '^crm_track_(insert|update|delete)_[0-9]+\$'")" "24,24" \
	"and the triggers of its shards (those left are the tables 'later' and 'too_late''s)"
