/*
 * rfm.c
 *		The crm_rfm aggregate: one pass over a customer's orders gives the
 *		RFM figures (orders, revenue, first and last order, time since the
 *		last order) and the summary the probabilistic models use.
 *
 * Model summary, as in the literature (Fader, Hardie & Lee 2005) and the
 * lifetimes library: orders are grouped into purchase days in the session
 * TimeZone; frequency is the number of purchase days after the first one,
 * recency the time from the first to the last purchase day, t the time
 * from the first purchase day to as_of, and the average repeat value the
 * mean over repeat purchase days of each day's total.  All three times are
 * whole days divided by the unit (a week unit gives days / 7).
 *
 * State: counts, the first and last timestamps, the revenue and the revenue
 * of the first purchase day -- exact, as 128-bit counts of 10^-8 units
 * (amount.c) while the amounts allow, else in core's numeric accumulator --
 * and the set of purchase days: inline for up to eight days, a bitmap or a
 * hash set beyond, so each order costs O(1) and a customer with n orders
 * on d days costs O(n) time and O(d) memory, never O(n^2).
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "pgtime.h"
#include "port/pg_bitutils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "amount.h"
#include "crm.h"

/* numeric infinities arrived in PostgreSQL 14 */
#if PG_VERSION_NUM >= 140000
#define NUMERIC_NOT_FINITE(n) (numeric_is_nan(n) || numeric_is_inf(n))
#else
#define NUMERIC_NOT_FINITE(n) numeric_is_nan(n)
#endif

/* Serialised state format; bump when the layout changes */
#define RFM_STATE_VERSION 1

/* Days kept inside the state before the day set moves to its own chunk */
#define RFM_INLINE_DAYS 8

/* Days an out-of-line set takes in before they are looked up in it */
#define RFM_PENDING_DAYS 4

/* How the state keeps its purchase days (see add_day); inline is zero */
#define DAYS_INLINE 0
#define DAYS_BITMAP 'b'
#define DAYS_HASH 'h'

/*
 * The state is 128 bytes (an allocation chunk of its own size): with
 * millions of customers it is rarely in cache, and each line an order
 * reads shows.  The first 64 bytes hold all an order on a customer's first
 * purchase day touches -- most orders, as most customers buy once -- the
 * rest the day set and what only the final function reads.  The revenue
 * sums are either unit counts or numeric values, never both at once.
 */
typedef struct RfmState
{
	union
	{
		crm_units	units;		/* unit mode: in 10^-8 units */
		Datum		numeric;	/* numeric mode: core's NumericAggState */
	}			revenue;
	union
	{
		crm_units	units;		/* unit mode: in 10^-8 units */
		Numeric		numeric;	/* numeric mode: a copy of our own */
	}			first_day_revenue;	/* revenue of first_day */
	TimestampTz first_at;
	TimestampTz last_at;
	int64		orders;
	DateADT		first_day;		/* purchase day of first_at */
	int16		dscale;			/* unit mode: largest display scale seen */
	bool		numeric_mode;	/* an amount did not fit in units */
	char		day_mode;		/* DAYS_INLINE, DAYS_BITMAP or DAYS_HASH */

	union
	{
		DateADT		inline_days[RFM_INLINE_DAYS];
		/* out of line; base and size here, so one miss finds a day's slot */
		struct
		{
			void	   *set;	/* bitmap words, or hash slots */
			DateADT		base;	/* bitmap mode: the day of bit 0 */
			int32		size;	/* words of the bitmap, or hash slots */
			DateADT		pending[RFM_PENDING_DAYS];	/* not yet in set */
		}			ext;
	}			days;
	TimestampTz as_of;
	double		unit_days;
	int32		ndays;			/* distinct days inline or in set */
	DateADT		last_added_day; /* the day add_day saw last */
	uint8		npending;		/* days in days.ext.pending */
	bool		has_as_of;		/* as_of and unit_days were given */
} RfmState;

#ifdef HAVE_INT128
StaticAssertDecl(sizeof(RfmState) == 128,
				 "RfmState must fill a 128-byte allocation chunk exactly");
StaticAssertDecl(offsetof(RfmState, days) == 64,
				 "the first half of RfmState must hold the per-order fields");
#endif

/*
 * Ask for every line of a state as soon as the state is known: the misses
 * then overlap each other and the work done before the state is first read.
 */
#if defined(__GNUC__) || defined(__clang__)
#define prefetch_line(p) __builtin_prefetch(p)
#else
#define prefetch_line(p) ((void) 0)
#endif
#define prefetch_state(state) \
	(prefetch_line(state), \
	 prefetch_line((char *) (state) + 64), \
	 prefetch_line((char *) (state) + sizeof(RfmState) - 1))

/*
 * Local days without a calendar conversion per row.  The local date of a
 * timestamp is floor((ts + UTC offset) / day); the offset changes only at
 * the zone's DST transitions, so we remember a few intervals over which it
 * holds (found with pg_next_dst_boundary, as datetime.c does) and most rows
 * cost one comparison and one division.  Zones without DST (UTC, fixed
 * offsets) need no intervals at all.
 */
#define DAY_CACHE_SPANS 16

typedef struct OffsetSpan
{
	TimestampTz start;			/* offset holds from start ... */
	TimestampTz end;			/* ... up to end (exclusive) */
	int64		offset;			/* UTC offset in microseconds */
} OffsetSpan;

typedef struct DayCache
{
	pg_tz	   *tz;				/* the zone the cache was filled for */
	bool		fixed;			/* tz has one offset for all time */
	int64		fixed_offset;
	int			nspans;
	int			next_victim;	/* round-robin replacement */
	OffsetSpan	spans[DAY_CACHE_SPANS];
} DayCache;

static inline DateADT
day_of(TimestampTz ts, int64 offset)
{
	int64		local = ts + offset;
	int64		day = local / USECS_PER_DAY;

	/* round toward minus infinity for times before 2000-01-01 */
	if (local < 0 && day * USECS_PER_DAY != local)
		day--;
	return (DateADT) day;
}

/*
 * The UTC offset of the session TimeZone at ts, caching the span it holds.
 */
static int64
utc_offset(TimestampTz ts, DayCache *cache)
{
	pg_time_t	t = timestamptz_to_time_t(ts);
	long int	before_gmtoff;
	long int	after_gmtoff;
	int			before_isdst;
	int			after_isdst;
	pg_time_t	boundary;
	OffsetSpan *span;
	TimestampTz end;
	int			found;

	for (int i = 0; i < cache->nspans; i++)
		if (ts >= cache->spans[i].start && ts < cache->spans[i].end)
			return cache->spans[i].offset;

	found = pg_next_dst_boundary(&t, &before_gmtoff, &before_isdst, &boundary,
								 &after_gmtoff, &after_isdst, cache->tz);
	if (found < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("could not determine the time zone offset")));
	end = found ? time_t_to_timestamptz(boundary) : DT_NOEND;

	/* grow a span that ends at the same boundary, or take a free slot */
	for (int i = 0; i < cache->nspans; i++)
		if (cache->spans[i].end == end &&
			cache->spans[i].offset == (int64) before_gmtoff * USECS_PER_SEC)
		{
			cache->spans[i].start = Min(cache->spans[i].start, ts);
			return cache->spans[i].offset;
		}
	if (cache->nspans < DAY_CACHE_SPANS)
		span = &cache->spans[cache->nspans++];
	else
	{
		span = &cache->spans[cache->next_victim];
		cache->next_victim = (cache->next_victim + 1) % DAY_CACHE_SPANS;
	}
	span->start = ts;
	span->end = end;
	span->offset = (int64) before_gmtoff * USECS_PER_SEC;
	return span->offset;
}

/*
 * The date of a timestamp in time zone "zone" (the session TimeZone for
 * all but crm_purchase_summary with a time zone).
 */
static DateADT
local_day(TimestampTz ts, DayCache *cache, pg_tz *zone)
{
	if (cache->tz != zone)
	{
		long int	gmtoff;

		memset(cache, 0, sizeof(DayCache));
		cache->tz = zone;
		cache->fixed = pg_get_timezone_offset(zone, &gmtoff);
		cache->fixed_offset = (int64) gmtoff * USECS_PER_SEC;
	}
	if (cache->fixed)
		return day_of(ts, cache->fixed_offset);
	return day_of(ts, utc_offset(ts, cache));
}

/*
 * What the transition function keeps across rows, in fn_extra: the day
 * cache, and as_of and unit as the first row gave them.  While every row
 * repeats them (the usual constant as_of), every state holds them too and
 * rows need not be checked against their state's copy, which lives outside
 * the state's first half.
 */
typedef struct RfmCall
{
	DayCache	days;
	bool		has_as_of;
	bool		uniform;		/* every row so far had as_of and unit */
	TimestampTz as_of;
	double		unit_days;
	pg_tz	   *zone;			/* purchase days' zone; NULL: the session's */
	char	   *zone_name;
} RfmCall;

static RfmCall *
get_call(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra =
			MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RfmCall));
	return (RfmCall *) fcinfo->flinfo->fn_extra;
}

/*
 * Call one of core's numeric sum support functions (numeric_avg_accum and
 * friends) on behalf of our aggregate: they need the aggregate context,
 * which we pass on.
 */
static Datum
call_numeric_support(PGFunction fn, FunctionCallInfo fcinfo, int nargs,
					 Datum arg0, bool null0, Datum arg1, bool null1,
					 bool *isnull)
{
	LOCAL_FCINFO(inner, 2);
	Datum		result;

	InitFunctionCallInfoData(*inner, NULL, nargs, InvalidOid,
							 fcinfo->context, NULL);
	inner->args[0].value = arg0;
	inner->args[0].isnull = null0;
	inner->args[1].value = arg1;
	inner->args[1].isnull = null1;
	result = fn(inner);
	if (isnull)
		*isnull = inner->isnull;
	return result;
}

/*
 * A new, empty state: zeroed memory is one, but for the unit.  Allocated
 * where the executor has just put the group's key and per-group data, so
 * that a hash aggregate finds all three close together.
 */
static RfmState *
new_state(MemoryContext aggcontext)
{
	RfmState   *state = MemoryContextAllocZero(aggcontext, sizeof(RfmState));

	state->unit_days = 1.0;
	return state;
}

/*
 * Numeric mode: replace the first day's revenue with a copy of value.
 */
static void
set_first_day_revenue(RfmState *state, Numeric value, MemoryContext aggcontext)
{
	if (state->first_day_revenue.numeric != NULL)
		pfree(state->first_day_revenue.numeric);
	state->first_day_revenue.numeric = MemoryContextAlloc(aggcontext, VARSIZE(value));
	memcpy(state->first_day_revenue.numeric, value, VARSIZE(value));
}

/*
 * Leave unit mode: carry the sums so far over to numeric arithmetic.  The
 * numeric fields share their memory with the unit counts, so both counts
 * are read before either field is written.
 */
static void
switch_to_numeric(RfmState *state, FunctionCallInfo fcinfo,
				  MemoryContext aggcontext)
{
	Numeric		revenue;
	Numeric		first_day_revenue;

	if (state->numeric_mode)
		return;
	state->numeric_mode = true;
	if (state->orders == 0)
	{
		state->revenue.numeric = (Datum) 0;
		state->first_day_revenue.numeric = NULL;
		return;
	}
	revenue = crm_amount_numeric(state->revenue.units, state->dscale);
	first_day_revenue = crm_amount_numeric(state->first_day_revenue.units,
										   state->dscale);
	state->revenue.numeric =
		call_numeric_support(numeric_avg_accum, fcinfo, 2, (Datum) 0, true,
							 NumericGetDatum(revenue), false, NULL);
	state->first_day_revenue.numeric = NULL;
	set_first_day_revenue(state, first_day_revenue, aggcontext);
}

/* Where an amount's day stands relative to the first purchase day */
typedef enum DayPosition
{
	DAY_BEFORE_FIRST,			/* a new first day */
	DAY_IS_FIRST,
	DAY_AFTER_FIRST
} DayPosition;

/*
 * Add an amount to the revenue and, when it falls on (or before) the first
 * purchase day, to that day's revenue.
 */
static void
add_amount(RfmState *state, Datum value, DayPosition position,
		   FunctionCallInfo fcinfo, MemoryContext aggcontext)
{
	crm_units	units;
	int			dscale;
	Numeric		amount;

	/* only the sums this order adds to need room for it */
	if (!state->numeric_mode &&
		crm_amount_units(value, &units, &dscale) &&
		crm_amount_sum_is_safe(state->revenue.units) &&
		(position != DAY_IS_FIRST || crm_amount_sum_is_safe(state->first_day_revenue.units)))
	{
		state->revenue.units += units;
		state->dscale = Max(state->dscale, dscale);
		if (position == DAY_BEFORE_FIRST)
			state->first_day_revenue.units = units;
		else if (position == DAY_IS_FIRST)
			state->first_day_revenue.units += units;
		return;
	}

	amount = DatumGetNumeric(value);
	if (NUMERIC_NOT_FINITE(amount))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("amount must be a finite number")));
	switch_to_numeric(state, fcinfo, aggcontext);
	state->revenue.numeric =
		call_numeric_support(numeric_avg_accum, fcinfo, 2,
							 state->revenue.numeric, state->revenue.numeric == 0,
							 NumericGetDatum(amount), false, NULL);
	if (position == DAY_BEFORE_FIRST)
		set_first_day_revenue(state, amount, aggcontext);
	else if (position == DAY_IS_FIRST)
		set_first_day_revenue(state,
							  DatumGetNumeric(DirectFunctionCall2(numeric_add,
																  NumericGetDatum(state->first_day_revenue.numeric),
																  NumericGetDatum(amount))),
							  aggcontext);
}


/*
 * The set of purchase days.  Up to RFM_INLINE_DAYS distinct days live in
 * the state itself, searched linearly.  Beyond that, where the days lie
 * densely (a regular customer: a day in 128 or more of the span), a bitmap
 * over the span from the first to the last day -- a bit test per order,
 * two years in 96 bytes; where they are sparse, an open-addressing hash
 * table of at least twice as many slots as days.  Either way each order
 * costs O(1) however many it follows, and a customer with d days takes
 * O(d) memory.
 *
 * An out-of-line set lies in a chunk of its own, and the line a day falls
 * in is rarely in cache: a lookup per order would cost a regular customer's
 * orders a miss each.  So new days wait in the state (days.ext.pending)
 * and are looked up RFM_PENDING_DAYS at a time, their lines asked for
 * together.  ndays counts the distinct days inline or in the set; the
 * pending days may repeat those or each other, and dayset_count and
 * dayset_copy see through them without changing the state, as a final
 * function must.
 */
/* Most words a bitmap of ndays days may take before it turns into a hash */
#define BITMAP_MAX_WORDS(ndays) (4 + 2 * (int64) (ndays))

#define DAYSET_EMPTY PG_INT32_MIN	/* no finite date has this value */

static inline uint32
dayset_slot(DateADT day, int32 nslots)
{
	/* Fibonacci hashing; nslots is a power of two */
	return ((uint32) day * 2654435769U) & (uint32) (nslots - 1);
}

/* Insert a day known not to be in the (hashed) set */
static void
dayset_put(DateADT *slots, int32 nslots, DateADT day)
{
	uint32		i = dayset_slot(day, nslots);

	while (slots[i] != DAYSET_EMPTY)
		i = (i + 1) & (uint32) (nslots - 1);
	slots[i] = day;
}

/* Whether day is inline or in the set (pending days aside) */
static bool
dayset_contains(const RfmState *state, DateADT day)
{
	if (state->day_mode == DAYS_INLINE)
	{
		for (int32 i = 0; i < state->ndays; i++)
			if (state->days.inline_days[i] == day)
				return true;
		return false;
	}
	if (state->day_mode == DAYS_BITMAP)
	{
		int64		offset = (int64) day - state->days.ext.base;

		return offset >= 0 && offset < (int64) state->days.ext.size * 64 &&
			(((const uint64 *) state->days.ext.set)[offset >> 6] &
			 (UINT64CONST(1) << (offset & 63))) != 0;
	}
	else
	{
		const DateADT *slots = state->days.ext.set;
		int32		nslots = state->days.ext.size;

		for (uint32 i = dayset_slot(day, nslots); slots[i] != DAYSET_EMPTY;
			 i = (i + 1) & (uint32) (nslots - 1))
			if (slots[i] == day)
				return true;
		return false;
	}
}

/* Whether pending day i is in neither the set nor an earlier pending slot */
static bool
pending_day_is_new(const RfmState *state, int i)
{
	DateADT		day = state->days.ext.pending[i];

	for (int j = 0; j < i; j++)
		if (state->days.ext.pending[j] == day)
			return false;
	return !dayset_contains(state, day);
}

/* The number of distinct purchase days, pending ones included */
static int32
dayset_count(const RfmState *state)
{
	int32		n = state->ndays;

	for (int i = 0; i < state->npending; i++)
		if (pending_day_is_new(state, i))
			n++;
	return n;
}

/* Copy the days inline or in the set into out[0 .. ndays) */
static void
dayset_copy_set(const RfmState *state, DateADT *out)
{
	int32		n = 0;

	if (state->day_mode == DAYS_INLINE)
		memcpy(out, state->days.inline_days, sizeof(DateADT) * state->ndays);
	else if (state->day_mode == DAYS_BITMAP)
	{
		const uint64 *words = state->days.ext.set;

		for (int32 w = 0; w < state->days.ext.size; w++)
		{
			uint64		word = words[w];

			while (word != 0)
			{
				out[n++] = state->days.ext.base + w * 64 + pg_rightmost_one_pos64(word);
				word &= word - 1;
			}
		}
	}
	else
	{
		const DateADT *slots = state->days.ext.set;

		for (int32 i = 0; i < state->days.ext.size; i++)
			if (slots[i] != DAYSET_EMPTY)
				out[n++] = slots[i];
	}
}

/* Copy the distinct purchase days into out[0 .. dayset_count), any order */
static void
dayset_copy(const RfmState *state, DateADT *out)
{
	int32		n = state->ndays;

	dayset_copy_set(state, out);
	for (int i = 0; i < state->npending; i++)
		if (pending_day_is_new(state, i))
			out[n++] = state->days.ext.pending[i];
}

/* Replace the set by a hash table of nslots slots */
static void
dayset_to_hash(RfmState *state, int32 nslots, MemoryContext aggcontext)
{
	DateADT    *slots = MemoryContextAllocHuge(aggcontext, sizeof(DateADT) * nslots);
	DateADT    *old = palloc(sizeof(DateADT) * Max(state->ndays, 1));

	for (int32 i = 0; i < nslots; i++)
		slots[i] = DAYSET_EMPTY;
	dayset_copy_set(state, old);
	for (int32 i = 0; i < state->ndays; i++)
		dayset_put(slots, nslots, old[i]);
	pfree(old);
	if (state->day_mode != DAYS_INLINE)
		pfree(state->days.ext.set);
	state->days.ext.set = slots;
	state->days.ext.size = nslots;
	state->day_mode = DAYS_HASH;
}

/*
 * Replace the set, whose days lie in [lo, hi], by a bitmap that also holds
 * day, with room to grow by half its span on the side it grew towards;
 * false, leaving the set as it was, when that would be too sparse
 */
static bool
dayset_to_bitmap(RfmState *state, DateADT lo, DateADT hi, DateADT day,
				 MemoryContext aggcontext)
{
	int64		max_words = BITMAP_MAX_WORDS(state->ndays + 1);
	int64		new_lo = Min(lo, day);
	int64		new_hi = Max(hi, day);
	int64		span = new_hi - new_lo + 1;
	int64		nwords;
	uint64	   *words;
	DateADT    *old;

	if ((span - 1) / 64 + 1 > max_words)
		return false;
	if (day < lo)
		new_lo = Max(Max(new_lo - span / 2, new_hi - 64 * max_words + 1),
					 (int64) PG_INT32_MIN + 1);
	else if (day > hi)
		new_hi = Min(Min(new_hi + span / 2, new_lo + 64 * max_words - 1),
					 (int64) PG_INT32_MAX);
	nwords = (new_hi - new_lo) / 64 + 1;

	words = MemoryContextAllocZero(aggcontext, sizeof(uint64) * nwords);
	old = palloc(sizeof(DateADT) * Max(state->ndays, 1));
	dayset_copy_set(state, old);
	for (int32 i = 0; i < state->ndays; i++)
	{
		int64		offset = (int64) old[i] - new_lo;

		words[offset >> 6] |= UINT64CONST(1) << (offset & 63);
	}
	pfree(old);
	if (state->day_mode != DAYS_INLINE)
		pfree(state->days.ext.set);
	state->days.ext.set = words;
	state->days.ext.base = (DateADT) new_lo;
	state->days.ext.size = (int32) nwords;
	state->day_mode = DAYS_BITMAP;
	return true;
}

/* Add day to an out-of-line set, growing or rebuilding it as needed */
static void
dayset_insert(RfmState *state, DateADT day, MemoryContext aggcontext)
{
	if (likely(state->day_mode == DAYS_BITMAP))
	{
		DateADT		base = state->days.ext.base;
		int64		offset = (int64) day - base;

		if (offset >= 0 && offset < (int64) state->days.ext.size * 64)
		{
			uint64	   *word = &((uint64 *) state->days.ext.set)[offset >> 6];
			uint64		bit = UINT64CONST(1) << (offset & 63);

			if ((*word & bit) == 0)
			{
				*word |= bit;
				state->ndays++;
			}
			return;
		}
		/* outside the bitmap: a wider one, or a hash table */
		if (!dayset_to_bitmap(state, base,
							  base + state->days.ext.size * 64 - 1, day,
							  aggcontext))
			dayset_to_hash(state, 4 * (int32) pg_nextpower2_32(state->ndays + 1),
						   aggcontext);
		dayset_insert(state, day, aggcontext);
		return;
	}

	/* DAYS_HASH */
	{
		DateADT    *slots = state->days.ext.set;
		int32		nslots = state->days.ext.size;
		uint32		i = dayset_slot(day, nslots);

		for (; slots[i] != DAYSET_EMPTY; i = (i + 1) & (uint32) (nslots - 1))
			if (slots[i] == day)
				return;
		/* keep the table at most half full */
		if (2 * (state->ndays + 1) > nslots)
		{
			dayset_to_hash(state, 2 * nslots, aggcontext);
			slots = state->days.ext.set;
			nslots = state->days.ext.size;
		}
		dayset_put(slots, nslots, day);
		state->ndays++;
	}
}

/* Ask for the line of the out-of-line set that day falls in */
static inline void
prefetch_day(const RfmState *state, DateADT day)
{
	if (state->day_mode == DAYS_BITMAP)
	{
		int64		offset = (int64) day - state->days.ext.base;

		if (offset >= 0 && offset < (int64) state->days.ext.size * 64)
			prefetch_line(&((const uint64 *) state->days.ext.set)[offset >> 6]);
	}
	else if (state->day_mode == DAYS_HASH)
		prefetch_line(&((const DateADT *) state->days.ext.set)[dayset_slot(day, state->days.ext.size)]);
}

/* Look the pending days up in the set, all their lines asked for at once */
static void
dayset_flush(RfmState *state, MemoryContext aggcontext)
{
	DateADT		pending[RFM_PENDING_DAYS];
	int			n = state->npending;

	memcpy(pending, state->days.ext.pending, sizeof(DateADT) * n);
	for (int i = 0; i < n; i++)
		prefetch_day(state, pending[i]);
	state->npending = 0;
	for (int i = 0; i < n; i++)
		dayset_insert(state, pending[i], aggcontext);
}

/* Add day to the set */
static void
dayset_add(RfmState *state, DateADT day, MemoryContext aggcontext)
{
	if (likely(state->day_mode != DAYS_INLINE))
	{
		state->days.ext.pending[state->npending++] = day;
		if (state->npending == RFM_PENDING_DAYS)
			dayset_flush(state, aggcontext);
		return;
	}

	if (dayset_contains(state, day))
		return;
	if (state->ndays < RFM_INLINE_DAYS)
	{
		state->days.inline_days[state->ndays++] = day;
		return;
	}

	/* inline days full: move them out of line, where day goes too */
	{
		const DateADT *days = state->days.inline_days;
		DateADT		lo = days[0];
		DateADT		hi = days[0];

		for (int32 i = 1; i < state->ndays; i++)
		{
			lo = Min(lo, days[i]);
			hi = Max(hi, days[i]);
		}
		if (!dayset_to_bitmap(state, lo, hi, day, aggcontext))
			dayset_to_hash(state, 4 * RFM_INLINE_DAYS, aggcontext);
		dayset_insert(state, day, aggcontext);
	}
}

static void
add_day(RfmState *state, DateADT day, MemoryContext aggcontext)
{
	/* orders in time order repeat the last day: skip those for free */
	if (state->ndays > 0 && state->last_added_day == day)
		return;
	state->last_added_day = day;
	dayset_add(state, day, aggcontext);
}

/*
 * Length of the unit in days, with a month of 30 days as interval
 * comparison counts it.
 */
double
crm_unit_in_days(Interval *unit)
{
	double		days;

#if PG_VERSION_NUM >= 170000
	if (INTERVAL_NOT_FINITE(unit))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unit cannot be infinity")));
#endif
	days = (double) unit->month * DAYS_PER_MONTH + unit->day +
		(double) unit->time / USECS_PER_DAY;
	if (!(days > 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("unit must be a positive interval")));
	return days;
}

/*
 * Read and check as_of and unit from a row.
 */
static void
get_as_of(FunctionCallInfo fcinfo, TimestampTz *as_of, double *unit_days)
{
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("as_of must not be null")));
	*as_of = PG_GETARG_TIMESTAMPTZ(3);
	if (TIMESTAMP_NOT_FINITE(*as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of cannot be infinity")));
	*unit_days = 1.0;
	if (PG_NARGS() > 4)
	{
		if (PG_ARGISNULL(4))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("unit must not be null")));
		*unit_days = crm_unit_in_days(PG_GETARG_INTERVAL_P(4));
	}
}

static void
as_of_mismatch(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("as_of and unit must be the same for every row of a group")));
}

/*
 * crm_rfm_accum(state, ordered_at, amount [, as_of [, unit]])
 *
 * Rows with a NULL ordered_at or amount are skipped, as sum() skips NULLs.
 */
static Datum rfm_accum(FunctionCallInfo fcinfo, bool with_as_of);

PG_FUNCTION_INFO_V1(crm_rfm_accum);
Datum
crm_rfm_accum(PG_FUNCTION_ARGS)
{
	return rfm_accum(fcinfo, PG_NARGS() > 3);
}

/*
 * crm_purchase_summary_accum(state, ordered_at, amount, time_zone): the
 * same, with purchase days in the named time zone whatever the session's
 * -- so that on a Citus cluster, where workers have settings of their own,
 * every node counts the same days
 */
PG_FUNCTION_INFO_V1(crm_purchase_summary_accum);
Datum
crm_purchase_summary_accum(PG_FUNCTION_ARGS)
{
	RfmCall    *call = get_call(fcinfo);
	char	   *name;

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("time_zone must not be null")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (call->zone_name == NULL || strcmp(call->zone_name, name) != 0)
	{
		pg_tz	   *zone = pg_tzset(name);

		if (zone == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time zone \"%s\" not recognized", name)));
		call->zone = zone;
		call->zone_name = MemoryContextStrdup(fcinfo->flinfo->fn_mcxt, name);
	}
	pfree(name);
	return rfm_accum(fcinfo, false);
}

/* The transition of crm_rfm and crm_purchase_summary; with_as_of: args 4, 5 */
static Datum
rfm_accum(FunctionCallInfo fcinfo, bool with_as_of)
{
	MemoryContext aggcontext;
	RfmState   *state;
	TimestampTz ordered_at;
	Datum		amount;
	DateADT		day;
	RfmCall    *call;
	TimestampTz as_of = 0;
	double		unit_days = 1.0;

	if (!PG_ARGISNULL(0))
		prefetch_state(PG_GETARG_POINTER(0));
	aggcontext = crm_aggregate_context(fcinfo, "crm_rfm_accum");
	call = get_call(fcinfo);
	if (with_as_of)
	{
		get_as_of(fcinfo, &as_of, &unit_days);
		if (!call->has_as_of)
		{
			call->has_as_of = call->uniform = true;
			call->as_of = as_of;
			call->unit_days = unit_days;
		}
		else if (call->as_of != as_of || call->unit_days != unit_days)
			call->uniform = false;
	}
	if (PG_ARGISNULL(0))
	{
		state = new_state(aggcontext);
		state->has_as_of = with_as_of;
		state->as_of = as_of;
		state->unit_days = unit_days;
	}
	else
	{
		state = (RfmState *) PG_GETARG_POINTER(0);
		/* as_of may differ between groups, never within one */
		if (with_as_of && !call->uniform &&
			(state->as_of != as_of || state->unit_days != unit_days))
			as_of_mismatch();
	}

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(state);
	ordered_at = PG_GETARG_TIMESTAMPTZ(1);
	amount = PG_GETARG_DATUM(2);	/* read in place; see crm_amount_units */
	if (TIMESTAMP_NOT_FINITE(ordered_at))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ordered_at cannot be infinity")));

	day = local_day(ordered_at, &call->days,
					call->zone != NULL ? call->zone : session_timezone);
	if (state->orders == 0 || day < state->first_day)
	{
		add_amount(state, amount, DAY_BEFORE_FIRST, fcinfo, aggcontext);
		state->first_day = day;
		add_day(state, day, aggcontext);
	}
	else if (day == state->first_day)
	{
		/* the day is in the set: the second half of the state stays untouched */
		add_amount(state, amount, DAY_IS_FIRST, fcinfo, aggcontext);
	}
	else
	{
		add_amount(state, amount, DAY_AFTER_FIRST, fcinfo, aggcontext);
		add_day(state, day, aggcontext);
	}

	if (state->orders == 0 || ordered_at < state->first_at)
		state->first_at = ordered_at;
	if (state->orders == 0 || ordered_at > state->last_at)
		state->last_at = ordered_at;
	state->orders++;

	PG_RETURN_POINTER(state);
}

/*
 * crm_rfm_combine(state, state)
 */
PG_FUNCTION_INFO_V1(crm_rfm_combine);
Datum
crm_rfm_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = crm_aggregate_context(fcinfo, "crm_rfm_combine");
	RfmState   *a = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	RfmState   *b = PG_ARGISNULL(1) ? NULL : (RfmState *) PG_GETARG_POINTER(1);

	if (b == NULL)
		PG_RETURN_POINTER(a);
	if (a == NULL)
		a = new_state(aggcontext);

	if (b->has_as_of)
	{
		if (!a->has_as_of)
		{
			a->has_as_of = true;
			a->as_of = b->as_of;
			a->unit_days = b->unit_days;
		}
		else if (a->as_of != b->as_of || a->unit_days != b->unit_days)
			as_of_mismatch();
	}
	if (b->orders == 0)
		PG_RETURN_POINTER(a);

	if (!a->numeric_mode && !b->numeric_mode &&
		crm_amount_sum_is_safe(a->revenue.units) &&
		crm_amount_sum_is_safe(b->revenue.units) &&
		crm_amount_sum_is_safe(a->first_day_revenue.units) &&
		crm_amount_sum_is_safe(b->first_day_revenue.units))
	{
		/* both below 10^37, so the sums stay below int128's 1.7 x 10^38 */
		a->revenue.units += b->revenue.units;
		if (a->orders == 0 || b->first_day < a->first_day)
			a->first_day_revenue.units = b->first_day_revenue.units;
		else if (b->first_day == a->first_day)
			a->first_day_revenue.units += b->first_day_revenue.units;
		a->dscale = Max(a->dscale, b->dscale);
	}
	else
	{
		Datum		b_revenue;
		Numeric		b_first_day_revenue;

		switch_to_numeric(a, fcinfo, aggcontext);
		if (b->numeric_mode)
		{
			b_revenue = b->revenue.numeric;
			b_first_day_revenue = b->first_day_revenue.numeric;
		}
		else
		{
			b_revenue = call_numeric_support(numeric_avg_accum, fcinfo, 2,
											 (Datum) 0, true,
											 NumericGetDatum(crm_amount_numeric(b->revenue.units, b->dscale)),
											 false, NULL);
			b_first_day_revenue = crm_amount_numeric(b->first_day_revenue.units, b->dscale);
		}
		if (a->orders == 0 || b->first_day < a->first_day)
			set_first_day_revenue(a, b_first_day_revenue, aggcontext);
		else if (b->first_day == a->first_day)
			set_first_day_revenue(a,
								  DatumGetNumeric(DirectFunctionCall2(numeric_add,
																	  NumericGetDatum(a->first_day_revenue.numeric),
																	  NumericGetDatum(b_first_day_revenue))),
								  aggcontext);
		a->revenue.numeric =
			call_numeric_support(numeric_avg_combine, fcinfo, 2,
								 a->revenue.numeric, a->revenue.numeric == 0,
								 b_revenue, false, NULL);
	}
	if (a->orders == 0 || b->first_day < a->first_day)
		a->first_day = b->first_day;
	if (a->orders == 0 || b->first_at < a->first_at)
		a->first_at = b->first_at;
	if (a->orders == 0 || b->last_at > a->last_at)
		a->last_at = b->last_at;
	a->orders += b->orders;
	if (b->ndays > 0)
	{
		int32		ndays = dayset_count(b);
		DateADT    *days = palloc(sizeof(DateADT) * ndays);

		dayset_copy(b, days);
		for (int32 i = 0; i < ndays; i++)
			add_day(a, days[i], aggcontext);
		pfree(days);
	}

	PG_RETURN_POINTER(a);
}

/* A unit count as two 64-bit halves, high first */
static void
send_units(StringInfo buf, crm_units units)
{
#ifdef HAVE_INT128
	pq_sendint64(buf, (int64) (units >> 64));
	pq_sendint64(buf, (int64) (uint64) units);
#else
	pq_sendint64(buf, units < 0 ? -1 : 0);
	pq_sendint64(buf, units);
#endif
}

static crm_units
get_units(StringInfo buf)
{
	int64		high = pq_getmsgint64(buf);
	uint64		low = (uint64) pq_getmsgint64(buf);

#ifdef HAVE_INT128
	return ((int128) high << 64) | low;
#else
	return (int64) low;
#endif
}

/*
 * crm_rfm_serialize(state) -> bytea
 *
 * Layout: version byte, scalar fields, the revenue sums (two 128-bit unit
 * counts as 64-bit halves in unit mode; the first day's revenue as text and
 * core's serialised accumulator in numeric mode), then the distinct days.
 */
PG_FUNCTION_INFO_V1(crm_rfm_serialize);
Datum
crm_rfm_serialize(PG_FUNCTION_ARGS)
{
	RfmState   *state;
	StringInfoData buf;
	int32		ndays;

	crm_aggregate_context(fcinfo, "crm_rfm_serialize");
	state = (RfmState *) PG_GETARG_POINTER(0);

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, RFM_STATE_VERSION);
	pq_sendint64(&buf, state->orders);
	pq_sendint64(&buf, state->first_at);
	pq_sendint64(&buf, state->last_at);
	pq_sendint32(&buf, state->first_day);
	pq_sendbyte(&buf, state->has_as_of);
	pq_sendint64(&buf, state->as_of);
	pq_sendfloat8(&buf, state->unit_days);
	pq_sendbyte(&buf, state->numeric_mode);
	if (!state->numeric_mode)
	{
		send_units(&buf, state->revenue.units);
		send_units(&buf, state->first_day_revenue.units);
		pq_sendint16(&buf, state->dscale);
	}
	else if (state->orders > 0)
	{
		bytea	   *revenue;

		pq_sendstring(&buf, DatumGetCString(DirectFunctionCall1(numeric_out,
																NumericGetDatum(state->first_day_revenue.numeric))));
		revenue = DatumGetByteaPP(call_numeric_support(numeric_avg_serialize,
													   fcinfo, 1,
													   state->revenue.numeric, false,
													   (Datum) 0, true, NULL));
		pq_sendint32(&buf, VARSIZE_ANY_EXHDR(revenue));
		pq_sendbytes(&buf, VARDATA_ANY(revenue), VARSIZE_ANY_EXHDR(revenue));
	}
	ndays = dayset_count(state);
	pq_sendint32(&buf, ndays);
	if (ndays > 0)
	{
		DateADT    *days = palloc(sizeof(DateADT) * ndays);

		dayset_copy(state, days);
		for (int32 i = 0; i < ndays; i++)
			pq_sendint32(&buf, days[i]);
		pfree(days);
	}

	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * crm_rfm_deserialize(bytea, internal) -> state
 */
PG_FUNCTION_INFO_V1(crm_rfm_deserialize);
Datum
crm_rfm_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext = crm_aggregate_context(fcinfo, "crm_rfm_deserialize");
	bytea	   *sstate = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	RfmState   *state;
	int32		ndays;

	/* read in place: the bytea outlives this call */
	buf.data = VARDATA_ANY(sstate);
	buf.len = VARSIZE_ANY_EXHDR(sstate);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	if (pq_getmsgbyte(&buf) != RFM_STATE_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported crm_rfm state version")));
	state = new_state(aggcontext);
	state->orders = pq_getmsgint64(&buf);
	state->first_at = pq_getmsgint64(&buf);
	state->last_at = pq_getmsgint64(&buf);
	state->first_day = pq_getmsgint(&buf, 4);
	state->has_as_of = pq_getmsgbyte(&buf) != 0;
	state->as_of = pq_getmsgint64(&buf);
	state->unit_days = pq_getmsgfloat8(&buf);
	state->numeric_mode = pq_getmsgbyte(&buf) != 0;
	if (!state->numeric_mode)
	{
		state->revenue.units = get_units(&buf);
		state->first_day_revenue.units = get_units(&buf);
		state->dscale = pq_getmsgint(&buf, 2);
	}
	else if (state->orders > 0)
	{
		const char *text = pq_getmsgstring(&buf);
		int32		len = pq_getmsgint(&buf, 4);
		bytea	   *revenue;

		set_first_day_revenue(state,
							  DatumGetNumeric(DirectFunctionCall3(numeric_in,
																  CStringGetDatum(text),
																  ObjectIdGetDatum(InvalidOid),
																  Int32GetDatum(-1))),
							  aggcontext);
		if (len < 0 || len > buf.len - buf.cursor)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
					 errmsg("invalid crm_rfm state")));
		revenue = palloc(VARHDRSZ + len);
		SET_VARSIZE(revenue, VARHDRSZ + len);
		pq_copymsgbytes(&buf, VARDATA(revenue), len);
		state->revenue.numeric =
			call_numeric_support(numeric_avg_deserialize, fcinfo, 2,
								 PointerGetDatum(revenue), false,
								 (Datum) 0, true, NULL);
	}
	ndays = pq_getmsgint(&buf, 4);
	if (ndays < 0 || (int64) ndays * 4 != buf.len - buf.cursor)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid crm_rfm state")));
	for (int32 i = 0; i < ndays; i++)
		add_day(state, pq_getmsgint(&buf, 4), aggcontext);
	pq_getmsgend(&buf);

	PG_RETURN_POINTER(state);
}

/* A composite result type as this library fills it in */
typedef struct ResultType
{
	const char *name;
	const Oid  *attrs;
	int			natts;
} ResultType;

static const Oid rfm_attrs[] = {
	INT8OID, NUMERICOID, TIMESTAMPTZOID, TIMESTAMPTZOID, FLOAT8OID,
	INT4OID, FLOAT8OID, FLOAT8OID, FLOAT8OID
};
static const ResultType rfm_type = {"crm_rfm", rfm_attrs, lengthof(rfm_attrs)};

static const Oid summary_attrs[] = {
	INT8OID, NUMERICOID, TIMESTAMPTZOID, TIMESTAMPTZOID, DATEARRAYOID,
	NUMERICOID
};
static const ResultType summary_type = {"crm_purchase_summary", summary_attrs,
lengthof(summary_attrs)};

/*
 * Ensure a result type is the one this library fills in; a mismatch means
 * the SQL objects and the library come from different versions.
 */
static void
check_type(TupleDesc tupdesc, const ResultType *type)
{
	bool		ok = tupdesc->natts == type->natts;

	for (int i = 0; ok && i < tupdesc->natts; i++)
		ok = TupleDescAttr(tupdesc, i)->atttypid == type->attrs[i];
	if (!ok)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("type %s does not match the crm library", type->name),
				 errhint("Run ALTER EXTENSION crm UPDATE, or reinstall the extension.")));
}

/*
 * What a final function keeps across groups, in fn_extra: the blessed
 * result type, the day cache, and the day of the last as_of it saw --
 * a grouped query has millions of groups and usually one as_of.
 */
typedef struct FinalCall
{
	TupleDesc	tupdesc;
	DayCache	days;
	bool		have_as_of;
	TimestampTz as_of;
	pg_tz	   *as_of_tz;		/* the zone as_of_day was reckoned in */
	DateADT		as_of_day;
} FinalCall;

static FinalCall *
final_call(FunctionCallInfo fcinfo, const ResultType *type)
{
	FinalCall  *call = (FinalCall *) fcinfo->flinfo->fn_extra;

	if (call == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	tupdesc;

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		check_type(tupdesc, type);
		call = palloc0(sizeof(FinalCall));
		call->tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = call;
	}
	return call;
}

/* The local day of as_of, remembered for the next group */
static DateADT
final_as_of_day(FinalCall *call, TimestampTz as_of)
{
	if (!call->have_as_of || call->as_of != as_of ||
		call->as_of_tz != session_timezone)
	{
		call->as_of_day = local_day(as_of, &call->days, session_timezone);
		call->as_of = as_of;
		call->as_of_tz = session_timezone;
		call->have_as_of = true;
	}
	return call->as_of_day;
}

/*
 * crm_rfm_final(state) -> crm_rfm
 */
PG_FUNCTION_INFO_V1(crm_rfm_final);
Datum
crm_rfm_final(PG_FUNCTION_ARGS)
{
	RfmState   *state;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {false};
	FinalCall  *call;
	TimestampTz as_of;
	DateADT		as_of_day;
	DateADT		last_day;
	int32		frequency;
	Datum		revenue;

	if (!PG_ARGISNULL(0))
		prefetch_state(PG_GETARG_POINTER(0));
	crm_aggregate_context(fcinfo, "crm_rfm_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (RfmState *) PG_GETARG_POINTER(0);
	if (state->orders == 0)
		PG_RETURN_NULL();

	call = final_call(fcinfo, &rfm_type);
	tupdesc = call->tupdesc;

	/* without an explicit as_of, judge at the start of the transaction */
	as_of = state->has_as_of ? state->as_of : GetCurrentTransactionStartTimestamp();
	as_of_day = final_as_of_day(call, as_of);
	last_day = local_day(state->last_at, &call->days, session_timezone);
	if (as_of_day < last_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must not be earlier than the day of the last order"),
				 errhint("Restrict the orders to those on or before as_of.")));

	frequency = dayset_count(state) - 1;
	if (!state->numeric_mode)
		revenue = NumericGetDatum(crm_amount_numeric(state->revenue.units,
													 state->dscale));
	else
	{
		bool		isnull;

		revenue = call_numeric_support(numeric_sum, fcinfo, 1,
									   state->revenue.numeric, false, (Datum) 0, true,
									   &isnull);
		Assert(!isnull);
	}

	values[0] = Int64GetDatum(state->orders);
	values[1] = revenue;
	values[2] = TimestampTzGetDatum(state->first_at);
	values[3] = TimestampTzGetDatum(state->last_at);
	values[4] = Float8GetDatum((as_of_day - last_day) / state->unit_days);
	values[5] = Int32GetDatum(frequency);
	values[6] = Float8GetDatum((last_day - state->first_day) / state->unit_days);
	values[7] = Float8GetDatum((as_of_day - state->first_day) / state->unit_days);
	if (frequency == 0)
		nulls[8] = true;
	else if (!state->numeric_mode)
		values[8] = Float8GetDatum((double) (state->revenue.units - state->first_day_revenue.units)
								   / pow(10, CRM_AMOUNT_SCALE) / frequency);
	else
	{
		Datum		repeat = DirectFunctionCall2(numeric_sub, revenue,
												 NumericGetDatum(state->first_day_revenue.numeric));

		values[8] = Float8GetDatum(DatumGetFloat8(DirectFunctionCall1(numeric_float8, repeat))
								   / frequency);
	}

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * crm_purchase_summary_final(state) -> crm_purchase_summary
 *
 * The state crm_rfm builds, read out as live tracking stores it: no
 * judgement date, so orders dated in the future are no error here.
 */
PG_FUNCTION_INFO_V1(crm_purchase_summary_final);
Datum
crm_purchase_summary_final(PG_FUNCTION_ARGS)
{
	RfmState   *state;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6] = {false};
	DateADT    *days;
	int32		ndays;

	crm_aggregate_context(fcinfo, "crm_purchase_summary_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (RfmState *) PG_GETARG_POINTER(0);
	if (state->orders == 0)
		PG_RETURN_NULL();

	tupdesc = final_call(fcinfo, &summary_type)->tupdesc;

	ndays = dayset_count(state);
	days = palloc(sizeof(DateADT) * (ndays + 1));
	dayset_copy(state, days);

	values[0] = Int64GetDatum(state->orders);
	values[2] = TimestampTzGetDatum(state->first_at);
	values[3] = TimestampTzGetDatum(state->last_at);
	values[4] = PointerGetDatum(crm_days_array(days, ndays));
	if (!state->numeric_mode)
	{
		values[1] = NumericGetDatum(crm_amount_numeric(state->revenue.units,
													   state->dscale));
		values[5] = NumericGetDatum(crm_amount_numeric(state->first_day_revenue.units,
													   state->dscale));
	}
	else
	{
		bool		isnull;

		values[1] = call_numeric_support(numeric_sum, fcinfo, 1,
										 state->revenue.numeric, false, (Datum) 0, true,
										 &isnull);
		Assert(!isnull);
		values[5] = NumericGetDatum(state->first_day_revenue.numeric);
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
