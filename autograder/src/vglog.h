/* vglog.h - reading a valgrind log that the program under test could write
 * into (grader core, for the leak and races stages).
 *
 * valgrind's log reaches the grader through a pipe (--log-fd=3): the
 * program cannot erase or replace what valgrind wrote, but it can add to
 * it, since descriptor 3 is open in it too. So the log is checked before
 * it is believed: every line must carry valgrind's "==PID==" prefix, there
 * must be one banner and at most one of each summary line, and the summary
 * must agree with valgrind's exit status (--error-exitcode=99). Only
 * valgrind's own lines are ever quoted.
 */
#ifndef VGLOG_H
#define VGLOG_H

#include <stddef.h>

#include "grader.h"

enum { VG_ERROR_EXIT = 99 }; /* --error-exitcode */

struct vglog {
	char *text;       /* the log (capped), NULL when there was none */
	int pid;          /* from valgrind's first line */
	long errors;      /* from "ERROR SUMMARY: N errors", -1 if absent */
	char tamper[300]; /* why it cannot be believed, "" when it can */
};

/* Reads path and checks it against wait_status (valgrind's, <0: unknown).
 * Returns 0, or -1 when there is no log at all. */
int vglog_read(struct vglog *l, const char *path, int wait_status);

void vglog_free(struct vglog *l);

/* The number after key on valgrind's own line: "definitely lost: 1,234
 * bytes" -> 1234. 0 when absent. */
long vglog_number(const struct vglog *l, const char *key);

/* valgrind's lines holding needle (the count). */
int vglog_count(const struct vglog *l, const char *needle);

/* What a memcheck log counts: bytes definitely and indirectly lost,
 * memory errors (invalid accesses, uninitialised values, overlaps), and
 * descriptors open at exit that the program opened (valgrind.c). */
void vglog_tally(const struct vglog *l, long *definite, long *indirect,
                 int *invalid, int *fds);

/* Quotes up to max_lines of valgrind's own lines, starting at the first
 * that holds one of needles, under the heading "<who> says:". */
void vglog_quote(struct result *r, const struct vglog *l,
                 const char *const needles[], size_t n, int max_lines,
                 const char *who);

#endif
