/*
 * fit.c
 *		Maximum-likelihood fitting of a customer model to weighted summary
 *		rows: what crm_bgnbd_fit, crm_paretonbd_fit and crm_gammagamma_fit
 *		share.
 *
 * Every parameter of these models is positive, so the optimiser works on
 * their logarithms (no constraints, and a scale-free start at all ones).
 * Like lifetimes' fitters, it minimises the mean negative log-likelihood
 * plus penalizer * (sum of squared parameters), the optional L2 penalty.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "utils/typcache.h"

#include "crm.h"
#include "models.h"
#include "optim.h"

/*
 * The state of a fitting aggregate's transition function, created on the
 * first row: width numbers per row, then an optional penalizer argument
 * (after the state and the width row arguments).
 */
WeightedRows *
crm_fit_state(FunctionCallInfo fcinfo, MemoryContext aggcontext, int width)
{
	WeightedRows *state;
	int			penalizer_argno = 1 + width;

	if (!PG_ARGISNULL(0))
		return (WeightedRows *) PG_GETARG_POINTER(0);
	state = crm_wrows_new(aggcontext, width);
	if (PG_NARGS() > penalizer_argno)
	{
		crm_check_not_null(fcinfo, penalizer_argno, "penalizer");
		state->has_setting = true;
		state->setting = PG_GETARG_FLOAT8(penalizer_argno);
		crm_check_nonnegative("penalizer", state->setting);
	}
	return state;
}

/*
 * Largest |ln parameter| of a model we call converged: beyond e^23 (about
 * 10^10) a parameter is running off to a boundary, as it does when the
 * data have no interior maximum (a single customer, say)
 */
#define MAX_LOG_PARAM 23.0

typedef struct FitData
{
	WeightedRows *rows;
	int			nparams;
	CrmRowLoglik loglik;
	double		penalizer;
} FitData;

/* Mean negative log-likelihood plus penalty, at log-parameters theta */
static double
objective(const double *theta, void *arg)
{
	FitData    *data = arg;
	double		p[CRM_OPTIM_MAX_PARAMS];
	double		sum = 0;
	double		weights = 0;
	double		penalty = 0;

	for (int i = 0; i < data->nparams; i++)
	{
		p[i] = exp(theta[i]);
		penalty += p[i] * p[i];
	}
	for (int64 i = 0; i < data->rows->nrows; i++)
	{
		WeightedRow *row = &data->rows->rows[i];

		sum += row->weight * data->loglik(p, row->v);
		weights += row->weight;
	}
	return -sum / weights + data->penalizer * penalty;
}

/*
 * Whether theta is a proper maximum of the likelihood: the Hessian of the
 * objective there (central differences) must be positive definite, and
 * not nearly singular.  Data without an interior maximum -- one customer,
 * say -- let the optimiser stop on a flat ridge running off to infinity;
 * this is how we tell that from a maximum.
 */
static bool
is_proper_minimum(FitData *data, const double *theta)
{
	const double h = 1e-4;
	double		H[CRM_OPTIM_MAX_PARAMS][CRM_OPTIM_MAX_PARAMS];
	double		x[CRM_OPTIM_MAX_PARAMS];
	double		f0 = objective(theta, data);
	int			n = data->nparams;
	double		max_diag = 0;

	memcpy(x, theta, sizeof(double) * n);
	for (int i = 0; i < n; i++)
		for (int j = i; j < n; j++)
		{
			double		fpp,
						fpm,
						fmp,
						fmm;

			if (i == j)
			{
				x[i] = theta[i] + h;
				fpp = objective(x, data);
				x[i] = theta[i] - h;
				fmm = objective(x, data);
				x[i] = theta[i];
				H[i][i] = (fpp - 2 * f0 + fmm) / (h * h);
				max_diag = Max(max_diag, fabs(H[i][i]));
				continue;
			}
			x[i] = theta[i] + h;
			x[j] = theta[j] + h;
			fpp = objective(x, data);
			x[j] = theta[j] - h;
			fpm = objective(x, data);
			x[i] = theta[i] - h;
			fmm = objective(x, data);
			x[j] = theta[j] + h;
			fmp = objective(x, data);
			x[i] = theta[i];
			x[j] = theta[j];
			H[i][j] = H[j][i] = (fpp - fpm - fmp + fmm) / (4 * h * h);
		}

	/* Cholesky: every pivot clearly positive */
	for (int j = 0; j < n; j++)
	{
		double		d = H[j][j];

		for (int k = 0; k < j; k++)
			d -= H[j][k] * H[j][k];
		if (!isfinite(d) || d <= 1e-8 * max_diag)
			return false;
		H[j][j] = sqrt(d);
		for (int i = j + 1; i < n; i++)
		{
			double		v = H[i][j];

			for (int k = 0; k < j; k++)
				v -= H[i][k] * H[j][k];
			H[i][j] = v / H[j][j];
		}
	}
	return true;
}

/*
 * Fit and return the composite model of the calling final function:
 * (the nparams parameters, log_likelihood, customers, iterations,
 * converged).  Data in which nobody bought again (first column all 0)
 * have no maximum: an error rather than a meaningless model.
 */
Datum
crm_fit_model(FunctionCallInfo fcinfo, WeightedRows *rows, int nparams,
			  CrmRowLoglik loglik)
{
	TupleDesc	tupdesc;
	FitData		data;
	double		theta[CRM_OPTIM_MAX_PARAMS] = {0};
	double		p[CRM_OPTIM_MAX_PARAMS];
	double		ll = 0;
	bool		repeat = false;
	CrmOptimResult result;
	Datum		values[CRM_OPTIM_MAX_PARAMS + 4];
	bool		nulls[CRM_OPTIM_MAX_PARAMS + 4] = {false};

	Assert(nparams <= CRM_OPTIM_MAX_PARAMS);
	crm_wrows_merge(rows);
	for (int64 i = 0; i < rows->nrows && !repeat; i++)
		repeat = rows->rows[i].v[0] > 0;
	if (!repeat)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no customer made a repeat purchase"),
				 errdetail("Without repeat purchases the likelihood has no maximum."),
				 errhint("Fit the model on a longer calibration period.")));

	data.rows = rows;
	data.nparams = nparams;
	data.loglik = loglik;
	data.penalizer = rows->has_setting ? rows->setting : 0;
	result = crm_minimize(objective, &data, nparams, theta);
	for (int i = 0; i < nparams; i++)
	{
		p[i] = exp(theta[i]);
		/* a parameter run off towards 0 or infinity: no maximum was found */
		if (fabs(theta[i]) > MAX_LOG_PARAM)
			result.converged = false;
	}
	for (int64 i = 0; i < rows->nrows; i++)
		ll += rows->rows[i].weight * loglik(p, rows->rows[i].v);
	if (!isfinite(ll) || (result.converged && !is_proper_minimum(&data, theta)))
		result.converged = false;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != nparams + 4)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model type does not match the crm library"),
				 errhint("Run ALTER EXTENSION crm UPDATE, or reinstall the extension.")));
	tupdesc = BlessTupleDesc(tupdesc);
	for (int i = 0; i < nparams; i++)
		values[i] = Float8GetDatum(p[i]);
	/* never a NaN or infinity in a model: NULL, and not converged */
	for (int i = 0; i < nparams; i++)
		nulls[i] = !isfinite(p[i]);
	values[nparams] = Float8GetDatum(ll);
	nulls[nparams] = !isfinite(ll);
	values[nparams + 1] = Int64GetDatum(rows->customers);
	values[nparams + 2] = Int32GetDatum(result.iterations);
	values[nparams + 3] = BoolGetDatum(result.converged);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The nparams parameters of a model argument (a crm_*_model composite:
 * parameters first, converged last); a model that did not converge, or
 * with a parameter that is not positive, is an error: scoring with it
 * would give numbers without meaning.
 */
void
crm_model_params(HeapTupleHeader model, int nparams, double *p)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(model),
												 HeapTupleHeaderGetTypMod(model));
	int			natts = tupdesc->natts;
	bool		isnull;
	Datum		converged;

	for (int i = 0; i < nparams; i++)
	{
		const char *name = NameStr(TupleDescAttr(tupdesc, i)->attname);
		Datum		value = GetAttributeByNum(model, i + 1, &isnull);

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("model parameter %s must not be null", name)));
		p[i] = DatumGetFloat8(value);
		crm_check_finite(name, p[i]);
		if (p[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("model parameter %s must be positive", name),
					 errdetail("The value was %g.", p[i])));
	}
	ReleaseTupleDesc(tupdesc);
	converged = GetAttributeByNum(model, natts, &isnull);
	if (!isnull && !DatumGetBool(converged))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model did not converge"),
				 errhint("Check the data, or fit with a penalizer.")));
}

/*
 * Ensure a model's prediction is a number: extreme parameters or inputs
 * can overflow, and that is an error, not an infinity or a NaN
 */
double
crm_model_result(double value)
{
	if (!isfinite(value))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("model result out of range for these parameters and inputs")));
	return value;
}
