/*
 * fold.c
 *		Folding a transaction's changes into the state rows of its
 *		customers, at commit (pending.c): every customer in key order.
 *
 * For each customer, in key order, the state row is found by the key index
 * and locked as an UPDATE in READ COMMITTED would lock it -- waiting for a
 * transaction that is changing it, then taking its latest version, also
 * under REPEATABLE READ, so that concurrent orders of one customer never
 * fail with a serialization error (the state is derived data; the orders
 * table keeps its isolation).  A customer without a row gets one, inserted
 * under a short lock on its key so that two transactions do not both
 * insert it.  Every transaction takes its customers in the same order and
 * holds them only while its commit runs, so tracked transactions cannot
 * deadlock on the state.
 *
 * Then each row gets its new figures: the old ones plus the new orders
 * (delta.c), or, for a customer an UPDATE or DELETE touched, figures
 * recomputed from the orders table with a snapshot taken after the locks
 * (taking orders away is not exact: first and last order, purchase days),
 * which sees every order of the customer committed by the transactions it
 * waited for.  The rows are written through the executor's simple-update
 * path (table.c), which runs the state table's row triggers -- all but
 * crm_state_trigger, whose loyalty type the fold sets itself, unless the
 * user has BEFORE row triggers of their own there -- and the status
 * changes go to the history (history.c).  Customers are taken a chunk at a
 * time, so a bulk load of many customers holds a bounded amount of memory.
 *
 * All of it runs as the owner of the orders table (tracking.c): the role
 * that wrote the orders needs no privilege on the state, and row level
 * security on the orders hides none of a customer's orders.
 *
 * Rules (documented in the README), as the SQL of sql.c has them:
 *	- points change by (change in revenue) * points_per_unit * the
 *	  multiplier of the tier the customer had before the change; a new
 *	  customer starts in the small tier;
 *	- the tier compares revenue with the thresholds of crm_tracking;
 *	- the lifecycle stage is judged at as_of (now() when NULL), or at the
 *	  last order when that is later: an order dated in the future is
 *	  judged as of its own time.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/hash.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "crm.h"
#include "lifecycle.h"
#include "loyalty.h"
#include "tier.h"
#include "track.h"

/* Customers locked and written at a time */
#define FOLD_CHUNK 1024

/* The lock tag kind of the lock on a customer key being inserted */
#define KEY_LOCK_KIND 4

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

/*
 * Enum label OIDs of a status type, by our enum values.  An enum's labels
 * keep their OIDs for as long as the type exists, so they are looked up
 * once per backend and type.
 */
typedef struct EnumLabels
{
	Oid			type;
	int			n;
	const char *const *names;
	Datum		labels[Max(Max(CRM_NUM_TIERS, CRM_NUM_STAGES), CRM_NUM_LOYALTY)];
} EnumLabels;

static EnumLabels tier_labels;
static EnumLabels stage_labels;
static EnumLabels loyalty_labels;

static const EnumLabels *
enum_labels(EnumLabels *cache, Oid type, const char *const *names, int n)
{
	if (cache->type != type)
	{
		cache->type = InvalidOid;
		for (int i = 0; i < n; i++)
			cache->labels[i] = crm_enum_label(type, names[i]);
		cache->n = n;
		cache->names = names;
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

/* The label of a status column of a slot, NULL when NULL */
static const char *
slot_label(TupleTableSlot *slot, AttrNumber attnum, const EnumLabels *labels)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, attnum, &isnull);

	return isnull ? NULL : labels->names[label_index(labels, value)];
}

/* Where a customer of the chunk stands after the first pass */
typedef enum RowState
{
	ROW_LOCKED,					/* an existing row, locked: to be written */
	ROW_INSERTED,				/* a new row with its figures: done */
	ROW_INSERTED_EMPTY,			/* a new row to be recomputed */
	ROW_BUSY					/* held by another transaction, and this
								 * fold may not wait: left for later */
} RowState;

/* What lock_row found */
typedef enum LockResult
{
	LOCK_MISSING,				/* no row */
	LOCK_TAKEN,					/* the row, locked */
	LOCK_BUSY					/* a row another transaction holds */
} LockResult;

/* The figures of a customer recomputed from the orders */
typedef struct Figures
{
	bool		found;			/* the customer has counted orders */
	int64		orders;
	Numeric		revenue;
	int64		promo_orders;
	bool		first_null;
	TimestampTz first_at;
	bool		last_null;
	TimestampTz last_at;
	Datum		purchase_days;
	Numeric		first_day_revenue;
} Figures;

typedef struct Fold
{
	TrackEntry *entry;
	TrackTable	state;
	TupleDesc	desc;
	AttrNumber	attnums[NUM_COLS];
	bool	   *filled;			/* the columns a new row gets from us */
	Relation	key_index;
	StrategyNumber key_strategy;
	RegProcedure key_equal;
	TrackConfig config;
	TimestampTz now;
	const EnumLabels *tiers;
	const EnumLabels *stages;
	const EnumLabels *loyalties;
	EPQState	epqstate;
	TrackRecorder *recorder;
	/* per customer of a chunk; as many as the largest chunk has */
	TupleTableSlot **old_slots;
	RowState   *row_states;
	Figures    *figures;
	TupleTableSlot *new_slot;
	SPIPlanPtr	recompute_plan;
	bool		sets_loyalty;	/* crm_state_trigger left out: set here */
	bool		promo_tracked;	/* as that trigger's argument says */
	AttrNumber	loyalty_attnums[TRACK_LOYALTY_NUM_COLUMNS];
	uint64		written;
	bool		no_wait;		/* never wait for a row (deferred.c) */
} Fold;

/*
 * The state table's key index: the primary key of a fixed-size key, the
 * hash index of the exclusion constraint of a text key (any length)
 */
static void
find_key_index(Fold *fold)
{
	ResultRelInfo *rri = fold->state.result_rel;

	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];
		Relation	index = rri->ri_IndexRelationDescs[i];
		Oid			type = index->rd_opcintype[0];
		Oid			equal;

		if (ii->ii_NumIndexKeyAttrs != 1 ||
			ii->ii_IndexAttrNumbers[0] != fold->attnums[COL_CUSTOMER] ||
			(!ii->ii_Unique && ii->ii_ExclusionOps == NULL) ||
			ii->ii_Predicate != NIL)
			continue;
		fold->key_strategy = index->rd_rel->relam == HASH_AM_OID ?
			HTEqualStrategyNumber : BTEqualStrategyNumber;
		equal = get_opfamily_member(index->rd_opfamily[0], type, type,
									fold->key_strategy);
		if (!OidIsValid(equal))
			continue;
		fold->key_index = index;
		fold->key_equal = get_opcode(equal);
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("state table %s has no unique index on its customer column",
					RelationGetRelationName(fold->state.rel)),
			 errhint("crm_track creates it; do not drop it while the table is tracked.")));
}

/*
 * Look the customer's row up in the key index with a dirty snapshot,
 * which also sees rows other transactions are inserting or changing
 */
static bool
probe_row(Fold *fold, IndexScanDesc scan, Datum customer, TupleTableSlot *slot)
{
	ScanKeyData key;

	ScanKeyEntryInitialize(&key, 0, 1, fold->key_strategy,
						   fold->key_index->rd_opcintype[0],
						   fold->key_index->rd_indcollation[0], fold->key_equal,
						   customer);
	index_rescan(scan, &key, 1, NULL, 0);
	return index_getnext_slot(scan, ForwardScanDirection, slot);
}

/*
 * Find the state row of a customer and lock it as an UPDATE in READ
 * COMMITTED would: wait for a transaction that is creating or changing it,
 * then lock its latest version, into slot.  False when the customer has no
 * row.  (Logical replication's RelationFindReplTupleByIndex does much the
 * same, but logs every lost race with a concurrent update, and orders of
 * one customer race often.)
 */
static LockResult
lock_row(Fold *fold, Datum customer, TupleTableSlot *slot)
{
	Relation	rel = fold->state.rel;
	SnapshotData dirty;
	IndexScanDesc scan;
	bool		found;
	bool		looked_again = false;
	LockResult	lock = LOCK_MISSING;

	InitDirtySnapshot(dirty);
	scan = index_beginscan(rel, fold->key_index, &dirty, 1, 0);
	for (;;)
	{
		TransactionId xwait;
		TM_FailureData tmfd;
		TM_Result	result;

		found = probe_row(fold, scan, customer, slot);

		/*
		 * Not found: look once more.  An update that gave the row a new
		 * index entry may have committed after the scan read the index page
		 * and before it read the old version, which is then dead.  A
		 * customer who has no row costs one more probe.
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
			if (!fold->no_wait)
				XactLockTableWait(xwait, rel, &slot->tts_tid, XLTW_Lock);
			else if (!ConditionalXactLockTableWait(xwait))
			{
				lock = LOCK_BUSY;
				break;
			}
			continue;
		}

		PushActiveSnapshot(GetLatestSnapshot());
		result = table_tuple_lock(rel, &slot->tts_tid, GetActiveSnapshot(), slot,
								  GetCurrentCommandId(false), LockTupleNoKeyExclusive,
								  fold->no_wait ? LockWaitSkip : LockWaitBlock,
								  TUPLE_LOCK_FLAG_FIND_LAST_VERSION, &tmfd);
		PopActiveSnapshot();
		if (result == TM_Ok || result == TM_SelfModified)
		{
			lock = LOCK_TAKEN;
			break;
		}
		if (result == TM_WouldBlock)
		{
			lock = LOCK_BUSY;
			break;
		}
		if (result != TM_Deleted)
			elog(ERROR, "unexpected table_tuple_lock status: %u", result);
		/* deleted meanwhile: look again */
	}
	index_endscan(scan);
	return lock;
}

/*
 * The lock on a customer key being inserted, so that two transactions do
 * not insert the same customer: held only while its row is looked for and
 * inserted, never while waiting for anything else, so it cannot take part
 * in a deadlock (a hash collision only makes two inserts take turns)
 */
static void
key_lock_tag(Fold *fold, Datum customer, LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, RelationGetRelid(fold->state.rel),
						 crm_track_key_hash(&fold->entry->key, customer),
						 KEY_LOCK_KIND);
}

/* Whether the customer has a row, live or being written, without waiting */
static bool
row_exists(Fold *fold, Datum customer, TupleTableSlot *slot)
{
	SnapshotData dirty;
	IndexScanDesc scan;
	bool		found;

	InitDirtySnapshot(dirty);
	scan = index_beginscan(fold->state.rel, fold->key_index, &dirty, 1, 0);
	found = probe_row(fold, scan, customer, slot);
	index_endscan(scan);
	return found;
}

#define VALUE(col) values[fold->attnums[col] - 1]
#define ISNULL(col) nulls[fold->attnums[col] - 1]

/* *a + b */
static Datum
add_numeric(Datum a, Numeric b)
{
	return DirectFunctionCall2(numeric_add, a, NumericGetDatum(b));
}

/*
 * The union of a date[] and sorted distinct days, as a date[]: merged into
 * the array when it is as the fold keeps it (ascending, distinct, no NULL),
 * and that same array when it holds every new day already -- the common
 * case of a customer's second order of the day; else sorted anew (a state
 * row edited by hand).
 */
static Datum
union_days(Datum array, const DateADT *days, int ndays)
{
	ArrayType  *a = DatumGetArrayTypeP(array);
	int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
	const DateADT *old = (const DateADT *) ARR_DATA_PTR(a);
	bool		kept = ARR_NDIM(a) <= 1 && !ARR_HASNULL(a);
	Datum	   *elems;
	int			nall = 0;
	int			i = 0;
	int			j = 0;

	for (int k = 1; kept && k < n; k++)
		kept = old[k - 1] < old[k];
	if (!kept)
	{
		Datum	   *olds;
		bool	   *old_nulls;
		DateADT    *all = palloc(sizeof(DateADT) * (n + ndays + 1));

		deconstruct_array(a, DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
						  &olds, &old_nulls, &n);
		for (int k = 0; k < n; k++)
			if (!old_nulls[k])
				all[nall++] = DatumGetDateADT(olds[k]);
		for (int k = 0; k < ndays; k++)
			all[nall++] = days[k];
		return PointerGetDatum(crm_days_array(all, nall));
	}

	elems = palloc(sizeof(Datum) * (n + ndays + 1));
	while (i < n || j < ndays)
	{
		if (j >= ndays || (i < n && old[i] < days[j]))
			elems[nall++] = DateADTGetDatum(old[i++]);
		else
		{
			if (i < n && old[i] == days[j])
				i++;
			elems[nall++] = DateADTGetDatum(days[j++]);
		}
	}
	if (nall == n)
		return PointerGetDatum(a);
	return PointerGetDatum(construct_array(elems, nall, DATEOID, sizeof(DateADT),
										   true, TYPALIGN_INT));
}

/* The first day of a date[], or false when it has none (SQL's a[1]) */
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

/* Fold new orders into the figures of values/nulls */
static void
add_delta(Fold *fold, Datum *values, bool *nulls, const TrackDelta *delta)
{
	DateADT		old_first;
	bool		had_day;

	VALUE(COL_REVENUE) = add_numeric(VALUE(COL_REVENUE),
									 crm_track_sum_value(&delta->revenue));
	if (delta->orders == 0)
		return;
	VALUE(COL_ORDERS) = Int64GetDatum(DatumGetInt64(VALUE(COL_ORDERS)) + delta->orders);
	VALUE(COL_PROMO_ORDERS) = Int64GetDatum(DatumGetInt64(VALUE(COL_PROMO_ORDERS)) +
											delta->promo_orders);
	/* least() and greatest() skip NULLs */
	if (ISNULL(COL_FIRST_AT) || delta->first_at < DatumGetTimestampTz(VALUE(COL_FIRST_AT)))
		VALUE(COL_FIRST_AT) = TimestampTzGetDatum(delta->first_at);
	if (ISNULL(COL_LAST_AT) || delta->last_at > DatumGetTimestampTz(VALUE(COL_LAST_AT)))
		VALUE(COL_LAST_AT) = TimestampTzGetDatum(delta->last_at);
	ISNULL(COL_FIRST_AT) = ISNULL(COL_LAST_AT) = false;

	/* the first day's revenue: the new orders' when they start earlier */
	had_day = first_day(VALUE(COL_PURCHASE_DAYS), &old_first);
	if (!had_day || delta->days[0] < old_first)
		VALUE(COL_FIRST_DAY_REVENUE) =
			NumericGetDatum(crm_track_sum_value(&delta->first_day_revenue));
	else if (delta->days[0] == old_first)
		VALUE(COL_FIRST_DAY_REVENUE) =
			add_numeric(VALUE(COL_FIRST_DAY_REVENUE),
						crm_track_sum_value(&delta->first_day_revenue));
	VALUE(COL_PURCHASE_DAYS) = union_days(VALUE(COL_PURCHASE_DAYS), delta->days,
										  delta->ndays);
}

/* The figures of a customer without orders */
static void
set_no_orders(Fold *fold, Datum *values, bool *nulls)
{
	VALUE(COL_ORDERS) = Int64GetDatum(0);
	VALUE(COL_REVENUE) = NumericGetDatum(int64_to_numeric(0));
	VALUE(COL_PROMO_ORDERS) = Int64GetDatum(0);
	ISNULL(COL_FIRST_AT) = ISNULL(COL_LAST_AT) = true;
	VALUE(COL_PURCHASE_DAYS) = PointerGetDatum(construct_empty_array(DATEOID));
	VALUE(COL_FIRST_DAY_REVENUE) = NumericGetDatum(int64_to_numeric(0));
	ISNULL(COL_ORDERS) = ISNULL(COL_REVENUE) = ISNULL(COL_PROMO_ORDERS) = false;
	ISNULL(COL_PURCHASE_DAYS) = ISNULL(COL_FIRST_DAY_REVENUE) = false;
}

/* Set the figures of values/nulls to those recomputed from the orders */
static void
set_figures(Fold *fold, Datum *values, bool *nulls, const Figures *figures)
{
	if (!figures->found)
	{
		set_no_orders(fold, values, nulls);
		return;
	}
	VALUE(COL_ORDERS) = Int64GetDatum(figures->orders);
	VALUE(COL_REVENUE) = NumericGetDatum(figures->revenue);
	VALUE(COL_PROMO_ORDERS) = Int64GetDatum(figures->promo_orders);
	VALUE(COL_FIRST_AT) = TimestampTzGetDatum(figures->first_at);
	ISNULL(COL_FIRST_AT) = figures->first_null;
	VALUE(COL_LAST_AT) = TimestampTzGetDatum(figures->last_at);
	ISNULL(COL_LAST_AT) = figures->last_null;
	VALUE(COL_PURCHASE_DAYS) = figures->purchase_days;
	VALUE(COL_FIRST_DAY_REVENUE) = NumericGetDatum(figures->first_day_revenue);
}

/*
 * Points, tier, stage and time of a row whose figures are set, from the
 * revenue and tier it had before (old_revenue, old_tier)
 */
static void
set_statuses(Fold *fold, Datum *values, bool *nulls, Datum old_revenue,
			 int old_tier)
{
	const TrackConfig *config = &fold->config;
	Numeric		rate = config->tier_rates[old_tier];
	int			tier_index;
	int64		orders = DatumGetInt64(VALUE(COL_ORDERS));

	/*
	 * points, at the rate of the tier held before: (change in revenue) *
	 * points_per_unit * multiplier, the product of the last two taken once
	 */
	if (rate != NULL && !ISNULL(COL_POINTS))
	{
		Datum		change = DirectFunctionCall2(numeric_sub, VALUE(COL_REVENUE),
												 old_revenue);

		if (!config->tier_rate_one[old_tier])
			change = DirectFunctionCall2(numeric_mul, change, NumericGetDatum(rate));
		VALUE(COL_POINTS) = DirectFunctionCall2(numeric_add, VALUE(COL_POINTS), change);
	}

	/* tier by revenue; no thresholds yet: everyone is small */
	tier_index = config->thresholds == NULL ? CRM_TIER_SMALL :
		crm_tier_of_value(crm_track_revenue_float(DatumGetNumeric(VALUE(COL_REVENUE))),
						  config->thresholds);
	VALUE(COL_TIER) = fold->tiers->labels[tier_index];
	ISNULL(COL_TIER) = false;

	/* the stage as the orders leave it, judged at as_of or the last order */
	if (orders == 0)
		VALUE(COL_LIFECYCLE) = fold->stages->labels[CRM_STAGE_PROSPECT];
	else
	{
		TimestampTz first_at = DatumGetTimestampTz(VALUE(COL_FIRST_AT));
		TimestampTz last_at = DatumGetTimestampTz(VALUE(COL_LAST_AT));
		TimestampTz as_of = config->has_as_of ? config->as_of : fold->now;

		VALUE(COL_LIFECYCLE) =
			fold->stages->labels[crm_lifecycle_of(orders, first_at, last_at,
												  Max(as_of, last_at),
												  &crm_lifecycle_defaults)];
	}
	ISNULL(COL_LIFECYCLE) = false;

	/* the loyalty type, as crm_state_trigger would set it */
	if (fold->sets_loyalty)
	{
		VALUE(COL_LOYALTY) =
			fold->loyalties->labels[crm_track_row_loyalty(values, nulls,
														  fold->loyalty_attnums,
														  fold->promo_tracked,
														  false)];
		ISNULL(COL_LOYALTY) = false;
	}

	VALUE(COL_UPDATED_AT) = TimestampTzGetDatum(fold->now);
	ISNULL(COL_UPDATED_AT) = false;
}

/* The statuses of a state row as labels */
static void
statuses_of(Fold *fold, TupleTableSlot *slot, const char **labels)
{
	labels[0] = slot_label(slot, fold->attnums[COL_TIER], fold->tiers);
	labels[1] = slot_label(slot, fold->attnums[COL_LOYALTY], fold->loyalties);
	labels[2] = slot_label(slot, fold->attnums[COL_LIFECYCLE], fold->stages);
}

/*
 * Insert a new customer's row: with the figures of its new orders, or
 * (recompute) empty, to be recomputed once the chunk is locked.  Columns
 * crm does not set get their defaults.
 */
static void
insert_row(Fold *fold, const TrackChange *change, bool recompute,
		   TupleTableSlot *slot)
{
	Datum	   *values = slot->tts_values;
	bool	   *nulls = slot->tts_isnull;
	bool	   *filled = recompute ? NULL : fold->filled;

	ExecClearTuple(slot);
	if (recompute)
	{
		filled = palloc0(sizeof(bool) * fold->desc->natts);
		filled[fold->attnums[COL_CUSTOMER] - 1] = true;
	}
	crm_track_table_fill_defaults(&fold->state, slot, filled);
	VALUE(COL_CUSTOMER) = change->customer;
	ISNULL(COL_CUSTOMER) = false;
	if (!recompute)
	{
		set_no_orders(fold, values, nulls);
		VALUE(COL_POINTS) = NumericGetDatum(int64_to_numeric(0));
		ISNULL(COL_POINTS) = false;
		VALUE(COL_LOYALTY) = fold->loyalties->labels[CRM_LOYALTY_NONE];
		ISNULL(COL_LOYALTY) = false;
		if (change->has_delta)
			add_delta(fold, values, nulls, &change->delta);
		set_statuses(fold, values, nulls, NumericGetDatum(int64_to_numeric(0)),
					 CRM_TIER_SMALL);
	}
	ExecStoreVirtualTuple(slot);
	ExecSimpleRelationInsert(fold->state.result_rel, fold->state.estate, slot);
	ResetPerTupleExprContext(fold->state.estate);
	if (!recompute)
	{
		const char *now[TRACK_NUM_STATUSES];

		statuses_of(fold, slot, now);
		crm_track_recorder_add(fold->recorder, change->customer,
							   crm_track_status_starts, now);
		fold->written++;
	}
}

/*
 * Lock the customer's row, or insert it; which of the two it was.  A row
 * inserted with the customer's new orders is done; one to recompute is
 * inserted empty.
 */
static RowState
lock_or_insert(Fold *fold, const TrackChange *change, TupleTableSlot *slot)
{
	for (;;)
	{
		LOCKTAG		tag;

		switch (lock_row(fold, change->customer, slot))
		{
			case LOCK_TAKEN:
				return ROW_LOCKED;
			case LOCK_BUSY:
				return ROW_BUSY;
			case LOCK_MISSING:
				break;
		}
		key_lock_tag(fold, change->customer, &tag);
		if (LockAcquire(&tag, ExclusiveLock, false, fold->no_wait) == LOCKACQUIRE_NOT_AVAIL)
			return ROW_BUSY;
		if (row_exists(fold, change->customer, slot))
		{
			/* another transaction inserted it meanwhile: wait for that one */
			LockRelease(&tag, ExclusiveLock, false);
			continue;
		}
		insert_row(fold, change, change->recompute, slot);
		LockRelease(&tag, ExclusiveLock, false);
		return change->recompute ? ROW_INSERTED_EMPTY : ROW_INSERTED;
	}
}

/*
 * Recompute the figures of the chunk's customers marked so, from the
 * orders as a snapshot taken now sees them (after their rows are locked)
 */
static void
recompute(Fold *fold, TrackChange *changes, int n, MemoryContext context)
{
	TrackKeyType *key = &fold->entry->key;
	Datum	   *keys = palloc(sizeof(Datum) * n);
	int			nkeys = 0;
	Datum		array;
	Snapshot	snapshot;
	int			ret;
	int			next = 0;
	int16		typlen;
	bool		typbyval;
	char		typalign;

	for (int i = 0; i < n; i++)
	{
		fold->figures[i].found = false;
		if (changes[i].recompute)
			keys[nkeys++] = changes[i].customer;
	}
	if (nkeys == 0)
		return;
	get_typlenbyvalalign(key->type, &typlen, &typbyval, &typalign);
	array = PointerGetDatum(construct_array(keys, nkeys, key->type, typlen,
											typbyval, typalign));
	if (fold->recompute_plan == NULL)
		fold->recompute_plan = crm_track_plan(fold->entry, TRACK_SQL_RECOMPUTE);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ret = SPI_execute_snapshot(fold->recompute_plan, &array, NULL, snapshot,
							   InvalidSnapshot, true, false, 0);
	/* SPI leaves its own context current */
	MemoryContextSwitchTo(context);
	UnregisterSnapshot(snapshot);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));

	/* the rows come in key order, as the chunk */
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		HeapTuple	row = SPI_tuptable->vals[r];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		customer = SPI_getbinval(row, desc, 1, &isnull);
		int			cmp = 1;
		Figures    *f;
		MemoryContext old;

		while (next < n &&
			   (!changes[next].recompute ||
				(cmp = crm_track_key_compare(key, changes[next].customer, customer)) < 0))
			next++;
		if (next >= n || cmp != 0)
			elog(ERROR, "recomputed customer not in the chunk");
		f = &fold->figures[next];
		old = MemoryContextSwitchTo(context);
		f->found = true;
		f->orders = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
		f->revenue = DatumGetNumeric(datumCopy(SPI_getbinval(row, desc, 3, &isnull),
											   false, -1));
		f->promo_orders = DatumGetInt64(SPI_getbinval(row, desc, 4, &isnull));
		f->first_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 5, &f->first_null));
		f->last_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 6, &f->last_null));
		f->purchase_days = datumCopy(SPI_getbinval(row, desc, 7, &isnull), false, -1);
		f->first_day_revenue = DatumGetNumeric(datumCopy(SPI_getbinval(row, desc, 8, &isnull),
														 false, -1));
		MemoryContextSwitchTo(old);
		next++;
	}
	SPI_freetuptable(SPI_tuptable);
	MemoryContextSwitchTo(context);
}

/* Write the new figures of a locked (or empty new) row */
static void
write_row(Fold *fold, const TrackChange *change, TupleTableSlot *old_slot,
		  const Figures *figures)
{
	TupleTableSlot *new_slot = fold->new_slot;
	Datum	   *values = new_slot->tts_values;
	bool	   *nulls = new_slot->tts_isnull;
	const char *was[TRACK_NUM_STATUSES];
	const char *now[TRACK_NUM_STATUSES];
	Datum		old_revenue;
	int			old_tier;

	slot_getallattrs(old_slot);
	ExecClearTuple(new_slot);
	memcpy(values, old_slot->tts_values, sizeof(Datum) * fold->desc->natts);
	memcpy(nulls, old_slot->tts_isnull, sizeof(bool) * fold->desc->natts);
	old_revenue = VALUE(COL_REVENUE);
	old_tier = ISNULL(COL_TIER) ? CRM_TIER_SMALL :
		label_index(fold->tiers, VALUE(COL_TIER));
	statuses_of(fold, old_slot, was);

	if (change->recompute)
		set_figures(fold, values, nulls, figures);
	else if (change->has_delta)
		add_delta(fold, values, nulls, &change->delta);
	set_statuses(fold, values, nulls, old_revenue, old_tier);
	ExecStoreVirtualTuple(new_slot);

	ExecSimpleRelationUpdate(fold->state.result_rel, fold->state.estate,
							 &fold->epqstate, old_slot, new_slot);

	/*
	 * A BEFORE trigger that returns NULL skips the update, as for an UPDATE
	 * statement: then nothing changed (the update sets new_slot's TID).
	 * BEFORE triggers (crm_state_trigger among them, when it was not left
	 * out) may have changed the loyalty type of new_slot.
	 */
	if (ItemPointerIsValid(&new_slot->tts_tid))
	{
		statuses_of(fold, new_slot, now);
		crm_track_recorder_add(fold->recorder, change->customer, was, now);
		fold->written++;
	}
	ResetPerTupleExprContext(fold->state.estate);
}

/*
 * The state table's columns the fold sets, as an UPDATE's SET list names
 * them: all but the customer (the loyalty type too, whether the fold or
 * crm_state_trigger sets it)
 */
static Bitmapset *
updated_columns(Fold *fold)
{
	Bitmapset  *cols = NULL;

	for (int i = 0; i < NUM_COLS; i++)
		if (i != COL_CUSTOMER)
			cols = bms_add_member(cols,
								  fold->attnums[i] - FirstLowInvalidHeapAttributeNumber);
	return cols;
}

/* Reset every customer to no orders: the whole table was truncated */
static void
reset_all(Fold *fold)
{
	SPIPlanPtr	plan = crm_track_plan(fold->entry, TRACK_SQL_TRUNCATE);
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	int			ret;

	ret = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot,
							   false, true, 0);
	UnregisterSnapshot(snapshot);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	fold->written += SPI_processed;
}

/* Lock, recompute and write one chunk of customers, in key order */
static void
fold_chunk(Fold *fold, TrackChange *changes, int n, MemoryContext context)
{
	bool		any_recompute = false;
	int			nbusy = 0;

	for (int i = 0; i < n; i++)
	{
		if (fold->old_slots[i] == NULL)
		{
			/* kept for the next chunks: with the executor state */
			MemoryContext old = MemoryContextSwitchTo(fold->state.estate->es_query_cxt);

			fold->old_slots[i] = table_slot_create(fold->state.rel,
												   &fold->state.estate->es_tupleTable);
			MemoryContextSwitchTo(old);
		}
		fold->row_states[i] = lock_or_insert(fold, &changes[i], fold->old_slots[i]);
		any_recompute |= changes[i].recompute;
		if (fold->row_states[i] == ROW_BUSY)
			nbusy++;
	}
	/* the customers others hold are folded later, from the orders */
	if (nbusy > 0)
	{
		TrackChange *busy = palloc(sizeof(TrackChange) * nbusy);
		int			j = 0;

		for (int i = 0; i < n; i++)
			if (fold->row_states[i] == ROW_BUSY)
				busy[j++] = changes[i];
		crm_track_defer(fold->entry, busy, nbusy);
	}
	/* the new rows are written over next, as the next command */
	crm_track_table_next_command(&fold->state);
	if (any_recompute)
		recompute(fold, changes, n, context);
	for (int i = 0; i < n; i++)
		if (fold->row_states[i] == ROW_LOCKED || fold->row_states[i] == ROW_INSERTED_EMPTY)
			write_row(fold, &changes[i], fold->old_slots[i], &fold->figures[i]);
	for (int i = 0; i < n; i++)
		ExecClearTuple(fold->old_slots[i]);
}

static void fold_changes(Fold *fold, TrackChange *changes, int n, bool reset,
						 MemoryContext context);

/*
 * Whether this transaction gave the orders shard of a shard group a new
 * file, as TRUNCATE does
 */
static bool
shard_truncated(TrackEntry *entry)
{
	Relation	rel = table_open(entry->orders_relid, AccessShareLock);
	bool		truncated = rel->rd_newRelfilenodeSubid != InvalidSubTransactionId ||
		rel->rd_createSubid != InvalidSubTransactionId;

	table_close(rel, NoLock);
	return truncated;
}

/*
 * Fold a tracking's changes (n, sorted by key; reset: truncated first)
 * into its state; the number of rows written.
 */
uint64
crm_track_fold(TrackEntry *entry, TrackChange *changes, int n, bool reset)
{
	Fold	   *fold = palloc0(sizeof(Fold));
	MemoryContext context = CurrentMemoryContext;
	TrackIdentity identity;
	bool		needs_sql = reset;
	int			nestlevel;

	/* a change a truncation emptied changes nothing */
	{
		int			kept = 0;

		for (int i = 0; i < n; i++)
			if (changes[i].recompute || changes[i].has_delta)
				changes[kept++] = changes[i];
		n = kept;
	}
	for (int i = 0; i < n && !needs_sql; i++)
		needs_sql = changes[i].recompute;

	/*
	 * An orders shard this transaction truncated (through the coordinator,
	 * which reset the state then; see trigger.c): whatever it wrote is
	 * recomputed from what the orders hold now
	 */
	if (entry->shard != 0 && shard_truncated(entry))
		for (int i = 0; i < n; i++)
			changes[i].recompute = needs_sql = true;

	/*
	 * A shard group on a Citus node: crm_refresh on the coordinator locks
	 * the state table on every node, and the fold of a transaction being
	 * prepared there may not wait for it (deferred.c)
	 */
	fold->no_wait = crm_track_fold_no_wait && entry->shard != 0 && !reset;
	if (entry->shard != 0)
	{
		if (!fold->no_wait)
			LockRelationOid(entry->shell_state_relid, RowExclusiveLock);
		else if (!ConditionalLockRelationOid(entry->shell_state_relid, RowExclusiveLock))
		{
			crm_track_defer(entry, changes, n);
			return 0;
		}
	}

	fold->entry = entry;
	fold->now = GetCurrentTransactionStartTimestamp();
	crm_track_become(entry->owner, &identity);

	/*
	 * SQL runs with a safe search_path and the tracking's time zone; so do
	 * triggers of the user's on the state and history, run as the owner.
	 * Without either, the C below reads no setting.
	 */
	nestlevel = (needs_sql || entry->foreign_triggers) ?
		crm_track_use_settings(needs_sql ? entry->info->time_zone_name : NULL) : -1;
	/* at commit no statement has a snapshot: triggers on the state need one */
	PushActiveSnapshot(GetLatestSnapshot());
	if (needs_sql)
		SPI_connect();
	MemoryContextSwitchTo(context);

	/*
	 * Customers recomputed read the orders table, every partition of it:
	 * take those locks before any state row, so that a transaction holding
	 * a partition (a TRUNCATE of it) and waiting for a state row this one
	 * holds cannot be waited for in turn
	 */
	if (needs_sql)
		(void) find_all_inheritors(entry->orders_relid, AccessShareLock, NULL);

	/* waits for a crm_refresh under way to commit */
	crm_track_table_open(&fold->state, entry->state_relid);
	fold->config = *crm_track_config(entry);
	/* untracked meanwhile, or a restore loading what the state holds */
	if (fold->config.found &&
		!(fold->config.restoring && crm_track_restore_session()))
	{
		if (fold->config.restoring)
			crm_track_clear_restoring(entry);
		MemoryContextSwitchTo(context);
		fold_changes(fold, changes, n, reset, context);
	}
	crm_track_table_close(&fold->state);
	if (needs_sql)
		SPI_finish();
	PopActiveSnapshot();
	if (nestlevel >= 0)
		crm_track_restore_settings(nestlevel);
	crm_track_restore_identity(&identity);
	MemoryContextSwitchTo(context);
	return fold->written;
}

/* The fold of crm_track_fold, the state table open and the settings read */
static void
fold_changes(Fold *fold, TrackChange *changes, int n, bool reset,
			 MemoryContext context)
{
	MemoryContext chunk_context;
	const Trigger *trigger;

	fold->desc = RelationGetDescr(fold->state.rel);
	crm_track_table_columns(&fold->state, column_names, NUM_COLS, fold->attnums);
	fold->filled = palloc0(sizeof(bool) * fold->desc->natts);
	for (int i = 0; i < NUM_COLS; i++)
		fold->filled[fold->attnums[i] - 1] = true;
	find_key_index(fold);
	fold->tiers = enum_labels(&tier_labels,
							  TupleDescAttr(fold->desc, fold->attnums[COL_TIER] - 1)->atttypid,
							  crm_tier_labels, CRM_NUM_TIERS);
	fold->stages = enum_labels(&stage_labels,
							   TupleDescAttr(fold->desc, fold->attnums[COL_LIFECYCLE] - 1)->atttypid,
							   crm_lifecycle_labels, CRM_NUM_STAGES);
	fold->loyalties = enum_labels(&loyalty_labels,
								  TupleDescAttr(fold->desc, fold->attnums[COL_LOYALTY] - 1)->atttypid,
								  crm_loyalty_labels, CRM_NUM_LOYALTY);

	/*
	 * The loyalty type is set here, and crm_state_trigger left out, unless
	 * a BEFORE row trigger of the user's wants to see the rows as an UPDATE
	 * statement makes them: the trigger manager would fetch and lock each
	 * updated row a second time to pass it to the trigger.
	 */
	trigger = crm_track_table_skip_trigger(&fold->state, crm_state_trigger);
	fold->sets_loyalty = trigger != NULL;
	if (fold->sets_loyalty)
	{
		fold->promo_tracked = crm_track_promo_trigger(trigger);
		crm_track_table_columns(&fold->state, crm_track_loyalty_columns,
								TRACK_LOYALTY_NUM_COLUMNS, fold->loyalty_attnums);
	}
	/* the columns set, for UPDATE OF triggers and the row lock's strength */
	crm_track_table_set_updated(&fold->state, updated_columns(fold));
	fold->new_slot = table_slot_create(fold->state.rel, &fold->state.estate->es_tupleTable);
	EvalPlanQualInit(&fold->epqstate, fold->state.estate, NULL, NIL, -1);
	fold->recorder = crm_track_recorder_begin(fold->entry, fold->config.notify);

	if (reset)
		reset_all(fold);
	MemoryContextSwitchTo(context);

	/* most folds are of a few customers: no room for a whole chunk */
	fold->old_slots = palloc0(sizeof(TupleTableSlot *) * Min(n, FOLD_CHUNK));
	fold->row_states = palloc(sizeof(RowState) * Min(n, FOLD_CHUNK));
	fold->figures = palloc(sizeof(Figures) * Min(n, FOLD_CHUNK));

	chunk_context = AllocSetContextCreate(context, "crm fold chunk",
										  ALLOCSET_DEFAULT_SIZES);
	for (int start = 0; start < n; start += FOLD_CHUNK)
	{
		MemoryContextSwitchTo(chunk_context);
		fold_chunk(fold, changes + start, Min(FOLD_CHUNK, n - start), chunk_context);
		MemoryContextSwitchTo(context);
		MemoryContextReset(chunk_context);
	}

	EvalPlanQualEnd(&fold->epqstate);
	crm_track_recorder_end(fold->recorder);
}
