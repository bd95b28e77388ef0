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
 * psi(x) = d/dx ln G(x), the digamma function, for x > 0: the recurrence
 * psi(x) = psi(x + 1) - 1/x up to x >= 6, then the asymptotic series
 * (Abramowitz & Stegun 6.3.18), whose next term there is below 1e-13.
 * The fits need it for the gradients of their log-gamma terms.
 */
double
crm_digamma(double x)
{
	double		result = 0;
	double		inv2;

	Assert(x > 0);
	while (x < 6)
	{
		result -= 1 / x;
		x += 1;
	}
	inv2 = 1 / (x * x);
	return result + log(x) - 0.5 / x -
		inv2 * (1.0 / 12 - inv2 * (1.0 / 120 - inv2 * (1.0 / 252 - inv2 * (1.0 / 240 - inv2 / 132))));
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
 * and 0 <= z < 1, summing at most max_terms terms of its power series
 * sum_k (a)_k (b)_k / ((c)_k k!) z^k.
 * The models need it at z = t / (alpha + T + t) (FHL 2005, eq. 10), where
 * every term is positive, so the partial sums only grow: we stop when a
 * term no longer changes the sum in double precision after the terms have
 * started to shrink.  For a customer with thousands of purchases the terms
 * pass 10^300 before they shrink, so the sum is kept scaled and the result
 * is its logarithm.  The series converges for every z < 1, geometrically
 * once k exceeds about (a + b) z / (1 - z); when that is too far out the
 * result is NaN, for the caller to treat as an error (scoring) or as a
 * point to avoid (the optimiser), never as a number.
 *
 * With dlog not NULL, also the derivatives of the logarithm in a, b, c
 * and z, into dlog[0 .. 3], from the same terms: the k-th term's
 * logarithm has derivative sum_{j<k} 1/(a+j) in a (likewise b, and minus
 * that in c) and k/z in z.  The Pareto/NBD fit needs them for its
 * gradient.
 */
double
crm_log_hyp2f1_grad(double a, double b, double c, double z, int max_terms,
					double *dlog)
{
	double		term = 1.0;
	double		sum = 1.0;
	double		log_scale = 0;
	double		harmonic_a = 0,
				harmonic_b = 0,
				harmonic_c = 0;
	double		sum_a = 0,
				sum_b = 0,
				sum_c = 0,
				sum_z = 0;

	Assert(a > 0 && b > 0 && c > 0 && z >= 0 && z < 1);
	/* the terms grow until about k = (a + b) z / (1 - z): too far, give up */
	if (!((a + b) * z / (1 - z) <= max_terms / 2))
		return NAN;
	for (int k = 0; k < max_terms; k++)
	{
		double		ratio = (a + k) * (b + k) / ((c + k) * (k + 1)) * z;

		term *= ratio;
		sum += term;
		if (dlog)
		{
			harmonic_a += 1 / (a + k);
			harmonic_b += 1 / (b + k);
			harmonic_c += 1 / (c + k);
			sum_a += term * harmonic_a;
			sum_b += term * harmonic_b;
			sum_c += term * harmonic_c;
			sum_z += term * (k + 1);
		}
		if (ratio < 1 && term <= sum * 1e-17)
		{
			if (dlog)
			{
				dlog[0] = sum_a / sum;
				dlog[1] = sum_b / sum;
				dlog[2] = -sum_c / sum;
				/* at z = 0 only the first term's slope a b / c is left */
				dlog[3] = z > 0 ? sum_z / (z * sum) : a * b / c;
			}
			return log_scale + log(sum);
		}
		if (sum > 1e200)
		{
			term /= 1e200;
			sum /= 1e200;
			sum_a /= 1e200;
			sum_b /= 1e200;
			sum_c /= 1e200;
			sum_z /= 1e200;
			log_scale += 200 * M_LN10;
		}
		if ((k & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return NAN;
}

double
crm_log_hyp2f1(double a, double b, double c, double z, int max_terms)
{
	return crm_log_hyp2f1_grad(a, b, c, z, max_terms, NULL);
}
