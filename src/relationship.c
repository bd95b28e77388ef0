/*
 * relationship.c
 *		Relationship type from the two dimensions customer value and
 *		customer loyalty, each high or low.
 */
#include "postgres.h"

#include "crm.h"

/* crm_relationship enum labels, in the order of the values below */
static const char *const relationship_labels[] = {
	"acquaintance", "functional", "emotional", "partnership"
};

typedef enum CrmRelationship
{
	CRM_REL_ACQUAINTANCE,		/* low value, low loyalty */
	CRM_REL_FUNCTIONAL,			/* high value, low loyalty */
	CRM_REL_EMOTIONAL,			/* low value, high loyalty */
	CRM_REL_PARTNERSHIP			/* high value, high loyalty */
} CrmRelationship;

/*
 * crm_relationship(value_score, loyalty_score, value_cut, loyalty_cut)
 *
 * Both scores are on a 0-100 scale (crm_loyalty_score's, or 100 x the
 * percent rank of value); a score at or above its cut counts as high.
 */
PG_FUNCTION_INFO_V1(crm_relationship);
Datum
crm_relationship(PG_FUNCTION_ARGS)
{
	double		value_score = PG_GETARG_FLOAT8(0);
	double		loyalty_score = PG_GETARG_FLOAT8(1);
	double		value_cut = PG_GETARG_FLOAT8(2);
	double		loyalty_cut = PG_GETARG_FLOAT8(3);
	bool		value_high;
	bool		loyalty_high;
	CrmRelationship type;

	crm_check_range("value_score", value_score, 0.0, 100.0);
	crm_check_range("loyalty_score", loyalty_score, 0.0, 100.0);
	crm_check_range("value_cut", value_cut, 0.0, 100.0);
	crm_check_range("loyalty_cut", loyalty_cut, 0.0, 100.0);

	value_high = value_score >= value_cut;
	loyalty_high = loyalty_score >= loyalty_cut;
	if (value_high)
		type = loyalty_high ? CRM_REL_PARTNERSHIP : CRM_REL_FUNCTIONAL;
	else
		type = loyalty_high ? CRM_REL_EMOTIONAL : CRM_REL_ACQUAINTANCE;

	return crm_enum_result(fcinfo, relationship_labels,
						   lengthof(relationship_labels), type);
}
