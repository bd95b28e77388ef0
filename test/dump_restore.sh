#!/usr/bin/env bash
# pg_dump / pg_restore round trips: the tracking settings (crm_tracking and
# its sequence), the customer state, the history and the triggers all come
# back, whatever the restore style -- one step, schema then data (the
# triggers are then in place while the data loads), the data in parallel
# (-j), a plain SQL script through psql -- and the restored database keeps
# tracking as the original did.  Twice: with the extension in public, whose
# crm_tracking rows load before the orders, and in a schema named to sort
# after them, whose rows load last.
source "$(dirname "$0")/lib/tap.sh"

src=crm_dump_src_$$
dst=crm_dump_dst_$$
dir=$(mktemp -d)
trap 'dropdb --if-exists "$src"; dropdb --if-exists "$dst"; rm -rf "$dir"' EXIT

plan 40

# md5 of a query's rows in a database
digest() { q "$1" "SELECT md5(string_agg(r::text, ',' ORDER BY r::text)) FROM ($2) r"; }

for ext_schema in public zz_crm; do
	dropdb --if-exists "$src"
	createdb "$src" || exit 1
	psql -X -q -v ON_ERROR_STOP=1 -d "$src" >/dev/null <<SQL
CREATE SCHEMA IF NOT EXISTS $ext_schema;
CREATE EXTENSION crm SCHEMA $ext_schema;
SET search_path = public, $ext_schema;
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
INSERT INTO returns VALUES ('y', 2, '2024-02-03');
SQL
	ok $? "extension in $ext_schema: a database with two tracked tables and a history"
	q "$src" "SELECT count(DISTINCT status) = 3 FROM orders_crm_history" >"$dir/history"
	is "$(cat "$dir/history")" t "extension in $ext_schema: the history has changes of tier, loyalty and lifecycle"
	pg_dump -Fc -d "$src" -f "$dir/dump" && pg_dump -Fp -d "$src" -f "$dir/dump.sql"
	ok $? "extension in $ext_schema: pg_dump, custom and plain"

	for style in one-step two-step parallel plain; do
		dropdb --if-exists "$dst"
		createdb "$dst" || exit 1
		case $style in
		one-step) pg_restore -d "$dst" --exit-on-error "$dir/dump" ;;
		two-step) pg_restore -d "$dst" --exit-on-error --schema-only "$dir/dump" &&
			pg_restore -d "$dst" --exit-on-error --data-only "$dir/dump" ;;
		parallel) pg_restore -d "$dst" --exit-on-error --schema-only "$dir/dump" &&
			pg_restore -d "$dst" --exit-on-error --data-only -j 4 "$dir/dump" ;;
		plain) psql -X -q -v ON_ERROR_STOP=1 -d "$dst" -f "$dir/dump.sql" >/dev/null ;;
		esac
		ok $? "extension in $ext_schema, $style restore: no error"
		same=true
		for what in "SELECT to_jsonb(c) - 'restoring' FROM $ext_schema.crm_tracking c" \
			"SELECT * FROM orders" "SELECT * FROM orders_crm_state" "SELECT * FROM orders_crm_history" \
			"SELECT * FROM returns_crm_state" "SELECT * FROM returns_crm_history"; do
			if [ "$(digest "$dst" "$what")" != "$(digest "$src" "$what")" ]; then
				same=false
				echo "# differs after $style restore: $what"
			fi
		done
		is "$same" true "extension in $ext_schema, $style restore: the same tracking settings, orders, states and histories"
		is "$(q "$dst" "SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger
		                WHERE tgrelid = 'orders'::regclass")" \
			"crm_track_delete,crm_track_insert,crm_track_truncate,crm_track_update" \
			"extension in $ext_schema, $style restore: the triggers are back on the orders table"

		# Tracking goes on in the restored database
		q "$dst" "INSERT INTO orders (customer_id, amount, ordered_at) VALUES (1, 10, '2024-12-30'), (999, 5, '2024-12-30')"
		q "$dst" "DELETE FROM orders WHERE customer_id = 8"
		is "$(q "$dst" "SELECT count(*) FROM orders_crm_state WHERE customer = 999")
$(q "$dst" "SELECT count(*) FROM $ext_schema.crm_verify('orders')")
$(q "$dst" "SELECT count(*) FROM $ext_schema.crm_tracking WHERE restoring AND orders_table = 'orders'::regclass")" "1
0
0" "extension in $ext_schema, $style restore: new orders reach the state, crm_verify finds nothing, the restore is over"
	done
done

# The sequence and untracking in the last restored database
q "$dst" "CREATE TABLE more (c int, a numeric, t timestamptz)"
is "$(q "$dst" "SELECT zz_crm.crm_track('more', 'c', 'a', 't');
                SELECT id FROM zz_crm.crm_tracking WHERE orders_table = 'more'::regclass")" \
	"0
3" "the restored id sequence goes on: the next tracking gets id 3"
q "$dst" "SELECT zz_crm.crm_untrack('orders')" >/dev/null
is "$(q "$dst" "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'orders'::regclass")" 0 \
	"crm_untrack works on the restored table"
