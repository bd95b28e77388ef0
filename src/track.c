/*
 * track.c
 *		Attaching crm to an existing orders table and detaching it again:
 *		crm_track, crm_untrack, crm_refresh and crm_verify, and the
 *		crm_days_union helper the state updates use.
 *
 * crm_track records the tracking in crm_tracking, creates the state and
 * history tables and the views next to the orders table, fills the state
 * from the existing orders in one set-based statement and adds the
 * triggers of track_trigger.c.  The SQL itself lives in track_sql.c.
 * Nothing here is SECURITY DEFINER: the caller must own the orders table,
 * and the objects created belong to the caller.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

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

/*
 * Run one statement (or several, for DDL) through SPI; returns the number
 * of rows processed.
 */
static uint64
run_sql(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	return SPI_processed;
}

/* The extension's schema, quoted: where the calling function lives */
static const char *
extension_schema(Oid fn_oid)
{
	return quote_identifier(get_namespace_name(get_func_namespace(fn_oid)));
}

/* Column i (1-based) of the first SPI result row, or NULL */
static char *
spi_text(int i)
{
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i);
}

/*
 * The error for a trigger whose tracking is gone: a crm_tracking row its
 * argument names no longer exists.
 */
void
crm_track_missing(int32 id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("crm tracking %d does not exist", id),
			 errhint("A trigger of a table that is no longer tracked was left behind; drop it.")));
}

/*
 * The crm_tracking table of the extension in schema ext_namespace; an
 * error if it is not there (renamed, or moved out of the schema)
 */
Oid
crm_track_tracking_relid(Oid ext_namespace)
{
	Oid			relid = get_relname_relid("crm_tracking", ext_namespace);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("crm_tracking is missing from the extension's schema"),
				 errhint("Give it back its name, or reinstall the crm extension.")));
	return relid;
}

/*
 * The tracked table of crm_tracking row "id", with quoted names.  The caller
 * is connected to SPI; the result lives in the current memory context.
 */
TrackInfo *
crm_track_info(int32 id, Oid fn_oid)
{
	TrackInfo  *info = palloc0(sizeof(TrackInfo));
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(id)};
	char	   *table;
	Oid			nspid;
	Oid			relid;
	int			ret;

	info->id = id;
	info->ext_schema = extension_schema(fn_oid);
	ret = SPI_execute_with_args(psprintf("SELECT orders_schema, orders_table, customer_column, "
										 "amount_column, ordered_at_column, promo_column, "
										 "customer_type, prefix, time_zone "
										 "FROM %s.crm_tracking WHERE id = $1",
										 info->ext_schema),
								1, argtypes, args, NULL, false, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		crm_track_missing(id);

	info->schema = spi_text(1);
	table = spi_text(2);
	for (int i = 0; i < TRACK_NUM_COLS; i++)
		info->column_names[i] = spi_text(3 + i);
	info->customer = quote_identifier(info->column_names[TRACK_COL_CUSTOMER]);
	info->amount = quote_identifier(info->column_names[TRACK_COL_AMOUNT]);
	info->ordered_at = quote_identifier(info->column_names[TRACK_COL_ORDERED_AT]);
	info->promo = info->column_names[TRACK_COL_PROMO] ?
		quote_identifier(info->column_names[TRACK_COL_PROMO]) : NULL;
	info->customer_type = spi_text(7);
	info->prefix = spi_text(8);
	info->time_zone_name = spi_text(9);
	info->time_zone = quote_literal_cstr(info->time_zone_name);

	info->orders = quote_qualified_identifier(info->schema, table);
	info->label_plain = info->orders;
	info->label = quote_literal_cstr(info->orders);
	info->state = quote_qualified_identifier(info->schema,
											 psprintf("%s_state", info->prefix));
	info->history = quote_qualified_identifier(info->schema,
											   psprintf("%s_history", info->prefix));

	nspid = get_namespace_oid(info->schema, true);
	relid = OidIsValid(nspid) ? get_relname_relid(table, nspid) : InvalidOid;
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("tracked orders table %s does not exist", info->orders),
				 errhint("Rename a tracked table only after crm_untrack, then track it again.")));
	for (int i = 0; i < TRACK_NUM_COLS; i++)
		info->column_types[i] = info->column_names[i] == NULL ? InvalidOid :
			get_atttype(relid, get_attnum(relid, info->column_names[i]));
	info->ordered_at_type = info->column_types[TRACK_COL_ORDERED_AT];
	return info;
}

/*
 * The crm_tracking id of an orders table; an error when it is not tracked
 */
static int32
tracking_id(Oid relid, Oid fn_oid)
{
	Oid			argtypes[2] = {NAMEOID, NAMEOID};
	Datum		args[2];
	char	   *schema = get_namespace_name(get_rel_namespace(relid));
	char	   *table = get_rel_name(relid);
	bool		isnull;
	int			ret;

	if (table == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	args[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(table));
	ret = SPI_execute_with_args(psprintf("SELECT id FROM %s.crm_tracking "
										 "WHERE orders_schema = $1 AND orders_table = $2",
										 extension_schema(fn_oid)),
								2, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s is not tracked",
						quote_qualified_identifier(schema, table)),
				 errhint("Start tracking it with crm_track.")));
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
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

/*
 * Settings for the statements tracking runs, until
 * crm_track_restore_settings(result), kept with a GUC nest level as
 * ri_triggers.c keeps its own (an error restores them too):
 *	- search_path = pg_catalog, pg_temp, so that whatever the caller's path,
 *	  built-in functions and operators are the built-in ones (our own
 *	  objects are schema-qualified) and cached plans stay valid;
 *	- TimeZone = the tracking's time zone, when time_zone is not NULL:
 *	  crm_purchase_summary and crm_rfm take days in the session TimeZone.
 */
int
crm_track_use_settings(const char *time_zone)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET,
							 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	if (time_zone != NULL &&
		strcmp(pg_get_timezone_name(session_timezone), time_zone) != 0)
		(void) set_config_option("TimeZone", time_zone, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

void
crm_track_restore_settings(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
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

/*
 * crm_track(orders, customer_column, amount_column, ordered_at_column,
 *			 promo_column, cuts, points_per_unit, tier_multipliers, as_of,
 *			 time_zone, notify, prefix) -> customers
 */
PG_FUNCTION_INFO_V1(crm_track);
Datum
crm_track(PG_FUNCTION_ARGS)
{
	static const Oid key_types[] = {INT2OID, INT4OID, INT8OID, UUIDOID,
	TEXTOID, VARCHAROID};
	static const Oid amount_types[] = {NUMERICOID, INT2OID, INT4OID, INT8OID,
	FLOAT4OID, FLOAT8OID};
	static const Oid time_types[] = {TIMESTAMPTZOID, TIMESTAMPOID, DATEOID};
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
	Oid			argtypes[14] = {NAMEOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID,
	TEXTOID, NAMEOID, TEXTOID, FLOAT8ARRAYOID, NUMERICOID,
	NUMERICARRAYOID, TIMESTAMPTZOID, TEXTOID};
	Datum		args[14];
	char		nulls[14];
	const char *ext;
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
	table = get_rel_name(relid);
	schema = get_namespace_name(get_rel_namespace(relid));

	key_type = column_type(relid, "customer", PG_GETARG_NAME(1), key_types,
						   lengthof(key_types),
						   "smallint, integer, bigint, uuid, text or varchar",
						   &key_typmod);
	(void) column_type(relid, "amount", PG_GETARG_NAME(2), amount_types,
					   lengthof(amount_types),
					   "numeric, smallint, integer, bigint, real or double precision",
					   &typmod);
	(void) column_type(relid, "ordered_at", PG_GETARG_NAME(3), time_types,
					   lengthof(time_types),
					   "timestamp with time zone, timestamp or date", &typmod);
	if (!PG_ARGISNULL(4))
		(void) column_type(relid, "promo", PG_GETARG_NAME(4), promo_types,
						   lengthof(promo_types), "boolean", &typmod);

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
	ext = extension_schema(fcinfo->flinfo->fn_oid);

	args[0] = DirectFunctionCall1(namein, CStringGetDatum(schema));
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(table));
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

	ret = SPI_execute_with_args(psprintf("SELECT orders_table = $2, prefix FROM %s.crm_tracking "
										 "WHERE orders_schema = $1 "
										 "AND (orders_table = $2 OR prefix = $8)", ext),
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

	ret = SPI_execute_with_args(psprintf("INSERT INTO %s.crm_tracking (orders_schema, orders_table, "
										 "customer_column, amount_column, ordered_at_column, "
										 "promo_column, customer_type, prefix, time_zone, cuts, "
										 "points_per_unit, tier_multipliers, as_of, notify) "
										 "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
										 "$12, $13, $14) RETURNING id", ext),
								14, argtypes, args, nulls, false, 1);
	if (ret != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
									 SPI_tuptable->tupdesc, 1, &isnull));

	info = crm_track_info(id, fcinfo->flinfo->fn_oid);
	nestlevel = crm_track_use_settings(info->time_zone_name);
	run_sql(crm_track_sql(info, TRACK_SQL_STATE_TABLE));
	run_sql(crm_track_sql(info, TRACK_SQL_HISTORY_TABLE));
	customers = run_sql(crm_track_sql(info, TRACK_SQL_BACKFILL));
	run_sql(crm_track_sql(info, TRACK_SQL_THRESHOLDS));
	run_sql(crm_track_sql(info, TRACK_SQL_TRIGGERS));
	run_sql(crm_track_sql(info, TRACK_SQL_VIEWS));
	crm_track_restore_settings(nestlevel);

	SPI_finish();
	PG_RETURN_INT64((int64) customers);
}

/*
 * crm_untrack(orders)
 */
PG_FUNCTION_INFO_V1(crm_untrack);
Datum
crm_untrack(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	TrackInfo  *info;
	int			nestlevel;

	LockRelationOid(relid, ShareRowExclusiveLock);
	check_owner(relid);
	SPI_connect();
	info = crm_track_info(tracking_id(relid, fcinfo->flinfo->fn_oid),
						  fcinfo->flinfo->fn_oid);
	nestlevel = crm_track_use_settings(NULL);
	run_sql(crm_track_sql(info, TRACK_SQL_DROP));
	crm_track_restore_settings(nestlevel);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * crm_refresh(orders) -> customers whose tier or stage changed
 */
PG_FUNCTION_INFO_V1(crm_refresh);
Datum
crm_refresh(PG_FUNCTION_ARGS)
{
	TrackInfo  *info;
	uint64		changed;
	int			nestlevel;

	SPI_connect();
	info = crm_track_info(tracking_id(PG_GETARG_OID(0), fcinfo->flinfo->fn_oid),
						  fcinfo->flinfo->fn_oid);
	nestlevel = crm_track_use_settings(NULL);

	/*
	 * Order writes wait while the thresholds change: one that read the old
	 * thresholds after the re-tiering's snapshot, and committed before us,
	 * would keep a tier by thresholds no longer in force.  EXCLUSIVE waits
	 * for the writes in flight and holds off new ones (and other refreshes)
	 * until commit; readers go on.  It must conflict with ROW SHARE too: an
	 * UPDATE or DELETE of orders locks its customers' rows with SELECT ...
	 * FOR UPDATE before it rewrites them, and a weaker lock granted in
	 * between would leave the two waiting for each other.
	 */
	run_sql(psprintf("LOCK TABLE %s IN EXCLUSIVE MODE", info->state));
	run_sql(crm_track_sql(info, TRACK_SQL_THRESHOLDS));
	changed = run_sql(crm_track_sql(info, TRACK_SQL_RETIER));
	crm_track_restore_settings(nestlevel);
	SPI_finish();
	PG_RETURN_INT64((int64) changed);
}

/*
 * crm_verify(orders) -> (customer, field, tracked, recomputed)
 *
 * The recomputation runs with TimeZone set to the tracking's time zone, as
 * ri_triggers.c sets its own settings for its queries, so that crm_rfm's
 * purchase days are the tracking's whatever the session's zone.
 */
PG_FUNCTION_INFO_V1(crm_verify);
Datum
crm_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	tupdesc;
	Tuplestorestate *tupstore;
	MemoryContext oldcontext;
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
	info = crm_track_info(tracking_id(PG_GETARG_OID(0), fcinfo->flinfo->fn_oid),
						  fcinfo->flinfo->fn_oid);
	nestlevel = crm_track_use_settings(info->time_zone_name);
	run_sql(crm_track_sql(info, TRACK_SQL_VERIFY));
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
