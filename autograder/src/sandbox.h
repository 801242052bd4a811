/* sandbox.h - runs untrusted student code with limits (grader core).
 *
 * Every student program (the compiler over the submission, test programs,
 * the server, the server under valgrind or helgrind) is started through
 * sbx_spawn: in its own session, with CPU, memory, process, file-size and
 * descriptor limits, a minimal environment, no descriptor of the grader's
 * inherited, and, in the strongest mode the machine allows:
 *
 *   namespaces   bubblewrap: a read-only view of the system (/usr, /etc),
 *                the box (the scratch copy) and nothing else of the disk;
 *                private, size-limited /tmp and /dev/shm; its own pid, ipc
 *                and (but for servers) network namespaces. As root, also a
 *                uid of its own.
 *   permissions  root where namespaces cannot be made (a container's
 *                seccomp profile): a uid of its own, the course tree closed
 *                to it (chmod o-rwx), TMPDIR in the box, and whatever that
 *                uid leaves in /tmp, /var/tmp, /dev/shm or SysV IPC removed
 *                after each run.
 *   plain        an ordinary user without namespaces: the limits and the
 *                process group only (good for grading your own code).
 *
 * A uid of its own makes RLIMIT_NPROC bind (Linux ignores it for root) and
 * lets every process of the sandbox be found and killed, even one that
 * left its process group.
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

enum sbx_mode { SBX_AUTO, SBX_NAMESPACES, SBX_PERMISSIONS, SBX_PLAIN };

struct sbx_limits {
	int cpu_s;     /* CPU seconds, then SIGXCPU/SIGKILL (0: none) */
	long mem_mb;   /* address space (0: none; must be 0 under valgrind) */
	int nproc;     /* extra processes/threads allowed */
	long fsize_mb; /* largest file it may write (also caps its log) */
	int nofile;    /* descriptor limit */
	bool net;      /* shares the grader's loopback (servers); else none */
};

struct sbx_spec {
	char *const *argv;   /* argv[0] is an absolute path */
	char *const *env;    /* "K=V" added to the minimal environment */
	const char *cwd;     /* a folder inside the box */
	const char *log;     /* stdout and stderr: a new file, in a folder
	                        of the grader's that the sandbox cannot reach */
	const char *fd3_log; /* if set, fd 3 is a pipe copied into this new
	                        file (valgrind's --log-fd=3): the program can
	                        add to it but never erase or replace it */
	const struct sbx_limits *lim;
	const char *in;  /* if set, standard input reads this file (else
	                    /dev/null); opened by the grader */
	const char *out; /* if set, standard output is this new file (and
	                    only stderr goes to log); created by the grader */
};

struct sbx_proc {
	pid_t pid;   /* the process the grader forked (bwrap, or the program) */
	pid_t prog;  /* the program itself, as the grader sees it */
	pid_t drain; /* the copier of fd 3, or 0 */
	bool exited;
	int status; /* wait status of the program once exited */
};

/* Once, first: picks the mode (SBX_AUTO: the strongest available) and
 * makes the grader the reaper of sandboxed orphans. Returns 0, or -ENOTSUP
 * when the wanted mode is not available (sbx_mode_text says why). */
int sbx_init(enum sbx_mode want);

enum sbx_mode sbx_mode(void);

/* One line for the report's header: the mode and what it guarantees. */
const char *sbx_mode_text(void);

/* Per grading: the folder student code sees (at the same path) and may
 * write where it owns files; it gets box/tmp as its TMPDIR. course is the
 * tree it must not read: hidden from view, or closed by permissions.
 * Returns 0 or a negative errno (with why, a sentence, in buf). */
int sbx_set_box(const char *box, const char *course, char *why, size_t cap);

/* A folder every sandboxed program may read and write, besides the box:
 * the self-test's compile cache (grade --compile-cache), shared by gradings
 * of the course's own code. Never for submissions of different authors:
 * one could plant objects that another's build then links. Absolute path;
 * 0 or -EINVAL. */
int sbx_share(const char *dir);

/* The uid student code runs as (root: one per grader; else our own). */
uid_t sbx_uid(void);

/* Makes a new folder owned by the sandbox uid (0700 for others). */
int sbx_mkdir(const char *path);

int sbx_spawn(struct sbx_proc *p, const struct sbx_spec *s);

/* Waits up to timeout_ms for the program to exit. Returns 0 when it did
 * (p->status set), -ETIMEDOUT when it is still running. */
int sbx_wait(struct sbx_proc *p, int timeout_ms);

/* Sends sig to the program alone (valgrind must see its own SIGTERM). */
void sbx_signal(struct sbx_proc *p, int sig);

/* Kills the program and everything the sandbox runs, then reaps, and
 * (permissions mode) removes what the uid left in shared places. */
void sbx_kill(struct sbx_proc *p);

/* From any thread: SIGKILL to every sandboxed process now running. The
 * threads that started them still reap them. */
void sbx_kill_all(void);

/* spawn, wait up to timeout_ms, kill. Returns 0 (p->status set),
 * -ETIMEDOUT (it was killed) or a negative errno. */
int sbx_run(struct sbx_proc *p, const struct sbx_spec *s, int timeout_ms);

/* What the sandbox uid has written in shared places (/tmp, /var/tmp,
 * /dev/shm...): permissions mode only, where they are the machine's. */
void sbx_shared_usage(long long *bytes, long *files);

/* Live processes the sandbox uid still runs (0 when it has none of its
 * own). After sbx_kill this must be 0: nothing outlives its check. */
int sbx_leftovers(void);

/* "exited with status 3", "was killed by signal 11 (Segmentation fault)". */
const char *sbx_describe(int status, char *buf, size_t cap);

#endif
