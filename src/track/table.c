/*
 * table.c
 *		Writing to a tracking's tables without SQL: a table opened and
 *		locked as a statement would open it to write, with an executor state
 *		to write through -- the way logical replication applies changes.
 *		Used for the state rows (fold.c) and the history rows (history.c),
 *		written as the owner of the tables (tracking.c).
 *
 * Writes through it check the table's constraints, maintain its indexes
 * and fire its row triggers (BEFORE and AFTER, UPDATE OF lists included),
 * but not its statement triggers.  Columns an insert does not fill get
 * their defaults, evaluated as an INSERT would.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "track.h"

/*
 * From PostgreSQL 16 a range table's permission details (the columns an
 * UPDATE sets among them) live apart from it, in RTEPermissionInfo nodes.
 */
#if PG_VERSION_NUM >= 160000
static void
init_range_table(EState *estate, RangeTblEntry *rte)
{
	RTEPermissionInfo *perm = makeNode(RTEPermissionInfo);

	perm->relid = rte->relid;
	rte->perminfoindex = 1;
	ExecInitRangeTable(estate, list_make1(rte), list_make1(perm));
}
#define updated_columns_of(estate) \
	(((RTEPermissionInfo *) linitial((estate)->es_rteperminfos))->updatedCols)
#else
static void
init_range_table(EState *estate, RangeTblEntry *rte)
{
	ExecInitRangeTable(estate, list_make1(rte));
}
#define updated_columns_of(estate) (exec_rt_fetch(1, (estate))->updatedCols)
#endif

static void set_up_checks(TrackTable *target);

/* Open table relid to write to it, as a statement would */
void
crm_track_table_open(TrackTable *target, Oid relid)
{
	RangeTblEntry *rte;
	TriggerDesc *trigdesc;
	MemoryContext old;

	target->rel = table_open(relid, RowExclusiveLock);
	if (target->rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(target->rel)),
				 errdetail("crm tracks into the tables crm_track created.")));

	/* as SPI does before a statement: see this transaction's changes so far */
	CommandCounterIncrement();

	target->estate = CreateExecutorState();
	old = MemoryContextSwitchTo(target->estate->es_query_cxt);
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_RELATION;
	rte->rellockmode = RowExclusiveLock;
	init_range_table(target->estate, rte);
	target->result_rel = makeNode(ResultRelInfo);
	InitResultRelInfo(target->result_rel, target->rel, 1, NULL, 0);
	/* where AFTER row triggers look for it, and ExecCloseResultRelations */
	target->estate->es_opened_result_relations =
		list_make1(target->result_rel);
	target->estate->es_output_cid = GetCurrentCommandId(true);
	ExecOpenIndices(target->result_rel, false);

	/*
	 * The row trigger functions' call info lives with the executor state:
	 * a function looked up at its first call would keep its cache
	 * (fn_extra) in whatever context was current then, which the caller may
	 * reset between rows.  (Statement triggers do not fire here.)
	 */
	trigdesc = target->result_rel->ri_TrigDesc;
	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
		if (TRIGGER_FOR_ROW(trigdesc->triggers[i].tgtype))
			fmgr_info_cxt(trigdesc->triggers[i].tgfoid,
						  &target->result_rel->ri_TrigFunctions[i],
						  target->estate->es_query_cxt);
	set_up_checks(target);
	MemoryContextSwitchTo(old);
	AfterTriggerBeginQuery();
	target->ndefaults = -1;
}

/*
 * Leave the BEFORE ROW triggers that call C function fn out of the writes,
 * when no other BEFORE ROW INSERT or UPDATE trigger is there: the caller
 * does their work itself, without the trigger manager's second fetch and
 * lock of each updated row.  The first trigger left out; NULL when none is
 * (with a trigger of the user's, every trigger fires as for a statement).
 */
const Trigger *
crm_track_table_skip_trigger(TrackTable *target, PGFunction fn)
{
	ResultRelInfo *rri = target->result_rel;
	TriggerDesc *trigdesc = rri->ri_TrigDesc;
	const Trigger *skipped = NULL;

	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		const Trigger *trigger = &trigdesc->triggers[i];

		if (!TRIGGER_FOR_ROW(trigger->tgtype) ||
			!TRIGGER_FOR_BEFORE(trigger->tgtype) ||
			!(TRIGGER_FOR_INSERT(trigger->tgtype) || TRIGGER_FOR_UPDATE(trigger->tgtype)))
			continue;
		if (rri->ri_TrigFunctions[i].fn_addr != fn)
			return NULL;
		if (skipped == NULL)
			skipped = trigger;
	}
	/* the descriptor is the executor state's own copy */
	if (skipped != NULL)
		trigdesc->trig_insert_before_row = trigdesc->trig_update_before_row = false;
	return skipped;
}

/* Fire the AFTER triggers the writes queued, and close */
void
crm_track_table_close(TrackTable *target)
{
	AfterTriggerEndQuery(target->estate);
	ExecCloseResultRelations(target->estate);
	ExecResetTupleTable(target->estate->es_tupleTable, false);
	FreeExecutorState(target->estate);
	table_close(target->rel, NoLock);
}

/*
 * The writes that follow come after rows this one wrote, which they may
 * update: as the next command of the transaction
 */
void
crm_track_table_next_command(TrackTable *target)
{
	CommandCounterIncrement();
	target->estate->es_output_cid = GetCurrentCommandId(true);
}

/*
 * Name the columns the writes set, as an UPDATE's SET list does: UPDATE OF
 * triggers fire by them, and the row lock's strength follows from them.
 */
void
crm_track_table_set_updated(TrackTable *target, Bitmapset *cols)
{
	updated_columns_of(target->estate) = cols;
}

/* Attribute number of each name in desc; an error when one is missing */
void
crm_track_find_columns(TupleDesc desc, const char *const *names, int n,
					   AttrNumber *attnums, const char *relname)
{
	for (int i = 0; i < n; i++)
	{
		attnums[i] = InvalidAttrNumber;
		for (int j = 0; j < desc->natts; j++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, j);

			if (!att->attisdropped && strcmp(NameStr(att->attname), names[i]) == 0)
			{
				attnums[i] = att->attnum;
				break;
			}
		}
		if (attnums[i] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of %s does not exist", names[i], relname),
					 errhint("crm_track creates it; do not drop it while the table is tracked.")));
	}
}

/*
 * The defaults of a table's columns and its CHECK constraints, planned once
 * per backend (building the defaults reads pg_attrdef, and pg_depend for an
 * identity's sequence; the executor would plan each constraint again for
 * every executor state, that is every fold), and the attribute numbers of
 * the lists of column names the writers look up (crm_track_table_columns);
 * dropped when the table's relcache entry is invalidated, as ALTER TABLE
 * does.
 */
#define MAX_LOOKUP_COLUMNS 16

typedef struct ColumnLookup
{
	const char *const *names;	/* a caller's static array: known by address */
	AttrNumber	attnums[MAX_LOOKUP_COLUMNS];
} ColumnLookup;

typedef struct TableDefaults
{
	Oid			relid;			/* hash key */
	MemoryContext context;		/* holds the expressions and lookups */
	Expr	  **exprs;			/* by attribute number - 1; NULL: none */
	int			nchecks;
	Expr	  **checks;			/* as the relcache's constr->check */
	List	   *lookups;		/* of ColumnLookup */
} TableDefaults;

static HTAB *table_defaults = NULL;

static void
forget_table_defaults(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	TableDefaults *entry;

	hash_seq_init(&status, table_defaults);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (OidIsValid(relid) && entry->relid != relid)
			continue;
		MemoryContextDelete(entry->context);
		(void) hash_search(table_defaults, &entry->relid, HASH_REMOVE, NULL);
	}
}

static TableDefaults *
defaults_of(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	TableDefaults *entry;
	MemoryContext context;
	MemoryContext old;
	Expr	  **exprs;
	Expr	  **checks;
	int			nchecks;
	bool		found;

	if (table_defaults == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TableDefaults);
		table_defaults = hash_create("crm table defaults", 8, &ctl,
									 HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(forget_table_defaults, (Datum) 0);
	}
	entry = hash_search(table_defaults, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	context = AllocSetContextCreate(CacheMemoryContext, "crm table defaults",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);
	PG_TRY();
	{
		exprs = palloc0(sizeof(Expr *) * desc->natts);
		for (int i = 0; i < desc->natts; i++)
		{
			Node	   *expr;

			if (TupleDescAttr(desc, i)->attisdropped ||
				TupleDescAttr(desc, i)->attgenerated)
				continue;
			expr = build_column_default(rel, i + 1);
			if (expr != NULL)
				exprs[i] = expression_planner((Expr *) expr);
		}
		nchecks = desc->constr != NULL ? desc->constr->num_check : 0;
		checks = palloc(sizeof(Expr *) * Max(nchecks, 1));
		for (int i = 0; i < nchecks; i++)
			checks[i] = expression_planner(stringToNode(desc->constr->check[i].ccbin));
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	entry = hash_search(table_defaults, &relid, HASH_ENTER, &found);
	entry->context = context;
	entry->exprs = exprs;
	entry->nchecks = nchecks;
	entry->checks = checks;
	entry->lookups = NIL;
	return entry;
}

/*
 * The attribute numbers of a list of column names (names, n), as
 * crm_track_find_columns finds them, looked up once per backend until the
 * table changes: looking them up at every commit was a visible part of a
 * single order's cost
 */
void
crm_track_table_columns(TrackTable *target, const char *const *names, int n,
						AttrNumber *attnums)
{
	TableDefaults *entry = defaults_of(target->rel);
	ListCell   *lc;
	ColumnLookup *lookup;
	MemoryContext old;

	Assert(n <= MAX_LOOKUP_COLUMNS);
	foreach(lc, entry->lookups)
	{
		lookup = (ColumnLookup *) lfirst(lc);
		if (lookup->names == names)
		{
			memcpy(attnums, lookup->attnums, sizeof(AttrNumber) * n);
			return;
		}
	}
	crm_track_find_columns(RelationGetDescr(target->rel), names, n, attnums,
						   RelationGetRelationName(target->rel));
	old = MemoryContextSwitchTo(entry->context);
	lookup = palloc(sizeof(ColumnLookup));
	lookup->names = names;
	memcpy(lookup->attnums, attnums, sizeof(AttrNumber) * n);
	entry->lookups = lappend(entry->lookups, lookup);
	MemoryContextSwitchTo(old);
}

/*
 * The executor state's CHECK constraints, from the plans kept for the
 * table: ExecConstraints would otherwise plan each again from its text in
 * the catalog, at the first row of every fold.  (From PostgreSQL 18 on, the
 * executor also leaves out constraints that are not enforced and expands
 * generated columns in them: there it is left to plan its own.)
 */
static void
set_up_checks(TrackTable *target)
{
#if PG_VERSION_NUM < 180000
	ResultRelInfo *rri = target->result_rel;
	TableDefaults *plans = defaults_of(target->rel);

	if (plans->nchecks == 0)
		return;
	/* copied, as the defaults below */
	rri->ri_ConstraintExprs = palloc(sizeof(ExprState *) * plans->nchecks);
	for (int i = 0; i < plans->nchecks; i++)
		rri->ri_ConstraintExprs[i] = ExecInitExpr(copyObject(plans->checks[i]), NULL);
#endif
}

/*
 * Fill the columns of a new row (slot) that are not in "filled" with their
 * defaults, as an INSERT naming only those columns would.  The default
 * expressions are set up once per open table.
 */
void
crm_track_table_fill_defaults(TrackTable *target, TupleTableSlot *slot,
							  const bool *filled)
{
	TupleDesc	desc = RelationGetDescr(target->rel);
	ExprContext *econtext = GetPerTupleExprContext(target->estate);

	if (target->ndefaults < 0)
	{
		/* copied: an invalidation while writing may drop the cached ones */
		TableDefaults *defaults = defaults_of(target->rel);
		MemoryContext old = MemoryContextSwitchTo(target->estate->es_query_cxt);

		target->defaults = palloc0(sizeof(ExprState *) * desc->natts);
		target->ndefaults = 0;
		for (int i = 0; i < desc->natts; i++)
			if (defaults->exprs[i] != NULL)
			{
				target->defaults[i] = ExecInitExpr(copyObject(defaults->exprs[i]), NULL);
				target->ndefaults++;
			}
		MemoryContextSwitchTo(old);
	}
	for (int i = 0; i < desc->natts; i++)
	{
		if (filled[i])
			continue;
		if (target->defaults[i] == NULL)
		{
			slot->tts_values[i] = (Datum) 0;
			slot->tts_isnull[i] = true;
			continue;
		}
		slot->tts_values[i] = ExecEvalExprSwitchContext(target->defaults[i], econtext,
														&slot->tts_isnull[i]);
	}
}
