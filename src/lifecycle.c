/*
 * lifecycle.c
 *		Relationship lifecycle stage of a customer from their order count,
 *		first and last order, judged at a given moment.
 *
 * Decision table (n = orders, idle = as_of - last_at, span = last_at -
 * first_at, gap = max(span / (n - 1), min_gap)), first match wins:
 *	1. n = 0										-> prospect
 *	2. n = 1 or span < min_gap, idle > one_time_churn	-> churned
 *	3. n = 1 or span < min_gap						-> acquisition
 *	4. idle > churn_gaps x gap						-> churned
 *	5. idle > decline_gaps x gap					-> decline
 *	6. n >= mature_orders							-> maturity
 *	7. otherwise									-> growth
 * Decline is announced by purchase frequency falling: the customer has been
 * silent for longer than decline_gaps of their own average gaps.  Orders
 * that all fall within min_gap of each other are one purchase occasion,
 * judged like a single order.
 */
#include "postgres.h"

#include <math.h>

#include "datatype/timestamp.h"
#include "utils/timestamp.h"

#include "crm.h"

#include "lifecycle.h"

#if PG_VERSION_NUM >= 170000
#define INTERVAL_IS_INFINITE(i) INTERVAL_NOT_FINITE(i)
#else
#define INTERVAL_IS_INFINITE(i) false
#endif

const char *const crm_lifecycle_labels[CRM_NUM_STAGES] = {
	"prospect", "acquisition", "growth", "maturity", "decline", "churned"
};

/* Keep in step with the DEFAULTs of crm_lifecycle_stage in lifecycle.sql */
const CrmLifecycleSettings crm_lifecycle_defaults = {
	.decline_gaps = 2,
	.churn_gaps = 4,
	.mature_orders = 5,
	.one_time_churn = 365.0 * USECS_PER_DAY,
	.min_gap = 1.0 * USECS_PER_DAY
};

/*
 * A finite interval as microseconds, with a month of 30 days and a day of
 * 24 hours as interval comparison does; double keeps months * days from
 * overflowing.
 */
static double
interval_usecs(FunctionCallInfo fcinfo, int argno, const char *name)
{
	Interval   *span;

	crm_check_not_null(fcinfo, argno, name);
	span = PG_GETARG_INTERVAL_P(argno);
	if (INTERVAL_IS_INFINITE(span))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot be infinity", name)));
	return (double) span->time +
		((double) span->month * DAYS_PER_MONTH + span->day) * USECS_PER_DAY;
}

/* A finite timestamp, or an error naming it */
static void
check_finite_timestamp(TimestampTz value, const char *name)
{
	if (TIMESTAMP_NOT_FINITE(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot be infinity", name)));
}

/*
 * The stage of a customer with orders > 0 between first_at and last_at, at
 * as_of; the checks and the decision table of crm_lifecycle_stage, for
 * that function and for the tracking triggers.
 */
CrmLifecycle
crm_lifecycle_of(int64 orders, TimestampTz first_at, TimestampTz last_at,
				 TimestampTz as_of, const CrmLifecycleSettings *settings)
{
	double		idle;
	double		span;
	double		gap;

	Assert(orders > 0);
	check_finite_timestamp(first_at, "first_at");
	check_finite_timestamp(last_at, "last_at");
	check_finite_timestamp(as_of, "as_of");
	if (first_at > last_at)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("first_at must not be later than last_at")));
	if (last_at > as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("last_at must not be later than as_of"),
				 errhint("Judge the stage at or after the customer's last order.")));

	idle = (double) (as_of - last_at);
	span = (double) (last_at - first_at);

	if (orders == 1 || span < settings->min_gap)
		return idle > settings->one_time_churn ?
			CRM_STAGE_CHURNED : CRM_STAGE_ACQUISITION;
	gap = Max(span / (double) (orders - 1), settings->min_gap);
	if (idle > settings->churn_gaps * gap)
		return CRM_STAGE_CHURNED;
	if (idle > settings->decline_gaps * gap)
		return CRM_STAGE_DECLINE;
	if (orders >= settings->mature_orders)
		return CRM_STAGE_MATURITY;
	return CRM_STAGE_GROWTH;
}

/*
 * crm_lifecycle_stage(orders, first_at, last_at, as_of, decline_gaps,
 *					   churn_gaps, mature_orders, one_time_churn, min_gap)
 *
 * NULL orders gives NULL; zero orders is a prospect whatever the
 * timestamps; otherwise a NULL timestamp gives NULL.  The settings must
 * not be NULL.
 */
PG_FUNCTION_INFO_V1(crm_lifecycle_stage);
Datum
crm_lifecycle_stage(PG_FUNCTION_ARGS)
{
	CrmLifecycleSettings settings;
	int64		orders;
	CrmLifecycle stage;

	crm_check_not_null(fcinfo, 4, "decline_gaps");
	crm_check_not_null(fcinfo, 5, "churn_gaps");
	crm_check_not_null(fcinfo, 6, "mature_orders");
	settings.decline_gaps = PG_GETARG_FLOAT8(4);
	settings.churn_gaps = PG_GETARG_FLOAT8(5);
	settings.mature_orders = PG_GETARG_INT32(6);
	settings.one_time_churn = interval_usecs(fcinfo, 7, "one_time_churn");
	settings.min_gap = interval_usecs(fcinfo, 8, "min_gap");

	crm_check_finite("decline_gaps", settings.decline_gaps);
	crm_check_finite("churn_gaps", settings.churn_gaps);
	if (settings.decline_gaps <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("decline_gaps must be greater than 0"),
				 errdetail("The value was %g.", settings.decline_gaps)));
	if (settings.churn_gaps <= settings.decline_gaps)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("churn_gaps must be greater than decline_gaps"),
				 errdetail("The values were churn_gaps %g and decline_gaps %g.",
						   settings.churn_gaps, settings.decline_gaps)));
	if (settings.mature_orders < 2)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("mature_orders must be at least 2"),
				 errdetail("The value was %d.", settings.mature_orders)));
	if (settings.one_time_churn <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("one_time_churn must be a positive interval")));
	if (settings.min_gap < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("min_gap must not be a negative interval")));

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	orders = PG_GETARG_INT64(0);
	if (orders < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("orders must not be negative"),
				 errdetail("The value was " INT64_FORMAT ".", orders)));
	if (orders == 0)
		stage = CRM_STAGE_PROSPECT;
	else if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();
	else
		stage = crm_lifecycle_of(orders, PG_GETARG_TIMESTAMPTZ(1),
								 PG_GETARG_TIMESTAMPTZ(2),
								 PG_GETARG_TIMESTAMPTZ(3), &settings);
	return crm_enum_result(fcinfo, crm_lifecycle_labels, CRM_NUM_STAGES, stage);
}
