/*
 * optim.h
 *		The optimiser the model fits share.
 */
#ifndef CRM_OPTIM_H
#define CRM_OPTIM_H

#define CRM_OPTIM_MAX_PARAMS 4

/* Objective to minimise at x[0 .. n); +Infinity where undefined */
typedef double (*CrmObjective) (const double *x, void *arg);

typedef struct CrmOptimResult
{
	double		value;			/* objective at the returned point */
	int			iterations;		/* simplex steps taken, all restarts */
	bool		converged;
} CrmOptimResult;

extern CrmOptimResult crm_minimize(CrmObjective f, void *arg, int n, double *x);

#endif							/* CRM_OPTIM_H */
