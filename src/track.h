/*
 * track.h
 *		What the tracking functions (track.c), the SQL they run
 *		(track_sql.c), the triggers (track_trigger.c) and the SPI-free
 *		writes of single orders (track_order.c, track_table.c,
 *		track_history.c) share, and how status messages are sent
 *		(track_relay.c).
 */
#ifndef CRM_TRACK_H
#define CRM_TRACK_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "fmgr.h"
#include "nodes/execnodes.h"
#include "utils/relcache.h"

/*
 * A tracked orders table as its crm_tracking row describes it, with every
 * name already quoted for use in SQL text.
 */
typedef struct TrackInfo
{
	int32		id;
	const char *ext_schema;		/* schema of the extension, quoted */
	const char *schema;			/* schema of the orders table, unquoted */
	const char *orders;			/* orders table, qualified and quoted */
	const char *label_plain;	/* orders table, qualified, for messages */
	const char *label;			/* the same as an SQL string literal */
	const char *state;			/* state table, qualified and quoted */
	const char *history;		/* history table, qualified and quoted */
	const char *prefix;			/* name prefix, unquoted */
	const char *customer;		/* orders columns, quoted */
	const char *amount;
	const char *ordered_at;
	const char *promo;			/* NULL when promotions are not tracked */
	const char *customer_type;	/* type of the customer key, as SQL */
	const char *time_zone;		/* as an SQL string literal */
	const char *time_zone_name;	/* the same as a TimeZone setting */
	Oid			ordered_at_type;	/* timestamptz, timestamp or date */

	/* the orders columns unquoted, and their types, for the triggers */
	const char *column_names[4];	/* customer, amount, ordered_at, promo */
	Oid			column_types[4];	/* promo: InvalidOid when not tracked */
} TrackInfo;

/* Indexes into column_names and column_types */
#define TRACK_COL_CUSTOMER 0
#define TRACK_COL_AMOUNT 1
#define TRACK_COL_ORDERED_AT 2
#define TRACK_COL_PROMO 3
#define TRACK_NUM_COLS 4

/* The statements of track_sql.c, each an SQL text for one TrackInfo */
typedef enum TrackSql
{
	TRACK_SQL_BACKFILL,			/* fill the state from all orders */
	TRACK_SQL_THRESHOLDS,		/* recompute and store the tier thresholds */
	TRACK_SQL_RETIER,			/* re-tier and re-stage every customer */
	TRACK_SQL_INSERT,			/* fold inserted orders (crm_new) in */
	TRACK_SQL_INSERT_ONE,		/* fold one order ($1 .. $4) in */
	TRACK_SQL_UPDATE_ONE,		/* the same for a customer known to exist */
	TRACK_SQL_UPDATE_LOCK,		/* lock (or create) customers of an UPDATE */
	TRACK_SQL_UPDATE_RECOMPUTE, /* recompute them from the orders */
	TRACK_SQL_DELETE_LOCK,		/* lock customers of crm_old */
	TRACK_SQL_DELETE_RECOMPUTE, /* recompute them from the orders */
	TRACK_SQL_TRUNCATE,			/* every customer back to no orders */
	TRACK_SQL_HISTORY,			/* history rows from arrays ($1 .. $4) */
	TRACK_SQL_VERIFY,			/* differences between state and orders */
	TRACK_SQL_STATE_TABLE,		/* DDL: state table */
	TRACK_SQL_HISTORY_TABLE,	/* DDL: history table */
	TRACK_SQL_TRIGGERS,			/* DDL: triggers on orders and state */
	TRACK_SQL_VIEWS,			/* DDL: the BI views */
	TRACK_SQL_DROP,				/* DDL: everything crm_track created */
	TRACK_SQL_COUNT
} TrackSql;

extern char *crm_track_sql(const TrackInfo *info, TrackSql which);

/* track_order.c: one order of a customer with a state row, folded in C */
typedef struct TrackOrder
{
	Datum		customer;		/* none of the three is NULL */
	Datum		amount;			/* of the amount column's type */
	Datum		ordered_at;		/* of the time column's type */
	bool		promo;			/* marked promotional */
} TrackOrder;

/* Where a tracking's single orders go */
typedef struct TrackTarget
{
	int32		id;
	const char *schema;			/* of the state table, unquoted */
	const char *state_name;		/* the state table, unquoted */
	const char *history_name;	/* the history table, unquoted */
	Oid			ext_namespace;	/* the extension's schema: crm_tracking */
	const char *time_zone;		/* the tracking's, as a TimeZone setting */
	Oid			amount_type;
	Oid			ordered_at_type;
} TrackTarget;

typedef enum TrackFoldResult
{
	TRACK_FOLDED,				/* the state row holds the order */
	TRACK_NEW_CUSTOMER,			/* the customer has no state row yet */
	TRACK_NOT_FOLDED			/* for the SQL statements to do */
} TrackFoldResult;

extern TrackFoldResult crm_track_fold_order(FunctionCallInfo fcinfo,
											const TrackTarget *target,
											const TrackOrder *order);

/* Which status changes a tracking sends with pg_notify (crm_tracking.notify) */
typedef enum TrackNotify
{
	TRACK_NOTIFY_NONE,
	TRACK_NOTIFY_ALL,
	TRACK_NOTIFY_ALERTS,		/* a customer entering decline or churned */
	TRACK_NOTIFY_UNREAD			/* not read yet: record_history reads it */
} TrackNotify;

extern TrackNotify crm_track_notify_mode(const TrackTarget *target);

/* track_relay.c: status messages to channel crm_status, through the relay */
extern void crm_track_send_status(Oid ext_namespace, const char *payload);
extern void crm_track_relay_define_settings(void);

/*
 * track_table.c: a tracking's table opened to write to it without SQL, with
 * an executor state to write through
 */
typedef struct TrackTable
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *result_rel;
} TrackTable;

extern bool crm_track_table_open(TrackTable *target, const char *schema,
								 const char *name, AclMode required);
extern void crm_track_table_set_updated(TrackTable *target, Bitmapset *cols);
extern void crm_track_table_close(TrackTable *target);
extern void crm_track_find_columns(TupleDesc desc, const char *const *names,
								   int n, AttrNumber *attnums,
								   const char *relname);

/* track_history.c: history rows without SPI, for crm_track_record_row_history */
typedef struct TrackHistoryWriter TrackHistoryWriter;

extern TrackHistoryWriter *crm_track_history_open(const TrackTarget *target);
extern void crm_track_history_insert(TrackHistoryWriter *writer,
									 Datum customer, bool customer_null,
									 const char *status,
									 const char *old_value,
									 const char *new_value);
extern void crm_track_history_close(TrackHistoryWriter *writer);

/* track_trigger.c: the status history of a row updated without a statement */
extern void crm_track_record_row_history(FunctionCallInfo fcinfo,
										 const TrackTarget *target,
										 TupleDesc desc,
										 TupleTableSlot *old_slot,
										 TupleTableSlot *new_slot,
										 TrackNotify notify);

/* track.c */
extern PGDLLEXPORT Datum crm_days_union(PG_FUNCTION_ARGS);
extern TrackInfo *crm_track_info(int32 id, Oid fn_oid);
extern void crm_track_missing(int32 id) pg_attribute_noreturn();
extern Oid	crm_track_tracking_relid(Oid ext_namespace);
extern int	crm_track_use_settings(const char *time_zone);
extern void crm_track_restore_settings(int nestlevel);

#endif							/* CRM_TRACK_H */
