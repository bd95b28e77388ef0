/*
 * bgnbd.c
 *		The BG/NBD model (Fader, Hardie & Lee 2005, "Counting your customers
 *		the easy way"): fitting by maximum likelihood in an aggregate.
 *
 * A customer is summarised by frequency x (repeat purchases), recency t_x
 * (time of the last repeat purchase since the first purchase) and T (time
 * since the first purchase).  While alive, purchases follow a Poisson
 * process with rate lambda ~ Gamma(r, alpha); after each purchase the
 * customer drops out with probability p ~ Beta(a, b).  The likelihood of
 * one customer (FHL 2005, eq. 6), in logs:
 *
 *	ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
 *		   + ln[ (alpha+T)^-(r+x) + [x > 0] a/(b+x-1) (alpha+t_x)^-(r+x) ]
 *
 * The fit (fit.c) maximises the sum over customers, identical summaries
 * merged into weights (weighted_rows.c).
 *
 * MBG/NBD (Batislam, Denizel & Filiztekin 2007) lets a customer drop out
 * at the first purchase too, so that one who never came back may be gone:
 * the same model with one more chance to drop out, which in every formula
 * is b + 1 where BG/NBD has b (SHIFT_MBG below), and the second term of
 * the likelihood and of P(alive) for every x, not only x > 0:
 *
 *	ln L = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x+1) - ln B(a, b)
 *		   + ln[ (alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x) ]
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"

#include "crm.h"
#include "models.h"
#include "specfun.h"
#include "weighted_rows.h"

/* What the MBG/NBD formulas add to b; 0 for BG/NBD */
#define SHIFT_BG 0
#define SHIFT_MBG 1

/*
 * Ensure a frequency is a count of repeat purchases
 */
void
crm_check_frequency(double frequency)
{
	crm_check_range("frequency", frequency, 0, CRM_MAX_SUMMARY);
	if (frequency != floor(frequency))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("frequency must be a whole number of repeat purchases, at least 0"),
				 errdetail("The value was %g.", frequency)));
}

/*
 * Ensure a customer summary (frequency, recency, t) is one the models can
 * describe
 */
void
crm_check_summary(double frequency, double recency, double t)
{
	/* the usual case in one test (NaN fails every comparison) */
	if (frequency >= 0 && frequency <= CRM_MAX_SUMMARY &&
		frequency == floor(frequency) && recency >= 0 && recency <= t &&
		t <= CRM_MAX_SUMMARY && (frequency > 0 || recency == 0))
		return;
	crm_check_frequency(frequency);
	crm_check_range("recency", recency, 0, CRM_MAX_SUMMARY);
	crm_check_range("t", t, 0, CRM_MAX_SUMMARY);
	if (recency > t)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency must not exceed t"),
				 errdetail("recency was %g, t %g.", recency, t)));
	if (frequency == 0 && recency != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("recency must be 0 for a customer without repeat purchases"),
				 errdetail("recency was %g.", recency)));
}

/*
 * ln G(v+n) - ln G(v) for a whole n >= 0, and with dpsi not NULL
 * psi(v+n) - psi(v): while n is small, as the log of the product of
 * v, v+1, .., v+n-1 and the sum of their reciprocals -- exact, and far
 * cheaper than log-gammas and digammas, which take over beyond.  (The
 * product of RISING_TERMS factors below e^40 each, the optimiser's wall,
 * stays inside double range.)
 */
#define RISING_TERMS 16

static inline double
log_rising(double v, double n, double *dpsi)
{
	if (n <= RISING_TERMS)
	{
		double		product = 1,
					reciprocals = 0;

		for (int k = 0; k < n; k++)
		{
			product *= v + k;
			reciprocals += 1 / (v + k);
		}
		if (dpsi)
			*dpsi = reciprocals;
		return log(product);
	}
	if (dpsi)
		*dpsi = crm_digamma(v + n) - crm_digamma(v);
	return lgamma(v + n) - lgamma(v);
}

/*
 * Sum of the weighted BG/NBD (shift 0) or MBG/NBD (shift 1) log-likelihoods
 * of the rows (x, t_x, T), and its gradient in p = (r, alpha, a, b) when
 * grad is not NULL.
 *
 * The terms that depend on x alone -- ln G(r+x) - ln G(r) and
 * ln B(a, b+x) - ln B(a, b), rising factorials of r, b and a+b, and for
 * the gradient their digamma differences -- are worked out once per
 * distinct x, and ln(alpha+T) once per distinct T within it: the rows come
 * sorted by x, then T.  (A covariate fit passes one customer at a time
 * when covariates differ, and then most customers' x are small: no
 * log-gamma is needed.)  Per row, the last term is ln(e^A + e^B) with
 * A = -(r+x) ln(alpha+T) and B = ln a - ln(b+x-1+shift) - (r+x) ln(alpha+t_x);
 * its derivatives are those of A and B weighted by e^A and e^B over their
 * sum.
 */
static double
beta_geometric_loglik(const double *p, const WeightedRows *rows, double *grad,
					  int shift)
{
	double		r = p[0],
				alpha = p[1],
				a = p[2],
				b = p[3];
	double		log_alpha = log(alpha),
				log_a = log(a);
	double		head_0 = r * log_alpha;
	double		x = NAN,
				T = NAN,
				head = 0,
				log_T = 0,
				log_c = 0,
				inv_bx1 = 0;
	double		dhead[BGNBD_PARAMS] = {0};
	double		sum = 0;
	double		g[BGNBD_PARAMS] = {0};

	for (int64 i = 0; i < rows->nrows; i++)
	{
		const WeightedRow *row = crm_wrow(rows, i);
		double		w = row->weight;
		double		t_x = row->v[SUMMARY_T_X];
		double		rx,
					ll;

		if (row->v[SUMMARY_X] != x)
		{
			double		d_r,
						d_b,
						d_ab;

			x = row->v[SUMMARY_X];
			T = NAN;
			head = head_0 + log_rising(r, x, grad ? &d_r : NULL) +
				log_rising(b, x + shift, grad ? &d_b : NULL) -
				log_rising(a + b, x + shift, grad ? &d_ab : NULL);
			if (x > 0 || shift)
			{
				log_c = log_a - log(b + x - 1 + shift);
				inv_bx1 = 1 / (b + x - 1 + shift);
			}
			if (grad)
			{
				dhead[0] = d_r + log_alpha;
				dhead[1] = r / alpha;
				dhead[2] = -d_ab;
				dhead[3] = d_b - d_ab;
			}
		}
		rx = r + x;
		if (row->v[SUMMARY_T] != T)
		{
			T = row->v[SUMMARY_T];
			log_T = log(alpha + T);
		}
		if (x == 0 && !shift)
		{
			sum += w * (head - rx * log_T);
			if (grad)
			{
				g[0] += w * (dhead[0] - log_T);
				g[1] += w * (dhead[1] - rx / (alpha + T));
				g[2] += w * dhead[2];
				g[3] += w * dhead[3];
			}
			continue;
		}
		{
			double		log_t = log(alpha + t_x);
			double		A = -rx * log_T;
			double		B = log_c - rx * log_t;
			double		share_b;	/* e^B / (e^A + e^B) */

			ll = crm_log_add_share(A, B, &share_b);
			sum += w * (head + ll);
			if (grad)
			{
				double		share_a = 1 - share_b;

				g[0] += w * (dhead[0] - share_a * log_T - share_b * log_t);
				g[1] += w * (dhead[1] - rx * (share_a / (alpha + T) +
											  share_b / (alpha + t_x)));
				g[2] += w * (dhead[2] + share_b / a);
				g[3] += w * (dhead[3] - share_b * inv_bx1);
			}
		}
	}
	if (grad)
		memcpy(grad, g, sizeof(g));
	return sum;
}

double
crm_bgnbd_loglik(const double *p, const WeightedRows *rows, double *grad,
				 void *arg)
{
	return beta_geometric_loglik(p, rows, grad, SHIFT_BG);
}

double
crm_mbgnbd_loglik(const double *p, const WeightedRows *rows, double *grad,
				  void *arg)
{
	return beta_geometric_loglik(p, rows, grad, SHIFT_MBG);
}

/*
 * Add the customer summary (frequency, recency, t) in arguments 1 to 3,
 * checked, to state as row v, whose numbers after the summary (a covariate
 * fit's) are filled in
 */
void
crm_add_summary(FunctionCallInfo fcinfo, WeightedRows *state, CrmAggState *agg,
				double *v)
{
	v[SUMMARY_X] = PG_GETARG_FLOAT8(1);
	v[SUMMARY_T_X] = PG_GETARG_FLOAT8(2);
	v[SUMMARY_T] = PG_GETARG_FLOAT8(3);
	crm_check_summary(v[SUMMARY_X], v[SUMMARY_T_X], v[SUMMARY_T]);
	crm_wrows_add(state, v, 1.0, CrmAggStateContext(agg));
}

/*
 * crm_fit_summary_accum(state, frequency, recency, t [, penalizer])
 */
PG_FUNCTION_INFO_V1(crm_fit_summary_accum);
Datum
crm_fit_summary_accum(PG_FUNCTION_ARGS)
{
	CrmAggState *agg;
	WeightedRows *state = crm_fit_state(fcinfo, 3, "crm_fit_summary_accum", &agg);
	double		v[3];

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_CRM_AGG_STATE(agg);
	crm_add_summary(fcinfo, state, agg, v);
	PG_RETURN_CRM_AGG_STATE(agg);
}

/*
 * crm_bgnbd_final(state) -> crm_bgnbd_model
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_final);
Datum
crm_bgnbd_final(PG_FUNCTION_ARGS)
{
	WeightedRows *rows;

	rows = crm_fit_rows(fcinfo, 3, "crm_bgnbd_final");
	if (rows == NULL || rows->customers == 0)
		PG_RETURN_NULL();
	return crm_fit_model(fcinfo, rows, BGNBD_PARAMS, crm_bgnbd_loglik);
}

/*
 * crm_mbgnbd_final(state) -> crm_mbgnbd_model
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_final);
Datum
crm_mbgnbd_final(PG_FUNCTION_ARGS)
{
	WeightedRows *rows;

	rows = crm_fit_rows(fcinfo, 3, "crm_mbgnbd_final");
	if (rows == NULL || rows->customers == 0)
		PG_RETURN_NULL();
	return crm_fit_model(fcinfo, rows, BGNBD_PARAMS, crm_mbgnbd_loglik);
}

/*
 * Probability that a customer with this history is still alive at t (FHL
 * 2005, eq. 11 and the note after it):
 *
 *	P(alive) = 1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
 *
 * The power may overflow for a long silence after many purchases; the
 * probability is then 0, as it is to double precision.
 */
static double
beta_geometric_alive(const double *p, double x, double t_x, double T, int shift)
{
	double		r = p[0],
				alpha = p[1],
				a = p[2],
				b = p[3];

	if (x == 0 && !shift)
		return 1;
	return 1 / (1 + a / (b + x - 1 + shift) * pow((alpha + T) / (alpha + t_x), r + x));
}

double
crm_bgnbd_alive(const double *p, double x, double t_x, double T)
{
	return beta_geometric_alive(p, x, t_x, T, SHIFT_BG);
}

/* The same for MBG/NBD: 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)) */
double
crm_mbgnbd_alive(const double *p, double x, double t_x, double T)
{
	return beta_geometric_alive(p, x, t_x, T, SHIFT_MBG);
}

/* P(alive) of the summary in arguments 1 to 3, for the model in argument 0 */
static Datum
p_alive(FunctionCallInfo fcinfo, int shift)
{
	double		p[BGNBD_PARAMS];
	double		x = PG_GETARG_FLOAT8(1),
				t_x = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);

	crm_model_params(fcinfo, 0, BGNBD_PARAMS, p);
	crm_check_summary(x, t_x, T);
	PG_RETURN_FLOAT8(crm_model_result(beta_geometric_alive(p, x, t_x, T, shift)));
}

/*
 * crm_bgnbd_p_alive(model, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_p_alive);
Datum
crm_bgnbd_p_alive(PG_FUNCTION_ARGS)
{
	return p_alive(fcinfo, SHIFT_BG);
}

/*
 * crm_mbgnbd_p_alive(model, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_p_alive);
Datum
crm_mbgnbd_p_alive(PG_FUNCTION_ARGS)
{
	return p_alive(fcinfo, SHIFT_MBG);
}

/*
 * crm_bgnbd_p_alive_interval(model, frequency, recency, t, level)
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_p_alive_interval);
Datum
crm_bgnbd_p_alive_interval(PG_FUNCTION_ARGS)
{
	crm_check_summary(PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
	return crm_alive_interval(fcinfo, BGNBD_PARAMS, crm_bgnbd_alive);
}

/*
 * crm_mbgnbd_p_alive_interval(model, frequency, recency, t, level)
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_p_alive_interval);
Datum
crm_mbgnbd_p_alive_interval(PG_FUNCTION_ARGS)
{
	crm_check_summary(PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
	return crm_alive_interval(fcinfo, BGNBD_PARAMS, crm_mbgnbd_alive);
}

/*
 * crm_bgnbd_expected(model, horizon, frequency, recency, t): expected
 * purchases in the next horizon time units of a customer with this history
 * (FHL 2005, eq. 10):
 *
 *	E = (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+h))^(r+x)
 *							 2F1(r+x, b+x; a+b+x-1; h/(alpha+T+h))]
 *		/ (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))
 *
 * The hypergeometric function needs a + b + x - 1 > 0, and the form
 * a != 1 (a = 1 is its limit, not handled).  The denominator is 1 / P(alive):
 * this is the rest, the expectation of a customer known to be alive.
 * MBG/NBD's is the same with b + 1 for b (Batislam et al. 2007, eq. 7).
 */
static double
beta_geometric_expected_alive(const double *p, double h, double x, double t_x,
							  double T, int shift)
{
	double		r = p[0],
				alpha = p[1],
				a = p[2],
				b = p[3] + shift,
				head,
				tail,
				log_f;

	crm_check_nonnegative("horizon", h);
	crm_check_summary(x, t_x, T);
	if (a == 1 || a + b + x - 1 <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected purchases need a != 1 and a + b + frequency > 1"),
				 errdetail("a was %g, b %g, frequency %g.", a, p[3], x)));
	if (h == 0)
		return 0;
	head = (a + b + x - 1) / (a - 1);
	log_f = crm_log_hyp2f1(r + x, b + x, a + b + x - 1, h / (alpha + T + h),
						   CRM_HYP2F1_SCORING_TERMS);
	if (isnan(log_f))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("expected purchases cannot be computed for these parameters"),
				 errdetail("The hypergeometric series 2F1(%g, %g; %g; %g) would need too many terms.",
						   r + x, b + x, a + b + x - 1, h / (alpha + T + h))));
	tail = exp((r + x) * (log(alpha + T) - log(alpha + T + h)) + log_f);
	return head * (1 - tail);
}

double
crm_bgnbd_expected_alive(const double *p, double h, double x, double t_x,
						 double T)
{
	return beta_geometric_expected_alive(p, h, x, t_x, T, SHIFT_BG);
}

double
crm_mbgnbd_expected_alive(const double *p, double h, double x, double t_x,
						  double T)
{
	return beta_geometric_expected_alive(p, h, x, t_x, T, SHIFT_MBG);
}

/* A customer and horizon of expected purchases, under BG/NBD or MBG/NBD */
typedef struct PurchaseQuery
{
	double		h,
				x,
				t_x,
				T;
	int			shift;
} PurchaseQuery;

/* Expected purchases: expected if alive, times P(alive) */
static double
expected_at(const double *p, void *arg)
{
	PurchaseQuery *q = arg;

	return beta_geometric_expected_alive(p, q->h, q->x, q->t_x, q->T, q->shift) *
		beta_geometric_alive(p, q->x, q->t_x, q->T, q->shift);
}

/* The query of (horizon, frequency, recency, t) in arguments 1 to 4 */
static PurchaseQuery
purchase_query(FunctionCallInfo fcinfo, int shift)
{
	PurchaseQuery q = {PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
	PG_GETARG_FLOAT8(3), PG_GETARG_FLOAT8(4), shift};

	return q;
}

/* Expected purchases of the model in argument 0 and the query */
static Datum
expected_purchases(FunctionCallInfo fcinfo, int shift)
{
	double		p[BGNBD_PARAMS];
	PurchaseQuery q = purchase_query(fcinfo, shift);

	crm_model_params(fcinfo, 0, BGNBD_PARAMS, p);
	PG_RETURN_FLOAT8(crm_model_result(expected_at(p, &q)));
}

/*
 * crm_bgnbd_expected(model, horizon, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_expected);
Datum
crm_bgnbd_expected(PG_FUNCTION_ARGS)
{
	return expected_purchases(fcinfo, SHIFT_BG);
}

/*
 * crm_mbgnbd_expected(model, horizon, frequency, recency, t)
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_expected);
Datum
crm_mbgnbd_expected(PG_FUNCTION_ARGS)
{
	return expected_purchases(fcinfo, SHIFT_MBG);
}

/*
 * Expected purchases with an interval from the uncertainty of the model's
 * parameters: (model, horizon, frequency, recency, t, level)
 */
static Datum
expected_interval(FunctionCallInfo fcinfo, int shift)
{
	PurchaseQuery q = purchase_query(fcinfo, shift);

	return crm_model_interval(fcinfo, BGNBD_PARAMS, expected_at, &q, 5);
}

/*
 * crm_bgnbd_expected_interval(model, horizon, frequency, recency, t, level)
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_expected_interval);
Datum
crm_bgnbd_expected_interval(PG_FUNCTION_ARGS)
{
	return expected_interval(fcinfo, SHIFT_BG);
}

/*
 * crm_mbgnbd_expected_interval(model, horizon, frequency, recency, t, level)
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_expected_interval);
Datum
crm_mbgnbd_expected_interval(PG_FUNCTION_ARGS)
{
	return expected_interval(fcinfo, SHIFT_MBG);
}
