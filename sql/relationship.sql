-- Relationship types from value and loyalty scores (0-100)
SELECT v, l, crm_relationship(v, l)
FROM (VALUES (80, 80), (80, 20), (20, 80), (20, 20), (50, 50)) AS s(v, l);
SELECT crm_relationship(30, 30, value_cut => 20, loyalty_cut => 40);
-- errors
SELECT crm_relationship(120, 50);
SELECT crm_relationship(50, 50, 50, 'NaN');
