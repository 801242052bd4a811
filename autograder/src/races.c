/* races.c - the races stage: one Check test run under helgrind (grader
 * core, for the labs with threads).
 *
 * A data race rarely shows as a wrong answer in a test: the threads must
 * interleave just so. helgrind watches every memory access instead and
 * reports two threads touching the same bytes, one of them writing, with
 * no lock or other happens-before order between them. --fair-sched=yes
 * makes valgrind switch threads often and fairly; without it helgrind
 * misses races that sit between lock/unlock pairs (NOTES.md).
 *
 * Forking is off (CK_FORK=no) so that helgrind sees the test itself, and
 * only the named test runs (CK_RUN_CASE: TEST_ADD names the case after
 * the test).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "grader.h"
#include "util.h"
#include "vglog.h"

enum { HELGRIND_TIMEOUT_MS = 100000 };

/* Address space is not limited: valgrind reserves far more than it uses. */
static const struct sbx_limits LIMITS_HELGRIND = {
    .cpu_s = 480, .mem_mb = 0, .nproc = 64, .fsize_mb = 64, .nofile = 256};

/* helgrind calls a pthread_cond_signal() made after the mutex was
 * unlocked "dubious", but POSIX allows it and many pools do it (the woken
 * thread then need not wait for the lock): it is no error here. */
static const char allowed[] =
    "dubious: associated lock is not held by any thread";

/* The first line after p's whose text (after "==PID== ") is not empty. */
static const char *next_text_line(const char *p)
{
	while ((p = strchr(p, '\n')) != NULL) {
		const char *text = strstr(++p, "== ");

		if (text && text[3] != '\n' && text[3] != '\0' &&
		    text < strchr(p, '\n'))
			return text + 3;
	}
	return NULL;
}

/* The first report that is not allowed: each follows a line of dashes.
 * Thread announcements ("---Thread-Announcement---") are not reports. */
static const char *first_report(const char *log)
{
	for (const char *p = log;
	     (p = strstr(p, "== -------------------------------")) != NULL;) {
		const char *text = next_text_line(p);

		if (text == NULL)
			return NULL;
		if (!memmem(text, strcspn(text, "\n"), allowed,
		            strlen(allowed)))
			return text;
		p = text;
	}
	return NULL;
}

/* Quotes helgrind's first data race (both threads' stacks), or else its
 * first report of any other kind. */
static void show_first_report(struct result *r, const struct vglog *l)
{
	static const char *const race[] = {"Possible data race"};
	const char *first = first_report(l->text);
	char line[256];

	if (vglog_count(l, race[0]) > 0) {
		vglog_quote(r, l, race, 1, 24, "helgrind");
	} else if (first) {
		snprintf(line, sizeof(line), "%.*s", (int)strcspn(first, "\n"),
		         first);
		const char *const needle[] = {line};
		vglog_quote(r, l, needle, 1, 24, "helgrind");
	}
}

/* What Check's XML log (written by the test itself) says: 1 the test
 * passed, 0 it did not, -1 there is no log to read. */
static int test_passed(const char *xml_path)
{
	char *xml = read_untrusted(xml_path, 1 << 20, NULL);
	int ok = !xml ? -1
	         : strstr(xml, "<test result=\"success\"") &&
	                 !strstr(xml, "<test result=\"failure\"") &&
	                 !strstr(xml, "<test result=\"error\"")
	             ? 1
	             : 0;

	free(xml);
	return ok;
}

enum verdict check_races_helgrind(struct grader *g, const struct check *c,
                                  struct result *r)
{
	char prog[PATH_MAX], bin[PATH_MAX], log[PATH_MAX], vg_log[PATH_MAX];
	char xml[PATH_MAX], xml_env[PATH_MAX + 32], case_env[160], how[96];
	const char *test = strchr(c->arg, ':') + 1;
	struct sbx_proc p;
	struct vglog vg;
	int passed;

	snprintf(prog, sizeof(prog), "%.*s", (int)(test - 1 - c->arg), c->arg);
	path_join(bin, g->bin, prog);
	snprintf(log, sizeof(log), "%s/%s.helgrind.out", g->priv, test);
	snprintf(vg_log, sizeof(vg_log), "%s/%s.helgrind", g->priv, test);
	snprintf(xml, sizeof(xml), "%s/%s.helgrind.xml", g->run, test);
	snprintf(xml_env, sizeof(xml_env), "CK_XML_LOG_FILE_NAME=%s", xml);
	snprintf(case_env, sizeof(case_env), "CK_RUN_CASE=%s", test);
	unlink(xml);
	if (access(bin, X_OK) != 0) {
		result_printf(r, "there is no %s program (it did not build)\n",
		              prog);
		return FAIL;
	}
	char *argv[] = {"/usr/bin/valgrind",
	                "--tool=helgrind",
	                "--fair-sched=yes",
	                "--error-exitcode=99",
	                "--trace-children=yes",
	                "--log-fd=3",
	                bin,
	                NULL};
	char *env[] = {"CK_FORK=no", case_env, xml_env, NULL};
	struct sbx_spec spec = {.argv = argv,
	                        .env = env,
	                        .cwd = g->run,
	                        .log = log,
	                        .fd3_log = vg_log,
	                        .lim = &LIMITS_HELGRIND};
	int rc = sbx_run(&p, &spec, HELGRIND_TIMEOUT_MS);
	bool have_log = vglog_read(&vg, vg_log, rc == 0 ? p.status : -1) == 0;
	enum verdict v = FAIL;

	if (rc == -ETIMEDOUT) {
		result_printf(r,
		              "%s did not finish under helgrind within %d s: "
		              "a deadlock, or a lost wake-up that leaves a "
		              "thread waiting for ever?\n",
		              test, HELGRIND_TIMEOUT_MS / 1000);
	} else if (rc < 0) {
		result_printf(r, "grader: cannot run helgrind: %s\n",
		              strerror(-rc));
	} else if (have_log && vg.tamper[0]) {
		r->no_hint = true;
		result_printf(r,
		              "helgrind's log cannot be believed: %s. Nothing "
		              "but helgrind may write to descriptor 3\n",
		              vg.tamper);
	} else if (!have_log || vg.errors < 0) {
		result_printf(r, "helgrind wrote no summary: %s %s\n", test,
		              sbx_describe(p.status, how, sizeof(how)));
	} else if (vg.errors > 0 && first_report(vg.text) != NULL) {
		result_printf(r, "helgrind reported %ld error(s) in %s\n",
		              vg.errors, test);
		show_first_report(r, &vg);
	} else if ((passed = test_passed(xml)) < 0) {
		result_printf(r,
		              "no race reported, but %s left no readable "
		              "result (Check's XML log is missing or is not a "
		              "plain file)\n",
		              test);
	} else if (!passed) {
		result_printf(r,
		              "no race reported, but %s itself failed under "
		              "helgrind (%s); run it yourself: CK_FORK=no "
		              "CK_RUN_CASE=%s valgrind --tool=helgrind "
		              "--fair-sched=yes build/labs/lab%d/%s\n",
		              test, sbx_describe(p.status, how, sizeof(how)),
		              test, g->lab->number, prog);
	} else {
		result_printf(r,
		              "%s ran under helgrind: no data race, no "
		              "lock misuse reported\n",
		              test);
		v = PASS;
	}
	vglog_free(&vg);
	return v;
}
