
-- Loyalty types and loyalty score

CREATE FUNCTION crm_loyalty_type(repeat_rate float8,
                                 attitude float8 DEFAULT NULL,
                                 promo_share float8 DEFAULT NULL,
                                 price_sensitivity float8 DEFAULT NULL,
                                 referrals integer DEFAULT NULL,
                                 has_alternative boolean DEFAULT NULL,
                                 high_repeat float8 DEFAULT 0.5,
                                 high_attitude float8 DEFAULT 0.7,
                                 high_promo float8 DEFAULT 0.5,
                                 high_price_sensitivity float8 DEFAULT 0.5)
RETURNS crm_loyalty
AS 'MODULE_PATHNAME', 'crm_loyalty_type'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_loyalty_type(float8, float8, float8, float8, integer, boolean, float8, float8, float8, float8) IS
'Loyalty type from behaviour (repeat_rate, promo_share, price_sensitivity, all in [0,1]) and attitude (attitude in [0,1], referrals >= 0, has_alternative), by the first matching rule: monopoly, incentive, benefit, devoted, brand, inertia, latent, none; a NULL measure never counts as high, an unknown alternative is assumed to exist, and a NULL repeat_rate gives NULL';

CREATE FUNCTION crm_loyalty_score(repeat_rate float8 DEFAULT NULL,
                                  share_of_wallet float8 DEFAULT NULL,
                                  price_sensitivity float8 DEFAULT NULL,
                                  referrals integer DEFAULT NULL,
                                  attitude float8 DEFAULT NULL,
                                  repurchase_intention float8 DEFAULT NULL,
                                  competitor_attitude float8 DEFAULT NULL,
                                  behaviour_weight float8 DEFAULT 0.5)
RETURNS float8
AS 'MODULE_PATHNAME', 'crm_loyalty_score'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm_loyalty_score(float8, float8, float8, integer, float8, float8, float8, float8) IS
'Loyalty score 0-100: behaviour_weight * mean of the known behavioural measures (repeat_rate, share_of_wallet, 1 - price_sensitivity, 1 - 0.5^referrals) plus (1 - behaviour_weight) * mean of the known survey measures (attitude, repurchase_intention, 1 - competitor_attitude); NULL measures are left out and a part with none gives its weight to the other; NULL when nothing is known';
