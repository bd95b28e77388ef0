/*
 * sql.c
 *		The SQL of tracking: one template per statement, with {placeholders}
 *		for the names of one tracked table.
 *
 * Most of the work is done in C (fold.c); the SQL fills the state when
 * tracking starts, recomputes customers from the orders, re-tiers on
 * crm_refresh, checks the state in crm_verify, and creates and drops the
 * tables, triggers and views.  The statements run with TimeZone set to the
 * tracking's time zone (tracking.c), so a local order time or a date is
 * read there, and a calendar day is a day there, as in C.
 *
 * Rules the statements share with fold.c (documented in the README):
 *	- an order counts when its customer is known, its amount a finite
 *	  number and its time a finite time;
 *	- a negative amount is a refund: it lowers revenue (and points) but is
 *	  not an order and makes no purchase day;
 *	- points change by (change in revenue) * points_per_unit * the
 *	  multiplier of the tier the customer had before the change; a new
 *	  customer starts in the lowest tier;
 *	- tiers compare revenue, as float8 clamped to +-1e300, with the stored
 *	  thresholds; the lifecycle stage is judged at as_of, or at the last
 *	  order when that is later;
 *	- every customer is taken to start as a small-tier prospect with no
 *	  loyalty, so the history of a new customer shows what it became.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "access/xact.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "track.h"

/* Placeholders and their values for one expansion */
typedef struct SqlVars
{
	int			n;
	const char *names[64];
	const char *values[64];
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
 * does the work in one pass, purchase days in the tracking's time zone;
 * refunds are summed apart.
 */
static const char summary_sql[] =
"SELECT customer, coalesce((p).orders, 0) AS orders,\n"
"       coalesce((p).revenue, 0) + refunds AS revenue, promo AS promo_orders,\n"
"       (p).first_at AS first_at, (p).last_at AS last_at,\n"
"       coalesce((p).purchase_days, '{}') AS purchase_days,\n"
"       coalesce((p).first_day_revenue, 0) AS first_day_revenue\n"
"FROM (SELECT {customer} AS customer,\n"
"             {x}.crm_purchase_summary({ts}, {amount}::numeric, {tz}) FILTER (WHERE {amount} >= 0) AS p,\n"
"             coalesce(sum({amount}::numeric) FILTER (WHERE {amount} < 0), 0) AS refunds,\n"
"             count(*) FILTER (WHERE {amount} >= 0 AND {promo}) AS promo\n"
"      FROM {src}\n"
"      WHERE {counted}\n"
"        {filter}\n"
"      GROUP BY 1) g";

/* The settings row of this tracking, as a FROM item */
static const char cfg_sql[] =
"(SELECT * FROM {settings} WHERE id = {id})";

static const char backfill_sql[] =
"WITH d AS ({summary_orders}),\n"
"th AS (SELECT {x}.crm_tier_thresholds({float_d_revenue},\n"
"              (SELECT cuts FROM {settings} WHERE id = {id})) AS th FROM d)\n"
"INSERT INTO {state} (customer, orders, revenue, promo_orders, first_at, last_at,\n"
"                     purchase_days, first_day_revenue, points, tier, lifecycle)\n"
"SELECT d.customer, d.orders, d.revenue, d.promo_orders, d.first_at, d.last_at,\n"
"       d.purchase_days, d.first_day_revenue,\n"
"       d.revenue * c.points_per_unit\n"
"         * c.tier_multipliers[array_position(enum_range(NULL::{x}.crm_tier), t.tier)],\n"
"       t.tier,\n"
"       {x}.crm_lifecycle_stage(d.orders, d.first_at, d.last_at,\n"
"                               greatest(coalesce(c.as_of, now()), d.last_at))\n"
"FROM d CROSS JOIN th CROSS JOIN {cfg} c\n"
"CROSS JOIN LATERAL (SELECT coalesce({x}.crm_tier_of({float_d_revenue}, th.th),\n"
"                                    'small'::{x}.crm_tier) AS tier) t\n"
"ORDER BY d.customer";

static const char thresholds_sql[] =
"UPDATE {x}.crm_tracking AS c\n"
"SET thresholds = (SELECT {x}.crm_tier_thresholds({float_s_revenue},\n"
"                         (SELECT cuts FROM {settings} WHERE id = {id})) FROM {state} s),\n"
"    refreshed_at = now()\n"
"WHERE c.id = {id}";

/*
 * Re-tier and re-stage everyone whose tier or stage changes.  crm_refresh
 * holds off the folds with a table lock first (see track.c); the rows are
 * locked in key order all the same, as the folds lock them.
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

/*
 * The same on a state table Citus distributes, which cannot lock rows in
 * one order across nodes: crm_refresh's lock on the state table on every
 * node holds off the folds there (citus.c), so nothing else writes it
 */
static const char retier_distributed_sql[] =
"UPDATE {state} AS s\n"
"SET tier = {tier_s}, lifecycle = {stage_s}, updated_at = now()\n"
"FROM {cfg} c\n"
"WHERE s.tier IS DISTINCT FROM {tier_s} OR s.lifecycle IS DISTINCT FROM {stage_s}";

/*
 * The figures of customers $1 (an array of keys) from the orders, in key
 * order, for the fold to recompute them (fold.c)
 */
static const char recompute_sql[] =
"{summary_keys}\n"
"ORDER BY 1";

/*
 * The customers of one table of the tracked tree: alone, for its TRUNCATE;
 * with its partitions or children, for its DROP, DETACH or NO INHERIT
 */
static const char customers_of_sql[] =
"SELECT DISTINCT {customer} FROM ONLY {member} WHERE {customer} IS NOT NULL";
static const char customers_under_sql[] =
"SELECT DISTINCT {customer} FROM {member} WHERE {customer} IS NOT NULL";

/*
 * crm_refresh(repair => true): every customer recomputed from the orders,
 * those without a state row first given one (a second statement then sees
 * them); the survey columns, and the history, stay.  Runs under
 * crm_refresh's table lock, so no fold is under way.
 */
static const char repair_insert_sql[] =
"INSERT INTO {state} (customer)\n"
"SELECT d.customer FROM ({summary_orders}) d ORDER BY 1\n"
"ON CONFLICT DO NOTHING";

static const char repair_sql[] =
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
"    updated_at = now()\n"
"FROM {state} AS o\n"
"     LEFT JOIN ({summary_orders}) d ON d.customer = o.customer\n"
"     CROSS JOIN {cfg} c\n"
"WHERE s.customer = o.customer\n"
"  AND (o.orders, o.revenue, o.promo_orders, o.first_at, o.last_at, o.purchase_days,\n"
"       o.first_day_revenue)\n"
"      IS DISTINCT FROM\n"
"      (coalesce(d.orders, 0), coalesce(d.revenue, 0), coalesce(d.promo_orders, 0),\n"
"       d.first_at, d.last_at, coalesce(d.purchase_days, '{}'),\n"
"       coalesce(d.first_day_revenue, 0))";

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
 * Differences between the state and a recomputation from the orders with
 * plain SQL aggregates -- a path of its own, apart from the C that folds
 * orders in and from crm_purchase_summary -- run with TimeZone set to the
 * tracking's time zone, so that its purchase days are the tracking's.
 */
static const char verify_sql[] =
"WITH o AS (\n"
"  SELECT {customer} AS customer, {amount}::numeric AS amount, {ts} AS at,\n"
"         ({ts} AT TIME ZONE {tz})::date AS day,\n"
"         coalesce({promo}, false) AS promo\n"
"  FROM {orders} WHERE {counted}\n"
"), r AS (\n"
"  SELECT customer, count(*) FILTER (WHERE amount >= 0) AS orders, sum(amount) AS revenue,\n"
"         count(*) FILTER (WHERE amount >= 0 AND promo) AS promo_orders,\n"
"         min(at) FILTER (WHERE amount >= 0) AS first_at, max(at) FILTER (WHERE amount >= 0) AS last_at,\n"
"         coalesce(array_agg(DISTINCT day) FILTER (WHERE amount >= 0), '{}') AS days\n"
"  FROM o GROUP BY 1\n"
"), fd AS (\n"
"  SELECT DISTINCT ON (customer) customer, sum(amount) AS first_day_revenue\n"
"  FROM o WHERE amount >= 0 GROUP BY customer, day ORDER BY customer, day\n"
"), f AS (\n"
"  SELECT coalesce(s.customer, r.customer) AS customer, s.customer IS NULL AS missing,\n"
"         s.orders, s.revenue, s.promo_orders, s.first_at, s.last_at, s.purchase_days,\n"
"         s.first_day_revenue, s.tier, s.loyalty,\n"
"         coalesce({x}.crm_loyalty_type(\n"
"             CASE WHEN cardinality(s.purchase_days) > 0\n"
"                  THEN (cardinality(s.purchase_days) - 1)::float8 / cardinality(s.purchase_days) END,\n"
"             s.attitude, {promo_share}, s.price_sensitivity, s.referrals, s.has_alternative),\n"
"             'none'::{x}.crm_loyalty) AS r_loyalty,\n"
"         coalesce(r.orders, 0) AS r_orders, coalesce(r.revenue, 0) AS r_revenue,\n"
"         coalesce(r.promo_orders, 0) AS r_promo_orders, r.first_at AS r_first_at,\n"
"         r.last_at AS r_last_at, coalesce(r.days, '{}') AS r_days,\n"
"         coalesce(fd.first_day_revenue, 0) AS r_first_day_revenue,\n"
"         coalesce({x}.crm_tier_of({float_s_revenue}, c.thresholds), 'small'::{x}.crm_tier) AS r_tier\n"
"  FROM {state} s FULL JOIN r ON r.customer = s.customer\n"
"       LEFT JOIN fd ON fd.customer = r.customer CROSS JOIN {cfg} c\n"
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
"  ('frequency', greatest(cardinality(f.purchase_days) - 1, 0) IS DISTINCT FROM\n"
"                greatest(cardinality(f.r_days) - 1, 0),\n"
"   greatest(cardinality(f.purchase_days) - 1, 0)::text, greatest(cardinality(f.r_days) - 1, 0)::text),\n"
"  ('first_day_revenue', f.first_day_revenue IS DISTINCT FROM f.r_first_day_revenue,\n"
"   f.first_day_revenue::text, f.r_first_day_revenue::text),\n"
"  ('tier', f.tier IS DISTINCT FROM f.r_tier, f.tier::text, f.r_tier::text),\n"
"  ('loyalty', f.loyalty IS DISTINCT FROM f.r_loyalty, f.loyalty::text, f.r_loyalty::text)\n"
") AS v(field, differs, tracked, recomputed)\n"
"WHERE v.differs AND (NOT f.missing OR v.field = 'customer')\n"
"ORDER BY 1, 2";

static const char state_table_sql[] =
"CREATE {unlogged}TABLE {state} (\n"
"    customer {type}{key_collate} {key_constraint},\n"
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
"    updated_at timestamptz NOT NULL DEFAULT now(){key_exclusion}\n"
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
"CREATE {unlogged}TABLE {history} (\n"
"    id bigint GENERATED ALWAYS AS IDENTITY{history_id_key},\n"
"    customer {type}{key_collate} NOT NULL,\n"
"    status text NOT NULL CHECK (status IN ('tier', 'loyalty', 'lifecycle')),\n"
"    old_value text,\n"
"    new_value text,\n"
"    changed_at timestamptz NOT NULL DEFAULT now(),\n"
"    transaction_id xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(){history_key}\n"
");\n"
"{history_customer_index}"
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

/*
 * The orders triggers of one table of the tracked tree ({member}): the
 * tracked table, and each partition or inheritance child, since a
 * statement fires only the statement triggers of the table it names
 */
static const char member_triggers_sql[] =
"CREATE TRIGGER crm_track_insert AFTER INSERT ON {member}\n"
"    REFERENCING NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}');\n"
"CREATE TRIGGER crm_track_update AFTER UPDATE ON {member}\n"
"    REFERENCING OLD TABLE AS crm_old NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}');\n"
"CREATE TRIGGER crm_track_delete AFTER DELETE ON {member}\n"
"    REFERENCING OLD TABLE AS crm_old\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}');\n"
"CREATE TRIGGER crm_track_truncate BEFORE TRUNCATE ON {member}\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_orders_trigger('{id}')";

static const char member_drop_sql[] =
"DROP TRIGGER IF EXISTS crm_track_insert ON {member};\n"
"DROP TRIGGER IF EXISTS crm_track_update ON {member};\n"
"DROP TRIGGER IF EXISTS crm_track_delete ON {member};\n"
"DROP TRIGGER IF EXISTS crm_track_truncate ON {member}";

static const char triggers_sql[] =
"CREATE TRIGGER crm_history_insert AFTER INSERT ON {state}\n"
"    REFERENCING NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_history_trigger('{id}');\n"
"CREATE TRIGGER crm_history_update AFTER UPDATE ON {state}\n"
"    REFERENCING OLD TABLE AS crm_old NEW TABLE AS crm_new\n"
"    FOR EACH STATEMENT EXECUTE FUNCTION {x}.crm_history_trigger('{id}')";

static const char drop_triggers_sql[] =
"DROP TRIGGER IF EXISTS crm_history_insert ON {state};\n"
"DROP TRIGGER IF EXISTS crm_history_update ON {state}";

static const char drop_views_sql[] =
"DROP VIEW IF EXISTS {v_alerts}, {v_lifecycle_mix}, {v_loyalty_mix}, {v_pyramid}, {v_segments}";

static const char drop_sql[] =
"DROP VIEW IF EXISTS {v_alerts}, {v_lifecycle_mix}, {v_loyalty_mix}, {v_pyramid}, {v_segments};\n"
"DROP TABLE IF EXISTS {history}, {state};\n"
"DELETE FROM {x}.crm_tracking WHERE id = {id}";

/* The views for BI tools (views.c would be one more file for one string) */
static const char views_sql[] =
"CREATE VIEW {v_segments} AS\n"
"WITH c AS (SELECT coalesce(as_of, now()) AS as_of FROM {settings} WHERE id = {id}),\n"
"s AS (\n"
"  SELECT s.*, cardinality(s.purchase_days) - 1 AS frequency,\n"
"         greatest(c.as_of::date - s.purchase_days[cardinality(s.purchase_days)], 0) AS days_since_last,\n"
"         {x}.crm_lifecycle_stage(s.orders, s.first_at, s.last_at,\n"
"                                 greatest(c.as_of, s.last_at)) AS stage_now,\n"
"         {float_s_revenue} AS revenue_f,\n"
"         c.as_of\n"
"  FROM {state} s CROSS JOIN c\n"
"), q AS (\n"
"  SELECT percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY days_since_last) AS r_cuts,\n"
"         percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY orders) AS f_cuts,\n"
"         percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY revenue_f) AS m_cuts\n"
"  FROM s WHERE orders > 0\n"
")\n"
"SELECT s.customer, s.orders, s.revenue, s.points, s.first_at, s.last_at,\n"
"       greatest(s.frequency, 0) AS frequency, s.days_since_last,\n"
"       s.revenue / nullif(s.orders, 0) AS avg_order_value,\n"
"       s.tier, s.loyalty, s.stage_now AS lifecycle, s.lifecycle AS recorded_lifecycle,\n"
"       r.r AS r_score, r.f AS f_score, r.m AS m_score,\n"
"       {x}.crm_rfm_segment(r.r, r.f, r.m) AS rfm_segment,\n"
"       {x}.crm_clv(0.3 * {float_s_yearly},\n"
"                   CASE s.stage_now WHEN 'maturity' THEN 0.8 WHEN 'growth' THEN 0.7\n"
"                        WHEN 'acquisition' THEN 0.5 WHEN 'decline' THEN 0.3 ELSE 0 END,\n"
"                   0.1, 10) AS clv,\n"
"       s.attitude, s.price_sensitivity, s.referrals, s.has_alternative, s.share_of_wallet,\n"
"       s.updated_at\n"
"FROM s CROSS JOIN q\n"
"LEFT JOIN LATERAL (SELECT {x}.crm_rfm_score(s.days_since_last, q.r_cuts::float8[], false) AS r,\n"
"                          {x}.crm_rfm_score(s.orders, q.f_cuts::float8[]) AS f,\n"
"                          {x}.crm_rfm_score(s.revenue_f, q.m_cuts) AS m\n"
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
"WITH v AS (SELECT s.revenue, {float_s_revenue} AS f FROM {state} s),\n"
"t AS (SELECT {x}.crm_tier_thresholds(v.f, (SELECT cuts FROM {settings} WHERE id = {id})) AS th\n"
"      FROM v),\n"
"r AS (SELECT coalesce({x}.crm_tier_of(v.f, t.th), 'small'::{x}.crm_tier) AS tier, v.revenue\n"
"      FROM v CROSS JOIN t),\n"
"g AS (SELECT tier, count(*) AS customers, sum(revenue) AS revenue,\n"
"             min(revenue) AS lowest, max(revenue) AS highest\n"
"      FROM r GROUP BY tier),\n"
"a AS (SELECT count(*) AS customers, sum(revenue) AS revenue FROM r)\n"
"SELECT e.tier, coalesce(g.customers, 0) AS customers,\n"
"       coalesce(g.customers, 0)::float8 / nullif(a.customers, 0) AS customer_share,\n"
"       coalesce(g.revenue, 0) AS revenue,\n"
"       (coalesce(g.revenue, 0) / nullif(a.revenue, 0))::float8 AS revenue_share,\n"
"       g.lowest AS lowest_revenue, g.highest AS highest_revenue\n"
"FROM unnest('{vip,major,ordinary,small}'::{x}.crm_tier[]) WITH ORDINALITY AS e(tier, n)\n"
"CROSS JOIN a LEFT JOIN g ON g.tier = e.tier\n"
"ORDER BY e.n;\n"
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
	[TRACK_SQL_REPAIR_INSERT] = repair_insert_sql,
	[TRACK_SQL_REPAIR] = repair_sql,
	[TRACK_SQL_RECOMPUTE] = recompute_sql,
	[TRACK_SQL_CUSTOMERS_OF] = customers_of_sql,
	[TRACK_SQL_CUSTOMERS_UNDER] = customers_under_sql,
	[TRACK_SQL_TRUNCATE] = truncate_sql,
	[TRACK_SQL_VERIFY] = verify_sql,
	[TRACK_SQL_STATE_TABLE] = state_table_sql,
	[TRACK_SQL_HISTORY_TABLE] = history_table_sql,
	[TRACK_SQL_TRIGGERS] = triggers_sql,
	[TRACK_SQL_DROP_TRIGGERS] = drop_triggers_sql,
	[TRACK_SQL_MEMBER_TRIGGERS] = member_triggers_sql,
	[TRACK_SQL_MEMBER_DROP] = member_drop_sql,
	[TRACK_SQL_VIEWS] = views_sql,
	[TRACK_SQL_DROP_VIEWS] = drop_views_sql,
	[TRACK_SQL_DROP] = drop_sql,
};

/* A relation next to the state table named prefix + suffix, quoted */
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
 * A numeric revenue as float8 for tiers and scores, clamped to +-1e300
 * (numeric holds sums far beyond float8's range, and tiers only rank them):
 * as crm_track_revenue_float does in C
 */
static char *
float_of(const char *expr)
{
	return psprintf("CASE WHEN abs(%s) < 1e-300 THEN 0::float8 "
					"WHEN %s > 1e300 THEN 1e300::float8 "
					"WHEN %s < -1e300 THEN -1e300::float8 "
					"ELSE (%s)::float8 END", expr, expr, expr, expr);
}

/*
 * Which orders count: a known customer, a finite amount (NaN and infinity
 * sort above and below every number), a finite time
 */
static char *
counted(const TrackInfo *info)
{
	const char *amount_finite = "";
	Oid			amount_type = info->column_types[TRACK_COL_AMOUNT];

	if (amount_type == NUMERICOID || amount_type == FLOAT4OID ||
		amount_type == FLOAT8OID)
	{
		const char *type = amount_type == NUMERICOID ? "numeric" :
			amount_type == FLOAT4OID ? "real" : "double precision";

		amount_finite = psprintf(" AND %s > '-Infinity'::%s AND %s < 'Infinity'::%s",
								 info->amount, type, info->amount, type);
	}
	return psprintf("%s IS NOT NULL AND %s IS NOT NULL AND %s IS NOT NULL "
					"AND isfinite(%s)%s",
					info->customer, info->amount, info->ordered_at,
					info->ordered_at, amount_finite);
}

static char *
build_sql(const TrackInfo *info, TrackSql which, Oid member)
{
	SqlVars		vars = {0};

	Assert(which >= 0 && which < TRACK_SQL_COUNT);

	set_var(&vars, "x", info->ext_schema);
	set_var(&vars, "id", psprintf("%d", info->id));
	set_var(&vars, "orders", info->orders);
	set_var(&vars, "label", info->label);
	set_var(&vars, "state", info->state);
	set_var(&vars, "history", info->history);
	set_var(&vars, "settings", info->settings);
	/*
	 * The history is keyed by (customer, id): one B-tree that finds a
	 * customer's changes in order, and all a change inserts into besides
	 * the block range index.  A key of variable length may be longer than
	 * a B-tree entry can be: the id alone then, and a hash index on the
	 * customer -- but not on a Citus cluster, where a distributed table's
	 * unique keys hold its distribution column.
	 */
	set_var(&vars, "history_id_key",
			info->key_varlena && !info->distributed ? " PRIMARY KEY" : "");
	set_var(&vars, "history_key",
			info->key_varlena && !info->distributed ? "" : ",\n    PRIMARY KEY (customer, id)");
	set_var(&vars, "history_customer_index", info->key_varlena ?
			psprintf("CREATE INDEX ON %s USING hash (customer);\n", info->history) : "");
	set_var(&vars, "customer", info->customer);
	set_var(&vars, "amount", info->amount);
	set_var(&vars, "ordered_at", info->ordered_at);
	set_var(&vars, "type", info->customer_type);
	set_var(&vars, "key_collate", info->key_collate);
	set_var(&vars, "tz", info->time_zone);
	set_var(&vars, "promo", info->promo ? info->promo : "NULL::boolean");
	set_var(&vars, "promo_arg", info->promo ? "promo" : "no promo");
	set_var(&vars, "promo_share", info->promo ?
			"CASE WHEN s.orders > 0 THEN least(s.promo_orders::float8 / s.orders, 1) END" :
			"NULL::float8");
	set_var(&vars, "counted", counted(info));
	/* the state of an unlogged table goes with it in a crash */
	set_var(&vars, "unlogged",
			get_rel_persistence(info->orders_relid) == RELPERSISTENCE_UNLOGGED ?
			"UNLOGGED " : "");
	if (OidIsValid(member))
		set_var(&vars, "member",
				quote_qualified_identifier(get_namespace_name(get_rel_namespace(member)),
										   get_rel_name(member)));

	/*
	 * A key of variable length may be longer than a B-tree entry can be: it
	 * is kept unique by an exclusion constraint on a hash index instead
	 */
	set_var(&vars, "key_constraint", info->key_varlena ? "NOT NULL" : "PRIMARY KEY");
	set_var(&vars, "key_exclusion", info->key_varlena ?
			",\n    EXCLUDE USING hash (customer WITH =)" : "");

	/* the order time as timestamptz: local times in the session's zone */
	/*
	 * The order time, and its day, in the tracking's time zone written out
	 * rather than as the session's TimeZone: on a Citus cluster the
	 * statements run on workers, whose sessions have settings of their own
	 */
	set_var(&vars, "ts", info->ordered_at_type == TIMESTAMPTZOID ? info->ordered_at :
			info->ordered_at_type == DATEOID ?
			psprintf("(%s::timestamp AT TIME ZONE %s)", info->ordered_at, info->time_zone) :
			psprintf("(%s AT TIME ZONE %s)", info->ordered_at, info->time_zone));
	set_var(&vars, "float_d_revenue", float_of("d.revenue"));
	set_var(&vars, "float_s_revenue", float_of("s.revenue"));
	set_var(&vars, "float_s_yearly",
			float_of("s.revenue / greatest(1, (s.as_of::date - s.purchase_days[1]) / 365.25)"));

	set_var(&vars, "v_segments", sibling(info, "_segments"));
	set_var(&vars, "v_pyramid", sibling(info, "_pyramid"));
	set_var(&vars, "v_loyalty_mix", sibling(info, "_loyalty_mix"));
	set_var(&vars, "v_lifecycle_mix", sibling(info, "_lifecycle_mix"));
	set_var(&vars, "v_alerts", sibling(info, "_alerts"));

	/* derived fragments, expanded with the names above */
	set_var(&vars, "cfg", expand(cfg_sql, &vars));
	set_var(&vars, "tier_s",
			expand("coalesce({x}.crm_tier_of({float_s_revenue}, c.thresholds), "
				   "'small'::{x}.crm_tier)", &vars));
	/*
	 * Citus takes no now() inside COALESCE on a distributed table: there,
	 * the transaction's start as a constant, which is what now() gives
	 */
	set_var(&vars, "now", info->distributed && info->shard == 0 ?
			psprintf("'%s'::timestamptz",
					 timestamptz_to_str(GetCurrentTransactionStartTimestamp())) :
			"now()");
	set_var(&vars, "stage_s",
			expand("{x}.crm_lifecycle_stage(s.orders, s.first_at, s.last_at, "
				   "greatest(coalesce(c.as_of, {now}), s.last_at))", &vars));
	{
		SqlVars		sub = vars;

		set_var(&sub, "src", info->orders);
		set_var(&sub, "filter", "");
		set_var(&vars, "summary_orders", expand(summary_sql, &sub));

		sub = vars;
		set_var(&sub, "src", info->orders);
		set_var(&sub, "filter", psprintf("AND %s%s = ANY($1)", info->customer,
										 info->key_collate));
		set_var(&vars, "summary_keys", expand(summary_sql, &sub));
	}

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

	if (which == TRACK_SQL_RETIER && info->distributed && info->shard == 0)
		return expand(retier_distributed_sql, &vars);
	return expand(templates[which], &vars);
}

/* The SQL text of one statement for one tracked table */
char *
crm_track_sql(const TrackInfo *info, TrackSql which)
{
	return build_sql(info, which, InvalidOid);
}

/* The same for a statement on one table of the tracked tree */
char *
crm_track_member_sql(const TrackInfo *info, TrackSql which, Oid member)
{
	return build_sql(info, which, member);
}
