/*
 * tier.h
 *		The customer pyramid's tiers and cuts, shared by the scalar tier
 *		functions (tier.c) and the population aggregates (value_agg.c).
 */
#ifndef CRM_TIER_H
#define CRM_TIER_H

#include "utils/array.h"

#define CRM_NUM_CUTS 3
#define CRM_NUM_TIERS 4

/* In the order of the crm_tier enum labels */
typedef enum CrmTier
{
	CRM_TIER_SMALL,
	CRM_TIER_ORDINARY,
	CRM_TIER_MAJOR,
	CRM_TIER_VIP
} CrmTier;

extern const char *const crm_tier_labels[CRM_NUM_TIERS];
extern const double crm_default_cuts[CRM_NUM_CUTS];

extern void crm_get_cuts(ArrayType *array, double *cuts);
extern CrmTier crm_tier_of_fraction(double fraction, const double *cuts);
extern int64 crm_tier_size(int64 total, double cut);
extern CrmTier crm_tier_of_value(double value, ArrayType *thresholds);

#endif							/* CRM_TIER_H */
