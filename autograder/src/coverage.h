/* coverage.h - the coverage pass (grader core, off by default): which lines
 * and branches of the lab's edited files the grading ran.
 *
 * With --coverage, after the scored checks, the lab is built again with
 * gcov's counters (mk/build.mk COVERAGE=1), the checks that ran are run
 * again on that build with their verdicts thrown away, and gcovr, in the
 * sandbox, reads the counters the sandboxed programs wrote. The result is
 * a section of the report that scores nothing (what never ran, with its
 * source text), gcovr's HTML pages and a text file in a folder outside the
 * scratch copy. A line no check reaches is a rule without a check, or dead
 * code: the instructor's list of checks to write.
 */
#ifndef COVERAGE_H
#define COVERAGE_H

#include <stdbool.h>
#include <stdio.h>

#include "bounds.h"
#include "grader.h"

/* One file of gcovr's CSV summary. */
struct cov_file {
	char name[256]; /* "labs/01-blocking-server/http.c" */
	long lines, lines_run;
	long branches, branches_taken;
	char *src; /* its text, when known (for quoting lines), or NULL */
};

/* A line that never ran, or ran without taking each of its branches. */
struct cov_line {
	size_t file; /* index into files[] */
	long seq;    /* its place among the file's lines of code */
	long number;
	bool run;
	int branches, taken;
};

struct coverage {
	struct cov_file *files;
	size_t nfiles;
	struct cov_line *lines; /* in the order gcovr listed them */
	size_t nlines;
};

/* gcovr's --csv summary (untrusted: written in the sandbox) adds a file
 * per row. Returns the number of files read, or -EINVAL when the header
 * lacks the columns needed. */
int coverage_parse_csv(struct coverage *cv, const char *csv);

/* gcovr's --sonarqube report (untrusted) adds the lines that never ran or
 * left a branch untaken, of the files already read from the CSV. Returns
 * how many were added, or -EINVAL when it is not such a report. */
int coverage_parse_sonarqube(struct coverage *cv, const char *xml);

/* The summary table, then "FILE:LINE: what: source" for the lines that
 * never ran and then for those that left a branch untaken: every line
 * (max_items 0), or at most max_items, runs of never-run lines as one. */
void coverage_format(struct result *out, const struct coverage *cv,
                     size_t max_items);

void coverage_free(struct coverage *cv);

/* The pass, after the scored checks and before bounds_end: it re-runs the
 * n checks in run[] (not the build, not the experiment) within what is
 * left of b's budget, and fills section with the report's text. dest is
 * the folder for the HTML and coverage.txt (made, or emptied, here); label
 * says what was graded. Never changes a score. */
void coverage_pass(struct grader *g, const struct bounds *b,
                   const struct check *const *run, size_t n, const char *dest,
                   const char *label, struct result *section);

/* build.c: the files a student edits in lab k, as its lab.mk lists them
 * ("http.c io.c server.c"). 0 or a negative errno. */
int lab_edited(const char *repo, int k, char *buf, size_t cap);

/* build.c: lab N built again into box/build/labN-coverage with
 * COVERAGE=1 and COVERAGE_FLUSH=flush (a file in the box). */
enum verdict build_coverage(struct grader *g, const char *flush,
                            struct result *r);

#endif
