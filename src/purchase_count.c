/*
 * purchase_count.c
 *		The distribution of the number of purchases in a period, P(X(t) = n),
 *		under BG/NBD, MBG/NBD and Pareto/NBD: of a new customer, and of a
 *		customer with a history over the next t time units.  P(X = 0) over
 *		the next period is the churn score.
 *
 * A new BG/NBD customer (FHL 2005, eq. 8), with NB(j) the negative
 * binomial probability of j Poisson purchases in t of a gamma mixture,
 *
 *	NB(j) = G(r+j) / (G(r) j!) (alpha/(alpha+t))^r (t/(alpha+t))^j
 *
 *	P(X(t) = n) = B(a, b+n)/B(a, b) NB(n)
 *				+ [n > 0] B(a+1, b+n-1)/B(a, b) (1 - sum_{j<n} NB(j))
 *
 * A customer with a history (x, t_x, T) is either gone, and buys nothing
 * more, or alive; alive, the purchase rate given the history is
 * Gamma(r+x, alpha+T) and the dropout probability Beta(a, b+x), and the
 * purchases to come follow a new customer's law with those parameters:
 *
 *	P(X(T, T+t) = n) = [n = 0] (1 - P(alive)) + P(alive) P_new(n; r+x, alpha+T, a, b+x)
 *
 * MBG/NBD: a new customer leaves at once with probability p, so
 * P_new = [n = 0] a/(a+b) + b/(a+b) P_BG/NBD new(n; r, alpha, a, b+1); a
 * customer with a history, alive, has dropout probability Beta(a, b+x+1).
 *
 * Pareto/NBD: lifetimes are exponential, without memory, so a customer
 * alive at T is again a new customer, with rates Gamma(r+x, alpha+T) and
 * Gamma(s, beta+T).  A new customer (Fader & Hardie 2006, "Deriving an
 * expression for P(X(t) = x) under the Pareto/NBD model") is alive at t
 * and made n purchases, or died at some tau < t after n purchases:
 *
 *	P(X(t) = n) = NB(n) (beta/(beta+t))^s
 *				+ J(r+s; 0) - sum_{i=0..n} t^i / i! J(r+s+i; t)
 *
 * where, writing the death term E[mu lambda^n (lambda+mu)^(i-n-1)
 * e^-(lambda+mu) u] over the two gammas in polar form,
 *
 *	J(c; u) = alpha^r beta^s G(c) / (G(r) G(s)) B(r+n, s+1)
 *			  (m+u)^-c 2F1(c, b2; r+n+s+1; |alpha-beta| / (m+u))
 *
 * with m = max(alpha, beta), b2 = s+1 if alpha >= beta, else r+n.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "crm.h"
#include "models.h"
#include "specfun.h"

/* Most purchases n asked about: the tail sums run over them */
#define MAX_PURCHASES 1e6

/* ln NB(j) */
static double
log_nb(double r, double alpha, double t, double j)
{
	return lgamma(r + j) - lgamma(r) - lgamma(j + 1) +
		r * (log(alpha) - log(alpha + t)) + j * (log(t) - log(alpha + t));
}

/*
 * P(X(t) = n) of a new BG/NBD customer with parameters (r, alpha, a, b).
 * The chance of n or more Poisson purchases is 1 minus those below n while
 * that is not small, else summed from n on, where 1 minus a sum near 1
 * would lose its digits.
 */
static double
bgnbd_pmf_new(double r, double alpha, double a, double b, double n, double t)
{
	double		head;
	double		below = 0;
	double		tail = 0;

	if (t == 0)
		return n == 0 ? 1 : 0;
	head = exp(crm_log_beta(a, b + n) - crm_log_beta(a, b) + log_nb(r, alpha, t, n));
	if (n == 0)
		return head;
	for (double j = 0; j < n && below <= 0.5; j++)
		below += exp(log_nb(r, alpha, t, j));
	if (below <= 0.5)
		tail = 1 - below;
	else
	{
		/* the terms grow while (r+j) q / (j+1) > 1, then fall geometrically */
		double		q = t / (alpha + t);
		double		term = exp(log_nb(r, alpha, t, n));

		for (double j = n; j < n + 1e7; j++)
		{
			tail += term;
			/* falling, and too small to matter (or below double range) */
			if ((r + j) * q < j + 1 && term <= tail * 1e-17)
				break;
			term *= (r + j) * q / (j + 1);
		}
	}
	return head + exp(crm_log_beta(a + 1, b + n - 1) - crm_log_beta(a, b)) * tail;
}

/* ln 2F1 of the Pareto/NBD death terms; a series too long is an error */
static double
pareto_log_hyp2f1(double a, double b, double c, double z)
{
	double		value = crm_log_hyp2f1(a, b, c, z, CRM_HYP2F1_SCORING_TERMS);

	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("purchase probabilities cannot be computed for these parameters"),
				 errdetail("The hypergeometric series 2F1(%g, %g; %g; %g) would need too many terms.",
						   a, b, c, z)));
	return value;
}

/*
 * P(X(t) = n) of a new Pareto/NBD customer with parameters (r, alpha, s,
 * beta).  The death term is a difference of two positive quantities that
 * agree to about t^(n+1) for a short horizon: rounding may leave it a
 * hair below 0, which is 0.
 */
static double
paretonbd_pmf_new(double r, double alpha, double s, double beta, double n,
				  double t)
{
	double		m = Max(alpha, beta);
	double		b2 = alpha >= beta ? s + 1 : r + n;
	double		c2 = r + n + s + 1;
	double		log_common;
	double		alive,
				dead,
				then = 0;

	if (t == 0)
		return n == 0 ? 1 : 0;
	alive = exp(lgamma(r + n) - lgamma(r) - lgamma(n + 1) + n * log(t) +
				r * (log(alpha) - log(alpha + t)) - n * log(alpha + t) +
				s * (log(beta) - log(beta + t)));
	log_common = r * log(alpha) + s * log(beta) - lgamma(r) - lgamma(s) +
		crm_log_beta(r + n, s + 1);
	dead = exp(log_common + lgamma(r + s) - (r + s) * log(m) +
			   pareto_log_hyp2f1(r + s, b2, c2, fabs(alpha - beta) / m));
	for (double i = 0; i <= n; i++)
	{
		then += exp(log_common + lgamma(r + s + i) - (r + s + i) * log(m + t) +
					i * log(t) - lgamma(i + 1) +
					pareto_log_hyp2f1(r + s + i, b2, c2, fabs(alpha - beta) / (m + t)));
		CHECK_FOR_INTERRUPTS();
	}
	return alive + Max(dead - then, 0);
}

/* Read and check (model, n, horizon) of the six functions: every model here has four parameters */
static void
get_args(FunctionCallInfo fcinfo, double *p, double *n, double *t)
{
	crm_model_params(fcinfo, 0, BGNBD_PARAMS, p);
	*n = PG_GETARG_FLOAT8(1);
	*t = PG_GETARG_FLOAT8(2);
	crm_check_whole("n", *n, 0, MAX_PURCHASES);
	crm_check_nonnegative("horizon", *t);
}

/*
 * crm_bgnbd_p_purchases_new(model, n, horizon)
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_p_purchases_new);
Datum
crm_bgnbd_p_purchases_new(PG_FUNCTION_ARGS)
{
	double		p[BGNBD_PARAMS],
				n,
				t;

	get_args(fcinfo, p, &n, &t);
	PG_RETURN_FLOAT8(crm_model_result(bgnbd_pmf_new(p[0], p[1], p[2], p[3], n, t)));
}

/*
 * crm_mbgnbd_p_purchases_new(model, n, horizon)
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_p_purchases_new);
Datum
crm_mbgnbd_p_purchases_new(PG_FUNCTION_ARGS)
{
	double		p[BGNBD_PARAMS],
				n,
				t;
	double		gone;

	get_args(fcinfo, p, &n, &t);
	gone = p[2] / (p[2] + p[3]);
	PG_RETURN_FLOAT8(crm_model_result((n == 0 ? gone : 0) +
									  (1 - gone) * bgnbd_pmf_new(p[0], p[1], p[2], p[3] + 1, n, t)));
}

/* The models whose P(X = n) of a customer with a history is worked out here */
typedef enum CountModel
{
	COUNT_BGNBD,
	COUNT_MBGNBD,
	COUNT_PARETONBD
} CountModel;

/* A customer with a history (x, t_x, T), and n purchases in the next h */
typedef struct CountQuery
{
	CountModel	model;
	double		n,
				h,
				x,
				t_x,
				T;
} CountQuery;

/*
 * P(X(T, T+h) = n) of the query's customer at parameters p: gone, or alive
 * and buying as a new customer with the parameters the history leaves --
 * under MBG/NBD with a dropout probability that also survived the first
 * purchase, under Pareto/NBD with both rates updated (CrmPrediction)
 */
static double
count_at(const double *p, void *arg)
{
	CountQuery *q = arg;
	double		alive;
	double		alive_pmf;

	switch (q->model)
	{
		case COUNT_BGNBD:
		case COUNT_MBGNBD:
			{
				int			shift = q->model == COUNT_MBGNBD;

				alive = shift ? crm_mbgnbd_alive(p, q->x, q->t_x, q->T) :
					crm_bgnbd_alive(p, q->x, q->t_x, q->T);
				alive_pmf = bgnbd_pmf_new(p[0] + q->x, p[1] + q->T, p[2],
										  p[3] + q->x + shift, q->n, q->h);
				break;
			}
		default:
			alive = crm_paretonbd_alive(p, q->x, q->t_x, q->T);
			alive_pmf = paretonbd_pmf_new(p[0] + q->x, p[1] + q->T, p[2],
										  p[3] + q->T, q->n, q->h);
			break;
	}
	return crm_model_result((q->n == 0 ? 1 - alive : 0) + alive * alive_pmf);
}

/*
 * The query of (model, n, horizon, frequency, recency, t) in the calling
 * function's arguments 1 to 5, checked
 */
static CountQuery
count_query(FunctionCallInfo fcinfo, CountModel model)
{
	CountQuery	q = {model, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
	PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5)};

	crm_check_whole("n", q.n, 0, MAX_PURCHASES);
	crm_check_nonnegative("horizon", q.h);
	crm_check_summary(q.x, q.t_x, q.T);
	return q;
}

/* P(X = n) of a customer with a history, under the model in argument 0 */
static Datum
p_purchases(FunctionCallInfo fcinfo, CountModel model)
{
	double		p[BGNBD_PARAMS];
	CountQuery	q;

	StaticAssertStmt(BGNBD_PARAMS == PARETONBD_PARAMS, "the models have four parameters");
	crm_model_params(fcinfo, 0, BGNBD_PARAMS, p);
	q = count_query(fcinfo, model);
	PG_RETURN_FLOAT8(count_at(p, &q));
}

/*
 * The same with an interval from the uncertainty of the model's
 * parameters, at the level in argument 6
 */
static Datum
p_purchases_interval(FunctionCallInfo fcinfo, CountModel model)
{
	CountQuery	q = count_query(fcinfo, model);

	return crm_model_interval(fcinfo, BGNBD_PARAMS, count_at, &q, 6);
}

/*
 * crm_bgnbd_p_purchases(model, n, horizon, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_p_purchases);
Datum
crm_bgnbd_p_purchases(PG_FUNCTION_ARGS)
{
	return p_purchases(fcinfo, COUNT_BGNBD);
}

/*
 * crm_mbgnbd_p_purchases(model, n, horizon, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_p_purchases);
Datum
crm_mbgnbd_p_purchases(PG_FUNCTION_ARGS)
{
	return p_purchases(fcinfo, COUNT_MBGNBD);
}

/*
 * crm_paretonbd_p_purchases(model, n, horizon, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_p_purchases);
Datum
crm_paretonbd_p_purchases(PG_FUNCTION_ARGS)
{
	return p_purchases(fcinfo, COUNT_PARETONBD);
}

/*
 * crm_bgnbd_p_purchases_interval(model, n, horizon, frequency, recency,
 * t, level), and the same for MBG/NBD and Pareto/NBD
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_p_purchases_interval);
Datum
crm_bgnbd_p_purchases_interval(PG_FUNCTION_ARGS)
{
	return p_purchases_interval(fcinfo, COUNT_BGNBD);
}

PG_FUNCTION_INFO_V1(crm_mbgnbd_p_purchases_interval);
Datum
crm_mbgnbd_p_purchases_interval(PG_FUNCTION_ARGS)
{
	return p_purchases_interval(fcinfo, COUNT_MBGNBD);
}

PG_FUNCTION_INFO_V1(crm_paretonbd_p_purchases_interval);
Datum
crm_paretonbd_p_purchases_interval(PG_FUNCTION_ARGS)
{
	return p_purchases_interval(fcinfo, COUNT_PARETONBD);
}

/*
 * crm_paretonbd_p_purchases_new(model, n, horizon)
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_p_purchases_new);
Datum
crm_paretonbd_p_purchases_new(PG_FUNCTION_ARGS)
{
	double		p[PARETONBD_PARAMS],
				n,
				t;

	get_args(fcinfo, p, &n, &t);
	PG_RETURN_FLOAT8(crm_model_result(paretonbd_pmf_new(p[0], p[1], p[2], p[3], n, t)));
}
