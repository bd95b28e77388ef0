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
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/typcache.h"

#include "crm.h"
#include "fit_parallel.h"
#include "models.h"
#include "optim.h"

/*
 * The state of a fitting aggregate's transition function, in *holder,
 * created on the first row: width numbers per row, and the penalizer from
 * argument penalizer_argno if the call has it.
 */
WeightedRows *
crm_fit_state_at(FunctionCallInfo fcinfo, int width, const char *fname,
				 CrmAggState **holder, int penalizer_argno)
{
	WeightedRows *state;

	*holder = crm_agg_state_for_update(fcinfo, 0, &crm_fit_state_kind, fname);
	if (*holder != NULL)
		return (WeightedRows *) (*holder)->data;
	*holder = crm_agg_state_new(fcinfo, &crm_fit_state_kind, fname);
	state = crm_wrows_new(CrmAggStateContext(*holder), width);
	(*holder)->data = state;
	if (PG_NARGS() > penalizer_argno)
	{
		crm_check_not_null(fcinfo, penalizer_argno, "penalizer");
		state->has_setting = true;
		state->setting = PG_GETARG_FLOAT8(penalizer_argno);
		crm_check_nonnegative("penalizer", state->setting);
	}
	return state;
}

/* The same with the penalizer, if any, after the state and the width row arguments */
WeightedRows *
crm_fit_state(FunctionCallInfo fcinfo, int width, const char *fname,
			  CrmAggState **holder)
{
	return crm_fit_state_at(fcinfo, width, fname, holder, 1 + width);
}

/* The same for a fit that takes no penalizer: what follows is its own */
WeightedRows *
crm_fit_state_unpenalized(FunctionCallInfo fcinfo, int width, const char *fname,
						  CrmAggState **holder)
{
	return crm_fit_state_at(fcinfo, width, fname, holder, PG_NARGS());
}

/*
 * The rows of a fitting aggregate's final function (NULL without any),
 * which must have width numbers each: a state written by hand may be
 * another model's
 */
WeightedRows *
crm_fit_rows(FunctionCallInfo fcinfo, int width, const char *fname)
{
	WeightedRows *rows;

	crm_aggregate_context(fcinfo, fname);
	rows = crm_agg_state_data(fcinfo, 0, &crm_fit_state_kind);
	if (rows != NULL && (rows->width != width || rows->key_from != 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s needs a model-fit state of %d numbers per customer, not %d",
						fname, width, rows->width)));
	return rows;
}

/*
 * Largest |ln parameter| of a model we call converged: outside 10^-8 ..
 * 10^8 a parameter is running off to a boundary, as it does when the data
 * have no interior maximum (one kind of customer, say).  No shape of these
 * models is that extreme, nor a scale in any sensible unit (a year in
 * seconds is 3 * 10^7); and out there the log-gamma differences of the
 * likelihoods lose digits, so that their rounding noise can look like a
 * curved maximum to the Hessian check.
 */
#define MAX_LOG_PARAM 18.42

/*
 * Where the optimiser stops looking: beyond e^40 the objective is taken
 * as infinite, so that a fit without a maximum ends at this wall in a few
 * steps instead of following a ridge for ever
 */
#define LOG_PARAM_WALL 40.0

/*
 * Many distinct rows: fit a sample of about FIT_SAMPLE_ROWS of them first,
 * then polish on all rows from there, handing over the sample's curvature
 * at its optimum (its Hessian, by differences of the gradient: sixteen
 * gradients of the sample for an eight-parameter covariate fit, a
 * fraction of one over all rows).  The objective is a mean per customer,
 * so its curvature hardly depends on the sample size, and the polish
 * takes a few steps where a cold start would take dozens over every row
 * (on a million simulated customers each step with the sample's Hessian
 * shrinks the gradient about twentyfold, with BFGS's estimate of it from
 * the sample fit about tenfold).  For the same reason the curvature
 * at the optimum -- the check that it is a maximum, and the covariance of
 * the parameters -- is measured on the sample: on a million simulated
 * customers (415,511 distinct rows) the standard errors come within 1%
 * of those of all rows at a tenth of the cost.
 */
#define FIT_SAMPLE_ROWS 16384

/*
 * The sample's fit itself starts from that of a smaller one, the pilot:
 * from all ones it takes a few dozen steps, each over the sample, where
 * from the pilot's optimum, and with its Hessian, it takes a few.  A fit
 * of fewer rows than takes a sample, but more than twice the pilot's,
 * starts from a pilot too: CDNOW master's 8,685 distinct summaries take
 * a handful of steps from there instead of 28 from all ones.
 */
#define FIT_PILOT_ROWS 2048

/*
 * On all rows of a large fit, BFGS stops once a Newton step would raise
 * the log-likelihood of all rows by no more than this: the parameters are
 * then within a thousandth of a standard error of the maximum (that
 * distance, in standard errors, is the square root of the Newton
 * decrement of the whole log-likelihood).  Each step there reads every
 * row, and with the sample's curvature shrinks the gradient about
 * twentyfold; stopping only where rounding hides the decrease, as a
 * small fit does, would take one more step for digits that no standard
 * error can tell apart.
 */
#define LARGE_FIT_DECREMENT 1e-6

/* Largest gradient component of a converged fit (the sample's, looser) */
#define FIT_GTOL 1e-9

/*
 * Simplex steps allowed after BFGS failed: a few times what it needs on
 * real data, bounded because each step reads every row
 */
#define SIMPLEX_ITERATIONS 2000
#define SAMPLE_GTOL 1e-6

/*
 * What a fit minimises.  The first nlog parameters are positive and the
 * optimiser sees their logarithms; the others -- the coefficients of a
 * covariate fit -- are free and seen as they are.  The penalty is on the
 * parameters from penalize_from on: all of them for the plain models, as
 * lifetimes' penalizer_coef, the coefficients only for a covariate fit.
 */
typedef struct FitData
{
	const WeightedRows *rows;
	double		weights;		/* sum of the rows' weights */
	int			nparams;
	int			nlog;
	int			penalize_from;
	CrmLoglik	loglik;
	void	   *loglik_arg;		/* passed to the likelihood (a covariate fit's) */
	/* a large fit's: its rows summed in chunks, as which set */
	FitChunks  *chunks;
	FitRowSet	set;
	double		penalizer;
	/* the last point the likelihood was summed at, and the sum */
	bool		has_last;
	double		last_p[CRM_OPTIM_MAX_PARAMS];
	double		last_loglik;
} FitData;

static void
fit_data_init(FitData *data, const WeightedRows *rows, const FitData *like)
{
	*data = *like;
	data->rows = rows;
	data->has_last = false;
	data->weights = 0;
	for (int64 i = 0; i < rows->nrows; i++)
		data->weights += crm_wrow(rows, i)->weight;
}

/*
 * The parameters at the optimiser's point theta, false if theta is past
 * the wall (see LOG_PARAM_WALL)
 */
static bool
parameters_at(const FitData *data, const double *theta, double *p)
{
	for (int i = 0; i < data->nparams; i++)
	{
		if (i >= data->nlog)
			p[i] = theta[i];
		else if (fabs(theta[i]) > LOG_PARAM_WALL)
			return false;
		else
			p[i] = exp(theta[i]);
	}
	return true;
}

static double
penalty_of(const FitData *data, const double *p)
{
	double		penalty = 0;

	for (int i = data->penalize_from; i < data->nparams; i++)
		penalty += p[i] * p[i];
	return data->penalizer * penalty;
}

/*
 * The log-likelihood of the rows at p (and its gradient if grad is not
 * NULL), remembered: the optimiser's last point is the fit's, and summing
 * every row once more for the model's log_likelihood would cost a large
 * fit another evaluation.  The sum does not depend on whether the
 * gradient is taken.
 */
static double
loglik_at(FitData *data, const double *p, double *grad)
{
	double		ll;

	if (data->chunks)
		ll = crm_fit_chunks_loglik(data->chunks, data->set, p, grad);
	else
		ll = data->loglik(p, data->rows, grad, data->loglik_arg);

	memcpy(data->last_p, p, sizeof(double) * data->nparams);
	data->last_loglik = ll;
	data->has_last = true;
	return ll;
}

/* Mean negative log-likelihood plus penalty, at the optimiser's theta */
static double
objective(const double *theta, void *arg)
{
	FitData    *data = arg;
	double		p[CRM_OPTIM_MAX_PARAMS];

	if (!parameters_at(data, theta, p))
		return INFINITY;
	return -loglik_at(data, p, NULL) / data->weights + penalty_of(data, p);
}

/*
 * The objective and its gradient in theta, from the model's gradient in
 * the parameters by the chain rule (d/d theta = p d/dp for a logarithm)
 */
static double
smooth_objective(const double *theta, double *grad, void *arg)
{
	FitData    *data = arg;
	double		p[CRM_OPTIM_MAX_PARAMS];
	double		gp[CRM_OPTIM_MAX_PARAMS];
	double		ll;

	if (!parameters_at(data, theta, p))
		return INFINITY;
	ll = loglik_at(data, p, gp);
	for (int i = 0; i < data->nparams; i++)
	{
		double		scale = i < data->nlog ? p[i] : 1;

		grad[i] = -gp[i] * scale / data->weights;
		if (i >= data->penalize_from)
			grad[i] += 2 * data->penalizer * p[i] * scale;
	}
	return -ll / data->weights + penalty_of(data, p);
}

/*
 * A sample of about size rows for a first stage of a large fit: rows
 * weighing at least 1/size of the total are kept as they are (every
 * cohort of one-time buyers, say); of the lighter ones, one per that much
 * weight, chosen systematically along the sorted rows and standing for it.
 */
static WeightedRows *
sample_rows(const FitData *data, int size)
{
	const WeightedRows *rows = data->rows;
	WeightedRows *sample = palloc(sizeof(WeightedRows));
	double		step = data->weights / size;
	double		light = step / 2;	/* light weight passed, offset by half a step */

	*sample = *rows;
	sample->scratch = NULL;
	sample->maxrows = 2 * size + 1;
	sample->data = palloc(crm_wrow_size(rows->width) * sample->maxrows);
	sample->nrows = sample->mapped = 0;
	for (int64 i = 0; i < rows->nrows && sample->nrows < sample->maxrows; i++)
	{
		const WeightedRow *row = crm_wrow(rows, i);

		if (row->weight >= step)
			memcpy(crm_wrow(sample, sample->nrows++), row, crm_wrow_size(rows->width));
		else
		{
			double		before = floor(light / step);

			light += row->weight;
			if (floor(light / step) > before)
			{
				memcpy(crm_wrow(sample, sample->nrows), row, crm_wrow_size(rows->width));
				crm_wrow(sample, sample->nrows++)->weight = step;
			}
		}
	}
	sample->merged = sample->nrows;
	return sample;
}

/*
 * The Hessian of the objective at theta, by differences of its gradient,
 * symmetrised: central ones for a covariance, forward ones (n + 1
 * gradients instead of 2n) for the curvature a stage hands to the next,
 * which only has to be near (a sample's differs from all rows' by far
 * more than the forward differences' error).  The gradient is analytic,
 * so a step of 1e-4 in the log-parameters leaves a truncation error of
 * order 1e-8 (1e-4 forward) and a rounding error far below it.
 */
static void
objective_hessian(FitData *data, const double *theta, bool central,
				  double H[CRM_OPTIM_MAX_PARAMS][CRM_OPTIM_MAX_PARAMS])
{
	const double h = 1e-4;
	double		x[CRM_OPTIM_MAX_PARAMS];
	double		at[CRM_OPTIM_MAX_PARAMS];
	int			n = data->nparams;

	memcpy(x, theta, sizeof(double) * n);
	if (!central)
		(void) smooth_objective(x, at, data);
	for (int i = 0; i < n; i++)
	{
		double		up[CRM_OPTIM_MAX_PARAMS];
		double		down[CRM_OPTIM_MAX_PARAMS];

		x[i] = theta[i] + h;
		(void) smooth_objective(x, up, data);
		if (central)
		{
			x[i] = theta[i] - h;
			(void) smooth_objective(x, down, data);
		}
		x[i] = theta[i];
		for (int j = 0; j < n; j++)
			H[i][j] = central ? (up[j] - down[j]) / (2 * h) : (up[j] - at[j]) / h;
	}
	for (int i = 0; i < n; i++)
		for (int j = 0; j < i; j++)
			H[i][j] = H[j][i] = (H[i][j] + H[j][i]) / 2;
}

/*
 * Cholesky factor L of H in place (lower triangle), if every pivot is
 * clearly positive: data without an interior maximum -- one customer, say
 * -- let the optimiser stop on a flat ridge running off to infinity, and
 * a Hessian there that is not positive definite, or nearly singular, is
 * how we tell that from a maximum.
 */
static bool
cholesky(double H[CRM_OPTIM_MAX_PARAMS][CRM_OPTIM_MAX_PARAMS], int n)
{
	double		max_diag = 0;

	for (int i = 0; i < n; i++)
		max_diag = Max(max_diag, fabs(H[i][i]));
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
 * The inverse of the objective's Hessian at theta (in the optimiser's
 * parameters, by central or forward differences), false where it is not
 * clearly positive definite
 */
static bool
inverse_hessian(FitData *data, const double *theta, bool central,
				double inv[CRM_OPTIM_MAX_PARAMS][CRM_OPTIM_MAX_PARAMS])
{
	double		L[CRM_OPTIM_MAX_PARAMS][CRM_OPTIM_MAX_PARAMS];
	int			n = data->nparams;

	objective_hessian(data, theta, central, L);
	if (!cholesky(L, n))
		return false;

	/* columns of L^-T L^-1 = H^-1, by solving L y = e_k, then L^T z = y */
	for (int k = 0; k < n; k++)
	{
		double		y[CRM_OPTIM_MAX_PARAMS];

		for (int i = 0; i < n; i++)
		{
			double		v = (i == k);

			for (int j = 0; j < i; j++)
				v -= L[i][j] * y[j];
			y[i] = v / L[i][i];
		}
		for (int i = n - 1; i >= 0; i--)
		{
			double		v = y[i];

			for (int j = i + 1; j < n; j++)
				v -= L[j][i] * inv[j][k];
			inv[i][k] = v / L[i][i];
		}
	}
	return true;
}

/*
 * The asymptotic covariance of the parameters at the optimum theta, into
 * cov (n x n, row-major), or false where the objective is not clearly
 * curved there.
 *
 * The observed information is the Hessian of the total negative
 * log-likelihood -- the objective is a mean, so weights times its Hessian
 * -- penalty included, as the fit maximised it.  Its inverse is the
 * covariance of the optimiser's parameters; at the optimum, where the
 * gradient vanishes, the delta method turns that of a logarithm into that
 * of the parameter itself: cov(p_i, p_j) = p_i p_j cov(theta_i, theta_j).
 */
static bool
parameter_covariance(FitData *data, const double *theta, double *cov)
{
	double		inv[CRM_OPTIM_MAX_PARAMS][CRM_OPTIM_MAX_PARAMS];
	int			n = data->nparams;

	if (!inverse_hessian(data, theta, true, inv))
		return false;

	/* symmetric to the last bit, as a covariance is */
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
		{
			double		scale_i = i < data->nlog ? exp(theta[i]) : 1;
			double		scale_j = j < data->nlog ? exp(theta[j]) : 1;

			cov[i * n + j] = scale_i * scale_j * (inv[i][j] + inv[j][i]) / 2 /
				data->weights;
			if (!isfinite(cov[i * n + j]))
				return false;
		}
	return true;
}

/* Whether a positive parameter has run off towards 0 or infinity */
static bool
beyond_maximum(const double *theta, int n)
{
	for (int i = 0; i < n; i++)
		if (fabs(theta[i]) > MAX_LOG_PARAM)
			return true;
	return false;
}

/*
 * A first stage of a large fit: BFGS on the stage's rows from theta and
 * hinv, to gtol.  Converged, it leaves its optimum in theta and the
 * inverse of its Hessian there in hinv (BFGS's estimate of it if that is
 * not positive definite) for the next stage to start from, and returns
 * true; otherwise it leaves theta and hinv as they were.
 */
static bool
warm_up(FitData *stage, double *theta, double *hinv, double gtol, int *iterations)
{
	int			n = stage->nparams;
	double		start[CRM_OPTIM_MAX_PARAMS];
	double		start_hinv[CRM_OPTIM_MAX_PARAMS * CRM_OPTIM_MAX_PARAMS];
	double		inv[CRM_OPTIM_MAX_PARAMS][CRM_OPTIM_MAX_PARAMS];
	CrmOptimResult result;

	memcpy(start, theta, sizeof(double) * n);
	memcpy(start_hinv, hinv, sizeof(double) * n * n);
	result = crm_minimize_bfgs(smooth_objective, stage, n, theta, hinv, gtol, 0);
	*iterations += result.iterations;
	if (!result.converged)
	{
		memcpy(theta, start, sizeof(double) * n);
		memcpy(hinv, start_hinv, sizeof(double) * n * n);
		return false;
	}
	if (inverse_hessian(stage, theta, false, inv))
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				hinv[i * n + j] = (inv[i][j] + inv[j][i]) / 2;
	return true;
}

/*
 * Minimise the objective from theta (all zeros: every parameter 1):
 * BFGS, on the pilot and the sample first if there are any, each stage
 * starting from the optimum of the one before and the inverse of its
 * Hessian there (see warm_up); where BFGS does not converge, Nelder-Mead
 * from the best point it found, unless that point shows there is no
 * maximum to find.
 */
static CrmOptimResult
minimize(FitData *data, FitData *pilot, FitData *sample, double *theta)
{
	double		hinv[CRM_OPTIM_MAX_PARAMS * CRM_OPTIM_MAX_PARAMS];
	int			n = data->nparams;
	CrmOptimResult result;
	int			iterations = 0;
	bool		warm = false;

	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			hinv[i * n + j] = (i == j);
	if (pilot)
		warm = warm_up(pilot, theta, hinv, SAMPLE_GTOL, &iterations);
	if (sample)
		warm = warm_up(sample, theta, hinv, SAMPLE_GTOL, &iterations);
	/* not from the last stage's optimum: from the start, as a fit alone */
	if ((pilot || sample) && !warm)
	{
		memset(theta, 0, sizeof(double) * n);
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				hinv[i * n + j] = (i == j);
	}
	result = crm_minimize_bfgs(smooth_objective, data, n, theta,
							   warm ? hinv : NULL, FIT_GTOL,
							   sample ? LARGE_FIT_DECREMENT / data->weights : 0);
	result.iterations += iterations;
	if (!result.converged && !beyond_maximum(theta, data->nlog))
	{
		CrmOptimResult simplex = crm_minimize(objective, data, n, theta,
											  SIMPLEX_ITERATIONS);

		simplex.iterations += result.iterations;
		result = simplex;
	}
	return result;
}

/* The covariance matrix as an n x n float8[] */
static Datum
covariance_array(const double *cov, int n)
{
	Datum		elems[CRM_OPTIM_MAX_PARAMS * CRM_OPTIM_MAX_PARAMS];
	int			dims[2] = {n, n};
	int			lbs[2] = {1, 1};

	for (int i = 0; i < n * n; i++)
		elems[i] = Float8GetDatum(cov[i]);
	return PointerGetDatum(construct_md_array(elems, NULL, 2, dims, lbs, FLOAT8OID,
											  sizeof(float8), FLOAT8PASSBYVAL,
											  TYPALIGN_DOUBLE));
}

/* What fit_rows found */
typedef struct FitResult
{
	double		p[CRM_OPTIM_MAX_PARAMS];
	double		cov[CRM_OPTIM_MAX_PARAMS * CRM_OPTIM_MAX_PARAMS];
	double		log_likelihood;
	CrmOptimResult optim;
} FitResult;

/*
 * Fit the rows as like says (its rows and weights aside).  Data in which
 * nobody bought again (first column all 0) have no maximum: an error
 * rather than a meaningless model.
 */
static void
fit_rows(WeightedRows *rows, const FitData *like, FitResult *fit)
{
	FitData		data;
	FitData    *sample = NULL;
	FitData    *pilot = NULL;
	double		theta[CRM_OPTIM_MAX_PARAMS] = {0};
	bool		repeat = false;
	int			n = like->nparams;

	Assert(n <= CRM_OPTIM_MAX_PARAMS);
	crm_wrows_merge(rows);
	for (int64 i = 0; i < rows->nrows && !repeat; i++)
		repeat = crm_wrow(rows, i)->v[0] > 0 && crm_wrow(rows, i)->weight > 0;
	if (!repeat)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("no customer made a repeat purchase"),
				 errdetail("Without repeat purchases the likelihood has no maximum."),
				 errhint("Fit the model on a longer calibration period.")));

	fit_data_init(&data, rows, like);
	if (rows->nrows > 2 * FIT_SAMPLE_ROWS)
	{
		sample = palloc(sizeof(FitData));
		fit_data_init(sample, sample_rows(&data, FIT_SAMPLE_ROWS), like);
		pilot = palloc(sizeof(FitData));
		fit_data_init(pilot, sample_rows(sample, FIT_PILOT_ROWS), like);
		data.chunks = sample->chunks =
			crm_fit_chunks_begin(rows, sample->rows, like->loglik,
								 like->loglik_arg, n);
		data.set = FIT_ALL_ROWS;
		sample->set = FIT_SAMPLE;
	}
	else if (rows->nrows > 2 * FIT_PILOT_ROWS)
	{
		pilot = palloc(sizeof(FitData));
		fit_data_init(pilot, sample_rows(&data, FIT_PILOT_ROWS), like);
	}
	fit->optim = minimize(&data, pilot, sample, theta);
	(void) parameters_at(&data, theta, fit->p);
	/* a parameter run off towards 0 or infinity: no maximum was found */
	if (beyond_maximum(theta, data.nlog))
		fit->optim.converged = false;
	if (data.has_last && memcmp(data.last_p, fit->p, sizeof(double) * n) == 0)
		fit->log_likelihood = data.last_loglik;
	else
		fit->log_likelihood = loglik_at(&data, fit->p, NULL);
	for (int i = 0; i < n; i++)
		if (!isfinite(fit->p[i]))
			fit->optim.converged = false;
	/* a maximum is where the curvature is clearly positive (see above) */
	if (!isfinite(fit->log_likelihood) ||
		(fit->optim.converged &&
		 !parameter_covariance(sample ? sample : &data, theta, fit->cov)))
		fit->optim.converged = false;
	if (data.chunks)
		crm_fit_chunks_end(data.chunks);
}

/* The MODEL_FIELDS of a fit of nparams parameters into fields and nulls */
static void
model_fields(const FitResult *fit, int nparams, int64 customers,
			 Datum *fields, bool *nulls)
{
	double		ll = fit->log_likelihood;

	fields[MODEL_LOG_LIKELIHOOD] = Float8GetDatum(ll);
	nulls[MODEL_LOG_LIKELIHOOD] = !isfinite(ll);
	fields[MODEL_CUSTOMERS] = Int64GetDatum(customers);
	fields[MODEL_ITERATIONS] = Int32GetDatum(fit->optim.iterations);
	fields[MODEL_CONVERGED] = BoolGetDatum(fit->optim.converged);
	fields[MODEL_AIC] = Float8GetDatum(2.0 * nparams - 2 * ll);
	fields[MODEL_BIC] = Float8GetDatum(nparams * log((double) customers) - 2 * ll);
	nulls[MODEL_AIC] = nulls[MODEL_BIC] = !isfinite(ll);
	if (fit->optim.converged)
		fields[MODEL_COVARIANCE] = covariance_array(fit->cov, nparams);
	nulls[MODEL_COVARIANCE] = !fit->optim.converged;
}

/* The row type of the calling final function, with natts attributes */
static TupleDesc
model_tupdesc(FunctionCallInfo fcinfo, int natts)
{
	TupleDesc	tupdesc;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (tupdesc->natts != natts)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model type does not match the crm library"),
				 errhint("Run ALTER EXTENSION crm UPDATE, or reinstall the extension.")));
	return BlessTupleDesc(tupdesc);
}

/*
 * Fit and return the composite model of the calling final function:
 * (the nparams parameters, log_likelihood, customers, iterations,
 * converged, aic, bic, covariance)
 */
Datum
crm_fit_model(FunctionCallInfo fcinfo, WeightedRows *rows, int nparams,
			  CrmLoglik loglik)
{
	FitData		like = {0};
	FitResult	fit;
	Datum		values[CRM_OPTIM_MAX_PARAMS + MODEL_FIELDS];
	bool		nulls[CRM_OPTIM_MAX_PARAMS + MODEL_FIELDS] = {false};
	TupleDesc	tupdesc = model_tupdesc(fcinfo, nparams + MODEL_FIELDS);

	like.nparams = like.nlog = nparams;
	like.loglik = loglik;
	like.penalizer = rows->has_setting ? rows->setting : 0;
	fit_rows(rows, &like, &fit);
	/* never a NaN or infinity in a model: NULL, and not converged */
	for (int i = 0; i < nparams; i++)
	{
		values[i] = Float8GetDatum(fit.p[i]);
		nulls[i] = !isfinite(fit.p[i]);
	}
	model_fields(&fit, nparams, rows->customers, values + nparams, nulls + nparams);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

static Datum
float8_array(const double *v, int n)
{
	Datum		elems[CRM_MAX_COVARIATES];

	for (int i = 0; i < n; i++)
		elems[i] = Float8GetDatum(v[i]);
	return PointerGetDatum(construct_array(elems, n, FLOAT8OID, sizeof(float8),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * The same for a covariate fit (covariates.c): nbase positive parameters,
 * then ncoefficients purchase and as many dropout coefficients, returned
 * as (the base parameters, purchase_coefficients, dropout_coefficients,
 * the MODEL_FIELDS); loglik gets arg
 */
Datum
crm_fit_covariate_model(FunctionCallInfo fcinfo, WeightedRows *rows, int nbase,
						int ncoefficients, CrmLoglik loglik, void *arg)
{
	FitData		like = {0};
	FitResult	fit;
	int			nparams = nbase + 2 * ncoefficients;
	Datum		values[CRM_OPTIM_MAX_PARAMS + MODEL_FIELDS];
	bool		nulls[CRM_OPTIM_MAX_PARAMS + MODEL_FIELDS] = {false};
	TupleDesc	tupdesc = model_tupdesc(fcinfo, nbase + 2 + MODEL_FIELDS);

	StaticAssertStmt(CRM_OPTIM_MAX_PARAMS >= 4 + 2 * CRM_MAX_COVARIATES,
					 "the optimiser must take every coefficient");
	Assert(nbase <= 4 && ncoefficients <= CRM_MAX_COVARIATES);
	like.nparams = nparams;
	like.nlog = like.penalize_from = nbase;
	like.loglik = loglik;
	like.loglik_arg = arg;
	like.penalizer = rows->has_setting ? rows->setting : 0;
	fit_rows(rows, &like, &fit);
	for (int i = 0; i < nbase; i++)
	{
		values[i] = Float8GetDatum(fit.p[i]);
		nulls[i] = !isfinite(fit.p[i]);
	}
	for (int i = 0; i < 2; i++)
	{
		const double *c = fit.p + nbase + i * ncoefficients;
		bool		finite = true;

		for (int k = 0; k < ncoefficients; k++)
			finite &= isfinite(c[k]);
		values[nbase + i] = finite ? float8_array(c, ncoefficients) : (Datum) 0;
		nulls[nbase + i] = !finite;
	}
	model_fields(&fit, nparams, rows->customers, values + nbase + 2,
				 nulls + nbase + 2);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The covariance in attribute attno of a model as an n x n matrix into
 * cov, false if it is NULL (a model written by hand, or one that did not
 * converge); of another shape, or with a NULL or a non-finite element, it
 * is an error
 */
bool
crm_model_covariance(HeapTupleHeader model, int attno, int n, double *cov)
{
	bool		isnull;
	Datum		value = GetAttributeByNum(model, attno, &isnull);
	ArrayType  *array;

	if (isnull)
		return false;
	array = DatumGetArrayTypeP(value);
	if (ARR_NDIM(array) != 2 || ARR_DIMS(array)[0] != n || ARR_DIMS(array)[1] != n)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("the covariance of the model must be a %d x %d matrix", n, n)));
	if (ARR_HASNULL(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the covariance of the model must not contain nulls")));
	memcpy(cov, ARR_DATA_PTR(array), sizeof(double) * n * n);
	for (int i = 0; i < n * n; i++)
		crm_check_finite("covariance", cov[i]);
	return true;
}

/*
 * Parameter i (from 0) of a model, of row type tupdesc: a positive number,
 * or NULL into *isnull where isnull is given (else an error)
 */
double
crm_model_parameter(HeapTupleHeader model, TupleDesc tupdesc, int i,
					bool *isnull)
{
	const char *name = NameStr(TupleDescAttr(tupdesc, i)->attname);
	bool		null;
	Datum		value = GetAttributeByNum(model, i + 1, &null);
	double		p;

	if (null && isnull)
	{
		*isnull = true;
		return 0;
	}
	if (null)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model parameter %s must not be null", name)));
	if (isnull)
		*isnull = false;
	p = DatumGetFloat8(value);
	crm_check_finite(name, p);
	if (p <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("model parameter %s must be positive", name),
				 errdetail("The value was %g.", p)));
	return p;
}

/*
 * The nparams parameters of a model (a crm_*_model composite: parameters
 * first, then the MODEL_FIELDS), and with cov not NULL its covariance; a
 * model that did not converge, or with a parameter that is not positive,
 * is an error: scoring with it would give numbers without meaning.
 */
static void
read_model(HeapTupleHeader model, int nparams, double *p, double *cov)
{
	TupleDesc	tupdesc = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(model),
												 HeapTupleHeaderGetTypMod(model));
	int			natts = tupdesc->natts;
	bool		isnull;
	Datum		converged;

	for (int i = 0; i < nparams; i++)
		p[i] = crm_model_parameter(model, tupdesc, i, NULL);
	ReleaseTupleDesc(tupdesc);
	if (natts != nparams + MODEL_FIELDS)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model type does not match the crm library"),
				 errhint("Run ALTER EXTENSION crm UPDATE, or reinstall the extension.")));
	converged = GetAttributeByNum(model, nparams + 1 + MODEL_CONVERGED, &isnull);
	if (!isnull && !DatumGetBool(converged))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the model did not converge"),
				 errhint("Check the data, or fit with a penalizer.")));
	if (cov != NULL &&
		!crm_model_covariance(model, nparams + 1 + MODEL_COVARIANCE, nparams, cov))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the model has no covariance"),
				 errhint("Use a model returned by its crm_*_fit aggregate: those carry the covariance of their parameters.")));
}

/* Models a scoring function takes: at most two (crm_clv_predict) */
#define CACHED_MODELS 2

/*
 * The last model seen in each model argument of a call site, as bytes, and
 * its parameters (and covariance, for the functions that read it):
 * scoring a million customers usually passes one model a million times,
 * and reading it through its row type each time would cost more than the
 * formula.
 */
typedef struct ModelCache
{
	struct
	{
		Size		len;		/* 0: nothing cached */
		char	   *bytes;
		double		p[CRM_SCORED_MAX_PARAMS];
		double		cov[CRM_SCORED_MAX_PARAMS * CRM_SCORED_MAX_PARAMS];
	}			models[CACHED_MODELS];
} ModelCache;

/*
 * The nparams parameters of the model in argument argno of the calling
 * scoring function, checked as read_model does, and with cov not NULL
 * their covariance.  One call site reads its models one way or the other,
 * always the same.
 */
void
crm_model_params_cov(FunctionCallInfo fcinfo, int argno, int nparams,
					 double *p, double *cov)
{
	struct varlena *raw = (struct varlena *) PG_GETARG_POINTER(argno);
	ModelCache *cache = fcinfo->flinfo->fn_extra;
	bool		inline_datum = !VARATT_IS_EXTENDED(raw) || VARATT_IS_SHORT(raw);
	Size		len = VARSIZE_ANY(raw);

	Assert(argno < CACHED_MODELS && nparams <= CRM_SCORED_MAX_PARAMS);
	if (cache == NULL)
		cache = fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ModelCache));

	/*
	 * Compare the datum as it came, before detoasting: a model read from a
	 * table has a short header, and detoasting would copy it on every call
	 */
	if (inline_datum && cache->models[argno].len == len &&
		memcmp(cache->models[argno].bytes, raw, len) == 0)
	{
		memcpy(p, cache->models[argno].p, sizeof(double) * nparams);
		if (cov != NULL)
			memcpy(cov, cache->models[argno].cov, sizeof(double) * nparams * nparams);
		return;
	}
	read_model(PG_GETARG_HEAPTUPLEHEADER(argno), nparams, p, cov);
	if (!inline_datum)
		return;
	if (cache->models[argno].len > 0)
		pfree(cache->models[argno].bytes);
	cache->models[argno].len = 0;
	cache->models[argno].bytes = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, len);
	memcpy(cache->models[argno].bytes, raw, len);
	memcpy(cache->models[argno].p, p, sizeof(double) * nparams);
	if (cov != NULL)
		memcpy(cache->models[argno].cov, cov, sizeof(double) * nparams * nparams);
	cache->models[argno].len = len;
}

void
crm_model_params(FunctionCallInfo fcinfo, int argno, int nparams, double *p)
{
	crm_model_params_cov(fcinfo, argno, nparams, p, NULL);
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
