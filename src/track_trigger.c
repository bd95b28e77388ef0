/*
 * track_trigger.c
 *		The triggers crm_track attaches: crm_orders_trigger on the orders
 *		table and crm_history_trigger on the customer state table.
 *
 * Both are AFTER ... FOR EACH STATEMENT triggers with transition tables
 * (crm_new, crm_old), so a bulk INSERT, COPY or UPDATE reaches the state
 * with one set-based statement that touches each customer once; a
 * single-row INSERT of a customer who has a state row runs no statement at
 * all (track_order.c).  The statements are those of track_sql.c, prepared
 * once per backend and tracked table and kept with SPI_keepplan.
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

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/array.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "crm.h"
#include "loyalty.h"

#include "track.h"

/*
 * What a backend keeps per tracked table: the orders columns the triggers
 * read themselves, and the statements, each prepared on first use.
 *
 * Tracking ids are unique within one crm_tracking table, not across them:
 * an extension dropped and created again (in the same schema or another)
 * numbers its trackings from 1 again.  So an entry remembers the
 * crm_tracking table it was read from, and once that table's relcache
 * entry is invalidated -- as dropping it does, in every backend -- the
 * entry is checked against the extension the trigger belongs to before
 * it is used again.
 */
typedef struct TrackEntry
{
	int32		id;				/* hash key: the tracking id */
	Oid			tracking_relid; /* the crm_tracking table read */
	bool		recheck;		/* that table's relcache entry was invalidated */
	NameData	column_names[TRACK_NUM_COLS];
	bool		has_promo;
	Oid			column_types[TRACK_NUM_COLS];
	char	   *time_zone;		/* in TopMemoryContext */
	char	   *label;			/* the orders table, for messages; ditto */
	TrackTarget target;			/* for track_order.c; its names ditto */
	SPIPlanPtr	plans[TRACK_SQL_COUNT];
} TrackEntry;

static HTAB *tracked = NULL;

/*
 * Relcache callback: flag the entries read from the invalidated table (all
 * of them on a cache reset).  Nothing is freed here: the entry may be in
 * use by a statement that is running, and most invalidations (VACUUM,
 * ANALYZE of crm_tracking) leave it valid.
 */
static void
recheck_tracking_entries(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	TrackEntry *entry;

	hash_seq_init(&status, tracked);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || entry->tracking_relid == relid)
			entry->recheck = true;
}

/*
 * Drop an entry of another crm_tracking table.  That table is gone, and
 * with it the triggers of its extension, which could not have been
 * dropped while a statement that fired them was running: nothing uses the
 * entry.
 */
static void
forget_tracking_entry(TrackEntry *entry)
{
	int32		id = entry->id;

	for (int i = 0; i < TRACK_SQL_COUNT; i++)
		if (entry->plans[i] != NULL)
			SPI_freeplan(entry->plans[i]);
	pfree(entry->time_zone);
	pfree(entry->label);
	pfree((char *) entry->target.schema);
	pfree((char *) entry->target.state_name);
	pfree((char *) entry->target.history_name);
	(void) hash_search(tracked, &id, HASH_REMOVE, NULL);
}

static TrackEntry *
tracking_entry(int32 id, Oid fn_oid)
{
	TrackEntry *entry;
	TrackInfo  *info;
	Oid			ext_namespace;
	Oid			relid;
	bool		found;

	if (tracked == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int32);
		ctl.entrysize = sizeof(TrackEntry);
		tracked = hash_create("crm tracked tables", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(recheck_tracking_entries, (Datum) 0);
	}
	entry = hash_search(tracked, &id, HASH_FIND, NULL);
	if (entry != NULL && !entry->recheck)
		return entry;
	ext_namespace = get_func_namespace(fn_oid);
	relid = crm_track_tracking_relid(ext_namespace);
	if (entry != NULL)
	{
		if (entry->tracking_relid == relid)
		{
			entry->recheck = false;
			return entry;
		}
		forget_tracking_entry(entry);
	}

	/* read the settings before entering, so an error leaves no entry */
	SPI_connect();
	info = crm_track_info(id, fn_oid);
	entry = hash_search(tracked, &id, HASH_ENTER, &found);
	entry->tracking_relid = relid;
	entry->recheck = false;
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
	entry->target.id = id;
	entry->target.schema = MemoryContextStrdup(TopMemoryContext, info->schema);
	entry->target.state_name = MemoryContextStrdup(TopMemoryContext,
												   psprintf("%s_state", info->prefix));
	entry->target.history_name = MemoryContextStrdup(TopMemoryContext,
													 psprintf("%s_history", info->prefix));
	entry->target.ext_namespace = ext_namespace;
	entry->target.time_zone = entry->time_zone;
	entry->target.amount_type = info->column_types[TRACK_COL_AMOUNT];
	entry->target.ordered_at_type = info->column_types[TRACK_COL_ORDERED_AT];
	SPI_finish();
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
	else if (which == TRACK_SQL_HISTORY)
	{
		/* arrays of customer, status, old value, new value */
		argtypes[0] = get_array_type(entry->column_types[TRACK_COL_CUSTOMER]);
		if (!OidIsValid(argtypes[0]))
			elog(ERROR, "customer key type %u has no array type",
				 entry->column_types[TRACK_COL_CUSTOMER]);
		for (int i = 1; i < 4; i++)
			argtypes[i] = TEXTARRAYOID;
		nargs = 4;
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
 * that may read them next expect.  Without trigger data, the rows are the
 * one pair of slots the caller filled (track_order.c's single update).
 */
typedef struct TransitionRows
{
	TriggerData *trigdata;		/* NULL: the one pair of slots below */
	bool		with_old;
	TupleTableSlot *new_slot;
	TupleTableSlot *old_slot;
	bool		pair_read;		/* without trigger data: read already */
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
	if (rows->trigdata == NULL)
	{
		if (rows->pair_read)
			return false;
		rows->pair_read = true;
		return true;
	}
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
	if (rows->trigdata == NULL)
		return;
	tuplestore_rescan(rows->trigdata->tg_newtable);
	if (rows->with_old)
		tuplestore_rescan(rows->trigdata->tg_oldtable);
	ExecDropSingleTupleTableSlot(rows->new_slot);
	ExecDropSingleTupleTableSlot(rows->old_slot);
}

/*
 * Single-row INSERT: fold the one order in, in C when its customer has a
 * state row (track_order.c), else with a parameterised statement; either
 * way without the per-customer aggregation over the transition table.  An
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
		TrackOrder	order;
		TrackFoldResult result;

		order.customer = values[TRACK_COL_CUSTOMER];
		order.amount = values[TRACK_COL_AMOUNT];
		order.ordered_at = values[TRACK_COL_ORDERED_AT];
		order.promo = nulls[TRACK_COL_PROMO] == ' ' &&
			DatumGetBool(values[TRACK_COL_PROMO]);
		result = crm_track_fold_order(fcinfo, &entry->target, &order);
		if (result != TRACK_FOLDED)
		{
			int			nestlevel;

			SPI_connect();
			nestlevel = crm_track_use_settings(entry->time_zone);
			if (result == TRACK_NOT_FOLDED)
				run_plan(fcinfo, entry, TRACK_SQL_UPDATE_ONE, values, nulls);
			if (result == TRACK_NEW_CUSTOMER || SPI_processed == 0)
				run_plan(fcinfo, entry, TRACK_SQL_INSERT_ONE, values, nulls);
			crm_track_restore_settings(nestlevel);
			SPI_finish();
		}
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

	entry = tracking_entry(id, fcinfo->flinfo->fn_oid);

	/* the commonest statement of all: one new order */
	if (TRIGGER_FIRED_BY_INSERT(event) &&
		transition_rows(trigdata->tg_newtable) == 1)
	{
		insert_one(fcinfo, entry, trigdata);
		return PointerGetDatum(NULL);
	}

	SPI_connect();

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
		run_plan(fcinfo, entry, TRACK_SQL_INSERT, NULL, NULL);
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

/*
 * A NOTIFY payload must be shorter than 8000 bytes; a message holds as
 * many changes as fit, so a bulk load sends a few hundred messages rather
 * than one per change (NOTIFY serialises committing transactions, and
 * each message costs)
 */
#define MESSAGE_MAX_BYTES 7999

/*
 * Labels of the status enums, by value: the few labels of a statement,
 * looked up once each
 */
#define LABEL_CACHE_SIZE 32

typedef struct LabelCache
{
	MemoryContext context;		/* where the labels are kept */
	int			n;
	Oid			values[LABEL_CACHE_SIZE];
	char	   *labels[LABEL_CACHE_SIZE];
} LabelCache;

static const char *
status_label(LabelCache *cache, TupleTableSlot *slot, int attnum, Oid typid)
{
	bool		isnull;
	Datum		value = slot_getattr(slot, attnum, &isnull);
	Oid			output;
	bool		varlena;
	char	   *label;

	if (isnull)
		return NULL;
	for (int i = 0; i < cache->n; i++)
		if (cache->values[i] == DatumGetObjectId(value))
			return cache->labels[i];
	getTypeOutputInfo(typid, &output, &varlena);
	label = OidOutputFunctionCall(output, value);
	if (cache->n < LABEL_CACHE_SIZE)
	{
		cache->values[cache->n] = DatumGetObjectId(value);
		cache->labels[cache->n++] = MemoryContextStrdup(cache->context, label);
	}
	return label;
}

/*
 * Whether a change of status "status" to "now" is an alert: a customer
 * entering decline or churned, as the alerts view lists them
 */
static bool
is_alert(int status, const char *now)
{
	return strcmp(status_names[status], "lifecycle") == 0 && now != NULL &&
		(strcmp(now, "decline") == 0 || strcmp(now, "churned") == 0);
}

/* A label as a JSON value: labels and status names are plain words */
static void
append_json_label(StringInfo buf, const char *label)
{
	if (label == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, label);
}

/* Changes inserted into the history per statement, at most */
#define HISTORY_BATCH 8192

/*
 * What the history trigger collects: a batch of changes as arrays for the
 * history statement, and the message being filled
 */
typedef struct HistoryChanges
{
	FunctionCallInfo fcinfo;
	TrackEntry *entry;			/* NULL until the first change */
	int			nestlevel;		/* of the statement settings */
	MemoryContext batch_context;	/* holds the arrays, reset per batch */
	Oid			customer_type;
	int			count;			/* changes in the batch */
	ArrayBuildState *customers;
	ArrayBuildState *statuses;
	ArrayBuildState *old_values;
	ArrayBuildState *new_values;
	TrackNotify notify;			/* which changes to send */
	StringInfoData message;		/* the message being filled */
	int			message_changes;
	bool		too_long;		/* a change too long for any message */
} HistoryChanges;

static void
start_batch(HistoryChanges *changes)
{
	MemoryContextReset(changes->batch_context);
	changes->customers = initArrayResult(changes->customer_type,
										 changes->batch_context, false);
	changes->statuses = initArrayResult(TEXTOID, changes->batch_context, false);
	changes->old_values = initArrayResult(TEXTOID, changes->batch_context, false);
	changes->new_values = initArrayResult(TEXTOID, changes->batch_context, false);
	changes->count = 0;
}

static void
start_message(HistoryChanges *changes)
{
	resetStringInfo(&changes->message);
	appendStringInfoString(&changes->message, "{\"table\": ");
	escape_json(&changes->message, changes->entry->label);
	/*
	 * The transaction, as the history's transaction_id: it ties a message
	 * to its history rows, and keeps equal changes of two transactions
	 * apart when the relay sends them together (NOTIFY drops a payload
	 * equal to one already sent in the same transaction)
	 */
	appendStringInfo(&changes->message, ", \"transaction\": " UINT64_FORMAT ", \"changes\": [",
					 U64FromFullTransactionId(GetTopFullTransactionId()));
	changes->message_changes = 0;
}

/* Send the message being filled */
static void
finish_message(HistoryChanges *changes)
{
	if (changes->message_changes == 0)
		return;
	appendStringInfoString(&changes->message, "]}");
	crm_track_send_status(changes->entry->target.ext_namespace,
						  changes->message.data);
	start_message(changes);
}

/* Add one change, as JSON, to the messages */
static void
add_to_message(HistoryChanges *changes, const char *item, int item_len)
{
	/* ", " before it and "]}" after it */
	if (changes->message.len + item_len + 4 > MESSAGE_MAX_BYTES)
	{
		finish_message(changes);
		if (changes->message.len + item_len + 4 > MESSAGE_MAX_BYTES)
		{
			changes->too_long = true;
			return;
		}
	}
	if (changes->message_changes++ > 0)
		appendStringInfoString(&changes->message, ", ");
	appendBinaryStringInfo(&changes->message, item, item_len);
}

/* Insert the batch into the history */
static void
flush_batch(HistoryChanges *changes)
{
	Datum		values[4];

	if (changes->count == 0)
		return;
	values[0] = makeArrayResult(changes->customers, changes->batch_context);
	values[1] = makeArrayResult(changes->statuses, changes->batch_context);
	values[2] = makeArrayResult(changes->old_values, changes->batch_context);
	values[3] = makeArrayResult(changes->new_values, changes->batch_context);
	run_plan(changes->fcinfo, changes->entry, TRACK_SQL_HISTORY, values, NULL);
	start_batch(changes);
}

/*
 * History of a statement on the state table, in one pass over its
 * transition tables: compare each row's tier, loyalty and lifecycle with
 * its old version (for an INSERT, with what a new customer starts as),
 * insert the changes in batches with one prepared statement over arrays
 * (or, given a writer, one by one without SPI), and send them as messages
 * {"table": ..., "transaction": ..., "changes": [{customer, status, old,
 * new, tier, loyalty, lifecycle}, ...]}: all of them, only the alerts, or
 * none, as the tracking's notify setting says.
 * Most order traffic changes figures, not statuses: then nothing runs at
 * all.  (A set-based SQL statement joining the two transition tables
 * sorted both, and the changes twice more for the messages: most of the
 * time of a bulk load.)
 */
static void
record_history(FunctionCallInfo fcinfo, int32 id, TupleDesc desc,
			   TransitionRows *rows, TrackHistoryWriter *writer,
			   TrackNotify notify)
{
	bool		update = rows->with_old;
	int			customer_attnum = column_number(desc, "customer");
	Oid			customer_type = TupleDescAttr(desc, customer_attnum - 1)->atttypid;
	bool		numeric_key = (customer_type == INT2OID ||
							   customer_type == INT4OID ||
							   customer_type == INT8OID);
	int			attnums[STATUS_COUNT];
	Oid			status_types[STATUS_COUNT];
	Oid			key_output;
	bool		key_varlena;
	LabelCache	labels = {0};
	HistoryChanges changes = {0};
	StringInfoData item;
	MemoryContext work;
	MemoryContext row_context;
	MemoryContext caller_context = CurrentMemoryContext;

	for (int i = 0; i < STATUS_COUNT; i++)
	{
		attnums[i] = column_number(desc, status_names[i]);
		status_types[i] = TupleDescAttr(desc, attnums[i] - 1)->atttypid;
	}
	getTypeOutputInfo(customer_type, &key_output, &key_varlena);

	/* everything here outlives SPI_connect and SPI_finish */
	work = AllocSetContextCreate(caller_context, "crm history",
								 ALLOCSET_DEFAULT_SIZES);
	row_context = AllocSetContextCreate(work, "crm history row",
										ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	labels.context = work;
	changes.fcinfo = fcinfo;
	changes.customer_type = customer_type;
	changes.batch_context = AllocSetContextCreate(work, "crm history batch",
												  ALLOCSET_DEFAULT_SIZES);
	initStringInfo(&changes.message);
	initStringInfo(&item);
	start_batch(&changes);

	for (;;)
	{
		const char *now[STATUS_COUNT];
		const char *was[STATUS_COUNT];
		Datum		customer;
		bool		isnull;
		char	   *key_json = NULL;

		/*
		 * Rows read from a transition table that went to disk are allocated
		 * in the current context and freed by the slot at the next read, so
		 * they are read into the statement's context; what a row allocates
		 * otherwise goes with it.
		 */
		MemoryContextSwitchTo(work);
		if (!transition_next(rows))
			break;
		MemoryContextReset(row_context);
		MemoryContextSwitchTo(row_context);
		for (int i = 0; i < STATUS_COUNT; i++)
		{
			now[i] = status_label(&labels, rows->new_slot, attnums[i], status_types[i]);
			was[i] = update ?
				status_label(&labels, rows->old_slot, attnums[i], status_types[i]) :
				status_starts[i];
		}
		customer = slot_getattr(rows->new_slot, customer_attnum, &isnull);
		for (int i = 0; i < STATUS_COUNT; i++)
		{
			if (was[i] == now[i] ||
				(was[i] != NULL && now[i] != NULL && strcmp(was[i], now[i]) == 0))
				continue;

			if (changes.entry == NULL)
			{
				/* the first change: now the statements and the settings */
				if (writer == NULL)
				{
					SPI_connect();
					MemoryContextSwitchTo(row_context);
					changes.nestlevel = crm_track_use_settings(NULL);
				}
				changes.entry = tracking_entry(id, fcinfo->flinfo->fn_oid);
				changes.notify = notify != TRACK_NOTIFY_UNREAD ? notify :
					crm_track_notify_mode(&changes.entry->target);
				start_message(&changes);
			}
			if (writer != NULL)
				crm_track_history_insert(writer, customer, isnull, status_names[i],
										 was[i], now[i]);
			else
			{
				if (changes.count == HISTORY_BATCH)
				{
					flush_batch(&changes);
					/* SPI leaves its own context current */
					MemoryContextSwitchTo(row_context);
				}
				accumArrayResult(changes.customers, customer, isnull, customer_type,
								 changes.batch_context);
				accumArrayResult(changes.statuses,
								 CStringGetTextDatum(status_names[i]), false,
								 TEXTOID, changes.batch_context);
				accumArrayResult(changes.old_values,
								 was[i] ? CStringGetTextDatum(was[i]) : (Datum) 0,
								 was[i] == NULL, TEXTOID, changes.batch_context);
				accumArrayResult(changes.new_values,
								 now[i] ? CStringGetTextDatum(now[i]) : (Datum) 0,
								 now[i] == NULL, TEXTOID, changes.batch_context);
				changes.count++;
			}

			if (changes.notify == TRACK_NOTIFY_NONE ||
				(changes.notify == TRACK_NOTIFY_ALERTS && !is_alert(i, now[i])))
				continue;
			/* the change as JSON, for the messages */
			if (key_json == NULL)
			{
				StringInfoData key;

				initStringInfo(&key);
				if (isnull)
					appendStringInfoString(&key, "null");
				else if (numeric_key)
					appendStringInfoString(&key, OidOutputFunctionCall(key_output, customer));
				else
					escape_json(&key, OidOutputFunctionCall(key_output, customer));
				key_json = key.data;
			}
			resetStringInfo(&item);
			appendStringInfo(&item, "{\"customer\": %s, \"status\": ", key_json);
			append_json_label(&item, status_names[i]);
			appendStringInfoString(&item, ", \"old\": ");
			append_json_label(&item, was[i]);
			appendStringInfoString(&item, ", \"new\": ");
			append_json_label(&item, now[i]);
			for (int j = 0; j < STATUS_COUNT; j++)
			{
				appendStringInfo(&item, ", \"%s\": ", status_names[j]);
				append_json_label(&item, now[j]);
			}
			appendStringInfoChar(&item, '}');
			add_to_message(&changes, item.data, item.len);
		}
	}
	MemoryContextSwitchTo(work);

	/*
	 * Rows read from a transition table that went to disk live in "work",
	 * and the slots free them at their next clear: clear them now, before
	 * "work" goes.  (A pair of slots given by the caller is the caller's.)
	 */
	if (rows->trigdata != NULL)
	{
		ExecClearTuple(rows->new_slot);
		if (rows->with_old)
			ExecClearTuple(rows->old_slot);
	}

	if (changes.entry != NULL)
	{
		flush_batch(&changes);
		if (changes.notify != TRACK_NOTIFY_NONE)
		{
			finish_message(&changes);
			if (changes.too_long)
				ereport(WARNING,
						(errmsg("a status change of a customer of %s was recorded but not sent",
								changes.entry->label),
						 errdetail("The customer key is too long for a notification.")));
		}
		if (writer == NULL)
		{
			crm_track_restore_settings(changes.nestlevel);
			SPI_finish();
		}
	}
	MemoryContextSwitchTo(caller_context);
	MemoryContextDelete(work);
}

PG_FUNCTION_INFO_V1(crm_history_trigger);
Datum
crm_history_trigger(PG_FUNCTION_ARGS)
{
	int32		id = check_trigger_call(fcinfo, "crm_history_trigger");
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event = trigdata->tg_event;
	bool		update;

	if (TRIGGER_FIRED_BY_INSERT(event))
	{
		check_transition_tables(trigdata, false, true, "crm_history_trigger");
		update = false;
	}
	else if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		check_transition_tables(trigdata, true, true, "crm_history_trigger");
		update = true;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm_history_trigger: must be fired by INSERT or UPDATE")));

	if (transition_rows(trigdata->tg_newtable) > 0)
	{
		TransitionRows rows;

		transition_begin(&rows, trigdata, update);
		record_history(fcinfo, id, RelationGetDescr(trigdata->tg_relation),
					   &rows, NULL, TRACK_NOTIFY_UNREAD);
		transition_end(&rows);
	}
	return PointerGetDatum(NULL);
}

/*
 * The history of one state row the orders trigger updated itself, without
 * a statement on the state table (track_order.c): the same records and
 * messages as crm_history_trigger's, inserted directly too unless only
 * the SQL statement may (crm_track_history_open).  The caller has read the
 * notify setting already, with the rest of the tracking's settings.
 */
void
crm_track_record_row_history(FunctionCallInfo fcinfo,
							 const TrackTarget *target, TupleDesc desc,
							 TupleTableSlot *old_slot,
							 TupleTableSlot *new_slot, TrackNotify notify)
{
	TransitionRows rows = {0};
	TrackHistoryWriter *writer = crm_track_history_open(target);

	rows.with_old = true;
	rows.old_slot = old_slot;
	rows.new_slot = new_slot;
	record_history(fcinfo, target->id, desc, &rows, writer, notify);
	if (writer != NULL)
		crm_track_history_close(writer);
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
