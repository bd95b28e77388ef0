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

#define WROWS_MAX_WIDTH 3

typedef struct WeightedRow
{
	double		v[WROWS_MAX_WIDTH];
	double		weight;
} WeightedRow;

typedef struct WeightedRows
{
	int			width;			/* numbers per row */
	bool		has_setting;	/* setting was given */
	double		setting;		/* a constant argument, e.g. the penalizer */
	int64		customers;		/* rows added, before merging */
	int64		nrows;			/* rows in use */
	int64		maxrows;		/* rows allocated */
	int64		merged;			/* rows[0 .. merged) are sorted and distinct */
	WeightedRow *rows;
	void	   *scratch;		/* a fit's working memory, or NULL */
} WeightedRows;

extern WeightedRows *crm_wrows_new(MemoryContext context, int width);
extern void crm_wrows_add(WeightedRows *state, const double *v, double weight,
						  MemoryContext context);
extern void crm_wrows_merge(WeightedRows *state);
extern void crm_wrows_append(WeightedRows *into, WeightedRows *from,
							 MemoryContext context);

#endif							/* CRM_WEIGHTED_ROWS_H */
