/*
 * citus.c
 *		Tracking an orders table that Citus distributes by its customer
 *		column.
 *
 * crm_track distributes the state and history tables the same way,
 * co-located with the orders: a customer's orders, state row and history
 * live in the shards of one shard group, on one node.  Citus gives every
 * shard the triggers of its table (crm_track turns
 * citus.enable_unsafe_triggers on while it creates them), so a write that
 * reaches an orders shard fires crm's trigger there, in the transaction
 * Citus opened on that node for the coordinator's, and the fold at its
 * commit -- or at its PREPARE, when the coordinator commits in two phases
 * -- writes the co-located state shard.  The same code, the same rules and
 * the same guarantees as on one server, per shard group.
 *
 * On a node a tracking is therefore known once per shard group: the
 * TrackEntry of (tracking id, shard) names the shards instead of the
 * distributed tables (crm_track_citus_localize).  Which shard a trigger
 * fired on is read off the trigger's name: Citus names the copy of trigger
 * T on shard N "T_N", and crm's own trigger names never end in a digit.
 *
 * The settings: crm_tracking is each node's own table, and the
 * coordinator's rows are not on the workers.  They are copied into
 * crm_cluster_tracking, a Citus reference table (one copy on every node,
 * written in the coordinator's transaction), after every change of
 * crm_tracking (crm_tracking_trigger).  The statements read their settings
 * there -- on a node, from its shard.
 *
 * Status messages: a worker's part of a distributed transaction may be
 * prepared, and a prepared transaction cannot NOTIFY; listeners connect to
 * the coordinator anyway.  On a cluster the history is the record of
 * status changes, and nothing is sent on channel crm_status.
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "track.h"

#define MIRROR_NAME "crm_cluster_tracking"

/*
 * Connect to SPI for a catalog query, with a snapshot: a fold at commit
 * has none.  end_query undoes it.
 */
static bool
begin_query(void)
{
	bool		pushed = !ActiveSnapshotSet();

	if (pushed)
		PushActiveSnapshot(GetTransactionSnapshot());
	SPI_connect();
	return pushed;
}

static void
end_query(bool pushed)
{
	SPI_finish();
	if (pushed)
		PopActiveSnapshot();
}

/* Whether Citus is installed in this database */
bool
crm_track_citus_installed(void)
{
	return OidIsValid(get_relname_relid("pg_dist_partition", PG_CATALOG_NAMESPACE));
}

/*
 * How Citus holds table relid: 'h' distributed by hash, 'n' a reference or
 * Citus local table, another letter for other methods; '\0' when it is a
 * plain table.  The distribution column's name into *column, when asked.
 */
char
crm_track_citus_method(Oid relid, char **column)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	char		method = '\0';
	bool		pushed;
	int			ret;

	if (column != NULL)
		*column = NULL;
	if (!crm_track_citus_installed())
		return '\0';
	pushed = begin_query();
	ret = SPI_execute_with_args("SELECT partmethod::text, "
								"       CASE WHEN partmethod = 'h' THEN "
								"            pg_catalog.column_to_column_name(logicalrelid, partkey) END "
								"FROM pg_catalog.pg_dist_partition WHERE logicalrelid = $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);

		method = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)[0];
		if (column != NULL && name != NULL)
		{
			*column = SPI_palloc(strlen(name) + 1);
			strcpy(*column, name);
		}
	}
	end_query(pushed);
	return method;
}

/*
 * The shard a trigger fired on: Citus names a shard's copy of a trigger
 * after the trigger, with "_<shard id>" appended.  0 for a trigger of a
 * table of this node's own.
 */
int64
crm_track_citus_trigger_shard(const Trigger *trigger)
{
	const char *suffix = strrchr(trigger->tgname, '_');
	int64		shard = 0;

	if (suffix == NULL || suffix[1] == '\0')
		return 0;
	for (const char *p = suffix + 1; *p; p++)
	{
		if (*p < '0' || *p > '9' || shard > (PG_INT64_MAX - 9) / 10)
			return 0;
		shard = shard * 10 + (*p - '0');
	}
	return shard;
}

/*
 * The table that holds the settings of distributed trackings here: on the
 * coordinator the reference table, on a node (shard_local) its shard
 * there.  InvalidOid when there is none.
 */
Oid
crm_track_citus_settings_relid(Oid ext_namespace, bool shard_local)
{
	Oid			relid = get_relname_relid(MIRROR_NAME, ext_namespace);
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	bool		isnull;
	Datum		shard_relid;
	bool		pushed;
	int			ret;

	if (!OidIsValid(relid) || !shard_local || !crm_track_citus_installed())
		return relid;
	args[0] = ObjectIdGetDatum(relid);
	pushed = begin_query();
	ret = SPI_execute_with_args("SELECT pg_catalog.to_regclass(pg_catalog.shard_name(logicalrelid, shardid, false))::oid "
								"FROM pg_catalog.pg_dist_shard WHERE logicalrelid = $1",
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	shard_relid = SPI_processed == 0 ? (Datum) 0 :
		SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	end_query(pushed);
	if (shard_relid == (Datum) 0 || isnull)
		return InvalidOid;
	return DatumGetObjectId(shard_relid);
}

/* A relation's name, qualified and quoted */
static const char *
qualified_name(Oid relid)
{
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
									  get_rel_name(relid));
}

/*
 * Make a tracking's names those of the shards in the shard group of shard
 * "shard" (an orders, state or history shard) on this node: the orders,
 * state and history tables given as their distributed tables are replaced
 * by their shards here, in relids and in info.  The settings are read from
 * settings_relid, the shard of crm_cluster_tracking here.  False when the
 * shard group is not on this node (moved away meanwhile).
 */
bool
crm_track_citus_localize(TrackInfo *info, int64 shard, Oid relids[3],
						 Oid settings_relid)
{
	Oid			argtypes[4] = {OIDOID, OIDOID, OIDOID, INT8OID};
	Datum		args[4];
	bool		found = false;
	bool		pushed;
	int			ret;

	for (int i = 0; i < 3; i++)
		args[i] = ObjectIdGetDatum(relids[i]);
	args[3] = Int64GetDatum(shard);
	pushed = begin_query();
	ret = SPI_execute_with_args("SELECT pg_catalog.to_regclass(pg_catalog.shard_name(o.logicalrelid, o.shardid, false))::oid,\n"
								"       pg_catalog.to_regclass(pg_catalog.shard_name(s.logicalrelid, s.shardid, false))::oid,\n"
								"       pg_catalog.to_regclass(pg_catalog.shard_name(h.logicalrelid, h.shardid, false))::oid\n"
								"FROM pg_catalog.pg_dist_shard x\n"
								"JOIN pg_catalog.pg_dist_shard o ON o.logicalrelid = $1 AND o.shardminvalue = x.shardminvalue\n"
								"JOIN pg_catalog.pg_dist_shard s ON s.logicalrelid = $2 AND s.shardminvalue = x.shardminvalue\n"
								"JOIN pg_catalog.pg_dist_shard h ON h.logicalrelid = $3 AND h.shardminvalue = x.shardminvalue\n"
								"WHERE x.shardid = $4 AND x.logicalrelid IN ($1, $2, $3)",
								4, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		found = true;
		for (int i = 0; i < 3; i++)
		{
			bool		isnull;
			Datum		value = SPI_getbinval(SPI_tuptable->vals[0],
											  SPI_tuptable->tupdesc, i + 1, &isnull);

			if (isnull)
				found = false;
			else
				relids[i] = DatumGetObjectId(value);
		}
	}
	end_query(pushed);
	if (!found)
		return false;
	info->shard = shard;
	info->orders = qualified_name(relids[0]);
	info->state = qualified_name(relids[1]);
	info->history = qualified_name(relids[2]);
	info->settings = qualified_name(settings_relid);
	return true;
}

/*
 * crm_track on a table Citus distributes: it must be distributed by hash
 * on the customer column, so that each customer's orders are in one shard
 * group with its state
 */
void
crm_track_citus_check(Oid relid, const char *customer_column)
{
	char	   *column;
	char		method = crm_track_citus_method(relid, &column);

	if (method == '\0')
		return;
	if (method != 'h')
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" is a Citus reference or local table", get_rel_name(relid)),
				 errdetail("crm tracks a table of one server, or a table Citus distributes by its customer column."),
				 errhint("Distribute it with create_distributed_table('%s', '%s') first.",
						 get_rel_name(relid), customer_column)));
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("partitioned table \"%s\" distributed by Citus cannot be tracked",
						get_rel_name(relid)),
				 errdetail("crm tracks a distributed table that is not partitioned, or a partitioned table of one server.")));
	if (column == NULL || strcmp(column, customer_column) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" is distributed by column \"%s\", not by its customer column \"%s\"",
						get_rel_name(relid), column ? column : "?", customer_column),
				 errdetail("A customer's orders must all be on the node that keeps its state."),
				 errhint("Distribute it by \"%s\".", customer_column)));
}

/*
 * Run one statement with citus.enable_unsafe_triggers on: Citus copies the
 * triggers of a table it distributes to every shard only then
 */
static void
run_with_triggers(const char *sql)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("citus.enable_unsafe_triggers", "on", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	crm_track_run_sql(sql);
	AtEOXact_GUC(true, nestlevel);
}

/*
 * One connection per node for the rest of the transaction: crm_track and
 * crm_untrack read shards they have just written, and change views Citus
 * has given to every node, which Citus allows only over the connection
 * that wrote them
 */
void
crm_track_citus_one_connection(void)
{
	(void) set_config_option("citus.multi_shard_modify_mode", "sequential", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
}

/*
 * crm_track of a distributed table, once the state and history tables are
 * created and before they are filled: distribute them with the orders,
 * and make sure the settings reach every node.  The caller is connected
 * to SPI.
 */
void
crm_track_citus_distribute(const TrackInfo *info, Oid ext_namespace)
{
	Oid			mirror = get_relname_relid(MIRROR_NAME, ext_namespace);

	crm_track_citus_one_connection();
	if (OidIsValid(mirror) && crm_track_citus_method(mirror, NULL) == '\0')
	{
		/* a restore brought it back as a table of the coordinator's own */
		run_with_triggers(psprintf("SELECT pg_catalog.create_reference_table('%s." MIRROR_NAME "')",
								   info->ext_schema));
		crm_track_citus_drop_local_data(psprintf("%s." MIRROR_NAME, info->ext_schema));
	}
	else if (!OidIsValid(mirror))
	{
		/*
		 * orders_table as text: a regclass would travel as its OID here,
		 * while the table has another OID on each node
		 */
		crm_track_run_sql(psprintf("CREATE TABLE %s." MIRROR_NAME " (LIKE %s.crm_tracking, PRIMARY KEY (id));\n"
								   "ALTER TABLE %s." MIRROR_NAME " ALTER orders_table TYPE text;\n"
								   "COMMENT ON TABLE %s." MIRROR_NAME " IS "
								   "'The rows of crm_tracking, copied to every node of a Citus cluster: "
								   "what the triggers on the shards and the views of distributed tables read. "
								   "Kept by crm; change crm_tracking instead';\n"
								   "REVOKE ALL ON %s." MIRROR_NAME " FROM PUBLIC",
								   info->ext_schema, info->ext_schema, info->ext_schema,
								   info->ext_schema, info->ext_schema));
		crm_track_run_sql(psprintf("SELECT pg_catalog.create_reference_table('%s." MIRROR_NAME "')",
								   info->ext_schema));
		/* every node's backends read the settings again after a change */
		run_with_triggers(psprintf("CREATE TRIGGER crm_tracking_changed "
								   "AFTER INSERT OR UPDATE OR DELETE ON %s." MIRROR_NAME "\n"
								   "    FOR EACH STATEMENT EXECUTE FUNCTION %s.crm_tracking_trigger()",
								   info->ext_schema, info->ext_schema));
	}
	crm_track_citus_copy_settings(ext_namespace);
	run_with_triggers(psprintf("SELECT pg_catalog.create_distributed_table('%s', 'customer', colocate_with => '%s')",
							   info->state, info->orders));
	run_with_triggers(psprintf("SELECT pg_catalog.create_distributed_table('%s', 'customer', colocate_with => '%s')",
							   info->history, info->orders));
}

/*
 * After crm_distribute_tracked distributed a history that held rows: a
 * node numbers history rows from its own range of the identity sequence
 * (Citus gives each node one), and rows a restore brought may already
 * carry numbers of that range, drawn by the node of the same group in the
 * cluster dumped.  Move each node's sequence past them.  The statement is
 * one query on the history, grouped by customer so that Citus runs it
 * whole on the nodes, in this transaction: each group's setval there, on
 * that node's sequence, when its highest number of the node's range is
 * higher than the sequence's.  (A range's last number is the next one's
 * first: left out.)  The caller is connected to SPI.
 */
void
crm_track_citus_advance_history_ids(const TrackInfo *info)
{
	int			ret;
	char	   *seq;
	const char *range;

	ret = SPI_execute(psprintf("SELECT pg_catalog.pg_get_serial_sequence(%s, 'id')",
							   quote_literal_cstr(info->history)), true, 1);
	if (ret != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	seq = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (seq == NULL)
		return;
	seq = quote_literal_cstr(seq);
	range = psprintf("pg_catalog.pg_sequence_parameters(pg_catalog.to_regclass(%s))", seq);
	crm_track_run_sql(psprintf("SELECT pg_catalog.setval(%s, max(id)) FROM %s\n"
							   "WHERE id >= (%s).minimum_value AND id < (%s).maximum_value\n"
							   "GROUP BY customer\n"
							   "HAVING max(id) > coalesce(pg_catalog.pg_sequence_last_value(%s), 0)",
							   seq, info->history, range, range, seq));
}

/*
 * Once Citus has distributed a table that held rows, their copy in the
 * coordinator's table is invisible but takes space: remove it, as Citus'
 * notice advises
 */
void
crm_track_citus_drop_local_data(const char *table)
{
	crm_track_run_sql(psprintf("SELECT pg_catalog.truncate_local_data_after_distributing_table(%s)",
							   quote_literal_cstr(table)));
}

/*
 * Run DDL of a tracking of a table of the coordinator's own: with Citus
 * installed, without propagating it (Citus would warn that views over a
 * local table stay local)
 */
void
crm_track_citus_run_local(const char *sql)
{
	int			nestlevel;

	if (!crm_track_citus_installed())
	{
		crm_track_run_sql(sql);
		return;
	}
	nestlevel = NewGUCNestLevel();
	(void) set_config_option("citus.enable_ddl_propagation", "off", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	crm_track_run_sql(sql);
	AtEOXact_GUC(true, nestlevel);
}

/*
 * Run DDL on distributed tables -- triggers, which Citus gives to every
 * shard -- one statement at a time, as Citus sends each to the nodes in a
 * prepared statement of its own.  Statements end with ";" outside quotes.
 */
void
crm_track_citus_run_ddl(const char *sql)
{
	char	   *copy = pstrdup(sql);
	char	   *start = copy;
	char		quote = '\0';

	for (char *p = copy;; p++)
	{
		if (*p == '\0' || (*p == ';' && quote == '\0'))
		{
			bool		last = *p == '\0';

			*p = '\0';
			if (strspn(start, " \n") < strlen(start))
				run_with_triggers(start);
			if (last)
				break;
			start = p + 1;
		}
		else if (quote != '\0' && *p == quote)
			quote = '\0';
		else if (quote == '\0' && (*p == '\'' || *p == '"'))
			quote = *p;
	}
	pfree(copy);
}

/*
 * The columns of crm_tracking as crm_cluster_tracking takes them: the
 * orders table by its qualified name
 */
static char *
copied_columns(Oid tracking_relid)
{
	Relation	rel = table_open(tracking_relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < desc->natts; i++)
	{
		const char *name = NameStr(TupleDescAttr(desc, i)->attname);

		if (TupleDescAttr(desc, i)->attisdropped)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		if (strcmp(name, "orders_table") == 0)
			appendStringInfoString(&buf,
								   "(SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)\n"
								   "   FROM pg_catalog.pg_class c\n"
								   "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
								   "  WHERE c.oid = t.orders_table)");
		else
			appendStringInfo(&buf, "t.%s", quote_identifier(name));
	}
	table_close(rel, AccessShareLock);
	return buf.data;
}

/*
 * Copy every row of crm_tracking to crm_cluster_tracking, after
 * crm_tracking changed, wherever the copy exists: on a Citus cluster, and
 * on a server a cluster's dump was restored to, whose views read it until
 * crm_distribute_tracked makes them a cluster's again.  Workers read only
 * the rows of trackings with shards there.  Not in a session that
 * restores: the dump holds the copy as it was, and loads it in any order
 * with crm_tracking's rows (a copy made first would collide with it).
 * Runs as the owner of crm_cluster_tracking, with search_path =
 * pg_catalog, pg_temp: a regclass travels to the other nodes as its
 * qualified name.
 */
void
crm_track_citus_copy_settings(Oid ext_namespace)
{
	Oid			relid = get_relname_relid(MIRROR_NAME, ext_namespace);
	const char *ext;
	TrackIdentity identity;
	int			nestlevel;

	if (!OidIsValid(relid) || crm_track_restore_session())
		return;
	ext = quote_identifier(get_namespace_name(ext_namespace));
	crm_track_become_owner(relid, &identity);
	nestlevel = crm_track_use_settings(NULL);
	SPI_connect();
	crm_track_run_sql(psprintf("DELETE FROM %s." MIRROR_NAME, ext));
	crm_track_run_sql(psprintf("INSERT INTO %s." MIRROR_NAME "\n"
							   "SELECT %s FROM %s.crm_tracking t",
							   ext, copied_columns(crm_track_tracking_relid(ext_namespace)), ext));
	SPI_finish();
	crm_track_restore_settings(nestlevel);
	crm_track_restore_identity(&identity);
}

/*
 * Fold what transactions left for later on every node (deferred.c), each
 * in a transaction of its own there, before crm_verify compares or
 * crm_refresh re-tiers.  The caller is connected to SPI.
 */
void
crm_track_citus_fold_deferred(const TrackInfo *info)
{
	int			ret;

	ret = SPI_execute(psprintf("SELECT nodeid, result FROM pg_catalog.run_command_on_all_nodes("
							   "'SELECT %s.crm_fold_deferred()') WHERE NOT success",
							   info->ext_schema), true, 0);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not fold the deferred customers of %s on node %s",
						info->label_plain,
						SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)),
				 errdetail("%s", SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2))));
}

/*
 * crm_verify and crm_refresh of a tracking whose orders table Citus
 * distributes: its state must be distributed too.  A tracked table that was
 * distributed afterwards (with citus.enable_unsafe_triggers on, else Citus
 * refuses) has its state still on the coordinator, and its shards' triggers
 * find no settings: say which order works.
 */
void
crm_track_citus_check_state(const TrackInfo *info, Oid ext_namespace)
{
	if (!crm_track_citus_state_distributed(info))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s was distributed by Citus after crm_track", info->label_plain),
				 errdetail("Its state is still a table of the coordinator, and the triggers on its shards do not count orders."),
				 errhint("Run crm_distribute_tracked('%s'): it distributes the state and history with the orders and recounts them.",
						 info->label_plain)));
}

/* Whether the state table of a tracking is distributed by Citus */
bool
crm_track_citus_state_distributed(const TrackInfo *info)
{
	Oid			state = get_relname_relid(psprintf("%s_state", info->prefix),
										  get_namespace_oid(info->schema, false));

	return OidIsValid(state) && crm_track_citus_method(state, NULL) == 'h';
}

/*
 * The history of a tracking of one server keyed as Citus needs it, before
 * it is distributed: a distributed table's unique keys hold its
 * distribution column, so PRIMARY KEY (id) becomes (customer, id), as
 * crm_track creates it on a cluster.  The caller is connected to SPI.
 */
void
crm_track_citus_key_history(const TrackInfo *info)
{
	int			ret;

	ret = SPI_execute(psprintf("SELECT pg_catalog.quote_ident(conname),\n"
							   "       conkey = ARRAY[a.attnum, i.attnum]::int2[]\n"
							   "FROM pg_catalog.pg_constraint\n"
							   "JOIN pg_catalog.pg_attribute a ON a.attrelid = conrelid AND a.attname = 'customer'\n"
							   "JOIN pg_catalog.pg_attribute i ON i.attrelid = conrelid AND i.attname = 'id'\n"
							   "WHERE conrelid = '%s'::regclass AND contype = 'p'",
							   info->history), true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 1 &&
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2), "t") == 0)
		return;
	crm_track_citus_run_local(SPI_processed == 1 ?
							  psprintf("ALTER TABLE %s DROP CONSTRAINT %s, ADD PRIMARY KEY (customer, id)",
									   info->history,
									   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)) :
							  psprintf("ALTER TABLE %s ADD PRIMARY KEY (customer, id)", info->history));
}
