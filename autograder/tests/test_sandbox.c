/* The sandbox against hostile programs: each must cost its own run, never
 * the grader, and leave nothing running or lying about. SBX_TEST_MODE
 * (namespaces, permissions) picks the mode; the default is the strongest
 * the machine allows. */
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
/* dir/ (the grader's) holds box/ (what the sandbox sees), the logs, and a
 * secret the sandbox must not read. */
static char dir[] = "/tmp/sbx-test-XXXXXX";
static char box[300], log_path[300], fd3_path[300], secret[300];

static void setup(void)
{
	const char *mode = getenv("SBX_TEST_MODE");
	char why[400] = "";

	ck_assert_int_eq(sbx_init(!mode ? SBX_AUTO
	                          : !strcmp(mode, "namespaces")
	                              ? SBX_NAMESPACES
	                              : SBX_PERMISSIONS),
	                 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(box, sizeof(box), "%s/box", dir);
	snprintf(log_path, sizeof(log_path), "%s/log", dir);
	snprintf(fd3_path, sizeof(fd3_path), "%s/fd3", dir);
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	ck_assert_int_eq(mkdir(box, 0755), 0);
	FILE *f = fopen(secret, "w");
	fputs("the hidden test\n", f);
	fclose(f);
	chmod(secret, 0600);
	ck_assert_msg(sbx_set_box(box, NULL, why, sizeof(why)) == 0, "%s", why);
}

static void teardown(void)
{
	char *argv[] = {"rm", "-rf", dir, NULL};
	pid_t pid = fork();

	if (pid == 0) {
		execvp("rm", argv);
		_exit(1);
	}
	/* That very child: a sandbox's orphan may be reaped here too. */
	waitpid(pid, NULL, 0);
	strcpy(dir, "/tmp/sbx-test-XXXXXX");
}

static int sh_with(struct sbx_proc *p, const char *script, int timeout_ms,
                   const char *fd3)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	struct sbx_spec s = {.argv = argv,
	                     .cwd = box,
	                     .log = log_path,
	                     .fd3_log = fd3,
	                     .lim = &lim};

	unlink(log_path);
	return sbx_run(p, &s, timeout_ms);
}

static int sh(struct sbx_proc *p, const char *script, int timeout_ms)
{
	return sh_with(p, script, timeout_ms, NULL);
}

/* The log's text (static buffer). */
static const char *slurp(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
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
	snprintf(buf, sizeof(buf), "%s", slurp(log_path));
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

/* bubblewrap reports a death by signal as exit 128+N: it must read as the
 * signal again. */
START_TEST(test_signal_named)
{
	struct sbx_proc p;

	sh(&p, "kill -SEGV $$", 3000);
	ck_assert_msg(WIFSIGNALED(p.status) && WTERMSIG(p.status) == SIGSEGV,
	              "expected death by SIGSEGV, wait status %#x", p.status);
	sh(&p, "exit 3", 3000);
	ck_assert_msg(WIFEXITED(p.status) && WEXITSTATUS(p.status) == 3,
	              "expected exit 3, wait status %#x", p.status);
}
END_TEST

/* Files of the grader's next to the box are out of reach: by the view
 * (namespaces) or by permissions. */
START_TEST(test_outside_box_unreadable)
{
	struct sbx_proc p;
	char script[600];

	if (geteuid() != 0 && sbx_mode() != SBX_NAMESPACES)
		return; /* plain mode: the same uid reads what we read */
	snprintf(script, sizeof(script),
	         "cat %s && echo READ-IT; ls %s | grep -q secret && echo "
	         "LISTED-IT; echo done",
	         secret, dir);
	ck_assert_int_eq(sh(&p, script, 3000), 0);
	const char *out = slurp(log_path);
	ck_assert_msg(strstr(out, "done") && !strstr(out, "READ-IT") &&
	                  !strstr(out, "the hidden test"),
	              "the sandbox read %s:\n%s", secret, out);
	if (sbx_mode() == SBX_NAMESPACES)
		ck_assert_msg(!strstr(out, "LISTED-IT"),
		              "the sandbox listed %s:\n%s", dir, out);
}
END_TEST

/* fd 3 is a pipe to the grader: the program can add to that log but not
 * erase what was written or put another file in its place. */
START_TEST(test_fd3_log_kept)
{
	struct sbx_proc p;
	char script[600];

	snprintf(script, sizeof(script),
	         "echo from-valgrind >&3; (: >/proc/self/fd/3) 2>/dev/null; "
	         "rm -f %s; echo added >&3",
	         fd3_path);
	ck_assert_int_eq(sh_with(&p, script, 3000, fd3_path), 0);
	const char *out = slurp(fd3_path);
	ck_assert_msg(strstr(out, "from-valgrind") && strstr(out, "added"),
	              "fd 3's log lost lines: \"%s\"", out);
}
END_TEST

/* What a run leaves in /tmp, /dev/shm and /var/tmp does not outlive it. */
START_TEST(test_shared_places_cleaned)
{
	struct sbx_proc p;
	char name[64], path[128];
	const char *places[] = {"/tmp", "/dev/shm", "/var/tmp"};
	struct stat st;

	if (geteuid() != 0 && sbx_mode() != SBX_NAMESPACES)
		return; /* plain mode: our own files, indistinguishable */
	snprintf(name, sizeof(name), "sbx-left-%d", (int)getpid());
	char script[600];
	snprintf(script, sizeof(script),
	         "for d in /tmp /dev/shm /var/tmp; do mkdir -p $d/%s && "
	         "echo x > $d/%s/f; echo y > $d/%s.file; done; true",
	         name, name, name);
	sh(&p, script, 3000);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s", places[i], name);
		ck_assert_msg(lstat(path, &st) < 0, "%s outlived the run",
		              path);
		snprintf(path, sizeof(path), "%s/%s.file", places[i], name);
		ck_assert_msg(lstat(path, &st) < 0, "%s outlived the run",
		              path);
	}
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
	tcase_add_test(tc, test_signal_named);
	tcase_add_test(tc, test_outside_box_unreadable);
	tcase_add_test(tc, test_fd3_log_kept);
	tcase_add_test(tc, test_shared_places_cleaned);
	suite_add_tcase(s, tc);
	return s;
}

TEST_MAIN(suite)
