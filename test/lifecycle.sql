-- Lifecycle stages: each row of the decision table with its boundaries,
-- the settings, NULLs and every error.  Gaps worked out by hand: three
-- orders from 2023-01-01 to 2023-03-02 span 60 days, an average gap of 30.
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(42);

-- Row 1: no order.
SELECT is(crm_lifecycle_stage(0, NULL, NULL, '2024-01-01'), 'prospect'::crm_lifecycle, 'row 1: no order is a prospect');
SELECT is(crm_lifecycle_stage(0, '2023-01-01', '2023-02-01', '2024-01-01'), 'prospect'::crm_lifecycle,
          'row 1: zero orders is a prospect whatever the timestamps');
-- Rows 2-3: one order.
SELECT is(crm_lifecycle_stage(1, '2022-12-01', '2022-12-01', '2024-01-01'), 'churned'::crm_lifecycle,
          'row 2: one order 396 days ago is churned');
SELECT is(crm_lifecycle_stage(1, '2023-01-01', '2023-01-01', '2024-01-01'), 'acquisition'::crm_lifecycle,
          'row 3: one order exactly 365 days ago is still acquisition');
SELECT is(crm_lifecycle_stage(1, '2023-06-01', '2023-06-01', '2024-01-01'), 'acquisition'::crm_lifecycle,
          'row 3: one recent order is acquisition');
SELECT is(crm_lifecycle_stage(3, '2023-12-01 10:00', '2023-12-01 18:00', '2024-01-01'), 'acquisition'::crm_lifecycle,
          'row 3: three orders within one day are one purchase occasion');
SELECT is(crm_lifecycle_stage(3, '2022-11-01 10:00', '2022-11-01 18:00', '2024-01-01'), 'churned'::crm_lifecycle,
          'row 2: one purchase occasion 426 days ago is churned');
-- Row 4: silent for more than 4 average gaps (4 x 30 = 120 days).
SELECT is(crm_lifecycle_stage(3, '2023-01-01', '2023-03-02', '2023-07-01'), 'churned'::crm_lifecycle,
          'row 4: 121 days after a 30-day rhythm is churned');
SELECT is(crm_lifecycle_stage(3, '2023-01-01', '2023-03-02', '2023-06-30'), 'decline'::crm_lifecycle,
          'row 5: exactly 120 days is not yet churned but in decline');
-- Row 5: silent for more than 2 average gaps (60 days).
SELECT is(crm_lifecycle_stage(3, '2023-01-01', '2023-03-02', '2023-05-02'), 'decline'::crm_lifecycle,
          'row 5: 61 days after a 30-day rhythm is decline');
SELECT is(crm_lifecycle_stage(3, '2023-01-01', '2023-03-02', '2023-05-01'), 'growth'::crm_lifecycle,
          'row 7: exactly 60 days is not yet decline');
-- Rows 6-7: active.  Five orders over 30 days: gaps of 7.5 days.
SELECT is(crm_lifecycle_stage(5, '2023-01-01', '2023-01-31', '2023-02-10'), 'maturity'::crm_lifecycle,
          'row 6: five orders, 10 days idle (< 15) is maturity');
SELECT is(crm_lifecycle_stage(4, '2023-01-01', '2023-01-31', '2023-02-10'), 'growth'::crm_lifecycle,
          'row 7: four orders is growth');
SELECT is(crm_lifecycle_stage(2, '2023-01-01', '2023-01-31', '2023-01-31'), 'growth'::crm_lifecycle,
          'row 7: judged on the day of the last order');
-- min_gap floors the average gap: 10 orders in 2 days average 0.22 days,
-- floored to 1 day.
SELECT is(crm_lifecycle_stage(10, '2023-01-01', '2023-01-03', '2023-01-05'), 'maturity'::crm_lifecycle,
          'min_gap: 2 idle days is not more than 2 floored gaps');
SELECT is(crm_lifecycle_stage(10, '2023-01-01', '2023-01-03', '2023-01-06'), 'decline'::crm_lifecycle,
          'min_gap: 3 idle days is decline, not churn');
SELECT is(crm_lifecycle_stage(10, '2023-01-01', '2023-01-03', '2023-01-08'), 'churned'::crm_lifecycle,
          'min_gap: 5 idle days is churned');
SELECT is(crm_lifecycle_stage(10, '2023-01-01', '2023-01-03', '2023-01-06', min_gap => '0'), 'churned'::crm_lifecycle,
          'min_gap 0: 3 idle days is 13 raw gaps: churned');

-- Settings.
SELECT is(crm_lifecycle_stage(3, '2023-01-01', '2023-03-02', '2023-05-02', decline_gaps => 3, churn_gaps => 6),
          'growth'::crm_lifecycle, 'decline_gaps 3: 61 days is still growth');
SELECT is(crm_lifecycle_stage(3, '2023-01-01', '2023-03-02', '2023-03-10', mature_orders => 3),
          'maturity'::crm_lifecycle, 'mature_orders 3');
SELECT is(crm_lifecycle_stage(1, '2023-06-01', '2023-06-01', '2024-01-01', one_time_churn => '30 days'),
          'churned'::crm_lifecycle, 'one_time_churn 30 days');
SELECT is(crm_lifecycle_stage(1, '2023-01-01', '2023-01-01', '2023-12-30', one_time_churn => '12 months'),
          'churned'::crm_lifecycle, 'one_time_churn 12 months counts 360 days: 363 days idle is churned');

-- NULLs.
SELECT is(crm_lifecycle_stage(NULL, '2023-01-01', '2023-01-01', '2024-01-01'), NULL, 'NULL orders gives NULL');
SELECT is(crm_lifecycle_stage(2, NULL, '2023-01-01', '2024-01-01'), NULL, 'NULL first_at gives NULL');
SELECT is(crm_lifecycle_stage(2, '2023-01-01', NULL, '2024-01-01'), NULL, 'NULL last_at gives NULL');
SELECT is(crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', NULL), NULL, 'NULL as_of gives NULL');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', decline_gaps => NULL)$$,
                 '22004', 'decline_gaps must not be null', 'NULL decline_gaps');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', churn_gaps => NULL)$$,
                 '22004', 'churn_gaps must not be null', 'NULL churn_gaps');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', mature_orders => NULL)$$,
                 '22004', 'mature_orders must not be null', 'NULL mature_orders');
SELECT throws_ok($$SELECT crm_lifecycle_stage(0, NULL, NULL, NULL, one_time_churn => NULL)$$,
                 '22004', 'one_time_churn must not be null', 'NULL one_time_churn, even for a prospect');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', min_gap => NULL)$$,
                 '22004', 'min_gap must not be null', 'NULL min_gap');

-- Errors.
SELECT throws_ok($$SELECT crm_lifecycle_stage(-1, '2023-01-01', '2023-01-02', '2024-01-01')$$,
                 '22003', 'orders must not be negative', 'negative orders');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-02-01', '2023-01-02', '2024-01-01')$$,
                 '22023', 'first_at must not be later than last_at', 'first after last');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2024-01-02', '2024-01-01')$$,
                 '22023', 'last_at must not be later than as_of', 'last after as_of');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '-infinity', '2023-01-02', '2024-01-01')$$,
                 '22023', 'first_at cannot be infinity', 'infinite first_at');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', 'infinity')$$,
                 '22023', 'as_of cannot be infinity', 'infinite as_of');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', decline_gaps => 0)$$,
                 '22003', 'decline_gaps must be greater than 0', 'zero decline_gaps');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', decline_gaps => 'NaN')$$,
                 '22023', 'decline_gaps cannot be NaN', 'NaN decline_gaps');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', decline_gaps => 4, churn_gaps => 4)$$,
                 '22023', 'churn_gaps must be greater than decline_gaps', 'churn not beyond decline');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', mature_orders => 1)$$,
                 '22003', 'mature_orders must be at least 2', 'mature_orders 1');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', one_time_churn => '0')$$,
                 '22003', 'one_time_churn must be a positive interval', 'zero one_time_churn');
SELECT throws_ok($$SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-01-02', '2024-01-01', min_gap => '-1 day')$$,
                 '22003', 'min_gap must not be a negative interval', 'negative min_gap');

SELECT * FROM finish();
ROLLBACK;
