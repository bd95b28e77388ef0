/*
 * clv_predict.c
 *		Predicted customer lifetime value from a BG/NBD, MBG/NBD or
 *		Pareto/NBD purchase model and a Gamma-Gamma spend model, with the
 *		semantics of lifetimes' customer_lifetime_value.
 *
 * Over periods discount periods of period_length model time units each
 * (a month is 4.345 weeks for a model fitted in weeks; lifetimes' freq
 * and its month of 30 days for daily models), the value is
 *
 *	CLV = sum_{i=1..periods} E(M) [E(Y(i L)) - E(Y((i-1) L))] / (1 + d)^i
 *
 * with E(Y(t)) the expected purchases by t (crm_bgnbd_expected,
 * crm_mbgnbd_expected or crm_paretonbd_expected),
 * E(M) the Gamma-Gamma expected transaction value, and d the discount rate
 * per period: each period's expected purchases are discounted at the end
 * of that period.
 */
#include "postgres.h"

#include <math.h>

#include "funcapi.h"
#include "miscadmin.h"

#include "crm.h"
#include "models.h"

/* A horizon of more periods than this (833 years of months) is a mistake */
#define MAX_PERIODS 10000

/*
 * A purchase model: P(alive) of a customer with history (x, t_x, T), and
 * their expected purchases by h if alive -- P(alive) does not depend on
 * the horizon, so it is worked out once for all periods
 */
typedef CrmAlive AliveProbability;
typedef double (*ExpectedIfAlive) (const double *p, double h, double x,
								   double t_x, double T);

/* A customer's purchase history, and the periods to value */
typedef struct ClvQuery
{
	AliveProbability alive;
	ExpectedIfAlive expected;
	double		x,
				t_x,
				T;
	int32		periods;
	double		m;				/* average transaction value */
	double		d,				/* discount rate per period */
				length;			/* of a period, in model time units */
} ClvQuery;

/* The query of the calling function's arguments 2 to 8, checked */
static void
clv_query(FunctionCallInfo fcinfo, ClvQuery *q, AliveProbability alive,
		  ExpectedIfAlive expected)
{
	q->alive = alive;
	q->expected = expected;
	q->x = PG_GETARG_FLOAT8(2);
	q->t_x = PG_GETARG_FLOAT8(3);
	q->T = PG_GETARG_FLOAT8(4);
	q->m = PG_GETARG_FLOAT8(5);
	q->periods = PG_GETARG_INT32(6);
	q->d = PG_GETARG_FLOAT8(7);
	q->length = PG_GETARG_FLOAT8(8);
	if (q->periods < 0 || q->periods > MAX_PERIODS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("periods must be between 0 and %d", MAX_PERIODS),
				 errdetail("The value was %d.", q->periods)));
	crm_check_finite("discount_rate", q->d);
	if (q->d <= -1)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("discount_rate must be greater than -1"),
				 errdetail("The value was %g.", q->d)));
	crm_check_finite("period_length", q->length);
	if (q->length <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("period_length must be positive"),
				 errdetail("The value was %g.", q->length)));
}

/*
 * The discounted expected purchases of the query's periods, for purchase
 * model parameters p: what the expected transaction value multiplies
 */
static double
discounted_purchases(const double *p, void *arg)
{
	ClvQuery   *q = arg;
	double		sum = 0;
	double		before = 0;
	double		p_alive = 0;

	for (int32 i = 1; i <= q->periods; i++)
	{
		double		by_now = q->expected(p, i * q->length, q->x, q->t_x, q->T);

		if (i == 1)
			p_alive = q->alive(p, q->x, q->t_x, q->T);
		by_now = crm_model_result(by_now * p_alive);

		CHECK_FOR_INTERRUPTS();
		sum += (by_now - before) / pow(1 + q->d, i);
		before = by_now;
	}
	return sum;
}

/* The expected transaction value, for Gamma-Gamma parameters p */
static double
transaction_value(const double *p, void *arg)
{
	ClvQuery   *q = arg;

	return crm_gammagamma_expected_value(p, q->x, q->m);
}

/*
 * The CLV of the calling function: (purchase model, spend model, x, t_x,
 * T, average value, periods, discount rate, period length)
 */
static double
clv_predict(FunctionCallInfo fcinfo, AliveProbability alive,
			ExpectedIfAlive expected)
{
	double		purchases[4];
	double		gammagamma[3];
	ClvQuery	q;

	crm_model_params(fcinfo, 0, 4, purchases);
	crm_model_params(fcinfo, 1, 3, gammagamma);
	clv_query(fcinfo, &q, alive, expected);
	return crm_model_result(transaction_value(gammagamma, &q) *
							discounted_purchases(purchases, &q));
}

/* crm_clv_predict(bgnbd, gammagamma, ...) */
PG_FUNCTION_INFO_V1(crm_clv_predict);
Datum
crm_clv_predict(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(clv_predict(fcinfo, crm_bgnbd_alive, crm_bgnbd_expected_alive));
}

/* crm_clv_predict(mbgnbd, gammagamma, ...) */
PG_FUNCTION_INFO_V1(crm_clv_predict_mbgnbd);
Datum
crm_clv_predict_mbgnbd(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(clv_predict(fcinfo, crm_mbgnbd_alive, crm_mbgnbd_expected_alive));
}

/* crm_clv_predict(paretonbd, gammagamma, ...) */
PG_FUNCTION_INFO_V1(crm_clv_predict_paretonbd);
Datum
crm_clv_predict_paretonbd(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(clv_predict(fcinfo, crm_paretonbd_alive,
								 crm_paretonbd_expected_alive));
}

/*
 * The CLV as a function of both models' parameters, the purchase model's
 * first: what an interval varies.  Varying a Gamma-Gamma parameter leaves
 * the discounted purchases, the costly part, as they were: they are
 * remembered for the last purchase parameters.
 */
typedef struct ClvJoint
{
	ClvQuery	query;
	double		purchases[4];
	double		sum;			/* discounted purchases at purchases[] */
} ClvJoint;

static double
joint_clv(const double *p, void *arg)
{
	ClvJoint   *joint = arg;

	if (memcmp(p, joint->purchases, sizeof(joint->purchases)) != 0)
	{
		joint->sum = discounted_purchases(p, &joint->query);
		memcpy(joint->purchases, p, sizeof(joint->purchases));
	}
	return transaction_value(p + 4, &joint->query) * joint->sum;
}

/*
 * The CLV with an interval from the uncertainty of both models'
 * parameters: (the arguments of clv_predict, level).  The two models are
 * fitted separately, so their parameters are independent: the covariance
 * of all seven is block-diagonal.
 */
static Datum
clv_predict_interval(FunctionCallInfo fcinfo, AliveProbability alive,
					 ExpectedIfAlive expected)
{
	double		p[7];
	double		cov[7 * 7] = {0};
	double		purchases_cov[4 * 4];
	double		gammagamma_cov[3 * 3];
	ClvJoint	joint;

	crm_model_params_cov(fcinfo, 0, 4, p, purchases_cov);
	crm_model_params_cov(fcinfo, 1, 3, p + 4, gammagamma_cov);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			cov[i * 7 + j] = purchases_cov[i * 4 + j];
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			cov[(i + 4) * 7 + j + 4] = gammagamma_cov[i * 3 + j];
	clv_query(fcinfo, &joint.query, alive, expected);
	joint.sum = discounted_purchases(p, &joint.query);
	memcpy(joint.purchases, p, sizeof(joint.purchases));
	return crm_interval_result(fcinfo, joint_clv, &joint, p, cov, 7,
							   crm_model_result(joint_clv(p, &joint)), 9);
}

/* crm_clv_predict_interval(bgnbd, gammagamma, ..., level) */
PG_FUNCTION_INFO_V1(crm_clv_predict_interval);
Datum
crm_clv_predict_interval(PG_FUNCTION_ARGS)
{
	return clv_predict_interval(fcinfo, crm_bgnbd_alive, crm_bgnbd_expected_alive);
}

/* crm_clv_predict_interval(mbgnbd, gammagamma, ..., level) */
PG_FUNCTION_INFO_V1(crm_clv_predict_interval_mbgnbd);
Datum
crm_clv_predict_interval_mbgnbd(PG_FUNCTION_ARGS)
{
	return clv_predict_interval(fcinfo, crm_mbgnbd_alive, crm_mbgnbd_expected_alive);
}

/* crm_clv_predict_interval(paretonbd, gammagamma, ..., level) */
PG_FUNCTION_INFO_V1(crm_clv_predict_interval_paretonbd);
Datum
crm_clv_predict_interval_paretonbd(PG_FUNCTION_ARGS)
{
	return clv_predict_interval(fcinfo, crm_paretonbd_alive,
								crm_paretonbd_expected_alive);
}
