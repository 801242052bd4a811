/* report_ci.c - JUnit XML and TAP version 13: the reports CI systems read
 * (GitHub Actions' test reporters, GitLab's artifacts:reports:junit, any TAP
 * harness). Every text a student's program wrote goes through fput_visible
 * first, so that the file is well-formed whatever bytes it holds. */
#include "report.h"

#include <stdbool.h>
#include <string.h>

/* What a message attribute or a SKIP reason quotes of a check's output. */
enum { FIRST_LINE_MAX = 300 };

static void put_xml(FILE *out, const char *s, size_t n, bool attr)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '<':
			fputs("&lt;", out);
			break;
		case '>': /* "]]>" may not appear in text */
			fputs("&gt;", out);
			break;
		case '&':
			fputs("&amp;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&apos;", out);
			break;
		/* An attribute's line breaks and tabs would be read as
		 * spaces (XML's attribute-value normalisation). */
		case '\n':
			fputs(attr ? "&#10;" : "\n", out);
			break;
		case '\t':
			fputs(attr ? "&#9;" : "\t", out);
			break;
		default:
			fputc(s[i], out);
		}
	}
}

static void put_xml_text(FILE *out, const char *s, size_t n)
{
	put_xml(out, s, n, false);
}

static void put_xml_attr(FILE *out, const char *s, size_t n)
{
	put_xml(out, s, n, true);
}

static void xml_text(FILE *out, const char *s)
{
	s = s ? s : "";
	fput_visible_with(out, s, strlen(s), put_xml_text);
}

static void xml_attr(FILE *out, const char *s, size_t n)
{
	fput_visible_with(out, s, n, put_xml_attr);
}

/* The first line of s, at most FIRST_LINE_MAX bytes, cut between
 * characters; its length. */
static size_t first_line(const char *s)
{
	size_t n = s ? strcspn(s, "\n") : 0;

	if (n <= FIRST_LINE_MAX)
		return n;
	n = FIRST_LINE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void junit_begin(FILE *out)
{
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	      "<testsuites name=\"autograder\">\n",
	      out);
}

void junit_end(FILE *out)
{
	fputs("</testsuites>\n", out);
}

/* A failure's text is the check's output and its hint, as in the text
 * report; a skipped or passing check's output is its <system-out>. */
static void junit_case(FILE *out, const struct check *c, const struct result *r)
{
	const char *out_text = r->out ? r->out : "";
	const char *hint = report_hint(c, r);

	fprintf(out, "    <testcase classname=\"%s\" name=\"",
	        stage_name(c->stage));
	xml_attr(out, c->name, strlen(c->name));
	fprintf(out, "\" time=\"%.3f\">\n", r->seconds);
	/* The experiment scores nothing: a passing case that shows its
	 * numbers, whatever its verdict. */
	if (r->verdict == FAIL && c->stage != STAGE_EXPERIMENT) {
		fputs("      <failure message=\"", out);
		if (first_line(out_text) > 0)
			xml_attr(out, out_text, first_line(out_text));
		else
			fputs("failed", out);
		fputs("\">", out);
		xml_text(out, out_text);
		if (hint) {
			fputs("hint: ", out);
			xml_text(out, hint);
		}
		fputs("</failure>\n", out);
	} else {
		if (r->verdict == SKIP && c->stage != STAGE_EXPERIMENT) {
			fputs("      <skipped message=\"", out);
			xml_attr(out, out_text, first_line(out_text));
			fputs("\"/>\n", out);
		}
		if (*out_text) {
			fputs("      <system-out>", out);
			xml_text(out, out_text);
			fputs("</system-out>\n", out);
		}
	}
	fputs("    </testcase>\n", out);
}

void report_junit(FILE *out, const struct report *rp)
{
	size_t failures = 0, skipped = 0;
	double score, max;
	char name[256];

	for (size_t i = 0; i < rp->n; i++) {
		if (rp->checks[i]->stage == STAGE_EXPERIMENT)
			continue;
		failures += rp->results[i].verdict == FAIL;
		skipped += rp->results[i].verdict == SKIP;
	}
	report_totals(rp, &score, &max);
	snprintf(name, sizeof(name), "lab %d: %s", rp->lab->number,
	         rp->lab->title);
	fputs("  <testsuite name=\"", out);
	xml_attr(out, name, strlen(name));
	fprintf(out,
	        "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" "
	        "skipped=\"%zu\" time=\"%.3f\">\n"
	        "    <properties>\n"
	        "      <property name=\"score\" value=\"%.0f\"/>\n"
	        "      <property name=\"max_score\" value=\"%.0f\"/>\n"
	        "    </properties>\n",
	        rp->n, failures, skipped, rp->seconds, score, max);
	for (size_t i = 0; i < rp->n; i++)
		junit_case(out, rp->checks[i], &rp->results[i]);
	/* The preamble names the submission's path: the student's to
	 * choose. The coverage section quotes their source. */
	fputs("    <system-out>", out);
	xml_text(out, rp->preamble);
	fprintf(out, "\nScore: %.0f/%.0f\n", score, max);
	if (rp->coverage) {
		fputs("\ncoverage (not scored):\n", out);
		xml_text(out, rp->coverage);
	}
	fputs("</system-out>\n  </testsuite>\n", out);
}

void tap_begin(FILE *out, size_t planned)
{
	fprintf(out, "TAP version 13\n1..%zu\n", planned);
}

void tap_bail_out(FILE *out, const char *why)
{
	fputs("Bail out! ", out);
	fput_visible(out, why, first_line(why));
	fputc('\n', out);
}

/* text as "# " lines. */
static void tap_comment(FILE *out, const char *text)
{
	for (const char *p = text; p && *p;) {
		size_t n = strcspn(p, "\n");

		fputs("# ", out);
		fput_visible(out, p, n);
		fputc('\n', out);
		p += n + (p[n] == '\n');
	}
}

/* text under key: a YAML literal block, as readable as the text report, or
 * a double-quoted scalar (a JSON string is one) when the text starts with
 * blanks, which a literal block would take for its indentation (and TAP's
 * YAMLish, Perl's TAP::Parser, knows no indentation indicator). Every line
 * is indented, blank ones too: a TAP parser reads a YAML block line by line,
 * each starting with the block's indentation. */
static void yaml_text(FILE *out, const char *key, const char *text)
{
	if (text[0] == ' ' || text[0] == '\t' || text[0] == '\n') {
		fprintf(out, "  %s: ", key);
		json_string(out, text);
		fputc('\n', out);
		return;
	}
	fprintf(out, "  %s: |\n", key);
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		fputs("    ", out);
		fput_visible(out, p, n);
		fputc('\n', out);
		p += n + (p[n] == '\n');
	}
}

/* The YAML diagnostic block of a failed check, or of the experiment (its
 * numbers). */
static void tap_diagnostic(FILE *out, const struct check *c,
                           const struct result *r)
{
	const char *hint = report_hint(c, r);

	fprintf(out,
	        "  ---\n  stage: %s\n  score: %.0f\n  max_score: %d\n"
	        "  seconds: %.1f\n",
	        stage_name(c->stage), report_earned(c, r), c->points,
	        r->seconds);
	if (r->out && *r->out)
		yaml_text(out, "output", r->out);
	if (hint && c->stage != STAGE_EXPERIMENT) {
		/* A JSON string is a YAML double-quoted scalar. */
		fputs("  hint: ", out);
		json_string(out, hint);
		fputc('\n', out);
	}
	fputs("  ...\n", out);
}

static void tap_point(FILE *out, const struct check *c, const struct result *r,
                      size_t number)
{
	const char *text = r->out ? r->out : "";

	if (c->stage == STAGE_EXPERIMENT) {
		fprintf(out, "ok %zu - %s (not scored)\n", number, c->name);
		tap_diagnostic(out, c, r);
	} else if (r->verdict == SKIP) {
		fprintf(out, "ok %zu - %s # SKIP ", number, c->name);
		if (first_line(text) > 0)
			fput_visible(out, text, first_line(text));
		else
			fputs("skipped", out);
		fputc('\n', out);
	} else if (r->verdict == FAIL) {
		fprintf(out, "not ok %zu - %s\n", number, c->name);
		tap_diagnostic(out, c, r);
	} else {
		fprintf(out, "ok %zu - %s\n", number, c->name);
	}
}

void report_tap(FILE *out, const struct report *rp, size_t *number)
{
	double score, max;

	fprintf(out, "# Lab %d: %s\n", rp->lab->number, rp->lab->title);
	tap_comment(out, rp->preamble);
	for (size_t i = 0; i < rp->n; i++)
		tap_point(out, rp->checks[i], &rp->results[i], ++*number);
	if (rp->coverage) {
		fputs("# coverage (not scored):\n", out);
		tap_comment(out, rp->coverage);
	}
	report_totals(rp, &score, &max);
	fprintf(out, "# Score: %.0f/%.0f (lab %d, %s, %.1f s)\n", score, max,
	        rp->lab->number,
	        report_verdict(rp, score, max, "the not ok lines"),
	        rp->seconds);
}
