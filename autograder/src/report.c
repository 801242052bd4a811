#include "report.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *stage_names[STAGE_COUNT] = {
    "build", "unit",    "integration", "leaks",
    "races", "latency", "memory",      "experiment",
};

const char *stage_name(enum stage s)
{
	return s < STAGE_COUNT ? stage_names[s] : "?";
}

void result_printf(struct result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (r->len + (size_t)n + 1 > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		while (cap < r->len + (size_t)n + 1)
			cap *= 2;
		char *p = realloc(r->out, cap);
		if (!p)
			return;
		r->out = p;
		r->cap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(r->out + r->len, r->cap - r->len, fmt, ap);
	va_end(ap);
	r->len += (size_t)n;
}

static double earned(const struct check *c, const struct result *r)
{
	return r->verdict == PASS ? c->points : 0;
}

void report_totals(const struct report *rp, double *score, double *max)
{
	*score = *max = 0;
	for (size_t i = 0; i < rp->n; i++) {
		*score += earned(rp->checks[i], &rp->results[i]);
		*max += rp->checks[i]->points;
	}
}

static void print_indented(FILE *out, const char *text, const char *indent)
{
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");
		fprintf(out, "%s%.*s\n", indent, (int)n, p);
		p += n + (p[n] == '\n');
	}
}

void report_text(FILE *out, const struct report *rp, int colour)
{
	const char *green = colour ? "\033[32m" : "",
	           *red = colour ? "\033[31m" : "",
	           *dim = colour ? "\033[2m" : "",
	           *bold = colour ? "\033[1m" : "",
	           *off = colour ? "\033[0m" : "";
	double score, max;
	enum stage shown = STAGE_COUNT;

	fprintf(out, "%sLab %d: %s%s\n", bold, rp->lab->number, rp->lab->title,
	        off);
	if (rp->preamble)
		fprintf(out, "%s%s%s\n", dim, rp->preamble, off);
	for (size_t i = 0; i < rp->n; i++) {
		const struct check *c = rp->checks[i];
		const struct result *r = &rp->results[i];

		if (c->stage != shown) {
			shown = c->stage;
			fprintf(out, "\n%s== %s ==%s\n", bold,
			        stage_name(shown), off);
		}
		if (c->stage == STAGE_EXPERIMENT) {
			fprintf(out, "  %s[info]%s %s\n", dim, off, c->name);
			print_indented(out, r->out, "         ");
			continue;
		}
		const char *mark = r->verdict == PASS   ? "PASS"
		                   : r->verdict == SKIP ? "SKIP"
		                                        : "FAIL";
		fprintf(out, "  %s[%s]%s %-40s %4.0f/%-3d %s(%.1f s)%s\n",
		        r->verdict == PASS ? green : red, mark, off, c->name,
		        earned(c, r), c->points, dim, r->seconds, off);
		if (r->verdict == PASS && r->out &&
		    (c->stage >= STAGE_LEAKS || strstr(r->out, "warning"))) {
			/* Passing measurements are worth seeing too: the
			 * numbers. */
			fputs(dim, out);
			print_indented(out, r->out, "         ");
			fputs(off, out);
		} else if (r->verdict != PASS) {
			print_indented(out, r->out, "         ");
			if (c->hint && r->verdict == FAIL && !r->no_hint)
				fprintf(out, "         %shint:%s %s\n", bold,
				        off, c->hint);
		}
	}
	report_totals(rp, &score, &max);
	fprintf(out, "\n%sScore: %.0f/%.0f%s  (%s, %.1f s)\n", bold, score, max,
	        off,
	        score == max ? "all checks passed"
	                     : "see the FAIL lines above for what to fix",
	        rp->seconds);
}

void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
	     p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* Gradescope's results.json: one "test" per check; hidden checks are shown
 * after the due date; the experiment goes into the top-level output. */
void report_json(FILE *out, const struct report *rp)
{
	double score, max;
	int first = 1;

	report_totals(rp, &score, &max);
	fprintf(out,
	        "{\n  \"score\": %.2f,\n  \"extra_data\": {\"max_score\": "
	        "%.2f},\n  \"execution_time\": %.0f,\n",
	        score, max, rp->seconds);
	fprintf(out, "  \"output\": ");
	{
		char buf[4096] = "";
		size_t o = 0;
		for (size_t i = 0; i < rp->n; i++)
			if (rp->checks[i]->stage == STAGE_EXPERIMENT &&
			    o < sizeof(buf))
				o += (size_t)snprintf(
				    buf + o, sizeof(buf) - o, "%s:\n%s\n",
				    rp->checks[i]->name,
				    rp->results[i].out ? rp->results[i].out
				                       : "");
		json_string(out, buf);
	}
	fprintf(out, ",\n  \"output_format\": \"text\",\n  "
	             "\"test_output_format\": \"text\",\n"
	             "  \"stdout_visibility\": \"hidden\",\n  \"visibility\": "
	             "\"visible\",\n  \"tests\": [");
	for (size_t i = 0; i < rp->n; i++) {
		const struct check *c = rp->checks[i];
		const struct result *r = &rp->results[i];
		char text[8192];

		if (c->stage == STAGE_EXPERIMENT)
			continue;
		snprintf(text, sizeof(text), "%s%s%s", r->out ? r->out : "",
		         r->verdict == FAIL && c->hint && !r->no_hint ? "hint: "
		                                                      : "",
		         r->verdict == FAIL && c->hint && !r->no_hint ? c->hint
		                                                      : "");
		fprintf(out, "%s\n    {\"number\": \"%zu\", \"name\": ",
		        first ? "" : ",", i + 1);
		json_string(out, c->name);
		fprintf(
		    out,
		    ", \"score\": %.2f, \"max_score\": %d, \"status\": \"%s\", "
		    "\"visibility\": \"%s\", \"tags\": [\"%s\"], \"output\": ",
		    earned(c, r), c->points,
		    r->verdict == PASS ? "passed" : "failed",
		    c->hidden ? "after_due_date" : "visible",
		    stage_name(c->stage));
		json_string(out, text);
		fputc('}', out);
		first = 0;
	}
	fprintf(out, "\n  ]\n}\n");
}

void report_tsv(FILE *out, const struct report *rp)
{
	for (size_t i = 0; i < rp->n; i++) {
		const struct result *r = &rp->results[i];
		fprintf(out, "%s\t%s\t%.0f\t%d\n", rp->checks[i]->name,
		        r->verdict == PASS   ? "passed"
		        : r->verdict == SKIP ? "skipped"
		                             : "failed",
		        earned(rp->checks[i], r), rp->checks[i]->points);
	}
}
