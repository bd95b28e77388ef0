-- MBG/NBD fitted by crm_mbgnbd_fit (Batislam, Denizel & Filiztekin 2007):
-- the CDNOW parameters BTYDplus publishes, P(alive) below 1 for one-time
-- buyers, expectations checked by numerical integration and against
-- BG/NBD's formulas, and bad input.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(23);

CREATE TEMP TABLE published (id int, x int, t_x numeric, "T" numeric, zbar numeric);
\copy published FROM 'data/cdnow_sample_summary.csv' WITH (FORMAT csv, HEADER)

-- BTYDplus (mbgcnbd.EstimateParameters with k = 1) on the CDNOW sample, in
-- weeks: r = 0.525, alpha = 6.183, a = 0.891, b = 1.614.
CREATE TEMP TABLE fit AS SELECT (crm_mbgnbd_fit(x, t_x, "T")).* FROM published;
SELECT ok((SELECT converged FROM fit), 'the CDNOW fit converges');
SELECT is((SELECT customers FROM fit), 2357::bigint, 'over 2,357 customers');
SELECT ok((SELECT abs(r - 0.525) < 0.0015 FROM fit), 'r = 0.525');
SELECT ok((SELECT abs(alpha - 6.183) < 0.0015 FROM fit), 'alpha = 6.183');
SELECT ok((SELECT abs(a - 0.891) < 0.0015 FROM fit), 'a = 0.891');
SELECT ok((SELECT abs(b - 1.614) < 0.0015 FROM fit), 'b = 1.614');
-- BG/NBD cannot lose a customer who never came back; on these data it fits
-- worse than MBG/NBD by less than a point of log-likelihood per thousand
SELECT ok((SELECT f.log_likelihood < 0 AND abs(f.log_likelihood - (crm_bgnbd_fit(x, t_x, "T")).log_likelihood) < 10
           FROM fit f, published GROUP BY f.log_likelihood),
          'its log-likelihood is close to BG/NBD''s on the same customers');

CREATE TEMP TABLE model AS SELECT ROW(f.*)::crm_mbgnbd_model AS m FROM fit f;

-- P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)), worked out
-- here in SQL arithmetic for each CDNOW customer
SELECT is_empty($$SELECT id FROM published, model
                  WHERE abs(crm_mbgnbd_p_alive(m, x, t_x, "T")
                            - 1 / (1 + (m).a / ((m).b + x)
                                       * power(((m).alpha + "T") / ((m).alpha + t_x), (m).r + x))) > 1e-12$$,
                'P(alive) of every CDNOW customer as the formula gives it');
SELECT ok((SELECT crm_mbgnbd_p_alive(m, 0, 0, 38.86) < 0.5 FROM model),
          'a one-time buyer 38.86 weeks ago is probably gone (BG/NBD would say 1)');
SELECT is((SELECT crm_bgnbd_p_alive(ROW(f.r, f.alpha, f.a, f.b, 0, 1, 1, true, NULL, NULL, NULL)::crm_bgnbd_model, 0, 0, 38.86) FROM fit f),
          1::float8, '(BG/NBD: 1 for the same customer)');
SELECT ok((SELECT crm_mbgnbd_p_alive(m, 0, 0, 0) < 1 FROM model),
          'even right after the first purchase a new customer may be gone');

-- A new customer's expected purchases, E[(1-p)/p (1 - (alpha/(alpha+p h))^r)]
-- over p ~ Beta(a, b), by the midpoint rule over u = p^a (which makes the
-- beta density smooth): within 1e-4 of the closed form
CREATE TEMP TABLE quadrature AS
SELECT h, sum(f * w) / sum(w) AS expected
FROM model, (VALUES (13.0::float8), (39), (78)) v(h),
     LATERAL (SELECT power((i - 0.5) / 200000.0, 1 / (m).a) AS p FROM generate_series(1, 200000) i) q,
     LATERAL (SELECT (1 - q.p) / q.p * (1 - power((m).alpha / ((m).alpha + q.p * h), (m).r)) AS f,
                     power(1 - q.p, (m).b - 1) AS w) g
GROUP BY h;
SELECT is_empty($$SELECT q.h FROM quadrature q, model
                  WHERE abs(crm_mbgnbd_expected_new(m, q.h) / q.expected - 1) > 1e-4$$,
                'expected purchases of a new customer in 13, 39 and 78 weeks: as integrated numerically');
SELECT is((SELECT crm_mbgnbd_expected(m, 39, 0, 0, 0) = crm_mbgnbd_expected_new(m, 39) FROM model), true,
          'expected_new is expected with frequency, recency and t 0');

-- Known alive, a customer expects what BG/NBD with b + 1 expects of one
-- known alive: MBG/NBD adds one chance to drop out, at the first purchase
SELECT is_empty($$SELECT id FROM published, model,
                         LATERAL (SELECT ROW((m).r, (m).alpha, (m).a, (m).b + 1, 0, 1, 1, true, NULL, NULL, NULL)::crm_bgnbd_model AS bg) g
                  WHERE x > 0
                    AND abs(crm_mbgnbd_expected(m, 39, x, t_x, "T") / crm_mbgnbd_p_alive(m, x, t_x, "T")
                            / (crm_bgnbd_expected(bg, 39, x, t_x, "T") / crm_bgnbd_p_alive(bg, x, t_x, "T")) - 1) > 1e-9$$,
                'conditional expectation: BG/NBD''s with b + 1, times this model''s P(alive)');

-- Each customer twice: the same maximum; parallel plans merge partial states
CREATE TEMP TABLE twice AS
SELECT (crm_mbgnbd_fit(x, t_x, "T")).* FROM (SELECT * FROM published UNION ALL SELECT * FROM published) p;
SELECT ok((SELECT abs(t.r / f.r - 1) < 1e-6 AND abs(t.b / f.b - 1) < 1e-6
                  AND abs(t.log_likelihood - 2 * f.log_likelihood) < 1e-6 FROM twice t, fit f),
          'each customer twice: the same parameters, twice the log-likelihood');
CREATE TABLE mbgnbd_many AS SELECT p.* FROM published p, generate_series(1, 10);
ANALYZE mbgnbd_many;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
\ir lib/plan_of.sql
SELECT ok(pg_temp.plan_of('SELECT crm_mbgnbd_fit(x, t_x, "T") FROM mbgnbd_many') ~ 'Partial Aggregate',
          'the fit runs as a parallel partial aggregate');
SELECT ok((SELECT abs(p.r / f.r - 1) < 1e-6 AND abs(p.a / f.a - 1) < 1e-6
           FROM (SELECT (crm_mbgnbd_fit(x, t_x, "T")).* FROM mbgnbd_many) p, fit f),
          'and gives the same parameters');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- The penalty pulls the parameters toward 0
SELECT ok((SELECT p.r + p.alpha + p.a + p.b < f.r + f.alpha + f.a + f.b
           FROM (SELECT (crm_mbgnbd_fit(x, t_x, "T", 0.1)).* FROM published) p, fit f),
          'a penalty makes the parameters smaller');

-- Parameter recovery: 100,000 customers simulated from known parameters
-- (seeded), observed for 26 to 52 weeks.  Over six other seeds of 50,000
-- customers the estimates spread by 5% (r), 4% (alpha), 6% (a) and 13% (b,
-- which shows only through the repeat buyers who stopped); the bounds are
-- three times that over the square root of two.
\ir lib/simulate.sql
SELECT setseed(0.31);
CREATE TEMP TABLE simulated AS
SELECT s.frequency, s.recency, c.t
FROM (SELECT 26 + 26 * random() AS t FROM generate_series(1, 100000)) c,
     LATERAL pg_temp.bgnbd_customer(0.5, 6, 0.9, 1.6, c.t, at_first => true) s;
SELECT ok((SELECT converged AND abs(r / 0.5 - 1) < 0.12 AND abs(alpha / 6 - 1) < 0.08
                  AND abs(a / 0.9 - 1) < 0.13 AND abs(b / 1.6 - 1) < 0.27
           FROM (SELECT (crm_mbgnbd_fit(frequency, recency, t)).* FROM simulated) f),
          'simulated r = 0.5, alpha = 6, a = 0.9, b = 1.6 recovered within sampling error');

-- Bad input
SELECT is((SELECT crm_mbgnbd_fit(x, t_x, "T") FROM published WHERE false), NULL, 'no rows: NULL');
SELECT throws_ok($$SELECT crm_mbgnbd_fit(2, 11, 10)$$, '22023', 'recency must not exceed t', 'recency > t');
SELECT throws_ok($$SELECT crm_mbgnbd_expected(m, -1, 2, 30.43, 38.86) FROM model$$, '22003',
                 'horizon must not be negative', 'negative horizon');
SELECT throws_ok($$SELECT crm_mbgnbd_p_alive(ROW(1, 1, 1, 1, 0, 1, 1, false, NULL, NULL, NULL)::crm_mbgnbd_model, 1, 1, 2)$$,
                 '22023', 'the model did not converge', 'a model that did not converge is refused');

SELECT * FROM finish();
ROLLBACK;
