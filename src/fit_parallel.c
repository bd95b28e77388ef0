/*
 * fit_parallel.c
 *		The log-likelihood of a large fit, summed in fixed chunks of rows,
 *		by parallel workers where they can be had.
 *
 * A fit of many distinct customers spends its time summing the
 * likelihood over all of them, a few dozen times (fit.c).  The sum is cut
 * into chunks of FIT_CHUNK_ROWS rows; each chunk's log-likelihood and
 * gradient go to a slot of their own, and the slots are added in chunk
 * order.  Who summed a chunk does not change a bit of it, so the fit is
 * the same whether the chunks were summed by the backend alone (no
 * workers to be had, max_parallel_workers_per_gather = 0) or shared with
 * any number of parallel workers.
 *
 * The workers are PostgreSQL's own (access/parallel.h), as a parallel
 * index build starts them: up to max_parallel_workers_per_gather of them,
 * each with a copy of the rows in the dynamic shared memory segment.  For
 * each evaluation the backend publishes the parameters and a new
 * generation; every process, the backend included, claims the next chunk
 * of that generation from one atomic counter until none is left, so a
 * worker that starts late, or never, only means more chunks for the
 * others.  The backend then waits for the chunks claimed by others to be
 * done.  An error in a worker reaches the backend while it waits, as for
 * a parallel query.
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "optimizer/cost.h"
#include "portability/instr_time.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/shm_toc.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "crm.h"
#include "fit_parallel.h"
#include "optim.h"

/*
 * Rows per chunk: enough that a chunk's work dwarfs claiming it (a few
 * milliseconds for Pareto/NBD with covariates), few enough that the
 * processes finish close together
 */
#define FIT_CHUNK_ROWS 4096

/*
 * crm.fit_parallel_min_time: how long a sum over all rows must take, in
 * milliseconds, for workers to be worth starting (see
 * crm_fit_chunks_loglik)
 */
static int	fit_parallel_min_time = 100;

/* The most workers a fit asks for, whatever the settings say */
#define FIT_MAX_WORKERS 16

/* Keys of the shared memory's table of contents */
#define FIT_KEY_SHARED		UINT64CONST(0xC2A1F17000000001)
#define FIT_KEY_ROWS		UINT64CONST(0xC2A1F17000000002)
#define FIT_KEY_RESULTS		UINT64CONST(0xC2A1F17000000003)

/* The likelihoods a worker can find again, by number */
static const CrmLoglik logliks[] = {
	crm_bgnbd_loglik, crm_mbgnbd_loglik, crm_paretonbd_loglik,
	crm_gammagamma_loglik, crm_bgbb_loglik, crm_sbg_loglik
};

typedef enum FitCommand
{
	FIT_EVALUATE,
	FIT_QUIT
} FitCommand;

/* What the backend and its workers share */
typedef struct FitShared
{
	/* the rows and the likelihood, fixed */
	int			width;
	int			key_from;
	int			nparams;
	int			loglik;			/* index in logliks[] */
	int			covariates;		/* > 0: a covariate fit over logliks[loglik] */
	int64		nrows[FIT_ROW_SETS];
	Size		rows_offset[FIT_ROW_SETS];	/* in the rows chunk */

	/* the current evaluation, valid once claim shows its generation */
	FitCommand	command;
	bool		with_grad;
	double		p[CRM_OPTIM_MAX_PARAMS];

	/* see CLAIM() */
	pg_atomic_uint64 claim;
	/* chunks of the generation summed */
	pg_atomic_uint32 done;
	ConditionVariable work_cv;	/* a new generation is out */
	ConditionVariable done_cv;	/* the last chunk is summed */
} FitShared;

/*
 * The claim word: the generation, the row set it sums, and the next chunk
 * to claim.  The set is in it so that a process that wakes late cannot
 * take a later evaluation's set for its own while checking for chunks
 * left (see claim_chunks).
 */
#define CLAIM(gen, set, next)	(((uint64) (gen) << 32) | ((uint64) (set) << 31) | (next))
#define CLAIM_GEN(claim)		((uint32) ((claim) >> 32))
#define CLAIM_SET(claim)		((FitRowSet) (((claim) >> 31) & 1))
#define CLAIM_NEXT(claim)		((uint32) ((claim) & 0x7FFFFFFF))

/* One process's view: the rows, the likelihood, its own caches */
typedef struct FitProcess
{
	WeightedRows sets[FIT_ROW_SETS];
	CrmLoglik	loglik;
	void	   *arg;
	CovariateFit covariates;	/* arg of a covariate fit */
	void	   *scratch[FIT_ROW_SETS];	/* the likelihood's caches */
	int			nparams;
	double	   *results;		/* per chunk: log-likelihood, gradient */
} FitProcess;

struct FitChunks
{
	FitProcess	self;
	int			loglik_number;	/* in logliks[], -1: not one of them */
	int			covariates;
	bool		may_start;		/* workers may still be started */
	ParallelContext *pcxt;		/* NULL: the backend sums every chunk */
	FitShared  *shared;
	uint32		generation;
};

static int
chunks_of(int64 nrows)
{
	return (int) ((nrows + FIT_CHUNK_ROWS - 1) / FIT_CHUNK_ROWS);
}

/* Room for the results of the chunks of either set */
static Size
results_size(const FitChunks *chunks)
{
	const FitProcess *self = &chunks->self;
	int64		nrows = Max(self->sets[FIT_ALL_ROWS].nrows, self->sets[FIT_SAMPLE].nrows);

	return sizeof(double) * (Size) chunks_of(nrows) * (1 + self->nparams);
}

/*
 * Sum chunk c of set into its slot.  The likelihood keeps its caches in
 * the rows' scratch pointer, which lives on in the process's view.
 */
static void
sum_chunk(FitProcess *proc, FitRowSet set, int c, const double *p, bool with_grad)
{
	const WeightedRows *rows = &proc->sets[set];
	WeightedRows chunk = *rows;
	double	   *slot = proc->results + (Size) c * (1 + proc->nparams);
	int64		start = (int64) c * FIT_CHUNK_ROWS;

	chunk.data = (char *) crm_wrow(rows, start);
	chunk.nrows = chunk.merged = Min(FIT_CHUNK_ROWS, rows->nrows - start);
	chunk.scratch = proc->scratch[set];
	slot[0] = proc->loglik(p, &chunk, with_grad ? slot + 1 : NULL, proc->arg);
	proc->scratch[set] = chunk.scratch;
}

/*
 * Claim and sum chunks of generation gen until none is left.  A claim is
 * a compare-and-swap on the claim word.  What the process read of the
 * evaluation (p, with_grad) after it saw the generation is that
 * generation's if a claim succeeds: the backend writes the next
 * evaluation only once every chunk of this one is summed, so no claim of
 * this one can succeed after that.
 */
static void
claim_chunks(FitShared *shared, FitProcess *proc, uint32 gen, const double *p,
			 bool with_grad)
{
	for (;;)
	{
		uint64		claim = pg_atomic_read_u64(&shared->claim);
		FitRowSet	set = CLAIM_SET(claim);
		uint32		next = CLAIM_NEXT(claim);

		if (CLAIM_GEN(claim) != gen || next >= chunks_of(proc->sets[set].nrows))
			return;
		if (!pg_atomic_compare_exchange_u64(&shared->claim, &claim, claim + 1))
			continue;
		sum_chunk(proc, set, next, p, with_grad);
		if (pg_atomic_add_fetch_u32(&shared->done, 1) == chunks_of(proc->sets[set].nrows))
			ConditionVariableBroadcast(&shared->done_cv);
	}
}

/* The likelihood of a process, from its number (and covariates) */
static void
set_loglik(FitProcess *proc, int loglik, int covariates)
{
	if (covariates > 0)
	{
		proc->covariates.base = logliks[loglik];
		proc->covariates.ncov = covariates;
		proc->loglik = crm_covariate_loglik;
		proc->arg = &proc->covariates;
	}
	else
	{
		proc->loglik = logliks[loglik];
		proc->arg = NULL;
	}
}

/* The number of a likelihood in logliks[], -1 if a worker cannot find it */
static int
loglik_number(CrmLoglik loglik)
{
	for (int i = 0; i < lengthof(logliks); i++)
		if (logliks[i] == loglik)
			return i;
	return -1;
}

void
crm_fit_define_settings(void)
{
	DefineCustomIntVariable("crm.fit_parallel_min_time",
							"Sets how long one pass of a model fit over its customers must take "
							"before the fit starts parallel workers.",
							"Fits of more than 32768 distinct customer summaries time their "
							"first passes; if a pass over all of them would take at least this "
							"long, up to max_parallel_workers_per_gather workers share the rest. "
							"0 starts them at once.",
							&fit_parallel_min_time,
							100, 0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
}

/* How many workers to ask for: none where they cannot help or be had */
static int
workers_wanted(const WeightedRows *rows)
{
	int			nworkers = Min(max_parallel_workers_per_gather, FIT_MAX_WORKERS);

	if (IsParallelWorker() || !IsUnderPostmaster || !ActiveSnapshotSet())
		return 0;
	/* a chunk or two each at least */
	return Max(0, Min(nworkers, chunks_of(rows->nrows) / 2));
}

/*
 * Start the chunked evaluation of a fit over rows and their sample.  The
 * workers come later, if at all (see crm_fit_chunks_loglik).
 */
FitChunks *
crm_fit_chunks_begin(const WeightedRows *rows, const WeightedRows *sample,
					 CrmLoglik loglik, void *arg, int nparams)
{
	FitChunks  *chunks = palloc0(sizeof(FitChunks));
	FitProcess *self = &chunks->self;
	const WeightedRows *sets[FIT_ROW_SETS] = {rows, sample};
	bool		covariates = loglik == crm_covariate_loglik;

	for (int s = 0; s < FIT_ROW_SETS; s++)
		self->sets[s] = *sets[s];
	self->loglik = loglik;
	self->arg = arg;
	self->nparams = nparams;
	self->results = palloc(results_size(chunks));
	chunks->loglik_number =
		loglik_number(covariates ? ((CovariateFit *) arg)->base : loglik);
	chunks->covariates = covariates ? ((CovariateFit *) arg)->ncov : 0;
	chunks->may_start = chunks->loglik_number >= 0 && workers_wanted(rows) > 0;
	return chunks;
}

/*
 * Start the workers: the rows go to a dynamic shared memory segment, and
 * so do the chunks' results from now on.  No segment, or no worker
 * started, and the backend goes on alone.
 */
static void
start_workers(FitChunks *chunks)
{
	FitProcess *self = &chunks->self;
	Size		row_size = crm_wrow_size(self->sets[0].width);
	Size		rows_size = 0;
	ParallelContext *pcxt;
	FitShared  *shared;
	char	   *shared_rows;

	chunks->may_start = false;
	for (int s = 0; s < FIT_ROW_SETS; s++)
		rows_size += row_size * self->sets[s].nrows;

	EnterParallelMode();
	pcxt = CreateParallelContext("crm", "crm_fit_worker_main",
								 workers_wanted(&self->sets[FIT_ALL_ROWS]));
	shm_toc_estimate_chunk(&pcxt->estimator, sizeof(FitShared));
	shm_toc_estimate_chunk(&pcxt->estimator, rows_size);
	shm_toc_estimate_chunk(&pcxt->estimator, results_size(chunks));
	shm_toc_estimate_keys(&pcxt->estimator, 3);
	InitializeParallelDSM(pcxt);
	if (pcxt->seg == NULL)
	{
		DestroyParallelContext(pcxt);
		ExitParallelMode();
		return;
	}

	shared = shm_toc_allocate(pcxt->toc, sizeof(FitShared));
	memset(shared, 0, sizeof(FitShared));
	shared->width = self->sets[0].width;
	shared->key_from = self->sets[0].key_from;
	shared->nparams = self->nparams;
	shared->loglik = chunks->loglik_number;
	shared->covariates = chunks->covariates;
	pg_atomic_init_u64(&shared->claim, 0);
	pg_atomic_init_u32(&shared->done, 0);
	ConditionVariableInit(&shared->work_cv);
	ConditionVariableInit(&shared->done_cv);
	shm_toc_insert(pcxt->toc, FIT_KEY_SHARED, shared);

	shared_rows = shm_toc_allocate(pcxt->toc, rows_size);
	crm_prefault(shared_rows, rows_size);
	for (Size s = 0, offset = 0; s < FIT_ROW_SETS; s++)
	{
		shared->nrows[s] = self->sets[s].nrows;
		shared->rows_offset[s] = offset;
		memcpy(shared_rows + offset, self->sets[s].data, row_size * self->sets[s].nrows);
		offset += row_size * self->sets[s].nrows;
	}
	shm_toc_insert(pcxt->toc, FIT_KEY_ROWS, shared_rows);
	pfree(self->results);
	self->results = shm_toc_allocate(pcxt->toc, results_size(chunks));
	shm_toc_insert(pcxt->toc, FIT_KEY_RESULTS, self->results);

	LaunchParallelWorkers(pcxt);
	ereport(DEBUG1,
			(errmsg_internal("crm fit of %lld rows: %d parallel workers",
							 (long long) self->sets[FIT_ALL_ROWS].nrows,
							 pcxt->nworkers_launched)));
	chunks->pcxt = pcxt;
	chunks->shared = shared;
}

/*
 * The log-likelihood of the rows of set at p, and its gradient if grad
 * is not NULL: each chunk's, added in chunk order.
 *
 * The backend sums the first evaluations alone, and times them: once one
 * shows that a sum over all rows would take crm.fit_parallel_min_time or
 * more, it starts workers for the rest.  Copying the rows to them costs about
 * as much as summing a simple likelihood (BG/NBD's) over them a few
 * times; Pareto/NBD's series, or a covariate fit in which every customer
 * has a model of their own, take longer per row and gain.
 */
double
crm_fit_chunks_loglik(FitChunks *chunks, FitRowSet set, const double *p,
					  double *grad)
{
	FitProcess *self = &chunks->self;
	FitShared  *shared = chunks->shared;
	int			nchunks = chunks_of(self->sets[set].nrows);
	int			n = self->nparams;
	double		sum = 0;
	bool		alone = chunks->pcxt == NULL || chunks->pcxt->nworkers_launched == 0;
	instr_time	start,
				elapsed;

	INSTR_TIME_SET_CURRENT(start);
	if (alone)
	{
		for (int c = 0; c < nchunks; c++)
		{
			CHECK_FOR_INTERRUPTS();
			sum_chunk(self, set, c, p, grad != NULL);
		}
	}
	else
	{
		uint32		gen = ++chunks->generation;

		/* publish the evaluation, then the generation that makes it valid */
		shared->command = FIT_EVALUATE;
		shared->with_grad = grad != NULL;
		memcpy(shared->p, p, sizeof(double) * n);
		pg_atomic_write_u32(&shared->done, 0);
		pg_memory_barrier();
		pg_atomic_write_u64(&shared->claim, CLAIM(gen, set, 0));
		ConditionVariableBroadcast(&shared->work_cv);

		claim_chunks(shared, self, gen, p, grad != NULL);

		ConditionVariablePrepareToSleep(&shared->done_cv);
		while (pg_atomic_read_u32(&shared->done) < nchunks)
			ConditionVariableSleep(&shared->done_cv, PG_WAIT_EXTENSION);
		ConditionVariableCancelSleep();
		pg_read_barrier();
	}

	if (grad)
		memset(grad, 0, sizeof(double) * n);
	for (int c = 0; c < nchunks; c++)
	{
		const double *slot = self->results + (Size) c * (1 + n);

		sum += slot[0];
		if (grad)
			for (int i = 0; i < n; i++)
				grad[i] += slot[1 + i];
	}

	if (alone && chunks->may_start)
	{
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		if (INSTR_TIME_GET_MILLISEC(elapsed) * self->sets[FIT_ALL_ROWS].nrows >=
			(double) fit_parallel_min_time * self->sets[set].nrows)
			start_workers(chunks);
	}
	return sum;
}

/* Let the workers go */
void
crm_fit_chunks_end(FitChunks *chunks)
{
	FitShared  *shared = chunks->shared;

	if (chunks->pcxt == NULL)
		return;
	if (chunks->pcxt->nworkers_launched > 0)
	{
		shared->command = FIT_QUIT;
		pg_memory_barrier();
		pg_atomic_write_u64(&shared->claim, CLAIM(++chunks->generation, 0, 0));
		ConditionVariableBroadcast(&shared->work_cv);
		WaitForParallelWorkersToFinish(chunks->pcxt);
	}
	DestroyParallelContext(chunks->pcxt);
	ExitParallelMode();
	chunks->pcxt = NULL;
}

/*
 * A parallel worker of a fit: sum the chunks it can claim of every
 * evaluation the backend publishes, until it says quit
 */
PGDLLEXPORT void crm_fit_worker_main(dsm_segment *seg, shm_toc *toc);

void
crm_fit_worker_main(dsm_segment *seg, shm_toc *toc)
{
	FitShared  *shared = shm_toc_lookup(toc, FIT_KEY_SHARED, false);
	char	   *shared_rows = shm_toc_lookup(toc, FIT_KEY_ROWS, false);
	FitProcess	proc = {0};
	uint32		seen = 0;
	double		p[CRM_OPTIM_MAX_PARAMS];

	for (int s = 0; s < FIT_ROW_SETS; s++)
	{
		proc.sets[s].width = shared->width;
		proc.sets[s].key_from = shared->key_from;
		proc.sets[s].nrows = proc.sets[s].maxrows = proc.sets[s].merged = shared->nrows[s];
		proc.sets[s].data = shared_rows + shared->rows_offset[s];
	}
	proc.nparams = shared->nparams;
	proc.results = shm_toc_lookup(toc, FIT_KEY_RESULTS, false);
	set_loglik(&proc, shared->loglik, shared->covariates);

	for (;;)
	{
		uint32		gen;
		bool		with_grad;

		ConditionVariablePrepareToSleep(&shared->work_cv);
		while ((gen = CLAIM_GEN(pg_atomic_read_u64(&shared->claim))) == seen)
			ConditionVariableSleep(&shared->work_cv, PG_WAIT_EXTENSION);
		ConditionVariableCancelSleep();
		pg_read_barrier();
		seen = gen;
		if (shared->command == FIT_QUIT)
			break;
		/* read before claiming: a claim that succeeds proves them current */
		with_grad = shared->with_grad;
		memcpy(p, shared->p, sizeof(double) * proc.nparams);
		claim_chunks(shared, &proc, gen, p, with_grad);
	}
}
