-- Loyalty types: one row of the decision table each
SELECT crm_loyalty_type(0.9, has_alternative => false) AS monopoly,
       crm_loyalty_type(0.9, promo_share => 0.7) AS incentive,
       crm_loyalty_type(0.9, price_sensitivity => 0.8) AS benefit,
       crm_loyalty_type(0.9, attitude => 0.9, referrals => 2) AS devoted,
       crm_loyalty_type(0.9, attitude => 0.9) AS brand,
       crm_loyalty_type(0.9) AS inertia,
       crm_loyalty_type(0.2, attitude => 0.9) AS latent,
       crm_loyalty_type(0.2) AS none;
-- unknown attitude is not high; an unknown alternative is assumed to exist
SELECT crm_loyalty_type(0.9, attitude => NULL, has_alternative => NULL);
-- thresholds can be moved
SELECT crm_loyalty_type(0.4, high_repeat => 0.3);
-- loyalty score 0-100: half behaviour, half attitude by default
SELECT crm_loyalty_score(repeat_rate => 0.8, share_of_wallet => 0.6) AS behaviour_only,
       crm_loyalty_score(repeat_rate => 0.8, attitude => 0.4, behaviour_weight => 0.75) AS weighted,
       crm_loyalty_score() AS nothing_known;
-- errors
SELECT crm_loyalty_type(1.5);
SELECT crm_loyalty_type(0.5, referrals => -1);
SELECT crm_loyalty_type(0.5, high_attitude => NULL);
SELECT crm_loyalty_score(attitude => 'NaN');
