#!/usr/bin/env bash
# Concurrency: 8 pgbench clients insert (single and multi-row), change
# amounts and customers, delete orders, edit survey columns and run
# crm_refresh, all on the same 40 customers.  No client may fail (no
# deadlock), and afterwards crm_verify must find the state equal to a
# recomputation from the orders: no update was lost.  A session listening
# on crm_status meanwhile must receive exactly the changes the history
# recorded: no message lost or sent twice by the status relay.  Then
# transactions of several statements ordering for the same 3 customers in
# any order, in READ COMMITTED and REPEATABLE READ, on a tracked table and
# an untracked one: neither may see a deadlock or a serialization failure.
source "$(dirname "$0")/lib/tap.sh"

db=crm_concurrency_$$
dir=$(mktemp -d)
trap 'dropdb --if-exists "$db"; rm -rf "$dir"' EXIT
createdb "$db" || exit 1
seconds=${CRM_CONCURRENCY_SECONDS:-10}

plan 20

psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION crm;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int, amount numeric(10, 2),
                     ordered_at timestamptz, promo boolean NOT NULL DEFAULT false);
CREATE INDEX ON orders (customer_id);
INSERT INTO orders (customer_id, amount, ordered_at, promo)
SELECT 1 + i % 40, (i * 37) % 200 - 10, '2024-01-01'::timestamptz + (i * 7919 % 400) * interval '1 day', i % 3 = 0
FROM generate_series(1, 2000) AS i;
SELECT crm_track('orders', 'customer_id', 'amount', 'ordered_at', promo_column => 'promo',
                 time_zone => 'America/New_York');
SQL
ok $? "a tracked table with 40 customers"

# The UPDATE of two customers' orders locks them in id order first, as an
# application must: two UPDATEs of overlapping rows lock them in the order
# their scans find them, which concurrent updates can make differ, and then
# deadlock in plain PostgreSQL, tracked or not.
cat >"$dir/mixed.sql" <<'EOF_SQL'
\set c random(1, 40)
\set c2 random(1, 40)
\set r random(1, 100)
\if :r <= 35
INSERT INTO orders (customer_id, amount, ordered_at, promo)
VALUES (:c, round((random() * 120 - 5)::numeric, 2), '2024-01-01'::timestamptz + random() * interval '500 days', random() < 0.3);
\elif :r <= 45
INSERT INTO orders (customer_id, amount, ordered_at)
SELECT 1 + (random() * 39)::int, round((random() * 50)::numeric, 2), '2024-01-01'::timestamptz + random() * interval '500 days'
FROM generate_series(1, 5);
\elif :r <= 60
UPDATE orders SET amount = amount + 1 WHERE id = (SELECT min(id) + (random() * 50)::int FROM orders WHERE customer_id = :c);
\elif :r <= 70
UPDATE orders SET customer_id = :c2 WHERE id = (SELECT max(id) FROM orders WHERE customer_id = :c);
\elif :r <= 80
DELETE FROM orders WHERE id = (SELECT max(id) FROM orders WHERE customer_id = :c);
\elif :r <= 88
UPDATE orders SET ordered_at = ordered_at + interval '13 hours'
WHERE id IN (SELECT id FROM orders WHERE customer_id IN (:c, :c2) ORDER BY id FOR UPDATE);
\elif :r <= 97
UPDATE orders_crm_state SET attitude = random(), referrals = (random() * 3)::int WHERE customer = :c;
\else
SELECT crm_refresh('orders');
\endif
EOF_SQL

# The listener: LISTEN, then a query every 0.2 s, after each of which psql
# prints the messages that came; it stops 3 s after the writers
start_id=$(q "$db" "SELECT coalesce(max(id), 0) FROM orders_crm_history")
{
	echo "LISTEN crm_status;"
	for _ in $(seq 1 $(((seconds + 4) * 5))); do echo "SELECT pg_sleep(0.2);"; done
} | psql -X -q -At -d "$db" >"$dir/listen.out" 2>&1 &
listener=$!
sleep 1

pgbench -n --verbose-errors -c 8 -j 2 -T "$seconds" -f "$dir/mixed.sql" "$db" >"$dir/out" 2>&1
status=$?
wait "$listener"
ok $status "pgbench ran 8 clients for $seconds s"
sed 's/^/# /' "$dir/out" | grep -E 'transactions actually processed|failed transactions|tps|ERROR|abort' | head -10
is "$(grep -cE 'deadlock|ERROR|aborted|failed transactions: [1-9]' "$dir/out")" 0 \
	"no client failed: no deadlock, no error"
is "$(q "$db" "SELECT count(*) > 1000 FROM orders")" t "the clients changed the orders"
differences=$(q "$db" "SELECT count(*) FROM crm_verify('orders')")
is "$differences" 0 "crm_verify: zero differences after the concurrent run"
[ "$differences" = 0 ] || q "$db" "SELECT * FROM crm_verify('orders') LIMIT 10" | cut -c1-200 | sed "s/^/# /"

# What the listener received against what the history recorded meanwhile
# (notify 'all': every change is sent; the keys are integers, so the JSON
# holds no backslash for COPY to read)
sed -n 's/^Asynchronous notification "crm_status" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' \
	"$dir/listen.out" >"$dir/payloads"
psql -X -q -d "$db" -c "CREATE TABLE received (message jsonb)" -c "\\copy received FROM '$dir/payloads'"
q "$db" "CREATE VIEW received_changes AS
         SELECT (m.message->>'transaction')::bigint AS transaction_id, (c->>'customer')::int AS customer,
                c->>'status' AS status, c->>'old' AS old_value, c->>'new' AS new_value
         FROM received AS m, jsonb_array_elements(m.message->'changes') AS c;
         CREATE VIEW recorded_changes AS
         SELECT transaction_id::text::bigint, customer, status, old_value, new_value
         FROM orders_crm_history WHERE id > $start_id"
is "$(q "$db" "SELECT count(*) > 100 FROM received_changes")" t "the listener received the changes of the run"
is "$(q "$db" "SELECT count(*) FROM (SELECT * FROM recorded_changes EXCEPT ALL SELECT * FROM received_changes) AS x")" 0 \
	"every change the history recorded was received"
is "$(q "$db" "SELECT count(*) FROM (SELECT * FROM received_changes EXCEPT ALL SELECT * FROM recorded_changes) AS x")" 0 \
	"and nothing else, nothing twice"
# The relay vacuums the outbox while it sends, rather than read through the
# dead messages of up to a minute every round until autovacuum comes
is "$(q "$db" "SELECT vacuum_count > 0 FROM pg_stat_user_tables WHERE relid = 'crm_status_outbox'::regclass")" t \
	"the status relay vacuumed its outbox while it sent"

# crm_refresh holds off order writes until it commits, so no order is tiered
# against thresholds that are being replaced (an order read the old ones,
# committed after the re-tiering looked, and kept a stale tier): a refresh
# left open for 3 s, and an insert that may wait 0.5 s for its locks (a new
# customer's, so no row the refresh locks is in its way).
psql -X -q -d "$db" -c "BEGIN" -c "SELECT crm_refresh('orders')" -c "SELECT pg_sleep(3)" -c "COMMIT" \
	>/dev/null 2>"$dir/refresh.err" &
refresh=$!
sleep 1
out=$(psql -X -q -d "$db" -c "SET lock_timeout = '500ms'" \
	-c "INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1000, 5, '2024-06-01')" 2>&1)
is "$(grep -c 'canceling statement due to lock timeout' <<<"$out")" 1 "an order waits for a running crm_refresh"
wait "$refresh"
ok $? "the refresh committed"
q "$db" "INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1, 5, '2024-06-01')"
is "$(q "$db" "SELECT count(*) FROM crm_verify('orders')")" 0 "after it, orders go on: zero differences"

# Single orders in REPEATABLE READ transactions, 8 clients on 2 customers:
# an order folds into its customer's latest row as in READ COMMITTED, so no
# client fails with a serialization error, and nothing is lost.
cat >"$dir/rr.sql" <<'EOF_SQL'
\set c random(1, 2)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM orders WHERE customer_id = :c;
INSERT INTO orders (customer_id, amount, ordered_at) VALUES (:c, 3, '2024-06-01');
COMMIT;
EOF_SQL
pgbench -n --verbose-errors -c 8 -j 2 -T 8 -f "$dir/rr.sql" "$db" >"$dir/rr.out" 2>&1
sed 's/^/# /' "$dir/rr.out" | grep -E 'transactions actually processed|failed transactions|ERROR' | head -5
is "$(grep -cE 'ERROR|aborted|failed transactions: [1-9]' "$dir/rr.out")" 0 \
	"REPEATABLE READ: concurrent orders of the same customers never fail"
is "$(q "$db" "SELECT count(*) FROM crm_verify('orders')")" 0 "and crm_verify finds nothing"

# Transactions of several statements, each client on its own orders of the
# same 3 customers, taken in any order: two single orders, a multi-row
# INSERT, an UPDATE and a DELETE, half of them in REPEATABLE READ, orders
# stamped with now() (a later transaction's now() may commit first).  On an
# untracked table nothing conflicts; tracking must add no deadlock (a
# transaction holding customer 1 waiting for 2, another the other way
# round) and no serialization failure.
psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE TABLE shared_plain (id bigserial PRIMARY KEY, client int, customer_id int, amount numeric(10, 2),
                           ordered_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON shared_plain (client);
CREATE TABLE shared_tracked (LIKE shared_plain INCLUDING ALL);
SELECT crm_track('shared_tracked', 'customer_id', 'amount', 'ordered_at');
SQL
for t in plain tracked; do
	cat >"$dir/shared_$t.sql" <<EOF_SQL
\set c1 random(1, 3)
\set c2 random(1, 3)
\set rr random(0, 1)
\if :rr
BEGIN ISOLATION LEVEL REPEATABLE READ;
\else
BEGIN;
\endif
INSERT INTO shared_$t (client, customer_id, amount) VALUES (:client_id, :c1, 10);
INSERT INTO shared_$t (client, customer_id, amount) VALUES (:client_id, :c2, 20);
INSERT INTO shared_$t (client, customer_id, amount) VALUES (:client_id, :c2, 5), (:client_id, :c1, 6);
UPDATE shared_$t SET amount = amount + 1
WHERE id = (SELECT max(id) FROM shared_$t WHERE client = :client_id AND customer_id = :c1);
DELETE FROM shared_$t WHERE id = (SELECT min(id) FROM shared_$t WHERE client = :client_id AND customer_id = :c2);
COMMIT;
EOF_SQL
	pgbench -n --verbose-errors -c 8 -j 2 -T 6 -f "$dir/shared_$t.sql" "$db" >"$dir/shared_$t.out" 2>&1
	ok $? "$t: 8 clients ran transactions over the same 3 customers"
	sed 's/^/# /' "$dir/shared_$t.out" | grep -E 'transactions actually processed|failed transactions|ERROR' | head -5
	is "$(grep -cE 'deadlock|could not serialize|ERROR|aborted|failed transactions: [1-9]' "$dir/shared_$t.out")" 0 \
		"$t: no deadlock, no serialization failure"
done
is "$(q "$db" "SELECT count(*) > 1000 FROM shared_tracked")" t "the tracked table got the orders"
is "$(q "$db" "SELECT count(*) FROM crm_verify('shared_tracked')")" 0 "and crm_verify finds nothing"
