-- Loyalty types: every row of the decision table, its boundaries, the
-- order of the rules, NULL inputs, overridden thresholds and every error;
-- then the loyalty score, worked out by hand.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(53);

-- Row 1: repeat high and no alternative -> monopoly (before every other row).
SELECT is(crm_loyalty_type(0.8, has_alternative => false), 'monopoly'::crm_loyalty, 'row 1: monopoly');
SELECT is(crm_loyalty_type(0.8, attitude => 0.9, promo_share => 0.9, price_sensitivity => 0.9,
                           referrals => 3, has_alternative => false),
          'monopoly'::crm_loyalty, 'row 1 wins over rows 2-5');
-- Row 2: repeat high and promo share high -> incentive.
SELECT is(crm_loyalty_type(0.8, promo_share => 0.6), 'incentive'::crm_loyalty, 'row 2: incentive');
SELECT is(crm_loyalty_type(0.8, promo_share => 0.5), 'incentive'::crm_loyalty, 'row 2: promo share on the threshold is high');
SELECT is(crm_loyalty_type(0.8, promo_share => 0.6, price_sensitivity => 0.9, attitude => 0.9, referrals => 2),
          'incentive'::crm_loyalty, 'row 2 wins over rows 3-5');
-- Row 3: repeat high and price sensitivity high -> benefit.
SELECT is(crm_loyalty_type(0.8, price_sensitivity => 0.5), 'benefit'::crm_loyalty, 'row 3: benefit');
SELECT is(crm_loyalty_type(0.8, price_sensitivity => 0.9, attitude => 0.9, referrals => 2),
          'benefit'::crm_loyalty, 'row 3 wins over rows 4-5');
-- Row 4: repeat high, attitude high and referrals -> devoted.
SELECT is(crm_loyalty_type(0.8, attitude => 0.7, referrals => 1), 'devoted'::crm_loyalty, 'row 4: devoted');
-- Row 5: repeat high and attitude high -> brand.
SELECT is(crm_loyalty_type(0.8, attitude => 0.9, referrals => 0), 'brand'::crm_loyalty, 'row 5: brand, no referrals');
SELECT is(crm_loyalty_type(0.8, attitude => 0.9), 'brand'::crm_loyalty, 'row 5: brand, referrals unknown');
-- Row 6: repeat high -> inertia.
SELECT is(crm_loyalty_type(0.8), 'inertia'::crm_loyalty, 'row 6: inertia');
SELECT is(crm_loyalty_type(0.5), 'inertia'::crm_loyalty, 'row 6: repeat rate on the threshold is high');
SELECT is(crm_loyalty_type(0.8, attitude => 0.69, promo_share => 0.49, price_sensitivity => 0.49, referrals => 4),
          'inertia'::crm_loyalty, 'row 6: everything else just below its threshold');
SELECT is(crm_loyalty_type(0.8, attitude => NULL), 'inertia'::crm_loyalty, 'row 6: unknown attitude is not high');
-- Row 7: attitude high (repeat low) -> latent.
SELECT is(crm_loyalty_type(0.2, attitude => 0.9), 'latent'::crm_loyalty, 'row 7: latent');
SELECT is(crm_loyalty_type(0.2, attitude => 0.9, referrals => 5, promo_share => 1, has_alternative => false),
          'latent'::crm_loyalty, 'row 7: low repeat rules out rows 1-6');
-- Row 8: otherwise -> none.
SELECT is(crm_loyalty_type(0.49), 'none'::crm_loyalty, 'row 8: repeat just below the threshold');
SELECT is(crm_loyalty_type(0.2, attitude => 0.5), 'none'::crm_loyalty, 'row 8: low repeat, low attitude');
SELECT is(crm_loyalty_type(0, has_alternative => false), 'none'::crm_loyalty, 'row 8: no alternative but no repeat');

-- NULL handling.
SELECT is(crm_loyalty_type(NULL), NULL, 'NULL repeat rate gives NULL');
SELECT is(crm_loyalty_type(0.8, has_alternative => NULL), 'inertia'::crm_loyalty,
          'an unknown alternative is assumed to exist');
SELECT is(crm_loyalty_type(0.8, has_alternative => true), 'inertia'::crm_loyalty, 'an alternative exists');

-- Thresholds can be overridden.
SELECT is(crm_loyalty_type(0.4, high_repeat => 0.3), 'inertia'::crm_loyalty, 'high_repeat lowered');
SELECT is(crm_loyalty_type(0.8, attitude => 0.6, high_attitude => 0.6), 'brand'::crm_loyalty, 'high_attitude lowered');
SELECT is(crm_loyalty_type(0.8, promo_share => 0.3, high_promo => 0.3), 'incentive'::crm_loyalty, 'high_promo lowered');
SELECT is(crm_loyalty_type(0.8, price_sensitivity => 0.5, high_price_sensitivity => 0.6),
          'inertia'::crm_loyalty, 'high_price_sensitivity raised');

-- Errors.
SELECT throws_ok('SELECT crm_loyalty_type(1.1)', '22003', 'repeat_rate must be between 0 and 1', 'repeat rate above 1');
SELECT throws_ok('SELECT crm_loyalty_type(0.5, attitude => -0.1)', '22003', 'attitude must be between 0 and 1', 'negative attitude');
SELECT throws_ok('SELECT crm_loyalty_type(NULL, attitude => 2)', '22003', 'attitude must be between 0 and 1',
                 'bad attitude is reported even when repeat rate is NULL');
SELECT throws_ok($$SELECT crm_loyalty_type(0.5, promo_share => 'NaN')$$, '22023', 'promo_share cannot be NaN', 'NaN promo share');
SELECT throws_ok('SELECT crm_loyalty_type(0.5, price_sensitivity => 2)', '22003',
                 'price_sensitivity must be between 0 and 1', 'price sensitivity above 1');
SELECT throws_ok('SELECT crm_loyalty_type(0.5, referrals => -1)', '22003', 'referrals must not be negative', 'negative referrals');
SELECT throws_ok('SELECT crm_loyalty_type(0.5, high_repeat => NULL)', '22004', 'high_repeat must not be null', 'NULL threshold');
SELECT throws_ok('SELECT crm_loyalty_type(0.5, high_attitude => 1.5)', '22003', 'high_attitude must be between 0 and 1', 'threshold above 1');
SELECT throws_ok($$SELECT crm_loyalty_type(0.5, high_promo => 'NaN')$$, '22023', 'high_promo cannot be NaN', 'NaN threshold');

-- Loyalty score: 100 x (w x behaviour + (1 - w) x attitude), each part the
-- mean of its known measures.
SELECT is(crm_loyalty_score(), NULL, 'nothing known gives NULL');
SELECT is(crm_loyalty_score(repeat_rate => 0.8, share_of_wallet => 0.6), 70::float8, 'behaviour only: mean of 0.8 and 0.6');
SELECT is(crm_loyalty_score(price_sensitivity => 0.2), 80::float8, 'price sensitivity counts reversed');
SELECT is(crm_loyalty_score(referrals => 0), 0::float8, 'no referral scores 0');
SELECT is(crm_loyalty_score(referrals => 1), 50::float8, 'one referral scores 50');
SELECT is(crm_loyalty_score(referrals => 3), 87.5::float8, 'three referrals score 87.5');
SELECT is(crm_loyalty_score(attitude => 0.9, repurchase_intention => 0.7), 80::float8, 'attitude only: mean of 0.9 and 0.7');
SELECT is(crm_loyalty_score(competitor_attitude => 0.4), 60::float8, 'attitude to competitors counts reversed');
SELECT ok(abs(crm_loyalty_score(repeat_rate => 0.8, attitude => 0.4) - 60) < 1e-9, 'equal weights: (80 + 40) / 2');
SELECT ok(abs(crm_loyalty_score(repeat_rate => 0.8, attitude => 0.4, behaviour_weight => 0.75) - 70) < 1e-9, 'behaviour weighted 3:1');
SELECT ok(abs(crm_loyalty_score(repeat_rate => 0.8, attitude => 0.4, behaviour_weight => 0) - 40) < 1e-9, 'attitude only by weight');
SELECT ok(abs(crm_loyalty_score(1, 0.5, 0.5, 1, 1, 0.5, 0) - 100 * (0.5 * 2.5 / 4 + 0.5 * 2.5 / 3)) < 1e-9,
          'all seven measures: 100 x (0.5 x 0.625 + 0.5 x 0.8333)');
SELECT is(crm_loyalty_score(referrals => 100000), 100::float8, 'many referrals approach 100 without overflow');

SELECT throws_ok('SELECT crm_loyalty_score(share_of_wallet => 1.5)', '22003', 'share_of_wallet must be between 0 and 1', 'share above 1');
SELECT throws_ok('SELECT crm_loyalty_score(0.5, behaviour_weight => NULL)', '22004', 'behaviour_weight must not be null', 'NULL weight');
SELECT throws_ok('SELECT crm_loyalty_score(0.5, behaviour_weight => 2)', '22003', 'behaviour_weight must be between 0 and 1', 'weight above 1');
SELECT throws_ok('SELECT crm_loyalty_score(referrals => -2)', '22003', 'referrals must not be negative', 'negative referrals');
SELECT throws_ok($$SELECT crm_loyalty_score(repurchase_intention => 'NaN')$$, '22023', 'repurchase_intention cannot be NaN', 'NaN intention');

SELECT * FROM finish();
ROLLBACK;
