-- pg_temp.plan_of(query): the text of EXPLAIN (COSTS OFF) for a query, for
-- tests that check which plan PostgreSQL chose.  Included with \ir.
CREATE FUNCTION pg_temp.plan_of(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;

-- pg_temp.explain_analyze(query): the same for EXPLAIN ANALYZE, for tests
-- that check what the executor did (batches a hash aggregate spilled to).
CREATE FUNCTION pg_temp.explain_analyze(query text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    line text;
    plan text := '';
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) ' || query LOOP
        plan := plan || line || E'\n';
    END LOOP;
    RETURN plan;
END $$;
