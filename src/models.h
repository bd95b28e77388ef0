/*
 * models.h
 *		The probabilistic customer models: what their fits and per-customer
 *		functions share.
 */
#ifndef CRM_MODELS_H
#define CRM_MODELS_H

#include "fmgr.h"
#include "access/htup_details.h"

#include "agg_state.h"
#include "weighted_rows.h"

/*
 * Sum over the rows of weight x log-likelihood at parameters p; with grad
 * not NULL, also its gradient with respect to p
 */
typedef double (*CrmLoglik) (const double *p, const WeightedRows *rows,
							 double *grad, void *arg);

/*
 * The likelihoods of the fits, for the parallel workers of a large one to
 * find (fit_parallel.c)
 */
extern double crm_mbgnbd_loglik(const double *p, const WeightedRows *rows,
								double *grad, void *arg);
extern double crm_gammagamma_loglik(const double *p, const WeightedRows *rows,
									double *grad, void *arg);
extern double crm_bgbb_loglik(const double *p, const WeightedRows *rows,
							  double *grad, void *arg);
extern double crm_sbg_loglik(const double *p, const WeightedRows *rows,
							 double *grad, void *arg);

/*
 * covariates.c: a covariate fit's likelihood sums that of the plain model
 * (base) over the customers, at each one's parameters; arg is a
 * CovariateFit
 */
typedef struct CovariateFit
{
	CrmLoglik	base;
	int			ncov;			/* covariates per customer */
} CovariateFit;

extern double crm_covariate_loglik(const double *p, const WeightedRows *rows,
								   double *grad, void *arg);

/* Most parameters of a model the scoring functions take (crm_model_params) */
#define CRM_SCORED_MAX_PARAMS 4

/*
 * The fields of a model type after its parameters, in this order: what a
 * fit returns and the scoring functions read
 */
enum
{
	MODEL_LOG_LIKELIHOOD,
	MODEL_CUSTOMERS,
	MODEL_ITERATIONS,
	MODEL_CONVERGED,
	MODEL_AIC,
	MODEL_BIC,
	MODEL_COVARIANCE,
	MODEL_FIELDS
};

/* fit.c */
extern const CrmAggStateKind crm_fit_state_kind;
extern WeightedRows *crm_fit_state(FunctionCallInfo fcinfo, int width,
								   const char *fname, CrmAggState **holder);
extern WeightedRows *crm_fit_state_at(FunctionCallInfo fcinfo, int width,
									  const char *fname, CrmAggState **holder,
									  int penalizer_argno);
extern WeightedRows *crm_fit_state_unpenalized(FunctionCallInfo fcinfo, int width,
											   const char *fname, CrmAggState **holder);
extern WeightedRows *crm_fit_rows(FunctionCallInfo fcinfo, int width,
								  const char *fname);
extern void crm_model_params(FunctionCallInfo fcinfo, int argno, int nparams,
							 double *p);
extern double crm_model_parameter(HeapTupleHeader model, TupleDesc tupdesc, int i,
								  bool *isnull);
extern bool crm_model_covariance(HeapTupleHeader model, int attno, int n,
								 double *cov);
extern void crm_model_params_cov(FunctionCallInfo fcinfo, int argno, int nparams,
								 double *p, double *cov);
extern double crm_model_result(double value);
extern Datum crm_fit_model(FunctionCallInfo fcinfo, WeightedRows *rows,
						   int nparams, CrmLoglik loglik);
extern Datum crm_fit_covariate_model(FunctionCallInfo fcinfo, WeightedRows *rows,
									 int nbase, int ncoefficients,
									 CrmLoglik loglik, void *arg);

/*
 * uncertainty.c: intervals of a prediction f(p) from the covariance of p.
 * A model's two-sided intervals take at most two models' parameters (a
 * purchase and a spend model) at once.
 */
#define CRM_INTERVAL_MAX_PARAMS 8
typedef double (*CrmPrediction) (const double *p, void *arg);
extern void crm_prediction_interval(CrmPrediction f, void *arg, const double *p,
									const double *cov, int n, double estimate,
									double z, double *lower, double *upper);
extern Datum crm_interval_result(FunctionCallInfo fcinfo, CrmPrediction f,
								 void *arg, const double *p, const double *cov,
								 int n, double estimate, int level_argno);
extern Datum crm_model_interval(FunctionCallInfo fcinfo, int nparams,
								CrmPrediction f, void *arg, int level_argno);

/* P(alive) of a customer with history (x, t_x, T) under a model of p */
typedef double (*CrmAlive) (const double *p, double x, double t_x, double T);
extern Datum crm_alive_interval(FunctionCallInfo fcinfo, int nparams,
								CrmAlive alive);

/*
 * Largest frequency, recency or t the models take: a billion purchases or
 * time units is beyond any customer, and far below where the arithmetic
 * of the likelihoods loses its meaning
 */
#define CRM_MAX_SUMMARY 1e9

/*
 * Where the fits of crm_bgnbd_fit and crm_paretonbd_fit keep a customer
 * summary in a weighted row: sorted by frequency, then t, then recency,
 * consecutive rows mostly share what depends on (frequency, t) alone
 */
#define SUMMARY_X 0
#define SUMMARY_T 1
#define SUMMARY_T_X 2

/* bgnbd.c: BG/NBD and MBG/NBD, whose parameters are (r, alpha, a, b) */
#define BGNBD_PARAMS 4
extern double crm_bgnbd_loglik(const double *p, const WeightedRows *rows,
							   double *grad, void *arg);
extern void crm_check_frequency(double frequency);
extern void crm_check_summary(double frequency, double recency, double t);
extern void crm_add_summary(FunctionCallInfo fcinfo, WeightedRows *state,
							CrmAggState *agg, double *v);
extern double crm_bgnbd_alive(const double *p, double x, double t_x, double T);
extern double crm_mbgnbd_alive(const double *p, double x, double t_x, double T);
extern double crm_bgnbd_expected_alive(const double *p, double h, double x,
									   double t_x, double T);
extern double crm_mbgnbd_expected_alive(const double *p, double h, double x,
										double t_x, double T);

/*
 * paretonbd.c, whose parameters are (r, alpha, s, beta); as for BG/NBD, expected purchases are the expectation of a
 * customer known to be alive times P(alive)
 */
#define PARETONBD_PARAMS 4
extern double crm_paretonbd_loglik(const double *p, const WeightedRows *rows,
								   double *grad, void *arg);
extern double crm_paretonbd_alive(const double *p, double x, double t_x, double T);
extern double crm_paretonbd_expected_alive(const double *p, double h, double x,
										   double t_x, double T);
extern double crm_paretonbd_expected_purchases(const double *p, double h,
											   double x, double t_x, double T);

/* gammagamma.c */
extern double crm_gammagamma_expected_value(const double *params, double x,
											double m);

#endif							/* CRM_MODELS_H */
