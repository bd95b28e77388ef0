/*
 * track_trigger.c
 *		The triggers crm_track attaches: crm_orders_trigger on the orders
 *		table and crm_history_trigger on the customer state table.
 *
 * Both are AFTER ... FOR EACH STATEMENT triggers with transition tables
 * (crm_new, crm_old), so a bulk INSERT, COPY or UPDATE reaches the state
 * with one set-based statement that touches each customer once, and a
 * single-row INSERT costs one statement too.  The statements are those of
 * track_sql.c, prepared once per backend and tracked table and kept with
 * SPI_keepplan.
 *
 * Why an INSERT is folded in but an UPDATE or DELETE is recomputed: adding
 * orders to a customer's figures is exact, taking them away is not (the
 * first and last order, the purchase days), so the customers an UPDATE or
 * DELETE touches are recomputed from the orders table.  Their state rows
 * are locked first, in key order, and the recomputation runs as a second
 * statement: under READ COMMITTED it then sees every order committed by a
 * transaction that held one of those rows, and an insert that commits
 * later adds its own orders on top.  No order is lost either way.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/json.h"
#include "utils/memutils.h"

#include "crm.h"
#include "loyalty.h"

#include "track.h"

/*
 * What a backend keeps per tracked table: the orders columns the triggers
 * read themselves, and the statements, each prepared on first use.
 */
typedef struct TrackEntry
{
	int32		id;				/* hash key: the tracking id */
	NameData	column_names[TRACK_NUM_COLS];
	bool		has_promo;
	Oid			column_types[TRACK_NUM_COLS];
	char	   *time_zone;		/* in TopMemoryContext */
	char	   *label;			/* the orders table, for messages; ditto */
	SPIPlanPtr	plans[TRACK_SQL_COUNT];
} TrackEntry;

static HTAB *tracked = NULL;

static TrackEntry *
tracking_entry(int32 id, Oid fn_oid)
{
	TrackEntry *entry;
	TrackInfo  *info;
	bool		found;

	if (tracked == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(TrackEntry);
		tracked = hash_create("crm tracked tables", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(tracked, &id, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;

	/* read the settings before entering, so an error leaves no entry */
	info = crm_track_info(id, fn_oid);
	entry = hash_search(tracked, &id, HASH_ENTER, &found);
	memset(entry->plans, 0, sizeof(entry->plans));
	entry->has_promo = info->column_names[TRACK_COL_PROMO] != NULL;
	entry->time_zone = MemoryContextStrdup(TopMemoryContext, info->time_zone_name);
	entry->label = MemoryContextStrdup(TopMemoryContext, info->label_plain);
	for (int i = 0; i < TRACK_NUM_COLS; i++)
	{
		namestrcpy(&entry->column_names[i],
				   info->column_names[i] ? info->column_names[i] : "");
		entry->column_types[i] = info->column_types[i];
	}
	return entry;
}

/*
 * The prepared statement "which" of a tracked table, prepared on first use.
 * Statements naming crm_new or crm_old are prepared while the trigger's
 * transition tables are registered, as PL/pgSQL does.
 */
static SPIPlanPtr
tracking_plan(TrackEntry *entry, TrackSql which, Oid fn_oid)
{
	SPIPlanPtr	plan;
	Oid			argtypes[7];
	int			nargs = 0;

	if (entry->plans[which] != NULL)
		return entry->plans[which];

	if (which == TRACK_SQL_INSERT_ONE || which == TRACK_SQL_UPDATE_ONE)
	{
		for (int i = 0; i < TRACK_NUM_COLS; i++)
			argtypes[i] = OidIsValid(entry->column_types[i]) ?
				entry->column_types[i] : BOOLOID;
		nargs = TRACK_NUM_COLS;
	}
	else if (which == TRACK_SQL_HISTORY_ONE)
	{
		/* customer, status, old, new, then tier, loyalty, lifecycle now */
		argtypes[0] = entry->column_types[TRACK_COL_CUSTOMER];
		for (int i = 1; i < 7; i++)
			argtypes[i] = TEXTOID;
		nargs = 7;
	}
	plan = SPI_prepare(crm_track_sql(crm_track_info(entry->id, fn_oid), which),
					   nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	entry->plans[which] = plan;
	return plan;
}

/*
 * Execute a tracking statement.  The caller has set the settings the
 * statements run under (crm_track_use_settings) once for its whole call.
 */
static void
run_plan(FunctionCallInfo fcinfo, TrackEntry *entry, TrackSql which,
		 Datum *values, const char *nulls)
{
	SPIPlanPtr	plan = tracking_plan(entry, which, fcinfo->flinfo->fn_oid);
	int			ret = SPI_execute_plan(plan, values, nulls, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
}

/* Attribute number of a column of the trigger's relation, by name */
static int
column_number(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("tracked column \"%s\" does not exist", name),
				 errhint("Rename tracked columns only after crm_untrack, then track again.")));
	return attnum;
}

/*
 * Reading a trigger's transition tables in C, row by row: each new row and,
 * for an UPDATE, its old version (the two tables hold them in the same
 * order).  The tables are rewound before and after, as the SPI queries
 * that may read them next expect.
 */
typedef struct TransitionRows
{
	TriggerData *trigdata;
	bool		with_old;
	TupleTableSlot *new_slot;
	TupleTableSlot *old_slot;
} TransitionRows;

static void
transition_begin(TransitionRows *rows, TriggerData *trigdata, bool with_old)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);

	rows->trigdata = trigdata;
	rows->with_old = with_old;
	rows->new_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	rows->old_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(trigdata->tg_newtable);
	if (with_old)
		tuplestore_rescan(trigdata->tg_oldtable);
}

static bool
transition_next(TransitionRows *rows)
{
	if (!tuplestore_gettupleslot(rows->trigdata->tg_newtable, true, false,
								 rows->new_slot))
		return false;
	if (rows->with_old &&
		!tuplestore_gettupleslot(rows->trigdata->tg_oldtable, true, false,
								 rows->old_slot))
		elog(ERROR, "transition tables crm_old and crm_new differ in length");
	return true;
}

static void
transition_end(TransitionRows *rows)
{
	tuplestore_rescan(rows->trigdata->tg_newtable);
	if (rows->with_old)
		tuplestore_rescan(rows->trigdata->tg_oldtable);
	ExecDropSingleTupleTableSlot(rows->new_slot);
	ExecDropSingleTupleTableSlot(rows->old_slot);
}

/*
 * Single-row INSERT: fold the one order in with a parameterised statement,
 * without the per-customer aggregation over the transition table.  An
 * order without customer, amount or time counts for nobody.
 */
static void
insert_one(FunctionCallInfo fcinfo, TrackEntry *entry, TriggerData *trigdata)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	TransitionRows rows;
	Datum		values[TRACK_NUM_COLS];
	char		nulls[TRACK_NUM_COLS];
	bool		counted = true;

	transition_begin(&rows, trigdata, false);
	if (!transition_next(&rows))
		elog(ERROR, "transition table crm_new is empty");
	for (int i = 0; i < TRACK_NUM_COLS; i++)
	{
		bool		isnull = true;

		values[i] = (Datum) 0;
		if (i != TRACK_COL_PROMO || entry->has_promo)
			values[i] = slot_getattr(rows.new_slot,
									 column_number(desc, NameStr(entry->column_names[i])),
									 &isnull);
		nulls[i] = isnull ? 'n' : ' ';
		if (isnull && i != TRACK_COL_PROMO)
			counted = false;
	}
	if (counted)
	{
		run_plan(fcinfo, entry, TRACK_SQL_UPDATE_ONE, values, nulls);
		if (SPI_processed == 0)
			run_plan(fcinfo, entry, TRACK_SQL_INSERT_ONE, values, nulls);
	}
	transition_end(&rows);
}

/*
 * Whether an UPDATE changed a tracked column of any row.  The transition
 * tables hold the old and new version of each row in the same order.
 */
static bool
tracked_columns_changed(TrackEntry *entry, TriggerData *trigdata)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	TransitionRows rows;
	int			attnums[TRACK_NUM_COLS];
	int			ncols = 0;
	bool		changed = false;

	for (int i = 0; i < TRACK_NUM_COLS; i++)
		if (i != TRACK_COL_PROMO || entry->has_promo)
			attnums[ncols++] = column_number(desc, NameStr(entry->column_names[i]));

	transition_begin(&rows, trigdata, true);
	while (!changed && transition_next(&rows))
	{
		for (int i = 0; i < ncols && !changed; i++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, attnums[i] - 1);
			bool		old_null;
			bool		new_null;
			Datum		old_value = slot_getattr(rows.old_slot, attnums[i], &old_null);
			Datum		new_value = slot_getattr(rows.new_slot, attnums[i], &new_null);

			changed = old_null != new_null ||
				(!old_null && !datumIsEqual(old_value, new_value,
											att->attbyval, att->attlen));
		}
	}
	transition_end(&rows);
	return changed;
}

/*
 * Ensure we were called by the trigger manager, after a statement, with
 * the tracking id as the only argument; returns the id.
 */
static int32
check_trigger_call(FunctionCallInfo fcinfo, const char *fname)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: not called by trigger manager", fname)));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired AFTER ... FOR EACH STATEMENT", fname)));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: expected one argument, the tracking id", fname),
				 errhint("Use crm_track to add the triggers.")));
	return pg_strtoint32(trigger->tgargs[0]);
}

/*
 * Ensure the transition tables the statements read are there, by the
 * names they use
 */
static void
check_transition_tables(TriggerData *trigdata, bool old, bool new,
						const char *fname)
{
	Trigger    *trigger = trigdata->tg_trigger;

	if ((old && (trigdata->tg_oldtable == NULL || trigger->tgoldtable == NULL ||
				 strcmp(trigger->tgoldtable, "crm_old") != 0)) ||
		(new && (trigdata->tg_newtable == NULL || trigger->tgnewtable == NULL ||
				 strcmp(trigger->tgnewtable, "crm_new") != 0)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: transition tables crm_old and crm_new are missing", fname),
				 errhint("Use crm_track to add the triggers.")));
}

/* Number of rows of a transition table */
static int64
transition_rows(Tuplestorestate *table)
{
	return table ? tuplestore_tuple_count(table) : 0;
}

PG_FUNCTION_INFO_V1(crm_orders_trigger);
Datum
crm_orders_trigger(PG_FUNCTION_ARGS)
{
	int32		id = check_trigger_call(fcinfo, "crm_orders_trigger");
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event = trigdata->tg_event;
	TrackEntry *entry;
	int			nestlevel;

	if (TRIGGER_FIRED_BY_INSERT(event))
		check_transition_tables(trigdata, false, true, "crm_orders_trigger");
	else if (TRIGGER_FIRED_BY_UPDATE(event))
		check_transition_tables(trigdata, true, true, "crm_orders_trigger");
	else if (TRIGGER_FIRED_BY_DELETE(event))
		check_transition_tables(trigdata, true, false, "crm_orders_trigger");

	/* a statement that changed no rows changes no customer */
	if (!TRIGGER_FIRED_BY_TRUNCATE(event) &&
		transition_rows(trigdata->tg_newtable) == 0 &&
		transition_rows(trigdata->tg_oldtable) == 0)
		return PointerGetDatum(NULL);

	SPI_connect();
	entry = tracking_entry(id, fcinfo->flinfo->fn_oid);

	/* an UPDATE of other columns (a status, a note) changes no customer */
	if (TRIGGER_FIRED_BY_UPDATE(event) &&
		!tracked_columns_changed(entry, trigdata))
	{
		SPI_finish();
		return PointerGetDatum(NULL);
	}

	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "SPI_register_trigger_data failed");

	/* statements that summarise orders take days in the session TimeZone */
	nestlevel = crm_track_use_settings(entry->time_zone);
	if (TRIGGER_FIRED_BY_INSERT(event))
	{
		if (transition_rows(trigdata->tg_newtable) == 1)
			insert_one(fcinfo, entry, trigdata);
		else
			run_plan(fcinfo, entry, TRACK_SQL_INSERT, NULL, NULL);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		run_plan(fcinfo, entry, TRACK_SQL_UPDATE_LOCK, NULL, NULL);
		run_plan(fcinfo, entry, TRACK_SQL_UPDATE_RECOMPUTE, NULL, NULL);
	}
	else if (TRIGGER_FIRED_BY_DELETE(event))
	{
		run_plan(fcinfo, entry, TRACK_SQL_DELETE_LOCK, NULL, NULL);
		run_plan(fcinfo, entry, TRACK_SQL_DELETE_RECOMPUTE, NULL, NULL);
	}
	else
		run_plan(fcinfo, entry, TRACK_SQL_TRUNCATE, NULL, NULL);
	crm_track_restore_settings(nestlevel);

	SPI_finish();
	return PointerGetDatum(NULL);
}

/* The statuses the history records, and what a new customer starts as */
#define STATUS_COUNT 3
static const char *const status_names[STATUS_COUNT] = {"tier", "loyalty", "lifecycle"};
static const char *const status_starts[STATUS_COUNT] = {"small", "none", "prospect"};

/* A text parameter of an SPI statement, NULL when value is */
static void
set_text_param(Datum *value, char *null, const char *text)
{
	*value = text ? CStringGetTextDatum(text) : (Datum) 0;
	*null = text ? ' ' : 'n';
}

/*
 * Whether a statement on the state table changed a status: for an UPDATE,
 * any row whose tier, loyalty or lifecycle differs from its old version;
 * for an INSERT, any new customer not in the starting statuses (small,
 * none, prospect).  Most order traffic changes figures, not statuses, and
 * then the history statement need not run at all.
 */
static bool
statuses_changed(TriggerData *trigdata, bool update)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	TransitionRows rows;
	int			attnums[STATUS_COUNT];
	Datum		start_values[STATUS_COUNT];
	bool		changed = false;

	for (int i = 0; i < STATUS_COUNT; i++)
	{
		attnums[i] = SPI_fnumber(desc, status_names[i]);
		if (attnums[i] <= 0)
			return true;		/* not a state table we know: let SQL decide */
		if (!update)
			start_values[i] = crm_enum_label(TupleDescAttr(desc, attnums[i] - 1)->atttypid,
											 status_starts[i]);
	}

	transition_begin(&rows, trigdata, update);
	while (!changed && transition_next(&rows))
	{
		for (int i = 0; i < STATUS_COUNT && !changed; i++)
		{
			bool		new_null;
			bool		old_null = false;
			Datum		new_value = slot_getattr(rows.new_slot, attnums[i], &new_null);
			Datum		old_value = update ?
				slot_getattr(rows.old_slot, attnums[i], &old_null) : start_values[i];

			/* enum values are OIDs, passed by value */
			changed = new_null != old_null ||
				(!new_null && DatumGetObjectId(new_value) != DatumGetObjectId(old_value));
		}
	}
	transition_end(&rows);
	return changed;
}

/*
 * History of a statement that changed a few customers: compare the rows
 * here, insert one history row per change with a prepared statement and
 * send one message -- the set-based statement costs more to start than
 * these few rows cost to write.
 */
static void
history_few(FunctionCallInfo fcinfo, TrackEntry *entry, TriggerData *trigdata,
			bool update)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	TransitionRows rows;
	int			customer_attnum = column_number(desc, "customer");
	int			attnums[STATUS_COUNT];
	StringInfoData message;
	int			changes = 0;
	bool		notify = false;

	for (int i = 0; i < STATUS_COUNT; i++)
		attnums[i] = column_number(desc, status_names[i]);

	initStringInfo(&message);
	appendStringInfoString(&message, "{\"table\": ");
	escape_json(&message, entry->label);
	appendStringInfoString(&message, ", \"changes\": [");

	transition_begin(&rows, trigdata, update);
	while (transition_next(&rows))
	{
		HeapTuple	new_tuple = ExecCopySlotHeapTuple(rows.new_slot);
		HeapTuple	old_tuple = update ? ExecCopySlotHeapTuple(rows.old_slot) : NULL;
		char	   *now_values[STATUS_COUNT];

		for (int i = 0; i < STATUS_COUNT; i++)
			now_values[i] = SPI_getvalue(new_tuple, desc, attnums[i]);

		for (int i = 0; i < STATUS_COUNT; i++)
		{
			char	   *was = update ? SPI_getvalue(old_tuple, desc, attnums[i]) :
				pstrdup(status_starts[i]);
			Datum		values[7];
			char		nulls[7];
			bool		isnull;

			if (was != NULL && now_values[i] != NULL && strcmp(was, now_values[i]) == 0)
				continue;
			/* customer, status, old, new, then tier, loyalty, lifecycle now */
			values[0] = heap_getattr(new_tuple, customer_attnum, desc, &isnull);
			nulls[0] = isnull ? 'n' : ' ';
			values[1] = CStringGetTextDatum(status_names[i]);
			nulls[1] = ' ';
			set_text_param(&values[2], &nulls[2], was);
			set_text_param(&values[3], &nulls[3], now_values[i]);
			for (int j = 0; j < STATUS_COUNT; j++)
				set_text_param(&values[4 + j], &nulls[4 + j], now_values[j]);
			run_plan(fcinfo, entry, TRACK_SQL_HISTORY_ONE, values, nulls);

			if (changes++ > 0)
				appendStringInfoString(&message, ", ");
			appendStringInfoString(&message,
								   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1));
			notify = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 2, &isnull)) && !isnull;
		}
	}
	transition_end(&rows);

	appendStringInfoString(&message, "]}");
	if (changes > 0 && notify)
		Async_Notify("crm_status", message.data);
}

PG_FUNCTION_INFO_V1(crm_history_trigger);
Datum
crm_history_trigger(PG_FUNCTION_ARGS)
{
	int32		id = check_trigger_call(fcinfo, "crm_history_trigger");
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event = trigdata->tg_event;
	TrackSql	which;
	int			nestlevel;

	if (TRIGGER_FIRED_BY_INSERT(event))
	{
		check_transition_tables(trigdata, false, true, "crm_history_trigger");
		which = TRACK_SQL_HISTORY_INSERT;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		check_transition_tables(trigdata, true, true, "crm_history_trigger");
		which = TRACK_SQL_HISTORY_UPDATE;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm_history_trigger: must be fired by INSERT or UPDATE")));

	if (transition_rows(trigdata->tg_newtable) == 0)
		return PointerGetDatum(NULL);

	if (!statuses_changed(trigdata, which == TRACK_SQL_HISTORY_UPDATE))
		return PointerGetDatum(NULL);

	SPI_connect();
	nestlevel = crm_track_use_settings(NULL);
	/* a few customers' changes fit in one message whatever their keys */
	if (transition_rows(trigdata->tg_newtable) <= 4)
		history_few(fcinfo, tracking_entry(id, fcinfo->flinfo->fn_oid), trigdata,
					which == TRACK_SQL_HISTORY_UPDATE);
	else
	{
		if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
			elog(ERROR, "SPI_register_trigger_data failed");
		run_plan(fcinfo, tracking_entry(id, fcinfo->flinfo->fn_oid), which, NULL, NULL);
	}
	crm_track_restore_settings(nestlevel);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * The columns crm_state_trigger reads and writes, by attribute number, and
 * the crm_loyalty label OIDs; looked up once per statement (fn_extra).
 */
enum
{
	STATE_PURCHASE_DAYS,
	STATE_ORDERS,
	STATE_PROMO_ORDERS,
	STATE_ATTITUDE,
	STATE_PRICE_SENSITIVITY,
	STATE_REFERRALS,
	STATE_HAS_ALTERNATIVE,
	STATE_SHARE_OF_WALLET,
	STATE_LOYALTY,
	STATE_NUM_COLUMNS
};

static const char *const state_columns[STATE_NUM_COLUMNS] = {
	"purchase_days", "orders", "promo_orders", "attitude", "price_sensitivity",
	"referrals", "has_alternative", "share_of_wallet", "loyalty"
};

typedef struct StateColumns
{
	Oid			relid;
	int			attnums[STATE_NUM_COLUMNS];
	Datum		loyalty_labels[CRM_NUM_LOYALTY];
} StateColumns;

static StateColumns *
state_columns_of(FunctionCallInfo fcinfo, Relation rel)
{
	StateColumns *cols = (StateColumns *) fcinfo->flinfo->fn_extra;
	TupleDesc	desc = RelationGetDescr(rel);

	if (cols != NULL && cols->relid == RelationGetRelid(rel))
		return cols;
	cols = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(StateColumns));
	cols->relid = RelationGetRelid(rel);
	for (int i = 0; i < STATE_NUM_COLUMNS; i++)
		cols->attnums[i] = column_number(desc, state_columns[i]);
	for (int i = 0; i < CRM_NUM_LOYALTY; i++)
		cols->loyalty_labels[i] =
			crm_enum_label(TupleDescAttr(desc, cols->attnums[STATE_LOYALTY] - 1)->atttypid,
						   crm_loyalty_labels[i]);
	fcinfo->flinfo->fn_extra = cols;
	return cols;
}

/* A float8 survey column: false when NULL; an error outside [0, 1] */
static bool
survey_fraction(HeapTuple tuple, TupleDesc desc, int attnum, const char *name,
				double *value)
{
	bool		isnull;
	Datum		datum = heap_getattr(tuple, attnum, desc, &isnull);

	if (isnull)
		return false;
	*value = DatumGetFloat8(datum);
	crm_check_fraction(name, *value);
	return true;
}

/*
 * crm_state_trigger: BEFORE INSERT OR UPDATE FOR EACH ROW on a customer
 * state table.  Checks the survey columns and sets the loyalty type from
 * the row, by crm_loyalty_type's decision table with its default
 * thresholds: repeat rate = purchase days after the first / purchase days,
 * promotional share = promotional orders / orders (argument 'promo'), and
 * the survey columns.  A row trigger in C rather than a generated column
 * or CHECK constraints: those are rebuilt from their stored expressions
 * at every statement, which single-order statements feel.
 */
PG_FUNCTION_INFO_V1(crm_state_trigger);
Datum
crm_state_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	HeapTuple	tuple;
	StateColumns *cols;
	bool		promo_tracked;
	bool		isnull;
	Datum		datum;
	double		attitude = 0;
	double		price = 0;
	double		share = 0;
	double		promo_share = 0;
	double		repeat_rate = 0;
	int64		orders = 0;
	int32		referrals = 0;
	bool		attitude_high;
	bool		price_high;
	bool		refers = false;
	bool		no_alternative;
	bool		promo_high = false;
	int			days = 0;
	CrmLoyalty	type;
	int			attnum;
	Datum		value;
	bool		value_null = false;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm_state_trigger: not called by trigger manager")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm_state_trigger: must be fired BEFORE INSERT OR UPDATE ... FOR EACH ROW")));
	promo_tracked = trigdata->tg_trigger->tgnargs == 1 &&
		strcmp(trigdata->tg_trigger->tgargs[0], "promo") == 0;

	desc = RelationGetDescr(trigdata->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	cols = state_columns_of(fcinfo, trigdata->tg_relation);

	attitude_high = survey_fraction(tuple, desc, cols->attnums[STATE_ATTITUDE],
									"attitude", &attitude) &&
		attitude >= CRM_HIGH_ATTITUDE;
	price_high = survey_fraction(tuple, desc, cols->attnums[STATE_PRICE_SENSITIVITY],
								 "price_sensitivity", &price) &&
		price >= CRM_HIGH_PRICE_SENSITIVITY;
	(void) survey_fraction(tuple, desc, cols->attnums[STATE_SHARE_OF_WALLET],
						   "share_of_wallet", &share);
	datum = heap_getattr(tuple, cols->attnums[STATE_REFERRALS], desc, &isnull);
	if (!isnull)
	{
		referrals = DatumGetInt32(datum);
		if (referrals < 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("referrals must not be negative"),
					 errdetail("The value was %d.", referrals)));
		refers = referrals > 0;
	}
	datum = heap_getattr(tuple, cols->attnums[STATE_HAS_ALTERNATIVE], desc, &isnull);
	no_alternative = !isnull && !DatumGetBool(datum);

	datum = heap_getattr(tuple, cols->attnums[STATE_ORDERS], desc, &isnull);
	if (!isnull)
		orders = DatumGetInt64(datum);
	datum = heap_getattr(tuple, cols->attnums[STATE_PROMO_ORDERS], desc, &isnull);
	if (promo_tracked && !isnull && orders > 0)
	{
		promo_share = Min((double) DatumGetInt64(datum) / orders, 1.0);
		promo_high = promo_share >= CRM_HIGH_PROMO;
	}
	datum = heap_getattr(tuple, cols->attnums[STATE_PURCHASE_DAYS], desc, &isnull);
	if (!isnull)
	{
		ArrayType  *array = DatumGetArrayTypeP(datum);

		days = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	}

	/* no purchase day yet: no behaviour, no loyalty type */
	if (days > 0)
	{
		repeat_rate = (double) (days - 1) / days;
		type = crm_loyalty_of(repeat_rate >= CRM_HIGH_REPEAT, no_alternative,
							  promo_high, price_high, attitude_high, refers);
	}
	else
		type = CRM_LOYALTY_NONE;

	attnum = cols->attnums[STATE_LOYALTY];
	value = cols->loyalty_labels[type];
	datum = heap_getattr(tuple, attnum, desc, &isnull);
	if (!isnull && DatumGetObjectId(datum) == DatumGetObjectId(value))
		return PointerGetDatum(tuple);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &attnum,
													 &value, &value_null));
}
