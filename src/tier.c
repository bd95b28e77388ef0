/*
 * tier.c
 *		The customer pyramid: which of the four tiers (vip, major, ordinary,
 *		small) a customer belongs to, from a rank, a fraction or a value.
 *
 * Cuts are cumulative fractions of the population counted from the top:
 * the default {0.01, 0.05, 0.20} makes the best 1% vip, the next 4% major,
 * the next 15% ordinary and the remaining 80% small.  A customer exactly on
 * a cut belongs to the upper tier, so that rank 1 of 100 (fraction 0.01) is
 * vip; with rank() ties share a rank and so share a tier.
 */
#include "postgres.h"

#include <math.h>

#include "utils/array.h"

#include "crm.h"
#include "tier.h"

#define NUM_CUTS CRM_NUM_CUTS

const char *const crm_tier_labels[CRM_NUM_TIERS] = {
	"small", "ordinary", "major", "vip"
};

const double crm_default_cuts[CRM_NUM_CUTS] = {0.01, 0.05, 0.20};

/*
 * Ensure cuts are strictly increasing fractions in (0, 1]
 */
static void
check_cuts(const double *cuts)
{
	for (int i = 0; i < NUM_CUTS; i++)
	{
		if (cuts[i] <= 0.0 || cuts[i] > 1.0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("cuts must be greater than 0 and at most 1"),
					 errdetail("Element %d is %g.", i + 1, cuts[i])));
		if (i > 0 && cuts[i] <= cuts[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cuts must be strictly increasing"),
					 errdetail("Element %d (%g) is not greater than element %d (%g).",
							   i + 1, cuts[i], i, cuts[i - 1])));
	}
}

void
crm_get_cuts(ArrayType *array, double *cuts)
{
	crm_get_float8_array(array, "cuts", NUM_CUTS, false, cuts);
	check_cuts(cuts);
}

/*
 * The tier of a customer whose top fraction (share of customers ranked at
 * or above them) is fraction; the cut itself belongs to the upper tier.
 */
CrmTier
crm_tier_of_fraction(double fraction, const double *cuts)
{
	if (fraction <= cuts[0])
		return CRM_TIER_VIP;
	if (fraction <= cuts[1])
		return CRM_TIER_MAJOR;
	if (fraction <= cuts[2])
		return CRM_TIER_ORDINARY;
	return CRM_TIER_SMALL;
}

/*
 * How many of total ranked customers a cut admits: the largest k with
 * k / total <= cut, computed with the same division crm_tier uses, so that
 * the population aggregates agree with crm_tier(rank, total) exactly.
 */
int64
crm_tier_size(int64 total, double cut)
{
	int64		k = (int64) floor(cut * (double) total);

	/* floor() of the product can be off by one either way; settle it */
	while (k < total && (double) (k + 1) / (double) total <= cut)
		k++;
	while (k > 0 && (double) k / (double) total > cut)
		k--;
	return k;
}

static double
rank_fraction(int64 rank, int64 total)
{
	if (total < 1)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("total must be at least 1"),
				 errdetail("The value was " INT64_FORMAT ".", total)));
	if (rank < 1 || rank > total)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("rank must be between 1 and total"),
				 errdetail("The rank was " INT64_FORMAT " and the total " INT64_FORMAT ".",
						   rank, total)));
	/* correctly rounded, so rank/total equal to a cut compares equal */
	return (double) rank / (double) total;
}

static Datum
tier_result(FunctionCallInfo fcinfo, CrmTier tier)
{
	return crm_enum_result(fcinfo, crm_tier_labels, CRM_NUM_TIERS, tier);
}

/*
 * crm_tier(top_fraction) with the default cuts
 */
PG_FUNCTION_INFO_V1(crm_tier_fraction);
Datum
crm_tier_fraction(PG_FUNCTION_ARGS)
{
	double		fraction = PG_GETARG_FLOAT8(0);

	crm_check_fraction("top_fraction", fraction);
	return tier_result(fcinfo, crm_tier_of_fraction(fraction, crm_default_cuts));
}

/*
 * crm_tier(top_fraction, cuts)
 */
PG_FUNCTION_INFO_V1(crm_tier_fraction_cuts);
Datum
crm_tier_fraction_cuts(PG_FUNCTION_ARGS)
{
	double		fraction = PG_GETARG_FLOAT8(0);
	double		cuts[NUM_CUTS];

	crm_check_fraction("top_fraction", fraction);
	crm_get_cuts(PG_GETARG_ARRAYTYPE_P(1), cuts);
	return tier_result(fcinfo, crm_tier_of_fraction(fraction, cuts));
}

/*
 * crm_tier(rank, total) with the default cuts; rank 1 is the best customer
 */
PG_FUNCTION_INFO_V1(crm_tier_rank);
Datum
crm_tier_rank(PG_FUNCTION_ARGS)
{
	double		fraction = rank_fraction(PG_GETARG_INT64(0), PG_GETARG_INT64(1));

	return tier_result(fcinfo, crm_tier_of_fraction(fraction, crm_default_cuts));
}

/*
 * crm_tier(rank, total, cuts)
 */
PG_FUNCTION_INFO_V1(crm_tier_rank_cuts);
Datum
crm_tier_rank_cuts(PG_FUNCTION_ARGS)
{
	double		fraction = rank_fraction(PG_GETARG_INT64(0), PG_GETARG_INT64(1));
	double		cuts[NUM_CUTS];

	crm_get_cuts(PG_GETARG_ARRAYTYPE_P(2), cuts);
	return tier_result(fcinfo, crm_tier_of_fraction(fraction, cuts));
}

/*
 * The tier of value by crm_tier_of(value, thresholds), for that function
 * and for the tracking triggers, which compute it without a function call.
 *
 * thresholds holds the lowest value of the vip, major and ordinary tiers,
 * best first, so it never increases; equal thresholds are allowed (ties in
 * value can leave a tier empty).  A value equal to a threshold belongs to
 * that threshold's tier, so equal values always share a tier.  A threshold
 * of +Infinity leaves its tier empty.
 */
CrmTier
crm_tier_of_value(double value, ArrayType *thresholds_array)
{
	double		thresholds[NUM_CUTS];

	crm_check_finite("value", value);
	/* +Infinity is how crm_tier_thresholds marks a tier nobody reaches */
	crm_get_float8_array(thresholds_array, "thresholds", NUM_CUTS, true,
						 thresholds);
	for (int i = 1; i < NUM_CUTS; i++)
		if (thresholds[i] > thresholds[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("thresholds must not increase"),
					 errdetail("Element %d (%g) is greater than element %d (%g).",
							   i + 1, thresholds[i], i, thresholds[i - 1]),
					 errhint("List the lowest value of the vip, major and ordinary tiers, in that order.")));

	if (value >= thresholds[0])
		return CRM_TIER_VIP;
	if (value >= thresholds[1])
		return CRM_TIER_MAJOR;
	if (value >= thresholds[2])
		return CRM_TIER_ORDINARY;
	return CRM_TIER_SMALL;
}

PG_FUNCTION_INFO_V1(crm_tier_of);
Datum
crm_tier_of(PG_FUNCTION_ARGS)
{
	return tier_result(fcinfo,
					   crm_tier_of_value(PG_GETARG_FLOAT8(0),
										 PG_GETARG_ARRAYTYPE_P(1)));
}
