#include "bounds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "sandbox.h"
#include "util.h"

/* Seconds a check may take, by its stage: several times what the reference
 * needs on a loaded 2-core machine (DESIGN.md 4), and above each check's
 * own inner timeouts, so that those speak first when they can. */
static const int stage_deadline_s[STAGE_COUNT] = {
    [STAGE_BUILD] = 150, [STAGE_UNIT] = 150,      [STAGE_INTEGRATION] = 45,
    [STAGE_LEAKS] = 120, [STAGE_RACES] = 120,     [STAGE_LATENCY] = 45,
    [STAGE_MEMORY] = 45, [STAGE_EXPERIMENT] = 30, [STAGE_INTEROP] = 150,
    [STAGE_SAFETY] = 90, [STAGE_QUIZ] = 10,
};

/* What a check that runs out of time was usually waiting for. */
static const char *const stage_cause[STAGE_COUNT] = {
    [STAGE_BUILD] = "the compiler did not finish: an enormous source file, "
                    "or a make rule that never ends?",
    [STAGE_UNIT] = "some tests hang (each waits out Check's timeout): a "
                   "deadlock, or a wait that nothing ever wakes",
    [STAGE_INTEGRATION] =
        "your server stopped answering and the grader's client kept "
        "waiting: usually a blocking call in the loop (a listening socket "
        "left blocking, so accept() waits for the next client; a read() or "
        "write() on a blocking socket)",
    [STAGE_LEAKS] = "the server under valgrind did not finish the scenario "
                    "or did not exit after SIGTERM",
    [STAGE_RACES] = "the test under helgrind never finished: a deadlock, "
                    "or a lost wake-up",
    [STAGE_LATENCY] = "your server stopped answering: a blocking call in "
                      "the loop?",
    [STAGE_MEMORY] = "your server stopped answering: a blocking call in "
                     "the loop?",
    [STAGE_EXPERIMENT] = "the server stopped answering",
    [STAGE_INTEROP] = "the tool did not finish an archive: a loop that "
                      "never ends on some input (each run has its own "
                      "deadline, so this is many slow runs)",
    [STAGE_SAFETY] = "the tool did not finish a hostile archive: a bomb "
                     "inflated without a limit?",
    [STAGE_QUIZ] = "reading answers.txt took too long (the grader's own "
                   "fault: tell your instructor)",
};

int bounds_deadline_s(const struct check *c)
{
	return stage_deadline_s[c->stage];
}

int bounds_begin(struct bounds *b, struct grader *g, double start_ms,
                 int budget_s, const struct watch_budget *disk)
{
	static const char *const writable[] = {"build", "run", "tmp"};

	memset(b, 0, sizeof(*b));
	b->budget_s = budget_s;
	b->start_ms = start_ms;
	/* The last seconds are for the report and the clean-up. */
	b->end_ms = start_ms + (budget_s - TEARDOWN_S) * 1000.0;
	for (int i = 0; i < 3; i++)
		b->dirs[i] = path_join(b->dir_buf[i], g->box, writable[i]);
	b->dirs[3] = NULL;
	return watch_start(b->dirs, disk);
}

void bounds_end(struct bounds *b)
{
	(void)b;
	watch_stop();
}

static void note_slow(struct bounds *b, const struct check *c, double s)
{
	if (!b->slow[0] || s > b->slow_s[0]) {
		b->slow[1] = b->slow[0];
		b->slow_s[1] = b->slow_s[0];
		b->slow[0] = c;
		b->slow_s[0] = s;
	} else if (!b->slow[1] || s > b->slow_s[1]) {
		b->slow[1] = c;
		b->slow_s[1] = s;
	}
}

static void out_of_budget(struct bounds *b, struct grader *g,
                          const struct check *c, struct result *r)
{
	r->verdict = FAIL;
	r->no_hint = true;
	if (b->first_cut) {
		result_printf(r,
		              "not run: the time budget was spent (see %s)\n",
		              b->first_cut->name);
		return;
	}
	b->first_cut = c;
	result_printf(r,
	              "not run: lab %d's time budget of %d s was spent "
	              "before this check",
	              g->lab->number, b->budget_s);
	if (b->slow[0])
		result_printf(r, " (the slowest: %s %.0f s", b->slow[0]->name,
		              b->slow_s[0]);
	if (b->slow[1])
		result_printf(r, ", %s %.0f s", b->slow[1]->name, b->slow_s[1]);
	result_printf(r,
	              "%s. Checks that use their whole deadline are waiting "
	              "for something that never comes\n",
	              b->slow[0] ? ")" : "");
}

/* The sandbox's folders emptied, so that the checks after this one have
 * room again; the build's too if that was not enough. */
static void make_room(struct grader *g)
{
	static const char *const order[] = {"run", "tmp", "build"};
	char path[PATH_MAX];

	for (int i = 0; i < 3; i++) {
		long long bytes;
		long files;

		watch_usage(&bytes, &files);
		if (bytes <= DISK_BUDGET.bytes / 2 &&
		    files <= DISK_BUDGET.files / 2)
			return;
		path_join(path, g->box, order[i]);
		remove_tree(path);
		sbx_mkdir(path);
	}
}

void bounds_run(struct bounds *b, struct grader *g, const struct check *c,
                struct result *r)
{
	double now = probe_now_ms(), left = b->end_ms - now;
	int deadline_s = bounds_deadline_s(c);
	char why[300];

	if (probe_interrupted()) {
		/* The coverage pass runs checks too: it stops at once. */
		r->verdict = FAIL;
		r->no_hint = true;
		result_printf(r, "not run: the grader was interrupted\n");
		return;
	}
	if (left <= 0) {
		out_of_budget(b, g, c, r);
		return;
	}
	double deadline =
	    now + (deadline_s * 1000.0 < left ? deadline_s * 1000.0 : left);
	probe_set_deadline(deadline);
	watch_arm(deadline);
	r->verdict = c->run(g, c, r);
	probe_set_deadline(0);
	int events = watch_disarm(why, sizeof(why));
	r->seconds = (probe_now_ms() - now) / 1000;
	note_slow(b, c, r->seconds);
	if (events & WATCH_INTERRUPT) {
		r->verdict = FAIL;
		r->no_hint = true;
		result_prepend(r, "stopped: the grader was interrupted\n");
	} else if (events & WATCH_DISK) {
		r->verdict = FAIL;
		r->no_hint = true;
		result_prepend(
		    r,
		    "the disk budget ran out: the sandbox wrote %s. "
		    "Everything it ran was stopped, and what it wrote "
		    "was removed. Tests and servers may write a little "
		    "(in their folder or TMPDIR), never fill the disk\n",
		    why);
		make_room(g);
	} else if ((events & WATCH_DEADLINE) || probe_now_ms() > deadline) {
		r->verdict = c->stage == STAGE_EXPERIMENT ? r->verdict : FAIL;
		r->no_hint = true;
		result_prepend(r, "ran out of time: %s gets %.0f s%s; %s\n",
		               c->name, (deadline - now) / 1000,
		               deadline - now < deadline_s * 1000.0
		                   ? " (what was left of the lab's budget)"
		                   : "",
		               stage_cause[c->stage]);
	}
}
