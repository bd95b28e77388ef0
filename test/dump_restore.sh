#!/usr/bin/env bash
# pg_dump / pg_restore round trip: the tracking settings (crm_tracking and
# its sequence), the customer state, the history and the triggers all come
# back, and the restored database keeps tracking as the original did.
source "$(dirname "$0")/lib/tap.sh"

src=crm_dump_src_$$
dst=crm_dump_dst_$$
dump=$(mktemp)
trap 'dropdb --if-exists "$src"; dropdb --if-exists "$dst"; rm -f "$dump"' EXIT
createdb "$src" && createdb "$dst" || exit 1

plan 11

psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<'SQL'
CREATE EXTENSION crm;
SET TimeZone = 'UTC';
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int, amount numeric(10, 2),
                     ordered_at timestamptz, promo boolean);
INSERT INTO orders (customer_id, amount, ordered_at, promo)
SELECT 1 + i % 150, 1 + (i * 37) % 500, '2024-01-01'::timestamptz + (i * 7919 % 300) * interval '1 day', i % 5 = 0
FROM generate_series(1, 1000) AS i;
SELECT crm_track('orders', 'customer_id', 'amount', 'ordered_at', promo_column => 'promo',
                 cuts => '{0.02,0.10,0.30}', points_per_unit => 3, tier_multipliers => '{1,1.5,2,3}',
                 as_of => '2024-12-31', time_zone => 'Europe/Berlin');
INSERT INTO orders (customer_id, amount, ordered_at) VALUES (151, 99, '2024-06-01'), (7, 500, '2024-12-01');
UPDATE orders SET amount = amount * 2 WHERE customer_id = 3;
DELETE FROM orders WHERE customer_id = 4 AND id % 2 = 0;
UPDATE orders_crm_state SET attitude = 0.8, referrals = 1 WHERE customer % 10 = 0;
SELECT crm_refresh('orders');
CREATE TABLE returns (customer text, amount float8, at date);
INSERT INTO returns VALUES ('x', 1, '2024-02-02');
SELECT crm_track('returns', 'customer', 'amount', 'at');
SQL
ok $? "a database with two tracked tables"

pg_dump -Fc -d "$src" -f "$dump"
ok $? "pg_dump"
pg_restore -d "$dst" --exit-on-error "$dump"
ok $? "pg_restore without errors"

# md5 of a query's rows in a database
digest() { q "$1" "SELECT md5(string_agg(r::text, ',' ORDER BY r::text)) FROM ($2) r"; }
for what in "SELECT * FROM crm_tracking" "SELECT * FROM orders_crm_state" \
	"SELECT * FROM orders_crm_history"; do
	is "$(digest "$dst" "$what")" "$(digest "$src" "$what")" "same rows after restore: $what"
done
is "$(q "$dst" "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
                WHERE tgrelid = 'orders'::regclass")" \
	"crm_track_delete,crm_track_insert,crm_track_truncate,crm_track_update" \
	"the triggers are back on the orders table"

# Tracking goes on in the restored database
q "$dst" "INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1, 10, '2024-12-30'), (999, 5, '2024-12-30')"
is "$(q "$dst" "SELECT count(*) FROM orders_crm_state WHERE customer = 999")" 1 \
	"a new order after restore reaches the state"
is "$(q "$dst" "SELECT count(*) FROM crm_verify('orders')")" 0 \
	"crm_verify finds nothing after restore and new orders"
q "$dst" "CREATE TABLE more (c int, a numeric, t timestamptz)"
is "$(q "$dst" "SELECT crm_track('more', 'c', 'a', 't'); SELECT id FROM crm_tracking WHERE orders_table = 'more'")" \
	"0
3" "the restored id sequence goes on: the next tracking gets id 3"
q "$dst" "SELECT crm_untrack('orders')" >/dev/null
is "$(q "$dst" "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass")" 0 \
	"crm_untrack works on the restored table"
