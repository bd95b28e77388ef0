/*
 * amount.h
 *		Exact sums of numeric amounts in 128-bit integers (amount.c).
 */
#ifndef CRM_AMOUNT_H
#define CRM_AMOUNT_H

#include "utils/numeric.h"

/* Amounts are counted in units of 10^-CRM_AMOUNT_SCALE */
#define CRM_AMOUNT_SCALE 8

#ifdef HAVE_INT128
typedef int128 crm_units;
#else
typedef int64 crm_units;		/* unused: crm_amount_units always fails */
#endif

extern bool crm_amount_units(Datum value, crm_units *units, int *dscale);
extern bool crm_amount_sum_is_safe(crm_units total);
extern Numeric crm_amount_numeric(crm_units units, int dscale);

#endif							/* CRM_AMOUNT_H */
