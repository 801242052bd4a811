/* The report writers: Gradescope must get valid JSON, and CI systems
 * well-formed JUnit XML and TAP, whatever a student's program printed; and
 * the totals must add up. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "testing.h"

static enum verdict never(struct grader *g, const struct check *c,
                          struct result *r)
{
	(void)g, (void)c, (void)r;
	return FAIL;
}

static const struct check checks[] = {
    {"build", STAGE_BUILD, 5, never, NULL, NULL, false},
    {"unit.a", STAGE_UNIT, 3, never, "hint \"quoted\"", NULL, false},
    {"unit.hidden.b", STAGE_UNIT, 2, never, NULL, NULL, true},
    {"experiment.x", STAGE_EXPERIMENT, 0, never, NULL, NULL, false},
};
static const struct lab lab = {.number = 9,
                               .dir = "09-test",
                               .title = "a test lab",
                               .checks = checks,
                               .nchecks = 4};

static void report_plain(FILE *out, const struct report *rp)
{
	report_text(out, rp, 0);
}

typedef void report_fn(FILE *out, const struct report *rp);

static char *render_with(report_fn *fn, struct result *res,
                         const char *preamble)
{
	const struct check *run[] = {&checks[0], &checks[1], &checks[2],
	                             &checks[3]};
	struct report rp = {&lab, run, res, 4, 1.5, preamble, NULL};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, &rp);
	fclose(f);
	return buf;
}

static char *render(report_fn *fn, struct result *res)
{
	return render_with(fn, res, NULL);
}

/* The report when unit.a failed and its output was out (the text report
 * shows a failed check's output; the JSON always does). */
static char *render_failed(report_fn *fn, char *out)
{
	struct result res[4] = {{.verdict = PASS},
	                        {.verdict = FAIL, .out = out},
	                        {.verdict = PASS},
	                        {.verdict = PASS}};

	return render(fn, res);
}

/* The offset of the first byte that is not well-formed UTF-8, or -1. Apart
 * from report.c's decoder on purpose: ranges as in Unicode's Table 3-7. */
static long utf8_invalid_at(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; s[i];) {
		unsigned char b = s[i], lo = 0x80, hi = 0xbf;
		size_t len;

		if (b < 0x80)
			len = 1;
		else if (b >= 0xc2 && b <= 0xdf)
			len = 2;
		else if (b == 0xe0)
			len = 3, lo = 0xa0; /* not overlong */
		else if (b == 0xed)
			len = 3, hi = 0x9f; /* not a surrogate */
		else if (b >= 0xe1 && b <= 0xef)
			len = 3;
		else if (b == 0xf0)
			len = 4, lo = 0x90; /* not overlong */
		else if (b == 0xf4)
			len = 4, hi = 0x8f; /* not above U+10FFFF */
		else if (b >= 0xf1 && b <= 0xf3)
			len = 4;
		else
			return (long)i;
		/* Stops at the first bad byte, so never reads past the NUL. */
		for (size_t k = 1; k < len; k++)
			if (s[i + k] < (k == 1 ? lo : 0x80) ||
			    s[i + k] > (k == 1 ? hi : 0xbf))
				return (long)i;
		i += len;
	}
	return -1;
}

/* The offset of the first thing a terminal would act on, or -1: a control
 * byte other than those in keep, DEL, a C1 control (C2 80-9F), a bidi
 * override (E2 80 AA-AE) or isolate (E2 81 A6-A9). */
static long unsafe_at(const char *str, const char *keep)
{
	const unsigned char *s = (const unsigned char *)str;

	for (size_t i = 0; s[i]; i++) {
		if ((s[i] < 0x20 && !strchr(keep, s[i])) || s[i] == 0x7f)
			return (long)i;
		if (s[i] == 0xc2 && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return (long)i;
		if (s[i] == 0xe2 && ((s[i + 1] == 0x80 && s[i + 2] >= 0xaa &&
		                      s[i + 2] <= 0xae) ||
		                     (s[i + 1] == 0x81 && s[i + 2] >= 0xa6 &&
		                      s[i + 2] <= 0xa9)))
			return (long)i;
	}
	return -1;
}

/* ck_assert_ptr_nonnull(strstr()) would not say what was there. */
#define ck_assert_contains(hay, needle)                                        \
	ck_assert_msg(strstr((hay), (needle)), "expected \"%s\" in \"%s\"",    \
	              (needle), (hay))

#define ck_assert_valid_utf8(s)                                                \
	do {                                                                   \
		long at_ = utf8_invalid_at(s);                                 \
		ck_assert_msg(at_ < 0,                                         \
		              "invalid UTF-8 at offset %ld: byte %#x", at_,    \
		              (unsigned char)(s)[at_ < 0 ? 0 : at_]);          \
	} while (0)

/* Nothing a terminal would act on but the bytes in keep (a report's own line
 * breaks). */
#define ck_assert_safe(s, keep)                                                \
	do {                                                                   \
		long at_ = unsafe_at((s), (keep));                             \
		ck_assert_msg(at_ < 0, "raw byte %#x at offset %ld",           \
		              (unsigned char)(s)[at_ < 0 ? 0 : at_], at_);     \
	} while (0)

START_TEST(test_totals)
{
	struct result res[4] = {{.verdict = PASS},
	                        {.verdict = FAIL},
	                        {.verdict = PASS},
	                        {.verdict = PASS}};
	const struct check *run[] = {&checks[0], &checks[1], &checks[2],
	                             &checks[3]};
	struct report rp = {&lab, run, res, 4, 0, NULL, NULL};
	double score, max;

	report_totals(&rp, &score, &max);
	ck_assert_double_eq(score, 7);
	ck_assert_double_eq(max, 10);
}
END_TEST

START_TEST(test_json_escapes_hostile_output)
{
	char evil[] = "line\n\"quote\" back\\slash \x01\x1f tab\t end";
	struct result res[4] = {{.verdict = FAIL, .out = evil},
	                        {.verdict = FAIL},
	                        {.verdict = PASS},
	                        {.verdict = PASS}};
	char *json = render(report_json, res);

	/* The student is shown "\x01", which JSON writes "\\x01". */
	ck_assert_contains(json, "line\\n\\\"quote\\\" back\\\\slash "
	                         "\\\\x01\\\\x1f tab\\t end");
	ck_assert_contains(json, "\"score\": 2.00");
	ck_assert_contains(json, "\"visibility\": \"after_published\"");
	ck_assert_contains(json, "hint: hint \\\"quoted\\\"");
	ck_assert_safe(json, "\n");
	free(json);
}
END_TEST

START_TEST(test_text_and_tsv)
{
	struct result res[4] = {{.verdict = PASS},
	                        {.verdict = FAIL, .out = "measured 3\n"},
	                        {.verdict = PASS},
	                        {.verdict = PASS, .out = "B waited 300 ms\n"}};
	char *text = render(report_plain, res), *tsv = render(report_tsv, res);

	ck_assert_contains(text, "[FAIL]");
	ck_assert_contains(text, "measured 3");
	ck_assert_contains(text, "hint: hint \"quoted\"");
	ck_assert_contains(text, "B waited 300 ms");
	ck_assert_contains(text, "Score: 7/10");
	ck_assert_str_eq(
	    tsv, "build\tpassed\t5\t5\nunit.a\tfailed\t0\t3\n"
	         "unit.hidden.b\tpassed\t2\t2\nexperiment.x\tpassed\t0\t0\n");
	free(text);
	free(tsv);
}
END_TEST

/* One 0xff byte made results.json invalid UTF-8, and Gradescope showed an
 * error instead of a score: such bytes are shown as C writes them. */
START_TEST(test_json_invalid_bytes_shown)
{
	/* 0xff; "→" cut after two bytes; "🎉" cut after three, at the end. */
	char out[] = "a \xff b \xe2\x86"
	             " c \xf0\x9f\x8e";
	char *json = render_failed(report_json, out);

	ck_assert_valid_utf8(json);
	ck_assert_safe(json, "\n");
	ck_assert_contains(json, "a \\\\xff b \\\\xe2\\\\x86 c "
	                         "\\\\xf0\\\\x9f\\\\x8e");
	free(json);
}
END_TEST

START_TEST(test_text_invalid_bytes_shown)
{
	char out[] = "a \xff b \xe2\x86"
	             " c \xf0\x9f\x8e";
	char *text = render_failed(report_plain, out);

	ck_assert_valid_utf8(text);
	ck_assert_contains(text, "a \\xff b \\xe2\\x86 c \\xf0\\x9f\\x8e\n");
	free(text);
}
END_TEST

/* ESC[8m would hide the rest of the report, '\r' and backspace overwrite
 * it. (A NUL cannot be in the output: it ends the string.) */
START_TEST(test_controls_escaped)
{
	char out[] = "x\x1b[8mhidden\rover\bback\x07 del\x7f"
	             "f\x0c"
	             "e\x1b";
	char *text = render_failed(report_plain, out);
	char *json = render_failed(report_json, out);

	ck_assert_safe(text, "\n");
	ck_assert_safe(json, "\n");
	ck_assert_contains(text, "x\\x1b[8mhidden\\rover\\bback\\a del\\x7f"
	                         "f\\fe\\x1b\n");
	ck_assert_contains(json, "x\\\\x1b[8mhidden\\\\rover\\\\bback\\\\a "
	                         "del\\\\x7ff\\\\fe\\\\x1b");
	free(text);
	free(json);
}
END_TEST

START_TEST(test_valid_utf8_unchanged)
{
	char out[] = "café → 🎉 日本 ∑ \"q\" \\ end";
	char *text = render_failed(report_plain, out);
	char *json = render_failed(report_json, out);

	ck_assert_contains(text, out);
	ck_assert_contains(json, "café → 🎉 日本 ∑ \\\"q\\\" \\\\ end");
	ck_assert_valid_utf8(json);
	free(text);
	free(json);
}
END_TEST

/* U+009B is a one-byte ESC[ to some terminals; U+202E and U+2066 make text
 * read in another order than it runs. */
START_TEST(test_c1_and_bidi_escaped)
{
	char out[] = "a\xc2\x9b"
	             "8m b\xe2\x80\xae"
	             "cba c\xe2\x81\xa6"
	             "d\xe2\x81\xa9";
	char *text = render_failed(report_plain, out);
	char *json = render_failed(report_json, out);

	ck_assert_safe(text, "\n");
	ck_assert_safe(json, "\n");
	ck_assert_contains(text, "a\\u009b8m b\\u202ecba c\\u2066d\\u2069\n");
	ck_assert_contains(json, "a\\\\u009b8m b\\\\u202ecba c\\\\u2066d"
	                         "\\\\u2069");
	free(text);
	free(json);
}
END_TEST

/* Well-formed-looking but invalid: overlong '/', a surrogate, a code point
 * above U+10FFFF, bytes that never start a sequence. */
START_TEST(test_invalid_forms_escaped_bytewise)
{
	char out[] = "o\xc0\xaf s\xed\xa0\x80 h\xf4\x90\x80\x80 "
	             "b\xf5\xc1\x80";
	char *text = render_failed(report_plain, out);
	char *json = render_failed(report_json, out);

	ck_assert_valid_utf8(text);
	ck_assert_valid_utf8(json);
	ck_assert_contains(text, "o\\xc0\\xaf s\\xed\\xa0\\x80 "
	                         "h\\xf4\\x90\\x80\\x80 b\\xf5\\xc1\\x80\n");
	ck_assert_contains(json, "o\\\\xc0\\\\xaf s\\\\xed\\\\xa0\\\\x80 "
	                         "h\\\\xf4\\\\x90\\\\x80\\\\x80 "
	                         "b\\\\xf5\\\\xc1\\\\x80");
	free(text);
	free(json);
}
END_TEST

START_TEST(test_text_keeps_newlines_and_tabs)
{
	char out[] = "col\tcol\nnext line\n";
	char *text = render_failed(report_plain, out);

	ck_assert_contains(text, "         col\tcol\n         next line\n");
	free(text);
}
END_TEST

/* The preamble names the submission's path; the experiment's output is the
 * student's server's too. */
START_TEST(test_preamble_and_experiment_escaped)
{
	char exp[] = "x\x1b[2J\xfe";
	struct result res[4] = {{.verdict = PASS},
	                        {.verdict = PASS},
	                        {.verdict = PASS},
	                        {.verdict = PASS, .out = exp}};
	char *text = render_with(report_plain, res, "graded: /s/\x1b[8m\xff");
	char *json = render_with(report_json, res, "unused");

	ck_assert_safe(text, "\n");
	ck_assert_valid_utf8(text);
	ck_assert_contains(text, "graded: /s/\\x1b[8m\\xff\n");
	ck_assert_contains(text, "         x\\x1b[2J\\xfe\n");
	ck_assert_safe(json, "\n");
	ck_assert_valid_utf8(json);
	ck_assert_contains(json, "x\\\\x1b[2J\\\\xfe");
	free(text);
	free(json);
}
END_TEST

/* Whatever bytes a caller passes, json_string writes one valid JSON string
 * in valid UTF-8: every byte alone, then pseudo-random strings of the bytes
 * UTF-8 is made of. */
START_TEST(test_json_string_any_bytes)
{
	static const unsigned char pool[] = {
	    'a',  '"',  '\\', '\n', '\r', 0x1b, 0x7f, 0x80, 0x9b, 0xa0, 0xbf,
	    0xc0, 0xc2, 0xdf, 0xe0, 0xe2, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff};
	unsigned seed = 1;

	for (int t = 0; t < 255 + 2000; t++) {
		char in[9] = "", *buf = NULL;
		size_t len = 0, n = 0;
		FILE *f = open_memstream(&buf, &len);

		if (t < 255) {
			in[n++] = (char)(t + 1);
		} else {
			for (size_t k = seed % 8 + 1; n < k; n++) {
				seed = seed * 1103515245 + 12345;
				in[n] = (char)pool[seed / 65536 % sizeof(pool)];
			}
		}
		in[n] = '\0';
		json_string(f, in);
		fclose(f);
		ck_assert_valid_utf8(buf);
		ck_assert_safe(buf, "");
		ck_assert_msg(len >= 2 && buf[0] == '"' && buf[len - 1] == '"',
		              "not one JSON string: %s", buf);
		free(buf);
	}
}
END_TEST

/* Output meant to break each format: XML's specials and "]]>", a control
 * byte and an escape sequence, invalid UTF-8, what XML and YAML refuse
 * (U+FFFE, U+2028), and lines that would be TAP test points or a score. */
static char hostile[] = "a<b & \"c\" 'd' ]]> \x01\x1b[8m \xff \xef\xbf\xbe "
                        "\xe2\x80\xa8 end\n"
                        "ok 9 - forged\n  ...\nnot ok 10 - forged\n"
                        "# Score: 99/99\n";

/* unit.a failed with hostile output, unit.hidden.b was skipped, and the
 * experiment printed hostile output too. */
static char *render_ci(report_fn *fn)
{
	struct result res[4] = {{.verdict = PASS, .seconds = 0.25},
	                        {.verdict = FAIL, .out = hostile},
	                        {.verdict = SKIP, .out = "no server\n"},
	                        {.verdict = FAIL, .out = hostile}};

	return render_with(fn, res, "graded: /s/\x1b[8m\xff");
}

static void junit_doc(FILE *out, const struct report *rp)
{
	junit_begin(out);
	report_junit(out, rp);
	junit_end(out);
}

static void tap_doc(FILE *out, const struct report *rp)
{
	size_t number = 0;

	tap_begin(out, rp->n);
	report_tap(out, rp, &number);
}

/* Two labs in one document, as --all writes it. */
static void tap_two_labs(FILE *out, const struct report *rp)
{
	size_t number = 0;

	tap_begin(out, 2 * rp->n);
	report_tap(out, rp, &number);
	report_tap(out, rp, &number);
}

/* What `interpreter SCRIPT DOC` prints (stdout and stderr), script and doc
 * written to temporary files; the test fails when it exits non-zero. */
static char *run_script(const char *interpreter, const char *script,
                        const char *doc)
{
	char prog[] = "/tmp/test_report_prog_XXXXXX",
	     file[] = "/tmp/test_report_doc_XXXXXX", cmd[200], *buf = NULL;
	size_t len = 0;
	int pfd = mkstemp(prog), dfd = mkstemp(file);

	ck_assert_msg(pfd >= 0 && dfd >= 0, "mkstemp failed");
	ck_assert_int_eq(write(pfd, script, strlen(script)),
	                 (ssize_t)strlen(script));
	ck_assert_int_eq(write(dfd, doc, strlen(doc)), (ssize_t)strlen(doc));
	close(pfd);
	close(dfd);
	snprintf(cmd, sizeof(cmd), "%s %s %s 2>&1", interpreter, prog, file);
	FILE *p = popen(cmd, "r"), *f = open_memstream(&buf, &len);
	int c;

	ck_assert_ptr_nonnull(p);
	while ((c = fgetc(p)) != EOF)
		fputc(c, f);
	int status = pclose(p);
	fclose(f);
	unlink(prog);
	unlink(file);
	ck_assert_msg(status == 0, "%s could not read the document:\n%s\n%s",
	              interpreter, buf, doc);
	return buf;
}

/* What python3's XML parser (minidom, over expat) makes of xml: a line per
 * suite, test case and failure. */
static char *parse_xml_with_python(const char *xml)
{
	static const char script[] =
	    "import sys, xml.dom.minidom as m\n"
	    "d = m.parse(sys.argv[1])\n"
	    "for s in d.getElementsByTagName('testsuite'):\n"
	    "  print('suite', s.getAttribute('name'), "
	    "s.getAttribute('tests'),\n"
	    "        s.getAttribute('failures'), s.getAttribute('skipped'))\n"
	    "  for c in s.getElementsByTagName('testcase'):\n"
	    "    f = c.getElementsByTagName('failure')\n"
	    "    k = c.getElementsByTagName('skipped')\n"
	    "    print('case', c.getAttribute('classname'),\n"
	    "          c.getAttribute('name'), c.getAttribute('time'),\n"
	    "          'failure' if f else 'skipped' if k else 'passed')\n"
	    "    for e in f:\n"
	    "      print('message=' + e.getAttribute('message'))\n"
	    "      print('text=' + ''.join(n.data for n in e.childNodes))\n";

	return run_script("PYTHONIOENCODING=utf-8 python3", script, xml);
}

/* What Perl's TAP::Parser (prove's; its YAMLish reader is TAP 13's) makes
 * of tap: each YAML block's output and hint, then the plan, the test
 * points and any parse error. */
static char *parse_tap_with_perl(const char *tap)
{
	static const char script[] =
	    "use TAP::Parser;\n"
	    "open my $f, '<', $ARGV[0] or die; local $/; my $t = <$f>;\n"
	    "my $p = TAP::Parser->new({tap => $t});\n"
	    "while (my $r = $p->next) {\n"
	    "  if ($r->is_yaml) {\n"
	    "    print 'output=[', $r->data->{output} // '', qq{]\\n};\n"
	    "    print 'hint=[', $r->data->{hint} // '', qq{]\\n};\n"
	    "  }\n"
	    "  print 'unknown: ', $r->as_string, qq{\\n} if $r->is_unknown;\n"
	    "}\n"
	    "print 'plan ', $p->plan, ' run ', $p->tests_run, ' failed ',\n"
	    "  join(',', $p->failed), ' skipped ', join(',', $p->skipped),\n"
	    "  qq{\\n};\n"
	    "print 'error: ', $_, qq{\\n} for $p->parse_errors;\n";

	return run_script("perl", script, tap);
}

START_TEST(test_junit_well_formed)
{
	char *xml = render_ci(junit_doc);
	char *parsed = parse_xml_with_python(xml);

	ck_assert_valid_utf8(xml);
	ck_assert_safe(xml, "\n");
	ck_assert_str_eq(parsed,
	                 "suite lab 9: a test lab 4 1 1\n"
	                 "case build build 0.250 passed\n"
	                 "case unit unit.a 0.000 failure\n"
	                 "message=a<b & \"c\" 'd' ]]> \\x01\\x1b[8m \\xff "
	                 "\\ufffe \\u2028 end\n"
	                 "text=a<b & \"c\" 'd' ]]> \\x01\\x1b[8m \\xff "
	                 "\\ufffe \\u2028 end\n"
	                 "ok 9 - forged\n  ...\nnot ok 10 - forged\n"
	                 "# Score: 99/99\n"
	                 "hint: hint \"quoted\"\n"
	                 "case unit unit.hidden.b 0.000 skipped\n"
	                 "case experiment experiment.x 0.000 passed\n");
	free(parsed);
	free(xml);
}
END_TEST

/* The experiment scores nothing: a passing case with its numbers in
 * <system-out>; the preamble and score are the suite's. */
START_TEST(test_junit_experiment_and_suite_output)
{
	char *xml = render_ci(junit_doc);

	ck_assert_contains(xml,
	                   "classname=\"experiment\" name=\"experiment.x\" "
	                   "time=\"0.000\">\n      <system-out>a&lt;b "
	                   "&amp; &quot;c&quot; &apos;d&apos; ]]&gt;");
	ck_assert_contains(xml, "<skipped message=\"no server\"/>");
	ck_assert_contains(xml, "<system-out>graded: /s/\\x1b[8m\\xff\n"
	                        "Score: 5/10\n</system-out>");
	ck_assert_contains(xml, "<property name=\"score\" value=\"5\"/>");
	ck_assert_contains(xml, "<property name=\"max_score\" value=\"10\"/>");
	free(xml);
}
END_TEST

/* Every byte alone as a failed check's output, then pseudo-random strings
 * of XML's and UTF-8's bytes: python3 parses every document. */
START_TEST(test_junit_any_bytes)
{
	static const unsigned char pool[] = {
	    'a',  '<',  '>',  '&',  '"',  '\'', ']',  '\n', '\r', '\t', 0x1b,
	    0x7f, 0x80, 0xbe, 0xbf, 0xc2, 0xe2, 0xef, 0xf0, 0xf4, 0xff};
	char in[255 + 1 + 64 * 8 + 1] = "", *p = in;
	unsigned seed = 7;

	for (int b = 1; b < 256; b++)
		*p++ = (char)b;
	*p++ = '\n';
	for (int t = 0; t < 64 * 8; t++) {
		seed = seed * 1103515245 + 12345;
		*p++ = (char)pool[seed / 65536 % sizeof(pool)];
	}
	*p = '\0';
	char *xml = render_failed(junit_doc, in);
	free(parse_xml_with_python(xml));
	ck_assert_valid_utf8(xml);
	ck_assert_safe(xml, "\n\t");
	free(xml);
}
END_TEST

/* The test points of a TAP document: each "ok"/"not ok" line at the start
 * of a line, numbered 1, 2, ...; the names of those not ok in failed. */
static size_t tap_points(const char *tap, char *failed, size_t cap)
{
	size_t points = 0;

	failed[0] = '\0';
	for (const char *p = tap; *p;) {
		size_t n = strcspn(p, "\n"), num;
		int at = 0;
		bool not_ok = !strncmp(p, "not ok ", 7);

		if ((not_ok || !strncmp(p, "ok ", 3)) &&
		    sscanf(p + (not_ok ? 7 : 3), "%zu - %n", &num, &at) == 1 &&
		    at > 0) {
			ck_assert_msg(num == points + 1,
			              "test point %zu after %zu: %.*s", num,
			              points, (int)n, p);
			points++;
			if (not_ok) {
				const char *name = p + (not_ok ? 7 : 3) + at;
				size_t used = strlen(failed);
				snprintf(failed + used, cap - used, "%.*s ",
				         (int)(n - (size_t)(name - p)), name);
			}
		}
		p += n + (p[n] == '\n');
	}
	return points;
}

START_TEST(test_tap_plan_and_points)
{
	char *tap = render_ci(tap_doc), failed[256];
	size_t plan = 0;

	ck_assert_valid_utf8(tap);
	ck_assert_safe(tap, "\n");
	ck_assert_msg(sscanf(tap, "TAP version 13\n1..%zu\n", &plan) == 1,
	              "no plan at the start: %s", tap);
	ck_assert_uint_eq(tap_points(tap, failed, sizeof(failed)), plan);
	ck_assert_uint_eq(plan, 4);
	/* The forged "ok 9" and "not ok 10" are inside the YAML block. */
	ck_assert_str_eq(failed, "unit.a ");
	ck_assert_contains(tap, "ok 3 - unit.hidden.b # SKIP no server\n");
	ck_assert_contains(tap, "ok 4 - experiment.x (not scored)\n");
	ck_assert_contains(tap, "not ok 2 - unit.a\n  ---\n  stage: unit\n"
	                        "  score: 0\n  max_score: 3\n");
	ck_assert_contains(tap, "  output: |\n    a<b & \"c\" 'd' ]]> "
	                        "\\x01\\x1b[8m \\xff \\ufffe \\u2028 end\n"
	                        "    ok 9 - forged\n      ...\n");
	ck_assert_contains(tap, "  hint: \"hint \\\"quoted\\\"\"\n  ...\n");
	/* The last line: the score. */
	const char *last = tap + strlen(tap) - 1;
	while (last > tap && last[-1] != '\n')
		last--;
	ck_assert_msg(!strncmp(last, "# Score: 5/10 (lab 9, ", 22),
	              "last line: %s", last);
	free(tap);
}
END_TEST

/* A real TAP 13 parser reads the plan, the points and the YAML blocks, and
 * finds the output as the student's program wrote it (made visible); the
 * forged test points stay inside the output. */
START_TEST(test_tap_parses_with_perl)
{
	char *tap = render_ci(tap_doc), *parsed = parse_tap_with_perl(tap);
	static const char shown[] = "a<b & \"c\" 'd' ]]> \\x01\\x1b[8m \\xff "
	                            "\\ufffe \\u2028 end\n"
	                            "ok 9 - forged\n  ...\nnot ok 10 - forged\n"
	                            "# Score: 99/99\n";
	char want[1024];

	snprintf(want, sizeof(want),
	         "output=[%s]\nhint=[hint \"quoted\"]\n"
	         "output=[%s]\nhint=[]\n"
	         "plan 1..4 run 4 failed 2 skipped 3\n",
	         shown, shown);
	ck_assert_str_eq(parsed, want);
	free(parsed);
	free(tap);
}
END_TEST

/* Output that starts with blanks would set a literal block's indentation:
 * it is quoted instead. */
START_TEST(test_tap_output_starting_with_blanks)
{
	char out[] = "  indented\n\tnext\n";
	char *tap = render_failed(tap_doc, out), *parsed;

	ck_assert_contains(tap, "  output: \"  indented\\n\\tnext\\n\"\n");
	parsed = parse_tap_with_perl(tap);
	ck_assert_contains(parsed, "output=[  indented\n\tnext\n]\n");
	free(parsed);
	free(tap);
}
END_TEST

/* --all: one plan for every lab; numbers run on. */
START_TEST(test_tap_two_labs)
{
	char *tap = render_ci(tap_two_labs), failed[256];

	ck_assert_contains(tap, "TAP version 13\n1..8\n");
	ck_assert_uint_eq(tap_points(tap, failed, sizeof(failed)), 8);
	ck_assert_str_eq(failed, "unit.a unit.a ");
	ck_assert_contains(tap, "not ok 6 - unit.a\n");
	free(tap);
}
END_TEST

START_TEST(test_tap_bail_out_one_line)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	tap_bail_out(f, "cannot\x1b[2J prepare\nsecond line");
	fclose(f);
	ck_assert_str_eq(buf, "Bail out! cannot\\x1b[2J prepare\n");
	free(buf);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("report");

	TEST_ADD(s, test_totals, 5);
	TEST_ADD(s, test_json_escapes_hostile_output, 5);
	TEST_ADD(s, test_text_and_tsv, 5);
	TEST_ADD(s, test_json_invalid_bytes_shown, 5);
	TEST_ADD(s, test_text_invalid_bytes_shown, 5);
	TEST_ADD(s, test_controls_escaped, 5);
	TEST_ADD(s, test_valid_utf8_unchanged, 5);
	TEST_ADD(s, test_c1_and_bidi_escaped, 5);
	TEST_ADD(s, test_invalid_forms_escaped_bytewise, 5);
	TEST_ADD(s, test_text_keeps_newlines_and_tabs, 5);
	TEST_ADD(s, test_preamble_and_experiment_escaped, 5);
	TEST_ADD(s, test_json_string_any_bytes, 5);
	TEST_ADD(s, test_junit_well_formed, 10);
	TEST_ADD(s, test_junit_experiment_and_suite_output, 5);
	TEST_ADD(s, test_junit_any_bytes, 10);
	TEST_ADD(s, test_tap_plan_and_points, 5);
	TEST_ADD(s, test_tap_parses_with_perl, 10);
	TEST_ADD(s, test_tap_output_starting_with_blanks, 10);
	TEST_ADD(s, test_tap_two_labs, 5);
	TEST_ADD(s, test_tap_bail_out_one_line, 5);
	return s;
}

TEST_MAIN(suite)
