/*
 * specfun.h
 *		Special functions the probabilistic models share (specfun.c).
 */
#ifndef CRM_SPECFUN_H
#define CRM_SPECFUN_H

#include <math.h>

extern double crm_log_beta(double a, double b);
extern double crm_digamma(double x);
extern double crm_log_add(double x, double y);
extern double crm_normal_upper_quantile(double u);
extern double crm_log_hyp2f1(double a, double b, double c, double z,
							 int max_terms);
extern double crm_log_hyp2f1_next(double n, double b, double z, int max_terms,
								  double tolerance, double *dlog);
extern void crm_log_hyp2f1_next_pair(double n, double b, double z1, double z2,
									 int max_terms, double tolerance,
									 double *value1, double *value2,
									 double *dlog1, double *dlog2);

/* What the terms of crm_log_hyp2f1_next's series share, for one (n, b) */
typedef struct CrmHyp2f1Terms
{
	double		n;
	double		b;
	int			nterms;			/* terms 1 .. nterms are in values */
	int			size;			/* terms there is room for */
	double	   *values;			/* per term: ratio, d/dn, d/db */
	MemoryContext context;		/* where values is */
} CrmHyp2f1Terms;

extern void crm_hyp2f1_terms_reset(CrmHyp2f1Terms *terms, double n, double b,
								   MemoryContext context);
extern void crm_log_hyp2f1_next_pair_terms(CrmHyp2f1Terms *terms, double z1,
										   double z2, int max_terms,
										   double tolerance, double *value1,
										   double *value2, double *dlog1,
										   double *dlog2);

/*
 * ln(1 + x), -1 <= x <= 1, from one logarithm: of u = 1 + x rounded,
 * scaled by x / (u - 1), the exact argument over the rounded one, which
 * restores what the rounding lost (Goldberg, "What every computer
 * scientist should know about floating-point arithmetic", 1991, theorem
 * 4): within a few units in the last place, as log1p, for less than
 * glibc's log1p costs -- in a covariate Pareto/NBD fit, which takes three
 * a customer, those three showed in the profile at nearly twice the
 * time of its seven logarithms.
 */
static inline double
crm_log1p(double x)
{
	double		u = 1 + x;

	return u == 1 ? x : log(u) * (x / (u - 1));
}

/*
 * ln(e^a + e^b), with the share e^b / (e^a + e^b) in *share_b: the
 * per-row step of the likelihoods that mix two ways of explaining a
 * customer.  Where one term outweighs the other by e^40 or more, the
 * smaller one no longer changes the sum in double precision: its share is
 * returned without log1p, and as 0 below e^-700, where exp would give
 * subnormal numbers, which cost a hundred times more to compute with.
 */
static inline double
crm_log_add_share(double a, double b, double *share_b)
{
	double		hi = a > b ? a : b;
	double		d = fabs(a - b);
	double		e;

	if (!(d <= 40))
	{
		e = d > 700 ? 0 : exp(-d);
		*share_b = b > a ? 1 - e : e;
		return isinf(hi) && hi < 0 ? hi : hi + e;
	}
	e = exp(-d);
	*share_b = b > a ? 1 / (1 + e) : e / (1 + e);
	return hi + crm_log1p(e);
}

/*
 * Term budgets: scoring a customer may sum long series; a likelihood
 * evaluated thousands of times by the optimiser treats a series that long
 * as a region to stay out of
 */
#define CRM_HYP2F1_SCORING_TERMS 1000000
#define CRM_HYP2F1_FITTING_TERMS 2000

/*
 * Where crm_log_hyp2f1_next stops: at the first term below this share of
 * the sum.  Its terms shrink from the first, the ratio of one to the one
 * before staying below z, so what is left is below tolerance z / (1 - z)
 * of the sum: a few times the tolerance unless z is near 1.  A score
 * keeps every digit; a fit's likelihood to about 13 moved the bench's
 * million-customer covariate fit by a billionth of a standard error, for
 * a fifth fewer terms.
 */
#define CRM_HYP2F1_SCORING_TOLERANCE 1e-17
#define CRM_HYP2F1_FITTING_TOLERANCE 1e-14

#endif							/* CRM_SPECFUN_H */
