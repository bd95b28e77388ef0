/*
 * gammagamma.c
 *		The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee
 *		2005, "RFM and CLV"; Colombo & Jiang 1999): fitting by maximum
 *		likelihood in an aggregate.
 *
 * A customer's transaction values are Gamma(p, nu) around their own mean;
 * nu ~ Gamma(q, gamma) across customers.  A customer with x > 0 repeat
 * transactions of average value m contributes, in logs,
 *
 *	ln L = ln G(px + q) - ln G(px) - ln G(q) + q ln gamma
 *		   + (px - 1) ln m + px ln x - (px + q) ln(gamma + x m)
 *
 * Customers without repeat transactions, or whose average is not positive
 * (free orders, refunds), carry no information the model can use and are
 * left out (kept with weight 0, so that data where nobody bought again is
 * reported as such).
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"

#include "crm.h"
#include "models.h"
#include "specfun.h"

#define GAMMAGAMMA_PARAMS 3

/*
 * Sum of the weighted log-likelihoods of the rows (x, m), and its gradient
 * in params = (p, q, gamma) when grad is not NULL; the log-gammas and
 * digammas of px and px + q once per distinct x (the rows come sorted by
 * x).  Rows of weight 0 (x = 0) are left out.
 */
double
crm_gammagamma_loglik(const double *params, const WeightedRows *rows,
					  double *grad, void *arg)
{
	double		p = params[0],
				q = params[1],
				gamma = params[2];
	double		head_0 = -lgamma(q) + q * log(gamma);
	double		psi_q = grad ? crm_digamma(q) : 0;
	double		x = NAN,
				px = 0,
				head = 0,
				log_x = 0,
				psi_pxq = 0,
				psi_px = 0;
	double		sum = 0;
	double		g[GAMMAGAMMA_PARAMS] = {0};

	for (int64 i = 0; i < rows->nrows; i++)
	{
		const WeightedRow *row = crm_wrow(rows, i);
		double		w = row->weight;
		double		m = row->v[1];
		double		log_m,
					log_total;

		if (w == 0)
			continue;
		if (row->v[0] != x)
		{
			x = row->v[0];
			px = p * x;
			log_x = log(x);
			head = head_0 + lgamma(px + q) - lgamma(px) + px * log_x;
			if (grad)
			{
				psi_pxq = crm_digamma(px + q);
				psi_px = crm_digamma(px);
			}
		}
		log_m = log(m);
		log_total = log(gamma + x * m);
		sum += w * (head + (px - 1) * log_m - (px + q) * log_total);
		if (grad)
		{
			g[0] += w * x * (psi_pxq - psi_px + log_m + log_x - log_total);
			g[1] += w * (psi_pxq - psi_q + log(gamma) - log_total);
			g[2] += w * (q / gamma - (px + q) / (gamma + x * m));
		}
	}
	if (grad)
		memcpy(grad, g, sizeof(g));
	return sum;
}

/*
 * crm_gammagamma_accum(state, frequency, avg_value [, penalizer])
 */
PG_FUNCTION_INFO_V1(crm_gammagamma_accum);
Datum
crm_gammagamma_accum(PG_FUNCTION_ARGS)
{
	CrmAggState *agg;
	WeightedRows *state = crm_fit_state(fcinfo, 2, "crm_gammagamma_accum", &agg);
	double		v[2];

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_CRM_AGG_STATE(agg);
	v[0] = PG_GETARG_FLOAT8(1);
	v[1] = PG_GETARG_FLOAT8(2);
	crm_check_frequency(v[0]);
	crm_check_finite("avg_value", v[1]);
	/* no repeat purchase, or no positive spend: nothing to learn from */
	if (v[0] == 0 || v[1] <= 0)
	{
		v[0] = v[1] = 0;
		crm_wrows_add(state, v, 0, CrmAggStateContext(agg));
		PG_RETURN_CRM_AGG_STATE(agg);
	}
	crm_wrows_add(state, v, 1.0, CrmAggStateContext(agg));
	PG_RETURN_CRM_AGG_STATE(agg);
}

/*
 * crm_gammagamma_final(state) -> crm_gammagamma_model
 */
PG_FUNCTION_INFO_V1(crm_gammagamma_final);
Datum
crm_gammagamma_final(PG_FUNCTION_ARGS)
{
	WeightedRows *rows;

	rows = crm_fit_rows(fcinfo, 2, "crm_gammagamma_final");
	if (rows == NULL || rows->nrows == 0)
		PG_RETURN_NULL();
	return crm_fit_model(fcinfo, rows, GAMMAGAMMA_PARAMS, crm_gammagamma_loglik);
}

/*
 * crm_gammagamma_expected(model, frequency, avg_value): expected average
 * value of a customer's transactions given x repeat transactions of average
 * m (Fader, Hardie & Lee 2005, "RFM and CLV", eq. 5):
 *
 *	E(M | x, m) = p (gamma + x m) / (p x + q - 1)
 *
 * a weighted mean of the population mean p gamma / (q - 1) and the
 * customer's own m; for x = 0, the population mean.  Needs p x + q > 1.
 */
double
crm_gammagamma_expected_value(const double *params, double x, double m)
{
	crm_check_frequency(x);
	crm_check_finite("avg_value", m);
	if (x == 0)
		m = 0;
	else if (m < 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("avg_value must not be negative"),
				 errdetail("The value was %g.", m)));
	if (params[0] * x + params[1] <= 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the expected value needs p * frequency + q > 1"),
				 errdetail("p was %g, q %g, frequency %g.", params[0], params[1], x)));
	return crm_model_result(params[0] * (params[2] + x * m) / (params[0] * x + params[1] - 1));
}

PG_FUNCTION_INFO_V1(crm_gammagamma_expected);
Datum
crm_gammagamma_expected(PG_FUNCTION_ARGS)
{
	double		params[GAMMAGAMMA_PARAMS];

	crm_model_params(fcinfo, 0, GAMMAGAMMA_PARAMS, params);
	PG_RETURN_FLOAT8(crm_gammagamma_expected_value(params, PG_GETARG_FLOAT8(1),
												   PG_GETARG_FLOAT8(2)));
}
