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
 * n, b > 0 and 0 <= z < 1, at most max_terms terms, ending at the first
 * term past the largest below tolerance times the sum (specfun.h); NaN
 * as for crm_log_hyp2f1.  With c = n + 1 the series is
 *
 *	sum_k n/(n+k) u_k,  u_k = (b)_k z^k / k!
 *
 * so its derivative in n (c moving with it) is sum_k k/(n+k)^2 u_k, and
 * each term needs the reciprocals of n+k, b+k and k+1, taken from one
 * division.  With dlog not NULL, the derivatives of the logarithm in n,
 * b and z go to dlog[0 .. 2].
 *
 * crm_log_hyp2f1_next_pair sums the series at two z in one loop: they
 * share n and b, and with them the division of every term and the
 * harmonic sum of b.  Each series stops where it would alone, so the
 * values are those of two calls, for little more than the cost of the
 * longer series (the Pareto/NBD likelihood needs both of a customer's,
 * at t_x and at T).
 */

/* The state of one series */
typedef struct NextSeries
{
	double		z;
	double		u;				/* u_k, scaled like the sums */
	double		sum;
	double		log_scale;
	double		sum_n;
	double		sum_b;
	double		sum_z;
	double		tolerance;		/* the share of the sum a last term is below */
	bool		open;			/* still summing */
} NextSeries;

static inline void
next_series_start(NextSeries *S, double n, double b, double z, int max_terms,
				  double tolerance, double *value)
{
	Assert(n > 0 && b > 0 && z >= 0 && z < 1);
	*S = (NextSeries) {.z = z, .u = 1.0, .sum = 1.0, .tolerance = tolerance};
	S->open = (n + b) * z / (1 - z) <= max_terms / 2;
	*value = NAN;
}

/*
 * Add term k to S, given what the terms share: bk = b+k-1, ratio = 1/k,
 * n_inv_nk = n/(n+k), k_inv_nk2 = k/(n+k)^2 and harmonic_b; once it has
 * converged, its value and dlog.
 */
static inline void
next_series_step(NextSeries *S, double n, double b, int k, double bk,
				 double ratio, double n_inv_nk, double k_inv_nk2,
				 double harmonic_b, double *value, double *dlog)
{
	double		term;

	S->u *= bk * S->z * ratio;	/* (b+k-1) z / k */
	term = n_inv_nk * S->u;
	S->sum += term;
	if (dlog)
	{
		S->sum_n += k_inv_nk2 * S->u;
		S->sum_b += term * harmonic_b;
		S->sum_z += k * term;
	}
	if (term <= S->sum * S->tolerance && bk * S->z < k)
	{
		if (dlog)
		{
			dlog[0] = S->sum_n / S->sum;
			dlog[1] = S->sum_b / S->sum;
			/* at z = 0 only the first term's slope n b / (n + 1) is left */
			dlog[2] = S->z > 0 ? S->sum_z / (S->z * S->sum) : n * b / (n + 1);
		}
		*value = S->log_scale + log(S->sum);
		S->open = false;
		return;
	}
	if (S->sum > 1e200)
	{
		S->u /= 1e200;
		S->sum /= 1e200;
		S->sum_n /= 1e200;
		S->sum_b /= 1e200;
		S->sum_z /= 1e200;
		S->log_scale += 200 * M_LN10;
	}
}

/*
 * Sum S1, and S2 if it is not NULL, from term 1 on; what the terms share
 * is worked out once per k
 */
static inline void
next_series_sum(double n, double b, int max_terms, NextSeries *S1,
				double *value1, double *dlog1, NextSeries *S2, double *value2,
				double *dlog2)
{
	double		harmonic_b = 0; /* sum_{j<k} 1/(b+j) */
	bool		with_dlog = dlog1 != NULL || dlog2 != NULL;

	for (int k = 1; k < max_terms && (S1->open || (S2 && S2->open)); k++)
	{
		double		nk = n + k,
					bk = b + k - 1;
		double		inv = 1 / (nk * bk * k);
		double		inv_nk = inv * bk * k;
		double		ratio = inv * nk * bk;
		double		n_inv_nk = n * inv_nk;
		double		k_inv_nk2 = k * inv_nk * inv_nk;

		if (with_dlog)
			harmonic_b += inv * nk * k; /* 1/(b+k-1) */
		if (S1->open)
			next_series_step(S1, n, b, k, bk, ratio, n_inv_nk, k_inv_nk2,
							 harmonic_b, value1, dlog1);
		if (S2 && S2->open)
			next_series_step(S2, n, b, k, bk, ratio, n_inv_nk, k_inv_nk2,
							 harmonic_b, value2, dlog2);
		if ((k & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
}

double
crm_log_hyp2f1_next(double n, double b, double z, int max_terms,
					double tolerance, double *dlog)
{
	NextSeries	S;
	double		value;

	next_series_start(&S, n, b, z, max_terms, tolerance, &value);
	next_series_sum(n, b, max_terms, &S, &value, dlog, NULL, NULL, NULL);
	return value;
}

void
crm_log_hyp2f1_next_pair(double n, double b, double z1, double z2, int max_terms,
						 double tolerance, double *value1, double *value2,
						 double *dlog1, double *dlog2)
{
	NextSeries	S1,
				S2;

	next_series_start(&S1, n, b, z1, max_terms, tolerance, value1);
	next_series_start(&S2, n, b, z2, max_terms, tolerance, value2);
	next_series_sum(n, b, max_terms, &S1, value1, dlog1, &S2, value2, dlog2);
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
