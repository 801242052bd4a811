/* The sandbox against hostile programs: each must cost its own run, never
 * the grader, and leave nothing running. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "sandbox.h"
#include "testing.h"

static const struct sbx_limits lim = {
    .cpu_s = 10, .mem_mb = 256, .nproc = 20, .fsize_mb = 1, .nofile = 64};
static char dir[] = "/tmp/sbx-test-XXXXXX";
static char log_path[256];

static void setup(void)
{
	sbx_init();
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0777);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
}

static void teardown(void)
{
	unlink(log_path);
	rmdir(dir);
	strcpy(dir, "/tmp/sbx-test-XXXXXX");
}

static int sh(struct sbx_proc *p, const char *script, int timeout_ms)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};

	return sbx_run(p, argv, NULL, dir, log_path, &lim, timeout_ms);
}

/* Live processes of the sandbox uid, after giving SIGKILL a moment to land. */
static int leftovers(void)
{
	int n = sbx_leftovers();

	for (int tries = 0; tries < 50 && n != 0; tries++) {
		usleep(20000);
		n = sbx_leftovers();
	}
	return n;
}

START_TEST(test_infinite_loop_times_out)
{
	struct sbx_proc p;
	double t0 = probe_now_ms();

	ck_assert_int_eq(sh(&p, "while :; do :; done", 500), -ETIMEDOUT);
	double ms = probe_now_ms() - t0;
	ck_assert_msg(ms < 3000,
	              "the loop was stopped after %.0f ms, expected ~500", ms);
	ck_assert(WIFSIGNALED(p.status));
}
END_TEST

START_TEST(test_fork_bomb_contained)
{
	struct sbx_proc p;
	double t0 = probe_now_ms();

	sh(&p, "f() { f | f & }; f; sleep 1", 3000);
	ck_assert_msg(probe_now_ms() - t0 < 8000,
	              "fork bomb took %.0f ms to contain", probe_now_ms() - t0);
	if (geteuid() == 0)
		ck_assert_int_eq(leftovers(), 0);
}
END_TEST

START_TEST(test_setsid_escapee_killed)
{
	struct sbx_proc p;

	if (geteuid() != 0)
		return; /* only root can sweep a uid; documented in
		           autograder/README.md */
	ck_assert_int_eq(sh(&p, "setsid sleep 300 & exit 0", 3000), 0);
	ck_assert_int_eq(leftovers(), 0);
}
END_TEST

START_TEST(test_memory_bomb_limited)
{
	struct sbx_proc p;

	/* Doubles a string until the address-space limit stops it. */
	sh(&p, "x=aaaaaaaa; while :; do x=$x$x; done", 20000);
	ck_assert_msg(!(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0),
	              "the memory bomb should have been stopped");
}
END_TEST

START_TEST(test_output_flood_capped)
{
	struct sbx_proc p;
	struct stat st;

	sh(&p, "yes 'PASS 100/100'", 5000);
	ck_assert_int_eq(stat(log_path, &st), 0);
	ck_assert_msg(st.st_size <= (1 << 20),
	              "log grew to %lld bytes past the 1 MiB limit",
	              (long long)st.st_size);
}
END_TEST

START_TEST(test_clean_environment)
{
	struct sbx_proc p;
	char buf[4096] = "";

	setenv("GRADER_SECRET", "leak", 1);
	ck_assert_int_eq(sh(&p, "env; ls /proc/self/fd", 3000), 0);
	FILE *f = fopen(log_path, "r");
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	ck_assert_msg(!strstr(buf, "GRADER_SECRET"),
	              "the grader's environment leaked in:\n%s", buf);
	ck_assert(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0);
}
END_TEST

/* The grader ignores SIGPIPE; a student's server must not inherit that, or
 * a server that forgot to ignore it would pass the SIGPIPE check. */
START_TEST(test_signals_reset)
{
	struct sbx_proc p;

	signal(SIGPIPE, SIG_IGN);
	sh(&p, "kill -PIPE $$; exit 0", 3000);
	ck_assert_msg(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGPIPE,
	              "expected the child to die of SIGPIPE, wait status %#x",
	              p.status);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *tc = tcase_create("hostile");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_infinite_loop_times_out);
	tcase_add_test(tc, test_fork_bomb_contained);
	tcase_add_test(tc, test_setsid_escapee_killed);
	tcase_add_test(tc, test_memory_bomb_limited);
	tcase_add_test(tc, test_output_flood_capped);
	tcase_add_test(tc, test_clean_environment);
	tcase_add_test(tc, test_signals_reset);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(suite)
