/* target.h - the student's server, started and watched from outside
 * (grader core, shared by every lab's integration, leak and latency checks). */
#ifndef TARGET_H
#define TARGET_H

#include <stdbool.h>

#include "grader.h"

struct target {
	struct sbx_proc proc;
	int port;
	bool valgrind;
	char log[PATH_MAX];    /* the server's stdout and stderr */
	char vg_log[PATH_MAX]; /* valgrind's report */
};

struct target_opts {
	bool valgrind;
	int nofile;              /* descriptor limit (0: LIMITS_SERVER's) */
	int fsize_mb;            /* file size limit (0: LIMITS_SERVER's) */
	const char *tag;         /* names the log files */
	const char *const *args; /* more arguments for the server, NULL-ended */
	const char *const *env;  /* "K=V" for its environment, NULL-ended */
};

/* Starts bin/server --port 0 --root www and waits (5 s, 30 s under
 * valgrind) for its "listening on http://127.0.0.1:PORT" line. On failure
 * explains in r what happened and returns -1. */
int target_start(struct grader *g, struct target *t,
                 const struct target_opts *o, struct result *r);

/* Starts a fresh server for check c, its logs named after the check, with
 * o's limit, arguments and environment (NULL: none); true when it listens.
 * A fresh server per check: a crash in one never costs the next. */
bool target_serve(struct grader *g, const struct check *c, struct target *t,
                  const struct target_opts *o, struct result *r);

/* True while the server process is running. */
bool target_alive(struct target *t);

/* When the server has died, says how (and what that usually means) in r.
 * Returns true if it had died. */
bool target_explain_death(struct target *t, struct result *r);

/* SIGTERM, then wait up to timeout_ms. Returns 0 when it exited by itself
 * (t->proc.status set), -ETIMEDOUT when it had to be killed. */
int target_stop(struct target *t, int timeout_ms);

/* The same, but a server still running after a second gets a connection
 * (opened and closed) each second: a blocking server (lab 1) whose
 * accept() began just after the signal arrived waits for one, and the
 * leak stage is about what it frees, not about that window. */
int target_stop_nudged(struct target *t, int timeout_ms);
/* Kills it (if still running) and everything it started. */
void target_kill(struct target *t);

/* CPU time (user + system) the server has used so far, in ms; -1 on error. */
double target_cpu_ms(struct target *t);

/* The server's resident memory (VmRSS) in KiB; -1 on error. */
long target_rss_kb(struct target *t);
/* Its threads (the main one included); -1 on error. */
int target_threads(struct target *t);

/* The server's peak resident memory (VmHWM), in KiB; -1 if unknown. */
long target_peak_rss_kb(struct target *t);

/* How many descriptors the server has open now; -1 if unknown. */
int target_fds(struct target *t);

/* The last lines of the server's output, for a failure message. */
void target_tail(struct target *t, struct result *r, int lines);

#endif
