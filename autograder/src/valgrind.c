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
#include "vglog.h"

struct vg_run {
	bool done;
	bool ok;       /* the server ran the scenario and exited by itself */
	char why[600]; /* when !ok: what went wrong */
	struct vglog log;
	long definite, indirect;
	int invalid; /* memory errors other than leaks */
	int fds;     /* descriptors open at exit, not inherited, not std */
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

static bool open_fd_line(const char *line, size_t n)
{
	return memmem(line, n, "Open ", 5) &&
	       !memmem(line, n, "FILE DESCRIPTORS", 16);
}

void vglog_tally(const struct vglog *l, long *definite, long *indirect,
                 int *invalid, int *fds)
{
	*definite = vglog_number(l, "definitely lost: ");
	*indirect = vglog_number(l, "indirectly lost: ");
	*invalid = *fds = 0;
	for (size_t k = 0; k < sizeof(error_kinds) / sizeof(error_kinds[0]);
	     k++)
		*invalid += vglog_count(l, error_kinds[k]);
	/* "Open file descriptor 5: ..." followed by where it was opened, or
	 * by "<inherited from parent>" for those it was started with. */
	for (const char *p = l->text; p && *p;) {
		size_t n = strcspn(p, "\n");
		if (open_fd_line(p, n)) {
			const char *next = p + n + (p[n] == '\n');
			size_t m = strcspn(next, "\n");
			if (!memmem(next, m, "inherited from parent", 21))
				(*fds)++;
		}
		p += n + (p[n] == '\n');
	}
}

static void parse_log(struct vg_run *v)
{
	vglog_tally(&v->log, &v->definite, &v->indirect, &v->invalid, &v->fds);
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
	if (vglog_read(&v->log, t.vg_log, t.proc.status) < 0) {
		v->ok = false;
		snprintf(v->why, sizeof(v->why), "valgrind wrote no report");
	} else if (v->log.tamper[0]) {
		v->ok = false;
		snprintf(v->why, sizeof(v->why),
		         "valgrind's log cannot be believed: %s. Nothing but "
		         "valgrind may write to descriptor 3 while it runs",
		         v->log.tamper);
	} else if (v->ok && v->log.errors < 0) {
		v->ok = false;
		snprintf(v->why, sizeof(v->why),
		         "valgrind wrote no summary: the server did not reach "
		         "its end under valgrind");
	} else {
		parse_log(v);
	}
	return v;
}

void leaks_free(struct grader *g)
{
	if (g->leaks)
		vglog_free(&g->leaks->log);
	free(g->leaks);
	g->leaks = NULL;
}

static struct vg_run *ready(struct grader *g, const struct check *c,
                            struct result *r)
{
	struct vg_run *v = run_once(g, c, r);

	if (v && !v->ok)
		result_printf(r, "%s\n", v->why);
	if (v && v->log.tamper[0])
		r->no_hint = true; /* the hint is about leaks, not forgery */
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
	vglog_quote(r, &v->log, where, 2, 14, "valgrind");
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
	vglog_quote(r, &v->log, error_kinds,
	            sizeof(error_kinds) / sizeof(error_kinds[0]), 14,
	            "valgrind");
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
	vglog_quote(r, &v->log, where, 3, 14, "valgrind");
	return FAIL;
}
