/*
 * delta.c
 *		What one customer's new orders add up to, and what the tracking
 *		reads of an order.
 *
 * An order counts when its customer is known, its amount is a finite
 * number and its time a finite time; anything else (NULL, NaN, infinity)
 * cannot be judged and counts for nobody.  A negative amount is a refund:
 * it lowers revenue but is no order and makes no purchase day.  Purchase
 * days are calendar days in the tracking's time zone, as the SQL computes
 * them with TimeZone set to that zone.
 *
 * The new orders of a customer fold into the state the same way whatever
 * else happened meanwhile: counts and sums add up, first and last order
 * are a minimum and a maximum, the days a union.  So the changes of
 * concurrent transactions can be applied in any order (pending.c, fold.c).
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "datatype/timestamp.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "crm.h"
#include "track.h"

/* Add an amount: exactly in 128-bit units while they hold it, then numeric */
void
crm_track_sum_add(TrackSum *sum, Numeric amount)
{
	crm_units	units;
	int			dscale;

	if (!sum->numeric_mode &&
		crm_amount_units(NumericGetDatum(amount), &units, &dscale) &&
		crm_amount_sum_is_safe(sum->units) && crm_amount_sum_is_safe(units))
	{
		sum->units += units;
		sum->dscale = Max(sum->dscale, dscale);
		return;
	}
	if (!sum->numeric_mode)
	{
		sum->numeric = crm_amount_numeric(sum->units, sum->dscale);
		sum->numeric_mode = true;
	}
	sum->numeric = DatumGetNumeric(DirectFunctionCall2(numeric_add,
													   NumericGetDatum(sum->numeric),
													   NumericGetDatum(amount)));
}

void
crm_track_sum_add_sum(TrackSum *sum, const TrackSum *other)
{
	crm_track_sum_add(sum, crm_track_sum_value(other));
}

/* The sum as numeric, at the largest display scale of its terms */
Numeric
crm_track_sum_value(const TrackSum *sum)
{
	if (sum->numeric_mode)
		return sum->numeric;
	return crm_amount_numeric(sum->units, sum->dscale);
}

/* Whether an amount is below zero: a refund */
bool
crm_track_numeric_negative(Numeric value)
{
	static Numeric zero = NULL;

	if (zero == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		zero = int64_to_numeric(0);
		MemoryContextSwitchTo(old);
	}
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(value),
											 NumericGetDatum(zero))) < 0;
}

static void
add_day(TrackDelta *delta, DateADT day)
{
	bool		found;
	int			pos = crm_day_position(delta->days, delta->ndays, day, &found);

	if (found)
		return;
	if (delta->ndays == delta->maxdays)
	{
		delta->maxdays = Max(4, delta->maxdays * 2);
		delta->days = delta->days ?
			repalloc(delta->days, sizeof(DateADT) * delta->maxdays) :
			palloc(sizeof(DateADT) * delta->maxdays);
	}
	memmove(delta->days + pos + 1, delta->days + pos,
			sizeof(DateADT) * (delta->ndays - pos));
	delta->days[pos] = day;
	delta->ndays++;
}

/*
 * Add one counted order: amount (a refund when negative), its time and
 * purchase day, whether it was promotional
 */
void
crm_track_delta_add(TrackDelta *delta, Numeric amount, TimestampTz at,
					DateADT day, bool promo)
{
	TrackSum	zero = {0};

	crm_track_sum_add(&delta->revenue, amount);
	if (crm_track_numeric_negative(amount))
		return;

	if (delta->orders == 0 || at < delta->first_at)
		delta->first_at = at;
	if (delta->orders == 0 || at > delta->last_at)
		delta->last_at = at;
	delta->orders++;
	if (promo)
		delta->promo_orders++;

	/* the revenue of the first day: a new first day starts it again */
	if (delta->ndays == 0 || day < delta->days[0])
		delta->first_day_revenue = zero;
	if (delta->ndays == 0 || day <= delta->days[0])
		crm_track_sum_add(&delta->first_day_revenue, amount);
	add_day(delta, day);
}

/* Add another delta of the same customer */
void
crm_track_delta_merge(TrackDelta *delta, const TrackDelta *other)
{
	crm_track_sum_add_sum(&delta->revenue, &other->revenue);
	if (other->orders == 0)
		return;
	if (delta->orders == 0 || other->first_at < delta->first_at)
		delta->first_at = other->first_at;
	if (delta->orders == 0 || other->last_at > delta->last_at)
		delta->last_at = other->last_at;
	delta->orders += other->orders;
	delta->promo_orders += other->promo_orders;

	if (delta->ndays == 0 || other->days[0] < delta->days[0])
		delta->first_day_revenue = other->first_day_revenue;
	else if (other->days[0] == delta->days[0])
		crm_track_sum_add_sum(&delta->first_day_revenue, &other->first_day_revenue);
	for (int i = 0; i < other->ndays; i++)
		add_day(delta, other->days[i]);
}

/*
 * An order's amount as numeric; false when it cannot be judged (NaN or
 * infinite: numeric and floating point columns both take them)
 */
bool
crm_track_order_amount(Oid type, Datum value, Numeric *amount)
{
	Datum		result;

	switch (type)
	{
		case NUMERICOID:
			result = value;
			break;
		case INT2OID:
			result = DirectFunctionCall1(int2_numeric, value);
			break;
		case INT4OID:
			result = DirectFunctionCall1(int4_numeric, value);
			break;
		case INT8OID:
			result = DirectFunctionCall1(int8_numeric, value);
			break;
		case FLOAT4OID:
			if (!isfinite(DatumGetFloat4(value)))
				return false;
			result = DirectFunctionCall1(float4_numeric, value);
			break;
		case FLOAT8OID:
			if (!isfinite(DatumGetFloat8(value)))
				return false;
			result = DirectFunctionCall1(float8_numeric, value);
			break;
		default:
			elog(ERROR, "amount type %u is not tracked", type);
	}
	*amount = DatumGetNumeric(result);
	return !numeric_is_nan(*amount) && !numeric_is_inf(*amount);
}

/*
 * An order's time as timestamptz and its calendar day in zone; false when
 * it is infinite.  A local time or a date is read in zone, as the SQL
 * casts it with TimeZone set to that zone (timestamp2timestamptz,
 * date2timestamptz).
 */
bool
crm_track_order_time(Oid type, Datum value, pg_tz *zone, TimestampTz *at,
					 DateADT *day)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			tz;

	switch (type)
	{
		case TIMESTAMPTZOID:
			*at = DatumGetTimestampTz(value);
			if (TIMESTAMP_NOT_FINITE(*at))
				return false;
			break;
		case TIMESTAMPOID:
			if (TIMESTAMP_NOT_FINITE(DatumGetTimestamp(value)) ||
				timestamp2tm(DatumGetTimestamp(value), NULL, &tm, &fsec, NULL, NULL) != 0)
				return false;
			tz = DetermineTimeZoneOffset(&tm, zone);
			if (tm2timestamp(&tm, fsec, &tz, at) != 0)
				return false;
			break;
		case DATEOID:
			if (DATE_NOT_FINITE(DatumGetDateADT(value)))
				return false;
			j2date(DatumGetDateADT(value) + POSTGRES_EPOCH_JDATE,
				   &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
			tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
			tz = DetermineTimeZoneOffset(&tm, zone);
			*at = (TimestampTz) DatumGetDateADT(value) * USECS_PER_DAY + tz * USECS_PER_SEC;
			break;
		default:
			elog(ERROR, "order time type %u is not tracked", type);
	}
	if (!IS_VALID_TIMESTAMP(*at) ||
		timestamp2tm(*at, &tz, &tm, &fsec, NULL, zone) != 0)
		return false;
	*day = date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
	return true;
}

/*
 * Revenue as float8 for tiers, clamped to +-1e300: numeric holds sums far
 * beyond float8 (an amount of 1e400 is a valid numeric), which tier only
 * by rank.  The SQL clamps the same way (sql.c, revenue_float).
 */
double
crm_track_revenue_float(Numeric revenue)
{
	double		value = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow,
														   NumericGetDatum(revenue)));

	if (value > 1e300)
		return 1e300;
	if (value < -1e300)
		return -1e300;
	if (fabs(value) < 1e-300)
		return 0.0;
	return value;
}
