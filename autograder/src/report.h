/* report.h - the terminal report, Gradescope's results.json, a TSV line
 * per check for scripts, and JUnit XML and TAP for CI systems (grader
 * core). */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "grader.h"

struct report {
	const struct lab *lab;
	const struct check **checks; /* the checks that were run, in order */
	struct result *results;
	size_t n;
	double seconds;
	const char *preamble; /* shown first (e.g. what was graded) */
	/* The coverage pass's section (coverage.h), or NULL: shown after
	 * the checks, scored nothing; it quotes a student's source. */
	const char *coverage;
};

/* Points earned and available (skipped checks count as available). */
void report_totals(const struct report *rp, double *score, double *max);
/* The words after a score: "all checks passed", or where to look (where:
 * "the FAIL lines above"), also when a check worth nothing failed with
 * full marks. A static buffer. */
const char *report_verdict(const struct report *rp, double score, double max,
                           const char *where);

/* The points one check earned. */
double report_earned(const struct check *c, const struct result *r);

/* The check's hint when a report shows it (the check failed and the hint
 * would not mislead), else NULL. */
const char *report_hint(const struct check *c, const struct result *r);

void report_text(FILE *out, const struct report *rp, int colour);
void report_json(FILE *out, const struct report *rp);
void report_tsv(FILE *out, const struct report *rp);

/* JUnit XML and TAP version 13 (report_ci.c). One document may hold several
 * labs (--all): it is begun once, each lab is added, it is ended once. */
void junit_begin(FILE *out);
/* One <testsuite> for the lab, one <testcase> per check. */
void report_junit(FILE *out, const struct report *rp);
void junit_end(FILE *out);

/* planned: the test points the document will hold, every lab's. */
void tap_begin(FILE *out, size_t planned);
/* Test points numbered after *number (the last one written so far), which
 * is advanced: numbers run on across labs. */
void report_tap(FILE *out, const struct report *rp, size_t *number);
/* The grading stopped before its plan was done; why: one line. */
void tap_bail_out(FILE *out, const char *why);

/* Writes s as a JSON string literal (quotes included), escaped as
 * fput_visible does and then for JSON, so that the file is valid UTF-8
 * whatever bytes s holds. */
void json_string(FILE *out, const char *s);

/* Writes n bytes of text a student's program wrote, made safe to show
 * (report.c says why): valid UTF-8 as it is, except the controls a terminal
 * acts on (C0 but '\n' and '\t', DEL, C1), the bidirectional overrides
 * and isolates, and what XML 1.0 or YAML refuse or read as a line break
 * (U+FFFE, U+FFFF, U+2028, U+2029), shown as C writes them ("\r", "\x1b",
 * "\u202e"); and each byte that is not valid UTF-8 as "\xff". */
void fput_visible(FILE *out, const char *s, size_t n);

/* Where fput_visible_with sends the text it made safe: the writer that
 * escapes it for a file format (JSON, XML). */
typedef void visible_put_fn(FILE *out, const char *s, size_t n);

/* fput_visible, with the safe text passed through put instead of written
 * as it is. */
void fput_visible_with(FILE *out, const char *s, size_t n, visible_put_fn *put);

#endif
