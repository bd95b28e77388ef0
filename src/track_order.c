/*
 * track_order.c
 *		A single order of a customer who has a state row, folded into that
 *		row in C: the common case of order traffic, without SPI.
 *
 * The SQL statement for one order (track_sql.c's update_one_sql) is a plan
 * with a join and a dozen function calls, and starting it for every order
 * cost more than the rest of the INSERT.  Here the state row is found by
 * its primary key and locked, its new figures are computed from the locked
 * version, and the row is updated through the executor's simple-update
 * path, the one logical replication applies changes with.  That path runs
 * the state table's row triggers (crm_state_trigger sets the loyalty type),
 * checks its constraints and maintains its indexes, but fires no statement
 * triggers; so the status history, which crm_history_trigger records for
 * statements on the state table, is recorded here, and only when a status
 * changed.
 *
 * The figures follow the rules of track_sql.c exactly (a negative amount is
 * a refund: it lowers revenue and points but is no order and no purchase
 * day; days are calendar days in the tracking's time zone; points use the
 * tier held before the order; tier and stage with the thresholds and as_of
 * of crm_tracking), and the tests check the two ways against each other.
 * Whatever this path does not handle goes to the SQL: a customer without a
 * state row (INSERT ... ON CONFLICT creates it), a state table with row
 * level security, or a role without table-wide SELECT and UPDATE on it
 * (the statements then check column privileges and report as usual).
 *
 * Locking is the SQL's: the one state row, as an UPDATE would, waiting for
 * a concurrent change of it and then working from its latest version.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/tableam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "crm.h"
#include "lifecycle.h"
#include "tier.h"
#include "track.h"

/* The state columns the fold reads or writes */
enum
{
	COL_CUSTOMER,
	COL_ORDERS,
	COL_REVENUE,
	COL_PROMO_ORDERS,
	COL_FIRST_AT,
	COL_LAST_AT,
	COL_PURCHASE_DAYS,
	COL_FIRST_DAY_REVENUE,
	COL_POINTS,
	COL_TIER,
	COL_LIFECYCLE,
	COL_LOYALTY,
	COL_UPDATED_AT,
	NUM_COLS
};

static const char *const column_names[NUM_COLS] = {
	"customer", "orders", "revenue", "promo_orders", "first_at", "last_at",
	"purchase_days", "first_day_revenue", "points", "tier", "lifecycle",
	"loyalty", "updated_at"
};

/* The crm_tracking columns it reads */
enum
{
	CFG_ID,
	CFG_THRESHOLDS,
	CFG_POINTS_PER_UNIT,
	CFG_TIER_MULTIPLIERS,
	CFG_AS_OF,
	CFG_NOTIFY,
	NUM_CFG
};

static const char *const config_names[NUM_CFG] = {
	"id", "thresholds", "points_per_unit", "tier_multipliers", "as_of", "notify"
};

/*
 * Enum label OIDs of the tier and lifecycle types, by our enum values.  An
 * enum's labels keep their OIDs for as long as the type exists, so they
 * are looked up once per backend and type.
 */
typedef struct EnumLabels
{
	Oid			type;
	int			n;
	Datum		labels[Max(CRM_NUM_TIERS, CRM_NUM_STAGES)];
} EnumLabels;

static EnumLabels tier_labels;
static EnumLabels stage_labels;

static const EnumLabels *
enum_labels(EnumLabels *cache, Oid type, const char *const *names, int n)
{
	if (cache->type != type)
	{
		cache->type = InvalidOid;
		for (int i = 0; i < n; i++)
			cache->labels[i] = crm_enum_label(type, names[i]);
		cache->n = n;
		cache->type = type;
	}
	return cache;
}

/* Our value of an enum label OID */
static int
label_index(const EnumLabels *cache, Datum label)
{
	for (int i = 0; i < cache->n; i++)
		if (DatumGetObjectId(cache->labels[i]) == DatumGetObjectId(label))
			return i;
	elog(ERROR, "enum label %u is not one of type %u", DatumGetObjectId(label),
		 cache->type);
	return -1;					/* keep compiler quiet */
}

/*
 * The settings of tracking "id" the fold needs, from its crm_tracking row
 * as the latest snapshot sees it (after the state row is locked, so a
 * crm_refresh that committed meanwhile is seen).
 */
typedef struct FoldConfig
{
	Datum		values[NUM_CFG];
	bool		nulls[NUM_CFG];
} FoldConfig;

static void
read_config(const TrackTarget *target, FoldConfig *config)
{
	Oid			relid = crm_track_tracking_relid(target->ext_namespace);
	Relation	rel;
	AttrNumber	attnums[NUM_CFG];
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;

	rel = table_open(relid, AccessShareLock);
	crm_track_find_columns(RelationGetDescr(rel), config_names, NUM_CFG,
						   attnums, "crm_tracking");
	ScanKeyInit(&key, attnums[CFG_ID], BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(target->id));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  snapshot, 1, &key);
	tuple = systable_getnext(scan);
	if (!HeapTupleIsValid(tuple))
		crm_track_missing(target->id);
	for (int i = 0; i < NUM_CFG; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnums[i] - 1);

		config->values[i] = heap_getattr(tuple, attnums[i], RelationGetDescr(rel),
										 &config->nulls[i]);
		if (!config->nulls[i])
			config->values[i] = datumCopy(config->values[i], att->attbyval,
										  att->attlen);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	/* the lock stays until the end of the transaction, as a query's would */
	table_close(rel, NoLock);
}

/* The notify setting of a configuration read */
static TrackNotify
notify_of(const FoldConfig *config)
{
	char	   *notify = TextDatumGetCString(config->values[CFG_NOTIFY]);

	if (strcmp(notify, "all") == 0)
		return TRACK_NOTIFY_ALL;
	if (strcmp(notify, "alerts") == 0)
		return TRACK_NOTIFY_ALERTS;
	return TRACK_NOTIFY_NONE;
}

/*
 * Which changes tracking "id" sends: crm_tracking.notify, as the latest
 * snapshot sees it
 */
TrackNotify
crm_track_notify_mode(const TrackTarget *target)
{
	FoldConfig	config;

	read_config(target, &config);
	return notify_of(&config);
}

/* The order's amount as numeric, as the SQL's $2::numeric */
static Datum
amount_numeric(Oid type, Datum amount)
{
	switch (type)
	{
		case NUMERICOID:
			return amount;
		case INT2OID:
			return DirectFunctionCall1(int2_numeric, amount);
		case INT4OID:
			return DirectFunctionCall1(int4_numeric, amount);
		case INT8OID:
			return DirectFunctionCall1(int8_numeric, amount);
		case FLOAT4OID:
			return DirectFunctionCall1(float4_numeric, amount);
		case FLOAT8OID:
			return DirectFunctionCall1(float8_numeric, amount);
	}
	elog(ERROR, "amount type %u is not tracked", type);
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * The order time as timestamptz: a local time or a date is in the
 * tracking's time zone, as the SQL's ($3 AT TIME ZONE tz)
 */
static TimestampTz
order_time(Oid type, Datum ordered_at, Datum zone)
{
	if (type == DATEOID)
		ordered_at = DirectFunctionCall1(date_timestamp, ordered_at);
	else if (type == TIMESTAMPTZOID)
		return DatumGetTimestampTz(ordered_at);
	return DatumGetTimestampTz(DirectFunctionCall2(timestamp_zone, zone,
												   ordered_at));
}

/* The first element of a date[], or false when it has none (SQL's a[1]) */
static bool
first_day(Datum days, DateADT *day)
{
	int			index = 1;
	bool		isnull;
	Datum		value = array_get_element(days, 1, &index, -1, sizeof(DateADT),
										  true, TYPALIGN_INT, &isnull);

	if (!isnull)
		*day = DatumGetDateADT(value);
	return !isnull;
}

/* *a += b, unless *a is NULL */
static void
add_numeric(Datum *a, bool a_null, Datum b)
{
	if (!a_null)
		*a = DirectFunctionCall2(numeric_add, *a, b);
}

/*
 * Find the state row of a customer by the primary key index and lock it as
 * an UPDATE in READ COMMITTED would: wait for a transaction that is
 * creating or changing it, then lock its latest version, into slot.  False
 * when the customer has no row.  (Logical replication's
 * RelationFindReplTupleByIndex does much the same, but logs every lost
 * race with a concurrent update, and orders of one customer race often.)
 */
static bool
lock_state_row(Relation rel, Oid pkey, Datum customer, TupleTableSlot *slot)
{
	Relation	index = index_open(pkey, RowExclusiveLock);
	Oid			type = index->rd_opcintype[0];
	Oid			equal = get_opfamily_member(index->rd_opfamily[0], type, type,
											BTEqualStrategyNumber);
	SnapshotData dirty;
	ScanKeyData key;
	IndexScanDesc scan;
	bool		found;
	bool		looked_again = false;

	if (!OidIsValid(equal))
		elog(ERROR, "no equality operator for the key of index %u", pkey);
	ScanKeyEntryInitialize(&key, 0, 1, BTEqualStrategyNumber, type,
						   index->rd_indcollation[0], get_opcode(equal),
						   customer);
	InitDirtySnapshot(dirty);
	scan = index_beginscan(rel, index, &dirty, 1, 0);
	for (;;)
	{
		TransactionId xwait;
		TM_FailureData tmfd;
		TM_Result	result;

		index_rescan(scan, &key, 1, NULL, 0);
		found = index_getnext_slot(scan, ForwardScanDirection, slot);

		/*
		 * Not found: look once more.  An update that gave the row a new
		 * index entry may have committed after the scan read the index page
		 * and before it read the old version, which is then dead; then the
		 * statements would handle the customer as new, and INSERT ... ON
		 * CONFLICT would find the row, but in REPEATABLE READ fail with a
		 * serialization error.  A customer who has no row costs one more
		 * probe.
		 */
		if (!found && !looked_again)
		{
			looked_again = true;
			continue;
		}
		if (!found)
			break;

		/* being inserted or deleted by another transaction: wait, look again */
		xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
		if (TransactionIdIsValid(xwait))
		{
			XactLockTableWait(xwait, rel, &slot->tts_tid, XLTW_Lock);
			continue;
		}

		PushActiveSnapshot(GetLatestSnapshot());
		result = table_tuple_lock(rel, &slot->tts_tid, GetActiveSnapshot(), slot,
								  GetCurrentCommandId(false),
								  LockTupleNoKeyExclusive, LockWaitBlock,
								  TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		PopActiveSnapshot();
		if (result == TM_Ok)
			break;
		if (result != TM_Deleted)
			elog(ERROR, "unexpected table_tuple_lock status: %u", result);
		/* deleted meanwhile: look again */
	}
	index_endscan(scan);
	index_close(index, NoLock);
	return found;
}

/*
 * The new version of the state row of old_slot (locked) with the order
 * folded in; the caller updates the row with it.
 */
static void
fold_into(const TrackTarget *target, const TrackOrder *order,
		  const AttrNumber *attnums, TupleTableSlot *old_slot,
		  TupleTableSlot *new_slot, const FoldConfig *config)
{
	Datum	   *values = new_slot->tts_values;
	bool	   *nulls = new_slot->tts_isnull;
	TupleDesc	desc = new_slot->tts_tupleDescriptor;
	const EnumLabels *tiers;
	const EnumLabels *stages;
	Datum		zone = CStringGetTextDatum(target->time_zone);
	Datum		amount = amount_numeric(target->amount_type, order->amount);
	bool		positive = DatumGetBool(DirectFunctionCall2(numeric_ge, amount,
															NumericGetDatum(int64_to_numeric(0))));
	int			old_tier;
	Datum		multiplier;
	bool		multiplier_null;
	int			tier_index;

	slot_getallattrs(old_slot);
	ExecClearTuple(new_slot);
	memcpy(values, old_slot->tts_values, sizeof(Datum) * desc->natts);
	memcpy(nulls, old_slot->tts_isnull, sizeof(bool) * desc->natts);

	tiers = enum_labels(&tier_labels,
						TupleDescAttr(desc, attnums[COL_TIER] - 1)->atttypid,
						crm_tier_labels, CRM_NUM_TIERS);
	stages = enum_labels(&stage_labels,
						 TupleDescAttr(desc, attnums[COL_LIFECYCLE] - 1)->atttypid,
						 crm_lifecycle_labels, CRM_NUM_STAGES);
	old_tier = label_index(tiers, values[attnums[COL_TIER] - 1]);

#define VALUE(col) values[attnums[col] - 1]
#define ISNULL(col) nulls[attnums[col] - 1]

	/* points, at the multiplier of the tier held before the order */
	tier_index = old_tier + 1;
	multiplier = array_get_element(config->values[CFG_TIER_MULTIPLIERS], 1,
								   &tier_index, -1, -1, false, TYPALIGN_INT,
								   &multiplier_null);
	if (multiplier_null)
		ISNULL(COL_POINTS) = true;
	else
		add_numeric(&VALUE(COL_POINTS), ISNULL(COL_POINTS),
					DirectFunctionCall2(numeric_mul,
										DirectFunctionCall2(numeric_mul, amount,
															config->values[CFG_POINTS_PER_UNIT]),
										multiplier));

	add_numeric(&VALUE(COL_REVENUE), ISNULL(COL_REVENUE), amount);
	if (positive)
	{
		TimestampTz at = order_time(target->ordered_at_type, order->ordered_at, zone);
		DateADT		day = DatumGetDateADT(DirectFunctionCall1(timestamp_date,
															  DirectFunctionCall2(timestamptz_zone, zone,
																				  TimestampTzGetDatum(at))));
		Datum		day_datum = DateADTGetDatum(day);
		Datum		day_array = PointerGetDatum(construct_array(&day_datum, 1, DATEOID,
																sizeof(DateADT), true,
																TYPALIGN_INT));
		DateADT		old_first;
		bool		had_day = !ISNULL(COL_PURCHASE_DAYS) &&
			first_day(VALUE(COL_PURCHASE_DAYS), &old_first);

		if (!ISNULL(COL_ORDERS))
			VALUE(COL_ORDERS) = DirectFunctionCall2(int8pl, VALUE(COL_ORDERS),
													Int64GetDatum(1));
		if (order->promo && !ISNULL(COL_PROMO_ORDERS))
			VALUE(COL_PROMO_ORDERS) = DirectFunctionCall2(int8pl,
														  VALUE(COL_PROMO_ORDERS),
														  Int64GetDatum(1));
		/* least() and greatest() skip NULLs */
		if (ISNULL(COL_FIRST_AT) || at < DatumGetTimestampTz(VALUE(COL_FIRST_AT)))
			VALUE(COL_FIRST_AT) = TimestampTzGetDatum(at);
		if (ISNULL(COL_LAST_AT) || at > DatumGetTimestampTz(VALUE(COL_LAST_AT)))
			VALUE(COL_LAST_AT) = TimestampTzGetDatum(at);
		ISNULL(COL_FIRST_AT) = ISNULL(COL_LAST_AT) = false;

		/* the day's revenue counts as first-day revenue unless a day came before */
		if (!had_day || old_first > day)
		{
			VALUE(COL_FIRST_DAY_REVENUE) = amount;
			ISNULL(COL_FIRST_DAY_REVENUE) = false;
		}
		else if (old_first == day)
			add_numeric(&VALUE(COL_FIRST_DAY_REVENUE),
						ISNULL(COL_FIRST_DAY_REVENUE), amount);

		VALUE(COL_PURCHASE_DAYS) = ISNULL(COL_PURCHASE_DAYS) ? day_array :
			DirectFunctionCall2(crm_days_union, VALUE(COL_PURCHASE_DAYS),
								day_array);
		ISNULL(COL_PURCHASE_DAYS) = false;
	}

	/* tier by revenue; no thresholds yet: everyone is small */
	if (ISNULL(COL_REVENUE))
		tier_index = CRM_TIER_SMALL;	/* NOT NULL fails below */
	else if (config->nulls[CFG_THRESHOLDS])
		tier_index = CRM_TIER_SMALL;
	else
		tier_index = crm_tier_of_value(DatumGetFloat8(DirectFunctionCall1(numeric_float8,
																		  VALUE(COL_REVENUE))),
									   DatumGetArrayTypeP(config->values[CFG_THRESHOLDS]));
	VALUE(COL_TIER) = tiers->labels[tier_index];

	/* the stage as the orders leave it; NULL when a time is missing */
	if (ISNULL(COL_ORDERS))
		ISNULL(COL_LIFECYCLE) = true;
	else if (DatumGetInt64(VALUE(COL_ORDERS)) == 0)
		VALUE(COL_LIFECYCLE) = stages->labels[CRM_STAGE_PROSPECT];
	else if (ISNULL(COL_FIRST_AT) || ISNULL(COL_LAST_AT))
		ISNULL(COL_LIFECYCLE) = true;
	else
		VALUE(COL_LIFECYCLE) =
			stages->labels[crm_lifecycle_of(DatumGetInt64(VALUE(COL_ORDERS)),
											DatumGetTimestampTz(VALUE(COL_FIRST_AT)),
											DatumGetTimestampTz(VALUE(COL_LAST_AT)),
											config->nulls[CFG_AS_OF] ?
											GetCurrentTransactionStartTimestamp() :
											DatumGetTimestampTz(config->values[CFG_AS_OF]),
											&crm_lifecycle_defaults)];

	VALUE(COL_UPDATED_AT) = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	ISNULL(COL_UPDATED_AT) = false;
#undef VALUE
#undef ISNULL
	ExecStoreVirtualTuple(new_slot);
}

/* The state table's columns the fold sets, as an UPDATE's SET list names them */
static Bitmapset *
updated_columns(const AttrNumber *attnums)
{
	Bitmapset  *cols = NULL;

	for (int i = 0; i < NUM_COLS; i++)
		if (i != COL_CUSTOMER && i != COL_LOYALTY)
			cols = bms_add_member(cols,
								  attnums[i] - FirstLowInvalidHeapAttributeNumber);
	return cols;
}

/*
 * Fold one order into its customer's state row.  TRACK_NEW_CUSTOMER when
 * the customer has no row yet, TRACK_NOT_FOLDED when the SQL statements
 * must do it (see the top of this file); either way nothing was changed.
 */
TrackFoldResult
crm_track_fold_order(FunctionCallInfo fcinfo, const TrackTarget *target,
					 const TrackOrder *order)
{
	TrackTable state;
	AttrNumber	attnums[NUM_COLS];
	Oid			pkey;
	EPQState	epqstate;
	TupleTableSlot *old_slot;
	TupleTableSlot *new_slot;
	FoldConfig	config;
	Datum		old_status[3];
	bool		status_changed = false;
	static const int status_cols[3] = {COL_TIER, COL_LOYALTY, COL_LIFECYCLE};

	if (!crm_track_table_open(&state, target->schema, target->state_name,
							  ACL_SELECT | ACL_UPDATE))
		return TRACK_NOT_FOLDED;
	pkey = RelationGetPrimaryKeyIndex(state.rel);
	if (!OidIsValid(pkey))
	{
		crm_track_table_close(&state);
		return TRACK_NOT_FOLDED;
	}
	crm_track_find_columns(RelationGetDescr(state.rel), column_names, NUM_COLS,
						   attnums, RelationGetRelationName(state.rel));

	/* the columns set, for UPDATE OF triggers and the row lock's strength */
	crm_track_table_set_updated(&state, updated_columns(attnums));

	old_slot = table_slot_create(state.rel, &state.estate->es_tupleTable);
	if (!lock_state_row(state.rel, pkey, order->customer, old_slot))
	{
		crm_track_table_close(&state);
		return TRACK_NEW_CUSTOMER;
	}

	read_config(target, &config);
	new_slot = table_slot_create(state.rel, &state.estate->es_tupleTable);
	fold_into(target, order, attnums, old_slot, new_slot, &config);
	for (int i = 0; i < 3; i++)
		old_status[i] = old_slot->tts_values[attnums[status_cols[i]] - 1];

	EvalPlanQualInit(&epqstate, state.estate, NULL, NIL, -1);
	ExecSimpleRelationUpdate(state.result_rel, state.estate, &epqstate,
							 old_slot, new_slot);
	EvalPlanQualEnd(&epqstate);

	/*
	 * A BEFORE trigger that returns NULL skips the update, as for an UPDATE
	 * statement: then nothing changed (the update sets new_slot's TID).
	 * crm_state_trigger may have changed the loyalty type of new_slot.
	 */
	for (int i = 0; i < 3 && ItemPointerIsValid(&new_slot->tts_tid); i++)
	{
		bool		isnull;
		Datum		now = slot_getattr(new_slot, attnums[status_cols[i]], &isnull);

		if (isnull || DatumGetObjectId(now) != DatumGetObjectId(old_status[i]))
			status_changed = true;
	}
	if (status_changed)
		crm_track_record_row_history(fcinfo, target, RelationGetDescr(state.rel),
									 old_slot, new_slot, notify_of(&config));
	crm_track_table_close(&state);
	return TRACK_FOLDED;
}

