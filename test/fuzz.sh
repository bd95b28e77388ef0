#!/usr/bin/env bash
# Differential fuzz test of tracking: random sequences of the statements
# applications run -- single and multi-row INSERT (some stamped with the
# column's DEFAULT now(): a transaction that began later may commit
# first), bulk INSERT ... SELECT,
# UPDATE of amount, customer and time, DELETE, INSERT ... ON CONFLICT DO
# UPDATE, MERGE, a writable CTE, savepoints rolled back, TRUNCATE, a
# partition detached and attached again -- from 6 concurrent clients in READ
# COMMITTED and REPEATABLE READ, each applied in one transaction to an
# untracked table and then to a tracked twin, partitioned alike.
#
# What must hold after every round: no statement on the tracked table and
# no commit failed (the twin's statement, run first, meets any conflict the
# application's own statements have: a serialization failure or a
# deadlock there rolls back both), the two tables hold the same orders,
# and crm_verify finds nothing.  Clients write orders of the same 12 customers (the contention
# tracking must survive) but each its own rows (so that READ COMMITTED
# statements see the same rows in both tables).  pgbench draws the random
# numbers from a seed, printed with each round: a failing round can be run
# again with CRM_FUZZ_SEED.
source "$(dirname "$0")/lib/tap.sh"

db=crm_fuzz_$$
dir=$(mktemp -d)
trap 'dropdb --if-exists "$db"; rm -rf "$dir"' EXIT
createdb "$db" || exit 1
rounds=${CRM_FUZZ_ROUNDS:-6}
seconds=${CRM_FUZZ_SECONDS:-8}
first_seed=${CRM_FUZZ_SEED:-$(date +%s)}

plan $((1 + 4 * rounds))

psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION crm;
CREATE FUNCTION make_orders(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE %I (id bigint NOT NULL, client int NOT NULL, customer_id int,
                                     amount numeric(10, 2), ordered_at timestamptz NOT NULL DEFAULT now(),
                                     PRIMARY KEY (id, ordered_at)) PARTITION BY RANGE (ordered_at)', t);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (MINVALUE) TO (''2024-01-01'')', t || '_old', t);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (''2024-01-01'') TO (''2025-01-01'')', t || '_2024', t);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (''2025-01-01'') TO (MAXVALUE)', t || '_new', t);
    EXECUTE format('CREATE INDEX ON %I (client)', t);
    EXECUTE format('CREATE INDEX ON %I (customer_id)', t);
END $$;
SELECT make_orders('fu'), make_orders('ft');
SELECT crm_track('ft', 'customer_id', 'amount', 'ordered_at', time_zone => 'UTC');
CREATE SEQUENCE order_ids;
SQL
ok $? "an untracked orders table and a tracked twin, each in three partitions"

# One transaction: the same statement to fu, then to ft (:t is the table)
cat >"$dir/body.sql" <<'EOF_SQL'
\set op random(1, 100)
\set c random(1, 12)
\set c2 random(1, 12)
\set a random(-500, 20000)
\set d random(0, 900)
\set rr random(0, 1)
\set id :client_id * 10000000 + random(1, 400)
\if :rr
BEGIN ISOLATION LEVEL REPEATABLE READ;
\else
BEGIN;
\endif
\if :op <= 8
INSERT INTO fu (id, client, customer_id, amount) VALUES (:id + 700, :client_id, :c, :a / 100.0) ON CONFLICT DO NOTHING;
INSERT INTO ft (id, client, customer_id, amount) VALUES (:id + 700, :client_id, :c, :a / 100.0) ON CONFLICT DO NOTHING;
\elif :op <= 25
INSERT INTO fu VALUES (:id, :client_id, :c, :a / 100.0, '2023-10-01'::timestamptz + :d * interval '1 day') ON CONFLICT DO NOTHING;
INSERT INTO ft VALUES (:id, :client_id, :c, :a / 100.0, '2023-10-01'::timestamptz + :d * interval '1 day') ON CONFLICT DO NOTHING;
\elif :op <= 35
INSERT INTO fu SELECT :id + 1000 * i, :client_id, (:c + i) % 12 + 1, (:a + i) / 100.0, '2023-10-01'::timestamptz + (:d + 37 * i) % 900 * interval '1 day' FROM generate_series(1, 20) i ON CONFLICT DO NOTHING;
INSERT INTO ft SELECT :id + 1000 * i, :client_id, (:c + i) % 12 + 1, (:a + i) / 100.0, '2023-10-01'::timestamptz + (:d + 37 * i) % 900 * interval '1 day' FROM generate_series(1, 20) i ON CONFLICT DO NOTHING;
\elif :op <= 45
UPDATE fu SET amount = amount + :a / 1000.0 WHERE client = :client_id AND id % 7 = :c % 7;
UPDATE ft SET amount = amount + :a / 1000.0 WHERE client = :client_id AND id % 7 = :c % 7;
\elif :op <= 52
UPDATE fu SET customer_id = :c2 WHERE client = :client_id AND customer_id = :c;
UPDATE ft SET customer_id = :c2 WHERE client = :client_id AND customer_id = :c;
\elif :op <= 58
UPDATE fu SET ordered_at = ordered_at + :d * interval '1 hour' WHERE client = :client_id AND id % 5 = :c % 5
AND NOT EXISTS (SELECT FROM fu AS o WHERE o.id = fu.id AND o.ordered_at <> fu.ordered_at);
UPDATE ft SET ordered_at = ordered_at + :d * interval '1 hour' WHERE client = :client_id AND id % 5 = :c % 5
AND NOT EXISTS (SELECT FROM ft AS o WHERE o.id = ft.id AND o.ordered_at <> ft.ordered_at);
\elif :op <= 66
DELETE FROM fu WHERE client = :client_id AND id % 9 = :c % 9;
DELETE FROM ft WHERE client = :client_id AND id % 9 = :c % 9;
\elif :op <= 74
INSERT INTO fu VALUES (:id, :client_id, :c, :a / 100.0, '2024-05-05'), (:id + 1, :client_id, :c2, 1, '2024-05-06')
ON CONFLICT (id, ordered_at) DO UPDATE SET amount = fu.amount + excluded.amount, customer_id = excluded.customer_id;
INSERT INTO ft VALUES (:id, :client_id, :c, :a / 100.0, '2024-05-05'), (:id + 1, :client_id, :c2, 1, '2024-05-06')
ON CONFLICT (id, ordered_at) DO UPDATE SET amount = ft.amount + excluded.amount, customer_id = excluded.customer_id;
\elif :op <= 81
MERGE INTO fu USING (VALUES (:id, :c, :a / 100.0), (:id + 2, :c2, 3.5)) AS s (id, c, a)
ON fu.id = s.id AND fu.ordered_at = '2024-06-01'
WHEN MATCHED AND s.a < 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET amount = s.a
WHEN NOT MATCHED THEN INSERT VALUES (s.id, :client_id, s.c, s.a, '2024-06-01');
MERGE INTO ft USING (VALUES (:id, :c, :a / 100.0), (:id + 2, :c2, 3.5)) AS s (id, c, a)
ON ft.id = s.id AND ft.ordered_at = '2024-06-01'
WHEN MATCHED AND s.a < 0 THEN DELETE
WHEN MATCHED THEN UPDATE SET amount = s.a
WHEN NOT MATCHED THEN INSERT VALUES (s.id, :client_id, s.c, s.a, '2024-06-01');
\elif :op <= 88
WITH d AS (DELETE FROM fu WHERE client = :client_id AND customer_id = :c RETURNING *)
INSERT INTO fu SELECT id, client, :c2, amount * 2, ordered_at FROM d;
WITH d AS (DELETE FROM ft WHERE client = :client_id AND customer_id = :c RETURNING *)
INSERT INTO ft SELECT id, client, :c2, amount * 2, ordered_at FROM d;
\elif :op <= 96
SAVEPOINT s;
INSERT INTO fu VALUES (:id + 500, :client_id, :c, 99, '2024-07-07') ON CONFLICT DO NOTHING;
UPDATE fu SET amount = 0 WHERE client = :client_id AND customer_id = :c2;
INSERT INTO ft VALUES (:id + 500, :client_id, :c, 99, '2024-07-07') ON CONFLICT DO NOTHING;
UPDATE ft SET amount = 0 WHERE client = :client_id AND customer_id = :c2;
ROLLBACK TO SAVEPOINT s;
INSERT INTO fu VALUES (:id + 600, :client_id, :c2, 7, '2025-02-02') ON CONFLICT DO NOTHING;
INSERT INTO ft VALUES (:id + 600, :client_id, :c2, 7, '2025-02-02') ON CONFLICT DO NOTHING;
\elif :op <= 98
ALTER TABLE fu DETACH PARTITION fu_old;
ALTER TABLE ft DETACH PARTITION ft_old;
ALTER TABLE fu ATTACH PARTITION fu_old FOR VALUES FROM (MINVALUE) TO ('2024-01-01');
ALTER TABLE ft ATTACH PARTITION ft_old FOR VALUES FROM (MINVALUE) TO ('2024-01-01');
\else
DELETE FROM fu WHERE client = :client_id AND id % 3 = 0;
TRUNCATE fu_new;
DELETE FROM ft WHERE client = :client_id AND id % 3 = 0;
TRUNCATE ft_new;
\endif
COMMIT;
EOF_SQL

# The commands of the script that touch ft, and COMMIT, by number as
# pgbench counts them from 0 (every backslash command is one, an SQL
# command runs to its semicolon): an error there is tracking's
commands=$(awk '
	/^\\/ { n++; in_sql = 0; next }
	!in_sql { n++; in_sql = 1;
	          if ($0 ~ /^(INSERT INTO ft|UPDATE ft|DELETE FROM ft|MERGE INTO ft|WITH d AS \(DELETE FROM ft|ALTER TABLE ft|TRUNCATE ft|COMMIT)/)
	              print n - 1 }
	/;$/ { in_sql = 0 }' "$dir/body.sql" | paste -sd'|')

for ((round = 0; round < rounds; round++)); do
	seed=$((first_seed + round))
	pgbench -n --verbose-errors --random-seed="$seed" -c 6 -j 2 -T "$seconds" -f "$dir/body.sql" "$db" \
		>"$dir/out" 2>&1
	ok $? "round $round (seed $seed): pgbench ran 6 clients for $seconds s"
	grep -E 'aborted|FATAL|PANIC' "$dir/out" | head -5 | sed 's/^/# /' 
	tracked_errors=$(grep -E "got an error in command ($commands) \(SQL\) of script" "$dir/out" | head -3)
	is "$tracked_errors" "" "round $round (seed $seed): no statement on the tracked table and no commit failed"
	grep -E 'transactions actually processed|failed transactions|got an error' "$dir/out" | head -5 | sed 's/^/# /'
	is "$(q "$db" "SELECT count(*) FROM (
	                 (SELECT id, client, customer_id, amount, ordered_at FROM fu
	                  EXCEPT ALL SELECT id, client, customer_id, amount, ordered_at FROM ft)
	                 UNION ALL
	                 (SELECT id, client, customer_id, amount, ordered_at FROM ft
	                  EXCEPT ALL SELECT id, client, customer_id, amount, ordered_at FROM fu)) x")" 0 \
		"round $round (seed $seed): the two tables hold the same orders"
	differences=$(q "$db" "SELECT count(*) FROM crm_verify('ft')")
	is "$differences" 0 "round $round (seed $seed): crm_verify finds nothing"
	[ "$differences" = 0 ] || q "$db" "SELECT * FROM crm_verify('ft') LIMIT 5" | sed 's/^/# /'
done
