
-- Enums: the label order is the sort order, so comparisons read naturally
-- (tier >= 'major', ORDER BY stage).

CREATE TYPE crm_tier AS ENUM ('small', 'ordinary', 'major', 'vip');
COMMENT ON TYPE crm_tier IS
'Customer pyramid tier, ordered small < ordinary < major < vip: by default vip is the top 1% of customers by value, major the next 4%, ordinary the next 15%, small the other 80%';

CREATE TYPE crm_loyalty AS ENUM
    ('none', 'monopoly', 'inertia', 'latent', 'benefit', 'incentive', 'brand', 'devoted');
COMMENT ON TYPE crm_loyalty IS
'Kind of customer loyalty: monopoly (no alternative), inertia (habit), latent (attached but buys rarely), benefit (price/value advantage), incentive (promotions), brand (attached and repeats), devoted (attached, repeats and refers others), or none';

CREATE TYPE crm_relationship AS ENUM
    ('acquaintance', 'functional', 'emotional', 'partnership');
COMMENT ON TYPE crm_relationship IS
'Relationship type from customer value and loyalty: acquaintance (low value, low loyalty), functional (high value, low loyalty), emotional (low value, high loyalty), partnership (high value, high loyalty)';

CREATE TYPE crm_lifecycle AS ENUM
    ('prospect', 'acquisition', 'growth', 'maturity', 'decline', 'churned');
COMMENT ON TYPE crm_lifecycle IS
'Relationship lifecycle stage: prospect (no purchase yet), acquisition (first purchase), growth, maturity, decline (buying less often than usual), churned';
