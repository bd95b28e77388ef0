/*
 * track.c
 *		Attaching crm to an existing orders table and detaching it again:
 *		crm_track, crm_untrack, crm_refresh, crm_verify and crm_fold, and
 *		the crm_days_union helper.
 *
 * crm_track records the tracking in crm_tracking, creates the state and
 * history tables and the views next to the orders table, fills the state
 * from the existing orders in one set-based statement and adds the
 * triggers of trigger.c, to the orders table and to each of its partitions
 * or inheritance children.  The SQL itself lives in sql.c.  Nothing here is
 * SECURITY DEFINER: the caller must own the orders table, and the objects
 * created belong to the caller.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "crm.h"
#include "tier.h"
#include "track.h"

/* ownership checks became generic in PostgreSQL 16 */
#if PG_VERSION_NUM >= 160000
#define crm_owns_relation(relid) \
	object_ownercheck(RelationRelationId, (relid), GetUserId())
#else
#define crm_owns_relation(relid) pg_class_ownercheck((relid), GetUserId())
#endif

/* The longest suffix crm_track appends to the prefix */
#define LONGEST_SUFFIX "_lifecycle_mix"

/* While crm_track inserts its crm_tracking row (see crm_tracking_trigger) */
bool		crm_track_creating = false;

/* The extension's schema: where the calling function lives */
static Oid
extension_namespace(FunctionCallInfo fcinfo)
{
	return get_func_namespace(fcinfo->flinfo->fn_oid);
}

/*
 * Ensure the caller owns the table; tracking adds triggers to it
 */
static void
check_owner(Oid relid)
{
	if (!crm_owns_relation(relid))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("must be owner of table %s", get_rel_name(relid)),
				 errdetail("Only the owner of a table can start or stop tracking it.")));
}

/*
 * The type of a user column of the orders table, which must be one of
 * "allowed"; errors name the table, the column and the rule.
 */
static Oid
column_type(Oid relid, const char *role, Name column, const Oid *allowed,
			int nallowed, const char *allowed_text, int32 *typmod)
{
	AttrNumber	attnum = get_attnum(relid, NameStr(*column));
	Oid			type;
	Oid			collation;

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						NameStr(*column), get_rel_name(relid)),
				 errdetail("It was given as the %s column.", role)));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s column cannot be system column \"%s\"",
						role, NameStr(*column))));
	get_atttypetypmodcoll(relid, attnum, &type, typmod, &collation);
	for (int i = 0; i < nallowed; i++)
		if (type == allowed[i])
			return type;
	ereport(ERROR,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg("%s column \"%s\" has type %s", role, NameStr(*column),
					format_type_be(type)),
			 errdetail("The %s column must be of type %s.", role, allowed_text)));
	return InvalidOid;			/* keep compiler quiet */
}

/* The types tracked columns may have */
const Oid	crm_track_key_types[] = {INT2OID, INT4OID, INT8OID, UUIDOID, TEXTOID,
VARCHAROID, InvalidOid};
const Oid	crm_track_amount_types[] = {NUMERICOID, INT2OID, INT4OID, INT8OID,
FLOAT4OID, FLOAT8OID, InvalidOid};
const Oid	crm_track_time_types[] = {TIMESTAMPTZOID, TIMESTAMPOID, DATEOID, InvalidOid};

static int
count_types(const Oid *types)
{
	int			n = 0;

	while (OidIsValid(types[n]))
		n++;
	return n;
}

/*
 * Ensure a numeric setting is finite and not negative
 */
static void
check_numeric_setting(const char *name, Numeric value)
{
	crm_check_nonnegative(name,
						  DatumGetFloat8(DirectFunctionCall1(numeric_float8,
															 NumericGetDatum(value))));
}

/*
 * Ensure the points multipliers are four finite numbers >= 0
 */
static void
check_multipliers(ArrayType *array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("tier_multipliers must be a one-dimensional array")));
	deconstruct_array(array, NUMERICOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n != 4)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("tier_multipliers must have exactly 4 elements"),
				 errdetail("The array has %d.", n),
				 errhint("Give the multipliers of the small, ordinary, major and vip tiers.")));
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("tier_multipliers must not contain nulls")));
		check_numeric_setting("tier_multipliers", DatumGetNumeric(elems[i]));
	}
}

/* The notify setting is one of the three crm_tracking's CHECK allows */
static void
check_notify(const char *notify)
{
	if (strcmp(notify, "all") != 0 && strcmp(notify, "alerts") != 0 &&
		strcmp(notify, "none") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("notify must be 'all', 'alerts' or 'none'"),
				 errdetail("The value was \"%s\".", notify)));
}

/* Run DDL of a tracking; on a table Citus distributes, for every shard too */
static void
run_ddl(const TrackInfo *info, const char *sql)
{
	if (info->distributed)
		crm_track_citus_run_ddl(sql);
	else
		crm_track_citus_run_local(sql);
}

/*
 * Add the orders triggers to every table of the tracked tree: the tracked
 * table and each partition or inheritance child, present (locked here)
 * or, through ddl.c, future
 */
static void
add_tree_triggers(TrackInfo *info)
{
	List	   *members = find_all_inheritors(info->orders_relid,
											  ShareRowExclusiveLock, NULL);
	ListCell   *lc;

	foreach(lc, members)
		run_ddl(info, crm_track_member_sql(info, TRACK_SQL_MEMBER_TRIGGERS, lfirst_oid(lc)));
}

/*
 * crm_track(orders, customer_column, amount_column, ordered_at_column,
 *			 promo_column, cuts, points_per_unit, tier_multipliers, as_of,
 *			 time_zone, notify, prefix) -> customers
 */
PG_FUNCTION_INFO_V1(crm_track);
Datum
crm_track(PG_FUNCTION_ARGS)
{
	static const Oid promo_types[] = {BOOLOID};
	Oid			relid;
	char		relkind;
	char	   *table;
	char	   *schema;
	Oid			key_type;
	int32		key_typmod;
	int32		typmod;
	double		cuts[CRM_NUM_CUTS];
	char	   *time_zone;
	char	   *prefix;
	Oid			argtypes[14] = {OIDOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID,
	TEXTOID, NAMEOID, TEXTOID, FLOAT8ARRAYOID, NUMERICOID,
	NUMERICARRAYOID, TIMESTAMPTZOID, TEXTOID};
	Datum		args[14];
	char		nulls[14];
	Oid			ext;
	const char *ext_schema;
	bool		isnull;
	int32		id;
	TrackInfo  *info;
	uint64		customers;
	int			nestlevel;
	int			ret;

	crm_check_not_null(fcinfo, 0, "orders");
	crm_check_not_null(fcinfo, 1, "customer_column");
	crm_check_not_null(fcinfo, 2, "amount_column");
	crm_check_not_null(fcinfo, 3, "ordered_at_column");
	crm_check_not_null(fcinfo, 5, "cuts");
	crm_check_not_null(fcinfo, 6, "points_per_unit");
	crm_check_not_null(fcinfo, 7, "tier_multipliers");
	crm_check_not_null(fcinfo, 10, "notify");
	check_notify(text_to_cstring(PG_GETARG_TEXT_PP(10)));

	relid = PG_GETARG_OID(0);
	/* no concurrent writes between the backfill and the triggers */
	LockRelationOid(relid, ShareRowExclusiveLock);
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", get_rel_name(relid)),
				 errdetail("Only tables can be tracked.")));
	check_owner(relid);
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("temporary table \"%s\" cannot be tracked", get_rel_name(relid)),
				 errdetail("A temporary table goes with its session, and nothing would remove its tracking.")));
	if (get_rel_relispartition(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partition", get_rel_name(relid)),
				 errhint("Track the partitioned table: its partitions are tracked with it.")));
	table = get_rel_name(relid);
	schema = get_namespace_name(get_rel_namespace(relid));

	key_type = column_type(relid, "customer", PG_GETARG_NAME(1), crm_track_key_types,
						   count_types(crm_track_key_types),
						   "smallint, integer, bigint, uuid, text or varchar",
						   &key_typmod);
	(void) column_type(relid, "amount", PG_GETARG_NAME(2), crm_track_amount_types,
					   count_types(crm_track_amount_types),
					   "numeric, smallint, integer, bigint, real or double precision",
					   &typmod);
	(void) column_type(relid, "ordered_at", PG_GETARG_NAME(3), crm_track_time_types,
					   count_types(crm_track_time_types),
					   "timestamp with time zone, timestamp or date", &typmod);
	if (!PG_ARGISNULL(4))
		(void) column_type(relid, "promo", PG_GETARG_NAME(4), promo_types,
						   lengthof(promo_types), "boolean", &typmod);
	crm_track_citus_check(relid, NameStr(*PG_GETARG_NAME(1)));

	crm_get_cuts(PG_GETARG_ARRAYTYPE_P(5), cuts);
	check_numeric_setting("points_per_unit", PG_GETARG_NUMERIC(6));
	check_multipliers(PG_GETARG_ARRAYTYPE_P(7));
	time_zone = PG_ARGISNULL(9) ?
		pstrdup(pg_get_timezone_name(session_timezone)) :
		text_to_cstring(PG_GETARG_TEXT_PP(9));
	/* a time zone PostgreSQL does not know fails here, with 22023 */
	crm_track_restore_settings(crm_track_use_settings(time_zone));

	prefix = PG_ARGISNULL(11) ? psprintf("%s_crm", table) :
		pstrdup(NameStr(*PG_GETARG_NAME(11)));
	if (prefix[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("prefix must not be empty")));
	if (strlen(prefix) + strlen(LONGEST_SUFFIX) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("prefix \"%s\" is too long", prefix),
				 errdetail("Names made from it, such as \"%s%s\", must be shorter than %d bytes.",
						   prefix, LONGEST_SUFFIX, NAMEDATALEN),
				 errhint("Pass a shorter prefix => '...'.")));

	SPI_connect();
	ext = extension_namespace(fcinfo);
	ext_schema = quote_identifier(get_namespace_name(ext));

	args[0] = ObjectIdGetDatum(relid);
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	args[2] = NameGetDatum(PG_GETARG_NAME(1));
	args[3] = NameGetDatum(PG_GETARG_NAME(2));
	args[4] = NameGetDatum(PG_GETARG_NAME(3));
	args[5] = PG_ARGISNULL(4) ? (Datum) 0 : NameGetDatum(PG_GETARG_NAME(4));
	args[6] = CStringGetTextDatum(format_type_with_typemod(key_type, key_typmod));
	args[7] = DirectFunctionCall1(namein, CStringGetDatum(prefix));
	args[8] = CStringGetTextDatum(time_zone);
	args[9] = PG_GETARG_DATUM(5);
	args[10] = PG_GETARG_DATUM(6);
	args[11] = PG_GETARG_DATUM(7);
	args[12] = PG_ARGISNULL(8) ? (Datum) 0 : PG_GETARG_DATUM(8);
	args[13] = PG_GETARG_DATUM(10);
	for (int i = 0; i < 14; i++)
		nulls[i] = ' ';
	if (PG_ARGISNULL(4))
		nulls[5] = 'n';
	if (PG_ARGISNULL(8))
		nulls[12] = 'n';

	ret = SPI_execute_with_args(psprintf("SELECT orders_table = $1, prefix FROM %s.crm_tracking "
										 "WHERE orders_table = $1 "
										 "OR (state_schema = $2 AND prefix = $8)", ext_schema),
								14, argtypes, args, nulls, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed > 0)
	{
		if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("table %s is already tracked",
							quote_qualified_identifier(schema, table)),
					 errhint("Stop tracking it first with crm_untrack.")));
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("prefix \"%s\" is already used in schema \"%s\"", prefix, schema),
				 errhint("Pass another prefix => '...'.")));
	}

	crm_track_creating = true;
	PG_TRY();
	{
		ret = SPI_execute_with_args(psprintf("INSERT INTO %s.crm_tracking (orders_table, state_schema, "
											 "customer_column, amount_column, ordered_at_column, "
											 "promo_column, customer_type, prefix, time_zone, cuts, "
											 "points_per_unit, tier_multipliers, as_of, notify) "
											 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
											 "$12, $13, $14) RETURNING id", ext_schema),
									14, argtypes, args, nulls, false, 1);
	}
	PG_FINALLY();
	{
		crm_track_creating = false;
	}
	PG_END_TRY();
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
									 SPI_tuptable->tupdesc, 1, &isnull));

	info = crm_track_info(id, ext, false);
	nestlevel = crm_track_use_settings(info->time_zone_name);
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_STATE_TABLE));
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_HISTORY_TABLE));
	if (info->distributed)
		crm_track_citus_distribute(info, ext);
	customers = crm_track_run_sql(crm_track_sql(info, TRACK_SQL_BACKFILL));
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_THRESHOLDS));
	run_ddl(info, crm_track_sql(info, TRACK_SQL_TRIGGERS));
	add_tree_triggers(info);
	run_ddl(info, crm_track_sql(info, TRACK_SQL_VIEWS));
	crm_track_restore_settings(nestlevel);

	SPI_finish();
	PG_RETURN_INT64((int64) customers);
}

/*
 * Drop what crm_track created for tracking "info": the triggers of every
 * table of the tree, the views, the state and history tables and the
 * crm_tracking row.  The caller is connected to SPI.
 */
static void
drop_tracking(TrackInfo *info)
{
	List	   *members = find_all_inheritors(info->orders_relid,
											  ShareRowExclusiveLock, NULL);
	ListCell   *lc;
	int			nestlevel = crm_track_use_settings(NULL);

	if (info->distributed)
		crm_track_citus_one_connection();
	foreach(lc, members)
		run_ddl(info, crm_track_member_sql(info, TRACK_SQL_MEMBER_DROP, lfirst_oid(lc)));
	/* the event trigger lets crm drop the state and history */
	crm_track_dropping = true;
	PG_TRY();
	{
		run_ddl(info, crm_track_sql(info, TRACK_SQL_DROP));
	}
	PG_FINALLY();
	{
		crm_track_dropping = false;
	}
	PG_END_TRY();
	crm_track_restore_settings(nestlevel);
}

/*
 * crm_untrack(orders)
 */
PG_FUNCTION_INFO_V1(crm_untrack);
Datum
crm_untrack(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			ext = extension_namespace(fcinfo);
	TrackInfo  *info;

	LockRelationOid(relid, ShareRowExclusiveLock);
	check_owner(relid);
	SPI_connect();
	info = crm_track_info(crm_track_id_of(relid, ext, false), ext, false);
	drop_tracking(info);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * crm_distribute_tracked(orders) -> customers
 *
 * Distribute a tracked table with Citus, its state and history with it,
 * keeping both: the way onto a cluster for a table tracked on one server
 * (a restore of a coordinator's dump brings every table back as a table of
 * the coordinator's own), and the repair of a tracked table distributed
 * by hand, whose shards count nothing.  Citus copies rows to the shards
 * through the shards' triggers, so crm's triggers come off the orders and
 * the history triggers off the state while they move, and go back as
 * crm_track puts them on a distributed table.  Then every customer is
 * recomputed from the orders, as crm_refresh's repair does: that counts
 * what the shards did not, and changes nothing of a state already right.
 */
PG_FUNCTION_INFO_V1(crm_distribute_tracked);
Datum
crm_distribute_tracked(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Oid			ext = extension_namespace(fcinfo);
	int32		id;
	TrackInfo  *info;
	char		method;
	bool		isnull;
	int64		customers;
	int			nestlevel;

	if (!crm_track_citus_installed())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("Citus is not installed in this database"),
				 errhint("Run CREATE EXTENSION citus and add the workers first.")));
	/* no writes until the triggers are back: they would not be counted */
	LockRelationOid(relid, ShareRowExclusiveLock);
	check_owner(relid);
	SPI_connect();
	id = crm_track_id_of(relid, ext, false);
	info = crm_track_info(id, ext, false);
	if (crm_track_citus_state_distributed(info))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the state of %s is already distributed", info->label_plain)));
	method = crm_track_citus_method(relid, NULL);
	if (method == '\0' && get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("partitioned table \"%s\" cannot be distributed with its tracking",
						get_rel_name(relid)),
				 errdetail("crm tracks a distributed table that is not partitioned, or a partitioned table of one server.")));
	if (method != '\0')
		crm_track_citus_check(relid, info->column_names[TRACK_COL_CUSTOMER]);

	nestlevel = crm_track_use_settings(info->time_zone_name);
	/* Citus' notices of the rows it copies to the shards: the data stays */
	(void) set_config_option("client_min_messages", "warning", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	crm_track_citus_one_connection();
	/* the views and the state stay the coordinator's until distributed */
	crm_track_citus_run_local(crm_track_sql(info, TRACK_SQL_DROP_VIEWS));
	crm_track_citus_run_local(crm_track_sql(info, TRACK_SQL_DROP_TRIGGERS));
	/* a table distributed by hand has the triggers on its shards too */
	run_ddl(info, crm_track_member_sql(info, TRACK_SQL_MEMBER_DROP, relid));
	crm_track_citus_key_history(info);
	if (method == '\0')
		crm_track_run_sql(psprintf("SELECT pg_catalog.create_distributed_table('%s', %s)",
								   info->orders,
								   quote_literal_cstr(info->column_names[TRACK_COL_CUSTOMER])));

	/*
	 * The same tracking, now of a distributed table: read with a snapshot
	 * that sees Citus' metadata of the table, written since ours was taken
	 */
	CommandCounterIncrement();
	PushCopiedSnapshot(GetActiveSnapshot());
	UpdateActiveSnapshotCommandId();
	info = crm_track_info(id, ext, false);
	PopActiveSnapshot();
	Assert(info->distributed);
	crm_track_citus_distribute(info, ext);
	/* what Citus copied to the shards, it leaves in the tables here */
	crm_track_citus_drop_local_data(info->state);
	crm_track_citus_drop_local_data(info->history);
	if (method == '\0')
		crm_track_citus_drop_local_data(info->orders);
	crm_track_citus_advance_history_ids(info);
	run_ddl(info, crm_track_sql(info, TRACK_SQL_TRIGGERS));
	add_tree_triggers(info);
	run_ddl(info, crm_track_sql(info, TRACK_SQL_VIEWS));

	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_REPAIR_INSERT));
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_REPAIR));
	/* by the thresholds in force: the tiers of a state already right stay */
	(void) crm_track_run_sql(crm_track_sql(info, TRACK_SQL_RETIER));
	crm_track_run_sql(psprintf("SELECT count(*) FROM %s", info->state));
	customers = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											SPI_tuptable->tupdesc, 1, &isnull));
	crm_track_restore_settings(nestlevel);
	SPI_finish();
	PG_RETURN_INT64(customers);
}

/*
 * crm_refresh(orders, repair) -> customers whose tier or stage changed
 */
PG_FUNCTION_INFO_V1(crm_refresh);
Datum
crm_refresh(PG_FUNCTION_ARGS)
{
	Oid			ext = extension_namespace(fcinfo);
	bool		repair;
	int32		id;
	TrackInfo  *info;
	uint64		changed;
	int			nestlevel;

	crm_check_not_null(fcinfo, 0, "orders");
	crm_check_not_null(fcinfo, 1, "repair");
	repair = PG_GETARG_BOOL(1);
	SPI_connect();
	id = crm_track_id_of(PG_GETARG_OID(0), ext, false);
	info = crm_track_info(id, ext, false);

	/* this transaction's own orders first; on a cluster, what waits */
	crm_track_fold_pending(id, ext);
	if (info->distributed)
	{
		crm_track_citus_check_state(info, ext);
		crm_track_citus_fold_deferred(info);
	}
	nestlevel = crm_track_use_settings(info->time_zone_name);

	/*
	 * Folds wait while the thresholds change: one that read the old
	 * thresholds after the re-tiering's snapshot, and committed before us,
	 * would keep a tier by thresholds no longer in force.  EXCLUSIVE waits
	 * for the folds in flight and holds off new ones (and other refreshes)
	 * until commit; readers go on.
	 */
	crm_track_run_sql(psprintf("LOCK TABLE %s IN EXCLUSIVE MODE", info->state));
	if (repair)
	{
		crm_track_run_sql(crm_track_sql(info, TRACK_SQL_REPAIR_INSERT));
		crm_track_run_sql(crm_track_sql(info, TRACK_SQL_REPAIR));
	}
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_THRESHOLDS));
	changed = crm_track_run_sql(crm_track_sql(info, TRACK_SQL_RETIER));
	crm_track_restore_settings(nestlevel);
	SPI_finish();
	PG_RETURN_INT64((int64) changed);
}

/*
 * crm_verify(orders) -> (customer, field, tracked, recomputed)
 *
 * The recomputation runs with TimeZone set to the tracking's time zone, as
 * ri_triggers.c sets its own settings for its queries, so that crm_rfm's
 * purchase days are the tracking's whatever the session's zone.  This
 * transaction's own orders are folded in first.
 */
PG_FUNCTION_INFO_V1(crm_verify);
Datum
crm_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			ext = extension_namespace(fcinfo);
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	MemoryContext oldcontext;
	int32		id;
	TrackInfo  *info;
	int			nestlevel;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("crm_verify must be called in the FROM clause")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	oldcontext = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	tupdesc = CreateTupleDescCopy(tupdesc);
	tupstore = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(oldcontext);

	SPI_connect();
	id = crm_track_id_of(PG_GETARG_OID(0), ext, false);
	info = crm_track_info(id, ext, false);
	crm_track_fold_pending(id, ext);
	if (info->distributed)
	{
		crm_track_citus_check_state(info, ext);
		crm_track_citus_fold_deferred(info);
	}
	nestlevel = crm_track_use_settings(info->time_zone_name);
	crm_track_run_sql(crm_track_sql(info, TRACK_SQL_VERIFY));
	crm_track_restore_settings(nestlevel);

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[4];
		bool		nulls[4];

		for (int col = 0; col < 4; col++)
			values[col] = SPI_getbinval(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, col + 1,
										&nulls[col]);
		tuplestore_putvalues(tupstore, tupdesc, values, nulls);
	}
	SPI_finish();

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = tupstore;
	rsinfo->setDesc = tupdesc;
	return (Datum) 0;
}

/*
 * crm_fold(orders) -> state rows written
 *
 * Fold this transaction's changes to a tracked table (all tracked tables
 * when NULL) into the state now, rather than at commit.
 */
PG_FUNCTION_INFO_V1(crm_fold);
Datum
crm_fold(PG_FUNCTION_ARGS)
{
	Oid			ext = extension_namespace(fcinfo);
	int32		id = -1;

	if (!PG_ARGISNULL(0))
	{
		SPI_connect();
		id = crm_track_id_of(PG_GETARG_OID(0), ext, false);
		SPI_finish();
	}
	PG_RETURN_INT64((int64) crm_track_fold_pending(id, ext));
}

/*
 * crm_days_union(days date[], more date[]) -> sorted distinct days of both
 */
PG_FUNCTION_INFO_V1(crm_days_union);
Datum
crm_days_union(PG_FUNCTION_ARGS)
{
	DateADT    *days = NULL;
	int			ndays = 0;

	for (int argno = 0; argno < 2; argno++)
	{
		ArrayType  *array;
		Datum	   *elems;
		bool	   *nulls;
		int			n;

		if (PG_ARGISNULL(argno))
			continue;
		array = PG_GETARG_ARRAYTYPE_P(argno);
		deconstruct_array(array, DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
						  &elems, &nulls, &n);
		days = days ? repalloc(days, sizeof(DateADT) * (ndays + n + 1)) :
			palloc(sizeof(DateADT) * (n + 1));
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				days[ndays++] = DatumGetDateADT(elems[i]);
	}
	PG_RETURN_ARRAYTYPE_P(crm_days_array(days ? days : palloc(sizeof(DateADT)), ndays));
}
