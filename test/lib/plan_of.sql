-- pg_temp.plan_of(query [, options]): the text of EXPLAIN (COSTS OFF) for a
-- query, for tests that check which plan PostgreSQL chose; with other
-- options (ANALYZE, ...), what the executor did.  Included with \ir.
CREATE FUNCTION pg_temp.plan_of(query text, options text DEFAULT 'COSTS OFF')
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (' || options || ') ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;
