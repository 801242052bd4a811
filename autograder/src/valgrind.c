/* valgrind.c - the leak stage: the lab's server under memcheck, driven
 * through the lab's scenario, stopped with SIGTERM, and valgrind's log read
 * for leaks, invalid accesses and descriptors left open. One run serves the
 * three checks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "grader.h"
#include "target.h"
#include "util.h"

struct vg_run {
	bool done;
	bool ok;       /* the server ran the scenario and exited by itself */
	char why[600]; /* when !ok: what went wrong */
	long definite, indirect;
	int invalid; /* memory errors other than leaks */
	int fds;     /* descriptors open at exit, not inherited, not std */
	char *log;
};

static const char *const error_kinds[] = {
    "Invalid read",
    "Invalid write",
    "Invalid free",
    "Mismatched free",
    "Conditional jump or move depends on uninitialised",
    "Use of uninitialised value",
    "uninitialised byte",
    "Source and destination overlap",
    "Argument 'size' of function malloc has a fishy",
};

/* "definitely lost: 16,777,417 bytes in 11 blocks" -> 16777417. */
static long lost(const char *log, const char *kind)
{
	char key[64];
	const char *p;
	long n = 0;

	snprintf(key, sizeof(key), "%s: ", kind);
	if (!(p = strstr(log, key)))
		return 0;
	for (p += strlen(key); (*p >= '0' && *p <= '9') || *p == ','; p++)
		if (*p != ',')
			n = n * 10 + (*p - '0');
	return n;
}

static void parse_log(struct vg_run *v)
{
	const char *log = v->log;

	v->definite = lost(log, "definitely lost");
	v->indirect = lost(log, "indirectly lost");
	for (const char *p = log; *p;) {
		size_t n = strcspn(p, "\n");
		for (size_t k = 0;
		     k < sizeof(error_kinds) / sizeof(error_kinds[0]); k++)
			if (memmem(p, n, error_kinds[k],
			           strlen(error_kinds[k])))
				v->invalid++;
		if (memmem(p, n, "Open ", 5) &&
		    !memmem(p, n, "FILE DESCRIPTORS", 16)) {
			const char *next = p + n + (p[n] == '\n');
			size_t m = strcspn(next, "\n");
			if (!memmem(next, m, "inherited from parent", 21))
				v->fds++;
		}
		p += n + (p[n] == '\n');
	}
}

static struct vg_run *run_once(struct grader *g, const struct check *c,
                               struct result *r)
{
	struct vg_run *v = g->leaks;
	struct target t;
	struct target_opts o = {.valgrind = true, .tag = "valgrind"};
	char how[96];

	if (v && v->done)
		return v;
	if (!(v = calloc(1, sizeof(*v))))
		return NULL;
	g->leaks = v;
	v->done = true;
	(void)c;
	if (target_start(g, &t, &o, r) < 0) {
		snprintf(v->why, sizeof(v->why),
		         "the server did not start under valgrind");
		return v;
	}
	g->lab->leak_scenario(g, t.port);
	if (target_explain_death(&t, r)) {
		snprintf(v->why, sizeof(v->why),
		         "the server died during the scenario (see above)");
	} else if (target_stop_nudged(&t, 10000) < 0) {
		snprintf(v->why, sizeof(v->why),
		         "the server did not exit within 10 s of SIGTERM, so "
		         "valgrind could not check what it left behind");
	} else if (!WIFEXITED(t.proc.status)) {
		snprintf(v->why, sizeof(v->why), "after SIGTERM the server %s",
		         sbx_describe(t.proc.status, how, sizeof(how)));
	} else {
		v->ok = true;
	}
	if (g->lab->leak_cleanup)
		g->lab->leak_cleanup(g);
	v->log = read_file(t.vg_log, NULL);
	if (!v->log) {
		v->ok = false;
		snprintf(v->why, sizeof(v->why), "valgrind wrote no report");
	} else {
		parse_log(v);
	}
	return v;
}

void leaks_free(struct grader *g)
{
	if (g->leaks)
		free(g->leaks->log);
	free(g->leaks);
	g->leaks = NULL;
}

/* Quotes the part of valgrind's log that starts at the first line holding
 * one of needles, so the student sees the stack. */
static void show_excerpt(struct result *r, const char *log,
                         const char *const needles[], size_t n)
{
	const char *best = NULL;

	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(log, needles[i]);
		if (p && (!best || p < best))
			best = p;
	}
	if (!best)
		return;
	while (best > log && best[-1] != '\n')
		best--;
	int lines = 0;
	const char *end = best;
	while (*end && lines < 14)
		if (*end++ == '\n')
			lines++;
	result_printf(r, "valgrind says:\n%.*s", (int)(end - best), best);
}

static struct vg_run *ready(struct grader *g, const struct check *c,
                            struct result *r)
{
	struct vg_run *v = run_once(g, c, r);

	if (v && !v->ok)
		result_printf(r, "%s\n", v->why);
	return v && v->ok ? v : NULL;
}

enum verdict check_leaks_memory(struct grader *g, const struct check *c,
                                struct result *r)
{
	static const char *const where[] = {"are definitely lost",
	                                    "are indirectly lost"};
	struct vg_run *v = ready(g, c, r);

	if (!v)
		return FAIL;
	if (v->definite == 0 && v->indirect == 0) {
		result_printf(
		    r, "no memory leaked after the scenario and SIGTERM\n");
		return PASS;
	}
	result_printf(r,
	              "%ld bytes definitely and %ld indirectly lost at exit\n",
	              v->definite, v->indirect);
	show_excerpt(r, v->log, where, 2);
	return FAIL;
}

enum verdict check_leaks_invalid(struct grader *g, const struct check *c,
                                 struct result *r)
{
	struct vg_run *v = ready(g, c, r);

	if (!v)
		return FAIL;
	if (v->invalid == 0) {
		result_printf(r, "no invalid reads, writes or frees; no "
		                 "uninitialised values used\n");
		return PASS;
	}
	result_printf(r, "%d memory error(s)\n", v->invalid);
	show_excerpt(r, v->log, error_kinds,
	             sizeof(error_kinds) / sizeof(error_kinds[0]));
	return FAIL;
}

enum verdict check_leaks_fds(struct grader *g, const struct check *c,
                             struct result *r)
{
	static const char *const where[] = {"Open AF_", "Open file descriptor",
	                                    "Open pipe"};
	struct vg_run *v = ready(g, c, r);

	if (!v)
		return FAIL;
	if (v->fds == 0) {
		result_printf(r, "no descriptor left open at exit (besides "
		                 "stdin/out/err)\n");
		return PASS;
	}
	result_printf(r, "%d descriptor(s) still open at exit\n", v->fds);
	show_excerpt(r, v->log, where, 3);
	return FAIL;
}
