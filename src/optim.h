/*
 * optim.h
 *		The optimiser the model fits share.
 */
#ifndef CRM_OPTIM_H
#define CRM_OPTIM_H

/* a covariate fit: four parameters and two coefficients per covariate */
#define CRM_OPTIM_MAX_PARAMS (4 + 2 * 8)

/* Objective to minimise at x[0 .. n); +Infinity where undefined */
typedef double (*CrmObjective) (const double *x, void *arg);

/* The same with its gradient, filled into grad[0 .. n) */
typedef double (*CrmSmoothObjective) (const double *x, double *grad, void *arg);

typedef struct CrmOptimResult
{
	double		value;			/* objective at the returned point */
	int			iterations;		/* steps taken (simplex: all restarts) */
	bool		converged;
} CrmOptimResult;

extern CrmOptimResult crm_minimize(CrmObjective f, void *arg, int n, double *x,
								   int max_iterations);
extern CrmOptimResult crm_minimize_bfgs(CrmSmoothObjective f, void *arg, int n,
										double *x, double *hinv, double gtol,
										double enough);

#endif							/* CRM_OPTIM_H */
