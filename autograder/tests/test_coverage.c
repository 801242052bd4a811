/* The coverage pass's parsers: gcovr's files are written in the sandbox,
 * so they must be read right when they are gcovr's and harmlessly when
 * they are not. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "coverage.h"
#include "testing.h"

/* What gcovr 5.2 writes (--csv, --sonarqube) for two files. */
static const char CSV[] =
    "filename,line_total,line_covered,line_percent,branch_total,"
    "branch_covered,branch_percent,function_total,function_covered,"
    "function_percent\n"
    "labs/01-blocking-server/http.c,120,114,0.95,80,70,0.875,9,9,1.0\n"
    "labs/01-blocking-server/io.c,30,30,1.0,12,12,1.0,3,3,1.0\n";

static const char XML[] =
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<coverage version=\"1\">\n"
    "  <file path=\"labs/01-blocking-server/http.c\">\n"
    "    <lineToCover lineNumber=\"3\" covered=\"true\"/>\n"
    "    <lineToCover lineNumber=\"4\" covered=\"false\"/>\n"
    "    <lineToCover lineNumber=\"5\" covered=\"true\" "
    "branchesToCover=\"2\" coveredBranches=\"1\"/>\n"
    "    <lineToCover lineNumber=\"6\" covered=\"true\" "
    "branchesToCover=\"2\" coveredBranches=\"2\"/>\n"
    "  </file>\n"
    "  <file path=\"labs/01-blocking-server/io.c\">\n"
    "    <lineToCover lineNumber=\"9\" covered=\"true\"/>\n"
    "  </file>\n"
    "  <file path=\"elsewhere.c\">\n"
    "    <lineToCover lineNumber=\"1\" covered=\"false\"/>\n"
    "  </file>\n"
    "</coverage>\n";

static char *format(const struct coverage *cv, size_t max)
{
	struct result r = {0};

	coverage_format(&r, cv, max);
	return r.out;
}

START_TEST(test_csv_summary)
{
	struct coverage cv = {0};

	ck_assert_int_eq(coverage_parse_csv(&cv, CSV), 2);
	ck_assert_str_eq(cv.files[0].name, "labs/01-blocking-server/http.c");
	ck_assert_int_eq(cv.files[0].lines, 120);
	ck_assert_int_eq(cv.files[0].lines_run, 114);
	ck_assert_int_eq(cv.files[0].branches, 80);
	ck_assert_int_eq(cv.files[0].branches_taken, 70);
	ck_assert_int_eq(cv.files[1].branches_taken, 12);
	coverage_free(&cv);
}
END_TEST

/* Never run, or ran without taking each branch: the rest is left out. A
 * file the summary does not list is not the lab's. */
START_TEST(test_sonarqube_lines)
{
	struct coverage cv = {0};

	ck_assert_int_eq(coverage_parse_csv(&cv, CSV), 2);
	ck_assert_int_eq(coverage_parse_sonarqube(&cv, XML), 2);
	ck_assert_uint_eq(cv.nlines, 2);
	ck_assert_uint_eq(cv.lines[0].file, 0);
	ck_assert_int_eq(cv.lines[0].number, 4);
	ck_assert(!cv.lines[0].run);
	ck_assert_int_eq(cv.lines[1].number, 5);
	ck_assert(cv.lines[1].run);
	ck_assert_int_eq(cv.lines[1].branches, 2);
	ck_assert_int_eq(cv.lines[1].taken, 1);
	coverage_free(&cv);
}
END_TEST

/* Each listed line quotes its source, without the indentation. */
START_TEST(test_format_quotes_source)
{
	struct coverage cv = {0};

	coverage_parse_csv(&cv, CSV);
	coverage_parse_sonarqube(&cv, XML);
	cv.files[0].src = strdup("a\nb\nc\n\treturn -EINVAL;\n\tif (x)\n");
	char *text = format(&cv, 0);
	ck_assert_ptr_nonnull(strstr(text, "114/120"));
	ck_assert_ptr_nonnull(strstr(text, "total"));
	ck_assert_ptr_nonnull(strstr(
	    text,
	    "labs/01-blocking-server/http.c:4: never run: return -EINVAL;\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "labs/01-blocking-server/http.c:5: 1 of 2 branches "
	                 "taken: if (x)\n"));
	free(text);
	text = format(&cv, 1);
	ck_assert_ptr_nonnull(strstr(text, "(1 of 2 shown)"));
	free(text);
	coverage_free(&cv);
}
END_TEST

/* In the report, lines that never ran one after the other are one item;
 * a line that ran between them, even without branches, splits them. */
START_TEST(test_format_blocks)
{
	static const char xml[] =
	    "<coverage version=\"1\">"
	    "<file path=\"labs/01-blocking-server/io.c\">"
	    "<lineToCover lineNumber=\"2\" covered=\"false\"/>"
	    "<lineToCover lineNumber=\"4\" covered=\"false\"/>"
	    "<lineToCover lineNumber=\"5\" covered=\"true\"/>"
	    "<lineToCover lineNumber=\"6\" covered=\"false\"/>"
	    "</file></coverage>";
	struct coverage cv = {0};

	coverage_parse_csv(&cv, CSV);
	ck_assert_int_eq(coverage_parse_sonarqube(&cv, xml), 3);
	char *text = format(&cv, 10);
	ck_assert_ptr_nonnull(strstr(
	    text, "labs/01-blocking-server/io.c:2-4: never run (2 lines):\n"));
	ck_assert_ptr_nonnull(
	    strstr(text, "labs/01-blocking-server/io.c:6: never run:\n"));
	ck_assert_ptr_null(strstr(text, "shown"));
	free(text);
	text = format(&cv, 0);
	ck_assert_ptr_nonnull(
	    strstr(text, "labs/01-blocking-server/io.c:4: never run:\n"));
	free(text);
	coverage_free(&cv);
}
END_TEST

/* What the sandbox could have put there instead: nothing is read from it,
 * and nothing breaks. */
START_TEST(test_not_gcovr)
{
	struct coverage cv = {0};

	ck_assert_int_lt(coverage_parse_csv(&cv, ""), 0);
	ck_assert_int_lt(coverage_parse_csv(&cv, "a,b\n1,2\n"), 0);
	ck_assert_int_lt(coverage_parse_sonarqube(&cv, "<html>"), 0);
	ck_assert_int_eq(coverage_parse_csv(&cv,
	                                    "filename,line_total,line_covered,"
	                                    "branch_total,branch_covered\n"
	                                    "\"a,b\",1,1,1,1\n"
	                                    "short,1\n"
	                                    "x.c,-1,1,1,1\n"),
	                 0);
	ck_assert_int_eq(coverage_parse_csv(&cv, CSV), 2);
	/* Cut short, an unknown file, a tag left open. */
	ck_assert_int_eq(
	    coverage_parse_sonarqube(
	        &cv, "<coverage><file path=\"labs/01-blocking-server/http.c\">"
	             "<lineToCover lineNumber=\"x\" covered=\"false\"/>"
	             "<lineToCover lineNumber=\"7\" covered=\"false\""),
	    0);
	ck_assert_uint_eq(cv.nlines, 0);
	coverage_free(&cv);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("coverage");

	TEST_ADD(s, test_csv_summary, 5);
	TEST_ADD(s, test_sonarqube_lines, 5);
	TEST_ADD(s, test_format_quotes_source, 5);
	TEST_ADD(s, test_format_blocks, 5);
	TEST_ADD(s, test_not_gcovr, 5);
	return s;
}

TEST_MAIN(suite)
