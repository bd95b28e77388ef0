/*
 * crm.c
 *		Module entry (the crm.* settings) and the helpers every
 *		SQL-callable function shares: argument checks with the project's
 *		SQLSTATE conventions, and the enum result lookup.
 *
 * Error conventions (documented in the README):
 *	- NaN or infinity where a number is expected: 22023 invalid_parameter_value
 *	- a number outside its allowed range: 22003 numeric_value_out_of_range
 *	  (as core's percentile_cont does for a fraction outside [0,1])
 *	- an array of the wrong shape or length: 2202E array_subscript_error
 *	- a NULL where a value is required: 22004 null_value_not_allowed
 *	- arguments that are fine alone but not together: 22023
 */
#include "postgres.h"

#include <math.h>
#ifndef WIN32
#include <sys/mman.h>
#include <unistd.h>
#endif

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "crm.h"
#include "fit_parallel.h"
#include "track/track.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Loading the module defines the crm.* settings and reserves the prefix */
void
_PG_init(void)
{
	crm_track_relay_define_settings();
	crm_fit_define_settings();
	MarkGUCPrefixReserved("crm");
	crm_track_tracking_init();
	crm_track_pending_init();
}

/*
 * Ensure a number is neither NaN nor infinite
 */
void
crm_check_finite(const char *name, double value)
{
	if (isnan(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot be NaN", name)));
	if (isinf(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s cannot be infinity", name)));
}

/*
 * Ensure a number is finite and in [low, high]
 */
void
crm_check_range(const char *name, double value, double low, double high)
{
	crm_check_finite(name, value);
	if (value < low || value > high)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s must be between %g and %g", name, low, high),
				 errdetail("The value was %g.", value)));
}

/*
 * Ensure a number is a whole number in [low, high]: a count of periods,
 * opportunities or customers
 */
void
crm_check_whole(const char *name, double value, double low, double high)
{
	crm_check_range(name, value, low, high);
	if (value != floor(value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a whole number", name),
				 errdetail("The value was %g.", value)));
}

/*
 * Ensure a number is a fraction in [0, 1]
 */
void
crm_check_fraction(const char *name, double value)
{
	crm_check_range(name, value, 0.0, 1.0);
}

/*
 * Ensure a number is finite and not negative
 */
void
crm_check_nonnegative(const char *name, double value)
{
	crm_check_finite(name, value);
	if (value < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s must not be negative", name),
				 errdetail("The value was %g.", value)));
}

/*
 * Ensure a settings argument (one with a default) was not passed as NULL;
 * an unknown threshold must not silently turn every result into NULL.
 */
void
crm_check_not_null(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/*
 * Map the whole pages of [start, start + len) now, where the kernel can
 * (Linux 5.14's MADV_POPULATE_WRITE; elsewhere, or on an error, the pages
 * are mapped by faults as usual).  The first write to each fresh page of
 * a large array is a page fault, and on a virtual machine a fault is
 * dear: about 10 microseconds on the 2-core machine of the benchmarks,
 * some 0.1 s for the 48 MB a million covariate rows of a fit take, where
 * one call maps them in 5 ms.  The contents are not touched.
 */
void
crm_prefault(void *start, Size len)
{
#ifdef MADV_POPULATE_WRITE
	static uintptr_t page = 0;
	uintptr_t	from,
				to;

	if (page == 0)
		page = (uintptr_t) sysconf(_SC_PAGESIZE);
	from = TYPEALIGN(page, (uintptr_t) start);
	to = TYPEALIGN_DOWN(page, (uintptr_t) start + len);
	if (to > from)
		(void) madvise((void *) from, to - from, MADV_POPULATE_WRITE);
#endif
}

/*
 * The aggregate memory context of a support function of one of our
 * aggregates; calling one outside an aggregate is an error, not undefined
 * behaviour.
 */
MemoryContext
crm_aggregate_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcontext;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s called in non-aggregate context", fname)));
	return aggcontext;
}

/*
 * Copy a one-dimensional float8[] of exactly nelems non-NULL elements into
 * values.  Elements must be finite, or with allow_infinity at least not NaN.
 */
void
crm_get_float8_array(ArrayType *array, const char *name, int nelems,
					 bool allow_infinity, double *values)
{
	int			n = ArrayGetNItems(ARR_NDIM(array), ARR_DIMS(array));
	double	   *data;

	if (ARR_NDIM(array) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", name)));
	if (n != nelems)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must have exactly %d elements", name, nelems),
				 errdetail("The array has %d.", n)));
	if (ARR_HASNULL(array))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain nulls", name)));
	Assert(ARR_ELEMTYPE(array) == FLOAT8OID);

	data = (double *) ARR_DATA_PTR(array);
	for (int i = 0; i < n; i++)
	{
		if (!allow_infinity || isnan(data[i]))
			crm_check_finite(name, data[i]);
		values[i] = data[i];
	}
}

/*
 * The OID of label "label" of enum type enumtype
 */
Datum
crm_enum_label(Oid enumtype, const char *label)
{
	HeapTuple	tup;
	Oid			oid;

	tup = SearchSysCache2(ENUMTYPOIDNAME, ObjectIdGetDatum(enumtype),
						  CStringGetDatum(label));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "enum %s has no label \"%s\"",
			 format_type_be(enumtype), label);
	oid = ((Form_pg_enum) GETSTRUCT(tup))->oid;
	ReleaseSysCache(tup);
	return ObjectIdGetDatum(oid);
}

/*
 * Return label "which" of the calling function's enum result type.
 *
 * The label OIDs are looked up in pg_enum once per call site and kept in
 * fn_extra, so a query classifying millions of rows pays for the catalog
 * lookups once.  The result type comes from the function's own catalog
 * entry, which keeps working when the extension lives in any schema.
 */
Datum
crm_enum_result(FunctionCallInfo fcinfo, const char *const *labels,
				int nlabels, int which)
{
	Datum	   *oids = (Datum *) fcinfo->flinfo->fn_extra;

	Assert(which >= 0 && which < nlabels);
	if (oids == NULL)
	{
		Oid			enumtype = get_func_rettype(fcinfo->flinfo->fn_oid);

		oids = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
								  sizeof(Datum) * nlabels);
		for (int i = 0; i < nlabels; i++)
			oids[i] = crm_enum_label(enumtype, labels[i]);
		fcinfo->flinfo->fn_extra = oids;
	}
	return oids[which];
}

static int
day_cmp(const void *a, const void *b)
{
	DateADT		x = *(const DateADT *) a;
	DateADT		y = *(const DateADT *) b;

	return (x > y) - (x < y);
}

/*
 * Position of day in days[0 .. n), sorted ascending, or where it would go;
 * *found says whether it is there
 */
int
crm_day_position(const DateADT *days, int n, DateADT day, bool *found)
{
	int			lo = 0,
				hi = n;

	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < n && days[lo] == day;
	return lo;
}

/*
 * A date[] of the distinct days among days[0 .. n), ascending; sorts days
 * in place
 */
ArrayType *
crm_days_array(DateADT *days, int n)
{
	Datum	   *elems = palloc(sizeof(Datum) * (n + 1));
	int			nunique = 0;

	qsort(days, n, sizeof(DateADT), day_cmp);
	for (int i = 0; i < n; i++)
		if (nunique == 0 || days[i] != DatumGetDateADT(elems[nunique - 1]))
			elems[nunique++] = DateADTGetDatum(days[i]);
	return construct_array(elems, nunique, DATEOID, sizeof(DateADT), true,
						   TYPALIGN_INT);
}
