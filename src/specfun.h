/*
 * specfun.h
 *		Special functions the probabilistic models share (specfun.c).
 */
#ifndef CRM_SPECFUN_H
#define CRM_SPECFUN_H

extern double crm_log_beta(double a, double b);
extern double crm_digamma(double x);
extern double crm_log_add(double x, double y);
extern double crm_log_hyp2f1(double a, double b, double c, double z,
							 int max_terms);
extern double crm_log_hyp2f1_grad(double a, double b, double c, double z,
								  int max_terms, double *dlog);

/*
 * Term budgets: scoring a customer may sum long series; a likelihood
 * evaluated thousands of times by the optimiser treats a series that long
 * as a region to stay out of
 */
#define CRM_HYP2F1_SCORING_TERMS 1000000
#define CRM_HYP2F1_FITTING_TERMS 2000

#endif							/* CRM_SPECFUN_H */
