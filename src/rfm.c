/*
 * rfm.c
 *		The crm_rfm aggregate: one pass over a customer's orders gives the
 *		RFM figures (orders, revenue, first and last order, time since the
 *		last order) and the summary the probabilistic models use.
 *
 * Model summary, as in the literature (Fader, Hardie & Lee 2005) and the
 * lifetimes library: orders are grouped into purchase days in the session
 * TimeZone; frequency is the number of purchase days after the first one,
 * recency the time from the first to the last purchase day, t the time
 * from the first purchase day to as_of, and the average repeat value the
 * mean over repeat purchase days of each day's total.  All three times are
 * whole days divided by the unit (a week unit gives days / 7).
 *
 * State: counts, the first and last timestamps, the revenue in core's own
 * numeric sum accumulator (so summing costs what sum(numeric) costs), the
 * exact revenue of the first purchase day, and the set of purchase days.
 * The day set is an array that is sorted and deduplicated whenever it
 * fills up, so it stays as small as the number of distinct days and costs
 * O(n log n) for a customer with n orders, never O(n^2).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "crm.h"

/* numeric infinities arrived in PostgreSQL 14 */
#if PG_VERSION_NUM >= 140000
#define NUMERIC_NOT_FINITE(n) (numeric_is_nan(n) || numeric_is_inf(n))
#else
#define NUMERIC_NOT_FINITE(n) numeric_is_nan(n)
#endif

/* Serialised state format; bump when the layout changes */
#define RFM_STATE_VERSION 1

/* Days kept inside the state before the day array moves to its own chunk */
#define RFM_INLINE_DAYS 4

typedef struct RfmState
{
	int64		orders;
	TimestampTz first_at;
	TimestampTz last_at;
	DateADT		first_day;		/* purchase day of first_at */
	Numeric		first_day_revenue;	/* total of the orders on first_day */
	Datum		revenue;		/* core's NumericAggState, or 0 */
	bool		has_as_of;		/* as_of and unit_days were given */
	TimestampTz as_of;
	double		unit_days;
	int32		ndays;			/* entries used in days */
	int32		maxdays;		/* entries allocated in days */
	DateADT    *days;			/* purchase days, possibly repeated */
	DateADT		inline_days[RFM_INLINE_DAYS];
} RfmState;

/*
 * Cache of the local day last computed, kept in fn_extra: orders usually
 * arrive in time order, so most timestamps fall on the day just seen and
 * skip the time zone arithmetic.
 */
typedef struct DayCache
{
	bool		valid;
	TimestampTz start;			/* local midnight starting the day */
	TimestampTz end;			/* local midnight ending it */
	DateADT		day;
} DayCache;

/*
 * The local (session TimeZone) date of a timestamp, with its bounds cached.
 */
static DateADT
local_day(TimestampTz ts, DayCache *cache)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;
	int			overflow = 0;
	DateADT		day;

	if (cache->valid && ts >= cache->start && ts < cache->end)
		return cache->day;

	if (timestamp2tm(ts, &tz, &tm, &fsec, NULL, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("timestamp out of range")));
	day = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;

	cache->start = date2timestamptz_opt_overflow(day, &overflow);
	cache->end = date2timestamptz_opt_overflow(day + 1, &overflow);
	/* at the ends of the timestamp range just do not cache */
	cache->valid = (overflow == 0 && ts >= cache->start && ts < cache->end);
	cache->day = day;
	return day;
}

static DayCache *
get_day_cache(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(DayCache));
	return (DayCache *) fcinfo->flinfo->fn_extra;
}

static MemoryContext
aggregate_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", fname)));
	return aggcontext;
}

/*
 * Call one of core's numeric sum support functions (numeric_avg_accum and
 * friends) on behalf of our aggregate: they need the aggregate context,
 * which we pass on.
 */
static Datum
call_numeric_support(PGFunction fn, FunctionCallInfo fcinfo, int nargs,
					 Datum arg0, bool null0, Datum arg1, bool null1,
					 bool *isnull)
{
	LOCAL_FCINFO(inner, 2);
	Datum		result;

	InitFunctionCallInfoData(*inner, NULL, nargs, InvalidOid,
							 fcinfo->context, NULL);
	inner->args[0].value = arg0;
	inner->args[0].isnull = null0;
	inner->args[1].value = arg1;
	inner->args[1].isnull = null1;
	result = fn(inner);
	if (isnull)
		*isnull = inner->isnull;
	return result;
}

static RfmState *
new_state(MemoryContext aggcontext)
{
	RfmState   *state = MemoryContextAllocZero(aggcontext, sizeof(RfmState));

	state->days = state->inline_days;
	state->maxdays = RFM_INLINE_DAYS;
	state->unit_days = 1.0;
	return state;
}

static int
day_cmp(const void *a, const void *b)
{
	DateADT		x = *(const DateADT *) a;
	DateADT		y = *(const DateADT *) b;

	return (x > y) - (x < y);
}

/*
 * Sort the day array and drop repeats.
 */
static void
compact_days(RfmState *state)
{
	int32		n = 0;

	if (state->ndays < 2)
		return;
	qsort(state->days, state->ndays, sizeof(DateADT), day_cmp);
	for (int32 i = 1; i < state->ndays; i++)
		if (state->days[i] != state->days[n])
			state->days[++n] = state->days[i];
	state->ndays = n + 1;
}

/*
 * Make room for one more day: first by compacting, then by doubling the
 * array when it is still more than half full of distinct days.
 */
static void
reserve_day(RfmState *state, MemoryContext aggcontext)
{
	if (state->ndays < state->maxdays)
		return;
	compact_days(state);
	if (state->ndays <= state->maxdays / 2)
		return;
	if (state->days == state->inline_days)
	{
		DateADT    *days = MemoryContextAlloc(aggcontext,
											  sizeof(DateADT) * state->maxdays * 2);

		memcpy(days, state->inline_days, sizeof(DateADT) * state->ndays);
		state->days = days;
	}
	else
		state->days = repalloc_huge(state->days,
									sizeof(DateADT) * state->maxdays * 2);
	state->maxdays *= 2;
}

static void
add_day(RfmState *state, DateADT day, MemoryContext aggcontext)
{
	/* orders in time order repeat the last day: skip those for free */
	if (state->ndays > 0 && state->days[state->ndays - 1] == day)
		return;
	reserve_day(state, aggcontext);
	state->days[state->ndays++] = day;
}

/*
 * Length of the unit in days, with a month of 30 days as interval
 * comparison counts it.
 */
static double
unit_in_days(Interval *unit)
{
	double		days;

#if PG_VERSION_NUM >= 170000
	if (INTERVAL_NOT_FINITE(unit))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unit cannot be infinity")));
#endif
	days = (double) unit->month * DAYS_PER_MONTH + unit->day +
		(double) unit->time / USECS_PER_DAY;
	if (!(days > 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("unit must be a positive interval")));
	return days;
}

/*
 * Record as_of and unit from a row, checking that every row agrees.
 */
static void
set_as_of(RfmState *state, FunctionCallInfo fcinfo)
{
	TimestampTz as_of;
	double		unit_days = 1.0;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be null")));
	as_of = PG_GETARG_TIMESTAMPTZ(3);
	if (TIMESTAMP_NOT_FINITE(as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of cannot be infinity")));
	if (PG_NARGS() > 4)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("unit must not be null")));
		unit_days = unit_in_days(PG_GETARG_INTERVAL_P(4));
	}

	if (!state->has_as_of)
	{
		state->has_as_of = true;
		state->as_of = as_of;
		state->unit_days = unit_days;
	}
	else if (state->as_of != as_of || state->unit_days != unit_days)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of and unit must be the same for every row of a group")));
}

/*
 * crm_rfm_accum(state, ordered_at, amount [, as_of [, unit]])
 *
 * Rows with a NULL ordered_at or amount are skipped, as sum() skips NULLs.
 */
PG_FUNCTION_INFO_V1(crm_rfm_accum);
Datum
crm_rfm_accum(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = aggregate_context(fcinfo, "crm_rfm_accum");
	RfmState   *state;
	TimestampTz ordered_at;
	Numeric		amount;
	DateADT		day;

	state = PG_ARGISNULL(0) ? new_state(aggcontext) : (RfmState *) PG_GETARG_POINTER(0);
	if (PG_NARGS() > 3)
		set_as_of(state, fcinfo);

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);
	ordered_at = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_GETARG_NUMERIC(2);
	if (TIMESTAMP_NOT_FINITE(ordered_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ordered_at cannot be infinity")));
	if (NUMERIC_NOT_FINITE(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be a finite number")));

	day = local_day(ordered_at, get_day_cache(fcinfo));

	state->revenue = call_numeric_support(numeric_avg_accum, fcinfo, 2,
										  state->revenue, state->revenue == 0,
										  NumericGetDatum(amount), false, NULL);

	if (state->orders == 0 || day < state->first_day)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);

		if (state->first_day_revenue)
			pfree(state->first_day_revenue);
		state->first_day = day;
		state->first_day_revenue = DatumGetNumericCopy(NumericGetDatum(amount));
		MemoryContextSwitchTo(old);
	}
	else if (day == state->first_day)
	{
		MemoryContext old = MemoryContextSwitchTo(aggcontext);
		Numeric		sum = DatumGetNumeric(DirectFunctionCall2(numeric_add,
															  NumericGetDatum(state->first_day_revenue),
															  NumericGetDatum(amount)));

		pfree(state->first_day_revenue);
		state->first_day_revenue = sum;
		MemoryContextSwitchTo(old);
	}

	if (state->orders == 0 || ordered_at < state->first_at)
		state->first_at = ordered_at;
	if (state->orders == 0 || ordered_at > state->last_at)
		state->last_at = ordered_at;
	state->orders++;
	add_day(state, day, aggcontext);

	PG_RETURN_POINTER(state);
}

/*
 * crm_rfm_combine(state, state)
 */
PG_FUNCTION_INFO_V1(crm_rfm_combine);
Datum
crm_rfm_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = aggregate_context(fcinfo, "crm_rfm_combine");
	RfmState   *a = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	RfmState   *b = PG_ARGISNULL(1) ? NULL : (RfmState *) PG_GETARG_POINTER(1);
	MemoryContext old;

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = new_state(aggcontext);

	if (b->has_as_of)
	{
		if (!a->has_as_of)
		{
			a->has_as_of = true;
			a->as_of = b->as_of;
			a->unit_days = b->unit_days;
		}
		else if (a->as_of != b->as_of || a->unit_days != b->unit_days)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("as_of and unit must be the same for every row of a group")));
	}
	if (b->orders == 0)
		PG_RETURN_POINTER(a);

	old = MemoryContextSwitchTo(aggcontext);
	if (a->orders == 0 || b->first_day < a->first_day)
	{
		if (a->first_day_revenue)
			pfree(a->first_day_revenue);
		a->first_day = b->first_day;
		a->first_day_revenue = DatumGetNumericCopy(NumericGetDatum(b->first_day_revenue));
	}
	else if (b->first_day == a->first_day)
		a->first_day_revenue =
			DatumGetNumeric(DirectFunctionCall2(numeric_add,
												NumericGetDatum(a->first_day_revenue),
												NumericGetDatum(b->first_day_revenue)));
	MemoryContextSwitchTo(old);

	a->revenue = call_numeric_support(numeric_avg_combine, fcinfo, 2,
									  a->revenue, a->revenue == 0,
									  b->revenue, b->revenue == 0, NULL);
	if (a->orders == 0 || b->first_at < a->first_at)
		a->first_at = b->first_at;
	if (a->orders == 0 || b->last_at > a->last_at)
		a->last_at = b->last_at;
	a->orders += b->orders;
	for (int32 i = 0; i < b->ndays; i++)
	{
		reserve_day(a, aggcontext);
		a->days[a->ndays++] = b->days[i];
	}

	PG_RETURN_POINTER(a);
}

/*
 * crm_rfm_serialize(state) -> bytea
 *
 * Layout: version byte, scalar fields, the first day's revenue as text,
 * core's serialised revenue accumulator, then the distinct days.
 */
PG_FUNCTION_INFO_V1(crm_rfm_serialize);
Datum
crm_rfm_serialize(PG_FUNCTION_ARGS)
{
	RfmState   *state;
	StringInfoData buf;
	bytea	   *revenue;

	aggregate_context(fcinfo, "crm_rfm_serialize");
	state = (RfmState *) PG_GETARG_POINTER(0);
	compact_days(state);

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, RFM_STATE_VERSION);
	pq_sendint64(&buf, state->orders);
	pq_sendint64(&buf, state->first_at);
	pq_sendint64(&buf, state->last_at);
	pq_sendint32(&buf, state->first_day);
	pq_sendbyte(&buf, state->has_as_of);
	pq_sendint64(&buf, state->as_of);
	pq_sendfloat8(&buf, state->unit_days);
	if (state->orders > 0)
	{
		char	   *text = DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(state->first_day_revenue)));

		pq_sendstring(&buf, text);
		revenue = DatumGetByteaPP(call_numeric_support(numeric_avg_serialize,
													   fcinfo, 1,
													   state->revenue, false,
													   (Datum) 0, true, NULL));
		pq_sendint32(&buf, VARSIZE_ANY_EXHDR(revenue));
		pq_sendbytes(&buf, VARDATA_ANY(revenue), VARSIZE_ANY_EXHDR(revenue));
	}
	pq_sendint32(&buf, state->ndays);
	for (int32 i = 0; i < state->ndays; i++)
		pq_sendint32(&buf, state->days[i]);

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * crm_rfm_deserialize(bytea, internal) -> state
 */
PG_FUNCTION_INFO_V1(crm_rfm_deserialize);
Datum
crm_rfm_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = aggregate_context(fcinfo, "crm_rfm_deserialize");
	bytea	   *sstate = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	RfmState   *state;
	int32		ndays;

	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, VARDATA_ANY(sstate), VARSIZE_ANY_EXHDR(sstate));

	if (pq_getmsgbyte(&buf) != RFM_STATE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported crm_rfm state version")));
	state = new_state(aggcontext);
	state->orders = pq_getmsgint64(&buf);
	state->first_at = pq_getmsgint64(&buf);
	state->last_at = pq_getmsgint64(&buf);
	state->first_day = pq_getmsgint(&buf, 4);
	state->has_as_of = pq_getmsgbyte(&buf) != 0;
	state->as_of = pq_getmsgint64(&buf);
	state->unit_days = pq_getmsgfloat8(&buf);
	if (state->orders > 0)
	{
		const char *text = pq_getmsgstring(&buf);
		int32		len = pq_getmsgint(&buf, 4);
		bytea	   *revenue;
		MemoryContext old = MemoryContextSwitchTo(aggcontext);

		state->first_day_revenue =
			DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(text),
												ObjectIdGetDatum(InvalidOid),
												Int32GetDatum(-1)));
		MemoryContextSwitchTo(old);
		if (len < 0 || len > buf.len - buf.cursor)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid crm_rfm state")));
		revenue = palloc(VARHDRSZ + len);
		SET_VARSIZE(revenue, VARHDRSZ + len);
		pq_copymsgbytes(&buf, VARDATA(revenue), len);
		state->revenue = call_numeric_support(numeric_avg_deserialize, fcinfo, 2,
											  PointerGetDatum(revenue), false,
											  (Datum) 0, true, NULL);
	}
	ndays = pq_getmsgint(&buf, 4);
	if (ndays < 0 || (int64) ndays * 4 != buf.len - buf.cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid crm_rfm state")));
	for (int32 i = 0; i < ndays; i++)
	{
		reserve_day(state, aggcontext);
		state->days[state->ndays++] = pq_getmsgint(&buf, 4);
	}
	pq_getmsgend(&buf);
	pfree(buf.data);

	PG_RETURN_POINTER(state);
}

/*
 * crm_rfm_final(state) -> crm_rfm
 */
PG_FUNCTION_INFO_V1(crm_rfm_final);
Datum
crm_rfm_final(PG_FUNCTION_ARGS)
{
	RfmState   *state;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {false};
	DayCache	cache = {false};
	TimestampTz as_of;
	DateADT		as_of_day;
	DateADT		last_day;
	int32		frequency;
	bool		isnull;
	Datum		revenue;

	aggregate_context(fcinfo, "crm_rfm_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (RfmState *) PG_GETARG_POINTER(0);
	if (state->orders == 0)
		PG_RETURN_NULL();

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "crm_rfm_final must return a composite type");
	tupdesc = BlessTupleDesc(tupdesc);

	/* without an explicit as_of, judge at the start of the transaction */
	as_of = state->has_as_of ? state->as_of : GetCurrentTransactionStartTimestamp();
	as_of_day = local_day(as_of, &cache);
	last_day = local_day(state->last_at, &cache);
	if (as_of_day < last_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must not be earlier than the day of the last order"),
				 errhint("Restrict the orders to those on or before as_of.")));

	compact_days(state);
	frequency = state->ndays - 1;
	revenue = call_numeric_support(numeric_sum, fcinfo, 1,
								   state->revenue, false, (Datum) 0, true,
								   &isnull);
	Assert(!isnull);

	values[0] = Int64GetDatum(state->orders);
	values[1] = revenue;
	values[2] = TimestampTzGetDatum(state->first_at);
	values[3] = TimestampTzGetDatum(state->last_at);
	values[4] = Float8GetDatum((as_of_day - last_day) / state->unit_days);
	values[5] = Int32GetDatum(frequency);
	values[6] = Float8GetDatum((last_day - state->first_day) / state->unit_days);
	values[7] = Float8GetDatum((as_of_day - state->first_day) / state->unit_days);
	if (frequency > 0)
	{
		Datum		repeat = DirectFunctionCall2(numeric_sub, revenue,
												 NumericGetDatum(state->first_day_revenue));

		values[8] = DirectFunctionCall2(numeric_div, repeat,
										DirectFunctionCall1(int4_numeric,
															Int32GetDatum(frequency)));
	}
	else
		nulls[8] = true;

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
