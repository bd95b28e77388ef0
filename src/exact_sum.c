/*
 * exact_sum.c
 *		Sums of doubles that do not depend on the order of the terms.
 *
 * crm promises the same figures serial, parallel and on a Citus cluster,
 * but a floating-point sum depends on the order of its terms, and that
 * order is the order in which workers and shards hand their values in.  So
 * the sums of the population aggregates (the value of each pyramid tier,
 * the Pareto share's top and total) add every term exactly into a wide
 * fixed-point number and round once, at the end: the result is the exact
 * sum correctly rounded, whatever the order -- and more accurate too (a
 * tier of values in cents sums to the nearest double of its exact total).
 * The same idea as Kulisch's long accumulator, kept simple: one term costs
 * a few bit operations on the double and three integer additions.
 */
#include "postgres.h"

#include <math.h>

#include "port/pg_bitutils.h"

#include "exact_sum.h"

#define LIMB_BITS 32
#define LIMB_BASE ((int64) 1 << LIMB_BITS)
#define LIMB_MASK (LIMB_BASE - 1)
/* bit 0 of the number is 2^-BIAS, the smallest double */
#define BIAS 1074
/* terms between carry passes: each adds less than 2^32 to a limb */
#define MAX_PENDING ((int64) 1 << 30)

void
crm_exact_sum_init(CrmExactSum *sum)
{
	memset(sum, 0, sizeof(CrmExactSum));
}

/* Pass every limb's excess over [0, 2^32) on to the next: floor division */
static void
carry(int64 *limbs)
{
	for (int i = 0; i < CRM_EXACT_SUM_LIMBS - 1; i++)
	{
		int64		c = limbs[i] >= 0 ? limbs[i] / LIMB_BASE :
			-((-limbs[i] + LIMB_MASK) / LIMB_BASE);

		limbs[i] -= c * LIMB_BASE;
		limbs[i + 1] += c;
	}
}

/* Add finite x exactly */
void
crm_exact_sum_add(CrmExactSum *sum, double x)
{
	uint64		ieee;
	int			biased;
	uint64		m;
	int			bit;
	int			i;
	int			s;
	uint64		rest;
	int64		parts[3];

	Assert(isfinite(x));
	/* |x| = m 2^(bit - BIAS), from the bits of the double itself */
	memcpy(&ieee, &x, sizeof(ieee));
	biased = (int) ((ieee >> 52) & 0x7FF);
	m = ieee & ((UINT64CONST(1) << 52) - 1);
	if (biased == 0)
	{
		if (m == 0)
			return;				/* a zero */
		bit = 0;				/* a subnormal: m 2^-1074 */
	}
	else
	{
		m |= UINT64CONST(1) << 52;
		bit = biased - 1;
	}
	i = bit / LIMB_BITS;
	s = bit % LIMB_BITS;
	parts[0] = (int64) ((m & ((UINT64CONST(1) << (LIMB_BITS - s)) - 1)) << s);
	rest = m >> (LIMB_BITS - s);
	parts[1] = (int64) (rest & LIMB_MASK);
	parts[2] = (int64) (rest >> LIMB_BITS);
	if (ieee >> 63)
	{
		sum->limbs[i] -= parts[0];
		sum->limbs[i + 1] -= parts[1];
		sum->limbs[i + 2] -= parts[2];
	}
	else
	{
		sum->limbs[i] += parts[0];
		sum->limbs[i + 1] += parts[1];
		sum->limbs[i + 2] += parts[2];
	}
	if (++sum->pending >= MAX_PENDING)
	{
		carry(sum->limbs);
		sum->pending = 0;
	}
}

/* Add the sum "from" into "into", exactly */
void
crm_exact_sum_merge(CrmExactSum *into, const CrmExactSum *from)
{
	int64		limbs[CRM_EXACT_SUM_LIMBS];

	/* both with their carries passed on, so that the limbs cannot overflow */
	memcpy(limbs, from->limbs, sizeof(limbs));
	carry(limbs);
	carry(into->limbs);
	for (int i = 0; i < CRM_EXACT_SUM_LIMBS; i++)
		into->limbs[i] += limbs[i];
	into->pending = 1;
}

/* Bit pos of a number of limbs in [0, 2^32); positions below 0 are 0 */
static inline uint64
bit_at(const int64 *limbs, int pos)
{
	return pos < 0 ? 0 : (uint64) (limbs[pos / LIMB_BITS] >> (pos % LIMB_BITS)) & 1;
}

/* The sum, rounded to the nearest double (ties to even) */
double
crm_exact_sum_value(const CrmExactSum *sum)
{
	int64		limbs[CRM_EXACT_SUM_LIMBS];
	bool		negative;
	int			top;
	int			msb;
	uint64		bits = 0;
	bool		sticky = false;
	uint64		mantissa;
	uint64		guard;
	double		result;

	memcpy(limbs, sum->limbs, sizeof(limbs));
	carry(limbs);
	/* every limb but the top one is in [0, 2^32) now; the top one has the sign */
	negative = limbs[CRM_EXACT_SUM_LIMBS - 1] < 0;
	if (negative)
	{
		for (int i = 0; i < CRM_EXACT_SUM_LIMBS; i++)
			limbs[i] = -limbs[i];
		carry(limbs);
	}
	for (top = CRM_EXACT_SUM_LIMBS - 1; top >= 0 && limbs[top] == 0; top--)
		;
	if (top < 0)
		return 0.0;
	msb = top * LIMB_BITS + pg_leftmost_one_pos64((uint64) limbs[top]);

	/* the 64 bits from the highest set one down, and whether any below is set */
	for (int k = 0; k < 64; k++)
		bits |= bit_at(limbs, msb - 63 + k) << k;
	for (int pos = 0; pos < msb - 63 && !sticky; pos++)
		sticky = bit_at(limbs, pos) != 0;

	/* 53 bits, rounded by the next 11 and the sticky bit, half to even */
	mantissa = bits >> 11;
	guard = bits & 0x7FF;
	if (guard > 0x400 || (guard == 0x400 && (sticky || (mantissa & 1))))
		mantissa++;
	result = ldexp((double) mantissa, msb - 52 - BIAS);
	return negative ? -result : result;
}
