/*
 * covariates.c
 *		Time-invariant customer covariates in BG/NBD and Pareto/NBD (Fader &
 *		Hardie 2007, "Incorporating time-invariant covariates into the
 *		Pareto/NBD and BG/NBD models"), and in MBG/NBD as in BG/NBD:
 *		crm_bgnbd_fit, crm_mbgnbd_fit and crm_paretonbd_fit
 *		with a float8[] of covariates per customer, and the model of one
 *		customer that the scoring functions take.
 *
 * A customer with covariates c has the model's scale parameters moved by
 * them, one vector of coefficients per process:
 *
 *	alpha_i = alpha exp(-gamma_purchase . c)	(purchase rates Gamma(r, alpha_i))
 *	b_i = b exp(-gamma_dropout . c)			(BG/NBD: dropout p ~ Beta(a, b_i))
 *	beta_i = beta exp(-gamma_dropout . c)		(Pareto/NBD: dropout rate Gamma(s, beta_i))
 *
 * so that a positive coefficient means more of it: E[lambda] = r / alpha_i
 * and the mean dropout probability a / (a + b_i), or rate s / beta_i, grow
 * with it.  (For BG/NBD's dropout the note lets covariates move a and b
 * with a coefficient vector each; moving b alone keeps one coefficient per
 * covariate and process, each read the same way.)  Given c, a customer is a plain BG/NBD or Pareto/NBD customer
 * with those parameters: the likelihood sums the plain model's over the
 * customers who share covariates, and crm_*_customer_model gives the
 * plain model of one customer, which every scoring function takes.
 *
 * The fit is the plain models' (fit.c) with the coefficients free and, when
 * a penalizer is given, an L2 penalty on them alone: penalizer times the
 * sum of their squares is added to the mean negative log-likelihood.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/typcache.h"

#include "crm.h"
#include "models.h"
#include "optim.h"

/* Where a covariate fit keeps a customer: the summary, then covariates */
#define COVARIATES_FROM 3

/* The base parameters the purchase and dropout coefficients scale */
#define PURCHASE_SCALE 1		/* alpha */
#define DROPOUT_SCALE 3			/* b, or beta */
#define BASE_PARAMS 4

/*
 * The covariates of argument argno: one to CRM_MAX_COVARIATES finite
 * numbers, into c; returns how many
 */
static int
get_covariates(FunctionCallInfo fcinfo, int argno, double *c)
{
	ArrayType  *array = PG_GETARG_ARRAYTYPE_P(argno);
	int			n = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));

	if (n < 1 || n > CRM_MAX_COVARIATES)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("covariates must have 1 to %d elements", CRM_MAX_COVARIATES),
				 errdetail("The array has %d.", n)));
	crm_get_float8_array(array, "covariates", n, false, c);
	return n;
}

/*
 * crm_fit_covariates_accum(state, frequency, recency, t, covariates
 * [, penalizer]): every customer with as many covariates as the first
 */
PG_FUNCTION_INFO_V1(crm_fit_covariates_accum);
Datum
crm_fit_covariates_accum(PG_FUNCTION_ARGS)
{
	CrmAggState *agg;
	WeightedRows *state;
	double		v[COVARIATES_FROM + CRM_MAX_COVARIATES];
	int			n;

	/* rows with a NULL are skipped; the state is made by the first row kept */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) || PG_ARGISNULL(4))
	{
		agg = crm_agg_state_for_update(fcinfo, 0, &crm_fit_state_kind,
									   "crm_fit_covariates_accum");
		if (agg == NULL)
			PG_RETURN_NULL();
		PG_RETURN_CRM_AGG_STATE(agg);
	}
	n = get_covariates(fcinfo, 4, v + COVARIATES_FROM);
	state = crm_fit_state_at(fcinfo, COVARIATES_FROM + n, "crm_fit_covariates_accum",
							 &agg, 5);
	state->key_from = COVARIATES_FROM;
	if (state->width != COVARIATES_FROM + n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("every customer must have the same number of covariates"),
				 errdetail("This one has %d, those before %d.", n,
						   state->width - COVARIATES_FROM)));
	crm_add_summary(fcinfo, state, agg, v);
	PG_RETURN_CRM_AGG_STATE(agg);
}

/* exp(-coefficients . c) */
static double
covariate_factor(const double *coefficients, const double *c, int n)
{
	double		dot = 0;

	for (int k = 0; k < n; k++)
		dot += coefficients[k] * c[k];
	return exp(-dot);
}

/*
 * Whether two customers' covariates are the same to the bit (a run of
 * rows the sort made adjacent ends at the first that differs; -0 and 0
 * only start a new run, with the same factor); in line, as it runs once
 * per row
 */
static inline bool
same_covariates(const double *a, const double *b, int n)
{
	for (int k = 0; k < n; k++)
	{
		uint64		x,
					y;

		memcpy(&x, &a[k], sizeof(x));
		memcpy(&y, &b[k], sizeof(y));
		if (x != y)
			return false;
	}
	return true;
}

/*
 * The log-likelihood of a covariate fit at p = (the four base
 * parameters, ncov purchase coefficients, ncov dropout coefficients), and
 * its gradient: the plain model's over each run of customers who share
 * covariates (the rows sort by them first), at those customers'
 * parameters, with the chain rule through alpha_i and b_i (or beta_i):
 * d alpha_i / d alpha = alpha_i / alpha, d alpha_i / d gamma_k = -alpha_i c_k.
 */
double
crm_covariate_loglik(const double *p, const WeightedRows *rows, double *grad,
					 void *arg)
{
	CovariateFit *fit = arg;
	int			n = fit->ncov;
	const double *purchase = p + BASE_PARAMS;
	const double *dropout = p + BASE_PARAMS + n;
	double		sum = 0;
	double		g[BASE_PARAMS + 2 * CRM_MAX_COVARIATES] = {0};
	int64		start = 0;

	while (start < rows->nrows)
	{
		const double *c = crm_wrow(rows, start)->v + COVARIATES_FROM;
		int64		end = start + 1;
		WeightedRows run = *rows;
		double		q[BASE_PARAMS];
		double		gq[BASE_PARAMS];

		while (end < rows->nrows &&
			   same_covariates(crm_wrow(rows, end)->v + COVARIATES_FROM, c, n))
			end++;
		memcpy(q, p, sizeof(q));
		q[PURCHASE_SCALE] *= covariate_factor(purchase, c, n);
		q[DROPOUT_SCALE] *= covariate_factor(dropout, c, n);
		if (!(q[PURCHASE_SCALE] > 0 && q[DROPOUT_SCALE] > 0 &&
			  isfinite(q[PURCHASE_SCALE]) && isfinite(q[DROPOUT_SCALE])))
			return -INFINITY;

		run.data = (char *) crm_wrow(rows, start);
		run.nrows = run.merged = end - start;
		sum += fit->base(q, &run, grad ? gq : NULL, NULL);
		/* the plain likelihood's cache, if it made one, serves every run */
		((WeightedRows *) rows)->scratch = run.scratch;

		if (grad)
		{
			g[0] += gq[0];
			g[2] += gq[2];
			g[PURCHASE_SCALE] += gq[PURCHASE_SCALE] * q[PURCHASE_SCALE] / p[PURCHASE_SCALE];
			g[DROPOUT_SCALE] += gq[DROPOUT_SCALE] * q[DROPOUT_SCALE] / p[DROPOUT_SCALE];
			for (int k = 0; k < n; k++)
			{
				g[BASE_PARAMS + k] -= gq[PURCHASE_SCALE] * q[PURCHASE_SCALE] * c[k];
				g[BASE_PARAMS + n + k] -= gq[DROPOUT_SCALE] * q[DROPOUT_SCALE] * c[k];
			}
		}
		start = end;
	}
	if (grad)
		memcpy(grad, g, sizeof(double) * (BASE_PARAMS + 2 * n));
	return sum;
}

/* The rows of a covariate fit's final function, checked */
static WeightedRows *
covariate_rows(FunctionCallInfo fcinfo, const char *fname)
{
	WeightedRows *rows;

	crm_aggregate_context(fcinfo, fname);
	rows = crm_agg_state_data(fcinfo, 0, &crm_fit_state_kind);
	if (rows != NULL &&
		(rows->key_from != COVARIATES_FROM || rows->width <= COVARIATES_FROM))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs the state of a fit with covariates", fname)));
	return rows;
}

static Datum
covariate_final(FunctionCallInfo fcinfo, const char *fname, CrmLoglik base)
{
	WeightedRows *rows = covariate_rows(fcinfo, fname);
	CovariateFit fit;

	if (rows == NULL || rows->customers == 0)
		PG_RETURN_NULL();
	fit.base = base;
	fit.ncov = rows->width - COVARIATES_FROM;
	return crm_fit_covariate_model(fcinfo, rows, BASE_PARAMS, fit.ncov,
								   crm_covariate_loglik, &fit);
}

/*
 * crm_bgnbd_covariates_final(state) -> crm_bgnbd_covariate_model
 */
PG_FUNCTION_INFO_V1(crm_bgnbd_covariates_final);
Datum
crm_bgnbd_covariates_final(PG_FUNCTION_ARGS)
{
	return covariate_final(fcinfo, "crm_bgnbd_covariates_final", crm_bgnbd_loglik);
}

/*
 * crm_mbgnbd_covariates_final(state) -> crm_mbgnbd_covariate_model: the
 * same parameters as BG/NBD's, b the one the dropout coefficients move
 */
PG_FUNCTION_INFO_V1(crm_mbgnbd_covariates_final);
Datum
crm_mbgnbd_covariates_final(PG_FUNCTION_ARGS)
{
	return covariate_final(fcinfo, "crm_mbgnbd_covariates_final", crm_mbgnbd_loglik);
}

/*
 * crm_paretonbd_covariates_final(state) -> crm_paretonbd_covariate_model
 */
PG_FUNCTION_INFO_V1(crm_paretonbd_covariates_final);
Datum
crm_paretonbd_covariates_final(PG_FUNCTION_ARGS)
{
	return covariate_final(fcinfo, "crm_paretonbd_covariates_final",
						   crm_paretonbd_loglik);
}

/*
 * The coefficients in attribute attno of a covariate model: n finite
 * numbers, as many as the customer's covariates
 */
static void
get_coefficients(HeapTupleHeader model, int attno, const char *name, int n,
				 double *coefficients)
{
	bool		isnull;
	Datum		value = GetAttributeByNum(model, attno, &isnull);
	ArrayType  *array;

	if (isnull)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model %s must not be null", name)));
	array = DatumGetArrayTypeP(value);
	if (ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array)) != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the model has %d %s, the customer %d covariates",
						ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array)), name, n)));
	crm_get_float8_array(array, name, n, false, coefficients);
}

/*
 * crm_bgnbd_customer_model(model, covariates), crm_mbgnbd_customer_model
 * and crm_paretonbd_customer_model: the plain model of a customer with these
 * covariates, whose parameters are the base ones with alpha and b (or
 * beta) moved by the covariates.  Its covariance is that of the fit
 * carried over by the delta method: for (r, alpha_i, a, b_i) as functions
 * J of all the fit's parameters, J cov J'.  The other fields are the
 * fit's.
 */
static Datum
customer_model(FunctionCallInfo fcinfo)
{
	HeapTupleHeader model = PG_GETARG_HEAPTUPLEHEADER(0);
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(model),
												 HeapTupleHeaderGetTypMod(model));
	TupleDesc	result_desc;
	double		c[CRM_MAX_COVARIATES];
	double		coefficients[2][CRM_MAX_COVARIATES];
	double		p[BASE_PARAMS];
	double		factor[2];
	int			n = get_covariates(fcinfo, 1, c);
	int			nparams = BASE_PARAMS + 2 * n;
	Datum		values[BASE_PARAMS + MODEL_FIELDS];
	bool		nulls[BASE_PARAMS + MODEL_FIELDS] = {false};

	if (tupdesc->natts != BASE_PARAMS + 2 + MODEL_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model type does not match the crm library"),
				 errhint("Run ALTER EXTENSION crm UPDATE, or reinstall the extension.")));
	for (int i = 0; i < BASE_PARAMS; i++)
		p[i] = crm_model_parameter(model, tupdesc, i, NULL);
	ReleaseTupleDesc(tupdesc);
	get_coefficients(model, BASE_PARAMS + 1, "purchase_coefficients", n, coefficients[0]);
	get_coefficients(model, BASE_PARAMS + 2, "dropout_coefficients", n, coefficients[1]);

	factor[0] = covariate_factor(coefficients[0], c, n);
	factor[1] = covariate_factor(coefficients[1], c, n);
	for (int i = 0; i < BASE_PARAMS; i++)
		values[i] = Float8GetDatum(p[i]);
	values[PURCHASE_SCALE] = Float8GetDatum(crm_model_result(p[PURCHASE_SCALE] * factor[0]));
	values[DROPOUT_SCALE] = Float8GetDatum(crm_model_result(p[DROPOUT_SCALE] * factor[1]));
	if (DatumGetFloat8(values[PURCHASE_SCALE]) <= 0 || DatumGetFloat8(values[DROPOUT_SCALE]) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("model result out of range for these parameters and inputs")));

	/* the fit's fields, the covariance carried over */
	for (int f = 0; f < MODEL_FIELDS; f++)
		values[BASE_PARAMS + f] = GetAttributeByNum(model, BASE_PARAMS + 3 + f,
													&nulls[BASE_PARAMS + f]);
	if (!nulls[BASE_PARAMS + MODEL_COVARIANCE])
	{
		double		cov[CRM_OPTIM_MAX_PARAMS * CRM_OPTIM_MAX_PARAMS];
		double		J[BASE_PARAMS][CRM_OPTIM_MAX_PARAMS] = {{0}};
		double		out[BASE_PARAMS * BASE_PARAMS];
		Datum		elems[BASE_PARAMS * BASE_PARAMS];
		int			dims[2] = {BASE_PARAMS, BASE_PARAMS};
		int			lbs[2] = {1, 1};

		(void) crm_model_covariance(model, BASE_PARAMS + 3 + MODEL_COVARIANCE,
									nparams, cov);
		J[0][0] = J[2][2] = 1;
		J[PURCHASE_SCALE][PURCHASE_SCALE] = factor[0];
		J[DROPOUT_SCALE][DROPOUT_SCALE] = factor[1];
		for (int k = 0; k < n; k++)
		{
			J[PURCHASE_SCALE][BASE_PARAMS + k] = -p[PURCHASE_SCALE] * factor[0] * c[k];
			J[DROPOUT_SCALE][BASE_PARAMS + n + k] = -p[DROPOUT_SCALE] * factor[1] * c[k];
		}
		for (int i = 0; i < BASE_PARAMS; i++)
			for (int j = 0; j < BASE_PARAMS; j++)
			{
				double		v = 0;

				for (int k = 0; k < nparams; k++)
					for (int l = 0; l < nparams; l++)
						v += J[i][k] * cov[k * nparams + l] * J[j][l];
				out[i * BASE_PARAMS + j] = v;
			}
		for (int i = 0; i < BASE_PARAMS * BASE_PARAMS; i++)
			elems[i] = Float8GetDatum(crm_model_result(out[i]));
		values[BASE_PARAMS + MODEL_COVARIANCE] =
			PointerGetDatum(construct_md_array(elems, NULL, 2, dims, lbs, FLOAT8OID,
											   sizeof(float8), FLOAT8PASSBYVAL,
											   TYPALIGN_DOUBLE));
	}
	if (get_call_result_type(fcinfo, NULL, &result_desc) != TYPEFUNC_COMPOSITE ||
		result_desc->natts != BASE_PARAMS + MODEL_FIELDS)
		elog(ERROR, "return type must be a crm model row type");
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(result_desc),
													  values, nulls)));
}

PG_FUNCTION_INFO_V1(crm_bgnbd_customer_model);
Datum
crm_bgnbd_customer_model(PG_FUNCTION_ARGS)
{
	return customer_model(fcinfo);
}

PG_FUNCTION_INFO_V1(crm_mbgnbd_customer_model);
Datum
crm_mbgnbd_customer_model(PG_FUNCTION_ARGS)
{
	return customer_model(fcinfo);
}

PG_FUNCTION_INFO_V1(crm_paretonbd_customer_model);
Datum
crm_paretonbd_customer_model(PG_FUNCTION_ARGS)
{
	return customer_model(fcinfo);
}
