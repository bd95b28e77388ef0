-- crm: upgrade from 0.1.0 to 0.2.0, assembled by the Makefile from what
-- 0.2.0 adds; frozen when 0.2.0 is released.

\echo Use "ALTER EXTENSION crm UPDATE TO '0.2.0'" to load this file. \quit
