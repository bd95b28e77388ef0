#!/usr/bin/env bash
# The report pages in a real browser: headless Chromium opens the page
# tools/demo writes, and every chart must have rendered, drawn marks and
# met no error, and the data each chart drew from must be the figures SQL
# gives for the same demo tables, computed here independently; then the
# page tools/report writes for a tracked table, the same way.
source "$(dirname "$0")/lib/tap.sh"
source "$(dirname "$0")/../tools/common.sh"
source "$ROOT/tools/report_page.sh"
set +e

db=crm_report_$$
work=$(mktemp -d)
trap 'dropdb --if-exists "$db"; rm -rf "$work"' EXIT
createdb "$db" || exit 1
export PGDATABASE=$db

plan 18

awk 'NR > 1 { sub(/\r$/, ""); printf "%d,%s-%s-%s,%s,%s\n", $1,
     substr($2, 1, 4), substr($2, 5, 2), substr($2, 7, 2), $3, $4 }' \
	"$ROOT/data/cdnow_master.txt" |
	psql -X -q -v ON_ERROR_STOP=1 -f "$ROOT/tools/demo.sql" >"$work/tables" 2>&1
ok $? "the demo's tables"
psql -X -q -At -F $'\t' -v ON_ERROR_STOP=1 -f "$ROOT/tools/demo_charts.sql" >"$work/charts"
ok $? "the demo's charts"
vega_libraries && write_report "$work/report.html" "crm demo" "$work/tables" "$work/charts"
ok $? "the report page, with the Vega libraries of the npm registry"

# render PAGE OUT: Chromium runs the page's scripts to the end (a virtual
# time budget lets it finish without waiting in real time), and OUT gets
# what the page reported it rendered
render() {
	timeout 300 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=60000 \
		--dump-dom "file://$1" >"$work/dom.html" 2>"$work/chromium.log" &&
		sed -n 's/.*<script type="application\/json" id="crm-rendered">\(.*\)<\/script>.*/\1/p' \
			"$work/dom.html" >"$2" && [ -s "$2" ]
}
render "$work/report.html" "$work/rendered.json"
ok $? "headless Chromium opened it, and the page reported what it rendered"

# read_back JSON TABLE: what a page reported, as table TABLE (id,
# rendered, marks, data) and TABLE_errors beside the demo's tables; the
# JSON is read by psql itself, as it may be longer than an argument
read_back() {
	psql -X -q -v ON_ERROR_STOP=1 -v file="$1" -v t="$2" -v e="$2_errors" >/dev/null <<'SQL'
\set rendered `cat :file`
CREATE TABLE :t AS
SELECT c ->> 'id' AS id, (c ->> 'rendered')::boolean AS rendered, (c ->> 'marks')::int AS marks, c -> 'data' AS data
FROM jsonb_array_elements((:'rendered')::jsonb -> 'charts') c;
CREATE TABLE :e AS SELECT (:'rendered')::jsonb -> 'errors' AS errors;
SQL
}
read_back "$work/rendered.json" rendered
ok $? "what the page drew, read back"

is "$(q "$db" "SELECT count(*) FILTER (WHERE rendered AND marks > 0) || ' of ' || count(*) FROM rendered")" \
	"$(grep -c . "$work/charts") of $(grep -c . "$work/charts")" "every chart rendered and drew marks"
is "$(q "$db" "SELECT errors FROM rendered_errors")" "[]" "no error in the page, nor a warning in its console"

is "$(q "$db" "SELECT count(*) FROM unnest((SELECT crm_pyramid(revenue) FROM crm_demo.customers)) t
               JOIN jsonb_array_elements((SELECT data FROM rendered WHERE id = 'pyramid')) d
                 ON d ->> 'category' = t.tier::text
               WHERE (d ->> 'customers')::bigint = t.customers AND (d ->> 'value')::float8 = t.value")" "4" \
	"the pyramid drew crm_pyramid's customers and revenue of each tier"
is "$(q "$db" "SELECT count(*) FROM (SELECT stage, count(*) AS n FROM crm_demo.customers GROUP BY stage) s
               JOIN jsonb_array_elements((SELECT data FROM rendered WHERE id = 'lifecycle')) d
                 ON d ->> 'category' = s.stage::text
               WHERE (d ->> 'customers')::bigint = s.n")" \
	"$(q "$db" "SELECT count(DISTINCT stage) FROM crm_demo.customers")" \
	"the lifecycle mix drew the customers of each stage"
is "$(q "$db" "SELECT count(*) FROM jsonb_array_elements((SELECT data FROM rendered WHERE id = 'p_alive_matrix')) d,
                      crm_demo.models m
               WHERE abs((d ->> 'p_alive')::float8 - crm_bgnbd_p_alive(m.bgnbd, (d ->> 'frequency')::float8,
                                                                      (d ->> 'recency')::float8, 39)) > 1e-12")" "0" \
	"every cell of the P(alive) matrix is crm_bgnbd_p_alive"
is "$(q "$db" "SELECT sum((d ->> 'customers')::bigint)
               FROM jsonb_array_elements((SELECT data FROM rendered WHERE id = 'p_alive_distribution')) d")" \
	"$(q "$db" "SELECT count(*) FROM crm_demo.calibration")" \
	"the P(alive) histogram counts every calibration customer"
is "$(q "$db" "SELECT round(sum((d ->> 'purchases')::numeric))
               FROM jsonb_array_elements((SELECT data FROM rendered WHERE id = 'tracking')) d
               WHERE d ->> 'view' = 'per period' AND d ->> 'series' = 'actual'")" \
	"$(q "$db" "SELECT count(DISTINCT (customer_id, ordered_at)) - count(DISTINCT customer_id) FROM crm_demo.orders")" \
	"the tracking plot's actual repeat purchase days add up to those of the order log"

# tools/report on a tracked copy of the orders
psql -X -q -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
CREATE TABLE shop_orders (id bigserial PRIMARY KEY, customer_id int, amount numeric(10, 2), ordered_at timestamptz);
INSERT INTO shop_orders (customer_id, amount, ordered_at) SELECT customer_id, amount, ordered_at FROM crm_demo.orders;
SELECT crm_track('shop_orders', 'customer_id', 'amount', 'ordered_at');
SQL
"$ROOT/tools/report" shop_orders "$work/tracked.html" >/dev/null 2>"$work/report.log"
ok $? "tools/report wrote the page of a tracked table"
render "$work/tracked.html" "$work/tracked.json"
ok $? "Chromium opened it"
read_back "$work/tracked.json" tracked_rendered
is "$(q "$db" "SELECT count(*) FILTER (WHERE rendered AND marks > 0) || ' of ' || count(*) || ', errors ' || min(e.errors::text)
               FROM tracked_rendered, tracked_rendered_errors e")" \
	"10 of 10, errors []" "every chart of it rendered and drew marks, without an error"
is "$(q "$db" "SELECT count(*) FROM shop_orders_crm_pyramid p
               JOIN jsonb_array_elements((SELECT data FROM tracked_rendered WHERE id = 'pyramid')) d
                 ON d ->> 'category' = p.tier::text
               WHERE (d ->> 'customers')::bigint = p.customers AND (d ->> 'value')::numeric = p.revenue")" "4" \
	"its pyramid is the tracking's pyramid view"
# A tracked table without orders: a page of charts that say so
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE no_orders (LIKE shop_orders)" \
	-c "SELECT crm_track('no_orders', 'customer_id', 'amount', 'ordered_at')" >/dev/null &&
	"$ROOT/tools/report" no_orders "$work/empty.html" >/dev/null 2>>"$work/report.log" &&
	render "$work/empty.html" "$work/empty.json" && read_back "$work/empty.json" empty_rendered
is "$(q "$db" "SELECT count(*) FILTER (WHERE rendered AND marks > 0 AND data -> 0 ? 'message') || ' of ' || count(*)
               || ', errors ' || min(e.errors::text)
               FROM empty_rendered, empty_rendered_errors e")" \
	"10 of 10, errors []" "no orders: every chart a message, drawn without an error"
"$ROOT/tools/report" crm_demo.orders "$work/untracked.html" >/dev/null 2>"$work/untracked.log"
is "$?:$(grep -c 'is not tracked by crm' "$work/untracked.log")" "1:1" "a table crm does not track: an error that says so"
