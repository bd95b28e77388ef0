/*
 * loyalty.c
 *		Loyalty types (the seven kinds of customer loyalty, plus none) and
 *		the loyalty score that blends behaviour and attitude.
 *
 * Attitudinal inputs often come from surveys that most customers never
 * answer, so both functions accept NULL for every measure.  The rule is the
 * same everywhere: an unknown measure is not evidence, so it never makes a
 * condition true and never counts in an average.
 */
#include "postgres.h"

#include <math.h>

#include "crm.h"
#include "loyalty.h"

/* crm_loyalty enum labels, in the order of the CrmLoyalty values */
const char *const crm_loyalty_labels[CRM_NUM_LOYALTY] = {
	"none", "monopoly", "inertia", "latent", "benefit", "incentive", "brand",
	"devoted"
};

/*
 * The decision table, evaluated top to bottom, first match wins, on what is
 * known to be high (see crm_loyalty_type)
 */
CrmLoyalty
crm_loyalty_of(bool repeat_high, bool no_alternative, bool promo_high,
			   bool price_high, bool attitude_high, bool refers)
{
	if (repeat_high && no_alternative)
		return CRM_LOYALTY_MONOPOLY;
	if (repeat_high && promo_high)
		return CRM_LOYALTY_INCENTIVE;
	if (repeat_high && price_high)
		return CRM_LOYALTY_BENEFIT;
	if (repeat_high && attitude_high && refers)
		return CRM_LOYALTY_DEVOTED;
	if (repeat_high && attitude_high)
		return CRM_LOYALTY_BRAND;
	if (repeat_high)
		return CRM_LOYALTY_INERTIA;
	if (attitude_high)
		return CRM_LOYALTY_LATENT;
	return CRM_LOYALTY_NONE;
}

/*
 * Fetch an optional fraction argument; returns false when it is NULL.
 */
static bool
get_optional_fraction(FunctionCallInfo fcinfo, int argno, const char *name,
					  double *value)
{
	if (PG_ARGISNULL(argno))
		return false;
	*value = PG_GETARG_FLOAT8(argno);
	crm_check_fraction(name, *value);
	return true;
}

/*
 * Fetch an optional referral count; returns false when it is NULL.
 */
static bool
get_optional_referrals(FunctionCallInfo fcinfo, int argno, int32 *value)
{
	if (PG_ARGISNULL(argno))
		return false;
	*value = PG_GETARG_INT32(argno);
	if (*value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("referrals must not be negative"),
				 errdetail("The value was %d.", *value)));
	return true;
}

/*
 * Fetch a threshold argument: required, and a fraction.
 */
static double
get_threshold(FunctionCallInfo fcinfo, int argno, const char *name)
{
	double		value;

	crm_check_not_null(fcinfo, argno, name);
	value = PG_GETARG_FLOAT8(argno);
	crm_check_fraction(name, value);
	return value;
}

/*
 * crm_loyalty_type(repeat_rate, attitude, promo_share, price_sensitivity,
 *					referrals, has_alternative, high_repeat, high_attitude,
 *					high_promo, high_price_sensitivity)
 *
 * The decision table, evaluated top to bottom, first match wins; "high"
 * means at or above the matching threshold:
 *	1. repeat high and no alternative				-> monopoly
 *	2. repeat high and promo share high				-> incentive
 *	3. repeat high and price sensitivity high		-> benefit
 *	4. repeat high, attitude high, referrals > 0	-> devoted
 *	5. repeat high and attitude high				-> brand
 *	6. repeat high									-> inertia
 *	7. attitude high								-> latent
 *	8. otherwise									-> none
 * Rule 1 needs has_alternative to be false: an unknown alternative is
 * assumed to exist.  A NULL repeat_rate gives NULL, since behaviour is what
 * separates every row of the table.
 */
PG_FUNCTION_INFO_V1(crm_loyalty_type);
Datum
crm_loyalty_type(PG_FUNCTION_ARGS)
{
	double		repeat_rate;
	double		attitude = 0;
	double		promo_share = 0;
	double		price_sensitivity = 0;
	int32		referrals = 0;
	bool		attitude_high;
	bool		repeat_high;
	bool		no_alternative;
	bool		promo_high;
	bool		price_high;
	bool		refers;
	double		high_repeat = get_threshold(fcinfo, 6, "high_repeat");
	double		high_attitude = get_threshold(fcinfo, 7, "high_attitude");
	double		high_promo = get_threshold(fcinfo, 8, "high_promo");
	double		high_price = get_threshold(fcinfo, 9, "high_price_sensitivity");
	CrmLoyalty	type;

	attitude_high = get_optional_fraction(fcinfo, 1, "attitude", &attitude) &&
		attitude >= high_attitude;
	promo_high = get_optional_fraction(fcinfo, 2, "promo_share", &promo_share) &&
		promo_share >= high_promo;
	price_high = get_optional_fraction(fcinfo, 3, "price_sensitivity",
									   &price_sensitivity) &&
		price_sensitivity >= high_price;
	refers = get_optional_referrals(fcinfo, 4, &referrals) && referrals > 0;
	no_alternative = !PG_ARGISNULL(5) && !PG_GETARG_BOOL(5);

	if (!get_optional_fraction(fcinfo, 0, "repeat_rate", &repeat_rate))
		PG_RETURN_NULL();
	repeat_high = repeat_rate >= high_repeat;

	type = crm_loyalty_of(repeat_high, no_alternative, promo_high, price_high,
						  attitude_high, refers);
	return crm_enum_result(fcinfo, crm_loyalty_labels, CRM_NUM_LOYALTY, type);
}

/* Running mean of the known measures of one part of the score. */
typedef struct ScorePart
{
	double		sum;
	int			count;
} ScorePart;

static void
add_measure(ScorePart *part, FunctionCallInfo fcinfo, int argno,
			const char *name, bool reversed)
{
	double		value;

	if (!get_optional_fraction(fcinfo, argno, name, &value))
		return;
	part->sum += reversed ? 1.0 - value : value;
	part->count++;
}

/*
 * crm_loyalty_score(repeat_rate, share_of_wallet, price_sensitivity,
 *					 referrals, attitude, repurchase_intention,
 *					 competitor_attitude, behaviour_weight)
 *
 * Objective part: the mean of the known behavioural measures -- repeat
 * rate, share of wallet, 1 - price sensitivity, and for referrals
 * 1 - 0.5^referrals (each referral halves the distance to full marks).
 * Subjective part: the mean of the known survey measures -- attitude,
 * repurchase intention, 1 - attitude to competitors.
 * Score = 100 (w objective + (1 - w) subjective) with w = behaviour_weight;
 * when one part has no known measure the other takes the whole weight, and
 * with nothing known the score is NULL.
 */
PG_FUNCTION_INFO_V1(crm_loyalty_score);
Datum
crm_loyalty_score(PG_FUNCTION_ARGS)
{
	ScorePart	behaviour = {0, 0};
	ScorePart	attitude = {0, 0};
	int32		referrals;
	double		weight;
	double		objective;
	double		subjective;

	crm_check_not_null(fcinfo, 7, "behaviour_weight");
	weight = PG_GETARG_FLOAT8(7);
	crm_check_fraction("behaviour_weight", weight);

	add_measure(&behaviour, fcinfo, 0, "repeat_rate", false);
	add_measure(&behaviour, fcinfo, 1, "share_of_wallet", false);
	add_measure(&behaviour, fcinfo, 2, "price_sensitivity", true);
	if (get_optional_referrals(fcinfo, 3, &referrals))
	{
		behaviour.sum += -expm1((double) referrals * log(0.5));
		behaviour.count++;
	}
	add_measure(&attitude, fcinfo, 4, "attitude", false);
	add_measure(&attitude, fcinfo, 5, "repurchase_intention", false);
	add_measure(&attitude, fcinfo, 6, "competitor_attitude", true);

	if (behaviour.count == 0 && attitude.count == 0)
		PG_RETURN_NULL();
	if (attitude.count == 0)
		PG_RETURN_FLOAT8(100.0 * behaviour.sum / behaviour.count);
	if (behaviour.count == 0)
		PG_RETURN_FLOAT8(100.0 * attitude.sum / attitude.count);

	objective = behaviour.sum / behaviour.count;
	subjective = attitude.sum / attitude.count;
	PG_RETURN_FLOAT8(100.0 * (weight * objective + (1.0 - weight) * subjective));
}
