/*
 * bgbb.c
 *		The BG/BB model (Fader, Hardie & Berger 2010, "Customer-base analysis
 *		in a discrete-time noncontractual setting"): customers with discrete
 *		purchase opportunities -- a yearly donation drive, an annual event,
 *		a weekly delivery slot.
 *
 * A customer is summarised by frequency x (opportunities taken), recency
 * t_x (the last one taken, 0 if none) and n (opportunities seen).  While
 * alive, a customer takes each opportunity with probability p ~ Beta(alpha,
 * beta), and before each one after the first drops out for good with
 * probability theta ~ Beta(gamma, delta).  The likelihood of one customer
 * (FHB 2010, eq. 5) is a sum of 1 + n - t_x terms -- alive throughout, or
 * gone just before opportunity t_x + i + 1 for i = 0 .. n - t_x - 1:
 *
 *	L = B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
 *	  + sum_i B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
 *			  B(gamma+1, delta+t_x+i)/B(gamma, delta)
 *
 * The fit (fit.c) maximises the sum of weight x ln L over the rows, a row
 * standing for as many customers as its weight says: the published data
 * sets of this model come as counts of customers per (x, t_x, n).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "crm.h"
#include "models.h"
#include "specfun.h"
#include "weighted_rows.h"

#define BGBB_PARAMS 4

/* Where a BG/BB summary sits in a weighted row */
#define BGBB_X 0
#define BGBB_T_X 1
#define BGBB_N 2

/*
 * Most opportunities a customer may have seen: the likelihood of a
 * customer sums n - t_x + 1 terms, and a million opportunities is beyond
 * any schedule of them
 */
#define BGBB_MAX_OPPORTUNITIES 1e6

/* Most customers one row may stand for */
#define BGBB_MAX_CUSTOMERS 1e12

/*
 * Ensure (frequency, recency, opportunities) is a history the model can
 * describe: whole numbers, recency the last opportunity taken (0 for none)
 */
static void
check_bgbb_summary(double x, double t_x, double n)
{
	crm_check_whole("opportunities", n, 0, BGBB_MAX_OPPORTUNITIES);
	crm_check_whole("frequency", x, 0, BGBB_MAX_OPPORTUNITIES);
	crm_check_whole("recency", t_x, 0, BGBB_MAX_OPPORTUNITIES);
	if (t_x > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency must not exceed opportunities"),
				 errdetail("recency was %g, opportunities %g.", t_x, n)));
	if (x > t_x)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("frequency must not exceed recency"),
				 errdetail("Recency is the last opportunity taken: frequency was %g, recency %g.",
						   x, t_x)));
	if (x == 0 && t_x != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency must be 0 for a customer who took no opportunity"),
				 errdetail("recency was %g.", t_x)));
}

/* What every customer's likelihood shares at parameters p */
typedef struct BgbbConsts
{
	double		alpha,
				beta,
				gamma,
				delta;
	double		log_b_ab;		/* ln B(alpha, beta) */
	double		log_b_gd;		/* ln B(gamma, delta) */
	/* for the gradient: digammas of the parameters and their sums */
	double		psi_a,
				psi_b,
				psi_ab,
				psi_g,
				psi_d,
				psi_gd,
				psi_g1;
} BgbbConsts;

static void
bgbb_consts(const double *p, bool with_grad, BgbbConsts *c)
{
	c->alpha = p[0];
	c->beta = p[1];
	c->gamma = p[2];
	c->delta = p[3];
	c->log_b_ab = crm_log_beta(c->alpha, c->beta);
	c->log_b_gd = crm_log_beta(c->gamma, c->delta);
	if (with_grad)
	{
		c->psi_a = crm_digamma(c->alpha);
		c->psi_b = crm_digamma(c->beta);
		c->psi_ab = crm_digamma(c->alpha + c->beta);
		c->psi_g = crm_digamma(c->gamma);
		c->psi_d = crm_digamma(c->delta);
		c->psi_gd = crm_digamma(c->gamma + c->delta);
		c->psi_g1 = crm_digamma(c->gamma + 1);
	}
}

/*
 * The log of term k of a customer's likelihood: k = -1 the customer alive
 * through all n opportunities, k = i >= 0 gone before opportunity
 * t_x + i + 1.  With d not NULL, its derivatives in (alpha, beta, gamma,
 * delta): those of ln B(a, b) are psi(a) - psi(a+b) and psi(b) - psi(a+b).
 */
static double
log_term(const BgbbConsts *c, double x, double t_x, double n, double k,
		 double *d)
{
	double		m = k < 0 ? n : t_x + k;	/* opportunities while alive */
	double		g = k < 0 ? c->gamma : c->gamma + 1;
	double		value;

	value = crm_log_beta(c->alpha + x, c->beta + m - x) - c->log_b_ab
		+ crm_log_beta(g, c->delta + m) - c->log_b_gd;
	if (d)
	{
		double		psi_abm = crm_digamma(c->alpha + c->beta + m);
		double		psi_gdm = crm_digamma(g + c->delta + m);

		d[0] = crm_digamma(c->alpha + x) - psi_abm - c->psi_a + c->psi_ab;
		d[1] = crm_digamma(c->beta + m - x) - psi_abm - c->psi_b + c->psi_ab;
		d[2] = (k < 0 ? c->psi_g : c->psi_g1) - psi_gdm - c->psi_g + c->psi_gd;
		d[3] = crm_digamma(c->delta + m) - psi_gdm - c->psi_d + c->psi_gd;
	}
	return value;
}

/*
 * ln L of one customer; with grad not NULL, its gradient into grad.  The
 * terms are added as exponentials relative to the largest, which cannot
 * overflow; the gradient of ln L is the terms' gradients weighted by their
 * shares of L.
 */
static double
customer_loglik(const BgbbConsts *c, double x, double t_x, double n, double *grad)
{
	double		top = log_term(c, x, t_x, n, -1, NULL);
	double		total = 0;
	double		d[BGBB_PARAMS];

	for (double k = 0; k < n - t_x; k++)
		top = Max(top, log_term(c, x, t_x, n, k, NULL));
	if (grad)
		memset(grad, 0, sizeof(double) * BGBB_PARAMS);
	for (double k = -1; k < n - t_x; k++)
	{
		double		share = exp(log_term(c, x, t_x, n, k, grad ? d : NULL) - top);

		total += share;
		if (grad)
			for (int j = 0; j < BGBB_PARAMS; j++)
				grad[j] += share * d[j];
	}
	if (grad)
		for (int j = 0; j < BGBB_PARAMS; j++)
			grad[j] /= total;
	return top + log(total);
}

/* Sum of weight x ln L over the rows, and its gradient (CrmLoglik) */
double
crm_bgbb_loglik(const double *p, const WeightedRows *rows, double *grad,
				void *arg)
{
	BgbbConsts	c;
	double		sum = 0;
	double		g[BGBB_PARAMS] = {0};
	double		d[BGBB_PARAMS];

	bgbb_consts(p, grad != NULL, &c);
	for (int64 i = 0; i < rows->nrows; i++)
	{
		const WeightedRow *row = crm_wrow(rows, i);
		double		w = row->weight;

		if (w == 0)
			continue;
		sum += w * customer_loglik(&c, row->v[BGBB_X], row->v[BGBB_T_X],
								   row->v[BGBB_N], grad ? d : NULL);
		if (grad)
			for (int j = 0; j < BGBB_PARAMS; j++)
				g[j] += w * d[j];
	}
	if (grad)
		memcpy(grad, g, sizeof(g));
	return sum;
}

/*
 * crm_bgbb_accum(state, frequency, recency, opportunities [, customers])
 *
 * A row with a NULL is skipped; customers (1 when not given) is how many
 * customers have this history, a row of 0 customers adds none.
 */
PG_FUNCTION_INFO_V1(crm_bgbb_accum);
Datum
crm_bgbb_accum(PG_FUNCTION_ARGS)
{
	CrmAggState *agg;
	WeightedRows *state = crm_fit_state_unpenalized(fcinfo, 3, "crm_bgbb_accum", &agg);
	double		v[3];
	double		customers = 1;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		(PG_NARGS() > 4 && PG_ARGISNULL(4)))
		PG_RETURN_CRM_AGG_STATE(agg);
	v[BGBB_X] = PG_GETARG_FLOAT8(1);
	v[BGBB_T_X] = PG_GETARG_FLOAT8(2);
	v[BGBB_N] = PG_GETARG_FLOAT8(3);
	check_bgbb_summary(v[BGBB_X], v[BGBB_T_X], v[BGBB_N]);
	if (PG_NARGS() > 4)
	{
		customers = (double) PG_GETARG_INT64(4);
		crm_check_range("customers", customers, 0, BGBB_MAX_CUSTOMERS);
	}
	if (customers > 0)
		crm_wrows_add(state, v, customers, CrmAggStateContext(agg));
	PG_RETURN_CRM_AGG_STATE(agg);
}

/*
 * crm_bgbb_final(state) -> crm_bgbb_model
 */
PG_FUNCTION_INFO_V1(crm_bgbb_final);
Datum
crm_bgbb_final(PG_FUNCTION_ARGS)
{
	WeightedRows *rows;

	rows = crm_fit_rows(fcinfo, 3, "crm_bgbb_final");
	if (rows == NULL || rows->customers == 0)
		PG_RETURN_NULL();
	return crm_fit_model(fcinfo, rows, BGBB_PARAMS, crm_bgbb_loglik);
}

/*
 * Probability that a customer with this history is alive at opportunity
 * n + 1 (FHB 2010, eq. 11): the first term of L with one more opportunity
 * survived, over L
 *
 *	P(alive) = B(alpha+x, beta+n-x)/B(alpha, beta)
 *			   B(gamma, delta+n+1)/B(gamma, delta) / L
 */
static double
bgbb_alive(const BgbbConsts *c, double x, double t_x, double n, double log_l)
{
	return exp(crm_log_beta(c->alpha + x, c->beta + n - x) - c->log_b_ab
			   + crm_log_beta(c->gamma, c->delta + n + 1) - c->log_b_gd - log_l);
}

/*
 * crm_bgbb_p_alive(model, frequency, recency, opportunities)
 */
PG_FUNCTION_INFO_V1(crm_bgbb_p_alive);
Datum
crm_bgbb_p_alive(PG_FUNCTION_ARGS)
{
	double		p[BGBB_PARAMS];
	BgbbConsts	c;
	double		x = PG_GETARG_FLOAT8(1),
				t_x = PG_GETARG_FLOAT8(2),
				n = PG_GETARG_FLOAT8(3);

	crm_model_params(fcinfo, 0, BGBB_PARAMS, p);
	check_bgbb_summary(x, t_x, n);
	bgbb_consts(p, false, &c);
	PG_RETURN_FLOAT8(crm_model_result(bgbb_alive(&c, x, t_x, n,
												 customer_loglik(&c, x, t_x, n, NULL))));
}

/* P(alive) at the next opportunity at parameters p (CrmAlive) */
static double
alive_of(const double *p, double x, double t_x, double n)
{
	BgbbConsts	c;

	bgbb_consts(p, false, &c);
	return bgbb_alive(&c, x, t_x, n, customer_loglik(&c, x, t_x, n, NULL));
}

/*
 * crm_bgbb_p_alive_interval(model, frequency, recency, opportunities, level)
 */
PG_FUNCTION_INFO_V1(crm_bgbb_p_alive_interval);
Datum
crm_bgbb_p_alive_interval(PG_FUNCTION_ARGS)
{
	check_bgbb_summary(PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
	return crm_alive_interval(fcinfo, BGBB_PARAMS, alive_of);
}

/*
 * crm_bgbb_expected(model, future_opportunities, frequency, recency,
 * opportunities): expected opportunities taken among the next n* (FHB
 * 2010, eq. 13):
 *
 *	E = B(alpha+x+1, beta+n-x)/B(alpha, beta) delta/(gamma-1)
 *		G(gamma+delta)/G(1+delta)
 *		[G(1+delta+n)/G(gamma+delta+n) - G(1+delta+n+n*)/G(gamma+delta+n+n*)] / L
 *
 * gamma = 1 is the form's removable singularity, not handled.
 */
static double
bgbb_expected(const double *p, double future, double x, double t_x, double n)
{
	BgbbConsts	c;
	double		head,
				ratio_now,
				ratio_then;

	crm_check_whole("future_opportunities", future, 0, BGBB_MAX_OPPORTUNITIES);
	check_bgbb_summary(x, t_x, n);
	bgbb_consts(p, false, &c);
	if (c.gamma == 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected opportunities taken need gamma != 1")));
	if (future == 0)
		return 0;
	head = crm_log_beta(c.alpha + x + 1, c.beta + n - x) - c.log_b_ab
		+ lgamma(c.gamma + c.delta) - lgamma(1 + c.delta)
		- customer_loglik(&c, x, t_x, n, NULL);
	ratio_now = exp(head + lgamma(1 + c.delta + n) - lgamma(c.gamma + c.delta + n));
	ratio_then = exp(head + lgamma(1 + c.delta + n + future) -
					 lgamma(c.gamma + c.delta + n + future));
	return crm_model_result(c.delta / (c.gamma - 1) * (ratio_now - ratio_then));
}

PG_FUNCTION_INFO_V1(crm_bgbb_expected);
Datum
crm_bgbb_expected(PG_FUNCTION_ARGS)
{
	double		p[BGBB_PARAMS];

	crm_model_params(fcinfo, 0, BGBB_PARAMS, p);
	PG_RETURN_FLOAT8(bgbb_expected(p, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
								   PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4)));
}

/* The customer and future of an interval of expected opportunities taken */
typedef struct OpportunityQuery
{
	double		future,
				x,
				t_x,
				n;
} OpportunityQuery;

static double
expected_at(const double *p, void *arg)
{
	OpportunityQuery *q = arg;

	return bgbb_expected(p, q->future, q->x, q->t_x, q->n);
}

/*
 * crm_bgbb_expected_interval(model, future_opportunities, frequency,
 * recency, opportunities, level): expected opportunities taken with an
 * interval from the uncertainty of the model's parameters
 */
PG_FUNCTION_INFO_V1(crm_bgbb_expected_interval);
Datum
crm_bgbb_expected_interval(PG_FUNCTION_ARGS)
{
	OpportunityQuery q = {PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
	PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4)};

	return crm_model_interval(fcinfo, BGBB_PARAMS, expected_at, &q, 5);
}

/*
 * crm_bgbb_p_purchases_new(model, n, opportunities): probability that a
 * new customer takes exactly n of the first opportunities after the first
 * purchase (FHB 2010, eq. 8): alive through all of them and n taken of
 * them, or gone just before opportunity i + 1 and n taken of the first i,
 *
 *	P(X = n) = C(m, n) B(alpha+n, beta+m-n)/B(alpha, beta)
 *				 B(gamma, delta+m)/B(gamma, delta)
 *			 + sum_{i=n}^{m-1} C(i, n) B(alpha+n, beta+i-n)/B(alpha, beta)
 *				 B(gamma+1, delta+i)/B(gamma, delta)
 *
 * for m opportunities.  The terms are added as exponentials relative to
 * the largest so far, so that a probability far below the smallest double
 * of any one term keeps its digits.
 */
/*
 * Add e^term to a sum kept as e^top * sum, top the largest term so far:
 * the running log-sum-exp of the P(X = n) series below
 */
static inline void
log_sum_add(double *top, double *sum, double term)
{
	if (term > *top)
	{
		*sum = *sum * exp(*top - term) + 1;
		*top = term;
	}
	else
		*sum += exp(term - *top);
}

static double
log_purchases_term(const BgbbConsts *c, double n, double m, double g)
{
	return lgamma(m + 1) - lgamma(n + 1) - lgamma(m - n + 1)
		+ crm_log_beta(c->alpha + n, c->beta + m - n) - c->log_b_ab
		+ crm_log_beta(g, c->delta + m) - c->log_b_gd;
}

PG_FUNCTION_INFO_V1(crm_bgbb_p_purchases_new);
Datum
crm_bgbb_p_purchases_new(PG_FUNCTION_ARGS)
{
	double		p[BGBB_PARAMS];
	BgbbConsts	c;
	double		n = PG_GETARG_FLOAT8(1),
				m = PG_GETARG_FLOAT8(2);
	double		top,
				sum;

	crm_model_params(fcinfo, 0, BGBB_PARAMS, p);
	crm_check_whole("n", n, 0, BGBB_MAX_OPPORTUNITIES);
	crm_check_whole("opportunities", m, 0, BGBB_MAX_OPPORTUNITIES);
	if (n > m)
		PG_RETURN_FLOAT8(0);
	bgbb_consts(p, false, &c);
	top = log_purchases_term(&c, n, m, c.gamma);
	sum = 1;
	for (double i = n; i < m; i++)
	{
		log_sum_add(&top, &sum, log_purchases_term(&c, n, i, c.gamma + 1));
		if (fmod(i, 65536) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_FLOAT8(crm_model_result(Min(1.0, exp(top + log(sum)))));
}

/*
 * crm_bgbb_p_purchases(model, n, future_opportunities, frequency, recency,
 * opportunities): probability that a customer with this history takes
 * exactly n of the next n* opportunities.  A customer alive through the m
 * opportunities seen stays for i of the next ones and leaves (i < n*), or
 * stays for all of them, taking each with probability p; one gone before
 * (the other terms of L) takes none.  With the expectations over p and
 * theta of each case,
 *
 *	P(X* = n) = { sum_{i=n}^{n*-1} C(i, n) B(alpha+x+n, beta+m-x+i-n)/B(alpha, beta)
 *								   B(gamma+1, delta+m+i)/B(gamma, delta)
 *				+ C(n*, n) B(alpha+x+n, beta+m-x+n*-n)/B(alpha, beta)
 *						   B(gamma, delta+m+n*)/B(gamma, delta)
 *				+ [n = 0] (L - B(alpha+x, beta+m-x)/B(alpha, beta)
 *							   B(gamma, delta+m)/B(gamma, delta)) } / L
 *
 * added as exponentials relative to the largest term, as L itself is.
 */
/* A customer with a history, and n of the next n* opportunities */
typedef struct FutureQuery
{
	double		n,
				future,
				x,
				t_x,
				m;
} FutureQuery;

/* The query in the calling function's arguments 1 to 5, checked */
static FutureQuery
future_query(FunctionCallInfo fcinfo)
{
	FutureQuery q = {PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3),
	PG_GETARG_FLOAT8(4), PG_GETARG_FLOAT8(5)};

	crm_check_whole("n", q.n, 0, BGBB_MAX_OPPORTUNITIES);
	crm_check_whole("future_opportunities", q.future, 0, BGBB_MAX_OPPORTUNITIES);
	check_bgbb_summary(q.x, q.t_x, q.m);
	return q;
}

/* P(X* = n) of the query at parameters p (CrmPrediction) */
static double
future_purchases_at(const double *p, void *arg)
{
	FutureQuery *q = arg;
	BgbbConsts	c;
	double		n = q->n,
				future = q->future,
				x = q->x,
				t_x = q->t_x,
				m = q->m;
	double		log_l,
				top,
				sum;

	if (n > future)
		return 0;
	bgbb_consts(p, false, &c);
	log_l = customer_loglik(&c, x, t_x, m, NULL);

	/* alive through all n* future opportunities */
	top = lgamma(future + 1) - lgamma(n + 1) - lgamma(future - n + 1)
		+ crm_log_beta(c.alpha + x + n, c.beta + m - x + future - n) - c.log_b_ab
		+ crm_log_beta(c.gamma, c.delta + m + future) - c.log_b_gd;
	sum = 1;
	/* alive through m + i, gone before opportunity m + i + 1 */
	for (double i = n; i < future; i++)
	{
		double		term = lgamma(i + 1) - lgamma(n + 1) - lgamma(i - n + 1)
			+ crm_log_beta(c.alpha + x + n, c.beta + m - x + i - n) - c.log_b_ab
			+ crm_log_beta(c.gamma + 1, c.delta + m + i) - c.log_b_gd;

		log_sum_add(&top, &sum, term);
		if (fmod(i, 65536) == 0)
			CHECK_FOR_INTERRUPTS();
	}
	if (n == 0)
	{
		/* gone before the opportunities to come: L less its first term */
		double		gone = log_l + log1p(-exp(log_term(&c, x, t_x, m, -1, NULL) - log_l));

		if (isfinite(gone))
			log_sum_add(&top, &sum, gone);
	}
	return crm_model_result(Min(1.0, exp(top + log(sum) - log_l)));
}

PG_FUNCTION_INFO_V1(crm_bgbb_p_purchases);
Datum
crm_bgbb_p_purchases(PG_FUNCTION_ARGS)
{
	double		p[BGBB_PARAMS];
	FutureQuery q;

	crm_model_params(fcinfo, 0, BGBB_PARAMS, p);
	q = future_query(fcinfo);
	PG_RETURN_FLOAT8(future_purchases_at(p, &q));
}

/*
 * crm_bgbb_p_purchases_interval(model, n, future_opportunities, frequency,
 * recency, opportunities, level): with an interval from the uncertainty of
 * the model's parameters
 */
PG_FUNCTION_INFO_V1(crm_bgbb_p_purchases_interval);
Datum
crm_bgbb_p_purchases_interval(PG_FUNCTION_ARGS)
{
	FutureQuery q = future_query(fcinfo);

	return crm_model_interval(fcinfo, BGBB_PARAMS, future_purchases_at, &q, 6);
}
