/* quiz.c - the quiz stage: a lab's "predict, then measure" questions
 * (labs/NN-name/quiz.md), the student's answers (answers.txt beside the
 * lab's files) scored against the key kept beside the hidden tests
 * (autograder/hidden/NN-name/quiz.key), so a student's copy has the
 * questions and never the answers. One check per question (arg "q1").
 *
 * answers.txt: "qK: LETTER" or "qK: NUMBER" lines, '#' starts a comment.
 * quiz.key:    "qK: LETTER | WHY" or "qK: LOW..HIGH | WHY". */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "grader.h"
#include "util.h"

enum { ANSWERS_CAP = 64 << 10, FIELD = 256 };

/* The value of "q: value" for question q in text, '#' comments and
 * surrounding blanks cut; false when the line is absent. The text is a
 * student's: every copy is bounded. */
static bool find_line(const char *text, const char *q, char *value, size_t cap)
{
	size_t qlen = strlen(q);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p += !!p) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, q, qlen) || p[qlen] != ':')
			continue;
		p += qlen + 1;
		size_t n = strcspn(p, "#\n");
		while (n && isspace((unsigned char)*p))
			p++, n--;
		while (n && isspace((unsigned char)p[n - 1]))
			n--;
		snprintf(value, cap, "%.*s", (int)(n < cap ? n : cap - 1), p);
		return true;
	}
	return false;
}

/* Whether the student's answer matches the key's: the same letter, or a
 * number inside the key's LOW..HIGH. */
static bool matches(const char *answer, const char *key)
{
	const char *dots = strstr(key, "..");
	char *end;

	if (!dots)
		return strlen(answer) == 1 && strlen(key) == 1 &&
		       tolower((unsigned char)*answer) ==
		           tolower((unsigned char)*key);
	double lo = strtod(key, NULL), hi = strtod(dots + 2, NULL);
	double v = strtod(answer, &end);
	return end != answer && *end == '\0' && v >= lo && v <= hi;
}

/* Where this grading's answers are: the reference's, the submission's
 * (DIR/NN-name/answers.txt or a flat DIR/answers.txt) or the student's
 * labs/. */
static void answers_path(const struct grader *g, char *buf, size_t cap)
{
	const char *dir = g->lab->dir;
	struct stat st;

	if (!strcmp(g->impl, "solutions"))
		snprintf(buf, cap, "%s/solutions/%s/answers.txt", g->repo, dir);
	else if (!g->submission)
		snprintf(buf, cap, "%s/labs/%s/answers.txt", g->repo, dir);
	else {
		snprintf(buf, cap, "%s/%s/answers.txt", g->submission, dir);
		if (lstat(buf, &st) < 0)
			snprintf(buf, cap, "%s/answers.txt", g->submission);
	}
}

enum verdict check_quiz(struct grader *g, const struct check *c,
                        struct result *r)
{
	char path[PATH_MAX], key[FIELD], answer[FIELD] = "";
	const char *q = c->arg;
	enum verdict v = FAIL;

	snprintf(path, sizeof(path), "%s/autograder/hidden/%s/quiz.key",
	         g->repo, g->lab->dir);
	char *keys = read_file(path, NULL);
	if (!keys || !find_line(keys, q, key, sizeof(key))) {
		result_printf(r,
		              "the grader has no key for %s (%s): tell "
		              "your instructor\n",
		              q, path);
		r->no_hint = true;
		free(keys);
		return FAIL;
	}
	char *why = strchr(key, '|');
	if (why) {
		*why = '\0';
		for (char *e = why - 1; e >= key && isspace((unsigned char)*e);
		     e--)
			*e = '\0';
		for (why++; isspace((unsigned char)*why); why++)
			;
	}
	answers_path(g, path, sizeof(path));
	char *text = read_untrusted(path, ANSWERS_CAP, NULL);
	if (!text)
		result_printf(r, "no answers.txt (%s): %s\n",
		              errno == ENOENT
		                  ? "none in the submission"
		                  : "not a plain file of at most 64 KiB",
		              strerror(errno));
	else if (!find_line(text, q, answer, sizeof(answer)) || !*answer)
		result_printf(r,
		              "%s is not answered in answers.txt (make "
		              "quiz LAB=%d asks it)\n",
		              q, g->lab->number);
	else if (matches(answer, key)) {
		result_printf(r, "%s: %.40s, right. %s\n", q, answer,
		              why ? why : "");
		v = PASS;
	} else
		result_printf(r,
		              "%s: you answered \"%.40s\"; the answer is %s. "
		              "%s\n",
		              q, answer, key, why ? why : "");
	free(text);
	free(keys);
	return v;
}
