/*
 * models.h
 *		The probabilistic customer models: what their fits and per-customer
 *		functions share.
 */
#ifndef CRM_MODELS_H
#define CRM_MODELS_H

/* bgnbd.c */
extern void crm_check_summary(double frequency, double recency, double t);
extern double crm_bgnbd_loglik(const double *p, double x, double t_x, double T);

#endif							/* CRM_MODELS_H */
