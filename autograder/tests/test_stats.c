/* The grader's own statistics: what latency checks are judged on. */
#include <check.h>

#include "stats.h"
#include "testing.h"

START_TEST(test_percentile_nearest_rank)
{
	double v[] = {5, 1, 4, 2, 3, 10, 9, 8, 7, 6};

	ck_assert_double_eq(stats_percentile(v, 10, 50), 5);
	ck_assert_double_eq(stats_percentile(v, 10, 90), 9);
	ck_assert_double_eq(stats_percentile(v, 10, 99), 10);
	ck_assert_double_eq(stats_percentile(v, 10, 100), 10);
	ck_assert_double_eq(stats_percentile(v, 10, 0), 1);
}
END_TEST

START_TEST(test_percentile_edges)
{
	double one[] = {42};

	ck_assert_double_eq(stats_percentile(NULL, 0, 50), 0);
	ck_assert_double_eq(stats_percentile(one, 1, 1), 42);
	ck_assert_double_eq(stats_percentile(one, 1, 99), 42);
}
END_TEST

/* One straggler in a hundred is p99 and max, not p90: the reason latency
 * checks name their percentile. */
START_TEST(test_summary_straggler)
{
	double v[100];
	struct stats s;

	for (int i = 0; i < 100; i++)
		v[i] = i == 37 ? 1000 : 1;
	stats_summarize(v, 100, &s);
	ck_assert_double_eq(s.p50, 1);
	ck_assert_double_eq(s.p90, 1);
	ck_assert_double_eq(s.p99, 1);
	ck_assert_double_eq(s.max, 1000);
	ck_assert_double_eq_tol(s.mean, 10.99, 1e-9);
	ck_assert_uint_eq(s.n, 100);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("stats");

	TEST_ADD(s, test_percentile_nearest_rank, 5);
	TEST_ADD(s, test_percentile_edges, 5);
	TEST_ADD(s, test_summary_straggler, 5);
	return s;
}

TEST_MAIN(suite)
