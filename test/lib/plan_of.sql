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
