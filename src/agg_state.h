/*
 * agg_state.h
 *		crm_agg_state: the transition type of crm's population aggregates,
 *		a C state kept in memory as an expanded object while an aggregate
 *		runs, and flattened to bytes only when it has to travel.
 */
#ifndef CRM_AGG_STATE_H
#define CRM_AGG_STATE_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "port/pg_bswap.h"
#include "utils/expandeddatum.h"

/*
 * A kind of state: how its C struct is written to and read from bytes.
 * write writes compact bytes when asked (for text, which may cross a
 * network: worth some work to make short), else the quickest to write (for
 * parallel workers, whose states cross shared memory); read reads either.
 * read allocates the struct in context; it checks that the bytes are there
 * before it reads them and reports bad bytes as
 * ERRCODE_INVALID_BINARY_REPRESENTATION (bytes left over are the caller's
 * to find).
 */
typedef struct CrmAggStateKind
{
	uint8		tag;			/* written first, so any state can be read */
	const char *name;			/* for error messages */
	void		(*write) (const void *data, StringInfo buf, bool compact);
	void	   *(*read) (StringInfo buf, MemoryContext context);
} CrmAggStateKind;

/* The expanded form: the C struct and the memory it owns */
typedef struct CrmAggState
{
	ExpandedObjectHeader hdr;
	const CrmAggStateKind *kind;
	void	   *data;			/* the kind's struct, in hdr.eoh_context */
	StringInfoData flat;		/* the bytes of the last flattening */
	bool		flat_valid;		/* ... and the data has not been handed out since */
} CrmAggState;

#define CrmAggStateContext(state) ((state)->hdr.eoh_context)
#define PG_RETURN_CRM_AGG_STATE(state) \
	PG_RETURN_DATUM(EOHPGetRWDatum(&(state)->hdr))

extern CrmAggState *crm_agg_state_new(FunctionCallInfo fcinfo,
									  const CrmAggStateKind *kind,
									  const char *fname);
extern CrmAggState *crm_agg_state_for_update(FunctionCallInfo fcinfo, int argno,
											 const CrmAggStateKind *kind,
											 const char *fname);
extern void *crm_agg_state_data(FunctionCallInfo fcinfo, int argno,
								const CrmAggStateKind *kind);
extern bool crm_agg_state_flat_bytes(FunctionCallInfo fcinfo, int argno,
									 const CrmAggStateKind *kind, StringInfo buf);
extern void crm_agg_state_end_bytes(StringInfo buf, const CrmAggStateKind *kind);

/*
 * n float8s into buf in network byte order, as n calls of pq_sendfloat8
 * would write them, and back; a state of a million rows has millions, so
 * without a call and a check of room each.  The writer's caller has made
 * room (enlargeStringInfo), the reader's has checked that the bytes are
 * there.
 */
static inline void
crm_agg_state_put_float8s(StringInfo buf, const double *v, int64 n)
{
	Assert(buf->len + n * (int64) sizeof(double) < buf->maxlen);
	for (int64 i = 0; i < n; i++)
	{
		uint64		bits;

		memcpy(&bits, &v[i], sizeof(bits));
		bits = pg_hton64(bits);
		memcpy(buf->data + buf->len, &bits, sizeof(bits));
		buf->len += sizeof(bits);
	}
	buf->data[buf->len] = '\0';
}

static inline void
crm_agg_state_get_float8s(StringInfo buf, double *v, int64 n)
{
	Assert(buf->cursor + n * (int64) sizeof(double) <= buf->len);
	for (int64 i = 0; i < n; i++)
	{
		uint64		bits;

		memcpy(&bits, buf->data + buf->cursor, sizeof(bits));
		buf->cursor += sizeof(bits);
		bits = pg_ntoh64(bits);
		memcpy(&v[i], &bits, sizeof(bits));
	}
}

#endif							/* CRM_AGG_STATE_H */
