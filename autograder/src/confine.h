/* confine.h - what student code can see and where it can leave things:
 * bubblewrap's view, the course closed by permissions, and the clean-up of
 * shared places (internal to the sandbox: sandbox.c is its only user). */
#ifndef CONFINE_H
#define CONFINE_H

#include <stddef.h>
#include <sys/types.h>

#include "sandbox.h"

int confine_init(enum sbx_mode want);
enum sbx_mode confine_mode(void);

/* "TMPDIR=<box>/tmp" (a static string). */
const char *confine_tmpdir_env(void);

/* The argv to exec for s: bubblewrap and setpriv around s->argv in
 * namespaces mode, s->argv itself otherwise. info_at: the descriptor for
 * bubblewrap's --info-fd. Returns 0, or -E2BIG when cap is too small. */
int confine_argv(char **argv, size_t cap, const struct sbx_spec *s,
                 int info_at);

/* The program's pid, from bubblewrap's info (read from info_fd): the child
 * of the namespace's init. Falls back to monitor. */
pid_t confine_find_program(int info_fd, pid_t monitor);

/* bubblewrap reports a program killed by signal N as exit status 128+N:
 * turned back into a wait status, so reports can name the signal. */
int confine_status(int status);

#endif
