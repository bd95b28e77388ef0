-- Every function and aggregate is fed a grid of hostile values: each argument in turn
-- takes every hostile value of its type while the others stay valid, and
-- functions of up to four arguments also get the full cross product.
-- Every call must either return a finite result or fail with one of the
-- documented SQLSTATEs -- never an internal error, never a crash (which
-- would end this script early and fail its plan).
BEGIN;
SET client_min_messages = warning;
SET TimeZone = 'UTC';
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION IF NOT EXISTS crm;
SELECT plan(6);

CREATE FUNCTION pg_temp.probe(call text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    result text;
BEGIN
    EXECUTE 'SELECT (' || call || ')::text' INTO result;
    RETURN coalesce(result, 'NULL');
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE;
END $$;

CREATE TEMP TABLE hostile (type text, literal text);
INSERT INTO hostile
SELECT 'float8', v FROM unnest(ARRAY[NULL, 'NaN', 'Infinity', '-Infinity', '-1', '0', '0.5', '1', '2',
                                     '1e308', '-1e308', '5e-324', '1.0000000000000002', '100', '101']) v
UNION ALL
SELECT 'integer', v FROM unnest(ARRAY[NULL, '-2147483648', '-1', '0', '1', '3', '5', '6', '2147483647']) v
UNION ALL
SELECT 'bigint', v FROM unnest(ARRAY[NULL, '-9223372036854775808', '-1', '0', '1', '2', '100',
                                     '9223372036854775807']) v
UNION ALL
SELECT 'float8[]', v FROM unnest(ARRAY[NULL, '{}', '{NULL}', '{NULL,NULL,NULL}', '{NaN,NaN,NaN}',
                                       '{Infinity,1,0}', '{{1,2},{3,4}}', '{0.3,0.2,0.1}',
                                       '{0.01,0.05,0.2}', '{1,2,3,4}', '{4,3,2,1}', '{1,1,1,1}',
                                       '[0:2]={0.01,0.05,0.2}', '{1e308,-1e308,0}', '{-1,0,1}']) v
UNION ALL
SELECT 'float8[]', (SELECT array_agg(i)::text FROM generate_series(1, 1000) i)
UNION ALL
SELECT 'numeric', v FROM unnest(ARRAY[NULL, 'NaN', 'Infinity', '-Infinity', '-1', '0', '0.01',
                                      '1e300', '-1e300']) v
UNION ALL
SELECT 'boolean', v FROM unnest(ARRAY[NULL, 'true', 'false']) v
UNION ALL
SELECT 'timestamptz', v FROM unnest(ARRAY[NULL, '-infinity', 'infinity', '4713-01-01 BC',
                                          '294276-12-31', '2000-01-01', '2000-01-02']) v
UNION ALL
SELECT 'interval', v FROM unnest(ARRAY[NULL, '-178000000 years', '178000000 years', '0',
                                       '1 day', '-1 day', '1 microsecond']) v
UNION ALL
SELECT 'crm_bgnbd_model', v FROM unnest(ARRAY[NULL, '(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)',
                                              '(NaN,1,2,3,0,1,1,t,,,)', '(-1,1,2,3,0,1,1,t,,,)', '(0,1,2,3,0,1,1,t,,,)',
                                              '(1,1,2,3,0,1,1,f,,,)', '(1,1,2,3,0,1,1,,,,)', '(,1,2,3,0,1,1,t,,,)',
                                              '(1,1,1,3,0,1,1,t,,,)', '(1e308,1e308,1e308,1e308,0,1,1,t,,,)',
                                              '(5e-324,5e-324,5e-324,5e-324,0,1,1,t,,,)', '(1,1,0.1,0.1,0,1,1,t,,,)']) v
UNION ALL
SELECT 'crm_paretonbd_model', v FROM unnest(ARRAY[NULL, '(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)',
                                                  '(NaN,1,2,3,0,1,1,t,,,)', '(-1,1,2,3,0,1,1,t,,,)', '(1,1,2,3,0,1,1,f,,,)',
                                                  '(1,1e308,1,1,0,1,1,t,,,)', '(1,1,1,1e308,0,1,1,t,,,)',
                                                  '(5e-324,5e-324,5e-324,5e-324,0,1,1,t,,,)']) v
UNION ALL
SELECT 'crm_gammagamma_model', v FROM unnest(ARRAY[NULL, '(6.25,3.74,15.44,0,946,1,t,,,)', '(NaN,1,1,0,1,1,t,,,)',
                                                   '(-1,1,1,0,1,1,t,,,)', '(1,1,1,0,1,1,f,,,)', '(0.5,0.2,1,0,1,1,t,,,)',
                                                   '(1e308,1e308,1e308,0,1,1,t,,,)', '(5e-324,5e-324,5e-324,0,1,1,t,,,)']) v;

-- Models with a covariance, as the fits return them, and covariances
-- written by hand: of the wrong shape, with a NaN, a negative variance,
-- not positive semidefinite.
INSERT INTO hostile VALUES
    ('crm_bgnbd_model', '(0.243,4.414,0.793,2.426,-9582,2357,300,t,19173,19196,"{{1.6e-4,3.7e-3,-8.8e-5,6.6e-5},{3.7e-3,0.143,-2.9e-3,1.05e-2},{-8.8e-5,-2.9e-3,3.4e-2,0.123},{6.6e-5,1.05e-2,0.123,0.4975}}")'),
    ('crm_bgnbd_model', '(0.243,4.414,0.793,2.426,-9582,2357,300,t,1,1,"{{1,2},{3,4}}")'),
    ('crm_bgnbd_model', '(0.243,4.414,0.793,2.426,-9582,2357,300,t,1,1,"{{1,0,0,0},{0,1,0,0},{0,0,1,0},{0,0,0,NaN}}")'),
    ('crm_bgnbd_model', '(0.243,4.414,0.793,2.426,-9582,2357,300,t,1,1,"{{1,0,0,0},{0,1,0,0},{0,0,1,0},{0,0,0,-1}}")'),
    ('crm_bgnbd_model', '(0.243,4.414,0.793,2.426,-9582,2357,300,t,1,1,"{{1,2,0,0},{2,1,0,0},{0,0,1,0},{0,0,0,1}}")'),
    ('crm_bgnbd_model', '(0.243,4.414,0.793,2.426,-9582,2357,300,t,1,1,"{{1,0,0,0},{0,1,0,0},{0,0,1,0},{0,0,0,NULL}}")'),
    ('crm_bgnbd_model', '(0.243,4.414,0.793,2.426,-9582,2357,300,t,1,1,"{{1e308,0,0,0},{0,1e308,0,0},{0,0,1e308,0},{0,0,0,1e308}}")'),
    ('crm_paretonbd_model', '(0.553,10.58,0.606,11.67,-9595,2357,300,t,19198,19221,"{{2.3e-3,3.3e-2,-3.2e-3,-0.141},{3.3e-2,0.71,-2.7e-2,-1.21},{-3.2e-3,-2.7e-2,3.5e-2,1.13},{-0.141,-1.21,1.13,38.6}}")'),
    ('crm_paretonbd_model', '(0.553,10.58,0.606,11.67,-9595,2357,300,t,1,1,"{{1,0,0,0},{0,1,0,0},{0,0,1,0},{0,0,0,-1}}")'),
    ('crm_gammagamma_model', '(6.25,3.74,15.44,0,946,1,t,10000,10010,"{{1.42,-0.10,3.1},{-0.10,0.084,0.7},{3.1,0.7,17.3}}")'),
    ('crm_gammagamma_model', '(6.25,3.74,15.44,0,946,1,t,1,1,"{{1,0,0},{0,1,0},{0,0,Infinity}}")'),
    ('crm_gammagamma_model', '(6.25,3.74,15.44,0,946,1,t,1,1,"{1,0,0}")');

-- Covariate models: as a fit returns them (its covariance left out), and
-- with coefficients that do not fit a customer's covariates
INSERT INTO hostile VALUES
    ('crm_bgnbd_covariate_model', NULL),
    ('crm_bgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,,,)'),
    ('crm_bgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5}","{-0.4}",-1,1,1,t,,,)'),
    ('crm_bgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,NaN}",-1,1,1,t,,,)'),
    ('crm_bgnbd_covariate_model', '(0.5,5,0.8,2.5,,"{-0.4,0.6}",-1,1,1,t,,,)'),
    ('crm_bgnbd_covariate_model', '(0.5,5,0.8,2.5,"{700,-0.3}","{-700,0.6}",-1,1,1,t,,,)'),
    ('crm_bgnbd_covariate_model', '(-0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,,,)'),
    ('crm_bgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,1,1,"{{1,0},{0,1}}")'),
    ('crm_bgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,1,1,"{{1,0,0,0,0,0,0,0},{0,1,0,0,0,0,0,0},{0,0,1,0,0,0,0,0},{0,0,0,1,0,0,0,0},{0,0,0,0,1,0,0,0},{0,0,0,0,0,1,0,0},{0,0,0,0,0,0,1,0},{0,0,0,0,0,0,0,1}}")');

INSERT INTO hostile VALUES
    ('crm_mbgnbd_covariate_model', NULL),
    ('crm_mbgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,,,)'),
    ('crm_mbgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5}","{-0.4}",-1,1,1,t,,,)'),
    ('crm_mbgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,NaN}",-1,1,1,t,,,)'),
    ('crm_mbgnbd_covariate_model', '(0.5,5,0.8,2.5,,"{-0.4,0.6}",-1,1,1,t,,,)'),
    ('crm_mbgnbd_covariate_model', '(0.5,5,0.8,2.5,"{700,-0.3}","{-700,0.6}",-1,1,1,t,,,)'),
    ('crm_mbgnbd_covariate_model', '(-0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,,,)'),
    ('crm_mbgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,1,1,"{{1,0},{0,1}}")'),
    ('crm_mbgnbd_covariate_model', '(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,1,1,"{{1,0,0,0,0,0,0,0},{0,1,0,0,0,0,0,0},{0,0,1,0,0,0,0,0},{0,0,0,1,0,0,0,0},{0,0,0,0,1,0,0,0},{0,0,0,0,0,1,0,0},{0,0,0,0,0,0,1,0},{0,0,0,0,0,0,0,1}}")');

-- MBG/NBD, BG/BB and sBG models: as fitted (the CDNOW sample, the
-- donations, the regular cohort) and as a hand might write them wrong
INSERT INTO hostile
SELECT 'crm_mbgnbd_model', v FROM unnest(ARRAY[NULL, '(0.525,6.183,0.891,1.614,-9582,2357,25,t,,,)',
                                               '(NaN,1,2,3,0,1,1,t,,,)', '(-1,1,2,3,0,1,1,t,,,)', '(1,1,2,3,0,1,1,f,,,)',
                                               '(1,1,1,3,0,1,1,t,,,)', '(1e308,1e308,1e308,1e308,0,1,1,t,,,)',
                                               '(5e-324,5e-324,5e-324,5e-324,0,1,1,t,,,)']) v
UNION ALL
SELECT 'crm_bgbb_model', v FROM unnest(ARRAY[NULL, '(1.204,0.750,0.657,2.783,-33225,11104,20,t,,,)',
                                             '(NaN,1,1,1,0,1,1,t,,,)', '(1,1,1,1,0,1,1,f,,,)', '(1,1,1,1,0,1,1,t,,,)',
                                             '(1e308,1e308,1e308,1e308,0,1,1,t,,,)', '(5e-324,5e-324,5e-324,5e-324,0,1,1,t,,,)']) v
UNION ALL
SELECT 'crm_sbg_model', v FROM unnest(ARRAY[NULL, '(0.704,1.182,-1611,1000,10,t,,,)', '(NaN,1,0,1,1,t,,,)',
                                            '(0.5,1,0,1,1,t,,,)', '(1,1,0,1,1,f,,,)', '(1e308,1e308,0,1,1,t,,,)',
                                            '(5e-324,5e-324,0,1,1,t,,,)']) v;

-- Each function with its argument types and one valid value per argument.
CREATE TEMP TABLE signatures (fn text, types text[], valid text[]);
INSERT INTO signatures VALUES
    ('crm_clv', '{float8,float8,float8,integer,float8}', '{100,0.5,0.1,3,0}'),
    ('crm_clv_simple', '{float8,float8,float8,float8}', '{100,52,10,0.5}'),
    ('crm_tier', '{float8}', '{0.5}'),
    ('crm_tier', '{float8,float8[]}', '{0.5,"{0.01,0.05,0.2}"}'),
    ('crm_tier', '{bigint,bigint}', '{1,100}'),
    ('crm_tier', '{bigint,bigint,float8[]}', '{1,100,"{0.01,0.05,0.2}"}'),
    ('crm_tier_of', '{float8,float8[]}', '{5,"{3,2,1}"}'),
    ('crm_loyalty_type', '{float8,float8,float8,float8,integer,boolean,float8,float8,float8,float8}',
                         '{0.8,0.9,0.1,0.1,1,true,0.5,0.7,0.5,0.5}'),
    ('crm_loyalty_score', '{float8,float8,float8,integer,float8,float8,float8,float8}',
                          '{0.8,0.5,0.5,1,0.9,0.5,0.5,0.5}'),
    ('crm_relationship', '{float8,float8,float8,float8}', '{60,40,50,50}'),
    ('crm_lifecycle_stage', '{bigint,timestamptz,timestamptz,timestamptz,float8,float8,integer,interval,interval}',
                            '{3,2000-01-01,2000-01-02,2000-01-03,2,4,5,"365 days","1 day"}'),
    ('crm_rfm_score', '{float8,float8[],boolean}', '{5,"{1,2,3,4}",true}'),
    ('crm_rfm_segment', '{integer,integer,integer,boolean}', '{3,3,3,false}'),
    -- aggregates, called over one row
    ('crm_rfm', '{timestamptz,numeric}', '{2000-01-01,10}'),
    ('crm_rfm', '{timestamptz,numeric,timestamptz}', '{2000-01-01,10,2000-01-03}'),
    ('crm_rfm', '{timestamptz,numeric,timestamptz,interval}', '{2000-01-01,10,2000-01-03,"1 day"}'),
    ('crm_tier_thresholds', '{float8}', '{5}'),
    ('crm_tier_thresholds', '{float8,float8[]}', '{5,"{0.01,0.05,0.2}"}'),
    ('crm_pareto_share', '{float8}', '{5}'),
    ('crm_pareto_share', '{float8,float8}', '{5,0.2}'),
    ('crm_pyramid', '{float8}', '{5}'),
    ('crm_pyramid', '{float8,float8[]}', '{5,"{0.01,0.05,0.2}"}'),
    ('crm_bgnbd_fit', '{float8,float8,float8}', '{2,30,38}'),
    ('crm_bgnbd_fit', '{float8,float8,float8,float8}', '{2,30,38,0.01}'),
    ('crm_paretonbd_fit', '{float8,float8,float8}', '{2,30,38}'),
    ('crm_paretonbd_fit', '{float8,float8,float8,float8}', '{2,30,38,0.01}'),
    ('crm_gammagamma_fit', '{float8,float8}', '{2,20}'),
    ('crm_gammagamma_fit', '{float8,float8,float8}', '{2,20,0.01}'),
    -- the models' scoring functions
    ('crm_bgnbd_p_alive', '{crm_bgnbd_model,float8,float8,float8}',
                          '{"(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)",2,30,38}'),
    ('crm_bgnbd_expected', '{crm_bgnbd_model,float8,float8,float8,float8}',
                           '{"(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)",39,2,30,38}'),
    ('crm_bgnbd_expected_new', '{crm_bgnbd_model,float8}', '{"(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)",39}'),
    ('crm_paretonbd_p_alive', '{crm_paretonbd_model,float8,float8,float8}',
                              '{"(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)",2,30,38}'),
    ('crm_paretonbd_expected', '{crm_paretonbd_model,float8,float8,float8,float8}',
                               '{"(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)",39,2,30,38}'),
    ('crm_paretonbd_expected_new', '{crm_paretonbd_model,float8}', '{"(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)",39}'),
    ('crm_paretonbd_p_purchases_new', '{crm_paretonbd_model,float8,float8}', '{"(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)",2,39}'),
    ('crm_paretonbd_p_purchases', '{crm_paretonbd_model,float8,float8,float8,float8,float8}',
                                  '{"(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)",2,39,2,30,38}'),
    ('crm_gammagamma_expected', '{crm_gammagamma_model,float8,float8}', '{"(6.25,3.74,15.44,0,946,1,t,,,)",2,20}'),
    ('crm_clv_predict', '{crm_bgnbd_model,crm_gammagamma_model,float8,float8,float8,float8,integer,float8,float8}',
                        '{"(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)","(6.25,3.74,15.44,0,946,1,t,,,)",2,30,38,20,12,0.01,4.345}'),
    ('crm_clv_predict', '{crm_paretonbd_model,crm_gammagamma_model,float8,float8,float8,float8,integer,float8,float8}',
                        '{"(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)","(6.25,3.74,15.44,0,946,1,t,,,)",2,30,38,20,12,0.01,4.345}'),
    ('crm_clv_predict', '{crm_mbgnbd_model,crm_gammagamma_model,float8,float8,float8,float8,integer,float8,float8}',
                        '{"(0.525,6.183,0.891,1.614,-9582,2357,25,t,,,)","(6.25,3.74,15.44,0,946,1,t,,,)",2,30,38,20,12,0.01,4.345}'),
    -- MBG/NBD, BG/BB, sBG, and P(X = n) under BG/NBD
    ('crm_mbgnbd_p_alive', '{crm_mbgnbd_model,float8,float8,float8}', '{"(0.525,6.183,0.891,1.614,-9582,2357,25,t,,,)",2,30,38}'),
    ('crm_mbgnbd_expected', '{crm_mbgnbd_model,float8,float8,float8,float8}', '{"(0.525,6.183,0.891,1.614,-9582,2357,25,t,,,)",39,2,30,38}'),
    ('crm_mbgnbd_expected_new', '{crm_mbgnbd_model,float8}', '{"(0.525,6.183,0.891,1.614,-9582,2357,25,t,,,)",39}'),
    ('crm_mbgnbd_p_purchases_new', '{crm_mbgnbd_model,float8,float8}', '{"(0.525,6.183,0.891,1.614,-9582,2357,25,t,,,)",2,39}'),
    ('crm_mbgnbd_p_purchases', '{crm_mbgnbd_model,float8,float8,float8,float8,float8}',
                               '{"(0.525,6.183,0.891,1.614,-9582,2357,25,t,,,)",2,39,2,30,38}'),
    ('crm_bgnbd_p_purchases_new', '{crm_bgnbd_model,float8,float8}', '{"(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)",2,39}'),
    ('crm_bgnbd_p_purchases', '{crm_bgnbd_model,float8,float8,float8,float8,float8}',
                              '{"(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)",2,39,2,30,38}'),
    ('crm_bgbb_p_alive', '{crm_bgbb_model,float8,float8,float8}', '{"(1.204,0.750,0.657,2.783,-33225,11104,20,t,,,)",3,5,6}'),
    ('crm_bgbb_expected', '{crm_bgbb_model,float8,float8,float8,float8}', '{"(1.204,0.750,0.657,2.783,-33225,11104,20,t,,,)",5,3,5,6}'),
    ('crm_bgbb_expected_new', '{crm_bgbb_model,float8}', '{"(1.204,0.750,0.657,2.783,-33225,11104,20,t,,,)",6}'),
    ('crm_bgbb_p_purchases', '{crm_bgbb_model,float8,float8,float8,float8,float8}', '{"(1.204,0.750,0.657,2.783,-33225,11104,20,t,,,)",1,5,3,5,6}'),
    ('crm_bgbb_p_purchases_new', '{crm_bgbb_model,float8,float8}', '{"(1.204,0.750,0.657,2.783,-33225,11104,20,t,,,)",2,6}'),
    ('crm_sbg_retention_rate', '{crm_sbg_model,float8}', '{"(0.704,1.182,-1611,1000,10,t,,,)",3}'),
    ('crm_sbg_survival', '{crm_sbg_model,float8}', '{"(0.704,1.182,-1611,1000,10,t,,,)",3}'),
    ('crm_sbg_residual_lifetime', '{crm_sbg_model,float8,float8}', '{"(0.704,1.182,-1611,1000,10,t,,,)",3,0.1}'),
    ('crm_mbgnbd_fit', '{float8,float8,float8}', '{2,30,38}'),
    ('crm_bgbb_fit', '{float8,float8,float8}', '{2,3,6}'),
    ('crm_sbg_fit', '{float8,boolean}', '{3,true}'),
    ('crm_calibration_holdout', '{timestamptz,numeric,timestamptz,timestamptz,interval}',
                                '{2000-01-01,10,2000-01-02,2000-01-03,"1 day"}'),
    -- covariates
    ('crm_bgnbd_fit', '{float8,float8,float8,float8[]}', '{2,30,38,"{1,0.5}"}'),
    ('crm_bgnbd_fit', '{float8,float8,float8,float8[],float8}', '{2,30,38,"{1,0.5}",0.01}'),
    ('crm_mbgnbd_fit', '{float8,float8,float8,float8[]}', '{2,30,38,"{1,0.5}"}'),
    ('crm_mbgnbd_fit', '{float8,float8,float8,float8[],float8}', '{2,30,38,"{1,0.5}",0.01}'),
    ('crm_mbgnbd_customer_model', '{crm_mbgnbd_covariate_model,float8[]}',
                                  ARRAY['(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,,,)', '{1,0.5}']),
    ('crm_bgnbd_customer_model', '{crm_bgnbd_covariate_model,float8[]}',
                                 ARRAY['(0.5,5,0.8,2.5,"{0.5,-0.3}","{-0.4,0.6}",-1,1,1,t,,,)', '{1,0.5}']),
    -- charts: a message for what cannot be drawn, never an error
    ('crm_chart_p_alive_distribution', '{float8[]}', '{"{0.5,1}"}'),
    ('crm_chart_p_alive_matrix', '{crm_bgnbd_model,integer,float8}', '{"(0.243,4.414,0.793,2.426,-9582,2357,300,t,,,)",3,5}'),
    ('crm_chart_expected_matrix', '{crm_paretonbd_model,float8,integer,float8}', '{"(0.55,10.58,0.61,11.67,-9595,2357,300,t,,,)",39,3,5}'),
    -- what the uncertainty of a model gives
    ('crm_model_parameters', '{crm_bgnbd_model}', ARRAY['(0.243,4.414,0.793,2.426,-9582,2357,300,t,19173,19196,"{{1.6e-4,3.7e-3,-8.8e-5,6.6e-5},{3.7e-3,0.143,-2.9e-3,1.05e-2},{-8.8e-5,-2.9e-3,3.4e-2,0.123},{6.6e-5,1.05e-2,0.123,0.4975}}")']),
    ('crm_model_parameters', '{crm_gammagamma_model}', ARRAY['(6.25,3.74,15.44,0,946,1,t,10000,10010,"{{1.42,-0.10,3.1},{-0.10,0.084,0.7},{3.1,0.7,17.3}}")']),
    ('crm_bgnbd_expected_interval', '{crm_bgnbd_model,float8,float8,float8,float8,float8}',
                                    ARRAY['(0.243,4.414,0.793,2.426,-9582,2357,300,t,19173,19196,"{{1.6e-4,3.7e-3,-8.8e-5,6.6e-5},{3.7e-3,0.143,-2.9e-3,1.05e-2},{-8.8e-5,-2.9e-3,3.4e-2,0.123},{6.6e-5,1.05e-2,0.123,0.4975}}")', '39', '2', '30', '38', '0.95']),
    ('crm_paretonbd_expected_interval', '{crm_paretonbd_model,float8,float8,float8,float8,float8}',
                                        ARRAY['(0.553,10.58,0.606,11.67,-9595,2357,300,t,19198,19221,"{{2.3e-3,3.3e-2,-3.2e-3,-0.141},{3.3e-2,0.71,-2.7e-2,-1.21},{-3.2e-3,-2.7e-2,3.5e-2,1.13},{-0.141,-1.21,1.13,38.6}}")', '39', '2', '30', '38', '0.95']),
    ('crm_bgnbd_p_purchases_interval', '{crm_bgnbd_model,float8,float8,float8,float8,float8,float8}', ARRAY['(0.243,4.414,0.793,2.426,-9582,2357,300,t,19173,19196,"{{1.6e-4,3.7e-3,-8.8e-5,6.6e-5},{3.7e-3,0.143,-2.9e-3,1.05e-2},{-8.8e-5,-2.9e-3,3.4e-2,0.123},{6.6e-5,1.05e-2,0.123,0.4975}}")', '0', '39', '2', '30', '38', '0.95']),
    ('crm_mbgnbd_p_purchases_interval', '{crm_mbgnbd_model,float8,float8,float8,float8,float8,float8}', ARRAY['(0.525,6.183,0.891,1.614,-9582,2357,25,t,19177,19200,"{{6.9e-3,4.8e-2,-7.5e-3,-3.8e-2},{4.8e-2,0.48,-5.3e-2,-0.24},{-7.5e-3,-5.3e-2,2.4e-2,7.4e-2},{-3.8e-2,-0.24,7.4e-2,0.29}}")', '0', '39', '2', '30', '38', '0.95']),
    ('crm_paretonbd_p_purchases_interval', '{crm_paretonbd_model,float8,float8,float8,float8,float8,float8}', ARRAY['(0.553,10.58,0.606,11.67,-9595,2357,300,t,19198,19221,"{{2.3e-3,3.3e-2,-3.2e-3,-0.141},{3.3e-2,0.71,-2.7e-2,-1.21},{-3.2e-3,-2.7e-2,3.5e-2,1.13},{-0.141,-1.21,1.13,38.6}}")', '0', '39', '2', '30', '38', '0.95']),
    ('crm_bgnbd_p_alive_interval', '{crm_bgnbd_model,float8,float8,float8,float8}', ARRAY['(0.243,4.414,0.793,2.426,-9582,2357,300,t,19173,19196,"{{1.6e-4,3.7e-3,-8.8e-5,6.6e-5},{3.7e-3,0.143,-2.9e-3,1.05e-2},{-8.8e-5,-2.9e-3,3.4e-2,0.123},{6.6e-5,1.05e-2,0.123,0.4975}}")', '2', '30', '38', '0.95']),
    ('crm_mbgnbd_p_alive_interval', '{crm_mbgnbd_model,float8,float8,float8,float8}', ARRAY['(0.525,6.183,0.891,1.614,-9582,2357,25,t,19177,19200,"{{6.9e-3,4.8e-2,-7.5e-3,-3.8e-2},{4.8e-2,0.48,-5.3e-2,-0.24},{-7.5e-3,-5.3e-2,2.4e-2,7.4e-2},{-3.8e-2,-0.24,7.4e-2,0.29}}")', '2', '30', '38', '0.95']),
    ('crm_paretonbd_p_alive_interval', '{crm_paretonbd_model,float8,float8,float8,float8}', ARRAY['(0.553,10.58,0.606,11.67,-9595,2357,300,t,19198,19221,"{{2.3e-3,3.3e-2,-3.2e-3,-0.141},{3.3e-2,0.71,-2.7e-2,-1.21},{-3.2e-3,-2.7e-2,3.5e-2,1.13},{-0.141,-1.21,1.13,38.6}}")', '2', '30', '38', '0.95']),
    ('crm_bgbb_p_purchases_interval', '{crm_bgbb_model,float8,float8,float8,float8,float8,float8}', ARRAY['(1.204,0.750,0.657,2.783,-33225,11104,20,t,66459,66490,"{{4.8e-3,1.8e-3,-1.7e-3,-1.35e-2},{1.8e-3,8.7e-4,-5.7e-4,-4.4e-3},{-1.7e-3,-5.7e-4,2.6e-3,1.58e-2},{-1.35e-2,-4.4e-3,1.58e-2,0.103}}")', '0', '5', '3', '5', '6', '0.95']),
    ('crm_bgbb_p_alive_interval', '{crm_bgbb_model,float8,float8,float8,float8}', ARRAY['(1.204,0.750,0.657,2.783,-33225,11104,20,t,66459,66490,"{{4.8e-3,1.8e-3,-1.7e-3,-1.35e-2},{1.8e-3,8.7e-4,-5.7e-4,-4.4e-3},{-1.7e-3,-5.7e-4,2.6e-3,1.58e-2},{-1.35e-2,-4.4e-3,1.58e-2,0.103}}")', '3', '5', '6', '0.95']),
    ('crm_clv_predict_interval', '{crm_bgnbd_model,crm_gammagamma_model,float8,float8,float8,float8,integer,float8,float8,float8}',
                                 ARRAY['(0.243,4.414,0.793,2.426,-9582,2357,300,t,19173,19196,"{{1.6e-4,3.7e-3,-8.8e-5,6.6e-5},{3.7e-3,0.143,-2.9e-3,1.05e-2},{-8.8e-5,-2.9e-3,3.4e-2,0.123},{6.6e-5,1.05e-2,0.123,0.4975}}")', '(6.25,3.74,15.44,0,946,1,t,10000,10010,"{{1.42,-0.10,3.1},{-0.10,0.084,0.7},{3.1,0.7,17.3}}")', '2', '30', '38', '20', '12', '0.01', '4.345', '0.95']),
    ('crm_clv_predict_interval', '{crm_mbgnbd_model,crm_gammagamma_model,float8,float8,float8,float8,integer,float8,float8,float8}',
                                 ARRAY['(0.525,6.183,0.891,1.614,-9582,2357,25,t,19177,19200,"{{6.9e-3,4.8e-2,-7.5e-3,-3.8e-2},{4.8e-2,0.48,-5.3e-2,-0.24},{-7.5e-3,-5.3e-2,2.4e-2,7.4e-2},{-3.8e-2,-0.24,7.4e-2,0.29}}")', '(6.25,3.74,15.44,0,946,1,t,10000,10010,"{{1.42,-0.10,3.1},{-0.10,0.084,0.7},{3.1,0.7,17.3}}")', '2', '30', '38', '20', '12', '0.01', '4.345', '0.95']),
    ('crm_clv_predict_interval', '{crm_paretonbd_model,crm_gammagamma_model,float8,float8,float8,float8,integer,float8,float8,float8}',
                                 ARRAY['(0.553,10.58,0.606,11.67,-9595,2357,300,t,19198,19221,"{{2.3e-3,3.3e-2,-3.2e-3,-0.141},{3.3e-2,0.71,-2.7e-2,-1.21},{-3.2e-3,-2.7e-2,3.5e-2,1.13},{-0.141,-1.21,1.13,38.6}}")', '(6.25,3.74,15.44,0,946,1,t,10000,10010,"{{1.42,-0.10,3.1},{-0.10,0.084,0.7},{3.1,0.7,17.3}}")', '2', '30', '38', '20', '12', '0.01', '4.345', '0.95']);

CREATE FUNCTION pg_temp.call_text(fn text, types text[], literals text[]) RETURNS text
LANGUAGE sql AS $$
    SELECT fn || '(' || string_agg(quote_nullable(l) || '::' || t, ', ' ORDER BY i) || ')'
    FROM unnest(types, literals) WITH ORDINALITY AS a(t, l, i)
$$;

-- One argument at a time.
CREATE TEMP TABLE calls AS
SELECT s.fn || '(' || array_to_string(s.types, ',') || ')' AS sig, pg_temp.call_text(s.fn, s.types,
           s.valid[:pos - 1] || h.literal || s.valid[pos + 1:]) AS call
FROM signatures s,
     generate_subscripts(s.types, 1) pos,
     hostile h
WHERE h.type = s.types[pos];

-- Full cross product for functions of up to four arguments.
INSERT INTO calls
WITH RECURSIVE product(fn, types, n, literals) AS (
    -- (a model fit per call is too slow for the cross product)
    SELECT fn, types, 0, ARRAY[]::text[] FROM signatures
    WHERE cardinality(types) <= 4 AND fn NOT LIKE '%\_fit'
    UNION ALL
    SELECT p.fn, p.types, p.n + 1, p.literals || h.literal
    FROM product p JOIN hostile h ON h.type = p.types[p.n + 1]
    WHERE p.n < cardinality(p.types)
)
SELECT fn || '(' || array_to_string(types, ',') || ')', pg_temp.call_text(fn, types, literals)
FROM product WHERE n = cardinality(types);

CREATE TEMP TABLE outcomes AS
SELECT sig, call, pg_temp.probe(call) AS outcome FROM calls;

SELECT cmp_ok((SELECT count(*) FROM outcomes), '>', 50000::bigint, 'the grid made over 50,000 calls');
SELECT is_empty($$SELECT call, outcome FROM outcomes
                  WHERE outcome LIKE 'ERROR %'
                    AND outcome NOT IN ('ERROR 22023', 'ERROR 22003', 'ERROR 2202E', 'ERROR 22004')$$,
                'every error has a documented SQLSTATE (22023, 22003, 2202E, 22004)');
SELECT is_empty($$SELECT call, outcome FROM outcomes
                  WHERE outcome IN ('NaN', 'Infinity', '-Infinity') OR outcome LIKE '%NaN%'$$,
                'no call returns NaN or infinity, nor a model with a NaN in it');
SELECT is((SELECT count(DISTINCT sig) FROM outcomes WHERE outcome LIKE 'ERROR %'), 82::bigint,
          'every function rejects some of the grid, but crm_chart_p_alive_distribution, which draws a message for what it cannot draw');
SELECT is_empty($$SELECT call, outcome FROM outcomes
                  WHERE sig LIKE 'crm\_chart\_%' AND outcome NOT LIKE 'ERROR %'
                    AND outcome::jsonb ->> '$schema' IS DISTINCT FROM 'https://vega.github.io/schema/vega-lite/v5.json'$$,
                'every chart that does not fail is a Vega-Lite v5 specification');
SELECT is((SELECT count(DISTINCT sig) FROM outcomes WHERE outcome NOT LIKE 'ERROR %'), 83::bigint,
          'every function accepts some of the grid');

SELECT * FROM finish();
ROLLBACK;
