/*
 * weighted_rows.h
 *		The state of the model-fitting aggregates: customer summary rows of
 *		a few numbers each, identical rows merged into one with a weight.
 */
#ifndef CRM_WEIGHTED_ROWS_H
#define CRM_WEIGHTED_ROWS_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"

/* Most covariates a model fit takes per customer (covariates.c) */
#define CRM_MAX_COVARIATES 8

/* A customer summary and covariates, as the covariate fits keep them */
#define WROWS_MAX_WIDTH (3 + CRM_MAX_COVARIATES)

/* One row: its weight, then width numbers */
typedef struct WeightedRow
{
	double		weight;
	double		v[FLEXIBLE_ARRAY_MEMBER];
} WeightedRow;

typedef struct WeightedRows
{
	int			width;			/* numbers per row */
	int			key_from;		/* rows sort by v[key_from ..], then v[0 ..] */
	bool		has_setting;	/* setting was given */
	double		setting;		/* a constant argument, e.g. the penalizer */
	int64		customers;		/* rows added, before merging */
	int64		nrows;			/* rows in use */
	int64		maxrows;		/* rows allocated */
	int64		merged;			/* rows [0 .. merged) are sorted and distinct */
	int64		merge_at;		/* merge when full only from this many rows on */
	char	   *data;			/* the rows, crm_wrow_size(width) bytes each */
	int64		mapped;			/* rows [0 .. mapped) have their pages (crm_prefault) */
	void	   *scratch;		/* a fit's working memory, or NULL */
} WeightedRows;

static inline Size
crm_wrow_size(int width)
{
	return sizeof(double) * (1 + width);
}

/* Row i of rows */
static inline WeightedRow *
crm_wrow(const WeightedRows *rows, int64 i)
{
	return (WeightedRow *) (rows->data + i * crm_wrow_size(rows->width));
}

extern WeightedRows *crm_wrows_new(MemoryContext context, int width);
extern void crm_wrows_add(WeightedRows *state, const double *v, double weight,
						  MemoryContext context);
extern void crm_wrows_merge(WeightedRows *state);
extern void crm_wrows_append(WeightedRows *into, WeightedRows *from,
							 MemoryContext context);

#endif							/* CRM_WEIGHTED_ROWS_H */
