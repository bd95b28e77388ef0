#!/usr/bin/env bash
# Model fits with parallel workers: a fit of more than 32,768 distinct
# customer summaries sums its likelihood in fixed chunks, shared with up to
# max_parallel_workers_per_gather workers once crm.fit_parallel_min_time
# says they pay.  Whoever sums the chunks, the model is the same to the
# last bit: with workers, without (max_parallel_workers_per_gather = 0),
# under a parallel plan or not (plain fits: the covariate fits are
# PARALLEL RESTRICTED), in a transaction that has written, in
# CREATE TABLE AS.  Which processes took part shows only in a DEBUG1
# message, so this is a shell test that reads it.
source "$(dirname "$0")/lib/tap.sh"

db=crm_fit_parallel_$$
trap 'dropdb --if-exists "$db"' EXIT
createdb "$db" || exit 1

plan 14

psql -X -q -v ON_ERROR_STOP=1 -v lib="$(dirname "$0")/lib" -d "$db" >/dev/null <<'SQL'
CREATE EXTENSION crm;
\i :lib/simulate.sql
SELECT setseed(0.25);
-- 80,000 BG/NBD customers, ages to the hundredth of a week: more than
-- 32,768 distinct summaries even without the covariates
CREATE TABLE sim AS
SELECT c.c1, c.c2, s.frequency, s.recency, c.t
FROM (SELECT (random() < 0.5)::int::float8 AS c1,
             sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS c2,
             round((13 + 39 * random())::numeric, 2)::float8 AS t
      FROM generate_series(1, 80000)) c,
     LATERAL pg_temp.bgnbd_customer(0.25, 4.0 * exp(-(0.5 * c.c1 - 0.3 * c.c2)), 0.8,
                                    2.5 * exp(-(-0.4 * c.c1 + 0.6 * c.c2)), c.t) s;
ANALYZE sim;
SQL
ok $? "80,000 simulated customers with a 0/1 and a normal covariate"

is "$(q "$db" "SELECT count(DISTINCT (frequency, recency, t)) > 32768 FROM sim")" t \
	"more than 32,768 distinct summaries without the covariates"

# fit SETTINGS QUERY: the model as text, then the DEBUG1 lines about workers
fit() {
	psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" 2>&1 <<SQL
SET jit = off;
$1
SET client_min_messages = debug1;
$2;
SQL
}
# the model alone (the rest, marked, if it is not one), and how many
# workers the fit started (none: no message)
model() {
	local m
	m=$(grep -v '^DEBUG' <<<"$1")
	if [[ $m == \(* ]]; then echo "$m"; else echo "not a model: $m"; fi
}
workers() { grep -o 'crm fit of [0-9]* rows: [0-9]* parallel workers' <<<"$1" | grep -o '[0-9]* parallel' | grep -o '[0-9]*' || echo none; }

no_plan="SET parallel_setup_cost = 1e9;"
pareto='SELECT crm_paretonbd_fit(frequency, recency, t, ARRAY[c1, c2]) FROM sim'
bgnbd='SELECT crm_bgnbd_fit(frequency, recency, t) FROM sim'

alone=$(fit "$no_plan SET max_parallel_workers_per_gather = 0;" "$pareto")
shared=$(fit "$no_plan SET max_parallel_workers_per_gather = 2; SET crm.fit_parallel_min_time = 0;" "$pareto")
ok "$([ "$(workers "$shared")" -ge 1 ] 2>/dev/null; echo $?)" \
	"Pareto/NBD with covariates: workers start when crm.fit_parallel_min_time is 0 ($(workers "$shared"))"
is "$(workers "$alone")" none "no workers with max_parallel_workers_per_gather = 0"
is "$(model "$shared")" "$(model "$alone")" \
	"Pareto/NBD with covariates: the same model to the last bit with workers and without"
is "$(q "$db" "SELECT (m).converged FROM ($pareto) f(m)")" t "... a model that converged"

# under a parallel plan, whose workers read the rows first (the covariate
# fits are PARALLEL RESTRICTED: the plain one)
plain='SELECT crm_paretonbd_fit(frequency, recency, t) FROM sim'
plain_alone=$(fit "$no_plan SET max_parallel_workers_per_gather = 0;" "$plain")
plan_too=$(fit "SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
                SET max_parallel_workers_per_gather = 2; SET crm.fit_parallel_min_time = 0;" "$plain")
is "$(model "$plan_too")" "$(model "$plain_alone")" \
	"Pareto/NBD under a parallel plan, then with workers of its own ($(workers "$plan_too")): the same model as in one backend"

bg_alone=$(fit "$no_plan SET max_parallel_workers_per_gather = 0;" "$bgnbd")
bg_shared=$(fit "$no_plan SET max_parallel_workers_per_gather = 2; SET crm.fit_parallel_min_time = 0;" "$bgnbd")
is "$(model "$bg_shared")" "$(model "$bg_alone")" "BG/NBD: the same model with workers ($(workers "$bg_shared")) and without"

# BG/NBD's likelihood is cheap: a pass over these rows takes a few
# milliseconds, far from the default 100 ms
bg_default=$(fit "$no_plan SET max_parallel_workers_per_gather = 2;" "$bgnbd")
is "$(workers "$bg_default")" none "BG/NBD: no workers by default, a pass over all rows is too quick to share"

# a transaction that has written, and CREATE TABLE AS: the workers come
# and go while the statement runs; the model is the same
written=$(fit "$no_plan SET max_parallel_workers_per_gather = 2; SET crm.fit_parallel_min_time = 0;
               BEGIN; CREATE TABLE scratch (i int); INSERT INTO scratch VALUES (1);" "$pareto; COMMIT")
is "$(model "$written")" "$(model "$alone")" "a fit after a write in the same transaction"
ctas=$(fit "$no_plan SET max_parallel_workers_per_gather = 2; SET crm.fit_parallel_min_time = 0;" \
	"CREATE TABLE fitted AS SELECT crm_paretonbd_fit(frequency, recency, t, ARRAY[c1, c2]) AS m FROM sim;
	 SELECT m FROM fitted")
is "$(model "$ctas" | tail -1)" "$(model "$alone")" "CREATE TABLE AS a fit"
is "$(q "$db" "SELECT count(*) FROM fitted")" 1 "... which holds the model"

# cancelled at some point of the fit (reading, the sample, the passes
# with workers): the next fit in the same session, and in a savepoint
# rolled back after a cancel, are the model all the same
after_cancel=$(for ms in 20 60 150 300; do
	psql -X -q -At -d "$db" 2>/dev/null <<SQL
SET jit = off; $no_plan SET max_parallel_workers_per_gather = 2; SET crm.fit_parallel_min_time = 0;
SET statement_timeout = $ms;
$pareto;
RESET statement_timeout;
$pareto;
SQL
done | sort -u)
is "$after_cancel" "$(model "$alone")" "a fit after fits cancelled at 20, 60, 150 and 300 ms"
in_savepoint=$(psql -X -q -At -d "$db" 2>/dev/null <<SQL
SET jit = off; $no_plan SET max_parallel_workers_per_gather = 2; SET crm.fit_parallel_min_time = 0;
BEGIN;
SAVEPOINT s;
SET LOCAL statement_timeout = 100;
$pareto;
ROLLBACK TO s;
$pareto;
COMMIT;
SQL
)
is "$(tail -1 <<<"$in_savepoint")" "$(model "$alone")" "... and after one cancelled in a savepoint"
