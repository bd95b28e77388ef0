/*
 * sbg.c
 *		The shifted-beta-geometric (sBG) model of subscriptions (Fader &
 *		Hardie 2007, "How to project customer retention"): contracts renewed
 *		period by period, where a customer's leaving is seen.
 *
 * Each customer has a probability theta ~ Beta(alpha, beta) of leaving at
 * the end of each period.  A customer who left in period t (t >= 1) and
 * one still active after t periods have the likelihoods (FH 2007, eq. 5
 * and 6)
 *
 *	P(T = t) = B(alpha+1, beta+t-1) / B(alpha, beta)
 *	S(t)	 = B(alpha, beta+t) / B(alpha, beta)
 *
 * The fit (fit.c) maximises the sum of weight x ln L over the rows, a row
 * standing for as many customers as its weight says: cohort tables come as
 * counts of customers lost per period.
 */
#include "postgres.h"

#include <math.h>

#include "crm.h"
#include "models.h"
#include "specfun.h"
#include "weighted_rows.h"

#define SBG_PARAMS 2

/* Where a subscription sits in a weighted row */
#define SBG_PERIODS 0
#define SBG_CHURNED 1

/* Most periods a customer may have been seen for */
#define SBG_MAX_PERIODS 1e6

/* Most customers one row may stand for */
#define SBG_MAX_CUSTOMERS 1e12

/* Sum of weight x ln L over the rows, and its gradient (CrmLoglik) */
double
crm_sbg_loglik(const double *p, const WeightedRows *rows, double *grad,
			   void *arg)
{
	double		alpha = p[0],
				beta = p[1];
	double		log_b = crm_log_beta(alpha, beta);
	double		psi_a = 0,
				psi_b = 0,
				psi_ab = 0,
				psi_a1 = 0;
	double		sum = 0;
	double		g[SBG_PARAMS] = {0};

	if (grad)
	{
		psi_a = crm_digamma(alpha);
		psi_b = crm_digamma(beta);
		psi_ab = crm_digamma(alpha + beta);
		psi_a1 = crm_digamma(alpha + 1);
	}
	for (int64 i = 0; i < rows->nrows; i++)
	{
		const WeightedRow *row = crm_wrow(rows, i);
		double		w = row->weight;
		double		t = row->v[SBG_PERIODS];

		if (w == 0)
			continue;
		if (row->v[SBG_CHURNED] != 0)
		{
			/* ln B(alpha+1, beta+t-1) - ln B(alpha, beta) */
			sum += w * (crm_log_beta(alpha + 1, beta + t - 1) - log_b);
			if (grad)
			{
				double		psi_abt = crm_digamma(alpha + beta + t);

				g[0] += w * (psi_a1 - psi_abt - psi_a + psi_ab);
				g[1] += w * (crm_digamma(beta + t - 1) - psi_abt - psi_b + psi_ab);
			}
		}
		else
		{
			/* ln B(alpha, beta+t) - ln B(alpha, beta) */
			sum += w * (crm_log_beta(alpha, beta + t) - log_b);
			if (grad)
			{
				double		psi_abt = crm_digamma(alpha + beta + t);

				g[0] += w * (psi_ab - psi_abt);
				g[1] += w * (crm_digamma(beta + t) - psi_abt - psi_b + psi_ab);
			}
		}
	}
	if (grad)
		memcpy(grad, g, sizeof(g));
	return sum;
}

/*
 * crm_sbg_accum(state, periods, churned [, customers])
 *
 * A row with a NULL is skipped; customers (1 when not given) is how many
 * customers the row stands for, a row of 0 customers adds none.
 */
PG_FUNCTION_INFO_V1(crm_sbg_accum);
Datum
crm_sbg_accum(PG_FUNCTION_ARGS)
{
	CrmAggState *agg;
	WeightedRows *state = crm_fit_state_unpenalized(fcinfo, 2, "crm_sbg_accum", &agg);
	double		v[2];
	double		customers = 1;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || (PG_NARGS() > 3 && PG_ARGISNULL(3)))
		PG_RETURN_CRM_AGG_STATE(agg);
	v[SBG_PERIODS] = PG_GETARG_FLOAT8(1);
	v[SBG_CHURNED] = PG_GETARG_BOOL(2) ? 1 : 0;
	/* who left did so in a period: the first at the earliest */
	crm_check_whole("periods", v[SBG_PERIODS], v[SBG_CHURNED], SBG_MAX_PERIODS);
	if (PG_NARGS() > 3)
	{
		customers = (double) PG_GETARG_INT64(3);
		crm_check_range("customers", customers, 0, SBG_MAX_CUSTOMERS);
	}
	if (customers > 0)
		crm_wrows_add(state, v, customers, CrmAggStateContext(agg));
	PG_RETURN_CRM_AGG_STATE(agg);
}

/*
 * crm_sbg_final(state) -> crm_sbg_model
 */
PG_FUNCTION_INFO_V1(crm_sbg_final);
Datum
crm_sbg_final(PG_FUNCTION_ARGS)
{
	WeightedRows *rows;

	rows = crm_fit_rows(fcinfo, 2, "crm_sbg_final");
	if (rows == NULL || rows->customers == 0)
		PG_RETURN_NULL();
	return crm_fit_model(fcinfo, rows, SBG_PARAMS, crm_sbg_loglik);
}

/*
 * crm_sbg_retention_rate(model, period): the share of the customers active
 * at the start of period t who renew at its end (FH 2007, eq. 8)
 *
 *	r(t) = (beta + t - 1) / (alpha + beta + t - 1)
 */
PG_FUNCTION_INFO_V1(crm_sbg_retention_rate);
Datum
crm_sbg_retention_rate(PG_FUNCTION_ARGS)
{
	double		p[SBG_PARAMS];
	double		t = PG_GETARG_FLOAT8(1);

	crm_model_params(fcinfo, 0, SBG_PARAMS, p);
	crm_check_whole("period", t, 1, SBG_MAX_PERIODS);
	PG_RETURN_FLOAT8(crm_model_result((p[1] + t - 1) / (p[0] + p[1] + t - 1)));
}

/*
 * crm_sbg_survival(model, periods): the share of a cohort still active
 * after t periods, S(t) = B(alpha, beta+t) / B(alpha, beta)
 */
PG_FUNCTION_INFO_V1(crm_sbg_survival);
Datum
crm_sbg_survival(PG_FUNCTION_ARGS)
{
	double		p[SBG_PARAMS];
	double		t = PG_GETARG_FLOAT8(1);

	crm_model_params(fcinfo, 0, SBG_PARAMS, p);
	crm_check_whole("periods", t, 0, SBG_MAX_PERIODS);
	PG_RETURN_FLOAT8(crm_model_result(exp(crm_log_beta(p[0], p[1] + t) -
										  crm_log_beta(p[0], p[1]))));
}

/*
 * crm_sbg_residual_lifetime(model, periods, discount_rate): for a customer
 * still active after n periods, the discounted expected number of periods
 * to come (Fader & Hardie 2010's DERL, counting from the next period,
 * undiscounted):
 *
 *	sum over k >= 1 of S(n+k) / S(n) / (1 + d)^(k-1)
 *
 * S(n+k) / S(n) is the product of the retention rates of periods n+1 ..
 * n+k.  The terms fall like k^-alpha / (1+d)^k: summed until a term no
 * longer moves the sum, at most a million.  Without a discount the sum is
 * (beta + n) / (alpha - 1), the mean of 1/theta - 1 under theta's
 * distribution after n periods survived, Beta(alpha, beta + n): finite
 * only for alpha > 1.
 */
PG_FUNCTION_INFO_V1(crm_sbg_residual_lifetime);
Datum
crm_sbg_residual_lifetime(PG_FUNCTION_ARGS)
{
	double		p[SBG_PARAMS];
	double		n = PG_GETARG_FLOAT8(1);
	double		d = PG_GETARG_FLOAT8(2);
	double		alpha,
				beta,
				term = 1,
				sum = 0;
	int			k;

	crm_model_params(fcinfo, 0, SBG_PARAMS, p);
	crm_check_whole("periods", n, 0, SBG_MAX_PERIODS);
	crm_check_nonnegative("discount_rate", d);
	alpha = p[0];
	beta = p[1];
	if (d == 0)
	{
		/* theta given n periods survived is Beta(alpha, beta + n) */
		if (alpha <= 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the undiscounted residual lifetime is infinite for alpha <= 1"),
					 errdetail("alpha was %g.", alpha),
					 errhint("Give a discount rate above 0.")));
		PG_RETURN_FLOAT8(crm_model_result((beta + n) / (alpha - 1)));
	}
	for (k = 1; k <= 1000000; k++)
	{
		/* survive period n+k: r(n+k) = (beta+n+k-1) / (alpha+beta+n+k-1) */
		term *= (beta + n + k - 1) / (alpha + beta + n + k - 1);
		if (k > 1)
			term /= 1 + d;
		sum += term;
		if (term < sum * 1e-16)
			break;
	}
	if (k > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the residual lifetime does not converge within a million periods"),
				 errhint("Give a larger discount rate.")));
	PG_RETURN_FLOAT8(crm_model_result(sum));
}
