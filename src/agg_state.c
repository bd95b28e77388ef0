/*
 * agg_state.c
 *		crm_agg_state: the transition type of crm's population aggregates
 *		(crm_tier_thresholds, crm_pareto_share, crm_pyramid and the model
 *		fits).
 *
 * Why not internal, as aggregates with a C state usually have: Citus splits
 * an aggregate over a distributed table into partial aggregates on the
 * workers and their combination on the coordinator only when its transition
 * type is a real type -- the worker writes its partial state with the type's
 * output function, the coordinator reads it back with the input function --
 * and gathers every row to the coordinator otherwise.  So the state is a
 * varlena type, but one that stays a C struct while the aggregate runs: an
 * expanded object (utils/expandeddatum.h) whose read-write pointer the
 * transition function returns and the executor keeps rather than copies,
 * as it keeps the expanded array of array_append.  It becomes bytes only to
 * travel: from parallel workers to the leader (what serial and deserial
 * functions do for an internal state, which PostgreSQL allows only there),
 * from a Citus worker to the coordinator (as base64 text), or to a client.
 *
 * The bytes: a version byte, the tag of the kind of state, then what the
 * kind writes.
 */
#include "postgres.h"

#include <ctype.h>

#include "common/base64.h"
#include "libpq/pqformat.h"
#include "utils/memutils.h"

#include "agg_state.h"
#include "crm.h"

#define AGG_STATE_VERSION 1

/* Every kind of state, found by its tag */
extern const CrmAggStateKind crm_value_state_kind;
extern const CrmAggStateKind crm_fit_state_kind;
static const CrmAggStateKind *const kinds[] = {
	&crm_value_state_kind, &crm_fit_state_kind
};

static Size agg_state_flat_size(ExpandedObjectHeader *eohptr);
static void agg_state_flatten(ExpandedObjectHeader *eohptr, void *result,
							  Size allocated_size);

static const ExpandedObjectMethods agg_state_methods = {
	agg_state_flat_size,
	agg_state_flatten
};

/* A state of kind without data yet, in a memory context of its own */
static CrmAggState *
make_state(MemoryContext parent, const CrmAggStateKind *kind)
{
	MemoryContext context = AllocSetContextCreate(parent, "crm aggregate state",
												  ALLOCSET_SMALL_SIZES);
	CrmAggState *state = MemoryContextAllocZero(context, sizeof(CrmAggState));

	EOH_init_header(&state->hdr, &agg_state_methods, context);
	state->kind = kind;
	return state;
}

/* The bytes of a state: version, the kind's tag, what the kind writes */
static void
write_state(const CrmAggState *state, StringInfo buf, bool compact)
{
	pq_sendbyte(buf, AGG_STATE_VERSION);
	pq_sendbyte(buf, state->kind->tag);
	state->kind->write(state->data, buf, compact);
}

/*
 * The flat size: the state is written out here, and copied by the
 * flattening that follows (every caller asks for the size first; forming a
 * tuple asks twice, so the bytes are kept until the data is handed out
 * again)
 */
static Size
agg_state_flat_size(ExpandedObjectHeader *eohptr)
{
	CrmAggState *state = (CrmAggState *) eohptr;

	if (!state->flat_valid)
	{
		MemoryContext old = MemoryContextSwitchTo(eohptr->eoh_context);

		if (state->flat.data == NULL)
			initStringInfo(&state->flat);
		resetStringInfo(&state->flat);
		write_state(state, &state->flat, false);
		state->flat_valid = true;
		MemoryContextSwitchTo(old);
	}
	return VARHDRSZ + state->flat.len;
}

static void
agg_state_flatten(ExpandedObjectHeader *eohptr, void *result,
				  Size allocated_size)
{
	CrmAggState *state = (CrmAggState *) eohptr;

	Assert(allocated_size == VARHDRSZ + state->flat.len);
	SET_VARSIZE(result, allocated_size);
	memcpy(VARDATA(result), state->flat.data, state->flat.len);
}

/* The kind of state whose bytes start with this version and tag */
static const CrmAggStateKind *
kind_of(StringInfo buf)
{
	int			tag;

	if (buf->len < 2 || pq_getmsgbyte(buf) != AGG_STATE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported crm aggregate state version")));
	tag = pq_getmsgbyte(buf);
	for (int i = 0; i < lengthof(kinds); i++)
		if (kinds[i]->tag == tag)
			return kinds[i];
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("unknown kind of crm aggregate state: %d", tag)));
	return NULL;				/* keep compiler quiet */
}

static void
check_kind(const CrmAggStateKind *got, const CrmAggStateKind *wanted)
{
	if (wanted != NULL && got != wanted)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a %s state cannot be used where a %s state is expected",
						got->name, wanted->name)));
}

/*
 * The C struct of flat bytes of a state (read in place), in context; of
 * kind wanted, or of any kind when that is NULL
 */
static void *
read_flat(struct varlena *flat, const CrmAggStateKind *wanted,
		  MemoryContext context)
{
	StringInfoData buf;
	const CrmAggStateKind *kind;
	void	   *data;

	buf.data = VARDATA_ANY(flat);
	buf.len = VARSIZE_ANY_EXHDR(flat);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	kind = kind_of(&buf);
	check_kind(kind, wanted);
	data = kind->read(&buf, context);
	crm_agg_state_end_bytes(&buf, kind);
	return data;
}

/* Ensure the kind's reader used up the bytes of a state */
void
crm_agg_state_end_bytes(StringInfo buf, const CrmAggStateKind *kind)
{
	if (buf->cursor != buf->len)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid %s state", kind->name),
				 errdetail("%d bytes are left over.", buf->len - buf->cursor)));
}

/* Our expanded state behind a datum, or NULL (flat, or not ours) */
static CrmAggState *
expanded_state(Datum datum, bool read_write)
{
	ExpandedObjectHeader *eoh;

	if (read_write ? !VARATT_IS_EXTERNAL_EXPANDED_RW(DatumGetPointer(datum)) :
		!VARATT_IS_EXTERNAL_EXPANDED(DatumGetPointer(datum)))
		return NULL;
	eoh = DatumGetEOHP(datum);
	return eoh->eoh_methods == &agg_state_methods ? (CrmAggState *) eoh : NULL;
}

/*
 * Our expanded state behind the datum of a support function's argument,
 * checked to be of kind, and from now on changed or reordered by the
 * caller: its flattened bytes are out of date.  NULL when the datum is flat.
 */
static CrmAggState *
claim_state(Datum datum, bool read_write, const CrmAggStateKind *kind)
{
	CrmAggState *state = expanded_state(datum, read_write);

	if (state != NULL)
	{
		check_kind(state->kind, kind);
		state->flat_valid = false;
	}
	return state;
}

/*
 * A new state of kind for an aggregate support function, in the
 * aggregate's memory, without data yet (the caller makes it, in
 * CrmAggStateContext)
 */
CrmAggState *
crm_agg_state_new(FunctionCallInfo fcinfo, const CrmAggStateKind *kind,
				  const char *fname)
{
	return make_state(crm_aggregate_context(fcinfo, fname), kind);
}

/*
 * The state argument argno of a transition or combine function, to be
 * changed and returned; NULL when it is NULL.  What the function returned
 * for the previous row comes back as our read-write expanded object; a flat
 * state (an initial value, or a state read back from a worker) is expanded
 * into a new one in the aggregate's memory.
 */
CrmAggState *
crm_agg_state_for_update(FunctionCallInfo fcinfo, int argno,
						 const CrmAggStateKind *kind, const char *fname)
{
	MemoryContext aggcontext = crm_aggregate_context(fcinfo, fname);
	CrmAggState *state;

	if (PG_ARGISNULL(argno))
		return NULL;
	state = claim_state(PG_GETARG_DATUM(argno), true, kind);
	if (state != NULL)
		return state;
	state = make_state(aggcontext, kind);
	state->data = read_flat(PG_GETARG_VARLENA_PP(argno), kind,
							CrmAggStateContext(state));
	return state;
}

/*
 * The bytes of state argument argno past its version and tag, when it is
 * flat -- a partial state from a parallel worker -- for a combine function
 * to read straight into its own state instead of into a new one; false
 * when the argument is NULL or expanded (crm_agg_state_data has those).
 * The reader ends with crm_agg_state_end_bytes.
 */
bool
crm_agg_state_flat_bytes(FunctionCallInfo fcinfo, int argno,
						 const CrmAggStateKind *kind, StringInfo buf)
{
	struct varlena *flat;

	if (PG_ARGISNULL(argno) || expanded_state(PG_GETARG_DATUM(argno), false) != NULL)
		return false;
	flat = PG_GETARG_VARLENA_PP(argno);
	buf->data = VARDATA_ANY(flat);
	buf->len = VARSIZE_ANY_EXHDR(flat);
	buf->maxlen = buf->len;
	buf->cursor = 0;
	check_kind(kind_of(buf), kind);
	return true;
}

/*
 * The C struct of state argument argno, to be read (a final function, the
 * second argument of a combine function); NULL when it is NULL.  A flat
 * state is read into the current memory context.
 */
void *
crm_agg_state_data(FunctionCallInfo fcinfo, int argno,
				   const CrmAggStateKind *kind)
{
	CrmAggState *state;

	if (PG_ARGISNULL(argno))
		return NULL;
	/* claimed: a final function may reorder it */
	state = claim_state(PG_GETARG_DATUM(argno), false, kind);
	if (state != NULL)
		return state->data;
	return read_flat(PG_GETARG_VARLENA_PP(argno), kind, CurrentMemoryContext);
}

/*
 * Flat bytes checked by reading them (in a context dropped after), as the
 * input and receive functions do: a state that gets in can be combined
 */
static void
check_flat(struct varlena *flat)
{
	MemoryContext context = AllocSetContextCreate(CurrentMemoryContext,
												  "crm aggregate state check",
												  ALLOCSET_DEFAULT_SIZES);
	(void) read_flat(flat, NULL, context);
	MemoryContextDelete(context);
}

/*
 * crm_agg_state_in(cstring) -> crm_agg_state: the bytes in base64 (as
 * crm_agg_state_out writes them, or with line breaks, as encode() does)
 */
PG_FUNCTION_INFO_V1(crm_agg_state_in);
Datum
crm_agg_state_in(PG_FUNCTION_ARGS)
{
	char	   *text = PG_GETARG_CSTRING(0);
	char	   *b64 = palloc(strlen(text) + 1);
	int			len = 0;
	int			maxlen;
	struct varlena *flat;
	int			n;

	/* line breaks and spaces are left out, as decode(..., 'base64') does */
	for (const char *c = text; *c; c++)
		if (!isspace((unsigned char) *c))
			b64[len++] = *c;
	maxlen = pg_b64_dec_len(len);
	flat = palloc(VARHDRSZ + maxlen);
	n = pg_b64_decode(b64, len, (void *) VARDATA(flat), maxlen);

	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type %s: \"%s\"", "crm_agg_state",
						len > 40 ? psprintf("%.40s...", text) : text),
				 errdetail("A crm aggregate state is written in base64.")));
	SET_VARSIZE(flat, VARHDRSZ + n);
	check_flat(flat);
	PG_RETURN_POINTER(flat);
}

/*
 * The bytes of the state argument that the output and send functions send:
 * a state still expanded (a Citus worker's partial state) is written
 * compact, as it leaves for another server; a flat one as it is
 */
static const char *
outgoing_bytes(FunctionCallInfo fcinfo, int *len)
{
	CrmAggState *state = expanded_state(PG_GETARG_DATUM(0), false);
	struct varlena *flat;

	if (state != NULL)
	{
		StringInfoData compact;

		initStringInfo(&compact);
		write_state(state, &compact, true);
		*len = compact.len;
		return compact.data;
	}
	flat = PG_GETARG_VARLENA_PP(0);
	*len = VARSIZE_ANY_EXHDR(flat);
	return VARDATA_ANY(flat);
}

/*
 * crm_agg_state_out(crm_agg_state) -> cstring
 */
PG_FUNCTION_INFO_V1(crm_agg_state_out);
Datum
crm_agg_state_out(PG_FUNCTION_ARGS)
{
	int			len;
	const char *bytes = outgoing_bytes(fcinfo, &len);
	int			maxlen;
	char	   *text;
	int			n;

	maxlen = pg_b64_enc_len(len);
	text = palloc(maxlen + 1);
	n = pg_b64_encode((void *) bytes, len, text, maxlen);

	if (n < 0)
		elog(ERROR, "could not encode a crm aggregate state");
	text[n] = '\0';
	PG_RETURN_CSTRING(text);
}

/*
 * crm_agg_state_recv(internal) -> crm_agg_state: the bytes themselves
 */
PG_FUNCTION_INFO_V1(crm_agg_state_recv);
Datum
crm_agg_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			len = buf->len - buf->cursor;
	struct varlena *flat = palloc(VARHDRSZ + len);

	SET_VARSIZE(flat, VARHDRSZ + len);
	pq_copymsgbytes(buf, VARDATA(flat), len);
	check_flat(flat);
	PG_RETURN_POINTER(flat);
}

/*
 * crm_agg_state_send(crm_agg_state) -> bytea
 */
PG_FUNCTION_INFO_V1(crm_agg_state_send);
Datum
crm_agg_state_send(PG_FUNCTION_ARGS)
{
	int			len;
	const char *bytes = outgoing_bytes(fcinfo, &len);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbytes(&buf, bytes, len);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}
