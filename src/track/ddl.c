/*
 * ddl.c
 *		Following what ALTER TABLE, CREATE TABLE and DROP do to a tracked
 *		orders table: the event trigger crm_ddl_trigger.
 *
 * A tracking names its orders table by OID, so renaming the table or
 * moving it to another schema changes nothing; it names its columns, and
 * renaming one of them renames it in crm_tracking.  What a change would
 * break is refused when it is made, not at the next write: dropping a
 * tracked column, giving it a type tracking cannot read, dropping the
 * state or history table, renaming or dropping a column crm writes there.
 * A new type of the customer key goes to the state and history tables too
 * (the views are made again around it).
 *
 * Rows that join or leave the tracked table without an INSERT or DELETE
 * -- a partition or inheritance child attached, detached or dropped --
 * mark their customers to be recomputed at commit, and the table gets or
 * loses the orders triggers.  Dropping the tracked table itself drops its
 * state, history and views and its crm_tracking row.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "lib/stringinfo.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "storage/lmgr.h"

#include "track.h"

/* While crm_untrack or the cleanup of a dropped table drop tracking's tables */
bool		crm_track_dropping = false;

/* The extension's schema, or InvalidOid while it is being dropped */
static Oid
extension_namespace(FunctionCallInfo fcinfo)
{
	Oid			nspid = get_func_namespace(fcinfo->flinfo->fn_oid);

	if (!OidIsValid(nspid) ||
		!OidIsValid(get_relname_relid("crm_tracking", nspid)))
		return InvalidOid;
	return nspid;
}

/*
 * The tracking whose tree holds relation relid (the tracked table, or a
 * partition or inheritance child at any depth), -1 if none; the tracked
 * table into *root.  The caller is connected to SPI.
 */
static int32
tracking_of(Oid relid, Oid ext_namespace, Oid *root)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;
	int			ret;

	ret = SPI_execute_with_args(psprintf("WITH RECURSIVE up (relid) AS (\n"
										 "  SELECT $1\n"
										 "  UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i\n"
										 "  JOIN up ON i.inhrelid = up.relid)\n"
										 "SELECT t.id, t.orders_table::oid FROM %s.crm_tracking t\n"
										 "JOIN up ON t.orders_table = up.relid",
										 quote_identifier(get_namespace_name(ext_namespace))),
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return -1;
	*root = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
										   SPI_tuptable->tupdesc, 2, &isnull));
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/* A relation of a RangeVar in a parse tree, InvalidOid if there is none */
static Oid
relation_of(RangeVar *rv)
{
	return rv == NULL ? InvalidOid : RangeVarGetRelid(rv, NoLock, true);
}

/*
 * Mark the customers of table member (with its partitions or children) to
 * be recomputed at commit: its rows join or leave the tracked table
 */
static void
recompute_customers_of(int32 id, Oid ext_namespace, Oid member, bool parents_first)
{
	TrackEntry *entry = crm_track_entry(id, 0, ext_namespace);
	TrackIdentity identity;
	TrackChangeSet *set;
	int			nestlevel;

	if (entry == NULL)
		return;

	/*
	 * The lock the command takes on the table, taken now: no order comes or
	 * goes between the reading and the change
	 */
	if (parents_first)
	{
		/* in the order DROP and DETACH lock them, not to deadlock with them */
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(member)};

		if (SPI_execute_with_args("SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the parents of relation %u", member);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		isnull;

			LockRelationOid(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull)),
							AccessExclusiveLock);
		}
	}
	LockRelationOid(member, AccessExclusiveLock);
	set = crm_track_changes_begin(entry);
	crm_track_become_owner(entry->orders_relid, &identity);
	nestlevel = crm_track_use_settings(NULL);
	crm_track_recompute_customers(set, crm_track_member_sql(entry->info,
															 TRACK_SQL_CUSTOMERS_UNDER,
															 member));
	crm_track_restore_settings(nestlevel);
	crm_track_restore_identity(&identity);
	crm_track_changes_end(set, false);
}

/*
 * The customers of every partition or child of a tracked table that lies
 * in schema nspid (a DROP SCHEMA ... CASCADE takes them)
 */
static void
recompute_members_in(Oid ext_namespace, Oid nspid)
{
	uint64		n = crm_track_run_sql(psprintf("SELECT id, orders_table::oid FROM %s.crm_tracking",
								 quote_identifier(get_namespace_name(ext_namespace))));
	int32	   *ids = palloc(sizeof(int32) * (n + 1));
	Oid		   *roots = palloc(sizeof(Oid) * (n + 1));

	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		roots[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	for (uint64 i = 0; i < n; i++)
	{
		ListCell   *lc;

		if (get_rel_namespace(roots[i]) == nspid)
			continue;			/* the whole table goes: sql_drop */
		foreach(lc, find_all_inheritors(roots[i], NoLock, NULL))
		{
			Oid			member = lfirst_oid(lc);

			if (member != roots[i] && get_rel_namespace(member) == nspid)
				recompute_customers_of(ids[i], ext_namespace, member, true);
		}
	}
}

/* Add (or drop) the orders triggers of a table and its partitions or children */
static void
member_triggers(int32 id, Oid ext_namespace, Oid member, bool add)
{
	TrackInfo  *info = crm_track_info(id, ext_namespace, false);
	List	   *members = find_all_inheritors(member, NoLock, NULL);
	ListCell   *lc;
	int			nestlevel = crm_track_use_settings(NULL);

	foreach(lc, members)
	{
		Oid			relid = lfirst_oid(lc);

		/* a child that was tracked already, through another parent */
		if (add && OidIsValid(get_trigger_oid(relid, "crm_track_insert", true)))
			continue;
		crm_track_run_sql(crm_track_member_sql(info, add ? TRACK_SQL_MEMBER_TRIGGERS :
								 TRACK_SQL_MEMBER_DROP, relid));
	}
	crm_track_restore_settings(nestlevel);
}

/* The names of a tracking's columns, by crm_tracking column */
static const char *const column_settings[TRACK_NUM_COLS] = {
	"customer_column", "amount_column", "ordered_at_column", "promo_column"
};

/* Which tracked column (TRACK_COL_*) is named name, -1 if none */
static int
tracked_column(const TrackInfo *info, const char *name)
{
	for (int i = 0; i < TRACK_NUM_COLS; i++)
		if (info->column_names[i] != NULL && strcmp(info->column_names[i], name) == 0)
			return i;
	return -1;
}

/* Whether type is one of a list ending with InvalidOid */
static bool
type_allowed(Oid type, const Oid *allowed)
{
	for (int i = 0; OidIsValid(allowed[i]); i++)
		if (allowed[i] == type)
			return true;
	return false;
}

/*
 * A key that became text: the state's primary key gives way to an
 * exclusion constraint on a hash index, the history's B-trees on the
 * customer -- its primary key (customer, id), or the index of a tracking
 * made before that -- to a hash index and the id as its key, which take
 * keys of any length
 */
static void
use_hash_key(TrackInfo *info)
{
	uint64		n;
	char	   *name;
	char	  **statements;

	n = crm_track_run_sql(psprintf("SELECT conname FROM pg_catalog.pg_constraint\n"
					 "WHERE conrelid = '%s'::pg_catalog.regclass AND contype = 'p'",
					 info->state));
	if (n == 0)
		return;
	name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	crm_track_run_sql(psprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD EXCLUDE USING hash (customer WITH =)",
				 info->state, quote_identifier(name)));
	n = crm_track_run_sql(psprintf("SELECT c.relname, i.indisprimary FROM pg_catalog.pg_index i\n"
					 "JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid\n"
					 "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]\n"
					 "WHERE i.indrelid = '%s'::pg_catalog.regclass AND a.attname = 'customer'",
					 info->history));
	/* the statements, read before the first of them replaces SPI_tuptable */
	statements = palloc(sizeof(char *) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		const char *index = quote_identifier(SPI_getvalue(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 1));

		statements[i] =
			strcmp(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2), "t") == 0 ?
			psprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD PRIMARY KEY (id)", info->history, index) :
			psprintf("DROP INDEX %s.%s", quote_identifier(info->schema), index);
	}
	for (uint64 i = 0; i < n; i++)
		crm_track_run_sql(statements[i]);
	crm_track_run_sql(psprintf("CREATE INDEX ON %s USING hash (customer)", info->history));
}

/*
 * A tracked column got a new type: refuse one tracking cannot read; give a
 * new customer key type to the state and history too
 */
static void
follow_type(int32 id, Oid ext_namespace, Oid root, const char *column)
{
	TrackInfo  *info = crm_track_info(id, ext_namespace, false);
	int			col = tracked_column(info, column);
	Oid			type = info->column_types[col];
	static const Oid promo_types[] = {BOOLOID, InvalidOid};
	const Oid  *allowed = col == TRACK_COL_CUSTOMER ? crm_track_key_types :
		col == TRACK_COL_AMOUNT ? crm_track_amount_types :
		col == TRACK_COL_ORDERED_AT ? crm_track_time_types : promo_types;
	Oid			state_relid;
	AttrNumber	attnum;
	int32		typmod;
	Oid			collation;
	char	   *key_type;
	Oid			argtypes[2] = {TEXTOID, INT4OID};
	Datum		args[2];
	int			nestlevel;

	if (!type_allowed(type, allowed))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s is tracked by crm and cannot have type %s",
						column, info->label_plain, format_type_be(type)),
				 errhint("Stop tracking the table with crm_untrack first, or choose another type.")));
	if (col != TRACK_COL_CUSTOMER)
		return;

	attnum = get_attnum(root, column);
	get_atttypetypmodcoll(root, attnum, &type, &typmod, &collation);
	key_type = format_type_with_typemod(type, typmod);
	state_relid = get_relname_relid(psprintf("%s_state", info->prefix),
									get_namespace_oid(info->schema, false));
	if (strcmp(key_type, info->customer_type) == 0 && OidIsValid(state_relid))
	{
		Oid			state_type;
		int32		state_typmod;
		Oid			state_collation;

		get_atttypetypmodcoll(state_relid, get_attnum(state_relid, "customer"),
							  &state_type, &state_typmod, &state_collation);
		if (state_collation == collation)
			return;				/* another column's type changed */
	}

	/*
	 * The state and history keys follow, cast as ALTER TABLE casts (an
	 * error there, such as a key that no longer fits, refuses the change);
	 * the views that read them are made again around it, and the key's
	 * index with them, a text key needing a hash index
	 */
	nestlevel = crm_track_use_settings(NULL);
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_DROP_VIEWS));
	crm_track_run_sql(psprintf("ALTER TABLE %s ALTER COLUMN customer TYPE %s%s USING customer::%s",
				 info->state, key_type, info->key_collate, key_type));
	crm_track_run_sql(psprintf("ALTER TABLE %s ALTER COLUMN customer TYPE %s%s USING customer::%s",
				 info->history, key_type, info->key_collate, key_type));
	if (get_typlen(type) == -1)
		use_hash_key(info);
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_VIEWS));
	args[0] = CStringGetTextDatum(key_type);
	args[1] = Int32GetDatum(id);
	if (SPI_execute_with_args(psprintf("UPDATE %s.crm_tracking SET customer_type = $1 WHERE id = $2",
									   info->ext_schema),
							  2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not record the new customer type");
	crm_track_restore_settings(nestlevel);
}

/* A tracked column renamed: under its new name in crm_tracking */
static void
follow_rename(int32 id, Oid ext_namespace, const char *old_name,
			  const char *new_name)
{
	const char *ext = quote_identifier(get_namespace_name(ext_namespace));
	Oid			argtypes[3] = {NAMEOID, NAMEOID, INT4OID};
	Datum		args[3];

	/* each tracked column of that name (the old one is gone already) */
	args[0] = DirectFunctionCall1(namein, CStringGetDatum(new_name));
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(old_name));
	args[2] = Int32GetDatum(id);
	for (int i = 0; i < TRACK_NUM_COLS; i++)
		if (SPI_execute_with_args(psprintf("UPDATE %s.crm_tracking SET %s = $1 WHERE %s = $2 AND id = $3",
										   ext, column_settings[i], column_settings[i]),
								  3, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record the new column name");
}

/*
 * The columns crm_track creates in the state and history tables (sql.c),
 * which the fold and the views read by name
 */
static const char *const state_columns[] = {
	"customer", "orders", "revenue", "promo_orders", "first_at", "last_at",
	"purchase_days", "first_day_revenue", "points", "tier", "lifecycle",
	"attitude", "price_sensitivity", "referrals", "has_alternative",
	"share_of_wallet", "loyalty", "updated_at"
};
static const char *const history_columns[] = {
	"id", "customer", "status", "old_value", "new_value", "changed_at",
	"transaction_id"
};

/*
 * Refuse to rename or drop (what) a column crm writes of a state or history
 * table: every later commit that folds orders would fail on it.  Columns
 * of the user's own in those tables are theirs to change.
 */
static void
refuse_crm_column(Oid relid, const char *column, const char *what,
				  Oid ext_namespace)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	const char *const *names;
	int			n;
	bool		isnull;
	bool		state;
	int			ret;

	if (!OidIsValid(relid) || column == NULL)
		return;
	ret = SPI_execute_with_args(psprintf("SELECT t.orders_table::pg_catalog.text,\n"
										 "       c.relname = t.prefix || '_state'\n"
										 "FROM %s.crm_tracking t, pg_catalog.pg_class c\n"
										 "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
										 "WHERE c.oid = $1 AND n.nspname = t.state_schema\n"
										 "  AND c.relname IN (t.prefix || '_state', t.prefix || '_history')",
										 quote_identifier(get_namespace_name(ext_namespace))),
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		return;
	state = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	names = state ? state_columns : history_columns;
	n = state ? lengthof(state_columns) : lengthof(history_columns);
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], column) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
					 errmsg("cannot %s column \"%s\" of %s: crm tracks %s into it",
							what, column, get_rel_name(relid),
							SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
					 errhint("Columns of your own in it are yours to change; stop tracking with crm_untrack to change crm's.")));
}

/* ddl_command_start: what must be read or refused before the change */
static void
command_start(Node *parsetree, Oid ext_namespace)
{
	if (IsA(parsetree, DropStmt) && ((DropStmt *) parsetree)->removeType == OBJECT_SCHEMA)
	{
		/* partitions or children in a schema dropped with its tables */
		DropStmt   *stmt = (DropStmt *) parsetree;
		ListCell   *lc;

		foreach(lc, stmt->objects)
		{
			Oid			nspid = get_namespace_oid(strVal(lfirst(lc)), true);

			if (OidIsValid(nspid))
				recompute_members_in(ext_namespace, nspid);
		}
	}
	else if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;
		ListCell   *lc;

		if (stmt->removeType != OBJECT_TABLE)
			return;
		/* a partition or child dropped: its customers lose its orders */
		foreach(lc, stmt->objects)
		{
			Oid			relid = relation_of(makeRangeVarFromNameList((List *) lfirst(lc)));
			Oid			root;
			int32		id = OidIsValid(relid) ? tracking_of(relid, ext_namespace, &root) : -1;

			if (id >= 0 && relid != root)
				recompute_customers_of(id, ext_namespace, relid, true);
		}
	}
	else if (IsA(parsetree, RenameStmt) &&
			 ((RenameStmt *) parsetree)->renameType == OBJECT_COLUMN)
	{
		RenameStmt *stmt = (RenameStmt *) parsetree;

		refuse_crm_column(relation_of(stmt->relation), stmt->subname, "rename",
						  ext_namespace);
	}
	else if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
		Oid			relid = relation_of(stmt->relation);
		Oid			root;
		int32		id = OidIsValid(relid) ? tracking_of(relid, ext_namespace, &root) : -1;
		ListCell   *lc;

		/*
		 * The transaction's orders so far are folded in as the table is now:
		 * after the change the customer key may have another type
		 */
		if (id >= 0)
			(void) crm_track_fold_pending(id, ext_namespace);
		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

			if (cmd->subtype == AT_DetachPartition && id >= 0)
			{
				Oid			part = relation_of(((PartitionCmd *) cmd->def)->name);

				if (OidIsValid(part))
					recompute_customers_of(id, ext_namespace, part, true);
			}
			else if (cmd->subtype == AT_DropInherit && OidIsValid(relid))
			{
				Oid			parent = relation_of((RangeVar *) cmd->def);
				int32		parent_id = OidIsValid(parent) ?
					tracking_of(parent, ext_namespace, &root) : -1;

				if (parent_id >= 0)
					recompute_customers_of(parent_id, ext_namespace, relid, false);
			}
			else if (cmd->subtype == AT_DropColumn && id < 0)
				refuse_crm_column(relid, cmd->name, "drop", ext_namespace);
			else if (cmd->subtype == AT_DropColumn && id >= 0)
			{
				TrackInfo  *info = crm_track_info(id, ext_namespace, false);

				if (tracked_column(info, cmd->name) >= 0)
					ereport(ERROR,
							(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
							 errmsg("cannot drop column \"%s\" of %s: crm tracks it",
									cmd->name, info->label_plain),
							 errhint("Stop tracking the table with crm_untrack first.")));
			}
		}
	}
}

/*
 * A table renamed or moved to another schema: the copy of the settings a
 * Citus cluster's nodes read names the orders table by name (citus.c), so
 * copy them again -- on the coordinator, the node whose crm_tracking has
 * rows
 */
static void
copy_cluster_settings(Oid ext_namespace)
{
	int			ret = SPI_execute(psprintf("SELECT 1 FROM %s.crm_tracking LIMIT 1",
										   quote_identifier(get_namespace_name(ext_namespace))),
								  true, 1);

	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
		crm_track_citus_copy_settings(ext_namespace);
}

/* ddl_command_end: follow the change */
static void
command_end(Node *parsetree, Oid ext_namespace)
{
	Oid			root;

	if (IsA(parsetree, AlterObjectSchemaStmt) &&
		((AlterObjectSchemaStmt *) parsetree)->objectType == OBJECT_TABLE)
		copy_cluster_settings(ext_namespace);
	else if (IsA(parsetree, CreateStmt))
	{
		/* a new partition or child of a tracked table gets the triggers */
		CreateStmt *stmt = (CreateStmt *) parsetree;
		Oid			relid = relation_of(stmt->relation);
		ListCell   *lc;

		foreach(lc, stmt->inhRelations)
		{
			Oid			parent = relation_of((RangeVar *) lfirst(lc));
			int32		id = OidIsValid(parent) ? tracking_of(parent, ext_namespace, &root) : -1;

			if (id >= 0 && OidIsValid(relid))
				member_triggers(id, ext_namespace, relid, true);
		}
	}
	else if (IsA(parsetree, RenameStmt))
	{
		RenameStmt *stmt = (RenameStmt *) parsetree;
		Oid			relid;
		int32		id;

		if (stmt->renameType == OBJECT_TABLE)
			copy_cluster_settings(ext_namespace);
		if (stmt->renameType != OBJECT_COLUMN)
			return;
		relid = relation_of(stmt->relation);
		id = OidIsValid(relid) ? tracking_of(relid, ext_namespace, &root) : -1;
		if (id >= 0 && relid == root)
			follow_rename(id, ext_namespace, stmt->subname, stmt->newname);
	}
	else if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;
		Oid			relid = relation_of(stmt->relation);
		int32		id = OidIsValid(relid) ? tracking_of(relid, ext_namespace, &root) : -1;
		ListCell   *lc;

		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

			if (cmd->subtype == AT_AttachPartition && id >= 0)
			{
				Oid			part = relation_of(((PartitionCmd *) cmd->def)->name);

				if (OidIsValid(part))
				{
					member_triggers(id, ext_namespace, part, true);
					recompute_customers_of(id, ext_namespace, part, false);
				}
			}
			else if (cmd->subtype == AT_DetachPartition && id >= 0)
			{
				Oid			part = relation_of(((PartitionCmd *) cmd->def)->name);

				if (OidIsValid(part))
					member_triggers(id, ext_namespace, part, false);
			}
			else if ((cmd->subtype == AT_AddInherit || cmd->subtype == AT_DropInherit) &&
					 OidIsValid(relid))
			{
				Oid			parent = relation_of((RangeVar *) cmd->def);
				int32		parent_id = OidIsValid(parent) ?
					tracking_of(parent, ext_namespace, &root) : -1;

				if (parent_id < 0)
					continue;
				if (cmd->subtype == AT_AddInherit)
				{
					member_triggers(parent_id, ext_namespace, relid, true);
					recompute_customers_of(parent_id, ext_namespace, relid, false);
				}
				else if (tracking_of(relid, ext_namespace, &root) < 0)
					member_triggers(parent_id, ext_namespace, relid, false);
			}
			else if ((cmd->subtype == AT_SetLogged || cmd->subtype == AT_SetUnLogged) &&
					 id >= 0 && relid == root)
			{
				/* the state of an unlogged table goes with it in a crash */
				TrackInfo  *info = crm_track_info(id, ext_namespace, false);
				const char *how = cmd->subtype == AT_SetLogged ? "LOGGED" : "UNLOGGED";
				int			nestlevel = crm_track_use_settings(NULL);

				crm_track_run_sql(psprintf("ALTER TABLE %s SET %s; ALTER TABLE %s SET %s",
							 info->history, how, info->state, how));
				crm_track_restore_settings(nestlevel);
			}
			else if (cmd->subtype == AT_ChangeOwner && id >= 0 && relid == root)
			{
				/* the fold runs as the table's owner, who owns what it writes */
				static const char *const views[] = {"_segments", "_pyramid", "_loyalty_mix",
				"_lifecycle_mix", "_alerts"};
				TrackInfo  *info = crm_track_info(id, ext_namespace, false);
				const char *owner = quote_identifier(GetUserNameFromId(crm_track_relation_owner(root),
																	   false));
				int			nestlevel = crm_track_use_settings(NULL);

				crm_track_run_sql(psprintf("ALTER TABLE %s OWNER TO %s; ALTER TABLE %s OWNER TO %s",
										   info->state, owner, info->history, owner));
				for (int i = 0; i < lengthof(views); i++)
					crm_track_run_sql(psprintf("ALTER VIEW %s OWNER TO %s",
											   quote_qualified_identifier(info->schema,
																		  psprintf("%s%s", info->prefix, views[i])),
											   owner));
				crm_track_restore_settings(nestlevel);
			}
			else if (cmd->subtype == AT_AlterColumnType && id >= 0 && relid == root)
			{
				TrackInfo  *info = crm_track_info(id, ext_namespace, false);

				if (tracked_column(info, cmd->name) >= 0)
					follow_type(id, ext_namespace, root, cmd->name);
			}
		}
	}
}

/* The tracking of a dropped table */
typedef struct DroppedTracking
{
	int32		id;
	const char *schema;			/* of the state and history, unquoted */
	const char *prefix;
} DroppedTracking;

/*
 * Drop the views, state and history of a tracking whose table is gone, and
 * its crm_tracking row.  What cannot go (a view of the user's depends on
 * one of the views) stays, with a warning: the table's DROP succeeds.
 */
static void
drop_remains(const char *ext, const DroppedTracking *gone)
{
	static const char *const views[] = {"_alerts", "_lifecycle_mix", "_loyalty_mix",
	"_pyramid", "_segments"};
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	StringInfoData sql;
	int			nestlevel = crm_track_use_settings(NULL);

	initStringInfo(&sql);
	appendStringInfoString(&sql, "DROP VIEW IF EXISTS ");
	for (int i = 0; i < lengthof(views); i++)
		appendStringInfo(&sql, "%s%s", i > 0 ? ", " : "",
						 quote_qualified_identifier(gone->schema,
													psprintf("%s%s", gone->prefix, views[i])));
	appendStringInfo(&sql, ";\nDROP TABLE IF EXISTS %s, %s",
					 quote_qualified_identifier(gone->schema, psprintf("%s_history", gone->prefix)),
					 quote_qualified_identifier(gone->schema, psprintf("%s_state", gone->prefix)));

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(context);
	crm_track_dropping = true;
	PG_TRY();
	{
		crm_track_run_sql(sql.data);
		crm_track_dropping = false;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *error;

		crm_track_dropping = false;
		MemoryContextSwitchTo(context);
		error = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
		SPI_restore_connection();
		ereport(WARNING,
				(errmsg("the state, history and views of a dropped tracked table were kept"),
				 errdetail("%s", error->message),
				 errhint("Drop them by hand.")));
	}
	PG_END_TRY();
	crm_track_run_sql(psprintf("DELETE FROM %s.crm_tracking WHERE id = %d", ext, gone->id));
	crm_track_restore_settings(nestlevel);
}

/*
 * sql_drop: a tracked table dropped takes its tracking with it; the state
 * or history of a table still tracked cannot go
 */
static void
objects_dropped(Oid ext_namespace)
{
	const char *ext = quote_identifier(get_namespace_name(ext_namespace));
	uint64		n;
	DroppedTracking *gone;

	/* the tracked tables dropped */
	n = crm_track_run_sql(psprintf("SELECT t.id, t.state_schema, t.prefix\n"
					 "FROM pg_catalog.pg_event_trigger_dropped_objects() d\n"
					 "JOIN %s.crm_tracking t ON t.orders_table = d.objid\n"
					 "WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass\n"
					 "  AND d.objsubid = 0", ext));
	gone = palloc(sizeof(DroppedTracking) * (n + 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		gone[i].id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[i],
												 SPI_tuptable->tupdesc, 1, &isnull));
		gone[i].schema = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		gone[i].prefix = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3);
	}
	for (uint64 i = 0; i < n; i++)
		drop_remains(ext, &gone[i]);

	/* a state or history table of a tracking still there */
	n = crm_track_run_sql(psprintf("SELECT d.object_identity, t.orders_table::text\n"
					 "FROM pg_catalog.pg_event_trigger_dropped_objects() d\n"
					 "JOIN %s.crm_tracking t ON d.schema_name = t.state_schema\n"
					 " AND d.object_name IN (t.prefix || '_state', t.prefix || '_history')\n"
					 "WHERE d.object_type = 'table'", ext));
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("cannot drop table %s: crm tracks %s into it",
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2)),
				 errhint("Stop tracking with crm_untrack, which drops it.")));
}

/*
 * crm_ddl_trigger: the event trigger of ddl_command_start, ddl_command_end
 * and sql_drop (see the top of this file)
 */
PG_FUNCTION_INFO_V1(crm_ddl_trigger);
Datum
crm_ddl_trigger(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;
	Oid			ext_namespace;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm_ddl_trigger: not called by event trigger manager")));
	trigdata = (EventTriggerData *) fcinfo->context;

	/* crm's own drops, and the extension going */
	ext_namespace = extension_namespace(fcinfo);
	if (crm_track_dropping || !OidIsValid(ext_namespace))
		PG_RETURN_VOID();

	SPI_connect();
	if (strcmp(trigdata->event, "ddl_command_start") == 0)
		command_start(trigdata->parsetree, ext_namespace);
	else if (strcmp(trigdata->event, "ddl_command_end") == 0)
		command_end(trigdata->parsetree, ext_namespace);
	else if (strcmp(trigdata->event, "sql_drop") == 0)
		objects_dropped(ext_namespace);
	SPI_finish();
	PG_RETURN_VOID();
}
