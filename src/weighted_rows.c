/*
 * weighted_rows.c
 *		Customer summary rows for the model fits, identical rows merged.
 *
 * The likelihood of BG/NBD, Pareto/NBD or Gamma-Gamma depends on a
 * customer only through a few numbers (frequency, recency, T; or frequency
 * and average value), and real data repeat them: every customer of one
 * cohort who never came back has the same (0, 0, T).  Rows are appended;
 * when the array fills up it is sorted and identical rows are merged into
 * one with the summed weight, so memory follows the distinct rows, and the
 * optimiser later evaluates each distinct row once per step.
 */
#include "postgres.h"

#include <math.h>

#include "libpq/pqformat.h"
#include "utils/memutils.h"

#include "agg_state.h"
#include "crm.h"
#include "weighted_rows.h"

/* Serialised state format; bump when the layout changes */
#define WROWS_VERSION 2

WeightedRows *
crm_wrows_new(MemoryContext context, int width)
{
	WeightedRows *state = MemoryContextAllocZero(context, sizeof(WeightedRows));

	Assert(width > 0 && width <= WROWS_MAX_WIDTH);
	state->width = width;
	state->maxrows = 64;
	state->data = MemoryContextAlloc(context, crm_wrow_size(width) * state->maxrows);
	return state;
}

/*
 * Order of two rows of state: by v[key_from .. width), then v[0 ..
 * key_from) -- a covariate fit's rows sort by their covariates first, so
 * that the customers who share them are adjacent
 */
static inline int
row_cmp(const WeightedRow *x, const WeightedRow *y, const WeightedRows *state)
{
	for (int i = state->key_from; i < state->width; i++)
	{
		if (x->v[i] < y->v[i])
			return -1;
		if (x->v[i] > y->v[i])
			return 1;
	}
	for (int i = 0; i < state->key_from; i++)
	{
		if (x->v[i] < y->v[i])
			return -1;
		if (x->v[i] > y->v[i])
			return 1;
	}
	return 0;
}

/*
 * Core's quicksort template with the comparison inlined -- a million rows
 * sort in half the time qsort's calls through a function pointer take --
 * for rows of 2 and 3 numbers, the plain models', and of 4 and 5, fits
 * with one or two covariates, as structs, which it swaps whole; wider rows
 * as runs of bytes.
 */
typedef struct Row2
{
	double		weight;
	double		v[2];
} Row2;

typedef struct Row3
{
	double		weight;
	double		v[3];
} Row3;

typedef struct Row4
{
	double		weight;
	double		v[4];
} Row4;

typedef struct Row5
{
	double		weight;
	double		v[5];
} Row5;

#define ST_SORT sort_rows2
#define ST_ELEMENT_TYPE Row2
#define ST_COMPARE(a, b, state) row_cmp((const WeightedRow *) (a), (const WeightedRow *) (b), state)
#define ST_COMPARE_ARG_TYPE const WeightedRows
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_rows3
#define ST_ELEMENT_TYPE Row3
#define ST_COMPARE(a, b, state) row_cmp((const WeightedRow *) (a), (const WeightedRow *) (b), state)
#define ST_COMPARE_ARG_TYPE const WeightedRows
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_rows4
#define ST_ELEMENT_TYPE Row4
#define ST_COMPARE(a, b, state) row_cmp((const WeightedRow *) (a), (const WeightedRow *) (b), state)
#define ST_COMPARE_ARG_TYPE const WeightedRows
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_rows5
#define ST_ELEMENT_TYPE Row5
#define ST_COMPARE(a, b, state) row_cmp((const WeightedRow *) (a), (const WeightedRow *) (b), state)
#define ST_COMPARE_ARG_TYPE const WeightedRows
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_rows_wide
#define ST_ELEMENT_TYPE_VOID
#define ST_COMPARE(a, b, state) row_cmp((const WeightedRow *) (a), (const WeightedRow *) (b), state)
#define ST_COMPARE_ARG_TYPE const WeightedRows
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

static void
sort_rows(WeightedRows *state)
{
	StaticAssertStmt(sizeof(Row2) == sizeof(double) * 3 && sizeof(Row5) == sizeof(double) * 6,
					 "rows of 2 to 5 numbers are laid out as WeightedRow");
	if (state->width == 2)
		sort_rows2((Row2 *) state->data, state->nrows, state);
	else if (state->width == 3)
		sort_rows3((Row3 *) state->data, state->nrows, state);
	else if (state->width == 4)
		sort_rows4((Row4 *) state->data, state->nrows, state);
	else if (state->width == 5)
		sort_rows5((Row5 *) state->data, state->nrows, state);
	else
		sort_rows_wide(state->data, state->nrows, crm_wrow_size(state->width), state);
}

/*
 * Sort the rows and merge identical ones
 */
void
crm_wrows_merge(WeightedRows *state)
{
	int64		n = 0;

	if (state->merged == state->nrows)
		return;
	sort_rows(state);
	for (int64 i = 0; i < state->nrows; i++)
	{
		WeightedRow *row = crm_wrow(state, i);

		if (n > 0 && row_cmp(crm_wrow(state, n - 1), row, state) == 0)
			crm_wrow(state, n - 1)->weight += row->weight;
		else if (n++ < i)
			memcpy(crm_wrow(state, n - 1), row, crm_wrow_size(state->width));
	}
	state->nrows = state->merged = n;
}

/*
 * Room for more rows.  Merging first may leave room; grow when it leaves
 * less than half.  Where the rows are mostly distinct -- a covariate fit's,
 * with a continuous covariate -- a merge frees little, and sorting at
 * every doubling would sort the rows twice over; after such a merge the
 * next waits until the rows have grown fourfold, which keeps the sorting
 * to a third of one final sort while memory stays within four times the
 * distinct rows.
 */
#define MERGE_BACKOFF 4

static void
make_room(WeightedRows *state, int64 more, MemoryContext context)
{
	if (state->nrows + more <= state->maxrows)
		return;
	if (state->nrows >= state->merge_at)
	{
		int64		before = state->nrows;

		crm_wrows_merge(state);
		state->merge_at = state->nrows > before / 2 ? MERGE_BACKOFF * state->nrows : 0;
		if (state->nrows + more <= state->maxrows / 2)
			return;
	}
	while (state->nrows + more > state->maxrows / 2)
		state->maxrows *= 2;
	state->data = repalloc_huge(state->data, crm_wrow_size(state->width) * state->maxrows);
	(void) context;
}

/*
 * Map the pages of rows [from, to) of state at once (crm_prefault): a
 * covariate fit's rows are mostly distinct, and its array grows to tens
 * of megabytes, which would otherwise fault in a page at a time
 */
static void
prefault_rows(WeightedRows *state, int64 from, int64 to)
{
	crm_prefault(crm_wrow(state, from), (to - from) * crm_wrow_size(state->width));
	state->mapped = Max(state->mapped, to);
}

/* How far ahead of the last row crm_wrows_add maps pages */
#define PREFAULT_BYTES (1024 * 1024)

void
crm_wrows_add(WeightedRows *state, const double *v, double weight,
			  MemoryContext context)
{
	WeightedRow *row;

	make_room(state, 1, context);
	if (state->nrows >= state->mapped)
		prefault_rows(state, state->nrows,
					  Min(state->maxrows,
						  state->nrows + PREFAULT_BYTES / (int64) crm_wrow_size(state->width)));
	row = crm_wrow(state, state->nrows++);
	memcpy(row->v, v, sizeof(double) * state->width);
	row->weight = weight;
	/* a row may stand for several customers (crm_bgbb_fit's counts) */
	if (weight > 0)
		state->customers += (int64) ceil(weight);
}

/*
 * What combining the state "from" into "into" does besides adding its
 * rows: the same kind of fit, the setting if "into" has none, the count
 * of customers
 */
static void
combine_header(WeightedRows *into, const WeightedRows *from)
{
	/* only a state written by hand can mix the fits of two models */
	if (from->width != into->width || from->key_from != into->key_from)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot combine model-fit states of %d and %d numbers per customer",
						into->width, from->width)));
	if (from->has_setting && !into->has_setting)
	{
		into->has_setting = true;
		into->setting = from->setting;
	}
	into->customers += from->customers;
	into->merged = 0;
}

/*
 * Room for more rows in "into" without merging first: states come
 * merged, and merging the rows so far on every combine would sort them
 * again each time (once at the end does)
 */
static void
room_to_combine(WeightedRows *into, int64 more)
{
	if (into->nrows + more > into->maxrows)
	{
		into->maxrows = Max(into->nrows + more, 2 * into->maxrows);
		into->data = repalloc_huge(into->data, crm_wrow_size(into->width) * into->maxrows);
	}
}

/*
 * Add the rows of "from" to "into" (the combine step of parallel query)
 */
void
crm_wrows_append(WeightedRows *into, WeightedRows *from, MemoryContext context)
{
	combine_header(into, from);
	room_to_combine(into, from->nrows);
	prefault_rows(into, into->nrows, into->nrows + from->nrows);
	memcpy(crm_wrow(into, into->nrows), from->data, crm_wrow_size(from->width) * from->nrows);
	into->nrows += from->nrows;
	(void) context;
}

/*
 * The bytes of a state (as crm_agg_state, agg_state.c): merged first,
 * compact or not, unless its last merge freed little (make_room) -- a
 * Citus worker's rows of a covariate fit, say, which the coordinator sorts
 * with everyone's once they are combined
 */
static void
write_state(const void *data, StringInfo buf, bool compact)
{
	WeightedRows *state = (WeightedRows *) data;

	if (state->nrows >= state->merge_at)
		crm_wrows_merge(state);
	/* all the bytes at once: a large state would be copied as it grows */
	enlargeStringInfo(buf, 4 + 3 * sizeof(double) +
					  state->nrows * crm_wrow_size(state->width));
	pq_sendbyte(buf, WROWS_VERSION);
	pq_sendbyte(buf, state->width);
	pq_sendbyte(buf, state->key_from);
	pq_sendbyte(buf, state->has_setting);
	pq_sendfloat8(buf, state->setting);
	pq_sendint64(buf, state->customers);
	pq_sendint64(buf, state->nrows);
	for (int64 i = 0; i < state->nrows; i++)
	{
		WeightedRow *row = crm_wrow(state, i);

		crm_agg_state_put_float8s(buf, row->v, state->width);
		crm_agg_state_put_float8s(buf, &row->weight, 1);
	}
}

/*
 * The header of a state's bytes (see write_state) into header, a state
 * without rows; returns how many rows follow
 */
static int64
read_header(StringInfo buf, WeightedRows *header)
{
	int64		nrows;
	int			has_setting;

	memset(header, 0, sizeof(WeightedRows));
	if (buf->len - buf->cursor < 4 + 3 * 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state"),
				 errdetail("The state is cut short.")));
	if (pq_getmsgbyte(buf) != WROWS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	header->width = pq_getmsgbyte(buf);
	header->key_from = pq_getmsgbyte(buf);
	if (header->width < 1 || header->width > WROWS_MAX_WIDTH ||
		header->key_from >= header->width)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	has_setting = pq_getmsgbyte(buf);
	header->has_setting = has_setting == 1;
	header->setting = pq_getmsgfloat8(buf);
	header->customers = pq_getmsgint64(buf);
	nrows = pq_getmsgint64(buf);
	if (has_setting > 1 || isnan(header->setting) || header->setting < 0 ||
		header->customers < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	if (nrows < 0 ||
		nrows > (buf->len - buf->cursor) / (int64) crm_wrow_size(header->width))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	return nrows;
}

/*
 * The nrows rows that follow a header, added to state, whose rows have
 * the header's width; the caller made room
 */
static void
read_rows(StringInfo buf, WeightedRows *state, int64 nrows)
{
	Assert(state->nrows + nrows <= state->maxrows);
	prefault_rows(state, state->nrows, state->nrows + nrows);
	for (int64 i = 0; i < nrows; i++)
	{
		WeightedRow *row = crm_wrow(state, state->nrows + i);

		crm_agg_state_get_float8s(buf, row->v, state->width);
		crm_agg_state_get_float8s(buf, &row->weight, 1);
		if (!(row->weight >= 0) || isinf(row->weight))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid serialized model-fit state"),
					 errdetail("A weight is negative or not finite.")));
	}
	state->nrows += nrows;
	/* a state read from text need not be in order: merge it again */
	state->merged = 0;
}

static void *
read_state(StringInfo buf, MemoryContext context)
{
	WeightedRows header;
	int64		nrows = read_header(buf, &header);
	WeightedRows *state = crm_wrows_new(context, header.width);

	state->key_from = header.key_from;
	state->has_setting = header.has_setting;
	state->setting = header.setting;
	state->customers = header.customers;
	make_room(state, nrows, context);
	read_rows(buf, state, nrows);
	return state;
}

const CrmAggStateKind crm_fit_state_kind = {
	'f', "crm model fit", write_state, read_state
};

/*
 * Support functions shared by the model-fitting aggregates
 */
PG_FUNCTION_INFO_V1(crm_fit_combine);
Datum
crm_fit_combine(PG_FUNCTION_ARGS)
{
	CrmAggState *agg = crm_agg_state_for_update(fcinfo, 0, &crm_fit_state_kind,
												"crm_fit_combine");
	StringInfoData bytes;
	WeightedRows *from = NULL;
	WeightedRows header;
	WeightedRows *into;
	int64		nrows = 0;

	/*
	 * A worker's partial state comes as bytes: its rows are read straight
	 * into ours (a Citus worker's, of a covariate fit, can be tens of
	 * megabytes)
	 */
	if (crm_agg_state_flat_bytes(fcinfo, 1, &crm_fit_state_kind, &bytes))
	{
		nrows = read_header(&bytes, &header);
		from = &header;
	}
	else
		from = crm_agg_state_data(fcinfo, 1, &crm_fit_state_kind);
	if (from == NULL)
	{
		if (agg == NULL)
			PG_RETURN_NULL();
		PG_RETURN_CRM_AGG_STATE(agg);
	}
	if (agg == NULL)
	{
		agg = crm_agg_state_new(fcinfo, &crm_fit_state_kind, "crm_fit_combine");
		into = crm_wrows_new(CrmAggStateContext(agg), from->width);
		into->key_from = from->key_from;
		into->has_setting = from->has_setting;
		into->setting = from->setting;
		agg->data = into;
	}
	into = (WeightedRows *) agg->data;
	if (from != &header)
		crm_wrows_append(into, from, CrmAggStateContext(agg));
	else
	{
		combine_header(into, &header);
		room_to_combine(into, nrows);
		read_rows(&bytes, into, nrows);
		crm_agg_state_end_bytes(&bytes, &crm_fit_state_kind);
	}
	PG_RETURN_CRM_AGG_STATE(agg);
}
