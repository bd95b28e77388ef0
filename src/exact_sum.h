/*
 * exact_sum.h
 *		Sums of doubles that do not depend on the order of the terms: every
 *		term is added exactly, and the total is rounded once at the end.
 */
#ifndef CRM_EXACT_SUM_H
#define CRM_EXACT_SUM_H

#include "postgres.h"

/*
 * A fixed-point number wide enough for any sum of finite doubles: bit 0 is
 * 2^-1074 (the smallest double), and the top limbs leave room above 2^1024
 * for the carries of 2^31 terms.  32 bits per limb in an int64, so that
 * carries can wait.
 */
#define CRM_EXACT_SUM_LIMBS 68

typedef struct CrmExactSum
{
	int64		limbs[CRM_EXACT_SUM_LIMBS];
	int64		pending;		/* terms added since the carries were last passed on */
} CrmExactSum;

extern void crm_exact_sum_init(CrmExactSum *sum);
extern void crm_exact_sum_add(CrmExactSum *sum, double x);
extern void crm_exact_sum_merge(CrmExactSum *into, const CrmExactSum *from);
extern double crm_exact_sum_value(const CrmExactSum *sum);

#endif							/* CRM_EXACT_SUM_H */
