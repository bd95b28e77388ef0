-- Customer lifetime value
-- $100 a week for 52 weeks a year over 10 years
SELECT crm_clv_simple(100, 52, 10);
-- the same with the retention model: retention 1, no discount, 520 weeks
SELECT crm_clv(100, 1, 0, 520);
-- $100 margin a year, 80% retention, 10% discount, no horizon
SELECT round(crm_clv(100, 0.8, 0.1)::numeric, 2);
-- ... over 5 years, after spending $50 to acquire the customer
SELECT round(crm_clv(margin => 100, retention => 0.8, discount => 0.1,
                     periods => 5, acquisition_cost => 50)::numeric, 2);
-- NULL periods means an unlimited horizon; any other NULL gives NULL
SELECT crm_clv(100, NULL, 0.1) IS NULL AS is_null;
-- errors
SELECT crm_clv(100, 1, 0);
SELECT crm_clv(100, 1.2, 0.1, 5);
SELECT crm_clv('NaN', 0.8, 0.1);
SELECT crm_clv(100, 0.8, 0.1, -1);
SELECT crm_clv_simple(100, 52, 10, 1.5);
SELECT crm_clv(1e308, 1, 0, 1000);
