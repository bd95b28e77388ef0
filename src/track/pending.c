/*
 * pending.c
 *		The changes a transaction makes to tracked orders, per customer,
 *		kept until the transaction commits and folded into the state then.
 *
 * Why at commit: a state row written by a statement stays locked until the
 * transaction ends.  Two transactions ordering for customers 1 then 2 and 2
 * then 1 would each hold one row and wait for the other -- a deadlock the
 * same orders on an untracked table never have.  Folding at commit takes
 * every customer of the transaction at once, in key order (fold.c), as
 * every other committing transaction does, so they cannot deadlock on the
 * state, and the rows stay locked only while the commit runs.  The fold is
 * commutative (counts and sums add, first and last orders are a minimum
 * and a maximum, days a union), so transactions that commit in either
 * order leave the same state.
 *
 * Each statement's changes form a batch: the new orders of each customer
 * summed up (delta.c), or, for customers an UPDATE or DELETE touched, a
 * mark to recompute them from the orders at commit -- which also covers
 * whatever else the transaction did to them, so a statement that both
 * inserts and updates a customer's orders (INSERT ... ON CONFLICT DO
 * UPDATE, MERGE, a writable CTE, a trigger of the user's) counts each order
 * once.  A TRUNCATE of the whole table resets everyone first.  Batches
 * remember the subtransaction that made them, so ROLLBACK TO SAVEPOINT
 * drops them, and a fold inside a subtransaction (crm_fold, crm_verify)
 * is undone with it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/lsyscache.h"
#include "utils/datum.h"
#include "utils/snapmgr.h"
#include "utils/memutils.h"

#include "track.h"

/* One statement's changes to one tracking */
typedef struct PendingBatch
{
	int32		id;				/* the tracking */
	int64		shard;			/* and its shard group, on a Citus node */
	Oid			ext_namespace;
	Oid			tracking_relid; /* the crm_tracking it belongs to */
	Oid			key_type;		/* of its customers */
	int			level;			/* nest level of the subtransaction that made it */
	int			folded_level;	/* 0: pending; else the level that folded it */
	bool		reset;			/* the whole table was truncated first */
	int			n;
	TrackChange *changes;
} PendingBatch;

/*
 * Whether the folds of a Citus node's shard groups may not wait: while
 * this transaction prepares for two-phase commit (see deferred.c)
 */
bool		crm_track_fold_no_wait = false;

/* The batches of this transaction, oldest first, in pending_context */
static MemoryContext pending_context = NULL;
static List *batches = NIL;

/*
 * Changes per customer: a hash table keyed by the customer as the state
 * table's key compares them, over an array of changes in order of arrival
 */
struct TrackChangeSet
{
	TrackEntry *entry;
	MemoryContext context;		/* where the changes live */
	int			n;
	int			capacity;
	TrackChange *changes;
	uint32	   *hashes;
	int			nbuckets;		/* a power of 2, at least twice n */
	int		   *buckets;		/* index + 1 of a change, 0 when empty */
};

static MemoryContext
get_pending_context(void)
{
	if (pending_context == NULL)
		pending_context = AllocSetContextCreate(TopTransactionContext,
												"crm pending changes",
												ALLOCSET_DEFAULT_SIZES);
	return pending_context;
}

static TrackChangeSet *
changes_create(TrackEntry *entry, MemoryContext context)
{
	TrackChangeSet *set = MemoryContextAllocZero(context, sizeof(TrackChangeSet));

	set->entry = entry;
	set->context = context;
	set->capacity = 8;
	set->changes = MemoryContextAlloc(context, sizeof(TrackChange) * set->capacity);
	set->hashes = MemoryContextAlloc(context, sizeof(uint32) * set->capacity);
	set->nbuckets = 16;
	set->buckets = MemoryContextAllocZero(context, sizeof(int) * set->nbuckets);
	return set;
}

/* A set for the changes one statement makes to a tracking */
TrackChangeSet *
crm_track_changes_begin(TrackEntry *entry)
{
	return changes_create(entry, get_pending_context());
}

static void
grow_buckets(TrackChangeSet *set)
{
	int			nbuckets = set->nbuckets * 2;
	int		   *buckets = MemoryContextAllocZero(set->context, sizeof(int) * nbuckets);

	for (int i = 0; i < set->n; i++)
	{
		uint32		b = set->hashes[i] & (nbuckets - 1);

		while (buckets[b] != 0)
			b = (b + 1) & (nbuckets - 1);
		buckets[b] = i + 1;
	}
	pfree(set->buckets);
	set->buckets = buckets;
	set->nbuckets = nbuckets;
}

/* Where a set's changes live: their deltas are built there */
MemoryContext
crm_track_changes_context(TrackChangeSet *set)
{
	return set->context;
}

/* The change of a customer, new (and empty) if the set has none yet */
TrackChange *
crm_track_changes_get(TrackChangeSet *set, Datum customer)
{
	const TrackKeyType *key = &set->entry->key;
	uint32		hash = crm_track_key_hash(key, customer);
	uint32		b = hash & (set->nbuckets - 1);
	TrackChange *change;

	while (set->buckets[b] != 0)
	{
		int			i = set->buckets[b] - 1;

		if (set->hashes[i] == hash &&
			crm_track_key_equal(key, set->changes[i].customer, customer))
			return &set->changes[i];
		b = (b + 1) & (set->nbuckets - 1);
	}

	if (set->n == set->capacity)
	{
		set->capacity *= 2;
		set->changes = repalloc(set->changes, sizeof(TrackChange) * set->capacity);
		set->hashes = repalloc(set->hashes, sizeof(uint32) * set->capacity);
	}
	change = &set->changes[set->n];
	memset(change, 0, sizeof(TrackChange));
	{
		/* copied where the set lives */
		MemoryContext old = MemoryContextSwitchTo(set->context);

		change->customer = datumCopy(customer, key->typbyval, key->typlen);
		MemoryContextSwitchTo(old);
	}
	set->hashes[set->n] = hash;
	set->buckets[b] = ++set->n;
	if (set->n * 2 > set->nbuckets)
		grow_buckets(set);
	return change;
}

/*
 * The statement is over: keep its changes until commit, as a batch of the
 * current subtransaction; "reset" when it truncated the whole table first
 */
void
crm_track_changes_end(TrackChangeSet *set, bool reset)
{
	MemoryContext old;
	PendingBatch *batch;

	pfree(set->buckets);
	pfree(set->hashes);
	if (set->n == 0 && !reset)
	{
		pfree(set->changes);
		pfree(set);
		return;
	}
	old = MemoryContextSwitchTo(get_pending_context());
	batch = palloc0(sizeof(PendingBatch));
	batch->id = set->entry->id;
	batch->shard = set->entry->shard;
	batch->ext_namespace = set->entry->ext_namespace;
	batch->tracking_relid = set->entry->tracking_relid;
	batch->key_type = set->entry->key.type;
	batch->level = GetCurrentTransactionNestLevel();
	batch->reset = reset;
	batch->n = set->n;
	batch->changes = set->changes;
	batches = lappend(batches, batch);
	MemoryContextSwitchTo(old);
	pfree(set);
}

/*
 * Mark the customers a query returns (one column, of the customer key) to
 * be recomputed: run as the latest snapshot sees the tables, also in
 * REPEATABLE READ, so that an order committed since the transaction began
 * goes with the rest when the table its query reads leaves the tracked
 * table or is truncated.  The caller is connected to SPI and holds the
 * lock of the change on the table the query reads.
 */
void
crm_track_recompute_customers(TrackChangeSet *set, const char *sql)
{
	SPIPlanPtr	plan = SPI_prepare(sql, 0, NULL);
	Snapshot	snapshot;
	int			ret;

	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ret = SPI_execute_snapshot(plan, NULL, NULL, snapshot, InvalidSnapshot, true, false, 0);
	UnregisterSnapshot(snapshot);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		customer = SPI_getbinval(SPI_tuptable->vals[i],
											 SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			crm_track_changes_get(set, customer)->recompute = true;
	}
	SPI_freeplan(plan);
}

/* Sort changes by key, with the key type of the tracking being folded */
static const TrackKeyType *sort_key;

static int
change_cmp(const void *a, const void *b)
{
	return crm_track_key_compare(sort_key,
								 ((const TrackChange *) a)->customer,
								 ((const TrackChange *) b)->customer);
}

/* Sort changes by key, the order the fold takes customers in */
void
crm_track_sort_changes(const TrackKeyType *key, TrackChange *changes, int n)
{
	sort_key = key;
	qsort(changes, n, sizeof(TrackChange), change_cmp);
}

/* Add one change to a customer's change in a merged set */
static void
merge_change(TrackChange *into, const TrackChange *change)
{
	if (change->recompute)
		into->recompute = true;
	if (!change->has_delta)
		return;
	if (into->has_delta)
		crm_track_delta_merge(&into->delta, &change->delta);
	else
	{
		into->delta = change->delta;
		if (change->delta.ndays > 0)
		{
			into->delta.days = palloc(sizeof(DateADT) * change->delta.maxdays);
			memcpy(into->delta.days, change->delta.days,
				   sizeof(DateADT) * change->delta.ndays);
		}
		into->has_delta = true;
	}
}

/* Fold the pending batches of one tracking, marked folded at "level" */
static uint64
fold_tracking(int32 id, int64 shard, Oid ext_namespace, Oid tracking_relid,
			  List *group, int level)
{
	MemoryContext work = AllocSetContextCreate(CurrentMemoryContext,
											   "crm fold", ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(work);
	TrackEntry *entry;
	TrackChangeSet *set;
	bool		reset = false;
	uint64		written = 0;
	ListCell   *lc;

	foreach(lc, group)
		((PendingBatch *) lfirst(lc))->folded_level = level;

	/*
	 * A tracking that is gone takes nothing: untracked, or its extension
	 * dropped (and maybe created again, numbering trackings from 1 again)
	 */
	entry = get_rel_name(tracking_relid) == NULL ? NULL :
		crm_track_entry(id, shard, ext_namespace);
	if (entry != NULL && entry->tracking_relid == tracking_relid &&
		list_length(group) == 1)
	{
		/*
		 * One statement's changes, one per customer already: sorted as they
		 * are, in a copy (the fold compacts the array it gets, and a
		 * subtransaction that fails gives the batch back)
		 */
		PendingBatch *batch = (PendingBatch *) linitial(group);
		TrackChange *changes = palloc(sizeof(TrackChange) * (batch->n + 1));

		memcpy(changes, batch->changes, sizeof(TrackChange) * batch->n);
		crm_track_sort_changes(&entry->key, changes, batch->n);
		written = crm_track_fold(entry, changes, batch->n, batch->reset);
	}
	else if (entry != NULL && entry->tracking_relid == tracking_relid)
	{
		set = changes_create(entry, work);
		foreach(lc, group)
		{
			PendingBatch *batch = (PendingBatch *) lfirst(lc);

			/* DDL folds what is pending before it changes the key's type */
			if (batch->key_type != entry->key.type)
				elog(ERROR, "pending changes of crm tracking %d have customer keys of type %u, not %u",
					 id, batch->key_type, entry->key.type);
			/* a truncation voids the new orders before it */
			if (batch->reset)
			{
				reset = true;
				for (int i = 0; i < set->n; i++)
				{
					set->changes[i].has_delta = false;
					memset(&set->changes[i].delta, 0, sizeof(TrackDelta));
				}
			}
			for (int i = 0; i < batch->n; i++)
				merge_change(crm_track_changes_get(set, batch->changes[i].customer),
							 &batch->changes[i]);
		}
		crm_track_sort_changes(&entry->key, set->changes, set->n);
		written = crm_track_fold(entry, set->changes, set->n, reset);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
	return written;
}

static int
batch_cmp(const ListCell *a, const ListCell *b)
{
	const PendingBatch *x = (const PendingBatch *) lfirst(a);
	const PendingBatch *y = (const PendingBatch *) lfirst(b);

	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	if (x->shard != y->shard)
		return (x->shard > y->shard) - (x->shard < y->shard);
	return (x->tracking_relid > y->tracking_relid) - (x->tracking_relid < y->tracking_relid);
}

/*
 * Fold what this transaction has pending into the state: every tracking
 * (only_id < 0) or one, trackings in id order.  Folding writes the state,
 * whose triggers may change more orders: so until nothing is left.  The
 * number of state rows written.
 */
uint64
crm_track_fold_pending(int32 only_id, Oid ext_namespace)
{
	int			level = GetCurrentTransactionNestLevel();
	uint64		written = 0;

	for (;;)
	{
		List	   *unfolded = NIL;
		List	   *group = NIL;
		ListCell   *lc;

		foreach(lc, batches)
		{
			PendingBatch *batch = (PendingBatch *) lfirst(lc);

			if (batch->folded_level == 0 && (only_id < 0 || batch->id == only_id))
				unfolded = lappend(unfolded, batch);
		}
		if (unfolded == NIL)
			return written;
		/* stable: a tracking's batches stay in the order they came */
		list_sort(unfolded, batch_cmp);
		foreach(lc, unfolded)
		{
			PendingBatch *batch = (PendingBatch *) lfirst(lc);

			group = lappend(group, batch);
			if (lnext(unfolded, lc) == NULL ||
				((PendingBatch *) lfirst(lnext(unfolded, lc)))->id != batch->id ||
				((PendingBatch *) lfirst(lnext(unfolded, lc)))->shard != batch->shard ||
				((PendingBatch *) lfirst(lnext(unfolded, lc)))->tracking_relid != batch->tracking_relid)
			{
				written += fold_tracking(batch->id, batch->shard, batch->ext_namespace,
										 batch->tracking_relid, group, level);
				list_free(group);
				group = NIL;
			}
		}
		list_free(unfolded);
	}
}

static void
pending_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (batches != NIL)
				(void) crm_track_fold_pending(-1, InvalidOid);
			break;
		case XACT_EVENT_PRE_PREPARE:
			/* the coordinator of a Citus cluster commits in two phases */
			if (batches != NIL)
			{
				crm_track_fold_no_wait = true;
				PG_TRY();
				{
					(void) crm_track_fold_pending(-1, InvalidOid);
				}
				PG_FINALLY();
				{
					crm_track_fold_no_wait = false;
				}
				PG_END_TRY();
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			/* the memory goes with TopTransactionContext */
			batches = NIL;
			pending_context = NULL;
			break;
		default:
			break;
	}
}

/*
 * A subtransaction that aborts takes its batches with it, and gives back
 * the batches it folded; one that commits hands both to its parent.
 */
static void
pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();
	ListCell   *lc;

	if (batches == NIL ||
		(event != SUBXACT_EVENT_ABORT_SUB && event != SUBXACT_EVENT_COMMIT_SUB))
		return;
	foreach(lc, batches)
	{
		PendingBatch *batch = (PendingBatch *) lfirst(lc);

		if (event == SUBXACT_EVENT_ABORT_SUB)
		{
			if (batch->level >= level)
				batches = foreach_delete_current(batches, lc);
			else if (batch->folded_level >= level)
				batch->folded_level = 0;
		}
		else
		{
			if (batch->level >= level)
				batch->level = level - 1;
			if (batch->folded_level >= level)
				batch->folded_level = level - 1;
		}
	}
}

void
crm_track_pending_init(void)
{
	RegisterXactCallback(pending_xact_callback, NULL);
	RegisterSubXactCallback(pending_subxact_callback, NULL);
}
