/* testing.h - one main() for every Check test program of the course.
 *
 * Usage, at the end of a test file:
 *     TEST_MAIN(suite_function)
 *
 * The program runs the suite (forking per test unless CK_FORK=no), prints
 * Check's summary line, and exits 1 when any test failed -- or when none ran,
 * which is what a misspelt CK_RUN_CASE silently does. The grader reads each
 * test's result from the XML log that Check writes when CK_XML_LOG_FILE_NAME
 * is set, so test function names are the names of graded checks.
 */
#ifndef TESTING_H
#define TESTING_H

#include <check.h>
#include <stdlib.h>

/* ck_assert_* already prints both values on failure; these add the message
 * style the course uses for buffers: what was expected and what came. */
#define ck_assert_mem_prefix(got, got_len, want)                               \
	ck_assert_msg((got_len) >= strlen(want) &&                             \
	                  memcmp((got), (want), strlen(want)) == 0,            \
	              "expected bytes starting \"%s\", got %zu bytes \"%.*s\"", \
	              (want), (size_t)(got_len), (int)((got_len) > 200 ? 200 : (got_len)), \
	              (const char *)(got))

#define TEST_MAIN(suite_fn)                                                    \
	int main(void)                                                         \
	{                                                                      \
		SRunner *sr = srunner_create(suite_fn());                       \
		srunner_run_all(sr, CK_NORMAL);                                \
		int run = srunner_ntests_run(sr);                              \
		int failed = srunner_ntests_failed(sr);                        \
		srunner_free(sr);                                              \
		return (run == 0 || failed != 0) ? EXIT_FAILURE : EXIT_SUCCESS; \
	}

/* Adds one test in a TCase of its own (so timeouts are per test). */
#define TEST_ADD(suite, fn, timeout_s)                                         \
	do {                                                                   \
		TCase *tc_ = tcase_create(#fn);                                \
		tcase_set_timeout(tc_, (timeout_s));                           \
		tcase_add_test(tc_, fn);                                       \
		suite_add_tcase((suite), tc_);                                 \
	} while (0)

#endif
