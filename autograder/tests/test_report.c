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

static char *render(void (*fn)(FILE *, const struct report *),
                    struct result *res)
{
	const struct check *run[] = {&checks[0], &checks[1], &checks[2],
	                             &checks[3]};
	struct report rp = {&lab, run, res, 4, 1.5, NULL};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fn(f, &rp);
	fclose(f);
	return buf;
}

START_TEST(test_totals)
{
	struct result res[4] = {{.verdict = PASS},
	                        {.verdict = FAIL},
	                        {.verdict = PASS},
	                        {.verdict = PASS}};
	const struct check *run[] = {&checks[0], &checks[1], &checks[2],
	                             &checks[3]};
	struct report rp = {&lab, run, res, 4, 0, NULL};
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

	ck_assert_ptr_nonnull(strstr(
	    json,
	    "line\\n\\\"quote\\\" back\\\\slash \\u0001\\u001f tab\\t end"));
	ck_assert_ptr_nonnull(strstr(json, "\"score\": 2.00"));
	ck_assert_ptr_nonnull(
	    strstr(json, "\"visibility\": \"after_due_date\""));
	ck_assert_ptr_nonnull(strstr(json, "hint: hint \\\"quoted\\\""));
	/* No raw control character may reach the JSON. */
	for (const char *p = json; *p; p++)
		ck_assert_msg((unsigned char)*p >= 0x20 || *p == '\n',
		              "control byte %#x in JSON", (unsigned char)*p);
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

	ck_assert_ptr_nonnull(strstr(text, "[FAIL]"));
	ck_assert_ptr_nonnull(strstr(text, "measured 3"));
	ck_assert_ptr_nonnull(strstr(text, "hint: hint \"quoted\""));
	ck_assert_ptr_nonnull(strstr(text, "B waited 300 ms"));
	ck_assert_ptr_nonnull(strstr(text, "Score: 7/10"));
	ck_assert_str_eq(
	    tsv, "build\tpassed\t5\t5\nunit.a\tfailed\t0\t3\n"
	         "unit.hidden.b\tpassed\t2\t2\nexperiment.x\tpassed\t0\t0\n");
	free(text);
	free(tsv);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("report");

	TEST_ADD(s, test_totals, 5);
	TEST_ADD(s, test_json_escapes_hostile_output, 5);
	TEST_ADD(s, test_text_and_tsv, 5);
	return s;
}

TEST_MAIN(suite)
