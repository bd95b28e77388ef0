# Shared by bench/run and bench/work_mem, sourced inside the server they
# run against: the bench_orders table of ORDERS orders (generated when it
# is missing or of another size) and timing of queries over it.

export PGOPTIONS="-c jit=off -c client_min_messages=warning ${PGOPTIONS:-}"
psql() { command psql -X -q -v ON_ERROR_STOP=1 "$@"; }

psql -c 'CREATE EXTENSION IF NOT EXISTS crm'
# (the count only when the table exists: the parser resolves every table
# named in a statement, in whichever branch of a CASE)
have=0
if [ "$(psql -At -c "SELECT to_regclass('bench_orders') IS NOT NULL")" = t ]; then
	have=$(psql -At -c "SELECT count(*) FROM bench_orders")
fi
if [ "$have" != "$ORDERS" ]; then
	echo "Generating $ORDERS orders ..."
	psql -v orders="$ORDERS" -f "$ROOT/bench/generate.sql" >/dev/null
fi

# execution time (ms) of one run of a query with the given workers (and
# work_mem, when WORK_MEM is set; enable_hashagg, when HASHAGG is)
time_once() {
	psql -At -c "SET max_parallel_workers_per_gather = $1" \
		${WORK_MEM:+-c "SET work_mem = '$WORK_MEM'"} \
		${HASHAGG:+-c "SET enable_hashagg = $HASHAGG"} \
		-c "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY ON) $2" |
		sed -n 's/^Execution Time: \([0-9.]*\) ms$/\1/p'
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ t[NR] = $1 } END { printf "%.0f", t[int((NR + 1) / 2)] }'
}

# Median over rounds of the ratio of two space-separated lists of times,
# taken round by round: two queries of one round ran minutes apart at most,
# so the machine's drift between rounds (±15% here) cancels out
median_ratio() {
	paste -d ' ' <(tr -s ' ' '\n' <<<"$1" | sed '/^$/d') <(tr -s ' ' '\n' <<<"$2" | sed '/^$/d') |
		awk '{ print $1 / $2 }' | sort -g |
		awk '{ r[NR] = $1 } END { printf "%.2fx", r[int((NR + 1) / 2)] }'
}
