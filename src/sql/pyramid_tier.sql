
-- The customer pyramid as crm_pyramid returns it: one row per tier

CREATE TYPE crm_pyramid_tier AS (
    tier           crm_tier,
    customers      bigint,
    customer_share float8,
    value          float8,
    value_share    float8,
    lowest_value   float8,
    highest_value  float8
);
COMMENT ON TYPE crm_pyramid_tier IS
'One tier of the customer pyramid as returned by crm_pyramid';
COMMENT ON COLUMN crm_pyramid_tier.tier IS 'Pyramid tier';
COMMENT ON COLUMN crm_pyramid_tier.customers IS 'Number of customers in the tier';
COMMENT ON COLUMN crm_pyramid_tier.customer_share IS 'Share of all customers in the tier, 0 to 1';
COMMENT ON COLUMN crm_pyramid_tier.value IS 'Total value of the tier''s customers';
COMMENT ON COLUMN crm_pyramid_tier.value_share IS 'Share of the total value brought by the tier, 0 to 1; NULL when the total is 0';
COMMENT ON COLUMN crm_pyramid_tier.lowest_value IS 'Lowest customer value in the tier; NULL for an empty tier';
COMMENT ON COLUMN crm_pyramid_tier.highest_value IS 'Highest customer value in the tier; NULL for an empty tier';
