/* The report writers: Gradescope must get valid JSON whatever a student's
 * program printed, and the totals must add up. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

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
	return s;
}

TEST_MAIN(suite)
