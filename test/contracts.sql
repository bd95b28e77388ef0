-- Contracts of every SQL object: volatility, strictness, parallel safety,
-- comments, no SECURITY DEFINER, enum labels, and a clean DROP EXTENSION.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(46);

SELECT has_extension('crm');

SELECT enum_has_labels('crm_tier', ARRAY['small', 'ordinary', 'major', 'vip']);
SELECT enum_has_labels('crm_loyalty',
    ARRAY['none', 'monopoly', 'inertia', 'latent', 'benefit', 'incentive', 'brand', 'devoted']);
SELECT enum_has_labels('crm_relationship',
    ARRAY['acquaintance', 'functional', 'emotional', 'partnership']);
SELECT enum_has_labels('crm_lifecycle',
    ARRAY['prospect', 'acquisition', 'growth', 'maturity', 'decline', 'churned']);
SELECT ok('small'::crm_tier < 'ordinary' AND 'ordinary'::crm_tier < 'major'
          AND 'major'::crm_tier < 'vip', 'crm_tier sorts small < ordinary < major < vip');

-- Every function: IMMUTABLE (results depend on the arguments alone).
SELECT volatility_is('crm_clv', ARRAY['double precision', 'double precision', 'double precision', 'integer', 'double precision'], 'immutable');
SELECT volatility_is('crm_clv_simple', ARRAY['double precision', 'double precision', 'double precision', 'double precision'], 'immutable');
SELECT volatility_is('crm_tier', ARRAY['double precision'], 'immutable');
SELECT volatility_is('crm_tier', ARRAY['double precision', 'double precision[]'], 'immutable');
SELECT volatility_is('crm_tier', ARRAY['bigint', 'bigint'], 'immutable');
SELECT volatility_is('crm_tier', ARRAY['bigint', 'bigint', 'double precision[]'], 'immutable');
SELECT volatility_is('crm_tier_of', ARRAY['double precision', 'double precision[]'], 'immutable');
SELECT volatility_is('crm_loyalty_type', ARRAY['double precision', 'double precision', 'double precision', 'double precision', 'integer', 'boolean', 'double precision', 'double precision', 'double precision', 'double precision'], 'immutable');
SELECT volatility_is('crm_loyalty_score', ARRAY['double precision', 'double precision', 'double precision', 'integer', 'double precision', 'double precision', 'double precision', 'double precision'], 'immutable');
SELECT volatility_is('crm_relationship', ARRAY['double precision', 'double precision', 'double precision', 'double precision'], 'immutable');
SELECT volatility_is('crm_lifecycle_stage', ARRAY['bigint', 'timestamp with time zone', 'timestamp with time zone', 'timestamp with time zone', 'double precision', 'double precision', 'integer', 'interval', 'interval'], 'immutable');
SELECT volatility_is('crm_rfm_score', ARRAY['double precision', 'double precision[]', 'boolean'], 'immutable');
SELECT volatility_is('crm_rfm_segment', ARRAY['integer', 'integer', 'integer', 'boolean'], 'immutable');

-- Strict where NULL in means NULL out; the others document their NULL handling.
SELECT isnt_strict('crm_clv', ARRAY['double precision', 'double precision', 'double precision', 'integer', 'double precision']);
SELECT is_strict('crm_clv_simple', ARRAY['double precision', 'double precision', 'double precision', 'double precision']);
SELECT is_strict('crm_tier', ARRAY['double precision']);
SELECT is_strict('crm_tier', ARRAY['double precision', 'double precision[]']);
SELECT is_strict('crm_tier', ARRAY['bigint', 'bigint']);
SELECT is_strict('crm_tier', ARRAY['bigint', 'bigint', 'double precision[]']);
SELECT is_strict('crm_tier_of', ARRAY['double precision', 'double precision[]']);
SELECT isnt_strict('crm_loyalty_type', ARRAY['double precision', 'double precision', 'double precision', 'double precision', 'integer', 'boolean', 'double precision', 'double precision', 'double precision', 'double precision']);
SELECT isnt_strict('crm_loyalty_score', ARRAY['double precision', 'double precision', 'double precision', 'integer', 'double precision', 'double precision', 'double precision', 'double precision']);
SELECT is_strict('crm_relationship', ARRAY['double precision', 'double precision', 'double precision', 'double precision']);
SELECT isnt_strict('crm_lifecycle_stage', ARRAY['bigint', 'timestamp with time zone', 'timestamp with time zone', 'timestamp with time zone', 'double precision', 'double precision', 'integer', 'interval', 'interval']);
SELECT is_strict('crm_rfm_score', ARRAY['double precision', 'double precision[]', 'boolean']);
SELECT is_strict('crm_rfm_segment', ARRAY['integer', 'integer', 'integer', 'boolean']);

-- Catalog-wide checks over every object the extension owns.
CREATE TEMP VIEW ext_members AS
SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'crm' AND d.deptype = 'e';

SELECT is((SELECT count(*) FROM ext_members m JOIN pg_proc p ON p.oid = m.objid
           WHERE m.classid = 'pg_proc'::regclass AND p.prokind = 'f'),
          30::bigint, 'the extension has 30 functions (13 scalar, 17 aggregate support)');
SELECT is((SELECT count(*) FROM ext_members m JOIN pg_proc p ON p.oid = m.objid
           WHERE m.classid = 'pg_proc'::regclass AND p.prokind = 'a'),
          9::bigint, 'the extension has 9 aggregates');
SELECT is((SELECT count(*) FROM ext_members WHERE classid = 'pg_type'::regclass),
          6::bigint, 'the extension has 6 types (4 enums, 2 composites)');
SELECT is_empty($$SELECT a.aggfnoid::regprocedure::text FROM pg_aggregate a
                  JOIN ext_members m ON m.objid = a.aggfnoid AND m.classid = 'pg_proc'::regclass
                  WHERE a.aggcombinefn = 0 OR a.aggserialfn = 0 OR a.aggdeserialfn = 0$$,
                'every aggregate has combine, serial and deserial functions');
SELECT is_empty($$SELECT t.typname || '.' || att.attname FROM pg_type t
                  JOIN ext_members m ON m.objid = t.oid AND m.classid = 'pg_type'::regclass
                  JOIN pg_attribute att ON att.attrelid = t.typrelid AND att.attnum > 0
                  WHERE col_description(t.typrelid, att.attnum) IS NULL$$,
                'every column of a composite type has a COMMENT');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                  JOIN ext_members m ON m.objid = p.oid AND m.classid = 'pg_proc'::regclass
                  WHERE p.prokind = 'f' AND p.provolatile <> 'i'
                    AND p.proname NOT IN ('crm_rfm_accum', 'crm_rfm_final')$$,
                'every function is IMMUTABLE except those of crm_rfm');
SELECT is((SELECT array_agg(DISTINCT p.provolatile) FROM pg_proc p
           WHERE p.proname IN ('crm_rfm_accum', 'crm_rfm_final')), '{s}'::"char"[],
          'crm_rfm''s transition and final functions are STABLE (they read TimeZone and the transaction time)');
SELECT is_empty($$SELECT object FROM ext_members
                  WHERE obj_description(objid, classid::regclass::name) IS NULL$$,
                'every object of the extension has a COMMENT');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                  JOIN ext_members m ON m.objid = p.oid AND m.classid = 'pg_proc'::regclass
                  WHERE p.proparallel <> 's'$$,
                'every function is PARALLEL SAFE');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                  JOIN ext_members m ON m.objid = p.oid AND m.classid = 'pg_proc'::regclass
                  WHERE p.prosecdef$$,
                'no function is SECURITY DEFINER');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                  JOIN ext_members m ON m.objid = p.oid AND m.classid = 'pg_proc'::regclass
                  WHERE p.proname NOT LIKE 'crm\_%'$$,
                'every function is named crm_*');

-- DROP EXTENSION removes everything it created.
DROP EXTENSION crm;
SELECT hasnt_extension('crm');
SELECT is((SELECT count(*) FROM pg_proc WHERE proname LIKE 'crm\_%'), 0::bigint,
          'no crm function is left after DROP EXTENSION');
SELECT is((SELECT count(*) FROM pg_type WHERE typname LIKE 'crm\_%' OR typname LIKE '\_crm\_%'),
          0::bigint, 'no crm type is left after DROP EXTENSION');

SELECT * FROM finish();
ROLLBACK;
