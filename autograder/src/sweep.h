/* sweep.h - what the sandbox leaves behind: processes, and (permissions
 * mode) files in shared places and SysV IPC (internal to the sandbox). */
#ifndef SWEEP_H
#define SWEEP_H

#include <sys/types.h>

/* After a run: every process of the sandbox uid killed and reaped; in
 * permissions mode, what it left in shared places removed. */
void sweep_after_run(void);

/* SIGKILL to every process of the sandbox uid (root only). */
void sweep_kill_uid(void);

/* Calls fn(pid, arg) for every process of uid; returns the sum of what
 * fn returned. */
int sweep_each_proc(uid_t uid, int (*fn)(pid_t pid, void *arg), void *arg);

/* Processes of uid that are not zombies. */
int sweep_count_live(uid_t uid);

#endif
