-- Customer lifetime value: values worked out by hand, precision over long
-- horizons against exact numeric arithmetic, NULLs and every error.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(40);

-- The teaching example: $100 a week, 52 weeks, 10 years.
SELECT is(crm_clv_simple(100, 52, 10), 52000::float8, 'simple CLV: 100 x 52 x 10 = 52,000');
SELECT is(crm_clv_simple(100, 52, 10, 0.25), 13000::float8, 'simple CLV with a 25% margin');
SELECT is(crm_clv_simple(0, 52, 10), 0::float8, 'simple CLV of a zero order value');
SELECT is(crm_clv_simple(1e308, 1e308, 10, 0), 0::float8, 'a zero margin gives 0 even when the rest would overflow');
SELECT ok(abs(crm_clv_simple(1e308, 10, 1e-10) / 1e299 - 1) < 1e-12, 'no spurious overflow: 1e308 x 10 x 1e-10 = 1e299');
SELECT is(crm_clv(100, 1, 0, 520), 52000::float8, 'retention 1, no discount, 520 weeks = 52,000');

-- Closed form, unlimited horizon: m (1 + d) / (1 + d - r).
SELECT ok(abs(crm_clv(100, 0.8, 0.1) - 1100.0 / 3) < 1e-9, 'unlimited horizon: 100 x 1.1 / 0.3 = 366.67');
SELECT ok(abs(crm_clv(100, 0.8, 0.1, NULL, 100) - 800.0 / 3) < 1e-9, 'acquisition cost is subtracted');
SELECT is(crm_clv(100, 0, 0.1), 100::float8, 'retention 0: only the first period counts');
SELECT is(crm_clv(-10, 0.5, 0), -20::float8, 'a negative margin gives a negative value');

-- Finite horizons: 100 (1 + 8/11 + 64/121) = 27300/121.
SELECT ok(abs(crm_clv(100, 0.8, 0.1, 3) - 27300.0 / 121) < 1e-9, 'three periods: 27300/121');
SELECT is(crm_clv(100, 0.8, 0.1, 1), 100::float8, 'one period: the undiscounted first margin');
SELECT is(crm_clv(100, 0.8, 0.1, 0, 50), -50::float8, 'zero periods: minus the acquisition cost');
SELECT ok(abs(crm_clv(100, 0.8, 0.1, 1000000) - 1100.0 / 3) < 1e-9,
          'a million periods converge to the closed form');

-- Precision where retention is close to 1 + discount.  r = 1 - 2^-40 is
-- exact in float8, so numeric gives the exact sum (1 - r^T) / (1 - r).
SELECT ok(abs(crm_clv(1, 1 - 2.0::float8 ^ (-40), 0, 1000000)
              - ((1 - power(1 - 1 / 1099511627776::numeric, 1000000)) * 1099511627776)::float8) < 1e-6,
          'r = 1 - 2^-40 over 10^6 periods: exact to 1e-12 relative');
SELECT ok(abs(crm_clv(1, 1, 0.000001, 1000000)
              - ((1 - power(1.000001::numeric, -1000000)) * 1.000001 / 0.000001)::float8) < 1e-6,
          'd = 10^-6 over 10^6 periods: exact to 1e-12 relative');

-- NULLs.
SELECT is(crm_clv(NULL, 0.5, 0.1), NULL, 'NULL margin gives NULL');
SELECT is(crm_clv(100, NULL, 0.1), NULL, 'NULL retention gives NULL');
SELECT is(crm_clv(100, 0.5, NULL), NULL, 'NULL discount gives NULL');
SELECT is(crm_clv(100, 0.5, 0.1, 3, NULL), NULL, 'NULL acquisition cost gives NULL');
SELECT is(crm_clv_simple(NULL, 52, 10), NULL, 'simple CLV is strict');

-- Errors.
SELECT throws_ok('SELECT crm_clv(100, 1, 0)', '22023',
    'retention must be less than 1 + discount when periods is NULL', 'unlimited horizon needs r < 1 + d');
SELECT throws_ok('SELECT crm_clv(100, 1.5, 0.1, 3)', '22003',
    'retention must be between 0 and 1', 'retention above 1');
SELECT throws_ok('SELECT crm_clv(100, -0.1, 0.1)', '22003',
    'retention must be between 0 and 1', 'negative retention');
SELECT throws_ok($$SELECT crm_clv('NaN', 0.5, 0.1)$$, '22023', 'margin cannot be NaN', 'NaN margin');
SELECT throws_ok($$SELECT crm_clv('Infinity', 0.5, 0.1)$$, '22023', 'margin cannot be infinity', 'infinite margin');
SELECT throws_ok($$SELECT crm_clv(100, 'NaN', 0.1)$$, '22023', 'retention cannot be NaN', 'NaN retention');
SELECT throws_ok($$SELECT crm_clv(100, 0.5, '-Infinity')$$, '22023', 'discount cannot be infinity', 'infinite discount');
SELECT throws_ok('SELECT crm_clv(100, 0.5, -0.1)', '22003', 'discount must not be negative', 'negative discount');
SELECT throws_ok('SELECT crm_clv(100, 0.5, 0.1, -1)', '22003', 'periods must not be negative', 'negative periods');
SELECT throws_ok('SELECT crm_clv(100, 0.5, 0.1, 3, -5)', '22003',
    'acquisition_cost must not be negative', 'negative acquisition cost');
SELECT throws_ok('SELECT crm_clv(1e308, 1, 0, 1000)', '22003', 'value out of range: overflow', 'overflow');
SELECT throws_ok('SELECT crm_clv_simple(-1, 52, 10)', '22003',
    'avg_order_value must not be negative', 'negative order value');
SELECT throws_ok('SELECT crm_clv_simple(100, -52, 10)', '22003',
    'orders_per_period must not be negative', 'negative frequency');
SELECT throws_ok('SELECT crm_clv_simple(100, 52, -10)', '22003',
    'periods must not be negative', 'negative duration');
SELECT throws_ok('SELECT crm_clv_simple(100, 52, 10, 1.5)', '22003',
    'margin must be between 0 and 1', 'margin above 1');
SELECT throws_ok($$SELECT crm_clv_simple(100, 52, 'NaN')$$, '22023', 'periods cannot be NaN', 'NaN periods');
SELECT throws_ok('SELECT crm_clv_simple(1e200, 1e200, 1)', '22003', 'value out of range: overflow', 'simple overflow');
SELECT throws_ok($$SELECT crm_clv_simple('Infinity', 1, 1)$$, '22023',
    'avg_order_value cannot be infinity', 'infinite order value');
SELECT throws_ok($$SELECT crm_clv_simple(1, 1, 1, 'NaN')$$, '22023', 'margin cannot be NaN', 'NaN margin');

SELECT * FROM finish();
ROLLBACK;
