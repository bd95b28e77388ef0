-- Upgrade path: installing the previous release and running ALTER EXTENSION
-- crm UPDATE gives exactly what a fresh install of the current version
-- gives: the same objects, signatures, defaults, volatility, comments,
-- columns, privileges and configuration tables.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
DROP EXTENSION IF EXISTS crm;
SELECT plan(5);

-- Everything that defines one member object of the extension, as text
CREATE FUNCTION pg_temp.crm_objects() RETURNS TABLE (object text, detail text)
LANGUAGE sql AS $$
    SELECT pg_describe_object(d.classid, d.objid, 0),
           concat_ws(' | ',
               obj_description(d.objid, d.classid::regclass::name),
               (SELECT format('%s(%s) returns %s; %s %s %s; %s %s', p.proname,
                              pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                              p.provolatile, p.proisstrict, p.proparallel, p.prosrc, p.prokind)
                FROM pg_proc p WHERE d.classid = 'pg_proc'::regclass AND p.oid = d.objid),
               (SELECT format('%s %s %s %s %s %s %s', a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                              a.aggserialfn, a.aggdeserialfn, a.aggtranstype::regtype, a.aggtransspace)
                FROM pg_aggregate a WHERE d.classid = 'pg_proc'::regclass AND a.aggfnoid = d.objid),
               (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                FROM pg_enum e WHERE d.classid = 'pg_type'::regclass AND e.enumtypid = d.objid),
               (SELECT string_agg(format('%s %s %s %s', att.attname, format_type(att.atttypid, att.atttypmod),
                                         att.attnotnull, col_description(att.attrelid, att.attnum)),
                                  ', ' ORDER BY att.attnum)
                FROM pg_attribute att
                WHERE att.attnum > 0 AND NOT att.attisdropped
                  AND att.attrelid = CASE d.classid
                                     WHEN 'pg_class'::regclass THEN d.objid
                                     WHEN 'pg_type'::regclass THEN (SELECT typrelid FROM pg_type WHERE oid = d.objid)
                                     END),
               (SELECT format('%s %s %s %s', c.relkind, c.relpersistence, c.relacl, c.relrowsecurity)
                FROM pg_class c WHERE d.classid = 'pg_class'::regclass AND c.oid = d.objid),
               (SELECT string_agg(format('%s %s %s', pol.polname, pol.polcmd,
                                         pg_get_expr(pol.polqual, pol.polrelid)), '; ' ORDER BY pol.polname)
                FROM pg_policy pol WHERE d.classid = 'pg_class'::regclass AND pol.polrelid = d.objid),
               (SELECT string_agg(pg_get_constraintdef(con.oid), '; ' ORDER BY con.conname)
                FROM pg_constraint con WHERE d.classid = 'pg_class'::regclass AND con.conrelid = d.objid))
    FROM pg_depend d
    JOIN pg_extension x ON x.oid = d.refobjid
    WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e' AND x.extname = 'crm'
    UNION ALL
    SELECT 'configuration', string_agg(c::regclass::text, ', ' ORDER BY c::regclass::text)
    FROM pg_extension x, unnest(x.extconfig) AS c WHERE x.extname = 'crm'
$$;

CREATE EXTENSION crm VERSION '0.1.0';
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'crm'), '0.1.0', 'release 0.1.0 installs');
ALTER EXTENSION crm UPDATE;
SELECT is((SELECT extversion FROM pg_extension WHERE extname = 'crm'),
          (SELECT default_version FROM pg_available_extensions WHERE name = 'crm'),
          'ALTER EXTENSION crm UPDATE reaches the current version');
CREATE TEMP TABLE upgraded AS SELECT * FROM pg_temp.crm_objects();

DROP EXTENSION crm;
CREATE EXTENSION crm;
CREATE TEMP TABLE fresh AS SELECT * FROM pg_temp.crm_objects();

SELECT is((SELECT count(*) FROM fresh), 194::bigint,
          'the comparison sees every object: 135 functions, 31 aggregates, 19 types, 5 relations (three tables, two sequences), 3 event triggers, the configuration');
SELECT is_empty($$SELECT * FROM fresh EXCEPT SELECT * FROM upgraded$$,
                'nothing of a fresh install is missing or different after the upgrade');
SELECT is_empty($$SELECT * FROM upgraded EXCEPT SELECT * FROM fresh$$,
                'the upgrade adds nothing a fresh install lacks');

SELECT * FROM finish();
ROLLBACK;
