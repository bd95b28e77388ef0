/*
 * history.c
 *		Every change of a customer's tier, loyalty type or lifecycle stage,
 *		recorded in the history table and announced on channel crm_status.
 *
 * The fold (fold.c) and the history trigger (trigger.c) hand each written
 * state row's old and new statuses to a recorder, which inserts a history
 * row per change -- without SQL, through table.c, filling the identity,
 * changed_at and transaction_id from their defaults as an INSERT would --
 * and gathers the changes into messages
 * {"table": ..., "transaction": ..., "changes": [{customer, status, old,
 * new, tier, loyalty, lifecycle}, ...]}: all of them, only the alerts, or
 * none, as the tracking's notify setting says.  A message holds as many
 * changes as fit in a NOTIFY payload, so a bulk load sends a few hundred
 * messages rather than one per change.
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/sequence.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "track.h"

/* The statuses the history records, and what a new customer starts as */
const char *const crm_track_status_names[TRACK_NUM_STATUSES] = {"tier", "loyalty", "lifecycle"};
const char *const crm_track_status_starts[TRACK_NUM_STATUSES] = {"small", "none", "prospect"};

/* A NOTIFY payload must be shorter than 8000 bytes */
#define MESSAGE_MAX_BYTES 7999

/* The history columns a recorder fills */
enum
{
	HIST_CUSTOMER,
	HIST_STATUS,
	HIST_OLD_VALUE,
	HIST_NEW_VALUE,
	NUM_HIST
};

static const char *const history_names[NUM_HIST] = {
	"customer", "status", "old_value", "new_value"
};

struct TrackRecorder
{
	TrackEntry *entry;
	TrackNotify notify;
	MemoryContext context;
	bool		opened;			/* the history table, at the first change */
	TrackTable	table;
	AttrNumber	attnums[NUM_HIST];
	bool	   *filled;			/* by attribute number - 1 */
	AttrNumber	id_attnum;		/* set from history_sequence; else 0 */
	TupleTableSlot *slot;
	Oid			key_output;
	bool		key_numeric;	/* an integer key: a JSON number */
	StringInfoData message;		/* the message being filled */
	int			message_changes;
	bool		too_long;		/* a change too long for any message */
	StringInfoData item;
};

TrackRecorder *
crm_track_recorder_begin(TrackEntry *entry, TrackNotify notify)
{
	TrackRecorder *recorder = palloc0(sizeof(TrackRecorder));
	bool		varlena;

	recorder->entry = entry;
	recorder->notify = notify;
	recorder->context = CurrentMemoryContext;
	getTypeOutputInfo(entry->key.type, &recorder->key_output, &varlena);
	recorder->key_numeric = entry->key.type == INT2OID ||
		entry->key.type == INT4OID || entry->key.type == INT8OID;
	return recorder;
}

static void
open_history(TrackRecorder *recorder)
{
	TupleDesc	desc;

	crm_track_table_open(&recorder->table, recorder->entry->history_relid);
	desc = RelationGetDescr(recorder->table.rel);
	crm_track_table_columns(&recorder->table, history_names, NUM_HIST,
							recorder->attnums);
	recorder->filled = palloc0(sizeof(bool) * desc->natts);
	for (int i = 0; i < NUM_HIST; i++)
		recorder->filled[recorder->attnums[i] - 1] = true;
	recorder->slot = table_slot_create(recorder->table.rel,
									   &recorder->table.estate->es_tupleTable);
	/* a history shard on a Citus node has no default for its ids (citus.c) */
	if (OidIsValid(recorder->entry->history_sequence))
	{
		crm_track_find_columns(desc, (const char *const[]) {"id"}, 1, &recorder->id_attnum,
							   RelationGetRelationName(recorder->table.rel));
		recorder->filled[recorder->id_attnum - 1] = true;
	}
	recorder->opened = true;
}

static void
insert_history(TrackRecorder *recorder, Datum customer, const char *status,
			   const char *old_value, const char *new_value)
{
	TupleTableSlot *slot = recorder->slot;
	const AttrNumber *attnums = recorder->attnums;

	ExecClearTuple(slot);
	crm_track_table_fill_defaults(&recorder->table, slot, recorder->filled);
	slot->tts_values[attnums[HIST_CUSTOMER] - 1] = customer;
	slot->tts_isnull[attnums[HIST_CUSTOMER] - 1] = false;
	slot->tts_values[attnums[HIST_STATUS] - 1] = CStringGetTextDatum(status);
	slot->tts_isnull[attnums[HIST_STATUS] - 1] = false;
	slot->tts_values[attnums[HIST_OLD_VALUE] - 1] =
		old_value ? CStringGetTextDatum(old_value) : (Datum) 0;
	slot->tts_isnull[attnums[HIST_OLD_VALUE] - 1] = old_value == NULL;
	slot->tts_values[attnums[HIST_NEW_VALUE] - 1] =
		new_value ? CStringGetTextDatum(new_value) : (Datum) 0;
	slot->tts_isnull[attnums[HIST_NEW_VALUE] - 1] = new_value == NULL;
	if (recorder->id_attnum != InvalidAttrNumber)
	{
		slot->tts_values[recorder->id_attnum - 1] =
			Int64GetDatum(nextval_internal(recorder->entry->history_sequence, false));
		slot->tts_isnull[recorder->id_attnum - 1] = false;
	}
	ExecStoreVirtualTuple(slot);
	/* after whatever the fold wrote since the table was opened */
	recorder->table.estate->es_output_cid = GetCurrentCommandId(true);
	ExecSimpleRelationInsert(recorder->table.result_rel, recorder->table.estate, slot);
	ResetPerTupleExprContext(recorder->table.estate);
}

/*
 * Whether a change of status "status" to "now" is an alert: a customer
 * entering decline or churned, as the alerts view lists them
 */
static bool
is_alert(int status, const char *now)
{
	return strcmp(crm_track_status_names[status], "lifecycle") == 0 && now != NULL &&
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

static void
start_message(TrackRecorder *recorder)
{
	resetStringInfo(&recorder->message);
	appendStringInfoString(&recorder->message, "{\"table\": ");
	escape_json(&recorder->message, recorder->entry->info->label_plain);

	/*
	 * The transaction, as the history's transaction_id: it ties a message
	 * to its history rows, and keeps equal changes of two transactions
	 * apart when the relay sends them together (NOTIFY drops a payload
	 * equal to one already sent in the same transaction)
	 */
	appendStringInfo(&recorder->message,
					 ", \"transaction\": " UINT64_FORMAT ", \"changes\": [",
					 U64FromFullTransactionId(GetTopFullTransactionId()));
	recorder->message_changes = 0;
}

/* Send the message being filled */
static void
finish_message(TrackRecorder *recorder)
{
	if (recorder->message_changes == 0)
		return;
	appendStringInfoString(&recorder->message, "]}");
	crm_track_send_status(recorder->entry->ext_namespace, recorder->message.data);
	start_message(recorder);
}

/* Add one change, as JSON, to the messages */
static void
add_to_message(TrackRecorder *recorder, const char *item, int item_len)
{
	if (recorder->message.data == NULL)
	{
		initStringInfo(&recorder->message);
		start_message(recorder);
	}
	/* ", " before it and "]}" after it */
	if (recorder->message.len + item_len + 4 > MESSAGE_MAX_BYTES)
	{
		finish_message(recorder);
		if (recorder->message.len + item_len + 4 > MESSAGE_MAX_BYTES)
		{
			recorder->too_long = true;
			return;
		}
	}
	if (recorder->message_changes++ > 0)
		appendStringInfoString(&recorder->message, ", ");
	appendBinaryStringInfo(&recorder->message, item, item_len);
}

/*
 * Record the changes between a customer's statuses before (was) and after
 * (now) a write of its state row; statuses are labels, NULL when unknown.
 */
void
crm_track_recorder_add(TrackRecorder *recorder, Datum customer,
					   const char *const *was, const char *const *now)
{
	MemoryContext old = MemoryContextSwitchTo(recorder->context);
	char	   *key_json = NULL;

	for (int i = 0; i < TRACK_NUM_STATUSES; i++)
	{
		StringInfo	item = &recorder->item;

		if (was[i] == now[i] ||
			(was[i] != NULL && now[i] != NULL && strcmp(was[i], now[i]) == 0))
			continue;
		if (!recorder->opened)
			open_history(recorder);
		insert_history(recorder, customer, crm_track_status_names[i], was[i], now[i]);

		if (recorder->notify == TRACK_NOTIFY_NONE ||
			(recorder->notify == TRACK_NOTIFY_ALERTS && !is_alert(i, now[i])))
			continue;
		/* the change as JSON, for the messages */
		if (key_json == NULL)
		{
			StringInfoData key;

			initStringInfo(&key);
			if (recorder->key_numeric)
				appendStringInfoString(&key, OidOutputFunctionCall(recorder->key_output, customer));
			else
				escape_json(&key, OidOutputFunctionCall(recorder->key_output, customer));
			key_json = key.data;
		}
		if (item->data == NULL)
			initStringInfo(item);
		resetStringInfo(item);
		appendStringInfo(item, "{\"customer\": %s, \"status\": ", key_json);
		append_json_label(item, crm_track_status_names[i]);
		appendStringInfoString(item, ", \"old\": ");
		append_json_label(item, was[i]);
		appendStringInfoString(item, ", \"new\": ");
		append_json_label(item, now[i]);
		for (int j = 0; j < TRACK_NUM_STATUSES; j++)
		{
			appendStringInfo(item, ", \"%s\": ", crm_track_status_names[j]);
			append_json_label(item, now[j]);
		}
		appendStringInfoChar(item, '}');
		add_to_message(recorder, item->data, item->len);
	}
	if (key_json != NULL)
		pfree(key_json);
	MemoryContextSwitchTo(old);
}

/* Close the history table (its AFTER row triggers fire) and send the rest */
void
crm_track_recorder_end(TrackRecorder *recorder)
{
	if (recorder->opened)
		crm_track_table_close(&recorder->table);
	if (recorder->message.data != NULL)
		finish_message(recorder);
	if (recorder->too_long)
		ereport(WARNING,
				(errmsg("a status change of a customer of %s was recorded but not sent",
						recorder->entry->info->label_plain),
				 errdetail("The customer key is too long for a notification.")));
	pfree(recorder);
}
