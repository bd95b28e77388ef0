#!/usr/bin/env bash
# Crash and restart: 6 clients insert, update and delete orders of a
# tracked table (and of a tracked UNLOGGED table, which a crash empties)
# when the postmaster is killed with SIGKILL; after recovery crm_verify must
# find the state equal to the orders, for both: nothing committed was lost,
# nothing uncommitted kept.  The crash needs a server of its own: a
# throwaway cluster (pg_virtualenv), whatever server the other tests use.
source "$(dirname "$0")/lib/tap.sh"

if [ "${1:-}" != --inside ]; then
	plan 7
	# its own port: pg_virtualenv does not see the port of a cluster
	# another pg_virtualenv (running these tests) has taken
	port=$((${PGPORT:-5432} + 100))
	pg_virtualenv -t -c "-p $port" -v "${PG_MAJOR:-15}" "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" --inside 2>&1 |
		grep -E '^(ok|not ok|#)'
	exit "${PIPESTATUS[0]}"
fi

# Inside the throwaway cluster (PGHOST, PGPORT, PGDATABASE set)
tap_n=0
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE EXTENSION crm;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id int, amount numeric(10, 2),
                     ordered_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON orders (customer_id);
CREATE UNLOGGED TABLE scratch_orders (LIKE orders INCLUDING ALL);
INSERT INTO orders (customer_id, amount, ordered_at)
SELECT 1 + i % 50, i % 90, '2024-01-01'::timestamptz + i * interval '1 hour' FROM generate_series(1, 2000) i;
INSERT INTO scratch_orders SELECT * FROM orders;
SELECT crm_track('orders', 'customer_id', 'amount', 'ordered_at');
SELECT crm_track('scratch_orders', 'customer_id', 'amount', 'ordered_at');
SQL
ok $? "a tracked table and a tracked unlogged table"

cat >"$dir/load.sql" <<'EOF_SQL'
\set c random(1, 50)
\set r random(1, 100)
\if :r <= 50
BEGIN;
INSERT INTO orders (customer_id, amount) VALUES (:c, random() * 100), (:c % 50 + 1, 3);
INSERT INTO scratch_orders (customer_id, amount) VALUES (:c, random() * 100);
COMMIT;
\elif :r <= 75
UPDATE orders SET amount = amount + 1 WHERE id = (SELECT max(id) FROM orders WHERE customer_id = :c);
\else
DELETE FROM scratch_orders WHERE id = (SELECT min(id) FROM scratch_orders WHERE customer_id = :c);
\endif
EOF_SQL

pgbench -n -c 6 -j 2 -T 30 -f "$dir/load.sql" >"$dir/out" 2>&1 &
load=$!
sleep 4
data=$(psql -X -At -c "SHOW data_directory")
sockets=$(psql -X -At -c "SHOW unix_socket_directories")
postmaster=$(head -1 "$data/postmaster.pid")
kill -9 "$postmaster"
ok $? "the postmaster killed with SIGKILL under load"
wait "$load"

# Start it again; recovery replays the WAL.  The killed postmaster may
# linger as a zombie where nothing reaps orphans (a container's init), and
# its socket lock file then looks taken: wait for its backends to go, and
# remove the lock of a postmaster that is gone or a zombie.
for _ in $(seq 1 100); do
	pgrep -f "postgres: .*regress" >/dev/null || break
	sleep 0.1
done
state=$(ps -o stat= -p "$postmaster" 2>/dev/null || true)
if [ -z "$state" ] || [ "${state:0:1}" = Z ]; then
	for socket_dir in ${sockets//,/ }; do
		rm -f "$socket_dir/.s.PGSQL.${PGPORT}.lock"
	done
fi
cluster=$(pg_lsclusters -h | awk -v d="$data" '$6 == d { print $1 "/" $2 }')
pg_ctlcluster "${cluster%/*}" "${cluster#*/}" start 2>&1 | sed "s/^/# /"
for _ in $(seq 1 60); do
	psql -X -At -c "SELECT 1" >/dev/null 2>&1 && break
	sleep 0.5
done
is "$(psql -X -At -c "SELECT 1" 2>&1)" 1 "the server is back after recovery"
is "$(psql -X -At -c "SELECT count(*) > 2000 FROM orders")" t "the orders committed before the crash are there"
is "$(psql -X -At -c "SELECT count(*) FROM crm_verify('orders')")" 0 \
	"crm_verify: the state holds exactly the committed orders"
is "$(psql -X -At -c "SELECT count(*) FROM scratch_orders")
$(psql -X -At -c "SELECT count(*) FROM crm_verify('scratch_orders')")" "0
0" "the unlogged table was emptied by the crash, and so was its state"
psql -X -q -c "INSERT INTO orders (customer_id, amount) VALUES (1, 5)" \
	-c "INSERT INTO scratch_orders (customer_id, amount) VALUES (1, 5)"
is "$(psql -X -At -c "SELECT count(*) FROM crm_verify('orders')") $(psql -X -At -c "SELECT count(*) FROM crm_verify('scratch_orders')")" \
	"0 0" "tracking goes on after the restart"
