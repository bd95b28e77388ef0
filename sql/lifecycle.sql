-- Lifecycle stages, judged on 2024-01-01
SET TimeZone = 'UTC';
SELECT label, crm_lifecycle_stage(orders, first_at, last_at, '2024-01-01') AS stage
FROM (VALUES
    ('never bought',          0, NULL::timestamptz, NULL::timestamptz),
    ('one order last month',  1, '2023-12-01', '2023-12-01'),
    ('one order 13 months ago', 1, '2022-12-01', '2022-12-01'),
    ('monthly, 3 orders',     3, '2023-10-01', '2023-11-30'),
    ('monthly, 6 orders',     6, '2023-07-01', '2023-12-01'),
    ('monthly, silent 75 days', 4, '2023-07-18', '2023-10-18'),
    ('monthly, silent 5 months', 4, '2023-05-01', '2023-08-01')
) AS c(label, orders, first_at, last_at);
-- the thresholds are arguments
SELECT crm_lifecycle_stage(4, '2023-07-18', '2023-10-18', '2024-01-01', decline_gaps => 3, churn_gaps => 5);
-- errors
SELECT crm_lifecycle_stage(2, '2023-05-01', '2023-01-01', '2024-01-01');
SELECT crm_lifecycle_stage(2, '2023-01-01', '2024-05-01', '2024-01-01');
SELECT crm_lifecycle_stage(2, '2023-01-01', '2023-05-01', '2024-01-01', decline_gaps => 4, churn_gaps => 3);
SELECT crm_lifecycle_stage(-1, NULL, NULL, '2024-01-01');
