/*
 * track_history.c
 *		History rows written without SQL, for the status changes of a single
 *		order's state row (crm_track_record_row_history in track_trigger.c):
 *		the columns it fills, and the table's other columns (the identity,
 *		changed_at, transaction_id) from their defaults, evaluated as an
 *		INSERT would.
 */
#include "postgres.h"

#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "track.h"

/* The columns crm_track_record_row_history fills */
enum
{
	HIST_CUSTOMER,
	HIST_STATUS,
	HIST_OLD_VALUE,
	HIST_NEW_VALUE,
	NUM_HIST
};

static const char *const history_names[NUM_HIST] = {
	"customer", "status", "old_value", "new_value"
};

/*
 * The defaults of a history table's other columns, planned once per
 * backend (building them reads pg_depend for the identity's sequence) and
 * dropped when the table's relcache entry is invalidated, as ALTER TABLE
 * does.
 */
typedef struct HistoryDefaults
{
	Oid			relid;			/* hash key */
	MemoryContext context;		/* holds the expressions */
	int			n;
	AttrNumber *attnums;
	Expr	  **exprs;
} HistoryDefaults;

static HTAB *history_defaults = NULL;

static void
forget_history_defaults(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	HistoryDefaults *entry;

	hash_seq_init(&status, history_defaults);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (OidIsValid(relid) && entry->relid != relid)
			continue;
		MemoryContextDelete(entry->context);
		(void) hash_search(history_defaults, &entry->relid, HASH_REMOVE, NULL);
	}
}

static HistoryDefaults *
defaults_of(Relation rel, const AttrNumber *filled)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	HistoryDefaults *entry;
	MemoryContext context;
	MemoryContext old;
	bool		found;

	if (history_defaults == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(HistoryDefaults);
		history_defaults = hash_create("crm history defaults", 8, &ctl,
									   HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(forget_history_defaults, (Datum) 0);
	}
	entry = hash_search(history_defaults, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	context = AllocSetContextCreate(CacheMemoryContext, "crm history defaults",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);
	PG_TRY();
	{
		AttrNumber *attnums = palloc(sizeof(AttrNumber) * desc->natts);
		Expr	  **exprs = palloc(sizeof(Expr *) * desc->natts);
		int			n = 0;

		for (int i = 0; i < desc->natts; i++)
		{
			AttrNumber	attnum = i + 1;
			Node	   *expr;
			bool		is_filled = false;

			if (TupleDescAttr(desc, i)->attisdropped ||
				TupleDescAttr(desc, i)->attgenerated)
				continue;
			for (int j = 0; j < NUM_HIST; j++)
				is_filled |= filled[j] == attnum;
			if (is_filled || (expr = build_column_default(rel, attnum)) == NULL)
				continue;
			attnums[n] = attnum;
			exprs[n++] = expression_planner((Expr *) expr);
		}
		entry = hash_search(history_defaults, &relid, HASH_ENTER, &found);
		entry->context = context;
		entry->n = n;
		entry->attnums = attnums;
		entry->exprs = exprs;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	return entry;
}

struct TrackHistoryWriter
{
	TrackTable table;
	AttrNumber	attnums[NUM_HIST];
	int			ndefaults;
	AttrNumber *default_attnums;
	ExprState **defaults;
	TupleTableSlot *slot;
};

TrackHistoryWriter *
crm_track_history_open(const TrackTarget *target)
{
	TrackHistoryWriter *writer = palloc0(sizeof(TrackHistoryWriter));
	TupleDesc	desc;
	HistoryDefaults *defaults;

	if (!crm_track_table_open(&writer->table, target->schema,
							  target->history_name, ACL_INSERT))
	{
		pfree(writer);
		return NULL;
	}
	desc = RelationGetDescr(writer->table.rel);
	crm_track_find_columns(desc, history_names, NUM_HIST, writer->attnums,
						   RelationGetRelationName(writer->table.rel));
	/* copied: an invalidation while writing may drop the cached ones */
	defaults = defaults_of(writer->table.rel, writer->attnums);
	writer->ndefaults = defaults->n;
	writer->default_attnums = palloc(sizeof(AttrNumber) * defaults->n);
	writer->defaults = palloc(sizeof(ExprState *) * defaults->n);
	for (int i = 0; i < defaults->n; i++)
	{
		writer->default_attnums[i] = defaults->attnums[i];
		writer->defaults[i] = ExecInitExpr(copyObject(defaults->exprs[i]), NULL);
	}
	writer->slot = table_slot_create(writer->table.rel,
									 &writer->table.estate->es_tupleTable);
	return writer;
}

void
crm_track_history_insert(TrackHistoryWriter *writer, Datum customer,
						 bool customer_null, const char *status,
						 const char *old_value, const char *new_value)
{
	TupleTableSlot *slot = writer->slot;
	ExprContext *econtext = GetPerTupleExprContext(writer->table.estate);

	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, sizeof(bool) * slot->tts_tupleDescriptor->natts);
	slot->tts_values[writer->attnums[HIST_CUSTOMER] - 1] = customer;
	slot->tts_isnull[writer->attnums[HIST_CUSTOMER] - 1] = customer_null;
	slot->tts_values[writer->attnums[HIST_STATUS] - 1] = CStringGetTextDatum(status);
	slot->tts_isnull[writer->attnums[HIST_STATUS] - 1] = false;
	if (old_value != NULL)
	{
		slot->tts_values[writer->attnums[HIST_OLD_VALUE] - 1] = CStringGetTextDatum(old_value);
		slot->tts_isnull[writer->attnums[HIST_OLD_VALUE] - 1] = false;
	}
	if (new_value != NULL)
	{
		slot->tts_values[writer->attnums[HIST_NEW_VALUE] - 1] = CStringGetTextDatum(new_value);
		slot->tts_isnull[writer->attnums[HIST_NEW_VALUE] - 1] = false;
	}
	for (int i = 0; i < writer->ndefaults; i++)
	{
		AttrNumber	attnum = writer->default_attnums[i];

		slot->tts_values[attnum - 1] =
			ExecEvalExprSwitchContext(writer->defaults[i], econtext,
									  &slot->tts_isnull[attnum - 1]);
	}
	ExecStoreVirtualTuple(slot);
	ExecSimpleRelationInsert(writer->table.result_rel, writer->table.estate, slot);
	ResetPerTupleExprContext(writer->table.estate);
}

void
crm_track_history_close(TrackHistoryWriter *writer)
{
	crm_track_table_close(&writer->table);
	pfree(writer);
}
