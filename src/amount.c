/*
 * amount.c
 *		Exact sums of numeric amounts in 128-bit integers.
 *
 * Order amounts are numeric with a few decimals.  Summing them with
 * numeric arithmetic costs a NumericVar decode per row and a few hundred
 * bytes of state per customer; summing their value in units of 10^-8 in an
 * int128 costs an addition and 16 bytes, and stays exact for any amount
 * with at most 8 decimals below 10^20 -- every price there is.  Callers
 * fall back to numeric arithmetic for anything else, so no input ever
 * loses precision.
 *
 * The digits are read from numeric's on-disk form, which is fixed by
 * pg_upgrade compatibility (see the comments at the top of
 * src/backend/utils/adt/numeric.c): a 16-bit header holding the sign, the
 * display scale and, in the short format, the weight; in the long format a
 * separate 16-bit weight; then base-10000 digits, most significant first,
 * the first of weight "weight" (10000^weight), trailing zeros stripped.
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/numeric.h"

#include "amount.h"

#ifndef HAVE_INT128

/* Without 128-bit integers every amount takes the numeric path. */
bool
crm_amount_units(Datum value, crm_units *units, int *dscale)
{
	return false;
}

bool
crm_amount_sum_is_safe(crm_units total)
{
	return false;
}

Numeric
crm_amount_numeric(crm_units units, int dscale)
{
	elog(ERROR, "amounts in units need 128-bit integers");
	return NULL;
}

#else

/* numeric.c's header bits (on-disk format) */
#define NUMERIC_SIGN_MASK		0xC000
#define NUMERIC_NEG				0x4000
#define NUMERIC_SHORT			0x8000
#define NUMERIC_SPECIAL			0xC000
#define NUMERIC_DSCALE_MASK		0x3FFF
#define NUMERIC_SHORT_SIGN_MASK			0x2000
#define NUMERIC_SHORT_DSCALE_MASK		0x1F80
#define NUMERIC_SHORT_DSCALE_SHIFT		7
#define NUMERIC_SHORT_WEIGHT_SIGN_MASK	0x0040
#define NUMERIC_SHORT_WEIGHT_MASK		0x003F
#define NBASE					10000

/* A unit is 10^-CRM_AMOUNT_SCALE = two base-10000 digits below the point */
#define UNIT_DIGITS				(CRM_AMOUNT_SCALE / 4)

/* Amounts must stay below 10000^MAX_WEIGHT_PLUS_ONE = 10^20 */
#define MAX_WEIGHT				4

/*
 * Read a numeric Datum as a count of 10^-8 units; false when it is NaN or
 * infinite, has more than 8 decimals, is 10^20 or more in magnitude, or is
 * toasted.  The Datum is read where it lies, short varlena header and all,
 * so the common case costs no detoasting copy.
 */
bool
crm_amount_units(Datum value, crm_units *units, int *dscale)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(value);
	const char *data;
	Size		len;
	uint16		header;
	int			weight;
	bool		negative;
	int			hdrsz;
	int			ndigits;
	const int16 *digits;
	crm_units	total = 0;

	if (VARATT_IS_EXTERNAL(raw) || VARATT_IS_COMPRESSED(raw))
		return false;
	data = VARDATA_ANY(raw);
	len = VARSIZE_ANY_EXHDR(raw);
	if (len < sizeof(uint16))
		return false;
	memcpy(&header, data, sizeof(uint16));
	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SPECIAL)
		return false;
	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SHORT)
	{
		negative = (header & NUMERIC_SHORT_SIGN_MASK) != 0;
		*dscale = (header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
		weight = header & NUMERIC_SHORT_WEIGHT_MASK;
		if (header & NUMERIC_SHORT_WEIGHT_SIGN_MASK)
			weight |= ~NUMERIC_SHORT_WEIGHT_MASK;
		hdrsz = sizeof(uint16);
	}
	else
	{
		int16		w;

		negative = (header & NUMERIC_SIGN_MASK) == NUMERIC_NEG;
		*dscale = header & NUMERIC_DSCALE_MASK;
		memcpy(&w, data + sizeof(uint16), sizeof(int16));
		weight = w;
		hdrsz = sizeof(uint16) + sizeof(int16);
	}

	if (len < hdrsz)
		return false;
	ndigits = (len - hdrsz) / sizeof(int16);
	if (*dscale > CRM_AMOUNT_SCALE)
		return false;
	if (ndigits > 0 &&
		(weight >= MAX_WEIGHT + 1 || weight - (ndigits - 1) < -UNIT_DIGITS))
		return false;

	digits = (const int16 *) (data + hdrsz);
	for (int i = 0; i < ndigits; i++)
	{
		int16		d;

		memcpy(&d, digits + i, sizeof(int16));
		total = total * NBASE + d;
	}
	/* scale to units: the last digit has weight weight - (ndigits - 1) */
	for (int w = weight - (ndigits - 1); ndigits > 0 && w > -UNIT_DIGITS; w--)
		total *= NBASE;

	*units = negative ? -total : total;
	return true;
}

/*
 * Whether adding an amount (below 10^28 units) to total can overflow.
 * int128 holds about 1.7 x 10^38; we stop at 10^37.
 */
bool
crm_amount_sum_is_safe(crm_units total)
{
	static const crm_units limit = (crm_units) 1000000000000000000LL * 1000000000000000000LL * 10;	/* 10^37 */

	return total < limit && total > -limit;
}

/*
 * A count of 10^-8 units as a numeric with the given display scale (at
 * most 8, and no more digits than the units carry).
 */
Numeric
crm_amount_numeric(crm_units units, int dscale)
{
	crm_units	divisor = 1;
	crm_units	scaled;
	char		buf[64];
	char	   *p = buf + sizeof(buf);
	bool		negative = units < 0;
	crm_units	v;

	for (int i = dscale; i < CRM_AMOUNT_SCALE; i++)
		divisor *= 10;
	scaled = units / divisor;	/* exact: no digits below dscale */

#if PG_VERSION_NUM >= 140000
	if (scaled >= PG_INT64_MIN && scaled <= PG_INT64_MAX)
		return int64_div_fast_to_numeric((int64) scaled, dscale);
#endif

	/* large totals: spell the digits out and let numeric_in read them */
	v = negative ? -scaled : scaled;
	*--p = '\0';
	for (int i = 0; i <= dscale || v > 0; i++)
	{
		if (i == dscale && dscale > 0)
			*--p = '.';
		*--p = '0' + (int) (v % 10);
		v /= 10;
	}
	if (negative)
		*--p = '-';
	return DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(p),
											   ObjectIdGetDatum(InvalidOid),
											   Int32GetDatum(-1)));
}

#endif							/* HAVE_INT128 */
