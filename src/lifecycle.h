/*
 * lifecycle.h
 *		The lifecycle decision table, shared by crm_lifecycle_stage
 *		(lifecycle.c) and the fold of tracked orders (track/fold.c).
 */
#ifndef CRM_LIFECYCLE_H
#define CRM_LIFECYCLE_H

#include "datatype/timestamp.h"

#define CRM_NUM_STAGES 6

/* In the order of the crm_lifecycle enum labels */
typedef enum CrmLifecycle
{
	CRM_STAGE_PROSPECT,
	CRM_STAGE_ACQUISITION,
	CRM_STAGE_GROWTH,
	CRM_STAGE_MATURITY,
	CRM_STAGE_DECLINE,
	CRM_STAGE_CHURNED
} CrmLifecycle;

/* The settings of the decision table, checked */
typedef struct CrmLifecycleSettings
{
	double		decline_gaps;
	double		churn_gaps;
	int32		mature_orders;
	double		one_time_churn; /* microseconds */
	double		min_gap;		/* microseconds */
} CrmLifecycleSettings;

/* crm_lifecycle_stage's defaults, as its SQL declaration gives them */
extern const CrmLifecycleSettings crm_lifecycle_defaults;
extern const char *const crm_lifecycle_labels[CRM_NUM_STAGES];

extern CrmLifecycle crm_lifecycle_of(int64 orders, TimestampTz first_at,
									 TimestampTz last_at, TimestampTz as_of,
									 const CrmLifecycleSettings *settings);

#endif							/* CRM_LIFECYCLE_H */
