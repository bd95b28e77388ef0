/*
 * specfun.h
 *		Special functions the probabilistic models share (specfun.c).
 */
#ifndef CRM_SPECFUN_H
#define CRM_SPECFUN_H

extern double crm_log_beta(double a, double b);
extern double crm_log_add(double x, double y);
extern double crm_log_hyp2f1(double a, double b, double c, double z);

#endif							/* CRM_SPECFUN_H */
