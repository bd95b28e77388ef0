#!/usr/bin/env bash
# The extension dropped and created again by another session: a session
# that has already fired a tracking's triggers (and kept its settings)
# must follow the new tracking, which has the same id in a new
# crm_tracking, a new schema and another amount column.  Within one
# session, test/track_reinstall.sql checks the same.
source "$(dirname "$0")/lib/tap.sh"

db=crm_reinstall_$$
trap 'dropdb --if-exists "$db"' EXIT
createdb "$db" || exit 1

plan 4

psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION crm;
CREATE TABLE orders (customer_id int, ordered_at timestamptz, amount numeric(10, 2),
                     amount2 numeric(10, 2));
SELECT crm_track('orders', 'customer_id', 'amount', 'ordered_at', prefix => 'first');
SQL
ok $? "orders tracked by crm in public, counting amount"

# One session: an order (its settings now kept), then -- from another
# session, through \! -- crm again in schema crm_again counting amount2,
# then a single order and two at once in the first session again.
out=$(psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<SQL
INSERT INTO orders VALUES (1, '2024-01-01', 10, 100);
\\! psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "DROP EXTENSION crm CASCADE" -c "CREATE SCHEMA crm_again" -c "CREATE EXTENSION crm SCHEMA crm_again" -c "SELECT crm_again.crm_track('orders', 'customer_id', 'amount2', 'ordered_at', prefix => 'second')" >/dev/null 2>&1
INSERT INTO orders VALUES (1, '2024-01-02', 10, 100);
INSERT INTO orders VALUES (1, '2024-01-03', 10, 100), (2, '2024-01-03', 1, 10);
SELECT string_agg(format('%s:%s:%s', customer, orders, revenue), ' ' ORDER BY customer) FROM second_state;
SQL
)
ok $? "the first session went on inserting after the reinstall"
is "$out" "1:3:300.00 2:1:10.00" \
	"its orders reached the new tracking's state, counted from amount2"
is "$(q "$db" "SELECT count(*) FROM crm_again.crm_verify('orders')")" 0 \
	"crm_verify: the new tracking matches the orders"
