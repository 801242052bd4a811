#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p% of samples <= it.
 * Unlike interpolation it always names a latency that really happened. */
double stats_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

void stats_summarize(double *v, size_t n, struct stats *s)
{
	double sum = 0;

	s->n = n;
	s->p50 = stats_percentile(v, n, 50);
	s->p90 = stats_percentile(v, n, 90);
	s->p99 = stats_percentile(v, n, 99);
	s->min = n ? v[0] : 0;
	s->max = n ? v[n - 1] : 0;
	for (size_t i = 0; i < n; i++)
		sum += v[i];
	s->mean = n ? sum / (double)n : 0;
}

const char *stats_format(const struct stats *s, char *buf, size_t cap)
{
	snprintf(buf, cap,
	         "p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms (n=%zu)",
	         s->p50, s->p90, s->p99, s->max, s->n);
	return buf;
}
