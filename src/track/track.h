/*
 * track.h
 *		Live tracking of an orders table, shared by the files of src/track/:
 *
 *	track.c		the SQL functions: crm_track, crm_untrack, crm_refresh,
 *				crm_verify, crm_fold
 *	tracking.c	a tracking's settings (crm_tracking) and what a backend
 *				keeps of them; running as the orders table's owner
 *	sql.c		the SQL statements tracking runs
 *	trigger.c	the triggers: orders, state, history, crm_tracking
 *	delta.c		what one customer's new orders add up to
 *	pending.c	the changes of the transaction, folded in at commit
 *	fold.c		folding them into the state rows, customers in key order
 *	table.c		writing a tracking's tables without SQL
 *	history.c	the status history and its messages
 *	relay.c		status messages through the relay worker
 *	ddl.c		following ALTER TABLE, partitions and DROP (event triggers)
 *	citus.c		tracking a table Citus distributes: per shard group
 *	deferred.c	folds a Citus node leaves for later, and folding them
 */
#ifndef CRM_TRACK_H
#define CRM_TRACK_H

#include "postgres.h"

#include "amount.h"
#include "tier.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "utils/reltrigger.h"
#include "pgtime.h"
#include "utils/date.h"
#include "utils/relcache.h"
#include "utils/timestamp.h"

/*
 * A tracked orders table as its crm_tracking row describes it, with every
 * name already quoted for use in SQL text.
 */
typedef struct TrackInfo
{
	int32		id;
	Oid			orders_relid;
	const char *ext_schema;		/* schema of the extension, quoted */
	const char *schema;			/* schema of the state table, unquoted */
	const char *orders;			/* orders table, qualified and quoted */
	const char *label_plain;	/* orders table, qualified, for messages */
	const char *label;			/* the same as an SQL string literal */
	const char *state;			/* state table, qualified and quoted */
	const char *history;		/* history table, qualified and quoted */
	const char *settings;		/* the table the statements read the
								 * settings from: crm_tracking, or on a
								 * Citus cluster its copy (citus.c) */
	bool		distributed;	/* the orders table is distributed by Citus */
	int64		shard;			/* on a Citus node: the shard group whose
								 * tables the names above are; else 0 */
	const char *prefix;			/* name prefix, unquoted */
	const char *customer;		/* orders columns, quoted */
	const char *amount;
	const char *ordered_at;
	const char *promo;			/* NULL when promotions are not tracked */
	const char *customer_type;	/* type of the customer key, as SQL */
	const char *key_collate;	/* " COLLATE ..." of a text key, or "" */
	bool		key_varlena;	/* a key of variable length (text) */
	const char *time_zone;		/* as an SQL string literal */
	const char *time_zone_name; /* the same as a TimeZone setting */
	Oid			ordered_at_type;	/* timestamptz, timestamp or date */

	/* the orders columns unquoted, and their types */
	const char *column_names[4];	/* customer, amount, ordered_at, promo */
	Oid			column_types[4];	/* promo: InvalidOid when not tracked */
} TrackInfo;

/* Indexes into column_names and column_types */
#define TRACK_COL_CUSTOMER 0
#define TRACK_COL_AMOUNT 1
#define TRACK_COL_ORDERED_AT 2
#define TRACK_COL_PROMO 3
#define TRACK_NUM_COLS 4

/* The statements of sql.c, each an SQL text for one TrackInfo */
typedef enum TrackSql
{
	TRACK_SQL_BACKFILL,			/* fill the state from all orders */
	TRACK_SQL_THRESHOLDS,		/* recompute and store the tier thresholds */
	TRACK_SQL_RETIER,			/* re-tier and re-stage every customer */
	TRACK_SQL_REPAIR_INSERT,	/* a state row for every customer with orders */
	TRACK_SQL_REPAIR,			/* recompute every customer from the orders */
	TRACK_SQL_RECOMPUTE,		/* the figures of customers $1 from the orders */
	TRACK_SQL_CUSTOMERS_OF,		/* customers of one table of the tree, alone */
	TRACK_SQL_CUSTOMERS_UNDER,	/* the same with its partitions or children */
	TRACK_SQL_TRUNCATE,			/* every customer back to no orders */
	TRACK_SQL_VERIFY,			/* differences between state and orders */
	TRACK_SQL_STATE_TABLE,		/* DDL: state table */
	TRACK_SQL_HISTORY_TABLE,	/* DDL: history table */
	TRACK_SQL_TRIGGERS,			/* DDL: triggers on the state table */
	TRACK_SQL_DROP_TRIGGERS,	/* DDL: and dropping them */
	TRACK_SQL_MEMBER_TRIGGERS,	/* DDL: triggers on one orders table ({member}) */
	TRACK_SQL_MEMBER_DROP,		/* DDL: and dropping them */
	TRACK_SQL_VIEWS,			/* DDL: the BI views */
	TRACK_SQL_DROP_VIEWS,		/* DDL: the views */
	TRACK_SQL_DROP,				/* DDL: everything crm_track created */
	TRACK_SQL_COUNT
} TrackSql;

extern char *crm_track_sql(const TrackInfo *info, TrackSql which);
extern char *crm_track_member_sql(const TrackInfo *info, TrackSql which,
								  Oid member);

/*
 * Customer keys: the type of the state table's key column, and the
 * support functions that compare keys as that column's unique index does
 * (with its collation: a case-insensitive collation makes 'Bob' and 'BOB'
 * one customer)
 */
typedef struct TrackKeyType
{
	Oid			type;
	int16		typlen;
	bool		typbyval;
	Oid			collation;
	FmgrInfo	hash;			/* uint32 hash */
	FmgrInfo	equal;
	FmgrInfo	compare;		/* btree order: the order rows are locked in */
} TrackKeyType;

extern void crm_track_key_type(TrackKeyType *key, Oid type, Oid collation,
							   MemoryContext context);
extern uint32 crm_track_key_hash(const TrackKeyType *key, Datum value);
extern bool crm_track_key_equal(const TrackKeyType *key, Datum a, Datum b);
extern int	crm_track_key_compare(const TrackKeyType *key, Datum a, Datum b);

/* Which status changes a tracking sends (crm_tracking.notify) */
typedef enum TrackNotify
{
	TRACK_NOTIFY_NONE,
	TRACK_NOTIFY_ALL,
	TRACK_NOTIFY_ALERTS			/* a customer entering decline or churned */
} TrackNotify;

/*
 * What a backend knows of a tracking (tracking.c): names, types and
 * prepared statements, read again once one of its tables changes.
 */
typedef struct TrackEntry
{
	int32		id;
	int64		shard;			/* on a Citus node, the shard group (citus.c) */
	bool		valid;			/* false: read again at the next use */
	MemoryContext context;		/* holds everything below */
	Oid			tracking_relid; /* the crm_tracking table it was read from */
	Oid			ext_namespace;	/* the extension's schema */
	Oid			orders_relid;
	Oid			state_relid;
	Oid			history_relid;
	Oid			history_sequence;	/* of a history shard's ids; else invalid */
	Oid			shell_state_relid;	/* a shard's table: crm_refresh locks it */
	TrackInfo  *info;			/* for the SQL statements */
	pg_tz	   *zone;			/* the tracking's time zone */
	bool		has_promo;
	TrackKeyType key;
	Oid			owner;			/* of the orders table: the fold runs as it */
	bool		foreign_triggers;	/* the state or history has triggers not crm's */
	struct TrackConfig *config; /* the settings, once read; NULL before */
	/* orders tables (the tracked one and its partitions) and their columns */
	List	   *members;		/* of TrackMember */
	SPIPlanPtr	plans[TRACK_SQL_COUNT];
} TrackEntry;

/* An orders table of a tracking, with its columns' attribute numbers */
typedef struct TrackMember
{
	Oid			relid;
	AttrNumber	attnums[TRACK_NUM_COLS];	/* promo: 0 when not tracked */
} TrackMember;

/* tracking.c */
extern TrackInfo *crm_track_info(int32 id, Oid ext_namespace, bool missing_ok);
extern TrackEntry *crm_track_entry(int32 id, int64 shard, Oid ext_namespace);
extern void crm_track_tracking_init(void);
extern const TrackMember *crm_track_member(TrackEntry *entry, Relation rel);
extern SPIPlanPtr crm_track_plan(TrackEntry *entry, TrackSql which);
extern int32 crm_track_id_of(Oid relid, Oid ext_namespace, bool missing_ok);
extern Oid	crm_track_tracking_relid(Oid ext_namespace);
extern void crm_track_missing(int32 id) pg_attribute_noreturn();
extern uint64 crm_track_run_sql(const char *sql);
extern int	crm_track_use_settings(const char *time_zone);
extern void crm_track_restore_settings(int nestlevel);
extern bool crm_track_restore_session(void);

/* Running as the owner of a tracked table, as RI triggers do */
typedef struct TrackIdentity
{
	Oid			saved_userid;
	int			saved_sec_context;
} TrackIdentity;

extern void crm_track_become_owner(Oid relid, TrackIdentity *saved);
extern void crm_track_become(Oid owner, TrackIdentity *saved);
extern Oid	crm_track_relation_owner(Oid relid);
extern void crm_track_restore_identity(const TrackIdentity *saved);

/* The settings of a tracking the fold reads, as the latest snapshot sees them */
typedef struct TrackConfig
{
	bool		found;
	ArrayType  *thresholds;		/* NULL: none yet, everyone is small */
	Numeric		points_per_unit;
	ArrayType  *tier_multipliers;

	/*
	 * Points per unit of revenue in each tier: points_per_unit times the
	 * tier's multiplier (NULL when that is NULL: no points), and whether it
	 * is 1 exactly, scale 0 (a change of revenue is then its points)
	 */
	Numeric		tier_rates[CRM_NUM_TIERS];
	bool		tier_rate_one[CRM_NUM_TIERS];
	bool		has_as_of;
	TimestampTz as_of;
	TrackNotify notify;
	bool		restoring;		/* restored from a dump, not written since */
} TrackConfig;

extern void crm_track_read_config(int32 id, Oid tracking_relid,
								  TrackConfig *config);
extern const TrackConfig *crm_track_config(TrackEntry *entry);
extern void crm_track_clear_restoring(TrackEntry *entry);

/* delta.c: exact sums of amounts, and one customer's new orders */
typedef struct TrackSum
{
	bool		numeric_mode;	/* units overflowed: numeric arithmetic */
	crm_units	units;			/* in 10^-CRM_AMOUNT_SCALE */
	int			dscale;
	Numeric		numeric;
} TrackSum;

extern void crm_track_sum_add(TrackSum *sum, Numeric amount);
extern void crm_track_sum_add_sum(TrackSum *sum, const TrackSum *other);
extern Numeric crm_track_sum_value(const TrackSum *sum);

typedef struct TrackDelta
{
	int64		orders;			/* orders with an amount >= 0 */
	int64		promo_orders;
	TrackSum	revenue;		/* every amount, refunds included */
	TimestampTz first_at;		/* of the orders; when orders > 0 */
	TimestampTz last_at;
	int			ndays;			/* distinct purchase days, ascending */
	int			maxdays;
	DateADT    *days;
	TrackSum	first_day_revenue;	/* bought on days[0] */
} TrackDelta;

extern void crm_track_delta_add(TrackDelta *delta, Numeric amount,
								TimestampTz at, DateADT day, bool promo);
extern void crm_track_delta_merge(TrackDelta *delta, const TrackDelta *other);

/* An order's values as the tracking reads them */
extern bool crm_track_order_amount(Oid type, Datum value, Numeric *amount);
extern bool crm_track_order_time(Oid type, Datum value, pg_tz *zone,
								 TimestampTz *at, DateADT *day);
extern double crm_track_revenue_float(Numeric revenue);
extern bool crm_track_numeric_negative(Numeric value);

/* pending.c: the changes of this transaction, per customer */
typedef struct TrackChange
{
	Datum		customer;
	bool		recompute;		/* from the orders (an UPDATE, a DELETE) */
	bool		has_delta;
	TrackDelta	delta;			/* new orders, when not recomputed */
} TrackChange;

typedef struct TrackChangeSet TrackChangeSet;

extern TrackChangeSet *crm_track_changes_begin(TrackEntry *entry);
extern TrackChange *crm_track_changes_get(TrackChangeSet *set, Datum customer);
extern MemoryContext crm_track_changes_context(TrackChangeSet *set);
extern void crm_track_changes_end(TrackChangeSet *set, bool reset);
extern void crm_track_recompute_customers(TrackChangeSet *set, const char *sql);
extern void crm_track_pending_init(void);
extern uint64 crm_track_fold_pending(int32 only_id, Oid ext_namespace);
extern void crm_track_sort_changes(const TrackKeyType *key, TrackChange *changes,
								   int n);

extern bool crm_track_fold_no_wait;

/* deferred.c: folds a Citus node leaves for later */
extern Oid	crm_track_deferred_relid(Oid ext_namespace);
extern void crm_track_defer(TrackEntry *entry, const TrackChange *changes, int n);
extern uint64 crm_track_fold_deferred(Oid ext_namespace);

/* fold.c */
extern uint64 crm_track_fold(TrackEntry *entry, TrackChange *changes, int n,
							 bool reset);

/* table.c: a tracking's table opened to write without SQL */
typedef struct TrackTable
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *result_rel;
	int			ndefaults;		/* -1 until set up */
	ExprState **defaults;		/* by attribute number - 1 */
} TrackTable;

extern void crm_track_table_open(TrackTable *target, Oid relid);
extern void crm_track_table_set_updated(TrackTable *target, Bitmapset *cols);
extern const Trigger *crm_track_table_skip_trigger(TrackTable *target,
												   PGFunction fn);
extern void crm_track_table_next_command(TrackTable *target);
extern void crm_track_table_fill_defaults(TrackTable *target,
										  TupleTableSlot *slot,
										  const bool *filled);
extern void crm_track_table_close(TrackTable *target);
extern void crm_track_find_columns(TupleDesc desc, const char *const *names,
								   int n, AttrNumber *attnums,
								   const char *relname);
extern void crm_track_table_columns(TrackTable *target,
									const char *const *names, int n,
									AttrNumber *attnums);

/* history.c: status changes into the history and the messages */
#define TRACK_NUM_STATUSES 3
extern const char *const crm_track_status_names[TRACK_NUM_STATUSES];
extern const char *const crm_track_status_starts[TRACK_NUM_STATUSES];

typedef struct TrackRecorder TrackRecorder;

extern TrackRecorder *crm_track_recorder_begin(TrackEntry *entry,
											   TrackNotify notify);
extern void crm_track_recorder_add(TrackRecorder *recorder, Datum customer,
								   const char *const *was,
								   const char *const *now);
extern void crm_track_recorder_end(TrackRecorder *recorder);

/* relay.c: status messages to channel crm_status, through the relay */
extern void crm_track_send_status(Oid ext_namespace, const char *payload);
extern void crm_track_relay_define_settings(void);
extern void crm_track_relay_wake(void);

/* citus.c: tracking a table Citus distributes */
extern bool crm_track_citus_installed(void);
extern char crm_track_citus_method(Oid relid, char **column);
extern int64 crm_track_citus_trigger_shard(const Trigger *trigger);
extern Oid	crm_track_citus_settings_relid(Oid ext_namespace, bool shard_local);
extern bool crm_track_citus_localize(TrackInfo *info, int64 shard, Oid relids[3],
									 Oid settings_relid);
extern void crm_track_citus_check(Oid relid, const char *customer_column);
extern void crm_track_citus_distribute(const TrackInfo *info, Oid ext_namespace);
extern void crm_track_citus_run_ddl(const char *sql);
extern void crm_track_citus_run_local(const char *sql);
extern void crm_track_citus_one_connection(void);
extern void crm_track_citus_fold_deferred(const TrackInfo *info);
extern void crm_track_citus_check_state(const TrackInfo *info, Oid ext_namespace);
extern bool crm_track_citus_state_distributed(const TrackInfo *info);
extern void crm_track_citus_key_history(const TrackInfo *info);
extern void crm_track_citus_drop_local_data(const char *table);
extern void crm_track_citus_advance_history_ids(const TrackInfo *info);
extern void crm_track_citus_copy_settings(Oid ext_namespace);

/* ddl.c */
extern bool crm_track_dropping;

/* trigger.c: the loyalty type of a state row, as crm_state_trigger sets it */
typedef enum TrackLoyaltyColumn
{
	TRACK_LOYALTY_PURCHASE_DAYS,
	TRACK_LOYALTY_ORDERS,
	TRACK_LOYALTY_PROMO_ORDERS,
	TRACK_LOYALTY_ATTITUDE,
	TRACK_LOYALTY_PRICE_SENSITIVITY,
	TRACK_LOYALTY_REFERRALS,
	TRACK_LOYALTY_HAS_ALTERNATIVE,
	TRACK_LOYALTY_SHARE_OF_WALLET,
	TRACK_LOYALTY_LOYALTY,
	TRACK_LOYALTY_NUM_COLUMNS
} TrackLoyaltyColumn;

extern const char *const crm_track_loyalty_columns[TRACK_LOYALTY_NUM_COLUMNS];
extern int	crm_track_row_loyalty(const Datum *values, const bool *nulls,
								  const AttrNumber *attnums, bool promo_tracked,
								  bool check);
extern bool crm_track_promo_trigger(const Trigger *trigger);
extern PGDLLEXPORT Datum crm_state_trigger(PG_FUNCTION_ARGS);

/* track.c */
extern PGDLLEXPORT Datum crm_days_union(PG_FUNCTION_ARGS);
extern bool crm_track_creating;
extern const Oid crm_track_key_types[];
extern const Oid crm_track_amount_types[];
extern const Oid crm_track_time_types[];

#endif							/* CRM_TRACK_H */
