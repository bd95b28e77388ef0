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

/*
 * ln 2F1(n, b; n + 1; z), the form the Pareto/NBD likelihood takes, for
 * n, b > 0 and 0 <= z < 1, at most max_terms terms; NaN as for
 * crm_log_hyp2f1.  With c = n + 1 the series is
 *
 *	sum_k n/(n+k) u_k,  u_k = (b)_k z^k / k!
 *
 * so its derivative in n (c moving with it) is sum_k k/(n+k)^2 u_k, and
 * each term needs the reciprocals of n+k, b+k and k+1, taken from one
 * division.  With dlog not NULL, the derivatives of the logarithm in n,
 * b and z go to dlog[0 .. 2].
 */
double
crm_log_hyp2f1_next(double n, double b, double z, int max_terms, double *dlog)
{
	double		u = 1.0;		/* u_k, scaled like the sums */
	double		sum = 1.0;
	double		log_scale = 0;
	double		harmonic_b = 0; /* sum_{j<k} 1/(b+j) */
	double		sum_n = 0,
				sum_b = 0,
				sum_z = 0;

	Assert(n > 0 && b > 0 && z >= 0 && z < 1);
	if (!((n + b) * z / (1 - z) <= max_terms / 2))
		return NAN;
	for (int k = 1; k < max_terms; k++)
	{
		double		nk = n + k,
					bk = b + k - 1;
		double		inv = 1 / (nk * bk * k);
		double		inv_nk = inv * bk * k;
		double		term;

		u *= bk * z * (inv * nk * bk);	/* (b+k-1) z / k */
		term = n * inv_nk * u;
		sum += term;
		if (dlog)
		{
			harmonic_b += inv * nk * k;	/* 1/(b+k-1) */
			sum_n += k * inv_nk * inv_nk * u;
			sum_b += term * harmonic_b;
			sum_z += k * term;
		}
		if (term <= sum * 1e-17 && bk * z < k)
		{
			if (dlog)
			{
				dlog[0] = sum_n / sum;
				dlog[1] = sum_b / sum;
				/* at z = 0 only the first term's slope n b / (n + 1) is left */
				dlog[2] = z > 0 ? sum_z / (z * sum) : n * b / (n + 1);
			}
			return log_scale + log(sum);
		}
		if (sum > 1e200)
		{
			u /= 1e200;
			sum /= 1e200;
			sum_n /= 1e200;
			sum_b /= 1e200;
			sum_z /= 1e200;
			log_scale += 200 * M_LN10;
		}
		if ((k & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	return NAN;
}

/*
 * The z with P(Z > z) = u for a standard normal Z, 0 < u <= 1/2: the
 * half-width in standard deviations of a two-sided interval of level
 * 1 - 2u.  Newton's method on the upper tail, 1/2 erfc(z / sqrt 2) - u,
 * which is convex and decreasing for z >= 0: from z = 0 every step stays
 * below the root and the steps shrink quadratically near it.
 */
double
crm_normal_upper_quantile(double u)
{
	double		z = 0;

	Assert(u > 0 && u <= 0.5);
	for (int i = 0; i < 200; i++)
	{
		double		tail = 0.5 * erfc(z / M_SQRT2);
		double		density = exp(-z * z / 2) / sqrt(2 * M_PI);
		double		step = (tail - u) / density;

		z += step;
		if (step <= 1e-15 * Max(z, 1))
			break;
	}
	return z;
}
