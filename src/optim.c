/*
 * optim.c
 *		Minimisation for the model fits: BFGS with a Wolfe line search where
 *		the objective has a gradient, Nelder-Mead with restarts as the
 *		fallback that needs none.
 *
 * The fits optimise log-parameters (so every parameter stays positive
 * without constraints) of smooth log-likelihoods in 3 or 4 dimensions.
 * With their gradients, quasi-Newton steps reach the maximum in a few
 * dozen evaluations where the downhill simplex needs hundreds (Nocedal &
 * Wright, Numerical Optimization, 2nd ed., algorithm 6.1).  The simplex
 * stays for what BFGS cannot finish -- a likelihood without an interior
 * maximum, say -- because it needs nothing but values.  A simplex can
 * collapse before reaching the minimum, so after it converges we start a
 * fresh one at the best point, and call the result converged only when a
 * restart no longer improves it (Nelder & Mead 1965; the restart as
 * recommended by Press et al., Numerical Recipes, 10.5).
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "optim.h"

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
 * One Nelder-Mead run from x, of at most max_iterations steps; leaves the
 * best point in x.  Returns the number of iterations, or -1 when it ran
 * out of them.
 */
static int
nelder_mead(CrmObjective f, void *arg, int n, double *x, double *fx,
			int max_iterations)
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

	for (iter = 0; iter < max_iterations; iter++)
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
 * Minimise f over R^n from x (n <= CRM_OPTIM_MAX_PARAMS) in at most
 * max_iterations simplex steps, all restarts together; x receives the
 * best point found.
 */
CrmOptimResult
crm_minimize(CrmObjective f, void *arg, int n, double *x, int max_iterations)
{
	CrmOptimResult result = {0};
	double		previous = INFINITY;

	Assert(n > 0 && n <= CRM_OPTIM_MAX_PARAMS);
	result.value = evaluate(f, arg, x);
	for (int restart = 0; restart < MAX_RESTARTS; restart++)
	{
		double		value;
		int			budget = max_iterations - result.iterations;
		int			iterations;

		if (budget <= 0)
			break;
		iterations = nelder_mead(f, arg, n, x, &value, budget);
		result.iterations += iterations < 0 ? budget : iterations;
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

/* BFGS */
#define BFGS_MAX_ITERATIONS 200
#define BFGS_MAX_STEP 4.0		/* longest first trial step, in log-parameters */
#define WOLFE_C1 1e-4			/* sufficient decrease */
#define WOLFE_C2 0.9			/* curvature */
#define LINE_SEARCH_TRIALS 30
#define BFGS_ROUNDING 1e-12		/* relative decrease too small to be seen */
#define BFGS_NEGLIGIBLE 1e-14	/* relative decrease not worth a step */
#define BFGS_LOOSE_GTOL 1e-6	/* largest gradient then */

static double
evaluate_smooth(CrmSmoothObjective f, void *arg, const double *x, double *grad,
				int n)
{
	double		value = f(x, grad, arg);

	if (isnan(value))
		value = INFINITY;
	for (int i = 0; i < n && isfinite(value); i++)
		if (!isfinite(grad[i]))
			value = INFINITY;
	return value;
}

static double
dot(const double *u, const double *v, int n)
{
	double		sum = 0;

	for (int i = 0; i < n; i++)
		sum += u[i] * v[i];
	return sum;
}

/*
 * Find a step t along the descent direction d from x (value fx, gradient
 * g) that satisfies the weak Wolfe conditions, by bracketing and
 * bisection (Lewis & Overton 2013): enough decrease, and a slope that has
 * flattened, so that the BFGS update keeps its matrix positive definite.
 * Leaves the new point in x, fx and g; false when no such step was found.
 */
static bool
wolfe_step(CrmSmoothObjective f, void *arg, int n, double *x, double *fx,
		   double *g, const double *d, double t)
{
	double		lo = 0,
				hi = INFINITY;
	double		slope = dot(g, d, n);
	double		trial[CRM_OPTIM_MAX_PARAMS];
	double		gtrial[CRM_OPTIM_MAX_PARAMS];

	for (int k = 0; k < LINE_SEARCH_TRIALS; k++)
	{
		double		ftrial;

		for (int i = 0; i < n; i++)
			trial[i] = x[i] + t * d[i];
		ftrial = evaluate_smooth(f, arg, trial, gtrial, n);
		if (!(ftrial <= *fx + WOLFE_C1 * t * slope))
			hi = t;
		else if (dot(gtrial, d, n) < WOLFE_C2 * slope)
			lo = t;
		else
		{
			memcpy(x, trial, sizeof(double) * n);
			memcpy(g, gtrial, sizeof(double) * n);
			*fx = ftrial;
			return true;
		}
		t = isinf(hi) ? 2 * lo : (lo + hi) / 2;
	}
	return false;
}

/*
 * Minimise f, which returns its value and fills its gradient, over R^n
 * from x; x receives the best point found.  hinv, n x n row-major, is the
 * starting approximation of the inverse Hessian (NULL: the identity) and
 * receives the final one, so that a fit on a sample can hand over its
 * curvature to the fit on all the data.  Converged when the largest
 * gradient component is at most gtol, or when a Newton step promises a
 * decrease of at most enough (its Newton decrement g'Hg, twice what the
 * quadratic model promises; 0: only where rounding hides it).
 */
CrmOptimResult
crm_minimize_bfgs(CrmSmoothObjective f, void *arg, int n, double *x,
				  double *hinv, double gtol, double enough)
{
	CrmOptimResult result = {0};
	double		H[CRM_OPTIM_MAX_PARAMS * CRM_OPTIM_MAX_PARAMS];
	double		g[CRM_OPTIM_MAX_PARAMS];
	double		d[CRM_OPTIM_MAX_PARAMS];
	double		s[CRM_OPTIM_MAX_PARAMS];
	double		y[CRM_OPTIM_MAX_PARAMS];
	double		Hy[CRM_OPTIM_MAX_PARAMS];
	bool		identity = (hinv == NULL);

	Assert(n > 0 && n <= CRM_OPTIM_MAX_PARAMS);
	for (int i = 0; i < n; i++)
		for (int j = 0; j < n; j++)
			H[i * n + j] = hinv ? hinv[i * n + j] : (i == j);
	result.value = evaluate_smooth(f, arg, x, g, n);
	if (!isfinite(result.value))
		return result;

	for (int iter = 0; iter < BFGS_MAX_ITERATIONS; iter++)
	{
		double		gmax = 0,
					dmax = 0,
					decrement,
					sy,
					yHy;
		double		previous = result.value;

		CHECK_FOR_INTERRUPTS();
		for (int i = 0; i < n; i++)
			gmax = Max(gmax, fabs(g[i]));
		if (gmax <= gtol)
		{
			result.converged = true;
			break;
		}

		for (int i = 0; i < n; i++)
		{
			d[i] = 0;
			for (int j = 0; j < n; j++)
				d[i] -= H[i * n + j] * g[j];
			dmax = Max(dmax, fabs(d[i]));
		}
		if (!(dot(d, g, n) < 0))
		{
			/* lost its way (rounding): start again from steepest descent */
			for (int i = 0; i < n; i++)
				for (int j = 0; j < n; j++)
					H[i * n + j] = (i == j);
			identity = true;
			for (int i = 0; i < n; i++)
				d[i] = -g[i];
			dmax = gmax;
		}

		/*
		 * The decrease a Newton step promises (half of g'Hg, the Newton
		 * decrement) is below what the objective's rounding can show: as
		 * close to the minimum as its values can tell, so stop without a
		 * line search that could not find a measurable decrease
		 */
		decrement = -dot(d, g, n);
		if (gmax <= BFGS_LOOSE_GTOL && !identity &&
			(decrement <= BFGS_NEGLIGIBLE * (fabs(result.value) + 1) ||
			 decrement <= enough))
		{
			result.converged = true;
			break;
		}

		memcpy(s, x, sizeof(double) * n);
		memcpy(y, g, sizeof(double) * n);
		result.iterations++;
		if (!wolfe_step(f, arg, n, x, &result.value, g, d,
						dmax > BFGS_MAX_STEP ? BFGS_MAX_STEP / dmax : 1.0))
		{
			/*
			 * No step decreases the objective measurably.  If the model of
			 * it promised less than its rounding can show, this is as close
			 * to the minimum as its values can tell; otherwise, stuck.
			 */
			result.converged = gmax <= BFGS_LOOSE_GTOL &&
				decrement <= BFGS_ROUNDING * (fabs(result.value) + 1);
			break;
		}
		for (int i = 0; i < n; i++)
		{
			s[i] = x[i] - s[i];
			y[i] = g[i] - y[i];
		}
		sy = dot(s, y, n);
		if (!(sy > 0))
			continue;
		if (identity)
		{
			/* scale the first matrix to the curvature seen (N&W eq. 6.20) */
			double		scale = sy / dot(y, y, n);

			for (int i = 0; i < n * n; i++)
				H[i] *= scale;
			identity = false;
		}
		/* H += (1 + y'Hy/s'y) ss'/s'y - (Hys' + sy'H)/s'y */
		for (int i = 0; i < n; i++)
		{
			Hy[i] = 0;
			for (int j = 0; j < n; j++)
				Hy[i] += H[i * n + j] * y[j];
		}
		yHy = dot(y, Hy, n);
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				H[i * n + j] += (1 + yHy / sy) * s[i] * s[j] / sy -
					(Hy[i] * s[j] + s[i] * Hy[j]) / sy;

		/* stalled in rounding noise at a point that is not stationary */
		if (result.value == previous)
			break;
	}
	if (hinv)
		memcpy(hinv, H, sizeof(double) * n * n);
	return result;
}
