/*
 * relay.c
 *		How status messages reach channel crm_status: through an outbox table
 *		that a background worker, the status relay, empties into NOTIFY.
 *
 * Why not NOTIFY from the committing transaction: PostgreSQL queues
 * notifications in commit order by taking a database-wide lock in
 * PreCommit_Notify and holding it until the commit record is on disk, so
 * transactions that notify cannot share a disk flush.  With many clients
 * inserting orders, most of which change some customer's status, that lock
 * rather than the tracking sets the pace.  Instead a transaction appends
 * its messages to crm_status_outbox (unlogged: no WAL, and lost in a crash
 * like the notification queue itself), and the relay, one per database,
 * deletes what has committed and sends it in one transaction of its own
 * every few milliseconds (and vacuums the outbox five times a second while
 * busy).  Listeners get the same channel and payloads, after the commit as
 * before, with the relay's process id as sender.
 *
 * The relay is started on demand by the first transaction that has
 * something to send and leaves after a second without messages, so it
 * holds no worker slot and no database connection while orders do not
 * arrive (DROP DATABASE waits for it to go).  Two locks keep a message
 * from being stranded between a relay leaving and the next one starting:
 *	- the relay holds the "relay lock" (an advisory lock of its own kind)
 *	  for its whole life; a writer that can take it in share mode knows no
 *	  relay is running, and starts one;
 *	- a writer holds RowExclusiveLock on the outbox until it commits (as any
 *	  INSERT would), and the relay leaves only after taking ShareLock on the
 *	  outbox without waiting, sending what is there and releasing the relay
 *	  lock in that same transaction: a writer either committed before the
 *	  last round, or waits for it and then sees that no relay is running.
 * On a Citus node the relay has a second duty: every round it folds the
 * customers that transactions prepared for two-phase commit left for later
 * (deferred.c), and it leaves only once no transaction holds that queue
 * either.
 * A relay that dies or is stopped leaves what it had not sent in the
 * outbox, and the next transaction with a message starts one that sends it
 * all (a backend starts one a second at most, and sends its messages itself
 * in between).  Where no relay can start (no free worker slot), or crm.status_relay
 * is off, the transaction sends its messages with NOTIFY itself.  (Even a
 * transaction that commits asynchronously, and so holds the notification
 * lock only while its commit record is written, does better through the
 * relay when most transactions send something: the relay sends for many
 * at once.)
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/async.h"
#include "commands/sequence.h"
#include "commands/vacuum.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_node.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "track.h"

#define RELAY_CHANNEL "crm_status"
#define OUTBOX_NAME "crm_status_outbox"
#define OUTBOX_SEQUENCE_NAME "crm_status_outbox_id_seq"

/* How often the relay looks for committed messages */
#define RELAY_POLL_MS 10
/* How long the relay stays without messages before it leaves */
#define RELAY_IDLE_MS 1000
/*
 * How often a relay that is sending vacuums the outbox.  Every round reads
 * the whole outbox, and what it deleted stays there as dead rows, which
 * writers do not reuse, until a vacuum: autovacuum comes once a minute at
 * most, when the outbox of a busy database has grown by a minute of
 * messages that every round then reads through.
 */
#define RELAY_VACUUM_MS 200
/* How long a writer that started a relay counts on it to take its lock */
#define RELAY_STARTUP_GRACE_MS 500
/*
 * How long a backend waits before it starts another relay: if the last one
 * it started is gone already, it sends its messages itself meanwhile rather
 * than start relays that fail, one per transaction
 */
#define RELAY_RESTART_MS 1000

/*
 * The relay lock's tag: an advisory lock of the database, with a fourth
 * field no SQL advisory lock function uses (they use 1 and 2), so that no
 * pg_advisory_lock call can take or block it
 */
#define RELAY_LOCK_KEY 0x63726d31	/* "crm1" */
#define RELAY_LOCK_KIND 3

/* crm.status_relay: send messages through the relay (on) or with NOTIFY */
static bool status_relay = true;

/*
 * The relay this backend started last, and when: for RELAY_STARTUP_GRACE_MS
 * it is counted on while its process runs, though it may not hold the relay
 * lock yet
 */
static BackgroundWorkerHandle *relay_handle = NULL;
static TimestampTz relay_started_at = 0;

PGDLLEXPORT void crm_status_relay_main(Datum main_arg);

void
crm_track_relay_define_settings(void)
{
	DefineCustomBoolVariable("crm.status_relay",
							 "Sends crm_status messages through crm's status relay worker.",
							 "When off, each transaction sends its messages with NOTIFY itself, "
							 "which serialises the commits of notifying transactions.",
							 &status_relay,
							 true,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}

static void
relay_lock_tag(LOCKTAG *tag)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, RELAY_LOCK_KEY, 0, RELAY_LOCK_KIND);
}

/* Whether a relay is running in this database: it holds the relay lock */
static bool
relay_running(void)
{
	LOCKTAG		tag;

	relay_lock_tag(&tag);
	if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ShareLock, false);
	return false;
}

/*
 * Start a relay for this database and wait until the postmaster has started
 * it; false if it could not be
 */
static bool
start_relay(void)
{
	BackgroundWorker worker = {0};
	MemoryContext caller_context;
	bool		registered;
	pid_t		pid;

	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "crm");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "crm_status_relay_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "crm status relay for database %u",
			 MyDatabaseId);
	snprintf(worker.bgw_type, BGW_MAXLEN, "crm status relay");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	worker.bgw_notify_pid = MyProcPid;

	if (relay_handle != NULL)
		pfree(relay_handle);
	relay_handle = NULL;
	caller_context = MemoryContextSwitchTo(TopMemoryContext);
	registered = RegisterDynamicBackgroundWorker(&worker, &relay_handle);
	MemoryContextSwitchTo(caller_context);
	return registered &&
		WaitForBackgroundWorkerStartup(relay_handle, &pid) == BGWH_STARTED;
}

/*
 * Whether the relay this backend started is about to take the relay lock:
 * its process runs, and it started too recently to have left already
 */
static bool
relay_starting(void)
{
	pid_t		pid;

	return relay_handle != NULL &&
		!TimestampDifferenceExceeds(relay_started_at, GetCurrentTimestamp(),
									RELAY_STARTUP_GRACE_MS) &&
		GetBackgroundWorkerPid(relay_handle, &pid) == BGWH_STARTED;
}

/*
 * Whether a relay will send what this transaction appends to the outbox:
 * one is running, or this backend started one a moment ago that has not
 * taken its lock yet, or one can be started now (and this backend has not
 * started one in the last RELAY_RESTART_MS)
 */
static bool
relay_available(void)
{
	static bool warned = false;

	TimestampTz now;

	if (relay_running() || relay_starting())
		return true;
	now = GetCurrentTimestamp();
	if (relay_started_at != 0 &&
		!TimestampDifferenceExceeds(relay_started_at, now, RELAY_RESTART_MS))
		return false;

	/*
	 * Timed before the start, so that the relay, which counts its idle time
	 * from its own start, cannot have left while the grace lasts
	 */
	relay_started_at = now;
	if (start_relay())
		return true;
	if (!warned)
	{
		ereport(LOG,
				(errmsg("crm could not start its status relay; transactions send their status messages themselves"),
				 errhint("Raise max_worker_processes to let crm_status messages go without serialising commits.")));
		warned = true;
	}
	return false;
}

/*
 * Send one status message: append it to the outbox of the extension in
 * schema "ext_namespace" for the relay, or, where no relay can, NOTIFY it.
 * The outbox stays locked (RowExclusiveLock) until the transaction ends,
 * which keeps a running relay from leaving before it has sent the message.
 */
void
crm_track_send_status(Oid ext_namespace, const char *payload)
{
	Oid			outbox_id = get_relname_relid(OUTBOX_NAME, ext_namespace);
	Oid			sequence_id = get_relname_relid(OUTBOX_SEQUENCE_NAME, ext_namespace);
	Relation	outbox;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	HeapTuple	tuple;

	if (!status_relay || !OidIsValid(outbox_id) || !OidIsValid(sequence_id))
	{
		Async_Notify(RELAY_CHANNEL, payload);
		return;
	}
	outbox = table_open(outbox_id, RowExclusiveLock);
	if (!relay_available())
	{
		table_close(outbox, RowExclusiveLock);
		Async_Notify(RELAY_CHANNEL, payload);
		return;
	}
	values[0] = Int64GetDatum(nextval_internal(sequence_id, false));
	values[1] = CStringGetTextDatum(payload);
	tuple = heap_form_tuple(RelationGetDescr(outbox), values, nulls);
	simple_heap_insert(outbox, tuple);
	heap_freetuple(tuple);
	table_close(outbox, NoLock);
}

/*
 * Make sure a relay runs in this database, to fold what a transaction on a
 * Citus node left for later (deferred.c): as for a message
 */
void
crm_track_relay_wake(void)
{
	(void) relay_available();
}

/* The relay's side */

/* A message taken from the outbox */
typedef struct RelayMessage
{
	int64		id;
	char	   *payload;
} RelayMessage;

static int
message_cmp(const void *a, const void *b)
{
	int64		x = ((const RelayMessage *) a)->id;
	int64		y = ((const RelayMessage *) b)->id;

	return (x > y) - (x < y);
}

typedef enum RelayRound
{
	RELAY_SENT,					/* messages went out */
	RELAY_NOTHING,				/* the outbox was empty */
	RELAY_LEFT,					/* it was empty and the relay lock is given up */
	RELAY_GONE					/* crm is not installed here (any more) */
} RelayRound;

/*
 * The relay's queries, planned once and kept: where crm is installed, and
 * the deletion of the outbox found there (planned again only if crm is
 * installed anew, with an outbox of another OID)
 */
static SPIPlanPtr extension_plan = NULL;
/* The outbox the last round found */
static Oid	relay_outbox = InvalidOid;
static SPIPlanPtr delete_plan = NULL;
static char *delete_sql = NULL;
static Oid	delete_plan_outbox = InvalidOid;

/* The outbox of crm in this database; InvalidOid if crm is not installed */
static Oid
find_outbox(void)
{
	bool		isnull;

	if (extension_plan == NULL)
	{
		extension_plan = SPI_prepare("SELECT extnamespace FROM pg_catalog.pg_extension WHERE extname = 'crm'",
									 0, NULL);
		if (extension_plan == NULL || SPI_keepplan(extension_plan) != 0)
			elog(ERROR, "could not prepare the status relay's query");
	}
	if (SPI_execute_plan(extension_plan, NULL, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		return InvalidOid;
	return get_relname_relid(OUTBOX_NAME,
							 DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
															SPI_tuptable->tupdesc,
															1, &isnull)));
}

/* Prepare (once per outbox) the deletion of the messages from outbox_id */
static void
prepare_delete(Oid outbox_id)
{
	if (delete_plan != NULL && delete_plan_outbox == outbox_id)
		return;
	if (delete_plan != NULL)
	{
		SPI_freeplan(delete_plan);
		pfree(delete_sql);
	}
	delete_sql = MemoryContextStrdup(TopMemoryContext,
									 psprintf("DELETE FROM %s.%s RETURNING id, payload",
											  quote_identifier(get_namespace_name(get_rel_namespace(outbox_id))),
											  OUTBOX_NAME));
	delete_plan = SPI_prepare(delete_sql, 0, NULL);
	if (delete_plan == NULL || SPI_keepplan(delete_plan) != 0)
		elog(ERROR, "could not prepare the status relay's deletion from %s", OUTBOX_NAME);
	delete_plan_outbox = outbox_id;
}

/*
 * One round: in one transaction, delete the committed messages from the
 * outbox and NOTIFY them in the order they were queued in.  With "leave",
 * only if no writer has the outbox open, and then give the relay lock up
 * in the same transaction.
 */
static RelayRound
relay_round(bool leave)
{
	RelayRound	result;
	Oid			outbox_id;
	Oid			deferred_id;
	bool		isnull;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());

	outbox_id = find_outbox();
	relay_outbox = outbox_id;
	if (!OidIsValid(outbox_id))
		result = RELAY_GONE;
	else if (leave && !ConditionalLockRelationOid(outbox_id, ShareLock))
		result = RELAY_NOTHING;
	else if (leave && OidIsValid(deferred_id = crm_track_deferred_relid(get_rel_namespace(outbox_id))) &&
			 !ConditionalLockRelationOid(deferred_id, ShareLock))
		result = RELAY_NOTHING;
	else
	{
		RelayMessage *messages;
		uint64		n;
		uint64		folded;

		prepare_delete(outbox_id);
		pgstat_report_activity(STATE_RUNNING, delete_sql);
		if (SPI_execute_plan(delete_plan, NULL, NULL, false, 0) != SPI_OK_DELETE_RETURNING)
			elog(ERROR, "could not take the messages from %s", OUTBOX_NAME);
		n = SPI_processed;
		messages = palloc(Max(n, 1) * sizeof(RelayMessage));
		for (uint64 i = 0; i < n; i++)
		{
			HeapTuple	row = SPI_tuptable->vals[i];

			messages[i].id = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc,
														1, &isnull));
			messages[i].payload = SPI_getvalue(row, SPI_tuptable->tupdesc, 2);
		}
		qsort(messages, n, sizeof(RelayMessage), message_cmp);
		for (uint64 i = 0; i < n; i++)
			Async_Notify(RELAY_CHANNEL, messages[i].payload);

		/* and fold what transactions on a Citus node left for later */
		folded = crm_track_fold_deferred(get_rel_namespace(outbox_id));

		if (n > 0 || folded > 0)
			result = RELAY_SENT;
		else if (leave)
		{
			LOCKTAG		tag;

			relay_lock_tag(&tag);
			LockRelease(&tag, ExclusiveLock, true);
			result = RELAY_LEFT;
		}
		else
			result = RELAY_NOTHING;
	}

	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return result;
}

/*
 * VACUUM the outbox, as the command would (in transactions of its own),
 * skipping it if autovacuum or anyone else holds it
 */
static void
vacuum_outbox(Oid outbox_id)
{
	VacuumStmt *stmt = makeNode(VacuumStmt);
	MemoryContext portal_context = AllocSetContextCreate(TopMemoryContext,
														 "crm status relay vacuum",
														 ALLOCSET_DEFAULT_SIZES);

	stmt->options = list_make1(makeDefElem("skip_locked", NULL, -1));
	stmt->rels = list_make1(makeVacuumRelation(NULL, outbox_id, NIL));
	stmt->is_vacuumcmd = true;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "VACUUM " OUTBOX_NAME);
	/* VACUUM keeps what must outlive its transactions under the portal's */
	PortalContext = portal_context;
	ExecVacuum(make_parsestate(NULL), stmt, true);
	CommitTransactionCommand();
	PortalContext = NULL;
	MemoryContextDelete(portal_context);
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * The relay: take the relay lock (or leave, another relay has it), then send
 * what committed transactions queued every RELAY_POLL_MS (vacuuming the
 * outbox every RELAY_VACUUM_MS while there is any), until nothing has come
 * for RELAY_IDLE_MS and no writer holds the outbox.
 */
void
crm_status_relay_main(Datum main_arg)
{
	LOCKTAG		tag;
	TimestampTz last_sent;
	TimestampTz last_vacuum;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg),
											  InvalidOid, 0);

	/*
	 * Its only writes are deletions from an unlogged table, so its commits
	 * need no flush; say so rather than rely on it
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	relay_lock_tag(&tag);
	StartTransactionCommand();
	if (LockAcquire(&tag, ExclusiveLock, true, true) == LOCKACQUIRE_NOT_AVAIL)
	{
		CommitTransactionCommand();
		proc_exit(0);
	}
	CommitTransactionCommand();

	last_sent = last_vacuum = GetCurrentTimestamp();
	for (;;)
	{
		bool		idle = TimestampDifferenceExceeds(last_sent, GetCurrentTimestamp(),
													  RELAY_IDLE_MS);
		RelayRound	round = relay_round(idle);

		if (round == RELAY_LEFT || round == RELAY_GONE)
			break;
		if (round == RELAY_SENT)
		{
			last_sent = GetCurrentTimestamp();
			if (TimestampDifferenceExceeds(last_vacuum, last_sent, RELAY_VACUUM_MS))
			{
				vacuum_outbox(relay_outbox);
				last_vacuum = GetCurrentTimestamp();
			}
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 RELAY_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(0);
}
