/*
 * track_table.c
 *		Writing to a tracking's tables without SQL: a table opened and
 *		locked as a statement would open it to write, with an executor state
 *		to write through -- the way logical replication applies changes.
 *		Used for a single order's state row (track_order.c) and the history
 *		rows of its status changes (track_history.c).
 *
 * A table that needs more than this gives way to the SQL statements, which
 * then report what they report: one that is not a plain table, has row
 * level security, or on which the role lacks a table-wide privilege
 * (column privileges are for the SQL to check).
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/rel.h"
#include "utils/rls.h"

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

/*
 * Open schema.name to write to it, as a statement would; false, with nothing
 * opened, when the SQL statements must do it (see the top of this file).
 */
bool
crm_track_table_open(TrackTable *target, const char *schema,
					 const char *name, AclMode required)
{
	Oid			relid;
	RangeTblEntry *rte;

	relid = RangeVarGetRelid(makeRangeVar((char *) schema, (char *) name, -1),
							 RowExclusiveLock, true);
	if (!OidIsValid(relid))
		return false;			/* the SQL reports it */
	target->rel = table_open(relid, NoLock);
	if (target->rel->rd_rel->relkind != RELKIND_RELATION ||
		check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED ||
		pg_class_aclcheck(relid, GetUserId(), required) != ACLCHECK_OK)
	{
		table_close(target->rel, NoLock);
		return false;
	}

	/* as SPI does before a statement: see this transaction's changes so far */
	CommandCounterIncrement();

	target->estate = CreateExecutorState();
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
	AfterTriggerBeginQuery();
	return true;
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
