#include "report.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *stage_names[STAGE_COUNT] = {
    "build",  "unit",       "integration", "leaks",  "races", "latency",
    "memory", "experiment", "interop",     "safety", "quiz",
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

void result_prepend(struct result *r, const char *fmt, ...)
{
	struct result head = {0};
	va_list ap;
	char *text;

	va_start(ap, fmt);
	if (vasprintf(&text, fmt, ap) < 0)
		text = NULL;
	va_end(ap);
	if (!text)
		return;
	result_printf(&head, "%s%s", text, r->out ? r->out : "");
	free(text);
	free(r->out);
	r->out = head.out;
	r->len = head.len;
	r->cap = head.cap;
}

double report_earned(const struct check *c, const struct result *r)
{
	return r->verdict == PASS ? c->points : 0;
}

const char *report_hint(const struct check *c, const struct result *r)
{
	return r->verdict == FAIL && !r->no_hint ? c->hint : NULL;
}

void report_totals(const struct report *rp, double *score, double *max)
{
	*score = *max = 0;
	for (size_t i = 0; i < rp->n; i++) {
		*score += report_earned(rp->checks[i], &rp->results[i]);
		*max += rp->checks[i]->points;
	}
}

/*
 * Text from a student's program (its output, compiler messages about its
 * source, unit test messages) is shown to people: on a terminal, which acts
 * on control characters (ESC[8m hides the rest of the report, '\r' and
 * backspace overwrite it), and on Gradescope, which rejects a results.json
 * that is not valid UTF-8. So what a terminal acts on or what misleads a
 * reader is shown the way C writes it ("\x1b", "\u202e"), and so is each
 * byte that is not valid UTF-8: the student sees which bytes they sent.
 * The same text goes into JUnit XML and TAP's YAML (report_ci.c), which
 * refuse a few more characters: those are shown escaped too.
 */

/* The longest escape, NUL included: "\u202e". */
#define VISIBLE_ESC_MAX 8

/* The code point of the UTF-8 sequence at s (n > 0 bytes available) and its
 * length, or 0 when s does not start one. RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	static const struct {
		unsigned char mask, lead;
		size_t len;
		uint32_t min; /* smaller is overlong */
	} forms[] = {
	    {0x80, 0x00, 1, 0},
	    {0xe0, 0xc0, 2, 0x80},
	    {0xf0, 0xe0, 3, 0x800},
	    {0xf8, 0xf0, 4, 0x10000},
	};

	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		if ((s[0] & forms[f].mask) != forms[f].lead)
			continue;
		if (forms[f].len > n)
			return 0;
		*cp = s[0] & (unsigned char)~forms[f].mask;
		for (size_t i = 1; i < forms[f].len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			*cp = *cp << 6 | (s[i] & 0x3f);
		}
		if (*cp < forms[f].min || (*cp >= 0xd800 && *cp <= 0xdfff) ||
		    *cp > 0x10ffff)
			return 0;
		return forms[f].len;
	}
	return 0; /* a continuation byte, or 0xf8-0xff */
}

/* What a terminal acts on: C0 controls but the line breaks and tabs that
 * lay text out, DEL and C1 controls (U+009B is a one-byte ESC[); and the
 * bidirectional overrides and isolates, which make text read in another
 * order than it is ("Trojan Source"). */
static bool acts_on_reader(uint32_t cp)
{
	return (cp < 0x20 && cp != '\n' && cp != '\t') ||
	       (cp >= 0x7f && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

/* What a report's file format refuses or reads as something else: U+FFFE
 * and U+FFFF are not characters to XML and YAML, and U+2028 and U+2029
 * break lines in YAML 1.1 (inside a TAP diagnostic block). */
static bool breaks_format(uint32_t cp)
{
	return cp == 0xfffe || cp == 0xffff || cp == 0x2028 || cp == 0x2029;
}

/* One byte the way C writes it: "\r", "\b", else "\x1b". */
static void byte_escape(char esc[VISIBLE_ESC_MAX], unsigned char b)
{
	static const char named[0x20] = {
	    ['\a'] = 'a', ['\b'] = 'b', ['\v'] = 'v',
	    ['\f'] = 'f', ['\r'] = 'r',
	};

	if (b < 0x20 && named[b])
		snprintf(esc, VISIBLE_ESC_MAX, "\\%c", named[b]);
	else
		snprintf(esc, VISIBLE_ESC_MAX, "\\x%02x", b);
}

/* How many bytes at the start of s (n > 0) make one character, or one
 * invalid byte, and in esc what to show instead of them, or "" when they are
 * shown as they are. */
static size_t visible_next(const char *s, size_t n, char esc[VISIBLE_ESC_MAX])
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t cp;
	size_t len = utf8_decode(u, n, &cp);

	esc[0] = '\0';
	if (len == 0) {
		/* Byte by byte: the next byte may start a valid sequence. */
		byte_escape(esc, u[0]);
		return 1;
	}
	if (acts_on_reader(cp) || breaks_format(cp)) {
		if (cp < 0x80)
			byte_escape(esc, (unsigned char)cp);
		else
			snprintf(esc, VISIBLE_ESC_MAX, "\\u%04x", (unsigned)cp);
	}
	return len;
}

/* Runs of text that need no escape go out in one call, never cut inside a
 * character. */
void fput_visible_with(FILE *out, const char *s, size_t n, visible_put_fn *put)
{
	const char *run = s;

	while (n > 0) {
		char esc[VISIBLE_ESC_MAX];
		size_t len = visible_next(s, n, esc);

		if (esc[0]) {
			put(out, run, (size_t)(s - run));
			put(out, esc, strlen(esc));
			run = s + len;
		}
		s += len;
		n -= len;
	}
	put(out, run, (size_t)(s - run));
}

static void put_raw(FILE *out, const char *s, size_t n)
{
	fwrite(s, 1, n, out);
}

void fput_visible(FILE *out, const char *s, size_t n)
{
	fput_visible_with(out, s, n, put_raw);
}

static void print_indented(FILE *out, const char *text, const char *indent)
{
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");

		fputs(indent, out);
		fput_visible(out, p, n);
		fputc('\n', out);
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
	if (rp->preamble) {
		/* It names the submission's path, whose name the student
		 * (or an upload) may have chosen. */
		fputs(dim, out);
		fput_visible(out, rp->preamble, strlen(rp->preamble));
		fprintf(out, "%s\n", off);
	}
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
		        report_earned(c, r), c->points, dim, r->seconds, off);
		if (r->verdict == PASS && r->out &&
		    (c->stage >= STAGE_LEAKS || strstr(r->out, "warning"))) {
			/* Passing measurements are worth seeing too: the
			 * numbers. */
			fputs(dim, out);
			print_indented(out, r->out, "         ");
			fputs(off, out);
		} else if (r->verdict != PASS) {
			print_indented(out, r->out, "         ");
			if (report_hint(c, r))
				fprintf(out, "         %shint:%s %s\n", bold,
				        off, c->hint);
		}
	}
	if (rp->coverage) {
		fprintf(out, "\n%s== coverage (not scored) ==%s\n", bold, off);
		print_indented(out, rp->coverage, "  ");
	}
	report_totals(rp, &score, &max);
	fprintf(out, "\n%sScore: %.0f/%.0f%s  (%s, %.1f s)\n", bold, score, max,
	        off, report_verdict(rp, score, max, "the FAIL lines above"),
	        rp->seconds);
}

const char *report_verdict(const struct report *rp, double score, double max,
                           const char *where)
{
	static char text[160];
	size_t failed = 0;

	for (size_t i = 0; i < rp->n; i++)
		failed += rp->results[i].verdict != PASS;
	if (failed == 0)
		return "all checks passed";
	/* A check worth nothing can fail with full marks: say so, or the
	 * summary contradicts the FAIL line above it. */
	if (score == max)
		snprintf(text, sizeof(text),
		         "full marks; %zu check(s) worth no points failed: see %s",
		         failed, where);
	else
		snprintf(text, sizeof(text), "see %s for what to fix", where);
	return text;
}

/* After put_visible, these are the only characters JSON must escape: the
 * other controls have become escapes such as "\x1b" (which this makes
 * "\\x1b" in the JSON source, so that the student is shown "\x1b"). */
static void put_json(FILE *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		default:
			fputc(s[i], out);
		}
	}
}

void json_string(FILE *out, const char *s)
{
	s = s ? s : "";
	fputc('"', out);
	fput_visible_with(out, s, strlen(s), put_json);
	fputc('"', out);
}

/* The top-level "output": the experiment's numbers, then the coverage
 * section (both unscored). */
static void json_output(FILE *out, const struct report *rp)
{
	char buf[4096] = "", *text = NULL;
	size_t o = 0;

	for (size_t i = 0; i < rp->n; i++)
		if (rp->checks[i]->stage == STAGE_EXPERIMENT && o < sizeof(buf))
			o += (size_t)snprintf(
			    buf + o, sizeof(buf) - o, "%s:\n%s\n",
			    rp->checks[i]->name,
			    rp->results[i].out ? rp->results[i].out : "");
	if (rp->coverage && asprintf(&text, "%scoverage (not scored):\n%s", buf,
	                             rp->coverage) < 0)
		text = NULL;
	json_string(out, text ? text : buf);
	free(text);
}

/* Gradescope's results.json: one "test" per check; hidden checks are shown
 * once the instructor publishes the grades ("after_published"), not at the
 * due date, when late submissions may still come; the experiment goes into
 * the top-level output. */
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
	json_output(out, rp);
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
		         report_hint(c, r) ? "hint: " : "",
		         report_hint(c, r) ? c->hint : "");
		fprintf(out, "%s\n    {\"number\": \"%zu\", \"name\": ",
		        first ? "" : ",", i + 1);
		json_string(out, c->name);
		fprintf(
		    out,
		    ", \"score\": %.2f, \"max_score\": %d, \"status\": \"%s\", "
		    "\"visibility\": \"%s\", \"tags\": [\"%s\"], \"output\": ",
		    report_earned(c, r), c->points,
		    r->verdict == PASS ? "passed" : "failed",
		    c->hidden ? "after_published" : "visible",
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
		        report_earned(rp->checks[i], r), rp->checks[i]->points);
	}
}
