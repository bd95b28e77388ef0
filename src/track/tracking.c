/*
 * tracking.c
 *		A tracking's settings, from its crm_tracking row, and what a backend
 *		keeps of them: the names and types of its tables, the attribute
 *		numbers of the tracked columns in each orders table (a partition may
 *		lay them out differently), and its prepared statements.
 *
 * A tracking names its orders table by OID (a regclass column, which
 * pg_dump writes out by name) and its columns by name, which ddl.c keeps
 * current when they are renamed.  What a backend keeps is read again once
 * the relcache entry of one of the tables involved is invalidated -- as
 * ALTER TABLE, DROP and ANALYZE do, in every backend -- but never while a
 * statement is using it.
 *
 * Also here: running as the owner of the orders table, the way PostgreSQL's
 * own referential integrity triggers run their queries, so that a role
 * allowed to write orders needs no privilege on the state and history
 * tables and cannot write them by hand.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "commands/trigger.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "track.h"

/*
 * The error for a tracking that is gone: a crm_tracking row a trigger or
 * function names no longer exists.
 */
void
crm_track_missing(int32 id)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("crm tracking %d does not exist", id)));
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
 * Run one statement (or several, for DDL) through SPI; the number of rows
 * processed.  The caller is connected to SPI.
 */
uint64
crm_track_run_sql(const char *sql)
{
	int			ret = SPI_execute(sql, false, 0);

	if (ret < 0)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(ret));
	return SPI_processed;
}

/*
 * Settings for the statements tracking runs, until
 * crm_track_restore_settings(result), kept with a GUC nest level as
 * ri_triggers.c keeps its own (an error restores them too):
 *	- search_path = pg_catalog, pg_temp, so that whatever the caller's path,
 *	  built-in functions and operators are the built-in ones (our own
 *	  objects are schema-qualified), cached plans stay valid, and code that
 *	  runs as the table's owner cannot be steered by the writer's path;
 *	- TimeZone = the tracking's time zone, when time_zone is not NULL:
 *	  purchase days are calendar days there.
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

/*
 * Whether this session looks like a restore: pg_restore and the scripts
 * pg_dump writes turn row_security off, which applications leave on.
 * Together with a tracking restored from a dump and not written since
 * (crm_tracking.restoring), it keeps the orders a restore loads from being
 * counted a second time into the state the restore brings.
 */
bool
crm_track_restore_session(void)
{
	return !row_security;
}

/* The owner of relation relid */
Oid
crm_track_relation_owner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * Whether a table has triggers other than those of the extension in
 * ext_namespace: the fold then runs them, and must set a safe search_path
 */
static bool
has_foreign_triggers(Oid relid, Oid ext_namespace)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	bool		found = false;

	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
		if (get_func_namespace(trigdesc->triggers[i].tgfoid) != ext_namespace)
			found = true;
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * Run as the owner of relation relid until crm_track_restore_identity, as
 * ri_triggers.c runs its checks: the user id cannot be changed meanwhile
 * (SET ROLE is refused), and the owner's own row level security does not
 * hide rows from it (every order of a customer counts, whoever wrote the
 * last one).  An error restores the identity too.
 */
void
crm_track_become_owner(Oid relid, TrackIdentity *saved)
{
	crm_track_become(crm_track_relation_owner(relid), saved);
}

void
crm_track_become(Oid owner, TrackIdentity *saved)
{
	GetUserIdAndSecContext(&saved->saved_userid, &saved->saved_sec_context);
	SetUserIdAndSecContext(owner, saved->saved_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE | SECURITY_NOFORCE_RLS);
}

void
crm_track_restore_identity(const TrackIdentity *saved)
{
	SetUserIdAndSecContext(saved->saved_userid, saved->saved_sec_context);
}

/*
 * The columns of crm_tracking that crm_track_info reads, and read_row's
 * scan of one row by id: without SQL, so without the caller's privileges
 * (the row is anybody's to read, but the extension's schema may not be:
 * a role that writes orders need not see it), as the latest snapshot sees
 * it.
 */
enum
{
	INFO_ID,
	INFO_ORDERS_TABLE,
	INFO_CUSTOMER,
	INFO_AMOUNT,
	INFO_ORDERED_AT,
	INFO_PROMO,
	INFO_CUSTOMER_TYPE,
	INFO_STATE_SCHEMA,
	INFO_PREFIX,
	INFO_TIME_ZONE,
	NUM_INFO
};

static const char *const info_names[NUM_INFO] = {
	"id", "orders_table", "customer_column", "amount_column", "ordered_at_column",
	"promo_column", "customer_type", "state_schema", "prefix", "time_zone"
};

/*
 * Copy the named columns of crm_tracking row "id" into values and nulls;
 * false when there is no such row
 */
static bool
read_row(int32 id, Oid relid, const char *const *names, int n,
		 Datum *values, bool *nulls)
{
	Relation	rel;
	TupleDesc	desc;
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * n);
	ScanKeyData key;
	SysScanDesc scan;
	Snapshot	snapshot;
	HeapTuple	tuple;
	bool		found;

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	crm_track_find_columns(desc, names, n, attnums, "crm_tracking");
	ScanKeyInit(&key, attnums[0], BTEqualStrategyNumber, F_INT4EQ, Int32GetDatum(id));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  snapshot, 1, &key);
	tuple = systable_getnext(scan);
	found = HeapTupleIsValid(tuple);
	for (int i = 0; found && i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, attnums[i] - 1);

		values[i] = heap_getattr(tuple, attnums[i], desc, &nulls[i]);
		if (nulls[i])
			continue;
		/* crm_cluster_tracking names the orders table as text (citus.c) */
		if (att->atttypid == TEXTOID && strcmp(names[i], "orders_table") == 0)
			values[i] = ObjectIdGetDatum(RangeVarGetRelid(makeRangeVarFromNameList(textToQualifiedNameList(DatumGetTextPP(values[i]))),
														  NoLock, true));
		else
			values[i] = datumCopy(values[i], att->attbyval, att->attlen);
	}
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	/* the lock stays until the end of the transaction, as a query's would */
	table_close(rel, NoLock);
	pfree(attnums);
	return found;
}

static TrackInfo *info_from(int32 id, Oid ext_namespace, Oid tracking_relid,
							bool missing_ok);

/* A name or text column of a row read_row read, as a C string; NULL for NULL */
static char *
row_text(const Datum *values, const bool *nulls, int i, bool is_name)
{
	if (nulls[i])
		return NULL;
	return is_name ? pstrdup(NameStr(*DatumGetName(values[i]))) :
		TextDatumGetCString(values[i]);
}

/*
 * The tracked table of crm_tracking row "id", with quoted names; NULL when
 * there is no such row and missing_ok.  The result lives in the current
 * memory context.
 */
TrackInfo *
crm_track_info(int32 id, Oid ext_namespace, bool missing_ok)
{
	return info_from(id, ext_namespace, crm_track_tracking_relid(ext_namespace),
					 missing_ok);
}

/* The same from table tracking_relid: crm_tracking, or a copy (citus.c) */
static TrackInfo *
info_from(int32 id, Oid ext_namespace, Oid tracking_relid, bool missing_ok)
{
	TrackInfo  *info = palloc0(sizeof(TrackInfo));
	Datum		values[NUM_INFO];
	bool		nulls[NUM_INFO];
	char	   *relname;
	Oid			type;
	int32		typmod;
	Oid			collation;
	AttrNumber	attnum;

	info->id = id;
	if (!read_row(id, tracking_relid, info_names, NUM_INFO, values, nulls))
	{
		if (missing_ok)
			return NULL;
		crm_track_missing(id);
	}
	info->ext_schema = quote_identifier(get_namespace_name(ext_namespace));
	info->orders_relid = DatumGetObjectId(values[INFO_ORDERS_TABLE]);
	for (int i = 0; i < TRACK_NUM_COLS; i++)
		info->column_names[i] = row_text(values, nulls, INFO_CUSTOMER + i, true);
	info->customer = quote_identifier(info->column_names[TRACK_COL_CUSTOMER]);
	info->amount = quote_identifier(info->column_names[TRACK_COL_AMOUNT]);
	info->ordered_at = quote_identifier(info->column_names[TRACK_COL_ORDERED_AT]);
	info->promo = info->column_names[TRACK_COL_PROMO] ?
		quote_identifier(info->column_names[TRACK_COL_PROMO]) : NULL;
	info->customer_type = row_text(values, nulls, INFO_CUSTOMER_TYPE, false);
	info->schema = row_text(values, nulls, INFO_STATE_SCHEMA, true);
	info->prefix = row_text(values, nulls, INFO_PREFIX, true);
	info->time_zone_name = row_text(values, nulls, INFO_TIME_ZONE, false);
	info->time_zone = quote_literal_cstr(info->time_zone_name);

	relname = get_rel_name(info->orders_relid);
	if (relname == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the orders table of crm tracking %d does not exist", id)));
	info->orders = quote_qualified_identifier(get_namespace_name(get_rel_namespace(info->orders_relid)),
											  relname);
	info->label_plain = info->orders;
	info->label = quote_literal_cstr(info->orders);
	info->state = quote_qualified_identifier(info->schema,
											 psprintf("%s_state", info->prefix));
	info->history = quote_qualified_identifier(info->schema,
											   psprintf("%s_history", info->prefix));
	info->distributed = crm_track_citus_method(info->orders_relid, NULL) == 'h';
	info->settings = info->distributed ?
		psprintf("%s.crm_cluster_tracking", info->ext_schema) :
		psprintf("%s.crm_tracking", info->ext_schema);

	for (int i = 0; i < TRACK_NUM_COLS; i++)
	{
		info->column_types[i] = InvalidOid;
		if (info->column_names[i] == NULL)
			continue;
		attnum = get_attnum(info->orders_relid, info->column_names[i]);
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("tracked column \"%s\" of %s does not exist",
							info->column_names[i], info->orders)));
		info->column_types[i] = get_atttype(info->orders_relid, attnum);
	}
	info->ordered_at_type = info->column_types[TRACK_COL_ORDERED_AT];

	/* a text key is compared in its column's collation, as the orders are */
	attnum = get_attnum(info->orders_relid, info->column_names[TRACK_COL_CUSTOMER]);
	get_atttypetypmodcoll(info->orders_relid, attnum, &type, &typmod, &collation);
	info->key_varlena = get_typlen(type) == -1;
	info->key_collate = "";
	if (OidIsValid(collation) && collation != DEFAULT_COLLATION_OID)
	{
		HeapTuple	tuple = SearchSysCache1(COLLOID, ObjectIdGetDatum(collation));
		Form_pg_collation coll;

		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for collation %u", collation);
		coll = (Form_pg_collation) GETSTRUCT(tuple);
		/* qualified: the statements run with search_path = pg_catalog */
		info->key_collate = psprintf(" COLLATE %s",
									 quote_qualified_identifier(get_namespace_name(coll->collnamespace),
																NameStr(coll->collname)));
		ReleaseSysCache(tuple);
	}
	return info;
}

/*
 * The crm_tracking id of an orders table; -1 when it is not tracked and
 * missing_ok, else an error.  The caller is connected to SPI.
 */
int32
crm_track_id_of(Oid relid, Oid ext_namespace, bool missing_ok)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;
	int			ret;

	ret = SPI_execute_with_args(psprintf("SELECT id FROM %s.crm_tracking WHERE orders_table = $1",
										 quote_identifier(get_namespace_name(ext_namespace))),
								1, argtypes, args, NULL, true, 1);
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(ret));
	if (SPI_processed == 0)
	{
		char	   *name = get_rel_name(relid);

		if (missing_ok)
			return -1;
		if (name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", relid)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s is not tracked",
						quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												   name)),
				 errhint("Start tracking it with crm_track.")));
	}
	return DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
									   SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Customer keys compared as the state table's key: with the default hash
 * and btree operator classes of the type, in the key column's collation
 */
void
crm_track_key_type(TrackKeyType *key, Oid type, Oid collation,
				   MemoryContext context)
{
	TypeCacheEntry *typentry = lookup_type_cache(type,
												 TYPECACHE_HASH_PROC |
												 TYPECACHE_EQ_OPR |
												 TYPECACHE_CMP_PROC);

	if (!OidIsValid(typentry->hash_proc) || !OidIsValid(typentry->eq_opr) ||
		!OidIsValid(typentry->cmp_proc))
		elog(ERROR, "customer key type %s cannot be hashed and sorted",
			 format_type_be(type));
	key->type = type;
	key->typlen = typentry->typlen;
	key->typbyval = typentry->typbyval;
	key->collation = collation;
	fmgr_info_cxt(typentry->hash_proc, &key->hash, context);
	fmgr_info_cxt(get_opcode(typentry->eq_opr), &key->equal, context);
	fmgr_info_cxt(typentry->cmp_proc, &key->compare, context);
}

uint32
crm_track_key_hash(const TrackKeyType *key, Datum value)
{
	return DatumGetUInt32(FunctionCall1Coll((FmgrInfo *) &key->hash,
											key->collation, value));
}

bool
crm_track_key_equal(const TrackKeyType *key, Datum a, Datum b)
{
	return DatumGetBool(FunctionCall2Coll((FmgrInfo *) &key->equal,
										  key->collation, a, b));
}

int
crm_track_key_compare(const TrackKeyType *key, Datum a, Datum b)
{
	return DatumGetInt32(FunctionCall2Coll((FmgrInfo *) &key->compare,
										   key->collation, a, b));
}

/*
 * The trackings this backend knows, by id.  A slot points at what was read
 * last; once that goes stale it is read again into a new TrackEntry, and
 * the old one is kept until the transaction ends: a statement that holds
 * it goes on with what it read.
 */
typedef struct EntryKey
{
	int32		id;
	int64		shard;			/* 0, or a shard group on a Citus node */
} EntryKey;

typedef struct EntrySlot
{
	EntryKey	key;			/* hash key */
	TrackEntry *entry;
} EntrySlot;

static HTAB *slots = NULL;
static List *stale_entries = NIL;	/* in TopMemoryContext */

/*
 * Relcache callback: flag the entries that involve the invalidated table
 * (all of them on a cache reset).  Nothing is freed here.
 */
static void
invalidate_entries(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	EntrySlot  *slot;

	hash_seq_init(&status, slots);
	while ((slot = hash_seq_search(&status)) != NULL)
	{
		TrackEntry *entry = slot->entry;
		ListCell   *lc;

		if (entry == NULL || !entry->valid)
			continue;
		if (!OidIsValid(relid) || relid == entry->tracking_relid ||
			relid == entry->orders_relid || relid == entry->state_relid ||
			relid == entry->history_relid)
		{
			entry->valid = false;
			continue;
		}
		foreach(lc, entry->members)
			if (((TrackMember *) lfirst(lc))->relid == relid)
				entry->valid = false;
	}
}

/* Whether table prefix + suffix exists in the state's schema */
static bool
sibling_exists(const TrackInfo *info, const char *suffix)
{
	Oid			nspid = get_namespace_oid(info->schema, true);

	return OidIsValid(nspid) &&
		OidIsValid(get_relname_relid(psprintf("%s%s", info->prefix, suffix), nspid));
}

/* The OID of table prefix + suffix in schema, or an error */
static Oid
sibling_relid(const TrackInfo *info, const char *suffix)
{
	Oid			nspid = get_namespace_oid(info->schema, false);
	char	   *name = psprintf("%s%s", info->prefix, suffix);
	Oid			relid = get_relname_relid(name, nspid);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table %s of %s does not exist",
						quote_qualified_identifier(info->schema, name), info->label_plain),
				 errhint("crm_track creates it; do not drop or rename it while the table is tracked.")));
	return relid;
}

/*
 * Read tracking "id", for shard group "shard" on a Citus node when that is
 * not 0; NULL when it has no crm_tracking row (or, for a shard group, no
 * row in crm_cluster_tracking, or the group is not here)
 */
static TrackEntry *
load_entry(int32 id, int64 shard, Oid ext_namespace)
{
	MemoryContext context;
	MemoryContext old;
	TrackEntry *entry;
	TrackInfo  *info;
	AttrNumber	key_attnum;
	Oid			key_type;
	int32		key_typmod;
	Oid			key_collation;
	int			nestlevel;

	context = AllocSetContextCreate(CacheMemoryContext, "crm tracking",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(context);
	PG_TRY();
	{
		Oid			tracking_relid = shard == 0 ?
			crm_track_tracking_relid(ext_namespace) :
			crm_track_citus_settings_relid(ext_namespace, true);
		Oid			relids[3];
		Oid			tables[3];	/* before a shard group's replace them */

		info = !OidIsValid(tracking_relid) ? NULL :
			info_from(id, ext_namespace, tracking_relid, true);
		/*
		 * On a node, a tracking whose state is not here has nothing to
		 * fold into: a table tracked on the coordinator, then distributed
		 */
		if (info != NULL && shard != 0 &&
			(!sibling_exists(info, "_state") || !sibling_exists(info, "_history")))
			info = NULL;
		if (info != NULL)
		{
			relids[0] = info->orders_relid;
			relids[1] = sibling_relid(info, "_state");
			relids[2] = sibling_relid(info, "_history");
			memcpy(tables, relids, sizeof(tables));
		}
		if (info != NULL && shard != 0 &&
			!crm_track_citus_localize(info, shard, relids, tracking_relid))
			info = NULL;
		if (info != NULL)
		{
			entry = palloc0(sizeof(TrackEntry));
			entry->id = id;
			entry->shard = shard;
			entry->context = context;
			entry->info = info;
			entry->ext_namespace = ext_namespace;
			entry->tracking_relid = tracking_relid;
			entry->orders_relid = relids[0];
			entry->state_relid = relids[1];
			entry->history_relid = relids[2];
			if (shard != 0)
			{
				/* crm_refresh locks the state table; the shards are not it */
				entry->shell_state_relid = tables[1];
				/* a history shard's ids come from its table's identity sequence */
				entry->history_sequence =
					getIdentitySequence(tables[2], get_attnum(tables[2], "id"), false);
			}
			entry->has_promo = info->column_names[TRACK_COL_PROMO] != NULL;

			/* keys compare as the state table's key column does */
			key_attnum = get_attnum(entry->state_relid, "customer");
			if (key_attnum == InvalidAttrNumber)
				elog(ERROR, "state table of %s has no customer column",
					 info->label_plain);
			get_atttypetypmodcoll(entry->state_relid, key_attnum, &key_type,
								  &key_typmod, &key_collation);
			crm_track_key_type(&entry->key, key_type, key_collation, context);

			entry->owner = crm_track_relation_owner(entry->orders_relid);
			entry->foreign_triggers = has_foreign_triggers(entry->state_relid, ext_namespace) ||
				has_foreign_triggers(entry->history_relid, ext_namespace);

			/* the zone as the TimeZone setting takes it (pg_tz is cached for good) */
			nestlevel = crm_track_use_settings(info->time_zone_name);
			entry->zone = session_timezone;
			crm_track_restore_settings(nestlevel);
			entry->valid = true;
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	if (info == NULL)
	{
		MemoryContextDelete(context);
		return NULL;
	}
	return entry;
}

/*
 * What this backend knows of tracking "id" of the extension in
 * ext_namespace, valid until the transaction ends; NULL when the tracking
 * does not exist (as while a restore has not brought its crm_tracking row
 * yet).
 */
TrackEntry *
crm_track_entry(int32 id, int64 shard, Oid ext_namespace)
{
	EntrySlot  *slot;
	TrackEntry *entry;
	EntryKey	key;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.id = id;
	key.shard = shard;
	if (slots == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(EntryKey);
		ctl.entrysize = sizeof(EntrySlot);
		slots = hash_create("crm trackings", 16, &ctl, HASH_ELEM | HASH_BLOBS);
		CacheRegisterRelcacheCallback(invalidate_entries, (Datum) 0);
	}
	slot = hash_search(slots, &key, HASH_ENTER, &found);
	if (!found)
		slot->entry = NULL;
	/* a tracking of a reinstalled extension reuses the ids */
	if (slot->entry != NULL && slot->entry->valid &&
		slot->entry->ext_namespace == ext_namespace)
		return slot->entry;

	entry = load_entry(id, shard, ext_namespace);
	/* the hash may have grown meanwhile */
	slot = hash_search(slots, &key, HASH_ENTER, &found);
	if (found && slot->entry != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		stale_entries = lappend(stale_entries, slot->entry);
		MemoryContextSwitchTo(old);
	}
	slot->entry = entry;
	return entry;
}

/* Free what was read again during the transaction that ends */
static void
free_stale_entries(void)
{
	ListCell   *lc;

	foreach(lc, stale_entries)
	{
		TrackEntry *entry = (TrackEntry *) lfirst(lc);

		for (int i = 0; i < TRACK_SQL_COUNT; i++)
			if (entry->plans[i] != NULL)
				SPI_freeplan(entry->plans[i]);
		MemoryContextDelete(entry->context);
	}
	list_free(stale_entries);
	stale_entries = NIL;
}

/*
 * The tracked columns' attribute numbers in an orders table of the
 * tracking (the tracked table, or a partition or child of it, whose
 * columns may lie elsewhere), looked up by name once per table
 */
const TrackMember *
crm_track_member(TrackEntry *entry, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	TupleDesc	desc = RelationGetDescr(rel);
	TrackMember *member;
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, entry->members)
	{
		member = (TrackMember *) lfirst(lc);
		if (member->relid == relid)
			return member;
	}
	old = MemoryContextSwitchTo(entry->context);
	member = palloc0(sizeof(TrackMember));
	member->relid = relid;
	for (int i = 0; i < TRACK_NUM_COLS; i++)
	{
		const char *name = entry->info->column_names[i];

		if (name == NULL)
			continue;
		for (int j = 0; j < desc->natts; j++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, j);

			if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			{
				member->attnums[i] = att->attnum;
				break;
			}
		}
		if (member->attnums[i] == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("tracked column \"%s\" of %s does not exist",
							name, RelationGetRelationName(rel))));
	}
	entry->members = lappend(entry->members, member);
	MemoryContextSwitchTo(old);
	return member;
}

/*
 * The prepared statement "which" of a tracking, prepared on first use
 */
SPIPlanPtr
crm_track_plan(TrackEntry *entry, TrackSql which)
{
	SPIPlanPtr	plan;
	Oid			argtypes[1];
	int			nargs = 0;

	if (entry->plans[which] != NULL)
		return entry->plans[which];
	if (which == TRACK_SQL_RECOMPUTE)
	{
		argtypes[0] = get_array_type(entry->key.type);
		if (!OidIsValid(argtypes[0]))
			elog(ERROR, "customer key type %u has no array type", entry->key.type);
		nargs = 1;
	}
	plan = SPI_prepare(crm_track_sql(entry->info, which), nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(plan);
	entry->plans[which] = plan;
	return plan;
}

/*
 * The settings of tracking "id" the fold needs, from its crm_tracking row
 * as the latest snapshot sees it (after the state table is locked, so a
 * crm_refresh that committed meanwhile is seen), copied into the current
 * memory context.
 */
enum
{
	CFG_ID,
	CFG_THRESHOLDS,
	CFG_POINTS_PER_UNIT,
	CFG_TIER_MULTIPLIERS,
	CFG_AS_OF,
	CFG_NOTIFY,
	CFG_RESTORING,
	NUM_CFG
};

static const char *const config_names[NUM_CFG] = {
	"id", "thresholds", "points_per_unit", "tier_multipliers", "as_of", "notify",
	"restoring"
};

void
crm_track_read_config(int32 id, Oid tracking_relid, TrackConfig *config)
{
	Datum		values[NUM_CFG];
	bool		nulls[NUM_CFG];

	memset(config, 0, sizeof(TrackConfig));
	if (!read_row(id, tracking_relid, config_names, NUM_CFG, values, nulls))
		return;
	config->found = true;
	config->thresholds = nulls[CFG_THRESHOLDS] ? NULL :
		DatumGetArrayTypeP(values[CFG_THRESHOLDS]);
	config->points_per_unit = DatumGetNumeric(values[CFG_POINTS_PER_UNIT]);
	config->tier_multipliers = DatumGetArrayTypeP(values[CFG_TIER_MULTIPLIERS]);
	/* exact: a product of numerics keeps every digit */
	for (int tier = 0; tier < CRM_NUM_TIERS; tier++)
	{
		int			index = tier + 1;
		bool		isnull;
		Datum		multiplier = array_get_element(PointerGetDatum(config->tier_multipliers),
												   1, &index, -1, -1, false, TYPALIGN_INT,
												   &isnull);
		Datum		rate;

		config->tier_rates[tier] = NULL;
		config->tier_rate_one[tier] = false;
		if (isnull)
			continue;
		rate = DirectFunctionCall2(numeric_mul, NumericGetDatum(config->points_per_unit),
								   multiplier);
		config->tier_rates[tier] = DatumGetNumeric(rate);
		/* 1 of scale 0: multiplying by it would change neither value nor scale */
		config->tier_rate_one[tier] =
			strcmp(DatumGetCString(DirectFunctionCall1(numeric_out, rate)), "1") == 0;
	}
	config->has_as_of = !nulls[CFG_AS_OF];
	config->as_of = nulls[CFG_AS_OF] ? 0 : DatumGetTimestampTz(values[CFG_AS_OF]);
	config->restoring = !nulls[CFG_RESTORING] && DatumGetBool(values[CFG_RESTORING]);
	{
		char	   *notify = TextDatumGetCString(values[CFG_NOTIFY]);

		config->notify = strcmp(notify, "all") == 0 ? TRACK_NOTIFY_ALL :
			strcmp(notify, "alerts") == 0 ? TRACK_NOTIFY_ALERTS :
			TRACK_NOTIFY_NONE;
	}
}

/*
 * The settings of a tracking, read once and kept with what the backend
 * knows of it: a change of crm_tracking invalidates that (its trigger sends
 * a relcache invalidation, which a transaction taking the state table's
 * lock takes in, as it takes in a crm_refresh that committed meanwhile).
 * Read again, and not kept, if the entry went stale meanwhile.
 */
const TrackConfig *
crm_track_config(TrackEntry *entry)
{
	MemoryContext old;
	TrackConfig *config;

	if (entry->valid && entry->config != NULL)
		return entry->config;
	old = MemoryContextSwitchTo(entry->valid ? entry->context : CurrentMemoryContext);
	config = palloc(sizeof(TrackConfig));
	crm_track_read_config(entry->id, entry->tracking_relid, config);
	/*
	 * On a Citus node: no messages (see citus.c), and a restore happens on
	 * the coordinator
	 */
	if (entry->shard != 0)
	{
		config->notify = TRACK_NOTIFY_NONE;
		config->restoring = false;
	}
	MemoryContextSwitchTo(old);
	if (entry->valid && config->found)
		entry->config = config;
	return config;
}

/*
 * A tracking restored from a dump is written by an ordinary session for
 * the first time: from now on every session counts its orders.  Runs as
 * the table's owner, whom crm_tracking's policy lets change the row.
 */
void
crm_track_clear_restoring(TrackEntry *entry)
{
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(entry->id)};
	SPIPlanPtr	plan;
	Snapshot	snapshot;
	int			ret;

	SPI_connect();
	plan = SPI_prepare(psprintf("UPDATE %s.crm_tracking SET restoring = false "
								"WHERE id = $1 AND restoring",
								entry->info->ext_schema), 1, argtypes);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	/* the latest row, also under REPEATABLE READ: another session may clear it too */
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ret = SPI_execute_snapshot(plan, args, NULL, snapshot, InvalidSnapshot,
							   false, true, 0);
	UnregisterSnapshot(snapshot);
	if (ret != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_snapshot failed: %s", SPI_result_code_string(ret));
	SPI_finish();
}

/* Transaction callback: what was read again is freed at the end */
static void
entries_xact_callback(XactEvent event, void *arg)
{
	if (stale_entries != NIL &&
		(event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		 event == XACT_EVENT_PREPARE))
		free_stale_entries();
}

void
crm_track_tracking_init(void)
{
	RegisterXactCallback(entries_xact_callback, NULL);
}
