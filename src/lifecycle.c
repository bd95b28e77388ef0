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

#if PG_VERSION_NUM >= 170000
#define INTERVAL_IS_INFINITE(i) INTERVAL_NOT_FINITE(i)
#else
#define INTERVAL_IS_INFINITE(i) false
#endif

/* crm_lifecycle enum labels, in the order of the values below */
static const char *const lifecycle_labels[] = {
	"prospect", "acquisition", "growth", "maturity", "decline", "churned"
};

typedef enum CrmLifecycle
{
	CRM_STAGE_PROSPECT,
	CRM_STAGE_ACQUISITION,
	CRM_STAGE_GROWTH,
	CRM_STAGE_MATURITY,
	CRM_STAGE_DECLINE,
	CRM_STAGE_CHURNED
} CrmLifecycle;

/*
 * Fetch a required, finite timestamp argument
 */
static TimestampTz
get_timestamp(FunctionCallInfo fcinfo, int argno, const char *name)
{
	TimestampTz value = PG_GETARG_TIMESTAMPTZ(argno);

	if (TIMESTAMP_NOT_FINITE(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot be infinity", name)));
	return value;
}

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
	int64		orders;
	TimestampTz first_at;
	TimestampTz last_at;
	TimestampTz as_of;
	double		decline_gaps;
	double		churn_gaps;
	int32		mature_orders;
	double		one_time_churn;
	double		min_gap;
	double		idle;
	double		span;
	double		gap;
	CrmLifecycle stage;

	crm_check_not_null(fcinfo, 4, "decline_gaps");
	crm_check_not_null(fcinfo, 5, "churn_gaps");
	crm_check_not_null(fcinfo, 6, "mature_orders");
	decline_gaps = PG_GETARG_FLOAT8(4);
	churn_gaps = PG_GETARG_FLOAT8(5);
	mature_orders = PG_GETARG_INT32(6);
	one_time_churn = interval_usecs(fcinfo, 7, "one_time_churn");
	min_gap = interval_usecs(fcinfo, 8, "min_gap");

	crm_check_finite("decline_gaps", decline_gaps);
	crm_check_finite("churn_gaps", churn_gaps);
	if (decline_gaps <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("decline_gaps must be greater than 0"),
				 errdetail("The value was %g.", decline_gaps)));
	if (churn_gaps <= decline_gaps)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("churn_gaps must be greater than decline_gaps"),
				 errdetail("The values were churn_gaps %g and decline_gaps %g.",
						   churn_gaps, decline_gaps)));
	if (mature_orders < 2)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("mature_orders must be at least 2"),
				 errdetail("The value was %d.", mature_orders)));
	if (one_time_churn <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("one_time_churn must be a positive interval")));
	if (min_gap < 0.0)
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
		return crm_enum_result(fcinfo, lifecycle_labels,
							   lengthof(lifecycle_labels), CRM_STAGE_PROSPECT);
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_NULL();

	first_at = get_timestamp(fcinfo, 1, "first_at");
	last_at = get_timestamp(fcinfo, 2, "last_at");
	as_of = get_timestamp(fcinfo, 3, "as_of");
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

	if (orders == 1 || span < min_gap)
		stage = idle > one_time_churn ? CRM_STAGE_CHURNED : CRM_STAGE_ACQUISITION;
	else
	{
		gap = Max(span / (double) (orders - 1), min_gap);
		if (idle > churn_gaps * gap)
			stage = CRM_STAGE_CHURNED;
		else if (idle > decline_gaps * gap)
			stage = CRM_STAGE_DECLINE;
		else if (orders >= mature_orders)
			stage = CRM_STAGE_MATURITY;
		else
			stage = CRM_STAGE_GROWTH;
	}
	return crm_enum_result(fcinfo, lifecycle_labels,
						   lengthof(lifecycle_labels), stage);
}
