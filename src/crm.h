/*
 * crm.h
 *		Declarations shared by the crm extension's C files: the argument
 *		checks every entry point uses and the enum result helper.
 */
#ifndef CRM_H
#define CRM_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/array.h"
#include "datatype/timestamp.h"
#include "utils/date.h"

/* Argument checks (crm.c); each reports the argument by its SQL name. */
extern void crm_check_finite(const char *name, double value);
extern void crm_check_range(const char *name, double value, double low,
							double high);
extern void crm_check_fraction(const char *name, double value);
extern void crm_check_whole(const char *name, double value, double low, double high);
extern void crm_check_nonnegative(const char *name, double value);
extern void crm_check_not_null(FunctionCallInfo fcinfo, int argno,
							   const char *name);
extern void crm_get_float8_array(ArrayType *array, const char *name,
								 int nelems, bool allow_infinity,
								 double *values);

/* The aggregate memory context; an error outside an aggregate */
extern MemoryContext crm_aggregate_context(FunctionCallInfo fcinfo,
										   const char *fname);

/* Map fresh memory's pages in one call instead of a fault each (crm.c) */
extern void crm_prefault(void *start, Size len);

/* The distinct days of days[0 .. n) as a sorted date[] */
extern int	crm_day_position(const DateADT *days, int n, DateADT day, bool *found);
extern ArrayType *crm_days_array(DateADT *days, int n);

/* rfm.c: the length of a time unit in days (crm_rfm's unit argument) */
extern double crm_unit_in_days(Interval *unit);

/* Enum label OIDs: by type and name, or of the calling function's result */
extern Datum crm_enum_label(Oid enumtype, const char *label);
extern Datum crm_enum_result(FunctionCallInfo fcinfo,
							 const char *const *labels, int nlabels,
							 int which);

#endif							/* CRM_H */
