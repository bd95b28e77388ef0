/*
 * uncertainty.c
 *		How sure a fitted model is: the standard errors and confidence
 *		intervals of its parameters (crm_model_parameters), and intervals
 *		for the predictions made with it.
 *
 * Every fit stores the asymptotic covariance of its parameters, the
 * inverse of the observed information at the optimum (fit.c).  The fits
 * work on the logarithms of the parameters, where the likelihood is
 * closer to a normal shape and every value is allowed, and so do the
 * intervals here: a parameter's interval is exp(ln p -+ z se / p), and
 * a prediction's is f at the two points, z standard deviations away along
 * the direction in which f changes most (crm_prediction_interval).  Both
 * stay positive, as the quantities are, and are asymmetric, as their
 * uncertainty is.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "crm.h"
#include "models.h"
#include "optim.h"
#include "specfun.h"

/* z of a two-sided 95% interval */
#define Z_95 1.959963984540054

/*
 * Step in the log-parameters of the central differences of a prediction:
 * the predictions are smooth, and the direction of their steepest change
 * is needed to a few digits only
 */
#define LOG_STEP 1e-4

/*
 * The number of positive parameters of a crm model type, 0 if tupdesc is
 * not one: positive float8 parameters, then for a covariate model the
 * float8[] purchase_coefficients and dropout_coefficients (*coefficients
 * set), then the MODEL_FIELDS in order
 */
static int
model_layout(TupleDesc tupdesc, bool *coefficients)
{
	static const char *const names[MODEL_FIELDS] = {
		"log_likelihood", "customers", "iterations", "converged", "aic",
		"bic", "covariance"
	};
	static const Oid types[MODEL_FIELDS] = {
		FLOAT8OID, INT8OID, INT4OID, BOOLOID, FLOAT8OID, FLOAT8OID,
		FLOAT8ARRAYOID
	};
	int			nbase = 0;
	int			first_field;

	while (nbase < tupdesc->natts &&
		   TupleDescAttr(tupdesc, nbase)->atttypid == FLOAT8OID &&
		   strcmp(NameStr(TupleDescAttr(tupdesc, nbase)->attname), "log_likelihood") != 0)
		nbase++;
	*coefficients = nbase + 2 < tupdesc->natts &&
		strcmp(NameStr(TupleDescAttr(tupdesc, nbase)->attname), "purchase_coefficients") == 0 &&
		TupleDescAttr(tupdesc, nbase)->atttypid == FLOAT8ARRAYOID &&
		strcmp(NameStr(TupleDescAttr(tupdesc, nbase + 1)->attname), "dropout_coefficients") == 0 &&
		TupleDescAttr(tupdesc, nbase + 1)->atttypid == FLOAT8ARRAYOID;
	first_field = nbase + (*coefficients ? 2 : 0);
	if (nbase < 1 || nbase > CRM_SCORED_MAX_PARAMS ||
		tupdesc->natts != first_field + MODEL_FIELDS)
		return 0;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (att->attisdropped)
			return 0;
		if (i >= first_field &&
			(att->atttypid != types[i - first_field] ||
			 strcmp(NameStr(att->attname), names[i - first_field]) != 0))
			return 0;
	}
	return nbase;
}

/* Attribute attno of model, a float8[] of coefficients, into names and p */
static int
read_coefficients(HeapTupleHeader model, int attno, const char *name,
				  char **names, double *p, bool *isnull, int room)
{
	bool		null;
	Datum		value = GetAttributeByNum(model, attno, &null);
	ArrayType  *array;
	int			n;

	if (null)
		return 0;
	array = DatumGetArrayTypeP(value);
	n = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	if (ARR_NDIM(array) != 1 || n > room || ARR_HASNULL(array))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("model %s must be a one-dimensional array of at most %d numbers",
						name, room)));
	for (int k = 0; k < n; k++)
	{
		names[k] = psprintf("%s[%d]", name, k + 1);
		p[k] = ((double *) ARR_DATA_PTR(array))[k];
		isnull[k] = false;
		crm_check_finite(name, p[k]);
	}
	return n;
}

/*
 * crm_model_parameters(model): one row per parameter of any crm model,
 * (parameter, estimate, std_error, lower_95, upper_95); without a
 * covariance (a model that did not converge, or written by hand) only the
 * estimates.  Parameters are checked as the scoring functions check them,
 * but a NULL one is shown as NULL: this function is for looking.  A
 * covariate model's coefficients follow its parameters, named
 * purchase_coefficients[k] and dropout_coefficients[k]; they may be of
 * either sign, and their interval is estimate -+ 1.96 se.
 */
PG_FUNCTION_INFO_V1(crm_model_parameters);
Datum
crm_model_parameters(PG_FUNCTION_ARGS)
{
	HeapTupleHeader model = PG_GETARG_HEAPTUPLEHEADER(0);
	Oid			typid = HeapTupleHeaderGetTypeId(model);
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(typid, HeapTupleHeaderGetTypMod(model));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		has_coefficients;
	int			nbase = model_layout(tupdesc, &has_coefficients);
	int			nparams = nbase;
	int			covariance_attno = nbase + (has_coefficients ? 2 : 0) + 1 + MODEL_COVARIANCE;
	char	   *names[CRM_OPTIM_MAX_PARAMS];
	double		p[CRM_OPTIM_MAX_PARAMS];
	bool		p_null[CRM_OPTIM_MAX_PARAMS];
	double		cov_matrix[CRM_OPTIM_MAX_PARAMS * CRM_OPTIM_MAX_PARAMS];
	double	   *cov = NULL;

	if (nbase == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("crm_model_parameters takes a crm model, not %s",
						format_type_be(typid)),
				 errhint("Pass what a crm_*_fit aggregate returns, such as a crm_bgnbd_model.")));

	for (int i = 0; i < nbase; i++)
	{
		names[i] = pstrdup(NameStr(TupleDescAttr(tupdesc, i)->attname));
		p[i] = crm_model_parameter(model, tupdesc, i, &p_null[i]);
	}
	ReleaseTupleDesc(tupdesc);
	if (has_coefficients)
	{
		int			room = (CRM_OPTIM_MAX_PARAMS - nbase) / 2;

		nparams += read_coefficients(model, nbase + 1, "purchase_coefficients",
									 names + nparams, p + nparams, p_null + nparams, room);
		nparams += read_coefficients(model, nbase + 2, "dropout_coefficients",
									 names + nparams, p + nparams, p_null + nparams, room);
	}

	if (crm_model_covariance(model, covariance_attno, nparams, cov_matrix))
		cov = cov_matrix;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < nparams; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {false};
		double		variance = cov ? cov[i * nparams + i] : 0;
		double		se = sqrt(variance);

		if (cov && !(variance >= 0 && isfinite(variance)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the variance of model parameter %s must be a number of 0 or more",
							names[i]),
					 errdetail("The value was %g.", variance)));
		values[0] = CStringGetTextDatum(names[i]);
		values[1] = Float8GetDatum(p[i]);
		nulls[1] = p_null[i];
		values[2] = Float8GetDatum(se);
		nulls[2] = cov == NULL;
		if (cov == NULL || p_null[i])
			nulls[3] = nulls[4] = true;
		else if (i < nbase)
		{
			values[3] = Float8GetDatum(p[i] * exp(-Z_95 * se / p[i]));
			values[4] = Float8GetDatum(p[i] * exp(Z_95 * se / p[i]));
		}
		else
		{
			values[3] = Float8GetDatum(p[i] - Z_95 * se);
			values[4] = Float8GetDatum(p[i] + Z_95 * se);
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * The interval of a prediction f(p) = estimate > 0 when p has covariance
 * cov, at z standard deviations, into *lower and *upper.
 *
 * In the log-parameters theta, with C their covariance (cov(p_i, p_j) /
 * (p_i p_j)) and g the gradient of f there (central differences), the
 * direction d = C g / sqrt(g' C g) is the one along which f changes most
 * per standard deviation of theta, and f(theta +- z d) are the bounds.
 * Where f is any increasing function of one linear combination of theta,
 * this is exactly the interval of f under the normal distribution of
 * theta; in general it is the delta method's interval with the curvature
 * of f along d taken into account, which matters when a parameter is
 * known to within tens of percent only.
 */
void
crm_prediction_interval(CrmPrediction f, void *arg, const double *p,
						const double *cov, int n, double estimate, double z,
						double *lower, double *upper)
{
	double		g[CRM_INTERVAL_MAX_PARAMS];
	double		cg[CRM_INTERVAL_MAX_PARAMS];
	double		x[CRM_INTERVAL_MAX_PARAMS];
	double		variance = 0;

	Assert(n <= CRM_INTERVAL_MAX_PARAMS && estimate > 0);
	memcpy(x, p, sizeof(double) * n);
	for (int i = 0; i < n; i++)
	{
		x[i] = p[i] * exp(LOG_STEP);
		g[i] = f(x, arg);
		x[i] = p[i] * exp(-LOG_STEP);
		g[i] = (g[i] - f(x, arg)) / (2 * LOG_STEP);
		x[i] = p[i];
	}
	for (int i = 0; i < n; i++)
	{
		cg[i] = 0;
		for (int j = 0; j < n; j++)
			cg[i] += cov[i * n + j] / (p[i] * p[j]) * g[j];
		variance += g[i] * cg[i];
	}
	if (!(variance >= 0) || !isfinite(variance))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the covariance of the model is not positive semidefinite"),
				 errhint("Use the covariance its crm_*_fit aggregate returned.")));
	*lower = *upper = estimate;
	if (variance == 0)
		return;
	for (int sign = -1; sign <= 1; sign += 2)
	{
		double		bound;

		for (int i = 0; i < n; i++)
			x[i] = p[i] * exp(sign * z * cg[i] / sqrt(variance));
		bound = f(x, arg);
		/* past a maximum or minimum of f, the estimate is the bound */
		if (sign < 0)
			*lower = Min(bound, estimate);
		else
			*upper = Max(bound, estimate);
	}
}

/*
 * z of a two-sided interval of this level; scoring a million customers
 * asks for the same level a million times, so the last one is kept
 */
static double
z_of_level(double level)
{
	static double last_level = -1;
	static double last_z;

	if (level != last_level)
	{
		last_z = crm_normal_upper_quantile((1 - level) / 2);
		last_level = level;
	}
	return last_z;
}

/*
 * The crm_interval (estimate, lower, upper) of the calling function for
 * the prediction f(p) = estimate, at the level in argument level_argno;
 * an estimate of 0 (a horizon of 0) is certain
 */
Datum
crm_interval_result(FunctionCallInfo fcinfo, CrmPrediction f, void *arg,
					const double *p, const double *cov, int n, double estimate,
					int level_argno)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false};
	double		level = PG_GETARG_FLOAT8(level_argno);
	double		lower = estimate,
				upper = estimate;

	if (!(level > 0 && level < 1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("level must be between 0 and 1, both excluded"),
				 errdetail("The value was %g.", level)));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (estimate > 0)
		crm_prediction_interval(f, arg, p, cov, n, estimate,
								z_of_level(level),
								&lower, &upper);
	values[0] = Float8GetDatum(estimate);
	values[1] = Float8GetDatum(crm_model_result(lower));
	values[2] = Float8GetDatum(crm_model_result(upper));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}

/*
 * The crm_interval of the calling function for the prediction f of the
 * model in argument 0, of nparams parameters, at the level in argument
 * level_argno: what each model's _expected_interval returns
 */
Datum
crm_model_interval(FunctionCallInfo fcinfo, int nparams, CrmPrediction f,
				   void *arg, int level_argno)
{
	double		p[CRM_SCORED_MAX_PARAMS];
	double		cov[CRM_SCORED_MAX_PARAMS * CRM_SCORED_MAX_PARAMS];

	crm_model_params_cov(fcinfo, 0, nparams, p, cov);
	return crm_interval_result(fcinfo, f, arg, p, cov, nparams,
							   crm_model_result(f(p, arg)), level_argno);
}

/* A customer whose P(alive) an interval is for */
typedef struct AliveQuery
{
	CrmAlive	alive;
	double		x,
				t_x,
				T;
} AliveQuery;

static double
alive_at(const double *p, void *arg)
{
	AliveQuery *q = arg;

	return q->alive(p, q->x, q->t_x, q->T);
}

/*
 * P(alive) of the history in arguments 1 to 3 under the model in argument
 * 0, of nparams parameters, with an interval at the level in argument 4:
 * what each model's _p_alive_interval returns, its history checked by the
 * caller.  The bounds are P(alive) at parameters of the model, so they
 * are probabilities too.
 */
Datum
crm_alive_interval(FunctionCallInfo fcinfo, int nparams, CrmAlive alive)
{
	AliveQuery	q = {alive, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
	PG_GETARG_FLOAT8(3)};

	return crm_model_interval(fcinfo, nparams, alive_at, &q, 4);
}
