-- Simulators for the model-recovery tests, included with \ir: draws from
-- the gamma and beta distributions, and customers drawn from BG/NBD and
-- Gamma-Gamma.  Seed with setseed() first; everything here uses random().

-- Gamma(shape k, scale 1) by Marsaglia & Tsang (2000), boosted for k < 1
CREATE FUNCTION pg_temp.rgamma(k float8) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    d float8;
    c float8;
    x float8;
    v float8;
BEGIN
    IF k < 1 THEN
        RETURN pg_temp.rgamma(k + 1) * (1 - random()) ^ (1 / k);
    END IF;
    d := k - 1.0 / 3;
    c := 1 / sqrt(9 * d);
    LOOP
        LOOP
            x := sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random());
            v := 1 + c * x;
            EXIT WHEN v > 0;
        END LOOP;
        v := v * v * v;
        IF ln(1 - random()) < 0.5 * x * x + d - d * v + d * ln(v) THEN
            RETURN d * v;
        END IF;
    END LOOP;
END $$;

-- A BG/NBD customer observed for t after the first purchase: purchase
-- rate ~ Gamma(r, alpha), dropout probability ~ Beta(a, b), a chance to
-- drop out after each repeat purchase (FHL 2005, section 2); with
-- at_first, after the first purchase too: an MBG/NBD customer (Batislam
-- et al. 2007)
CREATE FUNCTION pg_temp.bgnbd_customer(r float8, alpha float8, a float8, b float8, t float8,
                                       at_first boolean DEFAULT false,
                                       OUT frequency int, OUT recency float8)
LANGUAGE plpgsql AS $$
DECLARE
    lambda float8 := pg_temp.rgamma(r) / alpha;
    ga float8 := pg_temp.rgamma(a);
    p float8 := ga / (ga + pg_temp.rgamma(b));
    now float8 := 0;
BEGIN
    frequency := 0;
    recency := 0;
    IF at_first AND random() < p THEN
        RETURN;
    END IF;
    LOOP
        now := now - ln(1 - random()) / lambda;
        EXIT WHEN now > t;
        frequency := frequency + 1;
        recency := now;
        EXIT WHEN random() < p;
    END LOOP;
END $$;

-- A Pareto/NBD customer observed for t after the first purchase: purchase
-- rate ~ Gamma(r, alpha), dropout rate ~ Gamma(s, beta), an exponential
-- lifetime during which purchases arrive as a Poisson process
-- (Schmittlein, Morrison & Colombo 1987)
CREATE FUNCTION pg_temp.paretonbd_customer(r float8, alpha float8, s float8, beta float8, t float8,
                                           OUT frequency int, OUT recency float8)
LANGUAGE plpgsql AS $$
DECLARE
    lambda float8 := pg_temp.rgamma(r) / alpha;
    mu float8 := pg_temp.rgamma(s) / beta;
    alive_until float8 := least(t, -ln(1 - random()) / mu);
    now float8 := 0;
BEGIN
    frequency := 0;
    recency := 0;
    LOOP
        now := now - ln(1 - random()) / lambda;
        EXIT WHEN now > alive_until;
        frequency := frequency + 1;
        recency := now;
    END LOOP;
END $$;

-- A draw from Beta(a, b), as the ratio of two gamma draws
CREATE FUNCTION pg_temp.rbeta(a float8, b float8) RETURNS float8 LANGUAGE sql AS $$
    SELECT g / (g + pg_temp.rgamma(b)) FROM (SELECT pg_temp.rgamma(a) AS g) d
$$;

-- A BG/BB customer over n opportunities: before each, gone with
-- probability theta ~ Beta(gamma, delta); alive, takes it with probability
-- p ~ Beta(alpha, beta) (Fader, Hardie & Berger 2010)
CREATE FUNCTION pg_temp.bgbb_customer(alpha float8, beta float8, gamma float8, delta float8, n int,
                                      OUT frequency int, OUT recency int)
LANGUAGE plpgsql AS $$
DECLARE
    p float8 := pg_temp.rbeta(alpha, beta);
    theta float8 := pg_temp.rbeta(gamma, delta);
BEGIN
    frequency := 0;
    recency := 0;
    FOR i IN 1 .. n LOOP
        EXIT WHEN random() < theta;
        IF random() < p THEN
            frequency := frequency + 1;
            recency := i;
        END IF;
    END LOOP;
END $$;

-- An sBG subscriber seen for up to n periods: leaves at the end of each
-- with probability theta ~ Beta(alpha, beta) (Fader & Hardie 2007)
CREATE FUNCTION pg_temp.sbg_customer(alpha float8, beta float8, n int,
                                     OUT periods int, OUT churned boolean)
LANGUAGE plpgsql AS $$
DECLARE
    theta float8 := pg_temp.rbeta(alpha, beta);
BEGIN
    FOR i IN 1 .. n LOOP
        IF random() < theta THEN
            periods := i;
            churned := true;
            RETURN;
        END IF;
    END LOOP;
    periods := n;
    churned := false;
END $$;
