/*
 * paretonbd.c
 *		The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): fitting
 *		by maximum likelihood in an aggregate.
 *
 * While alive, purchases follow a Poisson process with rate lambda ~
 * Gamma(r, alpha); lifetimes are exponential with rate mu ~ Gamma(s, beta).
 * The likelihood of a customer with frequency x, recency t_x and age T
 * (Fader & Hardie 2005, "A note on deriving the Pareto/NBD model and
 * related expressions", eq. 22) is
 *
 *	L = G(r+x) alpha^r beta^s / G(r) [ (alpha+T)^-(r+x) (beta+T)^-s
 *										 + s / (r+s+x) A0 ]
 *
 * with, for alpha >= beta (the other case swaps the roles, see below),
 *
 *	A0 = 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t_x)) / (alpha+t_x)^(r+s+x)
 *	   - 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+T)) / (alpha+T)^(r+s+x)
 *
 * Everything is kept in logs; A0, a difference of two positive terms with
 * the first the larger, as ln(first) + ln(1 - second / first).
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "utils/memutils.h"

#include "crm.h"
#include "models.h"
#include "specfun.h"

/* The b of A0's series: s + 1 where alpha >= beta, r + x otherwise */
static inline double
a0_series_b(double r, double s, double x, bool alpha_first)
{
	return alpha_first ? s + 1 : r + x;
}

/*
 * ln of (alpha+t)^-(r+s+x) 2F1(r+s+x, b2; r+s+x+1; z(t)), one term of A0,
 * where for alpha >= beta: b2 = s+1, z = (alpha-beta)/(alpha+t);
 * for alpha < beta: b2 = r+x, z = (beta-alpha)/(beta+t) and beta in the
 * power.  With grad not NULL, also its derivatives in (r, alpha, s, beta):
 * n = r+s+x moves the series' a and c together, and z moves with alpha
 * and beta.  The terms at t1 and at t2 (if value2 is not NULL) come from
 * one loop over the two series (crm_log_hyp2f1_next_pair), summed within
 * a likelihood's budget if fitting, a score's otherwise (specfun.h); a
 * pair with what their terms share from table where it is not NULL (the
 * table of this n and b: series_terms).
 */
static void
log_a0_terms(double r, double alpha, double s, double beta, double x,
			 double t1, double t2, bool fitting, CrmHyp2f1Terms *table,
			 double *value1, double *grad1, double *value2, double *grad2)
{
	int			terms = fitting ? CRM_HYP2F1_FITTING_TERMS : CRM_HYP2F1_SCORING_TERMS;
	double		tolerance = fitting ? CRM_HYP2F1_FITTING_TOLERANCE :
		CRM_HYP2F1_SCORING_TOLERANCE;
	double		n = r + s + x;
	double		dlog[2][3];
	double	   *values[2] = {value1, value2};
	double	   *grads[2] = {grad1, grad2};
	double		ts[2] = {t1, t2};
	/* the series takes the larger of alpha and beta as its base */
	bool		alpha_first = alpha >= beta;
	double		low = alpha_first ? beta : alpha;
	double		high = alpha_first ? alpha : beta;
	double		bases[2] = {high + t1, high + t2};

	if (value2 && table)
		crm_log_hyp2f1_next_pair_terms(table, (high - low) / bases[0],
									   (high - low) / bases[1], terms, tolerance,
									   value1, value2, grad1 ? dlog[0] : NULL,
									   grad2 ? dlog[1] : NULL);
	else if (value2)
		crm_log_hyp2f1_next_pair(n, a0_series_b(r, s, x, alpha_first),
								 (high - low) / bases[0], (high - low) / bases[1],
								 terms, tolerance, value1, value2,
								 grad1 ? dlog[0] : NULL, grad2 ? dlog[1] : NULL);
	else
		*value1 = crm_log_hyp2f1_next(n, a0_series_b(r, s, x, alpha_first),
									  (high - low) / bases[0], terms, tolerance,
									  grad1 ? dlog[0] : NULL);
	for (int j = 0; j < (value2 ? 2 : 1); j++)
	{
		double		base = bases[j];
		double		log_base = log(base);
		double	   *grad = grads[j];

		*values[j] -= n * log_base;
		if (grad && !isnan(*values[j]))
		{
			double		dn = dlog[j][0] - log_base;
			double		dz_high = dlog[j][2] * (low + ts[j]) / (base * base) - n / base;
			double		dz_low = -dlog[j][2] / base;

			grad[0] = alpha_first ? dn : dn + dlog[j][1];
			grad[1] = alpha_first ? dz_high : dz_low;
			grad[2] = alpha_first ? dn + dlog[j][1] : dn;
			grad[3] = alpha_first ? dz_low : dz_high;
		}
	}
}

/* One term of A0, as log_a0_terms */
static double
log_a0_term(double r, double alpha, double s, double beta, double x, double t,
			bool fitting, double *grad)
{
	double		value;

	log_a0_terms(r, alpha, s, beta, x, t, t, fitting, NULL, &value, grad, NULL, NULL);
	return value;
}

/*
 * ln A0 from the ln of its two terms, first (at t_x) and second (at T);
 * -Infinity when t_x = T (A0 is 0 then), NaN when a series would have
 * needed too many terms.  With grad not NULL and A0 > 0, also its
 * derivatives in (r, alpha, s, beta) from those of the terms: the
 * derivatives of ln(F1 - F2) are (F1 dlnF1 - F2 dlnF2) / (F1 - F2).
 */
static double
combine_a0(double first, const double *grad_first, double second,
		   const double *grad_second, double *grad)
{
	double		q;

	if (isnan(first) || isnan(second))
		return NAN;
	if (second >= first)
		return -INFINITY;
	q = exp(second - first);
	if (grad)
		for (int i = 0; i < PARETONBD_PARAMS; i++)
			grad[i] = (grad_first[i] - q * grad_second[i]) / (1 - q);
	return first + crm_log1p(-q);
}

/* ln A0 of one customer, without derivatives, to a score's precision */
static double
log_a0_of(double r, double alpha, double s, double beta, double x,
		  double t_x, double T)
{
	return combine_a0(log_a0_term(r, alpha, s, beta, x, t_x, false, NULL), NULL,
					  log_a0_term(r, alpha, s, beta, x, T, false, NULL), NULL,
					  NULL);
}

/*
 * The terms of A0 depend on (x, t) alone, and customers share them: in
 * CDNOW's 8,685 distinct summaries there are 1,726 distinct (x, t_x) and
 * 979 distinct (x, T).  Each evaluation of the likelihood keeps the terms
 * it computed in a direct-mapped table, so most are summed once, not once
 * per row.  The table lives as long as the rows (their scratch pointer).
 */
#define A0_CACHE_BITS 12

typedef struct A0Term
{
	uint64		evaluation;		/* which evaluation computed it; 0: none */
	double		x;
	double		t;
	double		value;
	double		grad[PARETONBD_PARAMS];
} A0Term;

/*
 * What depends on r, s and x alone: the log-gamma and digamma of r + x
 * and ln(r + s + x), kept for whole x below X_TERMS, and those of r and s
 * (A0Cache).  The rows come sorted by x, so a plain fit needs each once
 * per distinct x anyway; a covariate fit calls the likelihood once per run
 * of customers who share covariates -- once per customer with a
 * continuous covariate -- and there the table saves six special functions
 * a row.
 */
#define X_TERMS 256

typedef struct XTerms
{
	uint64		generation;		/* of (r, s) it belongs to; 0: none */
	bool		has_digamma;
	double		lgamma_rx;
	double		digamma_rx;
	double		log_n;			/* ln(r + s + x) */
	/* the series' shared terms, for b = s + 1 and b = r + x (log_a0_terms) */
	uint64		series_generation[2];
	CrmHyp2f1Terms series[2];
} XTerms;

typedef struct A0Cache
{
	uint64		evaluation;		/* the current evaluation */
	A0Term		terms[1 << A0_CACHE_BITS];
	/* what depends on (r, s) alone, for the last (r, s) seen */
	uint64		generation;
	double		r;
	double		s;
	double		lgamma_r;
	double		log_s;
	bool		has_digamma_r;
	double		digamma_r;
	XTerms		x_terms[X_TERMS];
} A0Cache;

/* The terms of x at the cache's (r, s), digamma too if with_grad */
static const XTerms *
x_terms(A0Cache *cache, double x, bool with_grad, XTerms *scratch)
{
	XTerms	   *terms = scratch;

	if (x >= 0 && x < X_TERMS && x == floor(x))
	{
		terms = &cache->x_terms[(int) x];
		if (terms->generation == cache->generation && (terms->has_digamma || !with_grad))
			return terms;
	}
	if (terms->generation != cache->generation)
	{
		terms->generation = cache->generation;
		terms->lgamma_rx = lgamma(cache->r + x);
		terms->log_n = log(cache->r + cache->s + x);
		terms->has_digamma = false;
	}
	if (with_grad && !terms->has_digamma)
	{
		terms->digamma_rx = crm_digamma(cache->r + x);
		terms->has_digamma = true;
	}
	return terms;
}

/* Make the cache's (r, s) these, starting a generation if they changed */
static void
set_shape(A0Cache *cache, double r, double s, bool with_grad)
{
	if (cache->generation == 0 || r != cache->r || s != cache->s)
	{
		cache->generation++;
		cache->r = r;
		cache->s = s;
		cache->lgamma_r = lgamma(r);
		cache->log_s = log(s);
		cache->has_digamma_r = false;
	}
	if (with_grad && !cache->has_digamma_r)
	{
		cache->digamma_r = crm_digamma(r);
		cache->has_digamma_r = true;
	}
}

/*
 * The table of what the terms of A0's series share (specfun.h), for whole
 * x below X_TERMS at the cache's (r, s): of its series in s + 1 where
 * alpha_first, in r + x otherwise; NULL for other x.  A covariate fit sums
 * the series of one x for every customer with that frequency, each at a
 * z of their own.
 */
static CrmHyp2f1Terms *
series_terms(A0Cache *cache, double x, bool alpha_first)
{
	XTerms	   *terms;
	int			which = alpha_first ? 0 : 1;

	if (!(x >= 0 && x < X_TERMS && x == floor(x)))
		return NULL;
	terms = &cache->x_terms[(int) x];
	if (terms->series_generation[which] != cache->generation)
	{
		/* n and b as log_a0_terms works them out */
		crm_hyp2f1_terms_reset(&terms->series[which], cache->r + cache->s + x,
							   a0_series_b(cache->r, cache->s, x, alpha_first),
							   GetMemoryChunkContext(cache));
		terms->series_generation[which] = cache->generation;
	}
	return &terms->series[which];
}

/* The slot of (x, t); *hit: whether it holds that term of this evaluation */
static A0Term *
a0_slot(A0Cache *cache, double x, double t, bool *hit)
{
	uint64		bits_x,
				bits_t;
	A0Term	   *term;

	memcpy(&bits_x, &x, sizeof(bits_x));
	memcpy(&bits_t, &t, sizeof(bits_t));
	term = &cache->terms[((bits_x * UINT64CONST(0x9E3779B97F4A7C15)) ^ bits_t) *
						 UINT64CONST(0xC2B2AE3D27D4EB4F) >> (64 - A0_CACHE_BITS)];
	*hit = term->evaluation == cache->evaluation && term->x == x && term->t == t;
	return term;
}

/* Keep in slot the term of (x, t) computed in this evaluation */
static void
a0_keep(A0Cache *cache, A0Term *slot, double x, double t, const A0Term *term)
{
	*slot = *term;
	slot->evaluation = cache->evaluation;
	slot->x = x;
	slot->t = t;
}

/*
 * The two terms of A0 of a customer, at t_x into *first and at T into
 * *second: from the cache where they are there, computed and kept where
 * not -- both in one pass over the two series where neither is there.
 * Without shared (an evaluation of one row: a customer of a covariate
 * fit with a model of their own) there is nothing to share them with, and
 * the cache is neither searched nor filled.
 */
static void
a0_terms(A0Cache *cache, const double *p, double x, double t_x, double T,
		 bool with_grad, bool shared, A0Term *first, A0Term *second)
{
	bool		hit_first = false,
				hit_second = false;
	A0Term	   *slot_first = NULL;
	A0Term	   *slot_second = NULL;

	if (shared)
	{
		slot_first = a0_slot(cache, x, t_x, &hit_first);
		slot_second = a0_slot(cache, x, T, &hit_second);
		if (hit_first)
			*first = *slot_first;
		if (hit_second)
			*second = *slot_second;
	}

	if (!hit_first && !hit_second && t_x != T)
		log_a0_terms(p[0], p[1], p[2], p[3], x, t_x, T, true,
					 series_terms(cache, x, p[1] >= p[3]),
					 &first->value, with_grad ? first->grad : NULL,
					 &second->value, with_grad ? second->grad : NULL);
	else
	{
		if (!hit_first)
			first->value = log_a0_term(p[0], p[1], p[2], p[3], x, t_x,
									   true,
									   with_grad ? first->grad : NULL);
		if (t_x == T)
			*second = *first;
		else if (!hit_second)
			second->value = log_a0_term(p[0], p[1], p[2], p[3], x, T,
										true,
										with_grad ? second->grad : NULL);
	}
	if (!shared)
		return;
	/* in this order: where the two share a slot, the second stays */
	if (!hit_first)
		a0_keep(cache, slot_first, x, t_x, first);
	if (!hit_second && t_x != T)
		a0_keep(cache, slot_second, x, T, second);
}

/*
 * Sum of the weighted log-likelihoods of the rows (x, t_x, T), and its
 * gradient in p = (r, alpha, s, beta) when grad is not NULL.  As for
 * BG/NBD, ln L = head + ln(e^A + e^B), with A the "alive at T" term and
 * B = ln s - ln(r+s+x) + ln A0; the log-gamma and digamma of r+x once per
 * distinct x (the rows come sorted by x), the two hypergeometric terms of
 * A0 mostly once per distinct (x, t_x) and (x, T) (A0Cache).
 */
double
crm_paretonbd_loglik(const double *p, const WeightedRows *rows, double *grad,
					 void *arg)
{
	double		r = p[0],
				alpha = p[1],
				s = p[2],
				beta = p[3];
	double		log_alpha = log(alpha);
	double		log_beta = log(beta);
	double		head_0;
	double		x = NAN,
				head = 0,
				dhead_r = 0,
				log_n = 0;
	double		sum = 0;
	double		g[PARETONBD_PARAMS] = {0};
	A0Cache    *cache = rows->scratch;

	if (cache == NULL)
		cache = ((WeightedRows *) rows)->scratch = palloc0(sizeof(A0Cache));
	cache->evaluation++;
	set_shape(cache, r, s, grad != NULL);
	head_0 = -cache->lgamma_r + r * log_alpha + s * log_beta;
	for (int64 i = 0; i < rows->nrows; i++)
	{
		const WeightedRow *row = crm_wrow(rows, i);
		double		w = row->weight;
		double		t_x = row->v[SUMMARY_T_X],
					T = row->v[SUMMARY_T];
		A0Term		first,
					second;
		double		log_T_alpha,
					log_T_beta,
					A,
					B,
					log_a0,
					ll,
					share_b;
		double		da0[PARETONBD_PARAMS];

		if (row->v[SUMMARY_X] != x)
		{
			XTerms		scratch = {0};
			const XTerms *terms;

			x = row->v[SUMMARY_X];
			terms = x_terms(cache, x, grad != NULL, &scratch);
			head = head_0 + terms->lgamma_rx;
			log_n = terms->log_n;
			if (grad)
				dhead_r = terms->digamma_rx - cache->digamma_r + log_alpha;
		}
		log_T_alpha = log(alpha + T);
		log_T_beta = log(beta + T);
		A = -(r + x) * log_T_alpha - s * log_T_beta;
		a0_terms(cache, p, x, t_x, T, grad != NULL, rows->nrows > 1, &first, &second);
		log_a0 = combine_a0(first.value, first.grad, second.value,
							second.grad, grad ? da0 : NULL);
		B = cache->log_s - log_n + log_a0;
		if (isnan(B))
			return NAN;			/* a series too long: a point to avoid */
		ll = crm_log_add_share(A, B, &share_b);
		sum += w * (head + ll);
		if (grad)
		{
			double		share_a = 1 - share_b;
			double		inv_n = 1 / (r + s + x);

			if (share_b == 0)
				memset(da0, 0, sizeof(da0));	/* A0 = 0: no slope to add */
			g[0] += w * (dhead_r - share_a * log_T_alpha +
						 share_b * (da0[0] - inv_n));
			g[1] += w * (r / alpha - share_a * (r + x) / (alpha + T) +
						 share_b * da0[1]);
			g[2] += w * (log_beta - share_a * log_T_beta +
						 share_b * (da0[2] + 1 / s - inv_n));
			g[3] += w * (s / beta - share_a * s / (beta + T) +
						 share_b * da0[3]);
		}
	}
	if (grad)
		memcpy(grad, g, sizeof(g));
	return sum;
}

/*
 * crm_paretonbd_final(state) -> crm_paretonbd_model
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_final);
Datum
crm_paretonbd_final(PG_FUNCTION_ARGS)
{
	WeightedRows *rows;

	rows = crm_fit_rows(fcinfo, 3, "crm_paretonbd_final");
	if (rows == NULL || rows->customers == 0)
		PG_RETURN_NULL();
	return crm_fit_model(fcinfo, rows, PARETONBD_PARAMS, crm_paretonbd_loglik);
}

/*
 * Probability that a customer with this history is still alive (Fader &
 * Hardie 2005, note on the Pareto/NBD, eq. 18):
 *
 *	P(alive) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)
 */
double
crm_paretonbd_alive(const double *p, double x, double t_x, double T)
{
	double		r = p[0],
				alpha = p[1],
				s = p[2],
				beta = p[3];
	double		log_a0;

	crm_check_summary(x, t_x, T);
	log_a0 = log_a0_of(r, alpha, s, beta, x, t_x, T);
	if (isnan(log_a0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("probability alive cannot be computed for these parameters")));
	return crm_model_result(exp(-crm_log_add(0, log(s) - log(r + s + x) +
											 (r + x) * log(alpha + T) +
											 s * log(beta + T) + log_a0)));
}

/*
 * crm_paretonbd_p_alive(model, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_p_alive);
Datum
crm_paretonbd_p_alive(PG_FUNCTION_ARGS)
{
	double		p[PARETONBD_PARAMS];

	crm_model_params(fcinfo, 0, PARETONBD_PARAMS, p);
	PG_RETURN_FLOAT8(crm_paretonbd_alive(p, PG_GETARG_FLOAT8(1),
									   PG_GETARG_FLOAT8(2),
									   PG_GETARG_FLOAT8(3)));
}

/*
 * crm_paretonbd_p_alive_interval(model, frequency, recency, t, level)
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_p_alive_interval);
Datum
crm_paretonbd_p_alive_interval(PG_FUNCTION_ARGS)
{
	crm_check_summary(PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
	return crm_alive_interval(fcinfo, PARETONBD_PARAMS, crm_paretonbd_alive);
}

/*
 * crm_paretonbd_expected(model, horizon, frequency, recency, t): expected
 * purchases in the next horizon time units (Schmittlein, Morrison &
 * Colombo 1987, eq. 22; as lifetimes computes it).  Alive, the customer's
 * rates have the posteriors lambda ~ Gamma(r+x, alpha+T) and
 * mu ~ Gamma(s, beta+T), so
 *
 *	E = P(alive) (r+x)/(alpha+T) (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+h))^(s-1)]
 *
 * and at s = 1 its limit, (r+x)/(alpha+T) (beta+T) ln((beta+T+h)/(beta+T)).
 */
double
crm_paretonbd_expected_alive(const double *p, double h, double x, double t_x,
							 double T)
{
	double		r = p[0],
				alpha = p[1],
				s = p[2],
				beta = p[3],
				u,
				lifetime;

	crm_check_nonnegative("horizon", h);
	crm_check_summary(x, t_x, T);
	if (h == 0)
		return 0;
	/* expected time alive within the horizon, per unit of beta+T */
	u = log1p(h / (beta + T));
	lifetime = s == 1 ? u : -expm1(-(s - 1) * u) / (s - 1);
	return (r + x) / (alpha + T) * (beta + T) * lifetime;
}

double
crm_paretonbd_expected_purchases(const double *p, double h, double x,
								 double t_x, double T)
{
	double		expected = crm_paretonbd_expected_alive(p, h, x, t_x, T);

	return crm_model_result(crm_paretonbd_alive(p, x, t_x, T) * expected);
}

PG_FUNCTION_INFO_V1(crm_paretonbd_expected);
Datum
crm_paretonbd_expected(PG_FUNCTION_ARGS)
{
	double		p[PARETONBD_PARAMS];

	crm_model_params(fcinfo, 0, PARETONBD_PARAMS, p);
	PG_RETURN_FLOAT8(crm_paretonbd_expected_purchases(p, PG_GETARG_FLOAT8(1),
													  PG_GETARG_FLOAT8(2),
													  PG_GETARG_FLOAT8(3),
													  PG_GETARG_FLOAT8(4)));
}

/* The customer and horizon of an interval of expected purchases */
typedef struct PurchaseQuery
{
	double		h,
				x,
				t_x,
				T;
} PurchaseQuery;

static double
expected_at(const double *p, void *arg)
{
	PurchaseQuery *q = arg;

	return crm_paretonbd_expected_purchases(p, q->h, q->x, q->t_x, q->T);
}

/*
 * crm_paretonbd_expected_interval(model, horizon, frequency, recency, t,
 * level): expected purchases with an interval from the uncertainty of the
 * model's parameters
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_expected_interval);
Datum
crm_paretonbd_expected_interval(PG_FUNCTION_ARGS)
{
	PurchaseQuery q = {PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
	PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4)};

	return crm_model_interval(fcinfo, PARETONBD_PARAMS, expected_at, &q, 5);
}
