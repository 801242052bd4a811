/* stats.h - summaries of latency samples (grader core). */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>

struct stats {
	size_t n;
	double min, p50, p90, p99, max, mean;
};

/* Nearest-rank percentile (p in 0..100) of v[0..n); sorts v. 0 when n == 0. */
double stats_percentile(double *v, size_t n, double p);

/* Fills s from v[0..n) (sorts v). */
void stats_summarize(double *v, size_t n, struct stats *s);

/* "p50 0.21 ms, p90 0.35 ms, p99 1.20 ms, max 3.10 ms (n=300)" */
const char *stats_format(const struct stats *s, char *buf, size_t cap);

#endif
