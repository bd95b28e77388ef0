/*
 * value_agg.c
 *		Aggregates over the customer population's values: the pyramid's
 *		value thresholds (crm_tier_thresholds), the Pareto share
 *		(crm_pareto_share) and the whole pyramid (crm_pyramid).
 *
 * All three need order statistics of every value, so they share one state:
 * the values themselves in a growing array, like core's percentile_disc
 * keeps them, but in a crm_agg_state (agg_state.c) that parallel workers
 * and Citus workers can build separately and the leader or coordinator can
 * combine.  The final functions then use selection (expected O(n)) instead
 * of a full sort.
 *
 * Tiers follow crm_tier(rank() ..., total) exactly: a cut c admits the k
 * best customers with k / n <= c, and every customer whose value equals the
 * k-th best value shares its rank and its tier.  So the vip threshold is
 * the k-th largest value, and a tier no customer reaches has the threshold
 * +Infinity.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "agg_state.h"
#include "crm.h"
#include "exact_sum.h"
#include "tier.h"

/* The two layouts of a written state (read_state reads both) */
#define VALUE_STATE_PLAIN 1		/* every value, as it is */
#define VALUE_STATE_COMPACT 2	/* distinct values, ascending, with counts */
/* Its tag among the kinds of crm_agg_state */
#define VALUE_STATE_TAG 'v'

#define VALUE_INITIAL_CAPACITY 64

/* What the per-row parameter of a state means */
typedef enum ValueParam
{
	VALUE_PARAM_NONE,			/* not seen yet */
	VALUE_PARAM_CUTS,			/* params[] holds the tier cuts */
	VALUE_PARAM_FRACTION		/* params[0] holds the top fraction */
} ValueParam;

typedef struct ValueState
{
	int64		n;
	int64		capacity;
	ValueParam	param_kind;
	double		params[CRM_NUM_CUTS];
	struct varlena *raw_cuts;	/* the cuts array as given, to spot changes */
	double	   *values;
} ValueState;

static ValueState *
new_state(MemoryContext aggcontext, int64 capacity)
{
	ValueState *state = MemoryContextAllocZero(aggcontext, sizeof(ValueState));

	state->capacity = Max(capacity, VALUE_INITIAL_CAPACITY);
	state->values = MemoryContextAllocHuge(aggcontext,
										   sizeof(double) * state->capacity);
	return state;
}

static void
reserve_values(ValueState *state, int64 extra)
{
	int64		needed = state->n + extra;

	if (needed <= state->capacity)
		return;
	while (state->capacity < needed)
		state->capacity *= 2;
	state->values = repalloc_huge(state->values,
								  sizeof(double) * state->capacity);
}

/*
 * Remember the parameter of the first row and insist that every other row
 * (and every state combined with this one) carries the same one.
 */
static void
set_params(ValueState *state, ValueParam kind, const double *params)
{
	int			n = kind == VALUE_PARAM_CUTS ? CRM_NUM_CUTS : 1;

	if (state->param_kind == VALUE_PARAM_NONE)
	{
		state->param_kind = kind;
		memcpy(state->params, params, sizeof(double) * n);
		return;
	}
	if (state->param_kind != kind ||
		memcmp(state->params, params, sizeof(double) * n) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be the same for every row of a group",
						kind == VALUE_PARAM_CUTS ? "cuts" : "top_fraction")));
}

static void write_state(const void *data, StringInfo buf, bool compact);
static void *read_state(StringInfo buf, MemoryContext context);

const CrmAggStateKind crm_value_state_kind = {
	VALUE_STATE_TAG, "crm value", write_state, read_state
};

/* The state of a transition function, in *holder; created on the first row */
static ValueState *
get_state(FunctionCallInfo fcinfo, const char *fname, CrmAggState **holder)
{
	CrmAggState *agg = crm_agg_state_for_update(fcinfo, 0, &crm_value_state_kind,
												fname);

	if (agg == NULL)
	{
		agg = crm_agg_state_new(fcinfo, &crm_value_state_kind, fname);
		agg->data = new_state(CrmAggStateContext(agg), 0);
	}
	*holder = agg;
	return (ValueState *) agg->data;
}

static void
add_value(ValueState *state, double value, bool allow_negative)
{
	crm_check_finite("value", value);
	if (!allow_negative && value < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("value must not be negative"),
				 errdetail("The value was %g.", value),
				 errhint("A share of the total is only meaningful for values of 0 or more.")));
	reserve_values(state, 1);
	state->values[state->n++] = value;
}

/*
 * crm_value_accum(state, value [, cuts])
 *		transition function of crm_tier_thresholds and crm_pyramid
 */
PG_FUNCTION_INFO_V1(crm_value_accum);
Datum
crm_value_accum(PG_FUNCTION_ARGS)
{
	CrmAggState *agg;
	ValueState *state = get_state(fcinfo, "crm_value_accum", &agg);

	if (PG_NARGS() > 2)
	{
		double		cuts[CRM_NUM_CUTS];
		ArrayType  *array;

		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("cuts must not be null")));
		array = PG_GETARG_ARRAYTYPE_P(2);

		/* the same array as before costs a memcmp, not a parse */
		if (state->raw_cuts == NULL ||
			VARSIZE(state->raw_cuts) != VARSIZE(array) ||
			memcmp(state->raw_cuts, array, VARSIZE(array)) != 0)
		{
			crm_get_cuts(array, cuts);
			set_params(state, VALUE_PARAM_CUTS, cuts);
			if (state->raw_cuts)
				pfree(state->raw_cuts);
			state->raw_cuts = MemoryContextAlloc(CrmAggStateContext(agg), VARSIZE(array));
			memcpy(state->raw_cuts, array, VARSIZE(array));
		}
	}
	else if (state->param_kind == VALUE_PARAM_NONE)
		set_params(state, VALUE_PARAM_CUTS, crm_default_cuts);

	if (!PG_ARGISNULL(1))
		add_value(state, PG_GETARG_FLOAT8(1), true);
	PG_RETURN_CRM_AGG_STATE(agg);
}

/*
 * crm_pareto_accum(state, value [, top_fraction])
 *		transition function of crm_pareto_share
 */
PG_FUNCTION_INFO_V1(crm_pareto_accum);
Datum
crm_pareto_accum(PG_FUNCTION_ARGS)
{
	CrmAggState *agg;
	ValueState *state = get_state(fcinfo, "crm_pareto_accum", &agg);
	double		fraction = 0.2;

	if (PG_NARGS() > 2)
	{
		if (PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("top_fraction must not be null")));
		fraction = PG_GETARG_FLOAT8(2);
		crm_check_fraction("top_fraction", fraction);
	}
	set_params(state, VALUE_PARAM_FRACTION, &fraction);

	if (!PG_ARGISNULL(1))
		add_value(state, PG_GETARG_FLOAT8(1), false);
	PG_RETURN_CRM_AGG_STATE(agg);
}

/*
 * crm_value_combine(state, state)
 */
PG_FUNCTION_INFO_V1(crm_value_combine);
Datum
crm_value_combine(PG_FUNCTION_ARGS)
{
	CrmAggState *agg = crm_agg_state_for_update(fcinfo, 0, &crm_value_state_kind,
												"crm_value_combine");
	ValueState *b = crm_agg_state_data(fcinfo, 1, &crm_value_state_kind);
	ValueState *a;

	if (b == NULL)
	{
		if (agg == NULL)
			PG_RETURN_NULL();
		PG_RETURN_CRM_AGG_STATE(agg);
	}
	if (agg == NULL)
	{
		agg = crm_agg_state_new(fcinfo, &crm_value_state_kind, "crm_value_combine");
		agg->data = new_state(CrmAggStateContext(agg), b->n);
	}
	a = (ValueState *) agg->data;
	if (b->param_kind != VALUE_PARAM_NONE)
		set_params(a, b->param_kind, b->params);

	reserve_values(a, b->n);
	memcpy(a->values + a->n, b->values, sizeof(double) * b->n);
	a->n += b->n;
	PG_RETURN_CRM_AGG_STATE(agg);
}

/* Ascending, -0 before +0: the order in which a state writes its values */
static inline int
value_cmp(const double *a, const double *b)
{
	if (*a != *b)
		return *a < *b ? -1 : 1;
	return (int) !signbit(*a) - (int) !signbit(*b);
}

#define ST_SORT sort_values
#define ST_ELEMENT_TYPE double
#define ST_COMPARE(a, b) value_cmp(a, b)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/*
 * The bytes of a state: layout byte, parameter kind and values, count of
 * values, then either every value (plain: quick to write, for parallel
 * workers) or the count of distinct values and each distinct value in
 * ascending order with how often it occurs, a base-128 varint (compact: for
 * text, which a Citus worker sends over the network).  Real values repeat
 * -- order amounts in cents, customers' totals of a few orders -- so a
 * compact state is as long as the distinct values, at the price of a sort.
 */
static void
write_state(const void *data, StringInfo buf, bool compact)
{
	const ValueState *state = (const ValueState *) data;
	double	   *sorted;
	int64		ndistinct = 0;

	if (state->n > (MaxAllocSize - 1024) / (sizeof(double) + 2))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many values for one partial state"),
				 errhint("Lower max_parallel_workers_per_gather to 0 for this query.")));

	pq_sendbyte(buf, compact ? VALUE_STATE_COMPACT : VALUE_STATE_PLAIN);
	pq_sendbyte(buf, (int) state->param_kind);
	for (int i = 0; i < CRM_NUM_CUTS; i++)
		pq_sendfloat8(buf, state->params[i]);
	pq_sendint64(buf, state->n);
	if (!compact)
	{
		enlargeStringInfo(buf, sizeof(double) * state->n);
		crm_agg_state_put_float8s(buf, state->values, state->n);
		return;
	}

	sorted = palloc_extended(sizeof(double) * Max(state->n, 1), MCXT_ALLOC_HUGE);
	memcpy(sorted, state->values, sizeof(double) * state->n);
	sort_values(sorted, state->n);
	for (int64 i = 0; i < state->n; i++)
		if (i == 0 || value_cmp(&sorted[i - 1], &sorted[i]) != 0)
			ndistinct++;
	enlargeStringInfo(buf, 8 + (sizeof(double) + 2) * ndistinct);
	pq_sendint64(buf, ndistinct);
	for (int64 i = 0; i < state->n;)
	{
		int64		j = i + 1;
		uint64		count;

		while (j < state->n && value_cmp(&sorted[i], &sorted[j]) == 0)
			j++;
		pq_sendfloat8(buf, sorted[i]);
		for (count = j - i; count >= 0x80; count >>= 7)
			pq_sendbyte(buf, (int) ((count & 0x7F) | 0x80));
		pq_sendbyte(buf, (int) count);
		i = j;
	}
	pfree(sorted);
}

static void
invalid_state(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
			 errmsg("invalid crm value state"),
			 errdetail_internal("%s", detail)));
}

/* A value of a written state: finite, as add_value admits them */
static double
read_value(StringInfo buf)
{
	double		value = pq_getmsgfloat8(buf);

	if (isnan(value) || isinf(value))
		invalid_state("A value is not finite.");
	return value;
}

static void *
read_state(StringInfo buf, MemoryContext context)
{
	ValueState *state;
	int			layout;
	int			kind;
	double		params[CRM_NUM_CUTS];
	int64		n;
	int64		ndistinct;

	if (buf->len - buf->cursor < 2 + (int) sizeof(double) * CRM_NUM_CUTS + 8)
		invalid_state("The state is cut short.");
	layout = pq_getmsgbyte(buf);
	if (layout != VALUE_STATE_PLAIN && layout != VALUE_STATE_COMPACT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported crm value state version")));
	kind = pq_getmsgbyte(buf);
	for (int i = 0; i < CRM_NUM_CUTS; i++)
		params[i] = pq_getmsgfloat8(buf);
	n = pq_getmsgint64(buf);
	if (kind < VALUE_PARAM_NONE || kind > VALUE_PARAM_FRACTION)
		invalid_state("The parameter kind is unknown.");
	if (n < 0 || n > (int64) (MaxAllocSize / sizeof(double)))
		invalid_state("The count of values does not fit the state.");
	if (layout == VALUE_STATE_PLAIN)
	{
		if (n != (buf->len - buf->cursor) / (int64) sizeof(double))
			invalid_state("The count of values does not fit the state.");
		ndistinct = n;
	}
	else
	{
		if (buf->len - buf->cursor < 8)
			invalid_state("The state is cut short.");
		ndistinct = pq_getmsgint64(buf);
		if (ndistinct < 0 || ndistinct > n ||
			ndistinct > (buf->len - buf->cursor) / (int64) (sizeof(double) + 1))
			invalid_state("The count of distinct values does not fit the state.");
	}

	state = new_state(context, n);
	state->param_kind = (ValueParam) kind;
	memcpy(state->params, params, sizeof(params));
	if (layout == VALUE_STATE_PLAIN)
	{
		crm_agg_state_get_float8s(buf, state->values, n);
		for (int64 i = 0; i < n; i++)
			if (isnan(state->values[i]) || isinf(state->values[i]))
				invalid_state("A value is not finite.");
		state->n = n;
		return state;
	}
	for (int64 d = 0; d < ndistinct; d++)
	{
		double		value;
		uint64		count = 0;
		int			shift = 0;
		int			byte;

		if (buf->len - buf->cursor < (int) sizeof(double) + 1)
			invalid_state("The state is cut short.");
		value = read_value(buf);
		do
		{
			if (buf->cursor >= buf->len || shift > 56)
				invalid_state("A count is cut short or too large.");
			byte = pq_getmsgbyte(buf);
			count |= (uint64) (byte & 0x7F) << shift;
			shift += 7;
		} while (byte & 0x80);
		if (count < 1 || count > (uint64) (n - state->n))
			invalid_state("The counts of the values do not add up.");
		for (uint64 c = 0; c < count; c++)
			state->values[state->n++] = value;
	}
	if (state->n != n)
		invalid_state("The counts of the values do not add up.");
	return state;
}

/*
 * crm_value_serialize(internal) -> bytea, crm_value_deserialize(bytea,
 * internal) -> internal: the serial and deserial functions of release
 * 0.1.0's aggregates, whose state was internal.  Kept so that a database
 * still at 0.1.0 runs its aggregates with this library until ALTER
 * EXTENSION crm UPDATE: what its catalog calls internal is the crm_agg_state
 * the transition functions now return.
 */
PG_FUNCTION_INFO_V1(crm_value_serialize);
Datum
crm_value_serialize(PG_FUNCTION_ARGS)
{
	crm_aggregate_context(fcinfo, "crm_value_serialize");
	PG_RETURN_POINTER(PG_DETOAST_DATUM(PG_GETARG_DATUM(0)));
}

PG_FUNCTION_INFO_V1(crm_value_deserialize);
Datum
crm_value_deserialize(PG_FUNCTION_ARGS)
{
	CrmAggState *agg = crm_agg_state_for_update(fcinfo, 0, &crm_value_state_kind,
												"crm_value_deserialize");

	PG_RETURN_CRM_AGG_STATE(agg);
}

/*
 * Partially order values[lo .. hi) in descending order so that position k
 * (lo <= k < hi) holds the value a full descending sort would put there,
 * with larger-or-equal values before it and smaller-or-equal after.
 *
 * Quickselect with a median-of-three pivot and a three-way partition, so
 * that the many ties of real customer values (every one-time buyer of the
 * same product) cost nothing extra.
 */
static void
select_descending(double *values, int64 lo, int64 hi, int64 k)
{
	while (hi - lo > 1)
	{
		double		a = values[lo];
		double		b = values[lo + (hi - lo) / 2];
		double		c = values[hi - 1];
		double		pivot;
		int64		gt = lo;		/* values[lo .. gt) > pivot */
		int64		i = lo;			/* values[gt .. i) == pivot */
		int64		lt = hi;		/* values[lt .. hi) < pivot */

		/* median of three */
		if ((a >= b && b >= c) || (c >= b && b >= a))
			pivot = b;
		else if ((b >= a && a >= c) || (c >= a && a >= b))
			pivot = a;
		else
			pivot = c;

		while (i < lt)
		{
			double		v = values[i];

			if (v > pivot)
			{
				values[i++] = values[gt];
				values[gt++] = v;
			}
			else if (v < pivot)
			{
				values[i] = values[--lt];
				values[lt] = v;
			}
			else
				i++;
		}
		if (k < gt)
			hi = gt;
		else if (k >= lt)
			lo = lt;
		else
			return;
	}
}

/*
 * The value thresholds of the three cuts: thresholds[i] is the k-th largest
 * value where k is the number of customers cut i admits, or +Infinity when
 * it admits none.  Reorders the values.
 */
static void
compute_thresholds(ValueState *state, double *thresholds)
{
	int64		hi = state->n;

	/* widest cut first: each later selection only needs the top part */
	for (int i = CRM_NUM_CUTS - 1; i >= 0; i--)
	{
		int64		k = crm_tier_size(state->n, state->params[i]);

		if (k == 0)
		{
			thresholds[i] = get_float8_infinity();
			continue;
		}
		select_descending(state->values, 0, hi, k - 1);
		thresholds[i] = state->values[k - 1];
		hi = k;
	}
}

static ValueState *
get_final_state(FunctionCallInfo fcinfo, const char *fname)
{
	ValueState *state;

	crm_aggregate_context(fcinfo, fname);
	state = crm_agg_state_data(fcinfo, 0, &crm_value_state_kind);
	return state != NULL && state->n > 0 ? state : NULL;
}

/*
 * crm_tier_thresholds_final(state) -> float8[]
 */
PG_FUNCTION_INFO_V1(crm_tier_thresholds_final);
Datum
crm_tier_thresholds_final(PG_FUNCTION_ARGS)
{
	ValueState *state = get_final_state(fcinfo, "crm_tier_thresholds_final");
	double		thresholds[CRM_NUM_CUTS];
	Datum		elems[CRM_NUM_CUTS];

	if (state == NULL)
		PG_RETURN_NULL();
	compute_thresholds(state, thresholds);
	for (int i = 0; i < CRM_NUM_CUTS; i++)
		elems[i] = Float8GetDatum(thresholds[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, CRM_NUM_CUTS, FLOAT8OID,
										  sizeof(float8), FLOAT8PASSBYVAL,
										  TYPALIGN_DOUBLE));
}

/*
 * crm_pareto_share_final(state) -> float8
 *
 * The share of the total held by the top fraction f of n customers, read
 * off the Lorenz curve: the sum of the floor(f n) largest values plus the
 * fractional part of f n times the next value, over the total.  NULL when
 * the total is 0.
 */
PG_FUNCTION_INFO_V1(crm_pareto_share_final);
Datum
crm_pareto_share_final(PG_FUNCTION_ARGS)
{
	ValueState *state = get_final_state(fcinfo, "crm_pareto_share_final");
	double		position;
	int64		k;
	CrmExactSum top;
	CrmExactSum total;

	if (state == NULL)
		PG_RETURN_NULL();

	/* exact sums: the same share whatever order the values came in */
	crm_exact_sum_init(&top);
	crm_exact_sum_init(&total);	/* of the values after the top k, first */
	position = state->params[0] * (double) state->n;
	k = Min((int64) floor(position), state->n);
	if (k > 0)
		select_descending(state->values, 0, state->n, k - 1);
	for (int64 i = 0; i < state->n; i++)
		crm_exact_sum_add(i < k ? &top : &total, state->values[i]);
	crm_exact_sum_merge(&total, &top);
	if (k < state->n && position > (double) k)
	{
		/* the next value is the largest of those after the top k */
		double		next = state->values[k];

		for (int64 i = k + 1; i < state->n; i++)
			next = Max(next, state->values[i]);
		crm_exact_sum_add(&top, (position - (double) k) * next);
	}
	if (crm_exact_sum_value(&total) == 0.0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(crm_exact_sum_value(&top) / crm_exact_sum_value(&total));
}

/* Per-call cache of what crm_pyramid's result needs from the catalogs */
typedef struct PyramidCache
{
	Oid			element_type;	/* crm_pyramid_tier */
	int32		element_typmod;
	int16		element_len;
	bool		element_byval;
	char		element_align;
	TupleDesc	tupdesc;
	Datum		tier_oids[CRM_NUM_TIERS];
} PyramidCache;

static PyramidCache *
get_pyramid_cache(FunctionCallInfo fcinfo)
{
	PyramidCache *cache = (PyramidCache *) fcinfo->flinfo->fn_extra;
	MemoryContext old;
	Oid			array_type;

	if (cache != NULL)
		return cache;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	cache = palloc0(sizeof(PyramidCache));
	array_type = get_func_rettype(fcinfo->flinfo->fn_oid);
	cache->element_type = get_element_type(array_type);
	cache->element_typmod = -1;
	get_typlenbyvalalign(cache->element_type, &cache->element_len,
						 &cache->element_byval, &cache->element_align);
	cache->tupdesc = BlessTupleDesc(lookup_rowtype_tupdesc_copy(cache->element_type, -1));
	for (int t = 0; t < CRM_NUM_TIERS; t++)
		cache->tier_oids[t] =
			crm_enum_label(TupleDescAttr(cache->tupdesc, 0)->atttypid,
						   crm_tier_labels[t]);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/*
 * crm_pyramid_final(state) -> crm_pyramid_tier[]
 *
 * One element per tier, vip first: customers, their share of all
 * customers, their total value and its share of the whole, and the lowest
 * and highest value in the tier (NULL for an empty tier).
 */
PG_FUNCTION_INFO_V1(crm_pyramid_final);
Datum
crm_pyramid_final(PG_FUNCTION_ARGS)
{
	ValueState *state = get_final_state(fcinfo, "crm_pyramid_final");
	PyramidCache *cache;
	double		thresholds[CRM_NUM_CUTS];
	int64		count[CRM_NUM_TIERS] = {0};
	CrmExactSum sums[CRM_NUM_TIERS];
	double		sum[CRM_NUM_TIERS];
	double		low[CRM_NUM_TIERS];
	double		high[CRM_NUM_TIERS];
	CrmExactSum totals;
	double		total;
	Datum		elems[CRM_NUM_TIERS];

	if (state == NULL)
		PG_RETURN_NULL();
	cache = get_pyramid_cache(fcinfo);
	compute_thresholds(state, thresholds);

	/* exact sums: the same values whatever order they came in */
	for (int t = 0; t < CRM_NUM_TIERS; t++)
		crm_exact_sum_init(&sums[t]);
	crm_exact_sum_init(&totals);
	for (int64 i = 0; i < state->n; i++)
	{
		double		v = state->values[i];
		CrmTier		t;

		if (v >= thresholds[0])
			t = CRM_TIER_VIP;
		else if (v >= thresholds[1])
			t = CRM_TIER_MAJOR;
		else if (v >= thresholds[2])
			t = CRM_TIER_ORDINARY;
		else
			t = CRM_TIER_SMALL;
		if (count[t] == 0 || v < low[t])
			low[t] = v;
		if (count[t] == 0 || v > high[t])
			high[t] = v;
		count[t]++;
		crm_exact_sum_add(&sums[t], v);
	}
	for (int t = 0; t < CRM_NUM_TIERS; t++)
	{
		sum[t] = crm_exact_sum_value(&sums[t]);
		crm_exact_sum_merge(&totals, &sums[t]);
	}
	total = crm_exact_sum_value(&totals);

	for (int t = CRM_NUM_TIERS - 1; t >= 0; t--)
	{
		Datum		values[7];
		bool		nulls[7] = {false};

		values[0] = cache->tier_oids[t];
		values[1] = Int64GetDatum(count[t]);
		values[2] = Float8GetDatum((double) count[t] / (double) state->n);
		values[3] = Float8GetDatum(sum[t]);
		values[4] = Float8GetDatum(total != 0.0 ? sum[t] / total : 0.0);
		nulls[4] = (total == 0.0);
		values[5] = Float8GetDatum(count[t] ? low[t] : 0.0);
		nulls[5] = (count[t] == 0);
		values[6] = Float8GetDatum(count[t] ? high[t] : 0.0);
		nulls[6] = (count[t] == 0);
		elems[CRM_NUM_TIERS - 1 - t] =
			HeapTupleGetDatum(heap_form_tuple(cache->tupdesc, values, nulls));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, CRM_NUM_TIERS,
										  cache->element_type,
										  cache->element_len,
										  cache->element_byval,
										  cache->element_align));
}
