/*
 * holdout.c
 *		The crm_calibration_holdout aggregate: a customer's summary over a
 *		calibration period, and what the customer then did in the holdout
 *		period after it -- the data of every backtest of a CLV model.
 *
 * With crm_rfm's definitions: purchase days are local days in the session
 * TimeZone; over the calibration period (days up to that of
 * calibration_end) frequency is the purchase days after the first, recency
 * and t the time from the first purchase day to the last one and to
 * calibration_end's day, the average value the mean total of the repeat
 * purchase days.  The holdout period is the days after calibration_end's,
 * up to observation_end's: its purchase days (all repeat purchases, the
 * customer having bought before), its length, and what was spent in it.
 * A customer whose first purchase day is after calibration_end's is not in
 * the calibration cohort: NULL.
 *
 * Amounts are summed exactly, as crm_rfm sums them (amount.c), so that the
 * figures do not depend on the order of the rows, nor on a parallel plan
 * or a Citus cluster splitting them.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "amount.h"
#include "crm.h"

/*
 * An exact sum of numeric amounts: in units of 10^-8 while every amount
 * fits them, as a numeric from the first that does not
 */
typedef struct ExactSum
{
	crm_units	units;
	int			dscale;			/* largest display scale added */
	Numeric		numeric;		/* the sum, once it left units; else NULL */
} ExactSum;

/* Distinct days, sorted */
typedef struct DaySet
{
	DateADT    *days;
	int32		n;
	int32		size;
} DaySet;

typedef struct HoldoutState
{
	bool		has_periods;	/* the periods below were given */
	TimestampTz calibration_end;
	TimestampTz observation_end;
	DateADT		calibration_day;	/* local day of calibration_end */
	DateADT		observation_day;	/* local day of observation_end */
	double		unit_days;
	DaySet		calibration;	/* purchase days up to calibration_day */
	DaySet		holdout;		/* and after it, up to observation_day */
	ExactSum	calibration_revenue;
	ExactSum	first_day_revenue;	/* of calibration.days[0] */
	ExactSum	holdout_revenue;
} HoldoutState;

static Numeric
sum_numeric(const ExactSum *sum)
{
	return sum->numeric ? sum->numeric : crm_amount_numeric(sum->units, sum->dscale);
}

/* Leave units for good: the sum as a numeric in the aggregate's memory */
static void
sum_to_numeric(ExactSum *sum, MemoryContext context)
{
	MemoryContext old;

	if (sum->numeric)
		return;
	old = MemoryContextSwitchTo(context);
	sum->numeric = crm_amount_numeric(sum->units, sum->dscale);
	MemoryContextSwitchTo(old);
}

static void
sum_add_numeric(ExactSum *sum, Numeric value, MemoryContext context)
{
	MemoryContext old;

	sum_to_numeric(sum, context);
	old = MemoryContextSwitchTo(context);
	sum->numeric = DatumGetNumeric(DirectFunctionCall2(numeric_add,
													   NumericGetDatum(sum->numeric),
													   NumericGetDatum(value)));
	MemoryContextSwitchTo(old);
}

static void
sum_add(ExactSum *sum, Datum amount, MemoryContext context)
{
	crm_units	units;
	int			dscale;

	if (sum->numeric == NULL && crm_amount_units(amount, &units, &dscale) &&
		crm_amount_sum_is_safe(sum->units) && crm_amount_sum_is_safe(units))
	{
		sum->units += units;
		sum->dscale = Max(sum->dscale, dscale);
		return;
	}
	sum_add_numeric(sum, DatumGetNumeric(amount), context);
}

static void
sum_merge(ExactSum *into, const ExactSum *from, MemoryContext context)
{
	if (into->numeric == NULL && from->numeric == NULL &&
		crm_amount_sum_is_safe(into->units) && crm_amount_sum_is_safe(from->units))
	{
		into->units += from->units;
		into->dscale = Max(into->dscale, from->dscale);
		return;
	}
	sum_add_numeric(into, sum_numeric(from), context);
}

/* a - b as float8, as crm_rfm works out its average repeat value */
static double
sum_difference(const ExactSum *a, const ExactSum *b)
{
	if (a->numeric == NULL && b->numeric == NULL)
		return (double) (a->units - b->units) / pow(10, CRM_AMOUNT_SCALE);
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  DirectFunctionCall2(numeric_sub,
																  NumericGetDatum(sum_numeric(a)),
																  NumericGetDatum(sum_numeric(b)))));
}

/* Add day to a set; the days of a customer are few, kept sorted */
static void
dayset_add(DaySet *set, DateADT day, MemoryContext context)
{
	bool		found;
	int32		lo = crm_day_position(set->days, set->n, day, &found);

	if (found)
		return;
	if (set->n == set->size)
	{
		set->size = set->size ? set->size * 2 : 4;
		set->days = set->days ?
			repalloc(set->days, sizeof(DateADT) * set->size) :
			MemoryContextAlloc(context, sizeof(DateADT) * set->size);
	}
	memmove(&set->days[lo + 1], &set->days[lo], sizeof(DateADT) * (set->n - lo));
	set->days[lo] = day;
	set->n++;
}

/* The local day of a time, in the session TimeZone, as crm_rfm takes it */
static DateADT
day_of(TimestampTz ts)
{
	return DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(ts)));
}

static void
periods_mismatch(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("calibration_end, observation_end and unit must be the same for every row of a group")));
}

/*
 * The periods of a row: calibration_end, observation_end [, unit] in
 * arguments 3 to 5
 */
static void
set_periods(FunctionCallInfo fcinfo, HoldoutState *state)
{
	TimestampTz calibration_end,
				observation_end;
	double		unit_days = 1.0;

	crm_check_not_null(fcinfo, 3, "calibration_end");
	crm_check_not_null(fcinfo, 4, "observation_end");
	calibration_end = PG_GETARG_TIMESTAMPTZ(3);
	observation_end = PG_GETARG_TIMESTAMPTZ(4);
	if (PG_NARGS() > 5)
	{
		crm_check_not_null(fcinfo, 5, "unit");
		unit_days = crm_unit_in_days(PG_GETARG_INTERVAL_P(5));
	}
	if (state->has_periods)
	{
		if (state->calibration_end != calibration_end ||
			state->observation_end != observation_end || state->unit_days != unit_days)
			periods_mismatch();
		return;
	}
	if (TIMESTAMP_NOT_FINITE(calibration_end) || TIMESTAMP_NOT_FINITE(observation_end))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("calibration_end and observation_end cannot be infinity")));
	state->calibration_day = day_of(calibration_end);
	state->observation_day = day_of(observation_end);
	if (state->observation_day < state->calibration_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("observation_end must not be earlier than calibration_end")));
	state->calibration_end = calibration_end;
	state->observation_end = observation_end;
	state->unit_days = unit_days;
	state->has_periods = true;
}

/*
 * crm_holdout_accum(state, ordered_at, amount, calibration_end,
 *					 observation_end [, unit])
 *
 * Rows with a NULL ordered_at or amount are skipped, as crm_rfm skips them;
 * orders after observation_end's day count for nothing.
 */
PG_FUNCTION_INFO_V1(crm_holdout_accum);
Datum
crm_holdout_accum(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_holdout_accum");
	HoldoutState *state = PG_ARGISNULL(0) ? NULL : (HoldoutState *) PG_GETARG_POINTER(0);
	TimestampTz ordered_at;
	DateADT		day;
	Datum		amount;

	if (state == NULL)
		state = MemoryContextAllocZero(context, sizeof(HoldoutState));
	set_periods(fcinfo, state);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);
	ordered_at = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_GETARG_DATUM(2);
	if (TIMESTAMP_NOT_FINITE(ordered_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ordered_at cannot be infinity")));
	day = day_of(ordered_at);
	if (day > state->observation_day)
		PG_RETURN_POINTER(state);
	if (day > state->calibration_day)
	{
		dayset_add(&state->holdout, day, context);
		sum_add(&state->holdout_revenue, amount, context);
		PG_RETURN_POINTER(state);
	}
	if (state->calibration.n == 0 || day < state->calibration.days[0])
	{
		memset(&state->first_day_revenue, 0, sizeof(ExactSum));
		sum_add(&state->first_day_revenue, amount, context);
	}
	else if (day == state->calibration.days[0])
		sum_add(&state->first_day_revenue, amount, context);
	dayset_add(&state->calibration, day, context);
	sum_add(&state->calibration_revenue, amount, context);
	PG_RETURN_POINTER(state);
}

/*
 * crm_holdout_combine(state, state)
 */
PG_FUNCTION_INFO_V1(crm_holdout_combine);
Datum
crm_holdout_combine(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_holdout_combine");
	HoldoutState *a = PG_ARGISNULL(0) ? NULL : (HoldoutState *) PG_GETARG_POINTER(0);
	HoldoutState *b = PG_ARGISNULL(1) ? NULL : (HoldoutState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = MemoryContextAllocZero(context, sizeof(HoldoutState));
	if (b->has_periods)
	{
		if (!a->has_periods)
		{
			a->has_periods = true;
			a->calibration_end = b->calibration_end;
			a->observation_end = b->observation_end;
			a->calibration_day = b->calibration_day;
			a->observation_day = b->observation_day;
			a->unit_days = b->unit_days;
		}
		else if (a->calibration_end != b->calibration_end ||
				 a->observation_end != b->observation_end || a->unit_days != b->unit_days)
			periods_mismatch();
	}
	if (b->calibration.n > 0)
	{
		if (a->calibration.n == 0 || b->calibration.days[0] < a->calibration.days[0])
			a->first_day_revenue = b->first_day_revenue;
		else if (b->calibration.days[0] == a->calibration.days[0])
			sum_merge(&a->first_day_revenue, &b->first_day_revenue, context);
		/* numeric sums taken over are b's, in the same aggregate memory */
	}
	for (int32 i = 0; i < b->calibration.n; i++)
		dayset_add(&a->calibration, b->calibration.days[i], context);
	for (int32 i = 0; i < b->holdout.n; i++)
		dayset_add(&a->holdout, b->holdout.days[i], context);
	sum_merge(&a->calibration_revenue, &b->calibration_revenue, context);
	sum_merge(&a->holdout_revenue, &b->holdout_revenue, context);
	PG_RETURN_POINTER(a);
}

/* An exact sum on the wire: a flag, then units as two halves or text */
static void
send_sum(StringInfo buf, const ExactSum *sum)
{
	pq_sendbyte(buf, sum->numeric != NULL);
	if (sum->numeric)
		pq_sendstring(buf, DatumGetCString(DirectFunctionCall1(numeric_out,
															   NumericGetDatum(sum->numeric))));
	else
	{
		pq_sendint64(buf, (int64) (sum->units >> 64));
		pq_sendint64(buf, (int64) (uint64) sum->units);
		pq_sendint32(buf, sum->dscale);
	}
}

static void
recv_sum(StringInfo buf, ExactSum *sum, MemoryContext context)
{
	memset(sum, 0, sizeof(ExactSum));
	if (pq_getmsgbyte(buf))
	{
		MemoryContext old = MemoryContextSwitchTo(context);

		sum->numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
														   CStringGetDatum(pq_getmsgstring(buf)),
														   ObjectIdGetDatum(InvalidOid),
														   Int32GetDatum(-1)));
		MemoryContextSwitchTo(old);
	}
	else
	{
		int64		high = pq_getmsgint64(buf);
		uint64		low = (uint64) pq_getmsgint64(buf);

		sum->units = ((crm_units) high << 64) | low;
		sum->dscale = pq_getmsgint(buf, 4);
	}
}

static void
send_days(StringInfo buf, const DaySet *set)
{
	pq_sendint32(buf, set->n);
	for (int32 i = 0; i < set->n; i++)
		pq_sendint32(buf, set->days[i]);
}

static void
recv_days(StringInfo buf, DaySet *set, MemoryContext context)
{
	int32		n = pq_getmsgint(buf, 4);

	if (n < 0 || n > (buf->len - buf->cursor) / 4)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid crm_calibration_holdout state")));
	memset(set, 0, sizeof(DaySet));
	for (int32 i = 0; i < n; i++)
		dayset_add(set, (DateADT) pq_getmsgint(buf, 4), context);
}

/*
 * crm_holdout_serialize(state) -> bytea
 */
PG_FUNCTION_INFO_V1(crm_holdout_serialize);
Datum
crm_holdout_serialize(PG_FUNCTION_ARGS)
{
	HoldoutState *state = (HoldoutState *) PG_GETARG_POINTER(0);
	StringInfoData buf;

	crm_aggregate_context(fcinfo, "crm_holdout_serialize");
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, state->has_periods);
	pq_sendint64(&buf, state->calibration_end);
	pq_sendint64(&buf, state->observation_end);
	pq_sendint32(&buf, state->calibration_day);
	pq_sendint32(&buf, state->observation_day);
	pq_sendfloat8(&buf, state->unit_days);
	send_days(&buf, &state->calibration);
	send_days(&buf, &state->holdout);
	send_sum(&buf, &state->calibration_revenue);
	send_sum(&buf, &state->first_day_revenue);
	send_sum(&buf, &state->holdout_revenue);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * crm_holdout_deserialize(bytea, internal) -> state
 */
PG_FUNCTION_INFO_V1(crm_holdout_deserialize);
Datum
crm_holdout_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext context = crm_aggregate_context(fcinfo, "crm_holdout_deserialize");
	bytea	   *bytes = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	HoldoutState *state = MemoryContextAllocZero(context, sizeof(HoldoutState));

	buf.data = VARDATA_ANY(bytes);
	buf.len = VARSIZE_ANY_EXHDR(bytes);
	buf.maxlen = buf.len;
	buf.cursor = 0;
	state->has_periods = pq_getmsgbyte(&buf) != 0;
	state->calibration_end = pq_getmsgint64(&buf);
	state->observation_end = pq_getmsgint64(&buf);
	state->calibration_day = pq_getmsgint(&buf, 4);
	state->observation_day = pq_getmsgint(&buf, 4);
	state->unit_days = pq_getmsgfloat8(&buf);
	recv_days(&buf, &state->calibration, context);
	recv_days(&buf, &state->holdout, context);
	recv_sum(&buf, &state->calibration_revenue, context);
	recv_sum(&buf, &state->first_day_revenue, context);
	recv_sum(&buf, &state->holdout_revenue, context);
	pq_getmsgend(&buf);
	if (state->has_periods && !(state->unit_days > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid crm_calibration_holdout state")));
	PG_RETURN_POINTER(state);
}

/*
 * crm_holdout_final(state) -> crm_calibration_holdout
 */
PG_FUNCTION_INFO_V1(crm_holdout_final);
Datum
crm_holdout_final(PG_FUNCTION_ARGS)
{
	HoldoutState *state;
	TupleDesc	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	Datum		values[7];
	bool		nulls[7] = {false};
	int32		frequency;
	DateADT		first_day;

	crm_aggregate_context(fcinfo, "crm_holdout_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (HoldoutState *) PG_GETARG_POINTER(0);
	if (state->calibration.n == 0)
		PG_RETURN_NULL();
	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = tupdesc;
	}

	first_day = state->calibration.days[0];
	frequency = state->calibration.n - 1;
	values[0] = Int32GetDatum(frequency);
	values[1] = Float8GetDatum((state->calibration.days[frequency] - first_day) / state->unit_days);
	values[2] = Float8GetDatum((state->calibration_day - first_day) / state->unit_days);
	if (frequency == 0)
		nulls[3] = true;
	else
		values[3] = Float8GetDatum(sum_difference(&state->calibration_revenue,
												  &state->first_day_revenue) / frequency);
	values[4] = Int32GetDatum(state->holdout.n);
	values[5] = Float8GetDatum((state->observation_day - state->calibration_day) / state->unit_days);
	values[6] = NumericGetDatum(sum_numeric(&state->holdout_revenue));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
