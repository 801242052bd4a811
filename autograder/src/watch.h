/* watch.h - the driver's watchdog (grader core): a thread that holds each
 * check to its deadline and each grading to its disk budget, whatever the
 * submission does.
 *
 * A check's own loops already give up (probe.h's waits end at the
 * deadline); the watchdog makes sure of it from outside: when the deadline
 * passes, or the sandbox has written more than the budget allows, every
 * sandboxed process is killed at once, so nothing is left to wait for.
 * An interruption (probe_interrupt: SIGINT, SIGTERM) is a deadline that
 * has come: the running check ends the same way, within a tick.
 */
#ifndef WATCH_H
#define WATCH_H

#include <stddef.h>

struct watch_budget {
	long long bytes; /* disk space the sandbox may fill in a grading */
	long files;      /* files and folders it may make */
};

enum watch_event {
	WATCH_NONE = 0,
	WATCH_DEADLINE = 1,  /* the check ran past its deadline */
	WATCH_DISK = 2,      /* the sandbox wrote past the budget */
	WATCH_INTERRUPT = 4, /* the grader was told to stop (probe_interrupt) */
};

/* Starts watching a grading: dirs (NULL-ended) are the folders the
 * sandbox may write to. Returns 0 or a negative errno. */
int watch_start(const char *const dirs[], const struct watch_budget *b);

void watch_stop(void);

/* The running check's deadline (probe_now_ms's clock); 0 disarms. */
void watch_arm(double deadline_ms);

/* Disarms, and says what happened since watch_arm (events or'ed); for a
 * disk event, what was found in why. */
int watch_disarm(char *why, size_t cap);

/* What the sandbox's folders hold now. */
void watch_usage(long long *bytes, long *files);

#endif
