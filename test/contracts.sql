-- Contracts of every SQL object: volatility, strictness, parallel safety,
-- comments, no SECURITY DEFINER, enum labels, and a clean DROP EXTENSION.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(60);

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

-- Tracking functions and triggers: they change tables, so they are neither
-- immutable nor parallel safe; the trigger functions take no NULL checks.
CREATE FUNCTION pg_temp.tracking_functions() RETURNS text[] LANGUAGE sql AS
$$SELECT ARRAY['crm_track', 'crm_untrack', 'crm_refresh', 'crm_verify', 'crm_fold', 'crm_fold_deferred',
               'crm_distribute_tracked',
               'crm_orders_trigger', 'crm_state_trigger', 'crm_history_trigger',
               'crm_tracking_trigger', 'crm_ddl_trigger']$$;
SELECT volatility_is('crm_days_union', ARRAY['date[]', 'date[]'], 'immutable');
SELECT isnt_strict('crm_days_union', ARRAY['date[]', 'date[]']);
SELECT isnt_strict('crm_track', ARRAY['regclass', 'name', 'name', 'name', 'name', 'double precision[]', 'numeric', 'numeric[]', 'timestamp with time zone', 'text', 'text', 'name']);
SELECT is_strict('crm_untrack', ARRAY['regclass']);
SELECT isnt_strict('crm_refresh', ARRAY['regclass', 'boolean']);
SELECT isnt_strict('crm_fold', ARRAY['regclass']);
SELECT is_strict('crm_verify', ARRAY['regclass']);
SELECT is_strict('crm_distribute_tracked', ARRAY['regclass']);

-- Catalog-wide checks over every object the extension owns.
CREATE TEMP VIEW ext_members AS
SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND d.refclassid = 'pg_extension'::regclass
WHERE e.extname = 'crm' AND d.deptype = 'e';

SELECT is((SELECT count(*) FROM ext_members m JOIN pg_proc p ON p.oid = m.objid
           WHERE m.classid = 'pg_proc'::regclass AND p.prokind = 'f'),
          135::bigint, 'the extension has 135 functions (76 scalar, 47 aggregate support, 7 tracking, 5 triggers)');
SELECT is((SELECT string_agg(e.evtname || ' ' || e.evtevent || ' ' || e.evtenabled::text, ', ' ORDER BY e.evtname)
           FROM ext_members m JOIN pg_event_trigger e ON e.oid = m.objid
           WHERE m.classid = 'pg_event_trigger'::regclass),
          'crm_ddl_end ddl_command_end O, crm_ddl_start ddl_command_start O, crm_sql_drop sql_drop O',
          'the extension has three event triggers, enabled, following DDL on tracked tables');
SELECT is((SELECT count(*) FROM ext_members m JOIN pg_proc p ON p.oid = m.objid
           WHERE m.classid = 'pg_proc'::regclass AND p.prokind = 'a'),
          31::bigint, 'the extension has 31 aggregates');
SELECT is((SELECT count(*) FROM ext_members WHERE classid = 'pg_type'::regclass),
          19::bigint, 'the extension has 19 types (4 enums, 14 composites, the aggregate state)');
SELECT is_empty($$SELECT a.aggfnoid::regprocedure::text FROM pg_aggregate a
                  JOIN ext_members m ON m.objid = a.aggfnoid AND m.classid = 'pg_proc'::regclass
                  WHERE a.aggcombinefn = 0
                     OR (a.aggtranstype = 'internal'::regtype AND (a.aggserialfn = 0 OR a.aggdeserialfn = 0))$$,
                'every aggregate has a combine function, and serial and deserial functions where its state is internal');
SELECT is((SELECT string_agg(DISTINCT p.proname, ', ') FROM pg_aggregate a
           JOIN pg_proc p ON p.oid = a.aggfnoid
           JOIN ext_members m ON m.objid = a.aggfnoid AND m.classid = 'pg_proc'::regclass
           WHERE a.aggtranstype = 'crm_agg_state'::regtype),
          'crm_bgbb_fit, crm_bgnbd_fit, crm_gammagamma_fit, crm_mbgnbd_fit, crm_pareto_share, crm_paretonbd_fit, crm_pyramid, crm_sbg_fit, crm_tier_thresholds',
          'the population aggregates keep a crm_agg_state, a type Citus can send from its workers');
SELECT is_empty($$SELECT t.typname || '.' || att.attname FROM pg_type t
                  JOIN ext_members m ON m.objid = t.oid AND m.classid = 'pg_type'::regclass
                  JOIN pg_attribute att ON att.attrelid = t.typrelid AND att.attnum > 0
                  WHERE col_description(t.typrelid, att.attnum) IS NULL$$,
                'every column of a composite type has a COMMENT');
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                  JOIN ext_members m ON m.objid = p.oid AND m.classid = 'pg_proc'::regclass
                  WHERE p.prokind = 'f' AND p.provolatile <> 'i'
                    AND p.proname NOT IN ('crm_rfm_accum', 'crm_rfm_final', 'crm_purchase_summary_final',
                                          'crm_holdout_accum')
                    AND p.proname NOT IN (SELECT unnest(pg_temp.tracking_functions()))$$,
                'every function is IMMUTABLE except those of crm_rfm, crm_purchase_summary, crm_calibration_holdout and of tracking');
SELECT is((SELECT array_agg(DISTINCT p.provolatile::text || p.proparallel::text) FROM pg_proc p
           WHERE p.proname IN (SELECT unnest(pg_temp.tracking_functions()))), '{vu}',
          'the tracking functions and triggers are VOLATILE and PARALLEL UNSAFE (they write)');
SELECT is((SELECT array_agg(DISTINCT p.provolatile) FROM pg_proc p
           WHERE p.proname IN ('crm_rfm_accum', 'crm_rfm_final', 'crm_purchase_summary_final',
                               'crm_holdout_accum')), '{s}'::"char"[],
          'crm_rfm''s transition and final functions and crm_calibration_holdout''s transition are STABLE (they read TimeZone and the transaction time)');
SELECT is_empty($$SELECT object FROM ext_members
                  WHERE obj_description(objid, classid::regclass::name) IS NULL$$,
                'every object of the extension has a COMMENT');
-- the aggregates of the covariate fits: those whose rows go through
-- crm_fit_covariates_accum
CREATE FUNCTION pg_temp.covariate_fits() RETURNS oid[] LANGUAGE sql AS $$
    SELECT array_agg(a.aggfnoid::oid) FROM pg_aggregate a JOIN pg_proc t ON t.oid = a.aggtransfn
    WHERE t.proname = 'crm_fit_covariates_accum' $$;
SELECT is_empty($$SELECT p.oid::regprocedure::text FROM pg_proc p
                  JOIN ext_members m ON m.objid = p.oid AND m.classid = 'pg_proc'::regclass
                  WHERE p.proparallel <> 's'
                    AND p.proname NOT IN (SELECT unnest(pg_temp.tracking_functions()))
                    AND p.oid NOT IN (SELECT unnest(pg_temp.covariate_fits()))$$,
                'every function but those of tracking and the covariate fits is PARALLEL SAFE');
SELECT is((SELECT array_agg(p.oid::regprocedure::text || ' ' || p.proparallel::text ORDER BY p.oid::regprocedure::text)
           FROM pg_proc p WHERE p.oid IN (SELECT unnest(pg_temp.covariate_fits()))),
          ARRAY['crm_bgnbd_fit(double precision,double precision,double precision,double precision[]) r',
                'crm_bgnbd_fit(double precision,double precision,double precision,double precision[],double precision) r',
                'crm_mbgnbd_fit(double precision,double precision,double precision,double precision[]) r',
                'crm_mbgnbd_fit(double precision,double precision,double precision,double precision[],double precision) r',
                'crm_paretonbd_fit(double precision,double precision,double precision,double precision[]) r',
                'crm_paretonbd_fit(double precision,double precision,double precision,double precision[],double precision) r'],
          'the six covariate fits are PARALLEL RESTRICTED (the leader reads their rows)');
SELECT is_empty($$SELECT a.attname FROM pg_attribute a
                  WHERE a.attrelid = 'crm_tracking'::regclass AND a.attnum > 0
                    AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL$$,
                'every column of crm_tracking has a COMMENT');
SELECT ok((SELECT array_agg(c.relname ORDER BY c.relname) FROM pg_extension e,
                  unnest(e.extconfig) AS x(oid) JOIN pg_class c ON c.oid = x.oid
           WHERE e.extname = 'crm') = '{crm_tracking,crm_tracking_id_seq}',
          'crm_tracking and its sequence are extension configuration: pg_dump keeps their rows');
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
