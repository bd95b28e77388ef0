/*
 * clv_predict.c
 *		Predicted customer lifetime value from a BG/NBD or Pareto/NBD
 *		purchase model and a Gamma-Gamma spend model, with the semantics of
 *		lifetimes' customer_lifetime_value.
 *
 * Over periods discount periods of period_length model time units each
 * (a month is 4.345 weeks for a model fitted in weeks; lifetimes' freq
 * and its month of 30 days for daily models), the value is
 *
 *	CLV = sum_{i=1..periods} E(M) [E(Y(i L)) - E(Y((i-1) L))] / (1 + d)^i
 *
 * with E(Y(t)) the expected purchases by t (crm_bgnbd_expected or
 * crm_paretonbd_expected),
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
typedef double (*AliveProbability) (const double *p, double x, double t_x,
									double T);
typedef double (*ExpectedIfAlive) (const double *p, double h, double x,
								   double t_x, double T);

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
	double		x = PG_GETARG_FLOAT8(2),
				t_x = PG_GETARG_FLOAT8(3),
				T = PG_GETARG_FLOAT8(4),
				m = PG_GETARG_FLOAT8(5);
	int32		periods = PG_GETARG_INT32(6);
	double		d = PG_GETARG_FLOAT8(7);
	double		length = PG_GETARG_FLOAT8(8);
	double		value;
	double		clv = 0;
	double		before = 0;
	double		p_alive = 0;

	crm_model_params(fcinfo, 0, 4, purchases);
	crm_model_params(fcinfo, 1, 3, gammagamma);
	if (periods < 0 || periods > MAX_PERIODS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("periods must be between 0 and %d", MAX_PERIODS),
				 errdetail("The value was %d.", periods)));
	crm_check_finite("discount_rate", d);
	if (d <= -1)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("discount_rate must be greater than -1"),
				 errdetail("The value was %g.", d)));
	crm_check_finite("period_length", length);
	if (length <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("period_length must be positive"),
				 errdetail("The value was %g.", length)));

	value = crm_gammagamma_expected_value(gammagamma, x, m);
	for (int32 i = 1; i <= periods; i++)
	{
		double		by_now = expected(purchases, i * length, x, t_x, T);

		if (i == 1)
			p_alive = alive(purchases, x, t_x, T);
		by_now = crm_model_result(by_now * p_alive);

		CHECK_FOR_INTERRUPTS();
		clv += value * (by_now - before) / pow(1 + d, i);
		before = by_now;
	}
	return crm_model_result(clv);
}

/* crm_clv_predict(bgnbd, gammagamma, ...) */
PG_FUNCTION_INFO_V1(crm_clv_predict);
Datum
crm_clv_predict(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(clv_predict(fcinfo, crm_bgnbd_alive, crm_bgnbd_expected_alive));
}

/* crm_clv_predict(paretonbd, gammagamma, ...) */
PG_FUNCTION_INFO_V1(crm_clv_predict_paretonbd);
Datum
crm_clv_predict_paretonbd(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(clv_predict(fcinfo, crm_paretonbd_alive,
								 crm_paretonbd_expected_alive));
}
