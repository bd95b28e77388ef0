/*
 * track_sql.c
 *		The SQL that keeps a tracked orders table's customer state: one
 *		template per statement, with {placeholders} for the names of one
 *		tracked table.
 *
 * Every statement is set-based: inserted orders are summed per customer and
 * purchase day, then folded into the state with one INSERT ... ON CONFLICT;
 * customers touched by an UPDATE or DELETE are recomputed from the orders
 * table itself, after their state rows are locked, so that a concurrent
 * insert is never lost (see track_trigger.c).  Customers are always taken
 * in key order, so two statements lock shared customers in the same order
 * and cannot deadlock on them.
 *
 * Rules the statements share (documented in the README):
 *	- an order counts when its customer, amount and time are not NULL;
 *	- a negative amount is a refund: it lowers revenue (and points) but is
 *	  not an order and makes no purchase day;
 *	- purchase days are calendar days in the tracking's time zone;
 *	- points change by (change in revenue) * points_per_unit * the
 *	  multiplier of the tier the customer had before the change; a new
 *	  customer starts in the lowest tier;
 *	- every customer is taken to start as a small-tier prospect with no
 *	  loyalty, so the history of a new customer shows what it became.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "track.h"

/* Placeholders and their values for one expansion */
typedef struct SqlVars
{
	int			n;
	const char *names[48];
	const char *values[48];
} SqlVars;

static void
set_var(SqlVars *vars, const char *name, const char *value)
{
	Assert(vars->n < lengthof(vars->names));
	vars->names[vars->n] = name;
	vars->values[vars->n] = value;
	vars->n++;
}

/*
 * Replace each {name} of a known placeholder in tmpl by its value.  Values
 * are copied as they are and never scanned again, so quoted names holding
 * braces are safe; unknown braces (array literals such as '{}') stay.
 */
static char *
expand(const char *tmpl, const SqlVars *vars)
{
	StringInfoData buf;
	const char *p = tmpl;

	initStringInfo(&buf);
	while (*p)
	{
		if (*p == '{')
		{
			const char *close = strchr(p, '}');
			bool		found = false;

			if (close != NULL)
			{
				for (int i = 0; i < vars->n; i++)
				{
					size_t		len = strlen(vars->names[i]);

					if (len == (size_t) (close - p - 1) &&
						strncmp(p + 1, vars->names[i], len) == 0)
					{
						appendStringInfoString(&buf, vars->values[i]);
						p = close + 1;
						found = true;
						break;
					}
				}
			}
			if (found)
				continue;
		}
		appendStringInfoChar(&buf, *p++);
	}
	return buf.data;
}

/*
 * Per customer, from the order rows of {src} that pass {filter}: orders,
 * revenue, promotional orders, first and last order, the sorted purchase
 * days and the revenue of the first purchase day.  crm_purchase_summary
 * does the work in one pass (run with TimeZone set to the tracking's time
 * zone, see track_trigger.c); refunds are summed apart.
 */
static const char summary_sql[] =
"SELECT customer, coalesce((p).orders, 0) AS orders,\n"
"       coalesce((p).revenue, 0) + refunds AS revenue, promo AS promo_orders,\n"
"       (p).first_at AS first_at, (p).last_at AS last_at,\n"
"       coalesce((p).purchase_days, '{}') AS purchase_days,\n"
"       coalesce((p).first_day_revenue, 0) AS first_day_revenue\n"
"FROM (SELECT {customer} AS customer,\n"
"             {x}.crm_purchase_summary({ts}, {amount}::numeric) FILTER (WHERE {amount} >= 0) AS p,\n"
"             coalesce(sum({amount}::numeric) FILTER (WHERE {amount} < 0), 0) AS refunds,\n"
"             count(*) FILTER (WHERE {amount} >= 0 AND {promo}) AS promo\n"
"      FROM {src}\n"
"      WHERE {customer} IS NOT NULL AND {amount} IS NOT NULL AND {ordered_at} IS NOT NULL\n"
"        {filter}\n"
"      GROUP BY 1) g";

/* The settings row of this tracking, as a FROM item */
static const char cfg_sql[] =
"(SELECT * FROM {x}.crm_tracking WHERE id = {id})";

/* The customers an UPDATE (old and new rows) or a DELETE touches */
static const char affected_update_sql[] =
"SELECT {customer} AS customer FROM crm_old WHERE {customer} IS NOT NULL\n"
"UNION SELECT {customer} FROM crm_new WHERE {customer} IS NOT NULL";
static const char affected_delete_sql[] =
"SELECT DISTINCT {customer} AS customer FROM crm_old WHERE {customer} IS NOT NULL";

static const char backfill_sql[] =
"WITH d AS ({summary_orders}),\n"
"th AS (SELECT {x}.crm_tier_thresholds(d.revenue::float8,\n"
"              (SELECT cuts FROM {x}.crm_tracking WHERE id = {id})) AS th FROM d)\n"
"INSERT INTO {state} (customer, orders, revenue, promo_orders, first_at, last_at,\n"
"                     purchase_days, first_day_revenue, points, tier, lifecycle)\n"
"SELECT d.customer, d.orders, d.revenue, d.promo_orders, d.first_at, d.last_at,\n"
"       d.purchase_days, d.first_day_revenue,\n"
"       d.revenue * c.points_per_unit\n"
"         * c.tier_multipliers[array_position(enum_range(NULL::{x}.crm_tier), t.tier)],\n"
"       t.tier,\n"
"       {x}.crm_lifecycle_stage(d.orders, d.first_at, d.last_at, coalesce(c.as_of, now()))\n"
"FROM d CROSS JOIN th CROSS JOIN {cfg} c\n"
"CROSS JOIN LATERAL (SELECT coalesce({x}.crm_tier_of(d.revenue::float8, th.th),\n"
"                                    'small'::{x}.crm_tier) AS tier) t\n"
"ORDER BY d.customer";

static const char thresholds_sql[] =
"UPDATE {x}.crm_tracking AS c\n"
"SET thresholds = (SELECT {x}.crm_tier_thresholds(s.revenue::float8, c.cuts) FROM {state} s),\n"
"    refreshed_at = now()\n"
"WHERE c.id = {id}";

/*
 * Re-tier and re-stage everyone whose tier or stage changes.  crm_refresh
 * holds off order writes with a table lock first (see track.c); the rows
 * are locked in key order all the same, as the triggers lock them.
 */
static const char retier_sql[] =
"UPDATE {state} AS s\n"
"SET tier = {tier_s}, lifecycle = {stage_s}, updated_at = now()\n"
"FROM {cfg} c,\n"
"     (SELECT s.customer FROM {state} s CROSS JOIN {cfg} c\n"
"      WHERE s.tier IS DISTINCT FROM {tier_s} OR s.lifecycle IS DISTINCT FROM {stage_s}\n"
"      ORDER BY s.customer FOR UPDATE OF s) l\n"
"WHERE s.customer = l.customer\n"
"  AND (s.tier IS DISTINCT FROM {tier_s} OR s.lifecycle IS DISTINCT FROM {stage_s})";

static const char insert_sql[] =
"INSERT INTO {state} AS s (customer, orders, revenue, promo_orders, first_at, last_at,\n"
"                          purchase_days, first_day_revenue, points, tier, lifecycle)\n"
"SELECT d.customer, d.orders, d.revenue, d.promo_orders, d.first_at, d.last_at,\n"
"       d.purchase_days, d.first_day_revenue,\n"
"       d.revenue * c.points_per_unit * c.tier_multipliers[1],\n"
"       coalesce({x}.crm_tier_of(d.revenue::float8, c.thresholds), 'small'::{x}.crm_tier),\n"
"       {x}.crm_lifecycle_stage(d.orders, d.first_at, d.last_at, coalesce(c.as_of, now()))\n"
"FROM ({delta}) d CROSS JOIN {cfg} c\n"
"ORDER BY d.customer\n"
"ON CONFLICT (customer) DO UPDATE SET\n"
"    orders = s.orders + excluded.orders,\n"
"    revenue = s.revenue + excluded.revenue,\n"
"    promo_orders = s.promo_orders + excluded.promo_orders,\n"
"    first_at = least(s.first_at, excluded.first_at),\n"
"    last_at = greatest(s.last_at, excluded.last_at),\n"
"    purchase_days = {x}.crm_days_union(s.purchase_days, excluded.purchase_days),\n"
"    first_day_revenue = CASE\n"
"        WHEN excluded.purchase_days[1] IS NULL OR s.purchase_days[1] < excluded.purchase_days[1]\n"
"            THEN s.first_day_revenue\n"
"        WHEN s.purchase_days[1] IS NULL OR s.purchase_days[1] > excluded.purchase_days[1]\n"
"            THEN excluded.first_day_revenue\n"
"        ELSE s.first_day_revenue + excluded.first_day_revenue END,\n"
"    points = s.points + excluded.revenue\n"
"        * (SELECT points_per_unit FROM {x}.crm_tracking WHERE id = {id})\n"
"        * (SELECT tier_multipliers FROM {x}.crm_tracking WHERE id = {id})\n"
"            [array_position(enum_range(NULL::{x}.crm_tier), s.tier)],\n"
"    tier = coalesce({x}.crm_tier_of((s.revenue + excluded.revenue)::float8,\n"
"                                    (SELECT thresholds FROM {x}.crm_tracking WHERE id = {id})),\n"
"                    'small'::{x}.crm_tier),\n"
"    lifecycle = {x}.crm_lifecycle_stage(s.orders + excluded.orders,\n"
"                                        least(s.first_at, excluded.first_at),\n"
"                                        greatest(s.last_at, excluded.last_at),\n"
"                                        coalesce((SELECT as_of FROM {x}.crm_tracking WHERE id = {id}),\n"
"                                                 now())),\n"
"    updated_at = now()";

/*
 * Lock the state rows of the customers an UPDATE touches, in key order,
 * creating the rows of customers it brings: ON CONFLICT DO UPDATE locks
 * every conflicting row even when its WHERE keeps it from being updated.
 * Doing both in one ordered pass matters: inserting new customers first
 * and locking the others after could deadlock with a concurrent INSERT
 * that takes the same customers in key order.
 */
/*
 * The order of a single-row INSERT as the summary of one customer, from
 * parameters: $1 customer, $2 amount, $3 order time, $4 promotional.  The
 * trigger passes only orders whose customer, amount and time are known.
 */
static const char one_order_sql[] =
"SELECT $1 AS customer,\n"
"       CASE WHEN $2 >= 0 THEN 1 ELSE 0 END::bigint AS orders,\n"
"       $2::numeric AS revenue,\n"
"       CASE WHEN $2 >= 0 AND {promo_param} THEN 1 ELSE 0 END::bigint AS promo_orders,\n"
"       CASE WHEN $2 >= 0 THEN {ts_param} END AS first_at,\n"
"       CASE WHEN $2 >= 0 THEN {ts_param} END AS last_at,\n"
"       CASE WHEN $2 >= 0 THEN ARRAY[({ts_param} AT TIME ZONE {tz})::date]\n"
"            ELSE '{}'::date[] END AS purchase_days,\n"
"       CASE WHEN $2 >= 0 THEN $2::numeric ELSE 0 END AS first_day_revenue";

/*
 * A single order of an existing customer: one UPDATE by key, cheaper than
 * INSERT ... ON CONFLICT; the trigger falls back to that when no row was
 * updated (a new customer, or one being created concurrently).
 */
static const char update_one_sql[] =
"UPDATE {state} AS s SET\n"
"    orders = s.orders + d.orders,\n"
"    revenue = s.revenue + d.revenue,\n"
"    promo_orders = s.promo_orders + d.promo_orders,\n"
"    first_at = least(s.first_at, d.first_at),\n"
"    last_at = greatest(s.last_at, d.last_at),\n"
"    purchase_days = {x}.crm_days_union(s.purchase_days, d.purchase_days),\n"
"    first_day_revenue = CASE\n"
"        WHEN d.purchase_days[1] IS NULL OR s.purchase_days[1] < d.purchase_days[1]\n"
"            THEN s.first_day_revenue\n"
"        WHEN s.purchase_days[1] IS NULL OR s.purchase_days[1] > d.purchase_days[1]\n"
"            THEN d.first_day_revenue\n"
"        ELSE s.first_day_revenue + d.first_day_revenue END,\n"
"    points = s.points + d.revenue * c.points_per_unit\n"
"             * c.tier_multipliers[array_position(enum_range(NULL::{x}.crm_tier), s.tier)],\n"
"    tier = coalesce({x}.crm_tier_of((s.revenue + d.revenue)::float8, c.thresholds),\n"
"                    'small'::{x}.crm_tier),\n"
"    lifecycle = {x}.crm_lifecycle_stage(s.orders + d.orders, least(s.first_at, d.first_at),\n"
"                                        greatest(s.last_at, d.last_at), coalesce(c.as_of, now())),\n"
"    updated_at = now()\n"
"FROM ({one_order}) d CROSS JOIN {cfg} c\n"
"WHERE s.customer = $1";

static const char update_lock_sql[] =
"INSERT INTO {state} AS s (customer)\n"
"SELECT customer FROM ({affected}) a ORDER BY customer\n"
"ON CONFLICT (customer) DO UPDATE SET customer = excluded.customer WHERE false";

static const char delete_lock_sql[] =
"SELECT NULL FROM {state}\n"
"WHERE customer IN ({affected})\n"
"ORDER BY customer FOR UPDATE";

/*
 * Recompute the affected customers from the orders table.  Runs after
 * lock_sql, as a separate statement, so that under READ COMMITTED its
 * snapshot includes every order committed before the locks were granted.
 */
static const char recompute_sql[] =
"UPDATE {state} AS s SET\n"
"    orders = coalesce(d.orders, 0),\n"
"    revenue = coalesce(d.revenue, 0),\n"
"    promo_orders = coalesce(d.promo_orders, 0),\n"
"    first_at = d.first_at,\n"
"    last_at = d.last_at,\n"
"    purchase_days = coalesce(d.purchase_days, '{}'),\n"
"    first_day_revenue = coalesce(d.first_day_revenue, 0),\n"
"    points = s.points + (coalesce(d.revenue, 0) - s.revenue) * c.points_per_unit\n"
"             * c.tier_multipliers[array_position(enum_range(NULL::{x}.crm_tier), s.tier)],\n"
"    tier = coalesce({x}.crm_tier_of(coalesce(d.revenue, 0)::float8, c.thresholds),\n"
"                    'small'::{x}.crm_tier),\n"
"    lifecycle = {x}.crm_lifecycle_stage(coalesce(d.orders, 0), d.first_at, d.last_at,\n"
"                                        coalesce(c.as_of, now())),\n"
"    updated_at = now()\n"
"FROM ({affected}) a\n"
"     LEFT JOIN ({summary_affected}) d ON d.customer = a.customer\n"
"     CROSS JOIN {cfg} c\n"
"WHERE s.customer = a.customer";

static const char truncate_sql[] =
"UPDATE {state} AS s SET\n"
"    orders = 0, revenue = 0, promo_orders = 0, first_at = NULL, last_at = NULL,\n"
"    purchase_days = '{}', first_day_revenue = 0,\n"
"    points = s.points - s.revenue * c.points_per_unit\n"
"             * c.tier_multipliers[array_position(enum_range(NULL::{x}.crm_tier), s.tier)],\n"
"    tier = coalesce({x}.crm_tier_of(0, c.thresholds), 'small'::{x}.crm_tier),\n"
"    lifecycle = 'prospect', updated_at = now()\n"
"FROM {cfg} c\n"
"WHERE s.orders <> 0 OR s.revenue <> 0";

/*
 * The history rows of a statement on the state table, from arrays the
 * history trigger fills as it compares old and new rows in C (customer,
 * status, old value, new value)
 */
static const char history_sql[] =
"INSERT INTO {history} (customer, status, old_value, new_value)\n"
"SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),\n"
"                         pg_catalog.unnest($3), pg_catalog.unnest($4))";

/*
 * Differences between the state and a recomputation from the orders with
 * crm_rfm (run with TimeZone set to the tracking's time zone, so that its
 * purchase days are the tracking's).  First-day revenue is checked through
 * crm_rfm's average repeat value, a float, to a relative 1e-9.
 */
static const char verify_sql[] =
"WITH r AS (\n"
"  SELECT {customer} AS customer,\n"
"         {x}.crm_rfm({ts}, {amount}::numeric) FILTER (WHERE {amount} >= 0) AS r,\n"
"         coalesce(sum({amount}::numeric) FILTER (WHERE {amount} < 0), 0) AS refunds,\n"
"         count(*) FILTER (WHERE {amount} >= 0 AND {promo}) AS promo_orders,\n"
"         coalesce(array_agg(DISTINCT ({ts} AT TIME ZONE {tz})::date)\n"
"                  FILTER (WHERE {amount} >= 0), '{}') AS days\n"
"  FROM {orders}\n"
"  WHERE {customer} IS NOT NULL AND {amount} IS NOT NULL AND {ordered_at} IS NOT NULL\n"
"  GROUP BY 1\n"
"), f AS (\n"
"  SELECT coalesce(s.customer, r.customer) AS customer, s.customer IS NULL AS missing,\n"
"         s.orders, s.revenue, s.promo_orders, s.first_at, s.last_at, s.purchase_days,\n"
"         s.first_day_revenue, s.tier, s.loyalty,\n"
"         coalesce({x}.crm_loyalty_type(\n"
"             CASE WHEN cardinality(s.purchase_days) > 0\n"
"                  THEN (cardinality(s.purchase_days) - 1)::float8 / cardinality(s.purchase_days) END,\n"
"             s.attitude, {promo_share}, s.price_sensitivity, s.referrals, s.has_alternative),\n"
"             'none'::{x}.crm_loyalty) AS r_loyalty,\n"
"         coalesce((r.r).orders, 0) AS r_orders,\n"
"         coalesce((r.r).revenue, 0) AS r_positive,\n"
"         coalesce((r.r).revenue, 0) + coalesce(r.refunds, 0) AS r_revenue,\n"
"         coalesce(r.promo_orders, 0) AS r_promo_orders,\n"
"         (r.r).first_at AS r_first_at, (r.r).last_at AS r_last_at,\n"
"         coalesce(r.days, '{}') AS r_days, (r.r).frequency AS r_frequency,\n"
"         (r.r).avg_repeat_value AS r_avg_repeat_value,\n"
"         coalesce({x}.crm_tier_of(s.revenue::float8, c.thresholds), 'small'::{x}.crm_tier) AS r_tier\n"
"  FROM {state} s FULL JOIN r ON r.customer = s.customer CROSS JOIN {cfg} c\n"
")\n"
"SELECT f.customer::text, v.field, v.tracked, v.recomputed\n"
"FROM f CROSS JOIN LATERAL (VALUES\n"
"  ('customer', f.missing, 'missing', 'present'),\n"
"  ('orders', f.orders IS DISTINCT FROM f.r_orders, f.orders::text, f.r_orders::text),\n"
"  ('revenue', f.revenue IS DISTINCT FROM f.r_revenue, f.revenue::text, f.r_revenue::text),\n"
"  ('promo_orders', f.promo_orders IS DISTINCT FROM f.r_promo_orders,\n"
"   f.promo_orders::text, f.r_promo_orders::text),\n"
"  ('first_at', f.first_at IS DISTINCT FROM f.r_first_at, f.first_at::text, f.r_first_at::text),\n"
"  ('last_at', f.last_at IS DISTINCT FROM f.r_last_at, f.last_at::text, f.r_last_at::text),\n"
"  ('purchase_days', f.purchase_days IS DISTINCT FROM f.r_days,\n"
"   f.purchase_days::text, f.r_days::text),\n"
"  ('frequency', f.r_orders > 0 AND cardinality(f.purchase_days) - 1 IS DISTINCT FROM f.r_frequency,\n"
"   (cardinality(f.purchase_days) - 1)::text, f.r_frequency::text),\n"
"  ('first_day_revenue',\n"
"   CASE WHEN f.r_orders = 0 THEN f.first_day_revenue <> 0\n"
"        WHEN f.r_frequency = 0 THEN f.first_day_revenue IS DISTINCT FROM f.r_positive\n"
"        ELSE abs((f.r_positive - f.first_day_revenue)::float8 / f.r_frequency - f.r_avg_repeat_value)\n"
"             > 1e-9 * greatest(1, abs(f.r_avg_repeat_value)) END,\n"
"   f.first_day_revenue::text,\n"
"   CASE WHEN f.r_orders = 0 THEN '0'\n"
"        WHEN f.r_frequency = 0 THEN f.r_positive::text\n"
"        ELSE (f.r_positive::float8 - f.r_avg_repeat_value * f.r_frequency)::text END),\n"
"  ('tier', f.tier IS DISTINCT FROM f.r_tier, f.tier::text, f.r_tier::text),\n"
"  ('loyalty', f.loyalty IS DISTINCT FROM f.r_loyalty, f.loyalty::text, f.r_loyalty::text)\n"
") AS v(field, differs, tracked, recomputed)\n"
"WHERE v.differs AND (NOT f.missing OR v.field = 'customer')\n"
"ORDER BY 1, 2";

static const char state_table_sql[] =
"CREATE TABLE {state} (\n"
"    customer {type} PRIMARY KEY,\n"
"    orders bigint NOT NULL DEFAULT 0,\n"
"    revenue numeric NOT NULL DEFAULT 0,\n"
"    promo_orders bigint NOT NULL DEFAULT 0,\n"
"    first_at timestamptz,\n"
"    last_at timestamptz,\n"
"    purchase_days date[] NOT NULL DEFAULT '{}',\n"
"    first_day_revenue numeric NOT NULL DEFAULT 0,\n"
"    points numeric NOT NULL DEFAULT 0,\n"
"    tier {x}.crm_tier NOT NULL DEFAULT 'small',\n"
"    lifecycle {x}.crm_lifecycle NOT NULL DEFAULT 'prospect',\n"
"    attitude float8,\n"
"    price_sensitivity float8,\n"
"    referrals integer,\n"
"    has_alternative boolean,\n"
"    share_of_wallet float8,\n"
"    loyalty {x}.crm_loyalty NOT NULL DEFAULT 'none',\n"
"    updated_at timestamptz NOT NULL DEFAULT now()\n"
");\n"
"CREATE TRIGGER crm_state_loyalty BEFORE INSERT OR UPDATE ON {state}\n"
"    FOR EACH ROW EXECUTE FUNCTION {x}.crm_state_trigger('{promo_arg}');\n"
"COMMENT ON TABLE {state} IS {state_comment};\n"
"COMMENT ON COLUMN {state}.customer IS 'Customer key, as in the orders table';\n"
"COMMENT ON COLUMN {state}.orders IS 'Number of orders (refunds, i.e. negative amounts, not counted)';\n"
"COMMENT ON COLUMN {state}.revenue IS 'Total amount of the orders, net of refunds';\n"
"COMMENT ON COLUMN {state}.promo_orders IS 'Number of orders marked as promotional';\n"
"COMMENT ON COLUMN {state}.first_at IS 'Time of the first order';\n"
"COMMENT ON COLUMN {state}.last_at IS 'Time of the latest order';\n"
"COMMENT ON COLUMN {state}.purchase_days IS 'Calendar days with at least one order, sorted';\n"
"COMMENT ON COLUMN {state}.first_day_revenue IS 'Amount bought on the first purchase day';\n"
"COMMENT ON COLUMN {state}.points IS 'Loyalty points: amount times points per unit times the multiplier of the tier held when the order arrived';\n"
"COMMENT ON COLUMN {state}.tier IS 'Pyramid tier by revenue, against the thresholds of the last crm_refresh';\n"
"COMMENT ON COLUMN {state}.lifecycle IS 'Lifecycle stage when the customer last changed; the segments view gives it at query time';\n"
"COMMENT ON COLUMN {state}.attitude IS 'Survey: attitude or satisfaction in [0,1]; NULL when unknown';\n"
"COMMENT ON COLUMN {state}.price_sensitivity IS 'Price sensitivity in [0,1]; NULL when unknown';\n"
"COMMENT ON COLUMN {state}.referrals IS 'Number of customers referred; NULL when unknown';\n"
"COMMENT ON COLUMN {state}.has_alternative IS 'Whether the customer could buy elsewhere; NULL when unknown (taken as yes)';\n"
"COMMENT ON COLUMN {state}.share_of_wallet IS 'Share of the customer''s spending in the category that goes to us, in [0,1]; NULL when unknown';\n"
"COMMENT ON COLUMN {state}.loyalty IS 'Loyalty type from the repeat rate (share of purchase days after the first), promotional share and the survey columns; recomputed whenever they change';\n"
"COMMENT ON COLUMN {state}.updated_at IS 'When the orders last changed this row'";

static const char history_table_sql[] =
"CREATE TABLE {history} (\n"
"    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
"    customer {type} NOT NULL,\n"
"    status text NOT NULL CHECK (status IN ('tier', 'loyalty', 'lifecycle')),\n"
"    old_value text,\n"
"    new_value text,\n"
"    changed_at timestamptz NOT NULL DEFAULT now(),\n"
"    transaction_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id()\n"
");\n"
"CREATE INDEX ON {history} (customer, changed_at);\n"
/*
 * The history is appended in time order, so a block range index finds recent
 * changes (the alerts view) at next to no cost per change; a B-tree's
 * rightmost page is one every concurrent order that changes a status fights
 * over.  Autosummarize keeps the filled ranges summarised between vacuums.
 */
"CREATE INDEX ON {history} USING brin (changed_at) WITH (autosummarize = on);\n"
"COMMENT ON TABLE {history} IS {history_comment};\n"
"COMMENT ON COLUMN {history}.id IS 'Order of the changes';\n"
"COMMENT ON COLUMN {history}.customer IS 'Customer key';\n"
"COMMENT ON COLUMN {history}.status IS 'What changed: tier, loyalty or lifecycle';\n"
"COMMENT ON COLUMN {history}.old_value IS 'Value before the change (a new customer starts as small, none, prospect)';\n"
"COMMENT ON COLUMN {history}.new_value IS 'Value after the change';\n"
"COMMENT ON COLUMN {history}.changed_at IS 'Start time of the transaction that made the change';\n"
"COMMENT ON COLUMN {history}.transaction_id IS 'Transaction that made the change'";

static const char triggers_sql[] =
"CREATE TRIGGER crm_track_insert AFTER INSERT ON {orders}\n"
"    REFERENCING NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}');\n"
"CREATE TRIGGER crm_track_update AFTER UPDATE ON {orders}\n"
"    REFERENCING OLD TABLE AS crm_old NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}');\n"
"CREATE TRIGGER crm_track_delete AFTER DELETE ON {orders}\n"
"    REFERENCING OLD TABLE AS crm_old\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}');\n"
"CREATE TRIGGER crm_track_truncate AFTER TRUNCATE ON {orders}\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}');\n"
"CREATE TRIGGER crm_history_insert AFTER INSERT ON {state}\n"
"    REFERENCING NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_history_trigger('{id}');\n"
"CREATE TRIGGER crm_history_update AFTER UPDATE ON {state}\n"
"    REFERENCING OLD TABLE AS crm_old NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_history_trigger('{id}')";

static const char drop_sql[] =
"DROP TRIGGER IF EXISTS crm_track_insert ON {orders};\n"
"DROP TRIGGER IF EXISTS crm_track_update ON {orders};\n"
"DROP TRIGGER IF EXISTS crm_track_delete ON {orders};\n"
"DROP TRIGGER IF EXISTS crm_track_truncate ON {orders};\n"
"DROP VIEW IF EXISTS {v_alerts}, {v_lifecycle_mix}, {v_loyalty_mix}, {v_pyramid}, {v_segments};\n"
"DROP TABLE IF EXISTS {history}, {state};\n"
"DELETE FROM {x}.crm_tracking WHERE id = {id}";

/* The views for BI tools (views.c would be one more file for one string) */
static const char views_sql[] =
"CREATE VIEW {v_segments} AS\n"
"WITH c AS (SELECT coalesce(as_of, now()) AS as_of FROM {x}.crm_tracking WHERE id = {id}),\n"
"s AS (\n"
"  SELECT s.*, cardinality(s.purchase_days) - 1 AS frequency,\n"
"         c.as_of::date - s.purchase_days[cardinality(s.purchase_days)] AS days_since_last,\n"
"         {x}.crm_lifecycle_stage(s.orders, s.first_at, s.last_at, c.as_of) AS stage_now,\n"
"         c.as_of\n"
"  FROM {state} s CROSS JOIN c\n"
"), q AS (\n"
"  SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY days_since_last) AS r_cuts,\n"
"         percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY orders) AS f_cuts,\n"
"         percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY revenue) AS m_cuts\n"
"  FROM s WHERE orders > 0\n"
")\n"
"SELECT s.customer, s.orders, s.revenue, s.points, s.first_at, s.last_at,\n"
"       greatest(s.frequency, 0) AS frequency, s.days_since_last,\n"
"       s.revenue / nullif(s.orders, 0) AS avg_order_value,\n"
"       s.tier, s.loyalty, s.stage_now AS lifecycle, s.lifecycle AS recorded_lifecycle,\n"
"       r.r AS r_score, r.f AS f_score, r.m AS m_score,\n"
"       {x}.crm_rfm_segment(r.r, r.f, r.m) AS rfm_segment,\n"
"       {x}.crm_clv(0.3 * (s.revenue / greatest(1, (s.as_of::date - s.purchase_days[1]) / 365.25))::float8,\n"
"                   CASE s.stage_now WHEN 'maturity' THEN 0.8 WHEN 'growth' THEN 0.7\n"
"                        WHEN 'acquisition' THEN 0.5 WHEN 'decline' THEN 0.3 ELSE 0 END,\n"
"                   0.1, 10) AS clv,\n"
"       s.attitude, s.price_sensitivity, s.referrals, s.has_alternative, s.share_of_wallet,\n"
"       s.updated_at\n"
"FROM s CROSS JOIN q\n"
"LEFT JOIN LATERAL (SELECT {x}.crm_rfm_score(s.days_since_last, q.r_cuts::float8[], false) AS r,\n"
"                          {x}.crm_rfm_score(s.orders, q.f_cuts::float8[]) AS f,\n"
"                          {x}.crm_rfm_score(s.revenue::float8, q.m_cuts::float8[]) AS m\n"
"                   WHERE s.orders > 0) r ON true;\n"
"COMMENT ON VIEW {v_segments} IS {segments_comment};\n"
"COMMENT ON COLUMN {v_segments}.customer IS 'Customer key';\n"
"COMMENT ON COLUMN {v_segments}.orders IS 'Number of orders';\n"
"COMMENT ON COLUMN {v_segments}.revenue IS 'Total amount, net of refunds';\n"
"COMMENT ON COLUMN {v_segments}.points IS 'Loyalty points';\n"
"COMMENT ON COLUMN {v_segments}.first_at IS 'Time of the first order';\n"
"COMMENT ON COLUMN {v_segments}.last_at IS 'Time of the latest order';\n"
"COMMENT ON COLUMN {v_segments}.frequency IS 'Repeat purchase days: purchase days after the first';\n"
"COMMENT ON COLUMN {v_segments}.days_since_last IS 'Days from the last purchase day to today (the R of RFM)';\n"
"COMMENT ON COLUMN {v_segments}.avg_order_value IS 'Revenue per order';\n"
"COMMENT ON COLUMN {v_segments}.tier IS 'Pyramid tier: vip, major, ordinary or small';\n"
"COMMENT ON COLUMN {v_segments}.loyalty IS 'Loyalty type';\n"
"COMMENT ON COLUMN {v_segments}.lifecycle IS 'Lifecycle stage now, even if no order arrived since it changed';\n"
"COMMENT ON COLUMN {v_segments}.recorded_lifecycle IS 'Lifecycle stage as last recorded in the history';\n"
"COMMENT ON COLUMN {v_segments}.r_score IS 'Recency score 1-5 among customers with orders (5 = most recent)';\n"
"COMMENT ON COLUMN {v_segments}.f_score IS 'Frequency score 1-5 (orders)';\n"
"COMMENT ON COLUMN {v_segments}.m_score IS 'Monetary score 1-5 (revenue)';\n"
"COMMENT ON COLUMN {v_segments}.rfm_segment IS 'Named RFM segment (Champions, Loyal Customers, ..., Lost)';\n"
"COMMENT ON COLUMN {v_segments}.clv IS 'Lifetime value estimate: 30% margin on the yearly revenue so far, retention by lifecycle stage (maturity 0.8, growth 0.7, acquisition 0.5, decline 0.3, else 0), 10% discount, 10 years';\n"
"COMMENT ON COLUMN {v_segments}.attitude IS 'Survey attitude in [0,1]';\n"
"COMMENT ON COLUMN {v_segments}.price_sensitivity IS 'Price sensitivity in [0,1]';\n"
"COMMENT ON COLUMN {v_segments}.referrals IS 'Customers referred';\n"
"COMMENT ON COLUMN {v_segments}.has_alternative IS 'Whether the customer could buy elsewhere';\n"
"COMMENT ON COLUMN {v_segments}.share_of_wallet IS 'Share of wallet in [0,1]';\n"
"COMMENT ON COLUMN {v_segments}.updated_at IS 'When the orders last changed the customer';\n"
"CREATE VIEW {v_pyramid} AS\n"
"SELECT p.tier, p.customers, p.customer_share, p.value AS revenue, p.value_share AS revenue_share,\n"
"       p.lowest_value AS lowest_revenue, p.highest_value AS highest_revenue\n"
"FROM (SELECT {x}.crm_pyramid(s.revenue::float8, c.cuts) AS p\n"
"      FROM {state} s CROSS JOIN {cfg} c GROUP BY c.cuts) t,\n"
"     unnest(t.p) AS p;\n"
"COMMENT ON VIEW {v_pyramid} IS {pyramid_comment};\n"
"COMMENT ON COLUMN {v_pyramid}.tier IS 'Pyramid tier';\n"
"COMMENT ON COLUMN {v_pyramid}.customers IS 'Customers in the tier, ranked by revenue now';\n"
"COMMENT ON COLUMN {v_pyramid}.customer_share IS 'Share of all customers';\n"
"COMMENT ON COLUMN {v_pyramid}.revenue IS 'Revenue of the tier';\n"
"COMMENT ON COLUMN {v_pyramid}.revenue_share IS 'Share of all revenue';\n"
"COMMENT ON COLUMN {v_pyramid}.lowest_revenue IS 'Lowest customer revenue in the tier';\n"
"COMMENT ON COLUMN {v_pyramid}.highest_revenue IS 'Highest customer revenue in the tier';\n"
"CREATE VIEW {v_loyalty_mix} AS\n"
"SELECT loyalty, count(*) AS customers,\n"
"       count(*)::float8 / sum(count(*)) OVER () AS customer_share,\n"
"       sum(revenue) AS revenue,\n"
"       (sum(revenue) / nullif(sum(sum(revenue)) OVER (), 0))::float8 AS revenue_share\n"
"FROM {state} GROUP BY loyalty;\n"
"COMMENT ON VIEW {v_loyalty_mix} IS {loyalty_comment};\n"
"COMMENT ON COLUMN {v_loyalty_mix}.loyalty IS 'Loyalty type';\n"
"COMMENT ON COLUMN {v_loyalty_mix}.customers IS 'Customers of that type';\n"
"COMMENT ON COLUMN {v_loyalty_mix}.customer_share IS 'Share of all customers';\n"
"COMMENT ON COLUMN {v_loyalty_mix}.revenue IS 'Their revenue';\n"
"COMMENT ON COLUMN {v_loyalty_mix}.revenue_share IS 'Share of all revenue';\n"
"CREATE VIEW {v_lifecycle_mix} AS\n"
"SELECT lifecycle, count(*) AS customers,\n"
"       count(*)::float8 / sum(count(*)) OVER () AS customer_share,\n"
"       sum(revenue) AS revenue,\n"
"       (sum(revenue) / nullif(sum(sum(revenue)) OVER (), 0))::float8 AS revenue_share\n"
"FROM {v_segments} GROUP BY lifecycle;\n"
"COMMENT ON VIEW {v_lifecycle_mix} IS {lifecycle_comment};\n"
"COMMENT ON COLUMN {v_lifecycle_mix}.lifecycle IS 'Lifecycle stage now';\n"
"COMMENT ON COLUMN {v_lifecycle_mix}.customers IS 'Customers in the stage';\n"
"COMMENT ON COLUMN {v_lifecycle_mix}.customer_share IS 'Share of all customers';\n"
"COMMENT ON COLUMN {v_lifecycle_mix}.revenue IS 'Their revenue';\n"
"COMMENT ON COLUMN {v_lifecycle_mix}.revenue_share IS 'Share of all revenue';\n"
"CREATE VIEW {v_alerts} AS\n"
"SELECT h.customer, h.old_value::{x}.crm_lifecycle AS previous_stage,\n"
"       h.new_value::{x}.crm_lifecycle AS stage, h.changed_at, s.tier, s.loyalty,\n"
"       s.loyalty <> 'none' AS loyal_customer_leaving, true AS recorded\n"
"FROM {history} h JOIN {state} s ON s.customer = h.customer\n"
"WHERE h.status = 'lifecycle' AND h.new_value IN ('decline', 'churned')\n"
"  AND h.old_value::{x}.crm_lifecycle < h.new_value::{x}.crm_lifecycle\n"
"  AND h.changed_at >= now() - interval '30 days'\n"
"UNION ALL\n"
"SELECT customer, recorded_lifecycle, lifecycle, NULL, tier, loyalty,\n"
"       loyalty <> 'none', false\n"
"FROM {v_segments}\n"
"WHERE lifecycle IN ('decline', 'churned') AND recorded_lifecycle < lifecycle;\n"
"COMMENT ON VIEW {v_alerts} IS {alerts_comment};\n"
"COMMENT ON COLUMN {v_alerts}.customer IS 'Customer key';\n"
"COMMENT ON COLUMN {v_alerts}.previous_stage IS 'Stage before';\n"
"COMMENT ON COLUMN {v_alerts}.stage IS 'Stage entered: decline or churned';\n"
"COMMENT ON COLUMN {v_alerts}.changed_at IS 'When the change was recorded; NULL when it happened with the passing of time and no crm_refresh has recorded it yet';\n"
"COMMENT ON COLUMN {v_alerts}.tier IS 'Pyramid tier';\n"
"COMMENT ON COLUMN {v_alerts}.loyalty IS 'Loyalty type';\n"
"COMMENT ON COLUMN {v_alerts}.loyal_customer_leaving IS 'A customer with a loyalty type is declining or gone: the early warning to act on';\n"
"COMMENT ON COLUMN {v_alerts}.recorded IS 'Whether the change is in the history table'";

static const char *const templates[TRACK_SQL_COUNT] = {
	[TRACK_SQL_BACKFILL] = backfill_sql,
	[TRACK_SQL_THRESHOLDS] = thresholds_sql,
	[TRACK_SQL_RETIER] = retier_sql,
	[TRACK_SQL_INSERT] = insert_sql,
	[TRACK_SQL_INSERT_ONE] = insert_sql,
	[TRACK_SQL_UPDATE_ONE] = update_one_sql,
	[TRACK_SQL_UPDATE_LOCK] = update_lock_sql,
	[TRACK_SQL_UPDATE_RECOMPUTE] = recompute_sql,
	[TRACK_SQL_DELETE_LOCK] = delete_lock_sql,
	[TRACK_SQL_DELETE_RECOMPUTE] = recompute_sql,
	[TRACK_SQL_TRUNCATE] = truncate_sql,
	[TRACK_SQL_HISTORY] = history_sql,
	[TRACK_SQL_VERIFY] = verify_sql,
	[TRACK_SQL_STATE_TABLE] = state_table_sql,
	[TRACK_SQL_HISTORY_TABLE] = history_table_sql,
	[TRACK_SQL_TRIGGERS] = triggers_sql,
	[TRACK_SQL_VIEWS] = views_sql,
	[TRACK_SQL_DROP] = drop_sql,
};

/* A relation next to the orders table named prefix + suffix, quoted */
static char *
sibling(const TrackInfo *info, const char *suffix)
{
	return quote_qualified_identifier(info->schema,
									  psprintf("%s%s", info->prefix, suffix));
}

/* A COMMENT string naming the orders table */
static char *
comment(const TrackInfo *info, const char *text)
{
	return quote_literal_cstr(psprintf(text, info->label_plain));
}

/*
 * The SQL text of one statement for one tracked table
 */
char *
crm_track_sql(const TrackInfo *info, TrackSql which)
{
	SqlVars		vars = {0};
	const char *ts;
	const char *affected;

	Assert(which >= 0 && which < TRACK_SQL_COUNT);

	set_var(&vars, "x", info->ext_schema);
	set_var(&vars, "id", psprintf("%d", info->id));
	set_var(&vars, "orders", info->orders);
	set_var(&vars, "label", info->label);
	set_var(&vars, "state", info->state);
	set_var(&vars, "history", info->history);
	set_var(&vars, "customer", info->customer);
	set_var(&vars, "amount", info->amount);
	set_var(&vars, "ordered_at", info->ordered_at);
	set_var(&vars, "type", info->customer_type);
	set_var(&vars, "tz", info->time_zone);
	set_var(&vars, "promo", info->promo ? info->promo : "NULL::boolean");
	set_var(&vars, "promo_arg", info->promo ? "promo" : "no promo");
	set_var(&vars, "promo_share", info->promo ?
			"CASE WHEN s.orders > 0 THEN least(s.promo_orders::float8 / s.orders, 1) END" :
			"NULL::float8");

	/* the order time as timestamptz; local times are in the tracking's zone */
	if (info->ordered_at_type == TIMESTAMPTZOID)
		ts = info->ordered_at;
	else if (info->ordered_at_type == TIMESTAMPOID)
		ts = psprintf("(%s AT TIME ZONE %s)", info->ordered_at, info->time_zone);
	else
		ts = psprintf("(%s::timestamp AT TIME ZONE %s)", info->ordered_at,
					  info->time_zone);
	set_var(&vars, "ts", ts);
	if (info->ordered_at_type == TIMESTAMPTZOID)
		ts = "$3";
	else if (info->ordered_at_type == TIMESTAMPOID)
		ts = psprintf("($3 AT TIME ZONE %s)", info->time_zone);
	else
		ts = psprintf("($3::timestamp AT TIME ZONE %s)", info->time_zone);
	set_var(&vars, "ts_param", ts);
	set_var(&vars, "promo_param", info->promo ? "$4" : "false");

	set_var(&vars, "v_segments", sibling(info, "_segments"));
	set_var(&vars, "v_pyramid", sibling(info, "_pyramid"));
	set_var(&vars, "v_loyalty_mix", sibling(info, "_loyalty_mix"));
	set_var(&vars, "v_lifecycle_mix", sibling(info, "_lifecycle_mix"));
	set_var(&vars, "v_alerts", sibling(info, "_alerts"));

	/* derived fragments, expanded with the names above */
	set_var(&vars, "cfg", expand(cfg_sql, &vars));
	set_var(&vars, "tier_s",
			expand("coalesce({x}.crm_tier_of(s.revenue::float8, c.thresholds), "
				   "'small'::{x}.crm_tier)", &vars));
	set_var(&vars, "stage_s",
			expand("{x}.crm_lifecycle_stage(s.orders, s.first_at, s.last_at, "
				   "coalesce(c.as_of, now()))", &vars));

	affected = (which == TRACK_SQL_UPDATE_LOCK ||
				which == TRACK_SQL_UPDATE_RECOMPUTE) ?
		affected_update_sql : affected_delete_sql;
	set_var(&vars, "affected", expand(affected, &vars));

	{
		SqlVars		sub = vars;

		set_var(&sub, "src", "crm_new");
		set_var(&sub, "filter", "");
		set_var(&vars, "summary_new", expand(summary_sql, &sub));

		sub = vars;
		set_var(&sub, "src", info->orders);
		set_var(&sub, "filter", "");
		set_var(&vars, "summary_orders", expand(summary_sql, &sub));

		sub = vars;
		set_var(&sub, "src", info->orders);
		set_var(&sub, "filter",
				psprintf("AND %s IN (SELECT customer FROM (%s) a)",
						 info->customer, expand(affected, &vars)));
		set_var(&vars, "summary_affected", expand(summary_sql, &sub));
	}

	set_var(&vars, "one_order", expand(one_order_sql, &vars));
	set_var(&vars, "delta", which == TRACK_SQL_INSERT_ONE ?
			expand(one_order_sql, &vars) : expand("{summary_new}", &vars));

	set_var(&vars, "state_comment",
			comment(info, "Customer state of orders table %s, kept current by crm triggers: one row per customer"));
	set_var(&vars, "history_comment",
			comment(info, "Every change of tier, loyalty type or lifecycle stage of the customers of orders table %s"));
	set_var(&vars, "segments_comment",
			comment(info, "Customers of orders table %s with their tier, loyalty type, lifecycle stage now, RFM scores and segment, and lifetime value"));
	set_var(&vars, "pyramid_comment",
			comment(info, "Customer pyramid of orders table %s: customers and revenue per tier, ranked by revenue now"));
	set_var(&vars, "loyalty_comment",
			comment(info, "Loyalty mix of the customers of orders table %s: customers and revenue per loyalty type"));
	set_var(&vars, "lifecycle_comment",
			comment(info, "Lifecycle mix of the customers of orders table %s: customers and revenue per stage now"));
	set_var(&vars, "alerts_comment",
			comment(info, "Early warning for orders table %s: customers who entered decline or churned, recorded in the last 30 days or due now and not yet recorded"));

	return expand(templates[which], &vars);
}
