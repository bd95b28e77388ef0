-- crm_agg_state, the transition type of the population aggregates: partial
-- states written as text and read back, then combined, give what one
-- aggregate over all rows gives -- what Citus does between its workers and
-- its coordinator -- and bad states are refused with the right errors.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(21);

-- Aggregates built from crm's support functions: one that stops at the
-- partial state (a worker's part), one that combines partial states and
-- finishes them (the coordinator's part)
CREATE AGGREGATE pg_temp.value_state(float8) (SFUNC = crm_value_accum, STYPE = crm_agg_state);
CREATE AGGREGATE pg_temp.value_state(float8, float8[]) (SFUNC = crm_value_accum, STYPE = crm_agg_state);
CREATE AGGREGATE pg_temp.pareto_state(float8, float8) (SFUNC = crm_pareto_accum, STYPE = crm_agg_state);
CREATE AGGREGATE pg_temp.combined_thresholds(crm_agg_state) (
    SFUNC = crm_value_combine, STYPE = crm_agg_state, FINALFUNC = crm_tier_thresholds_final);
CREATE AGGREGATE pg_temp.combined_pareto(crm_agg_state) (
    SFUNC = crm_value_combine, STYPE = crm_agg_state, FINALFUNC = crm_pareto_share_final);
CREATE AGGREGATE pg_temp.combined_pyramid(crm_agg_state) (
    SFUNC = crm_value_combine, STYPE = crm_agg_state, FINALFUNC = crm_pyramid_final);
CREATE AGGREGATE pg_temp.fit_state(float8, float8, float8) (SFUNC = crm_fit_summary_accum, STYPE = crm_agg_state);
CREATE AGGREGATE pg_temp.gammagamma_state(float8, float8) (SFUNC = crm_gammagamma_accum, STYPE = crm_agg_state);
CREATE AGGREGATE pg_temp.combined_bgnbd(crm_agg_state) (
    SFUNC = crm_fit_combine, STYPE = crm_agg_state, FINALFUNC = crm_bgnbd_final);
CREATE AGGREGATE pg_temp.combined_gammagamma(crm_agg_state) (
    SFUNC = crm_fit_combine, STYPE = crm_agg_state, FINALFUNC = crm_gammagamma_final);

-- Values in five "shards", with ties across shards and NULLs
CREATE TEMP TABLE vals AS
SELECT i % 5 AS shard, CASE WHEN i % 17 = 0 THEN NULL ELSE ((i * 7919) % 211)::float8 END AS v
FROM generate_series(1, 5000) i;
-- Each shard's partial state, as text: what a worker sends
CREATE TEMP TABLE shard_states AS
SELECT shard, pg_temp.value_state(v)::text AS plain, pg_temp.value_state(v, '{0.1, 0.3, 0.6}')::text AS custom,
       pg_temp.pareto_state(v, 0.2)::text AS pareto
FROM vals GROUP BY shard;

SELECT is((SELECT count(*) FROM shard_states WHERE plain ~ '^[A-Za-z0-9+/]+=*$'), 5::bigint,
          'a partial state is written as base64');
SELECT is((SELECT pg_temp.combined_thresholds(plain::crm_agg_state) FROM shard_states),
          (SELECT crm_tier_thresholds(v) FROM vals),
          'thresholds from five partial states read back from text equal those of all rows');
SELECT is((SELECT pg_temp.combined_thresholds(custom::crm_agg_state) FROM shard_states),
          (SELECT crm_tier_thresholds(v, '{0.1, 0.3, 0.6}') FROM vals),
          'and with custom cuts, which travel in the state');
SELECT is((SELECT pg_temp.combined_pareto(pareto::crm_agg_state) FROM shard_states),
          (SELECT crm_pareto_share(v) FROM vals),
          'the Pareto share from partial states equals that of all rows');
SELECT is((SELECT pg_temp.combined_pyramid(plain::crm_agg_state)::text FROM shard_states),
          (SELECT crm_pyramid(v)::text FROM vals),
          'the pyramid from partial states equals that of all rows');
SELECT is((SELECT pg_temp.combined_thresholds(plain::crm_agg_state) FROM shard_states WHERE shard = 3),
          (SELECT crm_tier_thresholds(v) FROM vals WHERE shard = 3),
          'one partial state alone gives the thresholds of its rows');
SELECT is((SELECT pg_temp.combined_thresholds(s) FROM (VALUES (NULL::crm_agg_state)) t(s)), NULL,
          'no state at all gives NULL, as no rows do');

-- Model fits: customer summaries in three shards, duplicates across them
CREATE TEMP TABLE summaries AS
SELECT i % 3 AS shard, (i % 4)::float8 AS x, CASE WHEN i % 4 = 0 THEN 0 ELSE (i % 9) + 1 END::float8 AS t_x,
       10::float8 AS t, (5 + i % 7)::float8 AS avg_value
FROM generate_series(1, 600) i;
SELECT is((SELECT row(m.*)::text FROM (SELECT (pg_temp.combined_bgnbd(s::crm_agg_state)).*
                                        FROM (SELECT pg_temp.fit_state(x, t_x, t)::text AS s
                                              FROM summaries GROUP BY shard) p) m),
          (SELECT row(m.*)::text FROM (SELECT (crm_bgnbd_fit(x, t_x, t)).* FROM summaries) m),
          'a BG/NBD fit of three partial states read back from text is identical to the fit of all rows');
SELECT is((SELECT row(m.*)::text FROM (SELECT (pg_temp.combined_gammagamma(s::crm_agg_state)).*
                                        FROM (SELECT pg_temp.gammagamma_state(x, avg_value)::text AS s
                                              FROM summaries GROUP BY shard) p) m),
          (SELECT row(m.*)::text FROM (SELECT (crm_gammagamma_fit(x, avg_value)).* FROM summaries) m),
          'so is a Gamma-Gamma fit');
SELECT is((SELECT octet_length(pg_temp.fit_state(x, t_x, t)::text) FROM summaries, generate_series(1, 100)),
          (SELECT octet_length(pg_temp.fit_state(x, t_x, t)::text) FROM summaries),
          'a fit state holds each distinct summary once: as long for 60,000 customers as for 600 of the same kinds');

-- A state stored in a table reads back to the same figures
CREATE TEMP TABLE stored_states AS
SELECT shard, pg_temp.value_state(v) AS s FROM vals GROUP BY shard;
SELECT is((SELECT pg_temp.combined_thresholds(s) FROM stored_states), (SELECT crm_tier_thresholds(v) FROM vals),
          'states stored in a table give the thresholds of all rows');

-- The binary form is the same bytes as the text form
SELECT is((SELECT crm_agg_state_send(pg_temp.value_state(v)) FROM vals WHERE shard = 1),
          (SELECT decode(plain, 'base64') FROM shard_states WHERE shard = 1),
          'crm_agg_state_send gives the bytes that the text form encodes');

-- Bad states
SELECT throws_ok($$SELECT 'not base64!'::crm_agg_state$$, '22P02', NULL,
                 'text that is not base64 is refused as invalid input syntax');
SELECT throws_ok($$SELECT ''::crm_agg_state$$, '22P03', 'unsupported crm aggregate state version',
                 'an empty state is refused');
SELECT throws_ok($$SELECT encode('\x09760100'::bytea, 'base64')::crm_agg_state$$, '22P03',
                 'unsupported crm aggregate state version', 'a state of another version is refused');
SELECT throws_ok($$SELECT encode('\x017a'::bytea, 'base64')::crm_agg_state$$, '22P03',
                 'unknown kind of crm aggregate state: 122', 'a state of an unknown kind is refused');
SELECT throws_ok($$SELECT encode('\x0176010000'::bytea, 'base64')::crm_agg_state$$, '22P03',
                 'invalid crm value state', 'a state cut short is refused');
SELECT throws_ok($$SELECT encode(decode(plain, 'base64') || '\x00'::bytea, 'base64')::crm_agg_state
                   FROM shard_states WHERE shard = 0$$,
                 '22P03', NULL, 'a state with bytes left over is refused');
SELECT throws_ok($$SELECT pg_temp.combined_bgnbd(plain::crm_agg_state) FROM shard_states$$, '22023',
                 'a crm value state cannot be used where a crm model fit state is expected',
                 'a value state is not taken for a model fit');
SELECT throws_ok($$SELECT pg_temp.combined_bgnbd(s::crm_agg_state)
                   FROM (SELECT pg_temp.gammagamma_state(x, avg_value)::text AS s FROM summaries) p$$, '22023',
                 'crm_bgnbd_final needs a model-fit state of 3 numbers per customer, not 2',
                 'a Gamma-Gamma state is not taken for a BG/NBD fit');
SELECT throws_ok($$SELECT crm_value_accum(NULL::crm_agg_state, 1.0)$$, '0A000',
                 'crm_value_accum called in non-aggregate context',
                 'a transition function outside an aggregate is an error');

SELECT * FROM finish();
ROLLBACK;
