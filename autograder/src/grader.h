/* grader.h - what a lab's table of checks is made of (grader core).
 *
 * A lab is data: a list of checks, each with a name a student can search
 * for, a stage, points, the function that runs it and a hint shown when it
 * fails. grade.c runs any lab's table; adding a lab means adding a table
 * (labN.c, which registers itself with GRADER_LAB), tests and mutants, not
 * touching the driver.
 */
#ifndef GRADER_H
#define GRADER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "sandbox.h"

enum stage {
	STAGE_BUILD,
	STAGE_UNIT,
	STAGE_INTEGRATION,
	STAGE_LEAKS,
	STAGE_RACES,
	STAGE_LATENCY,
	STAGE_MEMORY,
	STAGE_EXPERIMENT, /* unscored: numbers to look at */
	STAGE_INTEROP,    /* lab 7: other tools' archives, and ours in them */
	STAGE_SAFETY,     /* lab 7: hostile archives */
	STAGE_QUIZ,       /* the lab's quiz: answers against the hidden key */
	STAGE_COUNT,

	/* The same stages as check names spell them ("latency.sequential"),
	 * so that AGAIN takes the stage once and a name can never say another
	 * stage than the one its check runs in. */
	STAGE_build = STAGE_BUILD,
	STAGE_unit = STAGE_UNIT,
	STAGE_integration = STAGE_INTEGRATION,
	STAGE_leaks = STAGE_LEAKS,
	STAGE_races = STAGE_RACES,
	STAGE_latency = STAGE_LATENCY,
	STAGE_memory = STAGE_MEMORY,
	STAGE_experiment = STAGE_EXPERIMENT,
	STAGE_interop = STAGE_INTEROP,
	STAGE_safety = STAGE_SAFETY,
	STAGE_quiz = STAGE_QUIZ,
};

enum verdict { PASS, FAIL, SKIP };

struct result {
	enum verdict verdict;
	char *out; /* what was measured, what was expected (grows) */
	size_t len, cap;
	double seconds;
	bool no_hint; /* the hint would mislead (say, the server never started)
	               */
};

struct grader;
struct check;
struct target;
struct vg_run;

typedef enum verdict (*check_fn)(struct grader *g, const struct check *c,
                                 struct result *r);

struct check {
	const char *name; /* "integration.byte_at_a_time" */
	enum stage stage;
	int points;
	check_fn run;
	const char *hint; /* the likely cause, shown on failure */
	const char *arg;  /* free for the check (e.g. a unit test's name) */
	bool hidden; /* needs autograder/hidden; its tests are not public */
};

struct lab {
	int number;
	const char *dir;   /* "01-blocking-server" */
	const char *title; /* "the blocking server" */
	const struct check *checks;
	size_t nchecks;
	/* Once before the checks: the files its servers serve. 0 or -errno. */
	int (*setup)(struct grader *g);
	/* Requests a server runs through under valgrind before SIGTERM; it may
	 * leave connections open (the server must free them when it stops),
	 * which leak_cleanup, if set, closes after the server has exited. */
	void (*leak_scenario)(struct grader *g, int port);
	void (*leak_cleanup)(struct grader *g);
	/* Address space for its unit tests, if not LIMITS_TEST's (lab 7's
	 * writer test maps 4 GiB of zero pages it never touches). */
	long unit_mem_mb;
};

struct unit_case {
	char name[128];
	bool passed;
	char message[512];
};

struct grader {
	const char *repo; /* the course checkout */
	const struct lab *lab;
	const char *impl;       /* labs | solutions */
	const char *submission; /* a folder with the student's files, or NULL */
	const char *ref;        /* "1,2": earlier labs from solutions/ */
	bool hidden;
	bool verbose;
	const char *compile_cache; /* --compile-cache: ccache's folder, or NULL */

	char scratch[PATH_MAX]; /* this grading's folder, removed at the end */
	char box[PATH_MAX];     /* scratch/box: all that student code sees */
	char priv[PATH_MAX];    /* scratch/private: the grader's alone (logs,
	                           hidden tests); the sandbox cannot reach it */
	char bin[PATH_MAX];     /* box/build/labN */
	char run[PATH_MAX];     /* box/run: writable by the sandbox uid */
	char www[PATH_MAX];     /* box/www: the --root given to servers */

	bool built;
	char *build_log;
	char notes[1024]; /* about the submission's files, shown by the build */

	/* Set when the only unit check selected (--only) is this test: the
	 * test programs then run that test alone (CK_RUN_CASE), so that a
	 * mutant that hangs every other test does not wait out each one. */
	const char *unit_case;
	bool units_ran;
	struct unit_case *units;
	size_t nunits;
	char units_note[512]; /* how the test programs ended */

	struct vg_run *leaks;  /* the leak stage's one valgrind run */
	char start_failed[64]; /* the first check whose server did not start */
};

/* The scratch copy (build.c). What its tools (cp, make) print goes to
 * private/PREPARE_LOG, which explains a failure. */
#define PREPARE_LOG "prepare.log"

/* Before anything is made: each lab the grading takes from solutions/
 * (all with --impl solutions, else the --ref ones) is there; a student's
 * copy of the course holds only the references released so far. Returns 0
 * or -ENOENT, with a sentence saying what to do in why. */
int grader_refs_released(const struct grader *g, char *why, size_t cap);

/* Fills g->box: the course's labs/ and mk/, the hidden tests' objects, the
 * submission's files laid over. Returns 0 or a negative errno, with why. */
int grader_prepare(struct grader *g, char *why, size_t cap);

/* Appends to the check's output (printf-style). */
void result_printf(struct result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Puts text before the check's output (printf-style). */
void result_prepend(struct result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "build", "unit", ... */
const char *stage_name(enum stage s);

/* Limits for student code (sandbox.h), tuned per use. */
extern const struct sbx_limits LIMITS_TEST, LIMITS_SERVER, LIMITS_VALGRIND;

/* Generic checks any lab can list. */
enum verdict check_build(struct grader *g, const struct check *c,
                         struct result *r);
/* arg: the Check test function's name. */
enum verdict check_unit(struct grader *g, const struct check *c,
                        struct result *r);

/* The quiz stage (quiz.c): arg "q1" is scored from the lab's answers.txt
 * against autograder/hidden/NN-name/quiz.key. */
enum verdict check_quiz(struct grader *g, const struct check *c,
                        struct result *r);

/* The leak stage (valgrind.c): one memcheck run of the lab's server through
 * its leak_scenario and SIGTERM, shared by the three checks. */
enum verdict check_leaks_memory(struct grader *g, const struct check *c,
                                struct result *r);
enum verdict check_leaks_invalid(struct grader *g, const struct check *c,
                                 struct result *r);
enum verdict check_leaks_fds(struct grader *g, const struct check *c,
                             struct result *r);
void leaks_free(struct grader *g);

/* The races stage (races.c): arg "PROGRAM:TEST" runs that one Check test
 * of the lab's test program under helgrind (--fair-sched=yes); it passes
 * when the test passes and helgrind reports no error. */
enum verdict check_races_helgrind(struct grader *g, const struct check *c,
                                  struct result *r);

/* Paths: snprintf into buf, returning buf. */
const char *path_join(char *buf, const char *a, const char *b);

/* Rows of a lab's table: a public unit test (test_NAME), a hidden one
 * (test_hidden_NAME), and lab K's check NAME run again, in the stage it had
 * in lab K: AGAIN(latency, 3, sleep_1000, ...) is "latency.lab3.sleep_1000".
 * One rule for every re-run, so that a name says where the check came from
 * and a student finds it under the same stage in both labs. */
#define UNIT(test, pts, hint)                                                  \
	{                                                                      \
		"unit." #test, STAGE_UNIT, pts, check_unit, hint,              \
		    "test_" #test, false                                       \
	}
#define HIDDEN(test, pts, hint)                                                \
	{                                                                      \
		"unit.hidden." #test, STAGE_UNIT, pts, check_unit, hint,       \
		    "test_hidden_" #test, true                                 \
	}
/* A question of the lab's quiz (quiz.md): 1 point, hidden (its key is). */
#define QUIZ(q)                                                                \
	{                                                                      \
		"quiz." #q, STAGE_QUIZ, 1, check_quiz,                         \
		    "answer it in the lab's answers.txt (make quiz LAB=N "     \
		    "asks "                                                    \
		    "you); quiz.md says how to measure it",                    \
		    #q, true                                                   \
	}
#define AGAIN_NAME(stage, k, name) #stage ".lab" #k "." #name
#define AGAIN(stage, k, name, fn, pts, hint)                                   \
	{                                                                      \
		AGAIN_NAME(stage, k, name), STAGE_##stage, pts, fn, hint,      \
		    NULL, false                                                \
	}

/* The labs the grader knows register themselves (registry.c): each labN.c
 * ends with GRADER_LAB(its struct lab), which hands it over from a
 * constructor, before main() runs. Adding a lab is adding its file; the
 * Makefile builds every src/labN.c. */
void grader_register(const struct lab *lab);
#define GRADER_LAB(lab)                                                        \
	__attribute__((constructor)) static void register_##lab(void)          \
	{                                                                      \
		grader_register(&lab);                                         \
	}

/* The registered labs, in number order; *n says how many. */
const struct lab *const *grader_labs(size_t *n);

#endif
