-- crm: customer segmentation inside PostgreSQL.
-- This script is assembled by the Makefile from src/sql/*.sql.

\echo Use "CREATE EXTENSION crm" to load this file. \quit
