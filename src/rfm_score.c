/*
 * rfm_score.c
 *		RFM scores 1-5 from quintile thresholds, and the ten named RFM
 *		segments.
 */
#include "postgres.h"

#include "utils/builtins.h"

#include "crm.h"

#define NUM_THRESHOLDS 4

/*
 * crm_rfm_score(value, thresholds, higher_is_better)
 *
 * thresholds are the upper bounds of the first four bins, never
 * decreasing -- exactly what percentile_disc(ARRAY[0.2, 0.4, 0.6, 0.8])
 * returns.  A value lands in bin 1 + (number of thresholds below it), so a
 * value equal to a threshold stays in the lower bin and tied thresholds
 * (common for frequency, where most customers buy once) keep the tied
 * customers together in the lowest bin they reach.  The score is the bin
 * number, or 6 - bin when lower values are better (recency in days).
 */
PG_FUNCTION_INFO_V1(crm_rfm_score);
Datum
crm_rfm_score(PG_FUNCTION_ARGS)
{
	double		value = PG_GETARG_FLOAT8(0);
	double		thresholds[NUM_THRESHOLDS];
	bool		higher_is_better = PG_GETARG_BOOL(2);
	int32		bin = 1;

	crm_check_finite("value", value);
	crm_get_float8_array(PG_GETARG_ARRAYTYPE_P(1), "thresholds",
						 NUM_THRESHOLDS, false, thresholds);
	for (int i = 0; i < NUM_THRESHOLDS; i++)
	{
		if (i > 0 && thresholds[i] < thresholds[i - 1])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("thresholds must not decrease"),
					 errdetail("Element %d (%g) is less than element %d (%g).",
							   i + 1, thresholds[i], i, thresholds[i - 1])));
		if (value > thresholds[i])
			bin++;
	}
	PG_RETURN_INT32(higher_is_better ? bin : NUM_THRESHOLDS + 2 - bin);
}

/*
 * The segments of R's rfm package (rfm_segment) with its default score
 * ranges, in its order.  A customer belongs to the first segment whose
 * recency, frequency and monetary ranges all hold their scores.
 */
typedef struct RfmSegment
{
	const char *name;
	int			r_low,
				r_high,
				f_low,
				f_high,
				m_low,
				m_high;
} RfmSegment;

static const RfmSegment rfm_segments[] = {
	{"Champions", 4, 5, 4, 5, 4, 5},
	{"Loyal Customers", 2, 5, 3, 5, 3, 5},
	{"Potential Loyalist", 3, 5, 1, 3, 1, 3},
	{"New Customers", 4, 5, 1, 1, 1, 1},
	{"Promising", 3, 4, 1, 1, 1, 1},
	{"Need Attention", 2, 3, 2, 3, 2, 3},
	{"About To Sleep", 2, 3, 1, 2, 1, 2},
	{"At Risk", 1, 2, 2, 5, 2, 5},
	{"Can't Lose Them", 1, 1, 4, 5, 4, 5},
	{"Lost", 1, 2, 1, 2, 1, 2},
};

#define NUM_SEGMENTS lengthof(rfm_segments)

/*
 * In the package's order three segments can never match: New Customers and
 * Promising lie inside Potential Loyalist, Can't Lose Them inside At Risk.
 * Our default order checks each of them just before the segment that
 * contains it, so all ten segments are reachable; only the cells of those
 * three segments differ from the package.
 */
static const int reachable_order[NUM_SEGMENTS] = {0, 1, 3, 4, 2, 5, 6, 8, 7, 9};
static const int r_package_order[NUM_SEGMENTS] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};

/* What the rfm package calls a customer no segment claims. */
#define RFM_FALLBACK_SEGMENT "Others"

/*
 * crm_rfm_segment(r, f, m, r_package_order)
 */
PG_FUNCTION_INFO_V1(crm_rfm_segment);
Datum
crm_rfm_segment(PG_FUNCTION_ARGS)
{
	int32		r = PG_GETARG_INT32(0);
	int32		f = PG_GETARG_INT32(1);
	int32		m = PG_GETARG_INT32(2);
	const int  *order = PG_GETARG_BOOL(3) ? r_package_order : reachable_order;

	crm_check_range("r", r, 1, 5);
	crm_check_range("f", f, 1, 5);
	crm_check_range("m", m, 1, 5);

	for (int i = 0; i < NUM_SEGMENTS; i++)
	{
		const RfmSegment *s = &rfm_segments[order[i]];

		if (r >= s->r_low && r <= s->r_high &&
			f >= s->f_low && f <= s->f_high &&
			m >= s->m_low && m <= s->m_high)
			PG_RETURN_TEXT_P(cstring_to_text(s->name));
	}
	PG_RETURN_TEXT_P(cstring_to_text(RFM_FALLBACK_SEGMENT));
}
