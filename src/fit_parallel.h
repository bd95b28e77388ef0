/*
 * fit_parallel.h
 *		The log-likelihood of a large fit, summed in fixed chunks of rows,
 *		by parallel workers where they can be had.
 */
#ifndef CRM_FIT_PARALLEL_H
#define CRM_FIT_PARALLEL_H

#include "models.h"

typedef struct FitChunks FitChunks;

/* Which rows an evaluation sums: all of them, or the fit's sample */
typedef enum FitRowSet
{
	FIT_ALL_ROWS,
	FIT_SAMPLE,
	FIT_ROW_SETS
} FitRowSet;

extern void crm_fit_define_settings(void);
extern FitChunks *crm_fit_chunks_begin(const WeightedRows *rows,
									   const WeightedRows *sample,
									   CrmLoglik loglik, void *arg,
									   int nparams);
extern double crm_fit_chunks_loglik(FitChunks *chunks, FitRowSet set,
									const double *p, double *grad);
extern void crm_fit_chunks_end(FitChunks *chunks);

#endif							/* CRM_FIT_PARALLEL_H */
