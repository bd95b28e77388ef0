
-- RFM scores and segments

CREATE FUNCTION crm_rfm_score(value float8, thresholds float8[],
                              higher_is_better boolean DEFAULT true)
RETURNS integer
AS 'MODULE_PATHNAME', 'crm_rfm_score'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_score(float8, float8[], boolean) IS
'RFM score 1-5 of a value given four never-decreasing thresholds, the upper bounds of the first four bins (as percentile_disc(ARRAY[0.2,0.4,0.6,0.8]) returns): the score is 1 + the number of thresholds below the value, or 5 minus that number when higher_is_better is false (recency in days)';

CREATE FUNCTION crm_rfm_segment(r integer, f integer, m integer,
                                r_package_order boolean DEFAULT false)
RETURNS text
AS 'MODULE_PATHNAME', 'crm_rfm_segment'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm_rfm_segment(integer, integer, integer, boolean) IS
'Named RFM segment of recency, frequency and monetary scores 1-5 with the score ranges of R''s rfm package: Champions, Loyal Customers, Potential Loyalist, New Customers, Promising, Need Attention, About To Sleep, At Risk, Can''t Lose Them, Lost, or Others when no range holds. First match wins; by default New Customers and Promising are checked before Potential Loyalist and Can''t Lose Them before At Risk so that every segment is reachable; r_package_order => true keeps the package''s order and results';
