EXTENSION = crm
EXTVERSION = 0.1.0

MODULE_big = crm
OBJS = src/crm.o src/clv.o src/tier.o src/loyalty.o src/relationship.o \
	src/rfm.o src/amount.o src/value_agg.o \
	src/lifecycle.o src/rfm_score.o

# The install script is assembled from one SQL file per concern, in this order.
SQL_SOURCES = src/sql/header.sql src/sql/types.sql src/sql/clv.sql \
	src/sql/tier.sql src/sql/loyalty.sql src/sql/relationship.sql \
	src/sql/lifecycle.sql src/sql/rfm_score.sql src/sql/rfm.sql \
	src/sql/value_agg.sql
DATA_built = crm--$(EXTVERSION).sql

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=crm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

crm--$(EXTVERSION).sql: $(SQL_SOURCES)
	cat $^ > $@
