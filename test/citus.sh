#!/usr/bin/env bash
# crm on a real Citus cluster: a coordinator and two workers, each a
# PostgreSQL instance of its own on a loopback port, started and stopped
# here.  The CDNOW order log and a generated skewed one are loaded twice on
# the coordinator -- a table distributed by customer and a plain local one --
# and every population aggregate and model fit over the distributed table
# must run as partial aggregates on the workers and give exactly what the
# local table gives; per-customer crm_rfm must equal it row for row.
# Skipped where Citus is not installed, except in CI (.ci/run installs it).
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/../tools/citus_cluster.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
citus_required

plan 45

dir=$(mktemp -d)
trap 'citus_stop "$dir"' EXIT
# ports of their own, clear of the server the other tests use and of the
# crash test's (+100)
citus_start "$dir" $((${PGPORT:-5432} + 200)) crm_citus_test
ok $? "a coordinator and two workers are up"
is "$(q "$PGDATABASE" "SELECT count(*) FROM citus_get_active_worker_nodes()")" 2 "the coordinator has two workers"

psql -X -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "CREATE EXTENSION crm" >/dev/null
ok $? "CREATE EXTENSION crm on the coordinator"
is "$(q "$PGDATABASE" "SELECT string_agg(result, ',') FROM run_command_on_workers(
        \$\$SELECT extversion FROM pg_extension WHERE extname = 'crm'\$\$)")" \
	"$(q "$PGDATABASE" "SELECT extversion || ',' || extversion FROM pg_extension WHERE extname = 'crm'")" \
	"the workers have crm too, at the same version"

# The CDNOW master log (23,570 customers, 69,659 orders) and a skewed log:
# a few customers with most orders, amounts with many ties, some NULL
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE cdnow_raw (line text);
\\copy cdnow_raw FROM '$ROOT/data/cdnow_master.txt'
CREATE TABLE cdnow_local AS
SELECT f[1]::int AS customer_id, to_date(f[2], 'YYYYMMDD')::timestamptz AS ordered_at,
       f[4]::numeric(10, 2) AS amount
FROM (SELECT regexp_split_to_array(btrim(line, E' \\r'), '\\s+') AS f FROM cdnow_raw) s
WHERE f[1] ~ '^[0-9]+\$';
CREATE TABLE skewed_local AS
SELECT 1 + floor(20000 * power(((i * 7919) % 100003) / 100003.0, 3))::int AS customer_id,
       '2023-01-01'::timestamptz + ((i * 7) % 730) * interval '1 day' + (i % 24) * interval '1 hour' AS ordered_at,
       CASE WHEN i % 97 = 0 THEN NULL ELSE round(exp(((i * 31) % 1000) / 200.0)::numeric, 2) END AS amount
FROM generate_series(1, 200000) AS i;
CREATE TABLE cdnow (LIKE cdnow_local);
CREATE TABLE skewed (LIKE skewed_local);
SELECT create_distributed_table('cdnow', 'customer_id');
SELECT create_distributed_table('skewed', 'customer_id');
INSERT INTO cdnow SELECT * FROM cdnow_local;
INSERT INTO skewed SELECT * FROM skewed_local;
SQL
ok $? "the CDNOW and skewed logs, distributed by customer and as local tables"
is "$(q "$PGDATABASE" "SELECT count(*) || ' ' || count(DISTINCT customer_id) FROM cdnow")" "69659 23570" \
	"CDNOW: 69,659 orders of 23,570 customers"
is "$(q "$PGDATABASE" "SELECT count(DISTINCT shardid) FROM pg_dist_shard_placement p JOIN pg_dist_shard s USING (shardid)
                        WHERE s.logicalrelid = 'skewed'::regclass AND p.nodeport <> $PGPORT")" 8 \
	"the skewed log is spread over 8 shards on the workers"

# same HAVE WANT DESCRIPTION: is, but an empty result (an error) never passes
same() {
	if [ -z "$1" ] || [ -z "$2" ]; then
		ok 1 "$3"
		printf '#   have: %s\n#   want: %s\n' "$1" "$2"
	else
		is "$1" "$2" "$3"
	fi
}

# The worker's part of a query: what EXPLAIN VERBOSE shows Citus sending
explain() { psql -X -At -c "EXPLAIN (VERBOSE, COSTS OFF) $1"; }

# Population aggregates over orders and over customers' totals
for t in cdnow skewed; do
	customers="(SELECT customer_id, sum(amount)::float8 AS value FROM $t GROUP BY customer_id) c"
	for agg in "crm_tier_thresholds(amount::float8) FROM $t" \
		"crm_tier_thresholds(amount::float8, '{0.1, 0.3, 0.6}') FROM $t" \
		"crm_pareto_share(amount::float8, 0.05) FROM $t" \
		"crm_pyramid(amount::float8) FROM $t" \
		"crm_tier_thresholds(value) FROM $customers" \
		"crm_pareto_share(value) FROM $customers" \
		"crm_pyramid(value) FROM $customers"; do
		same "$(q "$PGDATABASE" "SELECT $agg")" "$(q "$PGDATABASE" "SELECT ${agg//$t/${t}_local}")" \
			"$t: SELECT ${agg%% FROM*} equals the local result"
	done
done
plan_text=$(explain "SELECT crm_tier_thresholds(amount::float8), crm_pareto_share(amount::float8), crm_pyramid(amount::float8) FROM skewed")
task_query=$(grep -m1 'Query:' <<<"$plan_text")
is "$(grep -o 'worker_partial_agg(' <<<"$task_query" | wc -l | tr -d ' ')" 3 \
	"EXPLAIN: each worker's task returns three partial states (worker_partial_agg)"
is "$(grep -c 'worker_column' <<<"$task_query" | tr -d ' ')" 0 \
	"EXPLAIN: and no column of the orders"
is "$(grep -o 'coord_combine_agg(' <<<"$plan_text" | wc -l | tr -d ' ')" 3 \
	"EXPLAIN: the coordinator combines them (coord_combine_agg)"

# What a worker sends: worker_partial_agg, as in the task query, writes the
# state compact -- each distinct value once with its count.  100,000 values
# of three kinds take 2 bytes (version, kind) + 44 (the value state's
# layout, parameter kind, three parameters, count of values and of distinct
# ones) + 3 x (8-byte value + 3-byte count) = 77 bytes, 104 in base64.
is "$(q "$PGDATABASE" "SELECT octet_length(worker_partial_agg('crm_tier_thresholds(double precision)'::regprocedure,
                                                             (i % 3)::float8)::text)
                        FROM generate_series(1, 100000) AS i")" 104 \
	"a worker's partial state of 100,000 values of three kinds is 104 characters"
is "$(q "$PGDATABASE" "SELECT coord_combine_agg('crm_tier_thresholds(double precision)'::regprocedure, s::cstring,
                                                NULL::float8[])
                        FROM (SELECT worker_partial_agg('crm_tier_thresholds(double precision)'::regprocedure,
                                                        (i % 3)::float8) AS s
                              FROM generate_series(1, 100000) AS i GROUP BY i % 2) p")" \
	"$(q "$PGDATABASE" "SELECT crm_tier_thresholds((i % 3)::float8) FROM generate_series(1, 100000) AS i")" \
	"two such states combined as the coordinator does give the thresholds of all the values"

# Model fits over per-customer summaries (crm_rfm grouped by the
# distribution column runs whole on the workers)
for t in cdnow skewed; do
	as_of=$([ $t = cdnow ] && echo 1998-07-01 || echo 2025-01-01)
	summaries="(SELECT customer_id, (crm_rfm(ordered_at, amount, '$as_of', '1 week')).* FROM $t GROUP BY customer_id) s"
	for fit in "crm_bgnbd_fit(frequency, recency, t)" "crm_mbgnbd_fit(frequency, recency, t)" \
		"crm_paretonbd_fit(frequency, recency, t, 0.001)" \
		"crm_gammagamma_fit(frequency, avg_repeat_value)"; do
		same "$(q "$PGDATABASE" "SELECT $fit FROM $summaries")" \
			"$(q "$PGDATABASE" "SELECT $fit FROM ${summaries//$t/${t}_local}")" \
			"$t: ${fit%%(*} is identical to the local fit"
	done
	is "$(q "$PGDATABASE" "SELECT count(*) FROM ((SELECT * FROM $summaries EXCEPT SELECT * FROM ${summaries//$t/${t}_local})
	                                            UNION ALL
	                                            (SELECT * FROM ${summaries//$t/${t}_local} EXCEPT SELECT * FROM $summaries)) x")" 0 \
		"$t: per-customer crm_rfm equals the local one row for row"
	purchases="(SELECT customer_id, (crm_purchase_summary(ordered_at, amount)).* FROM $t GROUP BY customer_id) p"
	is "$(q "$PGDATABASE" "SELECT count(*) FROM ((SELECT * FROM $purchases EXCEPT SELECT * FROM ${purchases//$t/${t}_local})
	                                            UNION ALL
	                                            (SELECT * FROM ${purchases//$t/${t}_local} EXCEPT SELECT * FROM $purchases)) x")" 0 \
		"$t: per-customer crm_purchase_summary equals the local one row for row"
done
backtest="(SELECT customer_id, (crm_calibration_holdout(ordered_at, amount, '1997-09-30', '1998-06-30', '1 week')).*
           FROM cdnow GROUP BY customer_id) b"
is "$(q "$PGDATABASE" "SELECT count(*) FROM ((SELECT * FROM $backtest EXCEPT SELECT * FROM ${backtest//cdnow/cdnow_local})
                                            UNION ALL
                                            (SELECT * FROM ${backtest//cdnow/cdnow_local} EXCEPT SELECT * FROM $backtest)) x")" 0 \
	"cdnow: per-customer crm_calibration_holdout equals the local one row for row"
plan_text=$(explain "SELECT crm_bgnbd_fit(frequency, recency, t) FROM
	(SELECT customer_id, (crm_rfm(ordered_at, amount, '2025-01-01', '1 week')).* FROM skewed GROUP BY customer_id) s")
grep -q 'worker_partial_agg' <<<"$plan_text"
ok $? "EXPLAIN: the BG/NBD fit runs partial on the workers"
plan_text=$(explain "SELECT crm_mbgnbd_fit(frequency, recency, t) FROM
	(SELECT customer_id, (crm_rfm(ordered_at, amount, '2025-01-01', '1 week')).* FROM skewed GROUP BY customer_id) s")
grep -q 'worker_partial_agg' <<<"$plan_text"
ok $? "EXPLAIN: the MBG/NBD fit runs partial on the workers"
# a covariate fit is PARALLEL RESTRICTED (no partial aggregate in one
# server's parallel plan) but keeps its combine function for Citus
covariate_fit="crm_paretonbd_fit(frequency, recency, t, ARRAY[(customer_id % 2)::float8])"
cdnow_summaries="(SELECT customer_id, (crm_rfm(ordered_at, amount, '1998-07-01', '1 week')).* FROM cdnow GROUP BY customer_id) s"
same "$(q "$PGDATABASE" "SELECT $covariate_fit FROM $cdnow_summaries")" \
	"$(q "$PGDATABASE" "SELECT $covariate_fit FROM ${cdnow_summaries//cdnow/cdnow_local}")" \
	"cdnow: crm_paretonbd_fit with a covariate is identical to the local fit"
plan_text=$(explain "SELECT $covariate_fit FROM $cdnow_summaries")
grep -q 'worker_partial_agg' <<<"$plan_text"
ok $? "EXPLAIN: the covariate fit runs partial on the workers"

# BG/BB over the donations of its paper, one row per donor, distributed by
# donor: rows weighted by their counts or one per donor, on the cluster or
# on the coordinator alone, the same model
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE donation_counts (frequency int, recency int, n int, n_custs int);
\\copy donation_counts FROM '$ROOT/data/donations.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE donors_local AS
SELECT row_number() OVER () AS donor, frequency, recency, n
FROM donation_counts, generate_series(1, n_custs);
CREATE TABLE donors (LIKE donors_local);
SELECT create_distributed_table('donors', 'donor');
INSERT INTO donors SELECT * FROM donors_local;
SQL
same "$(q "$PGDATABASE" "SELECT crm_bgbb_fit(frequency, recency, n) FROM donors")" \
	"$(q "$PGDATABASE" "SELECT crm_bgbb_fit(frequency, recency, n, n_custs) FROM donation_counts")" \
	"BG/BB over 11,104 donors on the workers: the model of the counted rows"
plan_text=$(explain "SELECT crm_bgbb_fit(frequency, recency, n) FROM donors")
grep -q 'worker_partial_agg' <<<"$plan_text"
ok $? "EXPLAIN: the BG/BB fit runs partial on the workers"

