/*
 * clv.c
 *		Customer lifetime value: the retention model and the simple
 *		value x frequency x duration product.
 */
#include "postgres.h"

#include <math.h>

#include "utils/float.h"

#include "crm.h"

static int
float8_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * Sum of q^t for t = 0 .. T-1 with q = r / (1 + d).
 *
 * Written as expm1(T log1p(x)) / x with x = q - 1, so that retention close
 * to 1 + discount keeps full precision and a horizon of millions of periods
 * costs the same as one period.  x = (r - 1 - d) / (1 + d) is formed
 * without computing q first, for the same reason.
 */
static double
geometric_sum(double r, double d, int32 periods)
{
	double		x = (r - 1.0 - d) / (1.0 + d);

	if (periods == 0)
		return 0.0;
	if (x == 0.0)
		return (double) periods;
	return expm1((double) periods * log1p(x)) / x;
}

/*
 * crm_clv(margin, retention, discount, periods, acquisition_cost)
 *
 * Retention model (Gupta & Lehmann 2003; Berger & Nasr 1998):
 *		CLV = sum_{t=0}^{T-1} m (r / (1 + d))^t - AC
 * and with no horizon (periods NULL) the closed form
 *		CLV = m (1 + d) / (1 + d - r) - AC,  which needs r < 1 + d.
 * The first period's margin is not discounted, so crm_clv(100, 1, 0, 520)
 * is 100 a week for ten years: 52,000.
 */
PG_FUNCTION_INFO_V1(crm_clv);
Datum
crm_clv(PG_FUNCTION_ARGS)
{
	double		margin;
	double		retention;
	double		discount;
	double		acquisition_cost;
	double		factor;
	double		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		PG_ARGISNULL(4))
		PG_RETURN_NULL();

	margin = PG_GETARG_FLOAT8(0);
	retention = PG_GETARG_FLOAT8(1);
	discount = PG_GETARG_FLOAT8(2);
	acquisition_cost = PG_GETARG_FLOAT8(4);

	crm_check_finite("margin", margin);
	crm_check_fraction("retention", retention);
	crm_check_nonnegative("discount", discount);
	crm_check_nonnegative("acquisition_cost", acquisition_cost);

	if (PG_ARGISNULL(3))
	{
		if (retention >= 1.0 + discount)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("retention must be less than 1 + discount when periods is NULL"),
					 errdetail("With retention %g and discount %g the value of an unlimited horizon is infinite.",
							   retention, discount),
					 errhint("Pass a finite number of periods.")));
		factor = (1.0 + discount) / (1.0 + discount - retention);
	}
	else
	{
		int32		periods = PG_GETARG_INT32(3);

		if (periods < 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("periods must not be negative"),
					 errdetail("The value was %d.", periods)));
		factor = geometric_sum(retention, discount, periods);
	}

	result = margin * factor - acquisition_cost;
	if (isinf(result))
		float_overflow_error();
	PG_RETURN_FLOAT8(result);
}

/*
 * crm_clv_simple(avg_order_value, orders_per_period, periods, margin)
 *
 * The teaching definition: average order value x orders per period x
 * periods x margin, with no retention and no discounting.  $100 a week for
 * 52 weeks a year over 10 years is 52,000.
 */
PG_FUNCTION_INFO_V1(crm_clv_simple);
Datum
crm_clv_simple(PG_FUNCTION_ARGS)
{
	double		f[3];
	double		margin = PG_GETARG_FLOAT8(3);
	double		result;

	f[0] = PG_GETARG_FLOAT8(0);
	f[1] = PG_GETARG_FLOAT8(1);
	f[2] = PG_GETARG_FLOAT8(2);
	crm_check_nonnegative("avg_order_value", f[0]);
	crm_check_nonnegative("orders_per_period", f[1]);
	crm_check_nonnegative("periods", f[2]);
	crm_check_fraction("margin", margin);

	/*
	 * A zero factor makes the value zero even when the other factors'
	 * product would overflow (infinity times zero is NaN).  Otherwise
	 * multiply the smallest factors first, so that an intermediate product
	 * overflows only when the whole product does.
	 */
	if (f[0] == 0.0 || f[1] == 0.0 || f[2] == 0.0 || margin == 0.0)
		PG_RETURN_FLOAT8(0.0);
	qsort(f, lengthof(f), sizeof(double), float8_cmp);
	result = f[0] * f[1] * f[2] * margin;
	if (isinf(result))
		float_overflow_error();
	PG_RETURN_FLOAT8(result);
}
