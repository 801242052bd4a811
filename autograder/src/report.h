/* report.h - the terminal report, Gradescope's results.json and a TSV line
 * per check for scripts (grader core). */
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

void report_text(FILE *out, const struct report *rp, int colour);
void report_json(FILE *out, const struct report *rp);
void report_tsv(FILE *out, const struct report *rp);

/* Writes s as a JSON string literal (quotes included), escaped as
 * fput_visible does and then for JSON, so that the file is valid UTF-8
 * whatever bytes s holds. */
void json_string(FILE *out, const char *s);

/* Writes n bytes of text a student's program wrote, made safe to show
 * (report.c says why): valid UTF-8 as it is, except the controls a terminal
 * acts on (C0 but '\n' and '\t', DEL, C1) and the bidirectional overrides
 * and isolates, shown as C writes them ("\r", "\x1b", "\u202e"); and each
 * byte that is not valid UTF-8 as "\xff". */
void fput_visible(FILE *out, const char *s, size_t n);

#endif
