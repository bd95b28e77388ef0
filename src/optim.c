/*
 * optim.c
 *		Minimisation for the model fits: Nelder-Mead with restarts.
 *
 * The fits optimise log-parameters (so every parameter stays positive
 * without constraints) of smooth log-likelihoods in 3 or 4 dimensions,
 * where the downhill simplex is robust and needs no gradient.  A simplex
 * can collapse before reaching the minimum, so after it converges we start
 * a fresh one at the best point, and call the result converged only when a
 * restart no longer improves it (Nelder & Mead 1965; the restart as
 * recommended by Press et al., Numerical Recipes, 10.5).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "optim.h"

#define MAX_ITERATIONS 5000
#define MAX_RESTARTS 10
#define FTOL 1e-12				/* relative spread of the simplex values */
#define XTOL 1e-9				/* size of the simplex, in log-parameters */
#define STEP 0.5				/* initial simplex: x[i] +- STEP */

static double
evaluate(CrmObjective f, void *arg, const double *x)
{
	double		value = f(x, arg);

	return isnan(value) ? INFINITY : value;
}

/*
 * One Nelder-Mead run from x; leaves the best point in x.  Returns the
 * number of iterations, or -1 when it ran out of them.
 */
static int
nelder_mead(CrmObjective f, void *arg, int n, double *x, double *fx)
{
	double		p[CRM_OPTIM_MAX_PARAMS + 1][CRM_OPTIM_MAX_PARAMS];
	double		fp[CRM_OPTIM_MAX_PARAMS + 1];
	double		centroid[CRM_OPTIM_MAX_PARAMS];
	double		trial[CRM_OPTIM_MAX_PARAMS];
	double		trial2[CRM_OPTIM_MAX_PARAMS];
	int			iter;

	for (int i = 0; i <= n; i++)
	{
		memcpy(p[i], x, sizeof(double) * n);
		if (i > 0)
			p[i][i - 1] += STEP;
		fp[i] = evaluate(f, arg, p[i]);
	}

	for (iter = 0; iter < MAX_ITERATIONS; iter++)
	{
		int			best = 0,
					worst = 0,
					second = 0;
		double		size = 0;
		double		ftrial;

		CHECK_FOR_INTERRUPTS();
		for (int i = 1; i <= n; i++)
		{
			if (fp[i] < fp[best])
				best = i;
			if (fp[i] > fp[worst])
				worst = i;
		}
		second = best;
		for (int i = 0; i <= n; i++)
			if (i != worst && fp[i] > fp[second])
				second = i;

		for (int i = 0; i <= n; i++)
			for (int j = 0; j < n; j++)
				size = Max(size, fabs(p[i][j] - p[best][j]));
		if (isfinite(fp[worst]) &&
			fabs(fp[worst] - fp[best]) <= FTOL * (fabs(fp[best]) + FTOL) &&
			size <= XTOL)
		{
			memcpy(x, p[best], sizeof(double) * n);
			*fx = fp[best];
			return iter;
		}

		for (int j = 0; j < n; j++)
		{
			centroid[j] = 0;
			for (int i = 0; i <= n; i++)
				if (i != worst)
					centroid[j] += p[i][j] / n;
		}

		/* reflect */
		for (int j = 0; j < n; j++)
			trial[j] = centroid[j] + (centroid[j] - p[worst][j]);
		ftrial = evaluate(f, arg, trial);
		if (ftrial < fp[best])
		{
			/* expand */
			double		fexp;

			for (int j = 0; j < n; j++)
				trial2[j] = centroid[j] + 2 * (centroid[j] - p[worst][j]);
			fexp = evaluate(f, arg, trial2);
			if (fexp < ftrial)
			{
				memcpy(p[worst], trial2, sizeof(double) * n);
				fp[worst] = fexp;
			}
			else
			{
				memcpy(p[worst], trial, sizeof(double) * n);
				fp[worst] = ftrial;
			}
			continue;
		}
		if (ftrial < fp[second])
		{
			memcpy(p[worst], trial, sizeof(double) * n);
			fp[worst] = ftrial;
			continue;
		}

		/* contract, outside or inside */
		{
			double		fcon;
			bool		outside = ftrial < fp[worst];

			for (int j = 0; j < n; j++)
				trial2[j] = outside ?
					centroid[j] + 0.5 * (trial[j] - centroid[j]) :
					centroid[j] + 0.5 * (p[worst][j] - centroid[j]);
			fcon = evaluate(f, arg, trial2);
			if (fcon < (outside ? ftrial : fp[worst]))
			{
				memcpy(p[worst], trial2, sizeof(double) * n);
				fp[worst] = fcon;
				continue;
			}
		}

		/* shrink towards the best point */
		for (int i = 0; i <= n; i++)
		{
			if (i == best)
				continue;
			for (int j = 0; j < n; j++)
				p[i][j] = p[best][j] + 0.5 * (p[i][j] - p[best][j]);
			fp[i] = evaluate(f, arg, p[i]);
		}
	}

	{
		int			best = 0;

		for (int i = 1; i <= n; i++)
			if (fp[i] < fp[best])
				best = i;
		memcpy(x, p[best], sizeof(double) * n);
		*fx = fp[best];
	}
	return -1;
}

/*
 * Minimise f over R^n from x (n <= CRM_OPTIM_MAX_PARAMS); x receives the
 * best point found.
 */
CrmOptimResult
crm_minimize(CrmObjective f, void *arg, int n, double *x)
{
	CrmOptimResult result = {0};
	double		previous = INFINITY;

	Assert(n > 0 && n <= CRM_OPTIM_MAX_PARAMS);
	result.value = evaluate(f, arg, x);
	for (int restart = 0; restart < MAX_RESTARTS; restart++)
	{
		double		value;
		int			iterations = nelder_mead(f, arg, n, x, &value);

		result.iterations += iterations < 0 ? MAX_ITERATIONS : iterations;
		result.value = value;
		if (iterations >= 0 && isfinite(value) &&
			fabs(previous - value) <= FTOL * (fabs(value) + FTOL) * 10)
		{
			result.converged = true;
			break;
		}
		previous = value;
	}
	return result;
}
