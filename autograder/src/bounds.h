/* bounds.h - every check within its deadline, every grading within its
 * time and disk budget, whatever the submission does (grader core).
 *
 * A check gets its stage's deadline, cut to what is left of
 * the lab's time budget; when the budget is spent, the remaining checks
 * fail without running. Past a deadline, or past the disk budget, the
 * watchdog (watch.h) kills the sandbox and the check fails saying why.
 */
#ifndef BOUNDS_H
#define BOUNDS_H

#include "grader.h"
#include "watch.h"

enum {
	BUDGET_S_DEFAULT = 300, /* a lab's time budget, in seconds */
	TEARDOWN_S = 3,         /* of it, kept for the report and clean-up */
};

/* Disk the sandbox may fill per grading: far above what a build and its
 * tests need (about 5 MiB and 150 files), far below harm. */
#define DISK_BUDGET ((struct watch_budget){.bytes = 256LL << 20, .files = 4000})

struct bounds {
	double start_ms, end_ms; /* the budget, on probe_now_ms's clock */
	int budget_s;
	const char *dirs[4]; /* where the sandbox writes */
	char dir_buf[3][PATH_MAX];
	const struct check *first_cut; /* the first check not run */
	/* The two checks that took longest, for the budget's message. */
	const struct check *slow[2];
	double slow_s[2];
};

/* Starts the watchdog; the budget counts from start_ms (when the grading
 * began, on probe_now_ms's clock). Returns 0 or a negative errno. */
int bounds_begin(struct bounds *b, struct grader *g, double start_ms,
                 int budget_s, const struct watch_budget *disk);

/* Runs one check within its bounds; r says what happened. */
void bounds_run(struct bounds *b, struct grader *g, const struct check *c,
                struct result *r);

void bounds_end(struct bounds *b);

/* The deadline a check gets (seconds, by its stage), before the budget
 * cuts it. */
int bounds_deadline_s(const struct check *c);

#endif
