/* sandbox.h - runs untrusted student code with limits (grader core).
 *
 * Every student program (test binaries, the server, the server under
 * valgrind) is started through sbx_spawn: in its own session and process
 * group, with CPU, memory, process, file-size and descriptor limits, stdout
 * and stderr sent to a log file, no descriptor of the grader's inherited,
 * and -- when the grader runs as root -- under a uid of its own, so that the
 * process limit really binds (RLIMIT_NPROC is ignored for root) and every
 * process it ever forked, even one that called setsid(), can be killed.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdbool.h>
#include <sys/types.h>

struct sbx_limits {
	int cpu_s;     /* CPU seconds, then SIGXCPU/SIGKILL (0: none) */
	long mem_mb;   /* address space (0: none; must be 0 under valgrind) */
	int nproc;     /* extra processes/threads allowed */
	long fsize_mb; /* largest file it may write (also caps its log) */
	int nofile;    /* descriptor limit */
};

struct sbx_proc {
	pid_t pid;
	bool exited;
	int status; /* wait status once exited */
};

/* Once, first: makes the grader the reaper of sandboxed orphans. */
int sbx_init(void);

/* Live processes the sandbox uid still runs (root only; 0 otherwise).
 * After sbx_kill this must be 0: nothing outlives its check. */
int sbx_leftovers(void);

/* The uid the sandbox runs code as (root only; else our own uid). */
uid_t sbx_uid(void);

/* Makes path owned by the sandbox uid so sandboxed code may write there. */
int sbx_give(const char *path);

/* Starts argv[0] (a path) in cwd with env (NULL-terminated "K=V" list added
 * to a minimal environment), output appended to log_path. Returns 0 or a
 * negative errno. */
int sbx_spawn(struct sbx_proc *p, char *const argv[], char *const env[],
              const char *cwd, const char *log_path,
              const struct sbx_limits *lim);

/* Waits up to timeout_ms for the process to exit. Returns 0 when it did
 * (p->status set), -ETIMEDOUT when it is still running. */
int sbx_wait(struct sbx_proc *p, int timeout_ms);

/* Sends sig to the process group. */
void sbx_signal(struct sbx_proc *p, int sig);

/* Kills the process group and everything the sandbox uid still runs, then
 * reaps. Safe to call twice. */
void sbx_kill(struct sbx_proc *p);

/* Runs to completion with a timeout: spawn, wait, kill on timeout.
 * Returns 0 (p->status set), -ETIMEDOUT (killed) or a negative errno. */
int sbx_run(struct sbx_proc *p, char *const argv[], char *const env[],
            const char *cwd, const char *log_path, const struct sbx_limits *lim,
            int timeout_ms);

/* "exited with status 3", "killed by signal 11 (Segmentation fault)". */
const char *sbx_describe(int status, char *buf, size_t cap);

#endif
