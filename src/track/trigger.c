/*
 * trigger.c
 *		The triggers crm_track attaches: crm_orders_trigger on the orders
 *		table (and each of its partitions or inheritance children),
 *		crm_state_trigger and crm_history_trigger on the customer state
 *		table; and crm_tracking_trigger on crm_tracking itself.
 *
 * The orders triggers are statement triggers with transition tables
 * (crm_new, crm_old), one per event, on every table of the tracked tree:
 * a statement fires those of the table it names, whose transition tables
 * hold every row it changed, in that table's partitions or children too.
 * They only note what the statement did, per customer (pending.c): the
 * new orders of a customer summed up, or the customers an UPDATE or DELETE
 * touched, to be recomputed.  The state is written at commit (fold.c).
 * So the user's statement never waits for a state row, and never fails
 * because of one.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/array.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "storage/proc.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "crm.h"
#include "loyalty.h"
#include "track.h"

/*
 * Ensure we were called by the trigger manager, for a statement, with the
 * tracking id as the only argument; returns the id.
 */
static int32
check_trigger_call(FunctionCallInfo fcinfo, const char *fname)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	TriggerEvent event;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: not called by trigger manager", fname)));
	event = trigdata->tg_event;
	if (!TRIGGER_FIRED_FOR_STATEMENT(event) ||
		(TRIGGER_FIRED_BY_TRUNCATE(event) ?
		 !TRIGGER_FIRED_BEFORE(event) : !TRIGGER_FIRED_AFTER(event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: must be fired AFTER INSERT, UPDATE or DELETE, or BEFORE TRUNCATE, FOR EACH STATEMENT",
						fname)));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s: expected one argument, the tracking id", fname),
				 errhint("Use crm_track to add the triggers.")));
	return pg_strtoint32(trigger->tgargs[0]);
}

/*
 * Ensure the transition tables are there, by the names crm_track gives
 * them
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

/*
 * An order as the tracking reads it from a row: false when it counts for
 * nobody (a NULL customer, an amount or time that is NULL, NaN or infinite)
 */
typedef struct OrderRow
{
	Datum		customer;
	Numeric		amount;
	TimestampTz at;
	DateADT		day;
	bool		promo;
} OrderRow;

static bool
read_order(TrackEntry *entry, const TrackMember *member, TupleTableSlot *slot,
		   OrderRow *order)
{
	const TrackInfo *info = entry->info;
	bool		isnull;
	Datum		value;

	order->customer = slot_getattr(slot, member->attnums[TRACK_COL_CUSTOMER], &isnull);
	if (isnull)
		return false;
	value = slot_getattr(slot, member->attnums[TRACK_COL_AMOUNT], &isnull);
	if (isnull ||
		!crm_track_order_amount(info->column_types[TRACK_COL_AMOUNT], value, &order->amount))
		return false;
	value = slot_getattr(slot, member->attnums[TRACK_COL_ORDERED_AT], &isnull);
	if (isnull ||
		!crm_track_order_time(info->ordered_at_type, value, entry->zone,
							  &order->at, &order->day))
		return false;
	order->promo = false;
	if (entry->has_promo)
	{
		value = slot_getattr(slot, member->attnums[TRACK_COL_PROMO], &isnull);
		order->promo = !isnull && DatumGetBool(value);
	}
	return true;
}

/* Whether a tracked column differs between two versions of a row */
static bool
tracked_columns_differ(TrackEntry *entry, const TrackMember *member,
					   TupleDesc desc, TupleTableSlot *a, TupleTableSlot *b)
{
	for (int i = 0; i < TRACK_NUM_COLS; i++)
	{
		AttrNumber	attnum = member->attnums[i];
		Form_pg_attribute att;
		bool		a_null;
		bool		b_null;
		Datum		a_value;
		Datum		b_value;

		if (attnum == InvalidAttrNumber)
			continue;
		att = TupleDescAttr(desc, attnum - 1);
		a_value = slot_getattr(a, attnum, &a_null);
		b_value = slot_getattr(b, attnum, &b_null);
		if (a_null != b_null ||
			(!a_null && !datumIsEqual(a_value, b_value, att->attbyval, att->attlen)))
			return true;
	}
	return false;
}

/* Mark the customer of a counted order to be recomputed */
static void
mark_recompute(TrackChangeSet *set, TrackEntry *entry, const TrackMember *member,
			   TupleTableSlot *slot)
{
	OrderRow	order;

	if (read_order(entry, member, slot, &order))
		crm_track_changes_get(set, order.customer)->recompute = true;
}

/*
 * The statement's rows, per customer: new orders summed, or the customers
 * an UPDATE or DELETE touched (before and after) to be recomputed.  Each
 * row is read in a context of its own, reset for the next.
 */
static void
collect_rows(TrackChangeSet *set, TrackEntry *entry, TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	const TrackMember *member = crm_track_member(entry, rel);
	TriggerEvent event = trigdata->tg_event;
	bool		with_new = !TRIGGER_FIRED_BY_DELETE(event);
	bool		with_old = !TRIGGER_FIRED_BY_INSERT(event);
	TupleTableSlot *new_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	TupleTableSlot *old_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MemoryContext row_context = AllocSetContextCreate(CurrentMemoryContext,
													  "crm order row",
													  ALLOCSET_DEFAULT_SIZES);
	MemoryContext caller_context = CurrentMemoryContext;
	MemoryContext set_context = crm_track_changes_context(set);

	if (with_new)
		tuplestore_rescan(trigdata->tg_newtable);
	if (with_old)
		tuplestore_rescan(trigdata->tg_oldtable);
	for (;;)
	{
		MemoryContextReset(row_context);
		MemoryContextSwitchTo(row_context);
		if (with_new && !tuplestore_gettupleslot(trigdata->tg_newtable, true, false, new_slot))
			break;
		if (with_old && !tuplestore_gettupleslot(trigdata->tg_oldtable, true, false, old_slot))
		{
			if (with_new)
				elog(ERROR, "transition tables crm_old and crm_new differ in length");
			break;
		}

		if (TRIGGER_FIRED_BY_INSERT(event))
		{
			OrderRow	order;

			if (read_order(entry, member, new_slot, &order))
			{
				TrackChange *change = crm_track_changes_get(set, order.customer);

				MemoryContextSwitchTo(set_context);
				crm_track_delta_add(&change->delta, order.amount, order.at,
									order.day, order.promo);
				change->has_delta = true;
			}
		}
		else if (TRIGGER_FIRED_BY_DELETE(event))
			mark_recompute(set, entry, member, old_slot);
		else if (tracked_columns_differ(entry, member, desc, old_slot, new_slot))
		{
			/* an UPDATE of other columns (a status, a note) changes no customer */
			mark_recompute(set, entry, member, old_slot);
			mark_recompute(set, entry, member, new_slot);
		}
		ExecClearTuple(new_slot);
		ExecClearTuple(old_slot);
	}
	MemoryContextSwitchTo(caller_context);
	MemoryContextDelete(row_context);
	ExecDropSingleTupleTableSlot(new_slot);
	ExecDropSingleTupleTableSlot(old_slot);
	if (with_new)
		tuplestore_rescan(trigdata->tg_newtable);
	if (with_old)
		tuplestore_rescan(trigdata->tg_oldtable);
}

/*
 * A trigger of a table Citus distributes, fired on the coordinator (the
 * table there holds no rows; as by a TRUNCATE): its shards' triggers do
 * the work, on the nodes that hold them
 */
static bool
skip_citus_table(const TrackEntry *entry)
{
	return entry->shard == 0 && entry->info->distributed;
}

/*
 * The whole tracked table of this TRUNCATE is being truncated: a reset at
 * commit.  Its partitions' triggers fire too, in the same command, and
 * then have nothing to add.
 */
static int32 reset_id = -1;
static LocalTransactionId reset_lxid = InvalidLocalTransactionId;
static CommandId reset_cid = InvalidCommandId;

static bool
reset_noted(int32 id)
{
	return reset_id == id && reset_lxid == MyProc->lxid &&
		reset_cid == GetCurrentCommandId(false);
}

/*
 * BEFORE TRUNCATE of one table of the tracked tree: the tracked table with
 * no children, or a partitioned one, empties everyone; anything else (a
 * partition, an inheritance parent or child) takes away the orders of its
 * own customers, read before they go.
 */
static void
collect_truncate(TrackChangeSet *set, TrackEntry *entry, Relation rel,
				 bool *reset)
{
	Oid			relid = RelationGetRelid(rel);
	TrackIdentity identity;
	int			nestlevel;

	if (reset_noted(entry->id))
		return;
	if (relid == entry->orders_relid &&
		(rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE || !has_subclass(relid)))
	{
		*reset = true;
		reset_id = entry->id;
		reset_lxid = MyProc->lxid;
		reset_cid = GetCurrentCommandId(false);
		return;
	}

	crm_track_become_owner(relid, &identity);
	nestlevel = crm_track_use_settings(NULL);
	SPI_connect();

	/* the TRUNCATE holds the table */
	crm_track_recompute_customers(set, crm_track_member_sql(entry->info,
															 TRACK_SQL_CUSTOMERS_OF,
															 relid));
	SPI_finish();
	crm_track_restore_settings(nestlevel);
	crm_track_restore_identity(&identity);
}

/*
 * A shard's trigger whose tracking has no settings on this node: the table
 * was tracked, then distributed by Citus (with citus.enable_unsafe_triggers
 * on, which copied crm's triggers to the shards), and its state was left on
 * the coordinator.  The write goes on uncounted -- never an error in it --
 * and says so, once per session.
 */
static void
warn_not_counted(int32 id, Relation rel)
{
	static int32 warned_id = -1;

	if (warned_id == id)
		return;
	warned_id = id;
	ereport(WARNING,
			(errmsg("orders written to %s are not counted by crm tracking %d",
					RelationGetRelationName(rel), id),
			 errdetail("The table was distributed by Citus after crm_track, which left its state on the coordinator."),
			 errhint("On the coordinator, run crm_distribute_tracked on the table: it distributes the state and history with it and recounts the orders.")));
}

/*
 * TRUNCATE of a table Citus distributes, on the coordinator: Citus gives
 * the shards no TRUNCATE triggers, so every customer is reset here, now,
 * by a statement on the distributed state table.  The folds on the nodes
 * recompute from the orders whatever else this transaction wrote to a
 * truncated shard (fold.c).
 */
static void
reset_citus_table(TrackEntry *entry)
{
	TrackIdentity identity;
	int			nestlevel;

	crm_track_become(entry->owner, &identity);
	nestlevel = crm_track_use_settings(entry->info->time_zone_name);
	SPI_connect();
	crm_track_run_sql(crm_track_sql(entry->info, TRACK_SQL_TRUNCATE));
	SPI_finish();
	crm_track_restore_settings(nestlevel);
	crm_track_restore_identity(&identity);
}

PG_FUNCTION_INFO_V1(crm_orders_trigger);
Datum
crm_orders_trigger(PG_FUNCTION_ARGS)
{
	int32		id = check_trigger_call(fcinfo, "crm_orders_trigger");
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event = trigdata->tg_event;
	int64		shard;
	TrackEntry *entry;
	TrackChangeSet *set;
	bool		reset = false;

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

	/*
	 * No tracking by that id: a restore that has not brought crm_tracking's
	 * rows yet (the state it brings holds these orders already)
	 */
	shard = crm_track_citus_trigger_shard(trigdata->tg_trigger);
	entry = crm_track_entry(id, shard, get_func_namespace(fcinfo->flinfo->fn_oid));
	if (entry == NULL && shard != 0)
		warn_not_counted(id, trigdata->tg_relation);
	if (entry == NULL)
		return PointerGetDatum(NULL);
	if (skip_citus_table(entry))
	{
		if (TRIGGER_FIRED_BY_TRUNCATE(event))
			reset_citus_table(entry);
		return PointerGetDatum(NULL);
	}

	set = crm_track_changes_begin(entry);
	if (TRIGGER_FIRED_BY_TRUNCATE(event))
		collect_truncate(set, entry, trigdata->tg_relation, &reset);
	else
		collect_rows(set, entry, trigdata);
	crm_track_changes_end(set, reset);
	return PointerGetDatum(NULL);
}

/*
 * The label of an enum value, looked up once per backend and value: a
 * status column holds a few labels
 */
#define LABEL_CACHE_SIZE 64

static const char *
enum_value_label(Datum value)
{
	static Oid	oids[LABEL_CACHE_SIZE];
	static char *labels[LABEL_CACHE_SIZE];
	static int	n = 0;
	HeapTuple	tuple;
	char	   *label;

	for (int i = 0; i < n; i++)
		if (oids[i] == DatumGetObjectId(value))
			return labels[i];
	tuple = SearchSysCache1(ENUMOID, value);
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "invalid internal value for enum: %u", DatumGetObjectId(value));
	label = MemoryContextStrdup(TopMemoryContext,
								NameStr(((Form_pg_enum) GETSTRUCT(tuple))->enumlabel));
	ReleaseSysCache(tuple);
	if (n < LABEL_CACHE_SIZE)
	{
		oids[n] = DatumGetObjectId(value);
		labels[n++] = label;
	}
	return label;
}

static void
slot_statuses(TupleTableSlot *slot, const AttrNumber *attnums, const char **labels)
{
	for (int i = 0; i < TRACK_NUM_STATUSES; i++)
	{
		bool		isnull;
		Datum		value = slot_getattr(slot, attnums[i], &isnull);

		labels[i] = isnull ? NULL : enum_value_label(value);
	}
}

/*
 * crm_history_trigger: AFTER INSERT or UPDATE FOR EACH STATEMENT on a state
 * table, for the statements that write it other than the fold: an edit of
 * the survey columns, crm_refresh.  Compares each row's tier, loyalty and
 * lifecycle with its old version (for an INSERT, with what a new customer
 * starts as) and records the changes, as the orders table's owner.
 */
PG_FUNCTION_INFO_V1(crm_history_trigger);
Datum
crm_history_trigger(PG_FUNCTION_ARGS)
{
	int32		id = check_trigger_call(fcinfo, "crm_history_trigger");
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event = trigdata->tg_event;
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	bool		update;
	TrackEntry *entry;
	TrackConfig config;
	TrackIdentity identity;
	TrackRecorder *recorder;
	AttrNumber	attnums[TRACK_NUM_STATUSES];
	AttrNumber	key_attnum;
	TupleTableSlot *new_slot;
	TupleTableSlot *old_slot;
	MemoryContext work;
	MemoryContext caller_context = CurrentMemoryContext;

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
	if (transition_rows(trigdata->tg_newtable) == 0)
		return PointerGetDatum(NULL);

	entry = crm_track_entry(id, crm_track_citus_trigger_shard(trigdata->tg_trigger),
							get_func_namespace(fcinfo->flinfo->fn_oid));
	if (entry == NULL || skip_citus_table(entry))
		return PointerGetDatum(NULL);
	config = *crm_track_config(entry);
	/* a restore loading the state and its history */
	if (!config.found || (config.restoring && crm_track_restore_session()))
		return PointerGetDatum(NULL);

	crm_track_find_columns(desc, crm_track_status_names, TRACK_NUM_STATUSES,
						   attnums, RelationGetRelationName(trigdata->tg_relation));
	crm_track_find_columns(desc, (const char *const[]) {"customer"}, 1, &key_attnum,
						   RelationGetRelationName(trigdata->tg_relation));
	work = AllocSetContextCreate(caller_context, "crm history", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	new_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	old_slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);

	crm_track_become_owner(entry->orders_relid, &identity);
	recorder = crm_track_recorder_begin(entry, config.notify);
	tuplestore_rescan(trigdata->tg_newtable);
	if (update)
		tuplestore_rescan(trigdata->tg_oldtable);
	while (tuplestore_gettupleslot(trigdata->tg_newtable, true, false, new_slot))
	{
		const char *was[TRACK_NUM_STATUSES];
		const char *now[TRACK_NUM_STATUSES];
		bool		isnull;
		Datum		customer;

		if (update &&
			!tuplestore_gettupleslot(trigdata->tg_oldtable, true, false, old_slot))
			elog(ERROR, "transition tables crm_old and crm_new differ in length");
		slot_statuses(new_slot, attnums, now);
		if (update)
			slot_statuses(old_slot, attnums, was);
		else
			memcpy(was, crm_track_status_starts, sizeof(was));
		customer = slot_getattr(new_slot, key_attnum, &isnull);
		if (!isnull)
			crm_track_recorder_add(recorder, customer, was, now);
	}
	crm_track_recorder_end(recorder);
	crm_track_restore_identity(&identity);
	tuplestore_rescan(trigdata->tg_newtable);
	if (update)
		tuplestore_rescan(trigdata->tg_oldtable);
	ExecDropSingleTupleTableSlot(new_slot);
	ExecDropSingleTupleTableSlot(old_slot);
	MemoryContextSwitchTo(caller_context);
	MemoryContextDelete(work);
	return PointerGetDatum(NULL);
}

/*
 * crm_tracking_trigger: on crm_tracking, BEFORE INSERT FOR EACH ROW and
 * AFTER INSERT, UPDATE OR DELETE FOR EACH STATEMENT.  A row crm_track does
 * not insert is one a restore brings (pg_dump keeps the table's rows): it
 * is marked restoring, so that the restore's sessions do not count the
 * orders they load into the state they load too (see
 * crm_track_restore_session).  After a statement, the backends that keep
 * the settings are told to read them again.
 */
PG_FUNCTION_INFO_V1(crm_tracking_trigger);
Datum
crm_tracking_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			attnum;
	Datum		value = BoolGetDatum(true);
	bool		isnull = false;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm_tracking_trigger: not called by trigger manager")));

	/*
	 * After a statement that changed crm_tracking: every backend reads its
	 * settings again (each keeps them, tracking.c), once this commits
	 */
	if (TRIGGER_FIRED_AFTER(trigdata->tg_event) &&
		TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
	{
		Oid			ext_namespace = get_func_namespace(fcinfo->flinfo->fn_oid);

		CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
		/* crm_tracking itself, not its copy on a Citus cluster: copy it */
		if (RelationGetRelid(trigdata->tg_relation) == crm_track_tracking_relid(ext_namespace))
			crm_track_citus_copy_settings(ext_namespace);
		return PointerGetDatum(NULL);
	}
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("crm_tracking_trigger: must be fired BEFORE INSERT ... FOR EACH ROW, or AFTER ... FOR EACH STATEMENT")));
	if (crm_track_creating)
		return PointerGetDatum(trigdata->tg_trigtuple);
	desc = RelationGetDescr(trigdata->tg_relation);
	attnum = SPI_fnumber(desc, "restoring");
	if (attnum <= 0)
		elog(ERROR, "crm_tracking has no column restoring");
	return PointerGetDatum(heap_modify_tuple_by_cols(trigdata->tg_trigtuple, desc,
													 1, &attnum, &value, &isnull));
}

/*
 * The columns the loyalty type of a state row is judged from, in the order
 * of enum TrackLoyaltyColumn (track.h)
 */
const char *const crm_track_loyalty_columns[TRACK_LOYALTY_NUM_COLUMNS] = {
	"purchase_days", "orders", "promo_orders", "attitude", "price_sensitivity",
	"referrals", "has_alternative", "share_of_wallet", "loyalty"
};

/*
 * The crm_loyalty label OIDs of crm_state_trigger's table, and its columns
 * by attribute number; looked up once per statement (fn_extra)
 */
typedef struct StateColumns
{
	Oid			relid;
	AttrNumber	attnums[TRACK_LOYALTY_NUM_COLUMNS];
	Datum		loyalty_labels[CRM_NUM_LOYALTY];
} StateColumns;

/*
 * The crm_loyalty label OIDs: an enum's labels keep their OIDs for as long
 * as the type exists, so they are looked up once per backend and type
 */
static Oid	loyalty_type = InvalidOid;
static Datum loyalty_labels[CRM_NUM_LOYALTY];

static StateColumns *
state_columns_of(FunctionCallInfo fcinfo, Relation rel)
{
	StateColumns *cols = (StateColumns *) fcinfo->flinfo->fn_extra;
	TupleDesc	desc = RelationGetDescr(rel);
	Oid			type;

	if (cols != NULL && cols->relid == RelationGetRelid(rel))
		return cols;
	cols = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(StateColumns));
	cols->relid = RelationGetRelid(rel);
	crm_track_find_columns(desc, crm_track_loyalty_columns, TRACK_LOYALTY_NUM_COLUMNS,
						   cols->attnums, RelationGetRelationName(rel));
	type = TupleDescAttr(desc, cols->attnums[TRACK_LOYALTY_LOYALTY] - 1)->atttypid;
	if (type != loyalty_type)
	{
		loyalty_type = InvalidOid;
		for (int i = 0; i < CRM_NUM_LOYALTY; i++)
			loyalty_labels[i] = crm_enum_label(type, crm_loyalty_labels[i]);
		loyalty_type = type;
	}
	memcpy(cols->loyalty_labels, loyalty_labels, sizeof(loyalty_labels));
	fcinfo->flinfo->fn_extra = cols;
	return cols;
}

/*
 * A float8 survey column: false when NULL.  Checked, an error outside
 * [0, 1]; unchecked (a row already in the table), compared as it is.
 */
static bool
survey_fraction(const Datum *values, const bool *nulls, AttrNumber attnum,
				const char *name, bool check, double *value)
{
	if (nulls[attnum - 1])
		return false;
	*value = DatumGetFloat8(values[attnum - 1]);
	if (check)
		crm_check_fraction(name, *value);
	return true;
}

/*
 * The loyalty type of a state row (values and nulls by attribute number -
 * 1; attnums of crm_track_loyalty_columns), by crm_loyalty_type's decision
 * table with its default thresholds: repeat rate = purchase days after the
 * first / purchase days, promotional share = promotional orders / orders
 * (when promo_tracked), and the survey columns.  check: the survey columns
 * are checked, as for a row being written by a statement.
 */
int
crm_track_row_loyalty(const Datum *values, const bool *nulls,
					  const AttrNumber *attnums, bool promo_tracked, bool check)
{
	double		attitude = 0;
	double		price = 0;
	double		share = 0;
	int64		orders = 0;
	bool		attitude_high;
	bool		price_high;
	bool		refers = false;
	bool		no_alternative;
	bool		promo_high = false;
	int			days = 0;
	AttrNumber	attnum;

	attitude_high = survey_fraction(values, nulls, attnums[TRACK_LOYALTY_ATTITUDE],
									"attitude", check, &attitude) &&
		attitude >= CRM_HIGH_ATTITUDE;
	price_high = survey_fraction(values, nulls, attnums[TRACK_LOYALTY_PRICE_SENSITIVITY],
								 "price_sensitivity", check, &price) &&
		price >= CRM_HIGH_PRICE_SENSITIVITY;
	(void) survey_fraction(values, nulls, attnums[TRACK_LOYALTY_SHARE_OF_WALLET],
						   "share_of_wallet", check, &share);
	attnum = attnums[TRACK_LOYALTY_REFERRALS];
	if (!nulls[attnum - 1])
	{
		int32		referrals = DatumGetInt32(values[attnum - 1]);

		if (check && referrals < 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("referrals must not be negative"),
					 errdetail("The value was %d.", referrals)));
		refers = referrals > 0;
	}
	attnum = attnums[TRACK_LOYALTY_HAS_ALTERNATIVE];
	no_alternative = !nulls[attnum - 1] && !DatumGetBool(values[attnum - 1]);

	attnum = attnums[TRACK_LOYALTY_ORDERS];
	if (!nulls[attnum - 1])
		orders = DatumGetInt64(values[attnum - 1]);
	attnum = attnums[TRACK_LOYALTY_PROMO_ORDERS];
	if (promo_tracked && !nulls[attnum - 1] && orders > 0)
		promo_high = Min((double) DatumGetInt64(values[attnum - 1]) / orders, 1.0) >=
			CRM_HIGH_PROMO;
	attnum = attnums[TRACK_LOYALTY_PURCHASE_DAYS];
	if (!nulls[attnum - 1])
	{
		ArrayType  *array = DatumGetArrayTypeP(values[attnum - 1]);

		days = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	}

	/* no purchase day yet: no behaviour, no loyalty type */
	if (days == 0)
		return CRM_LOYALTY_NONE;
	return crm_loyalty_of((double) (days - 1) / days >= CRM_HIGH_REPEAT, no_alternative,
						  promo_high, price_high, attitude_high, refers);
}

/*
 * crm_state_trigger: BEFORE INSERT OR UPDATE FOR EACH ROW on a customer
 * state table.  Checks the survey columns and sets the loyalty type from
 * the row (crm_track_row_loyalty); argument 'promo': the promotional share
 * counts.  A row trigger in C rather than a generated column or CHECK
 * constraints: those are rebuilt from their stored expressions at every
 * statement, which single-order statements feel.  The fold, which writes
 * most rows, sets the loyalty type itself and leaves the trigger out
 * (fold.c).
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
	Datum	   *values;
	bool	   *nulls;
	int			type;
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
	promo_tracked = crm_track_promo_trigger(trigdata->tg_trigger);

	desc = RelationGetDescr(trigdata->tg_relation);
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ?
		trigdata->tg_newtuple : trigdata->tg_trigtuple;
	cols = state_columns_of(fcinfo, trigdata->tg_relation);
	values = palloc(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	heap_deform_tuple(tuple, desc, values, nulls);
	type = crm_track_row_loyalty(values, nulls, cols->attnums, promo_tracked, true);

	attnum = cols->attnums[TRACK_LOYALTY_LOYALTY];
	value = cols->loyalty_labels[type];
	if (!nulls[attnum - 1] &&
		DatumGetObjectId(values[attnum - 1]) == DatumGetObjectId(value))
		return PointerGetDatum(tuple);
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, desc, 1, &attnum,
													 &value, &value_null));
}

/* Whether a crm_state_trigger trigger counts the promotional share */
bool
crm_track_promo_trigger(const Trigger *trigger)
{
	return trigger->tgnargs == 1 && strcmp(trigger->tgargs[0], "promo") == 0;
}
