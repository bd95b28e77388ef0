/*
 * specfun.c
 *		Special functions in log space for the probabilistic models.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "specfun.h"

/*
 * ln B(a, b) = ln G(a) + ln G(b) - ln G(a + b), for a, b > 0
 */
double
crm_log_beta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/*
 * ln(e^x + e^y) without overflow or underflow
 */
double
crm_log_add(double x, double y)
{
	double		hi = Max(x, y);

	if (isinf(hi) && hi < 0)
		return hi;
	return hi + log1p(exp(Min(x, y) - hi));
}

/*
 * ln 2F1(a, b; c; z), the Gauss hypergeometric function, for a, b, c > 0
 * and 0 <= z < 1, summing at most max_terms terms of its power series sum_k (a)_k (b)_k / ((c)_k k!) z^k.
 * The models need it at z = t / (alpha + T + t) (FHL 2005, eq. 10), where
 * every term is positive, so the partial sums only grow: we stop when a
 * term no longer changes the sum in double precision after the terms have
 * started to shrink.  For a customer with thousands of purchases the terms
 * pass 10^300 before they shrink, so the sum is kept scaled and the result
 * is its logarithm.  The series converges for every z < 1, geometrically
 * once k exceeds about (a + b) z / (1 - z); when that is too far out the
 * result is NaN, for the caller to treat as an error (scoring) or as a
 * point to avoid (the optimiser), never as a number.
 */
double
crm_log_hyp2f1(double a, double b, double c, double z, int max_terms)
{
	double		term = 1.0;
	double		sum = 1.0;
	double		log_scale = 0;

	Assert(a > 0 && b > 0 && c > 0 && z >= 0 && z < 1);
	/* the terms grow until about k = (a + b) z / (1 - z): too far, give up */
	if (!((a + b) * z / (1 - z) <= max_terms / 2))
		return NAN;
	for (int k = 0; k < max_terms; k++)
	{
		double		ratio = (a + k) * (b + k) / ((c + k) * (k + 1)) * z;

		term *= ratio;
		sum += term;
		if (ratio < 1 && term <= sum * 1e-17)
			return log_scale + log(sum);
		if (sum > 1e200)
		{
			term /= 1e200;
			sum /= 1e200;
			log_scale += 200 * M_LN10;
		}
		if ((k & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return NAN;
}
