-- The Pareto/NBD likelihood written in SQL, for the tests to check crm's
-- against, included with \ir: Fader & Hardie's (2005) eq. 22 with the
-- 2F1 of A0 summed as its series in logs, up to 3,000 terms, until they
-- fall below e^-50 (the first term is 1, and once the terms shrink they
-- keep shrinking: their ratio (a+k)(b+k) z / ((c+k)(k+1)) falls towards z).

CREATE FUNCTION pg_temp.log_2f1(a float8, b float8, c float8, z float8) RETURNS float8
LANGUAGE sql AS $$
    WITH RECURSIVE series(k, lt) AS (
        SELECT 0, 0::float8
        UNION ALL
        SELECT k + 1, lt + ln((a + k) * (b + k) / ((c + k) * (k + 1)) * z)
        FROM series WHERE k < 3000 AND z > 0 AND lt > -50),
    top AS (SELECT max(lt) AS lt FROM series)
    SELECT top.lt + ln(sum(CASE WHEN s.lt - top.lt < -700 THEN 0 ELSE exp(s.lt - top.lt) END))
    FROM series s, top GROUP BY top.lt $$;

-- ln of one term of A0, (alpha+t)^-(r+s+x) 2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+t))
-- for alpha >= beta, the roles of alpha and beta swapped otherwise
CREATE FUNCTION pg_temp.log_a0_term(m crm_paretonbd_model, x float8, t float8) RETURNS float8
LANGUAGE sql AS $$
    SELECT CASE WHEN (m).alpha >= (m).beta THEN
               pg_temp.log_2f1((m).r + (m).s + x, (m).s + 1, (m).r + (m).s + x + 1,
                               ((m).alpha - (m).beta) / ((m).alpha + t))
               - ((m).r + (m).s + x) * ln((m).alpha + t)
           ELSE
               pg_temp.log_2f1((m).r + (m).s + x, (m).r + x, (m).r + (m).s + x + 1,
                               ((m).beta - (m).alpha) / ((m).beta + t))
               - ((m).r + (m).s + x) * ln((m).beta + t) END $$;

-- ln L of one customer with a whole frequency x: ln G(r+x) - ln G(r) as
-- the sum of ln(r+k), k < x
CREATE FUNCTION pg_temp.paretonbd_customer_loglik_sql(m crm_paretonbd_model, x float8, t_x float8, "T" float8)
RETURNS float8 LANGUAGE sql AS $$
    SELECT head + greatest(alive, b) + ln(1 + exp(least(alive, b) - greatest(alive, b)))
    FROM (SELECT (SELECT coalesce(sum(ln((m).r + k)), 0) FROM generate_series(0, x::int - 1) k)
                 + (m).r * ln((m).alpha) + (m).s * ln((m).beta) AS head,
                 -((m).r + x) * ln((m).alpha + "T") - (m).s * ln((m).beta + "T") AS alive,
                 CASE WHEN l2 >= l1 THEN '-Infinity'::float8
                      ELSE ln((m).s / ((m).r + (m).s + x)) + l1 + ln(1 - exp(l2 - l1)) END AS b
          FROM (SELECT pg_temp.log_a0_term(m, x, t_x) AS l1, pg_temp.log_a0_term(m, x, "T") AS l2) a) t $$;

-- The log-likelihood of customers (xs, t_xs, ts) under one model
CREATE FUNCTION pg_temp.paretonbd_loglik_sql(m crm_paretonbd_model, xs float8[], t_xs float8[], ts float8[])
RETURNS float8 LANGUAGE sql AS $$
    SELECT sum(pg_temp.paretonbd_customer_loglik_sql(m, x, t_x, "T"))
    FROM unnest(xs, t_xs, ts) AS c(x, t_x, "T") $$;
