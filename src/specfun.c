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
 * n > 0, 0 < b < n + 1 and 0 <= z < 1, ending at the first term below
 * tolerance times the sum (specfun.h), after at most max_terms terms;
 * NaN where that is not enough, as for crm_log_hyp2f1.  With c = n + 1
 * its power series is
 *
 *	sum_k g_k,  g_k = n/(n+k) (b)_k z^k / k!
 *
 * For b <= 1 its terms shrink from the first on, but for b > 1 they grow
 * until k is about (n + b) z / (1 - z) -- past 10^300 for a customer of
 * many purchases near z = 1 -- and then shrink only like z^k k^(b-2).
 * Then it is summed after Euler's transformation (Abramowitz & Stegun
 * 15.3.3) instead,
 *
 *	2F1(n, b; n+1; z) = (1-z)^(1-b) sum_k g_k,  g_k = (m)_k / (n+1)_k z^k,  m = n+1-b,
 *
 * whose terms shrink from the first on, like z^k k^-b.  Either way every
 * term is positive and the ratio of one to the one before stays below z,
 * so what is left after a term is below it times z / (1 - z), and the
 * sum needs no rescaling.  The derivatives of the logarithm in n (c and,
 * in the second form, m moving with it), b and z (dlog[0 .. 2], with
 * dlog not NULL) are the sums' means of the terms' own, D_k:
 *
 *	first form:   d/dn ln g_k = k / (n (n+k)),  d/db ln g_k = sum_{j<k} 1/(b+j)
 *	second form:  d/dn ln g_k = sum_{j<k} (1/(m+j) - 1/(n+1+j)) = sum_{j<k} b / ((m+j)(n+1+j)),
 *	              d/db ln g_k = -sum_{j<k} 1/(m+j),  plus -ln(1-z) from the factor
 *	both:         d/dz ln g_k = k / z,  plus (b-1)/(1-z) from the second's factor
 *
 * crm_log_hyp2f1_next_pair sums the series at two z in one loop: they
 * share n and b, and with them the division of every term and the
 * terms' derivatives.  Each series stops where it would alone, so the
 * values are those of two calls, for little more than the cost of the
 * longer series (the Pareto/NBD likelihood needs both of a customer's,
 * at t_x and at T).
 */

/* The state of one series */
typedef struct NextSeries
{
	double		z;
	double		g;				/* the last term, g_k */
	double		sum;
	double		sum_n;			/* sums of g_k times its derivatives */
	double		sum_b;
	double		sum_z;			/* of k g_k */
	double		tolerance;		/* the share of the sum a last term is below */
	bool		open;			/* still summing */
} NextSeries;

static inline void
next_series_start(NextSeries *S, double n, double b, double z,
				  double tolerance, double *value)
{
	Assert(n > 0 && b > 0 && b < n + 1 && z >= 0 && z < 1);
	*S = (NextSeries) {.z = z, .g = 1.0, .sum = 1.0, .tolerance = tolerance,
	.open = true};
	*value = NAN;
}

/*
 * S has converged: its value, and dlog if not NULL, from its sums, euler
 * saying which form was summed
 */
static inline void
next_series_close(NextSeries *S, double n, double b, bool euler,
				  double *value, double *dlog)
{
	double		log_rest = euler ? crm_log1p(-S->z) : 0;	/* ln(1 - z), of the factor */

	if (dlog)
	{
		dlog[0] = S->sum_n / S->sum;
		dlog[1] = S->sum_b / S->sum - log_rest;
		/* at z = 0 only the first term's slope is left: g_1 / z */
		dlog[2] = (euler ? (b - 1) / (1 - S->z) : 0) +
			(S->z > 0 ? S->sum_z / (S->z * S->sum) :
			 euler ? (n + 1 - b) / (n + 1) : n * b / (n + 1));
	}
	*value = (1 - b) * log_rest + log(S->sum);
	S->open = false;
}

/*
 * What term k of the series at any z shares with every other z: the ratio
 * of g_k to g_{k-1} but for z, returned, and d/dn and d/db of ln g_k in
 * *dn and *db, which hold those of term k - 1 on entry (0 for k = 1)
 */
static inline double
next_term(bool euler, double n, double b, int k, double *dn, double *db)
{
	if (euler)
	{
		/* (m+k-1)/(n+k), and the sums of 1/(m+j) and 1/(n+1+j) */
		double		mk = n + 1 - b + k - 1,
					nk = n + k;
		double		inv = 1 / (mk * nk);

		*dn += b * inv;
		*db -= nk * inv;
		return mk * mk * inv;
	}
	else
	{
		/* (b+k-1)/k (n+k-1)/(n+k), k/(n (n+k)) and the sum of 1/(b+j) */
		double		bk = b + k - 1,
					nk = n + k;
		double		inv = 1 / (bk * nk * k);

		*dn = k * k * bk * inv / n;
		*db += nk * k * inv;
		return bk * bk * (nk - 1) * inv;
	}
}

/*
 * A table of what the terms share (next_term) for one (n, b): a fit whose
 * customers each have a scale of their own -- covariates -- sums the
 * series of a frequency at as many z as it has customers, and r and s,
 * hence n and b, are the same for all of them in one evaluation.  The
 * table grows as longer series need more terms, up to the most a sum may
 * take.  A table starts zeroed; reset gives it the (n, b) of its terms
 * and the memory context they are kept in.
 */
void
crm_hyp2f1_terms_reset(CrmHyp2f1Terms *terms, double n, double b,
					   MemoryContext context)
{
	Assert(n > 0 && b > 0 && b < n + 1);
	Assert(terms->size == 0 || terms->context == context);
	terms->context = context;
	terms->n = n;
	terms->b = b;
	terms->nterms = 0;
}

/* Terms up to at least k, and to no more than max_terms beyond that */
static void
hyp2f1_terms_extend(CrmHyp2f1Terms *terms, int k, int max_terms)
{
	bool		euler = terms->b > 1;
	int			upto = Max(k, Min(Max(64, 2 * terms->nterms), max_terms));
	double		dn = 0;
	double		db = 0;

	if (upto > terms->size)
	{
		if (terms->size == 0)
			terms->values = MemoryContextAlloc(terms->context, sizeof(double) * 3 * upto);
		else
			terms->values = repalloc(terms->values, sizeof(double) * 3 * upto);
		terms->size = upto;
	}
	if (terms->nterms > 0)
	{
		dn = terms->values[3 * (terms->nterms - 1) + 1];
		db = terms->values[3 * (terms->nterms - 1) + 2];
	}
	for (int j = terms->nterms + 1; j <= upto; j++)
	{
		double	   *v = &terms->values[3 * (j - 1)];

		v[0] = next_term(euler, terms->n, terms->b, j, &dn, &db);
		v[1] = dn;
		v[2] = db;
	}
	terms->nterms = upto;
}

/*
 * The ratio of term k to term k - 1 but for z, and the running d/dn and
 * d/db, from terms if it is not NULL (which is for n and b), worked out
 * otherwise
 */
static inline double
shared_term(CrmHyp2f1Terms *terms, bool euler, double n, double b, int k,
			int max_terms, double *dn, double *db)
{
	const double *v;

	if (terms == NULL)
		return next_term(euler, n, b, k, dn, db);
	if (k > terms->nterms)
		hyp2f1_terms_extend(terms, k, max_terms);
	v = &terms->values[3 * (k - 1)];
	*dn = v[1];
	*db = v[2];
	return v[0];
}

/*
 * Sum S from term k on, the running d/dn and d/db of what the terms share
 * (shared_term) being dn and db, until it converges or the budget of
 * max_terms is spent; close it once it has converged.  The series is kept
 * in locals while it runs: in its struct, every term would wait for the
 * last one's sums to be stored and loaded again, as they might be the
 * table's (the longer series of a Pareto/NBD pair often runs on alone for
 * most of its terms).
 */
static inline void
next_series_finish(NextSeries *S, double n, double b, int max_terms,
				   CrmHyp2f1Terms *terms, int k, double dn, double db,
				   double *value, double *dlog)
{
	bool		euler = b > 1;
	double		z = S->z;
	double		tolerance = S->tolerance;
	double		g = S->g;
	double		sum = S->sum;
	double		sum_n = S->sum_n;
	double		sum_b = S->sum_b;
	double		sum_z = S->sum_z;
	bool		open = true;

	for (; k <= max_terms && open; k++)
	{
		double		ratio = shared_term(terms, euler, n, b, k, max_terms, &dn, &db);

		g *= ratio * z;
		sum += g;
		if (dlog)
		{
			sum_n += g * dn;
			sum_b += g * db;
			sum_z += k * g;
		}
		open = g > sum * tolerance;
		if ((k & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	S->g = g;
	S->sum = sum;
	S->sum_n = sum_n;
	S->sum_b = sum_b;
	S->sum_z = sum_z;
	if (!open)
		next_series_close(S, n, b, euler, value, dlog);
}

/*
 * GCC's and Clang's vectors of two doubles, for the two series of a pair
 * (next_series_sum); where there are none, the pair is summed one series
 * at a time, to the same values
 */
#if defined(__GNUC__) || defined(__clang__)
#define PAIR_VECTORS
typedef double PairOfDoubles __attribute__((vector_size(16)));
#endif

/*
 * Sum S1, and S2 if it is not NULL, from term 1 on; what the terms share
 * is worked out once per k, or taken from terms (which is for n and b).
 * While both series of a pair are open they take their terms in step, one
 * in each half of a vector of two: the same operations in the same order
 * as one series at a time, so the same values, for half the instructions
 * (a covariate fit of a million customers spends over a third of its
 * time here).  The one left open then runs on alone; without vectors,
 * each runs alone from the first term (next_series_finish takes k, dn
 * and db by value).
 */
static inline void
next_series_sum(double n, double b, int max_terms, CrmHyp2f1Terms *terms,
				NextSeries *S1, double *value1, double *dlog1,
				NextSeries *S2, double *value2, double *dlog2)
{
	double		dn = 0;
	double		db = 0;
	int			k = 1;

#ifdef PAIR_VECTORS
	if (S2)
	{
		bool		euler = b > 1;
		double		tolerance = S1->tolerance;
		PairOfDoubles z = {S1->z, S2->z};
		PairOfDoubles g = {S1->g, S2->g};
		PairOfDoubles sum = {S1->sum, S2->sum};
		PairOfDoubles sum_n = {0, 0};
		PairOfDoubles sum_b = {0, 0};
		PairOfDoubles sum_z = {0, 0};
		bool		done = false;

		Assert(S2->tolerance == tolerance && S1->open && S2->open);
		for (; k <= max_terms && !done; k++)
		{
			double		ratio = shared_term(terms, euler, n, b, k, max_terms, &dn, &db);

			g *= ratio * z;
			sum += g;
			sum_n += g * dn;
			sum_b += g * db;
			sum_z += (double) k * g;
			done = !(g[0] > sum[0] * tolerance) || !(g[1] > sum[1] * tolerance);
			if ((k & 0xffff) == 0)
				CHECK_FOR_INTERRUPTS();
		}
		S1->g = g[0];
		S1->sum = sum[0];
		S1->sum_n = sum_n[0];
		S1->sum_b = sum_b[0];
		S1->sum_z = sum_z[0];
		S2->g = g[1];
		S2->sum = sum[1];
		S2->sum_n = sum_n[1];
		S2->sum_b = sum_b[1];
		S2->sum_z = sum_z[1];
		if (done && !(g[0] > sum[0] * tolerance))
			next_series_close(S1, n, b, euler, value1, dlog1);
		if (done && !(g[1] > sum[1] * tolerance))
			next_series_close(S2, n, b, euler, value2, dlog2);
	}
#endif
	if (S1->open)
		next_series_finish(S1, n, b, max_terms, terms, k, dn, db, value1, dlog1);
	if (S2 && S2->open)
		next_series_finish(S2, n, b, max_terms, terms, k, dn, db, value2, dlog2);
}

double
crm_log_hyp2f1_next(double n, double b, double z, int max_terms,
					double tolerance, double *dlog)
{
	NextSeries	S;
	double		value;

	next_series_start(&S, n, b, z, tolerance, &value);
	next_series_sum(n, b, max_terms, NULL, &S, &value, dlog, NULL, NULL, NULL);
	return value;
}

void
crm_log_hyp2f1_next_pair(double n, double b, double z1, double z2, int max_terms,
						 double tolerance, double *value1, double *value2,
						 double *dlog1, double *dlog2)
{
	NextSeries	S1,
				S2;

	next_series_start(&S1, n, b, z1, tolerance, value1);
	next_series_start(&S2, n, b, z2, tolerance, value2);
	next_series_sum(n, b, max_terms, NULL, &S1, value1, dlog1, &S2, value2, dlog2);
}

/* crm_log_hyp2f1_next_pair at the n and b of terms, from the table */
void
crm_log_hyp2f1_next_pair_terms(CrmHyp2f1Terms *terms, double z1, double z2,
							   int max_terms, double tolerance,
							   double *value1, double *value2,
							   double *dlog1, double *dlog2)
{
	NextSeries	S1,
				S2;

	next_series_start(&S1, terms->n, terms->b, z1, tolerance, value1);
	next_series_start(&S2, terms->n, terms->b, z2, tolerance, value2);
	next_series_sum(terms->n, terms->b, max_terms, terms, &S1, value1, dlog1,
					&S2, value2, dlog2);
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
