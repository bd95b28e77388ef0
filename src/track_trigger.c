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

#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "track.h"

/* Prepared statements, per tracked table and statement */
typedef struct PlanKey
{
	int32		id;
	int32		which;
} PlanKey;

typedef struct PlanEntry
{
	PlanKey		key;
	SPIPlanPtr	plan;
} PlanEntry;

static HTAB *plans = NULL;

/*
 * The prepared statement "which" of tracking "id", prepared on first use.
 * Statements naming crm_new or crm_old are prepared while the trigger's
 * transition tables are registered, as PL/pgSQL does.
 */
static SPIPlanPtr
tracking_plan(int32 id, TrackSql which, Oid fn_oid)
{
	PlanKey		key;
	PlanEntry  *entry;
	SPIPlanPtr	plan;

	if (plans == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(PlanKey);
		ctl.entrysize = sizeof(PlanEntry);
		plans = hash_create("crm tracking plans", 32, &ctl,
							HASH_ELEM | HASH_BLOBS);
	}
	memset(&key, 0, sizeof(key));
	key.id = id;
	key.which = which;
	entry = hash_search(plans, &key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->plan;

	plan = SPI_prepare(crm_track_sql(crm_track_info(id, fn_oid), which), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	entry = hash_search(plans, &key, HASH_ENTER, NULL);
	entry->plan = plan;
	return plan;
}

static void
run_plan(FunctionCallInfo fcinfo, int32 id, TrackSql which)
{
	int			ret = SPI_execute_plan(tracking_plan(id, which, fcinfo->flinfo->fn_oid),
									   NULL, NULL, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(ret));
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
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "SPI_register_trigger_data failed");

	if (TRIGGER_FIRED_BY_INSERT(event))
		run_plan(fcinfo, id, TRACK_SQL_INSERT);
	else if (TRIGGER_FIRED_BY_UPDATE(event))
	{
		run_plan(fcinfo, id, TRACK_SQL_UPDATE_LOCK);
		run_plan(fcinfo, id, TRACK_SQL_UPDATE_RECOMPUTE);
	}
	else if (TRIGGER_FIRED_BY_DELETE(event))
	{
		run_plan(fcinfo, id, TRACK_SQL_DELETE_LOCK);
		run_plan(fcinfo, id, TRACK_SQL_DELETE_RECOMPUTE);
	}
	else
		run_plan(fcinfo, id, TRACK_SQL_TRUNCATE);

	SPI_finish();
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(crm_history_trigger);
Datum
crm_history_trigger(PG_FUNCTION_ARGS)
{
	int32		id = check_trigger_call(fcinfo, "crm_history_trigger");
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event = trigdata->tg_event;
	TrackSql	which;

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

	SPI_connect();
	if (SPI_register_trigger_data(trigdata) != SPI_OK_TD_REGISTER)
		elog(ERROR, "SPI_register_trigger_data failed");
	run_plan(fcinfo, id, which);
	SPI_finish();
	return PointerGetDatum(NULL);
}
