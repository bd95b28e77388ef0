/*
 * loyalty.h
 *		The loyalty decision table, shared by crm_loyalty_type (loyalty.c)
 *		and the customer state trigger (track/trigger.c).
 */
#ifndef CRM_LOYALTY_H
#define CRM_LOYALTY_H

#define CRM_NUM_LOYALTY 8

/* In the order of the crm_loyalty enum labels */
typedef enum CrmLoyalty
{
	CRM_LOYALTY_NONE,
	CRM_LOYALTY_MONOPOLY,
	CRM_LOYALTY_INERTIA,
	CRM_LOYALTY_LATENT,
	CRM_LOYALTY_BENEFIT,
	CRM_LOYALTY_INCENTIVE,
	CRM_LOYALTY_BRAND,
	CRM_LOYALTY_DEVOTED
} CrmLoyalty;

/* Default thresholds of "high", as crm_loyalty_type's defaults */
#define CRM_HIGH_REPEAT 0.5
#define CRM_HIGH_ATTITUDE 0.7
#define CRM_HIGH_PROMO 0.5
#define CRM_HIGH_PRICE_SENSITIVITY 0.5

extern const char *const crm_loyalty_labels[CRM_NUM_LOYALTY];
extern CrmLoyalty crm_loyalty_of(bool repeat_high, bool no_alternative,
								 bool promo_high, bool price_high,
								 bool attitude_high, bool refers);

#endif							/* CRM_LOYALTY_H */
