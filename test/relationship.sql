-- Relationship types: the four quadrants, the cuts and every error.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(13);

SELECT is(crm_relationship(80, 80), 'partnership'::crm_relationship, 'high value, high loyalty');
SELECT is(crm_relationship(80, 20), 'functional'::crm_relationship, 'high value, low loyalty');
SELECT is(crm_relationship(20, 80), 'emotional'::crm_relationship, 'low value, high loyalty');
SELECT is(crm_relationship(20, 20), 'acquaintance'::crm_relationship, 'low value, low loyalty');
SELECT is(crm_relationship(50, 50), 'partnership'::crm_relationship, 'scores on the cuts are high');
SELECT is(crm_relationship(49.9, 50), 'emotional'::crm_relationship, 'value just below the cut is low');
SELECT is(crm_relationship(30, 30, value_cut => 20, loyalty_cut => 40), 'functional'::crm_relationship, 'custom cuts');
SELECT is(crm_relationship(NULL, 30), NULL, 'strict: NULL gives NULL');

SELECT throws_ok('SELECT crm_relationship(101, 50)', '22003', 'value_score must be between 0 and 100', 'value above 100');
SELECT throws_ok('SELECT crm_relationship(50, -1)', '22003', 'loyalty_score must be between 0 and 100', 'negative loyalty');
SELECT throws_ok($$SELECT crm_relationship('NaN', 50)$$, '22023', 'value_score cannot be NaN', 'NaN value');
SELECT throws_ok('SELECT crm_relationship(50, 50, 200)', '22003', 'value_cut must be between 0 and 100', 'cut above 100');
SELECT throws_ok($$SELECT crm_relationship(50, 50, 50, '-Infinity')$$, '22023', 'loyalty_cut cannot be infinity', 'infinite cut');

SELECT * FROM finish();
ROLLBACK;
