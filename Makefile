EXTENSION = crm
EXTVERSION = 0.2.0

MODULE_big = crm
OBJS = src/crm.o src/agg_state.o src/exact_sum.o src/clv.o src/tier.o src/loyalty.o src/relationship.o \
	src/rfm.o src/holdout.o src/amount.o src/value_agg.o \
	src/lifecycle.o src/rfm_score.o \
	src/track/track.o src/track/tracking.o src/track/sql.o \
	src/track/trigger.o src/track/delta.o src/track/pending.o \
	src/track/fold.o src/track/table.o src/track/history.o \
	src/track/relay.o src/track/ddl.o src/track/citus.o src/track/deferred.o \
	src/weighted_rows.o src/optim.o src/specfun.o src/fit.o src/fit_parallel.o src/covariates.o src/uncertainty.o src/bgnbd.o src/purchase_count.o src/bgbb.o src/sbg.o \
	src/gammagamma.o src/clv_predict.o src/paretonbd.o

# The install script is assembled from one SQL file per concern, in this order.
SQL_SOURCES = src/sql/header.sql src/sql/types.sql src/sql/agg_state.sql \
	src/sql/clv.sql src/sql/tier.sql src/sql/loyalty.sql \
	src/sql/relationship.sql src/sql/lifecycle.sql src/sql/rfm_score.sql \
	src/sql/rfm.sql src/sql/holdout.sql src/sql/pyramid_tier.sql src/sql/value_agg.sql \
	src/sql/purchase_summary.sql src/sql/track.sql \
	src/sql/uncertainty.sql src/sql/bgnbd.sql src/sql/mbgnbd.sql src/sql/bgbb.sql src/sql/sbg.sql src/sql/paretonbd.sql src/sql/covariates.sql src/sql/purchase_count.sql src/sql/gammagamma.sql src/sql/chart.sql
# What 0.2.0 adds to 0.1.0; frozen into src/sql/releases/ when 0.2.0 ships.
SQL_NEW_IN_0_2_0 = src/sql/upgrade_header.sql src/sql/upgrade_value_agg.sql \
	src/sql/agg_state.sql src/sql/value_agg.sql src/sql/purchase_summary.sql src/sql/holdout.sql \
	src/sql/track.sql src/sql/uncertainty.sql src/sql/bgnbd.sql src/sql/mbgnbd.sql src/sql/bgbb.sql src/sql/sbg.sql src/sql/paretonbd.sql src/sql/covariates.sql src/sql/purchase_count.sql src/sql/gammagamma.sql src/sql/chart.sql
DATA_built = crm--$(EXTVERSION).sql crm--0.1.0--0.2.0.sql
# Install scripts of released versions and frozen upgrade scripts
DATA = $(wildcard src/sql/releases/crm--*.sql)

# src/track/ includes the headers of src/
PG_CPPFLAGS = -I$(srcdir)/src

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --load-extension=crm

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

crm--$(EXTVERSION).sql: $(SQL_SOURCES)
	cat $^ > $@

crm--0.1.0--0.2.0.sql: $(SQL_NEW_IN_0_2_0)
	cat $^ > $@

# Objects depend on the headers they include
$(OBJS): src/crm.h
TRACK_OBJS = $(filter src/track/%.o,$(OBJS))
src/tier.o src/value_agg.o src/track/track.o src/track/fold.o: src/tier.h
src/exact_sum.o src/value_agg.o: src/exact_sum.h
src/rfm.o src/amount.o: src/amount.h
src/crm.o $(TRACK_OBJS): src/track/track.h src/amount.h
src/loyalty.o src/track/trigger.o src/track/fold.o: src/loyalty.h
src/lifecycle.o src/track/fold.o: src/lifecycle.h
src/weighted_rows.o src/fit.o src/fit_parallel.o src/covariates.o src/uncertainty.o src/bgnbd.o src/bgbb.o src/sbg.o src/purchase_count.o src/gammagamma.o src/clv_predict.o src/paretonbd.o: src/weighted_rows.h src/models.h
src/agg_state.o src/value_agg.o src/weighted_rows.o src/fit.o src/fit_parallel.o src/covariates.o src/bgnbd.o src/gammagamma.o src/clv_predict.o src/paretonbd.o: src/agg_state.h
src/optim.o src/fit.o src/fit_parallel.o src/covariates.o src/uncertainty.o: src/optim.h
src/specfun.o src/uncertainty.o src/bgnbd.o src/bgbb.o src/sbg.o src/purchase_count.o src/gammagamma.o src/paretonbd.o: src/specfun.h
