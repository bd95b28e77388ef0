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
		p[i] = exp(theta[i]);
	for (int64 i = 0; i < rows->nrows; i++)
		ll += rows->rows[i].weight * loglik(p, rows->rows[i].v);

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
	values[nparams] = Float8GetDatum(ll);
	values[nparams + 1] = Int64GetDatum(rows->customers);
	values[nparams + 2] = Int32GetDatum(result.iterations);
	values[nparams + 3] = BoolGetDatum(result.converged && isfinite(ll));
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
