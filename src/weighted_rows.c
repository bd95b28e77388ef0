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

static void
make_room(WeightedRows *state, int64 more, MemoryContext context)
{
	if (state->nrows + more <= state->maxrows)
		return;
	/* merging first may leave room; grow when it leaves less than half */
	crm_wrows_merge(state);
	if (state->nrows + more <= state->maxrows / 2)
		return;
	while (state->nrows + more > state->maxrows / 2)
		state->maxrows *= 2;
	state->data = repalloc_huge(state->data, crm_wrow_size(state->width) * state->maxrows);
	(void) context;
}

void
crm_wrows_add(WeightedRows *state, const double *v, double weight,
			  MemoryContext context)
{
	WeightedRow *row;

	make_room(state, 1, context);
	row = crm_wrow(state, state->nrows++);
	memcpy(row->v, v, sizeof(double) * state->width);
	row->weight = weight;
	/* a row may stand for several customers (crm_bgbb_fit's counts) */
	if (weight > 0)
		state->customers += (int64) ceil(weight);
}

/*
 * Add the rows of "from" to "into" (the combine step of parallel query)
 */
void
crm_wrows_append(WeightedRows *into, WeightedRows *from, MemoryContext context)
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
	make_room(into, from->nrows, context);
	memcpy(crm_wrow(into, into->nrows), from->data, crm_wrow_size(from->width) * from->nrows);
	into->nrows += from->nrows;
	into->customers += from->customers;
	into->merged = 0;
}

/*
 * The bytes of a state (as crm_agg_state, agg_state.c): merged first, so
 * that they hold each distinct summary once, compact or not
 */
static void
write_state(const void *data, StringInfo buf, bool compact)
{
	WeightedRows *state = (WeightedRows *) data;

	crm_wrows_merge(state);
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

		for (int j = 0; j < state->width; j++)
			pq_sendfloat8(buf, row->v[j]);
		pq_sendfloat8(buf, row->weight);
	}
}

static void *
read_state(StringInfo buf, MemoryContext context)
{
	WeightedRows *state;
	int64		nrows;
	int			width;
	int			key_from;
	int			has_setting;

	if (buf->len - buf->cursor < 4 + 3 * 8)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state"),
				 errdetail("The state is cut short.")));
	if (pq_getmsgbyte(buf) != WROWS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	width = pq_getmsgbyte(buf);
	key_from = pq_getmsgbyte(buf);
	if (width < 1 || width > WROWS_MAX_WIDTH || key_from >= width)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	state = crm_wrows_new(context, width);
	state->key_from = key_from;
	has_setting = pq_getmsgbyte(buf);
	state->has_setting = has_setting == 1;
	state->setting = pq_getmsgfloat8(buf);
	state->customers = pq_getmsgint64(buf);
	nrows = pq_getmsgint64(buf);
	if (has_setting > 1 || isnan(state->setting) || state->setting < 0 ||
		state->customers < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	if (nrows < 0 || nrows > (buf->len - buf->cursor) / (int64) (sizeof(double) * (width + 1)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid serialized model-fit state")));
	make_room(state, nrows, context);
	for (int64 i = 0; i < nrows; i++)
	{
		WeightedRow *row = crm_wrow(state, i);

		for (int j = 0; j < width; j++)
			row->v[j] = pq_getmsgfloat8(buf);
		row->weight = pq_getmsgfloat8(buf);
		if (!(row->weight >= 0) || isinf(row->weight))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid serialized model-fit state"),
					 errdetail("A weight is negative or not finite.")));
	}
	state->nrows = nrows;
	/* a state read from text need not be in order: merge it again */
	state->merged = 0;
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
	WeightedRows *from = crm_agg_state_data(fcinfo, 1, &crm_fit_state_kind);
	WeightedRows *into;

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
	crm_wrows_append(into, from, CrmAggStateContext(agg));
	PG_RETURN_CRM_AGG_STATE(agg);
}
