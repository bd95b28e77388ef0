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

#include "crm.h"
#include "models.h"
#include "specfun.h"

#define PARETONBD_PARAMS 4

/*
 * ln of (alpha+t)^-(r+s+x) 2F1(r+s+x, b2; r+s+x+1; z(t)), one term of A0,
 * where for alpha >= beta: b2 = s+1, z = (alpha-beta)/(alpha+t);
 * for alpha < beta: b2 = r+x, z = (beta-alpha)/(beta+t) and beta in the
 * power.
 */
static double
log_a0_term(double r, double alpha, double s, double beta, double x, double t,
			int terms)
{
	double		n = r + s + x;

	if (alpha >= beta)
		return crm_log_hyp2f1(n, s + 1, n + 1, (alpha - beta) / (alpha + t),
							  terms) -
			n * log(alpha + t);
	return crm_log_hyp2f1(n, r + x, n + 1, (beta - alpha) / (beta + t),
						  terms) -
		n * log(beta + t);
}

/*
 * ln A0; -Infinity when t_x = T (A0 is 0 then), NaN when a series would
 * need more than terms terms
 */
static double
log_a0_of(double r, double alpha, double s, double beta, double x,
		  double t_x, double T, int terms)
{
	double		first = log_a0_term(r, alpha, s, beta, x, t_x, terms);
	double		second = log_a0_term(r, alpha, s, beta, x, T, terms);

	if (isnan(first) || isnan(second))
		return NAN;
	if (second >= first)
		return -INFINITY;
	return first + log1p(-exp(second - first));
}

/*
 * Pareto/NBD log-likelihood of one customer summary; p = (r, alpha, s, beta)
 */
double
crm_paretonbd_loglik(const double *p, double x, double t_x, double T)
{
	double		r = p[0],
				alpha = p[1],
				s = p[2],
				beta = p[3];
	double		head = lgamma(r + x) - lgamma(r) + r * log(alpha) + s * log(beta);
	double		alive = -(r + x) * log(alpha + T) - s * log(beta + T);
	double		log_a0 = log_a0_of(r, alpha, s, beta, x, t_x, T,
									   CRM_HYP2F1_FITTING_TERMS);

	return head + crm_log_add(alive, log(s) - log(r + s + x) + log_a0);
}

static double
paretonbd_row_loglik(const double *p, const double *v)
{
	return crm_paretonbd_loglik(p, v[0], v[1], v[2]);
}

/*
 * crm_paretonbd_final(state) -> crm_paretonbd_model
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_final);
Datum
crm_paretonbd_final(PG_FUNCTION_ARGS)
{
	crm_aggregate_context(fcinfo, "crm_paretonbd_final");
	if (PG_ARGISNULL(0) || ((WeightedRows *) PG_GETARG_POINTER(0))->customers == 0)
		PG_RETURN_NULL();
	return crm_fit_model(fcinfo, (WeightedRows *) PG_GETARG_POINTER(0),
						 PARETONBD_PARAMS, paretonbd_row_loglik);
}

/*
 * crm_paretonbd_p_alive(model, frequency, recency, t): probability that a
 * customer with this history is still alive (Fader & Hardie 2005, note on
 * the Pareto/NBD, eq. 18):
 *
 *	P(alive) = 1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_p_alive);
Datum
crm_paretonbd_p_alive(PG_FUNCTION_ARGS)
{
	double		p[PARETONBD_PARAMS];
	double		x = PG_GETARG_FLOAT8(1),
				t_x = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);
	double		r,
				alpha,
				s,
				beta,
				log_a0;

	crm_model_params(PG_GETARG_HEAPTUPLEHEADER(0), PARETONBD_PARAMS, p);
	crm_check_summary(x, t_x, T);
	r = p[0];
	alpha = p[1];
	s = p[2];
	beta = p[3];
	log_a0 = log_a0_of(r, alpha, s, beta, x, t_x, T, CRM_HYP2F1_SCORING_TERMS);
	if (isnan(log_a0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("probability alive cannot be computed for these parameters")));
	PG_RETURN_FLOAT8(crm_model_result(exp(-crm_log_add(0, log(s) - log(r + s + x) +
													  (r + x) * log(alpha + T) +
													  s * log(beta + T) + log_a0))));
}
