/*
 * deferred.c
 *		Folds left for later on a Citus node, and folding them.
 *
 * When the coordinator commits a transaction that wrote on several nodes,
 * it first sends each of them PREPARE TRANSACTION, in parallel, and the
 * fold runs there (pending.c).  Were the fold to wait for a state row
 * there, two such transactions could each hold, prepared on one node, the
 * row the other waits for on another: a deadlock no node sees, and which
 * Citus' distributed deadlock detection, which knows nothing of prepared
 * transactions, never breaks.  So a fold at PREPARE never waits: a
 * customer whose row another transaction holds (or all of them, while a
 * crm_refresh holds the state) is queued in crm_deferred_folds instead,
 * and the status relay recomputes it from the orders once this
 * transaction has committed and the other has let go -- a few
 * milliseconds later, and in a transaction that writes only on this node,
 * which may wait.  A transaction on one node only commits in one phase,
 * and its fold waits as on one server.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "track.h"

#define DEFERRED_NAME "crm_deferred_folds"

/* crm_deferred_folds of the extension in ext_namespace, or InvalidOid */
Oid
crm_track_deferred_relid(Oid ext_namespace)
{
	return get_relname_relid(DEFERRED_NAME, ext_namespace);
}

/*
 * Queue customers of a shard group whose fold is left for later.  The
 * queue stays locked (RowExclusiveLock) until this transaction ends, so
 * that the relay, which leaves only once it can lock the queue in share
 * mode, is there when it commits.
 */
void
crm_track_defer(TrackEntry *entry, const TrackChange *changes, int n)
{
	Oid			relid = crm_track_deferred_relid(entry->ext_namespace);
	Relation	rel;
	Oid			output;
	bool		varlena;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (n == 0)
		return;
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg(DEFERRED_NAME " is missing from the extension's schema"),
				 errhint("Update the crm extension.")));
	rel = table_open(relid, RowExclusiveLock);
	getTypeOutputInfo(entry->key.type, &output, &varlena);
	values[0] = Int32GetDatum(entry->id);
	values[1] = Int64GetDatum(entry->shard);
	values[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	for (int i = 0; i < n; i++)
	{
		HeapTuple	tuple;

		values[2] = CStringGetTextDatum(OidOutputFunctionCall(output, changes[i].customer));
		tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		simple_heap_insert(rel, tuple);
		heap_freetuple(tuple);
	}
	table_close(rel, NoLock);
	crm_track_relay_wake();
}

/* A queued customer */
typedef struct Deferred
{
	int32		id;
	int64		shard;
	char	   *customer;
} Deferred;

static int
deferred_cmp(const void *a, const void *b)
{
	const Deferred *x = (const Deferred *) a;
	const Deferred *y = (const Deferred *) b;

	if (x->id != y->id)
		return (x->id > y->id) - (x->id < y->id);
	return (x->shard > y->shard) - (x->shard < y->shard);
}

/*
 * Fold the queued customers of one shard group: recomputed, in key order;
 * how many customers
 */
static uint64
fold_group(int32 id, int64 shard, Oid ext_namespace, Deferred *rows, int n)
{
	TrackEntry *entry = crm_track_entry(id, shard, ext_namespace);
	TrackChange *changes;
	Oid			input;
	Oid			ioparam;
	int			kept = 0;

	/* untracked meanwhile, or the shard group moved to another node */
	if (entry == NULL)
		return 0;
	getTypeInputInfo(entry->key.type, &input, &ioparam);
	changes = palloc0(sizeof(TrackChange) * n);
	for (int i = 0; i < n; i++)
	{
		changes[i].customer = OidInputFunctionCall(input, rows[i].customer, ioparam, -1);
		changes[i].recompute = true;
	}
	crm_track_sort_changes(&entry->key, changes, n);
	for (int i = 0; i < n; i++)
		if (kept == 0 ||
			crm_track_key_compare(&entry->key, changes[kept - 1].customer,
								  changes[i].customer) != 0)
			changes[kept++] = changes[i];
	(void) crm_track_fold(entry, changes, kept, false);
	return kept;
}

/*
 * Fold every customer queued in crm_deferred_folds of the extension in
 * ext_namespace, as committed transactions left them, and take them off
 * the queue; the number of customers.  In the caller's transaction, which
 * may wait for the rows (it writes on this node only).
 */
uint64
crm_track_fold_deferred(Oid ext_namespace)
{
	Oid			relid = crm_track_deferred_relid(ext_namespace);
	MemoryContext context = CurrentMemoryContext;
	Deferred   *rows;
	uint64		n;
	uint64		folded = 0;
	int			ret;

	/* only a Citus node defers; the relay of one server skips the query */
	if (!OidIsValid(relid) || !crm_track_citus_installed())
		return 0;
	SPI_connect();
	ret = SPI_execute(psprintf("DELETE FROM %s." DEFERRED_NAME
							   " RETURNING tracking_id, shard, customer",
							   quote_identifier(get_namespace_name(ext_namespace))),
					  false, 0);
	if (ret != SPI_OK_DELETE_RETURNING)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	n = SPI_processed;
	rows = MemoryContextAlloc(context, sizeof(Deferred) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		HeapTuple	row = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		rows[i].id = DatumGetInt32(SPI_getbinval(row, desc, 1, &isnull));
		rows[i].shard = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
		rows[i].customer = MemoryContextStrdup(context, SPI_getvalue(row, desc, 3));
	}
	SPI_finish();
	MemoryContextSwitchTo(context);

	qsort(rows, n, sizeof(Deferred), deferred_cmp);
	for (uint64 start = 0; start < n;)
	{
		uint64		end = start + 1;

		while (end < n && rows[end].id == rows[start].id &&
			   rows[end].shard == rows[start].shard)
			end++;
		folded += fold_group(rows[start].id, rows[start].shard, ext_namespace,
							 rows + start, (int) (end - start));
		start = end;
	}
	return folded;
}

/*
 * crm_fold_deferred() -> customers
 */
PG_FUNCTION_INFO_V1(crm_fold_deferred);
Datum
crm_fold_deferred(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64((int64) crm_track_fold_deferred(get_func_namespace(fcinfo->flinfo->fn_oid)));
}
