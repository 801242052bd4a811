/* grade.c - the autograder's driver: options, the scratch copy, the stages
 * in order, the reports and the exit status (0 all passed, 1 some failed,
 * 2 the grader itself failed). It knows nothing about any particular lab. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "coverage.h"
#include "grader.h"
#include "probe.h"
#include "report.h"
#include "util.h"

enum { MAX_CHECKS = 128 };

/* The signal that told the grader to stop (SIGINT, SIGTERM, SIGHUP), or 0.
 * Set by the handler, whichever thread runs it: a lock-free atomic. */
static atomic_int stop_signal;
/* The one line saying so has been printed. */
static bool said_interrupted;

enum format { FORMAT_TEXT, FORMAT_JSON, FORMAT_JUNIT, FORMAT_TAP, FORMAT_TSV };

static const char *const format_names[] = {"text", "json", "junit", "tap",
                                           "tsv"};

/* A report and where it goes: the main one (--format, --output: stdout when
 * path is NULL) or an extra file (--json, --tsv, --junit, --tap). */
struct sink {
	enum format format;
	const char *path;
	FILE *f;
	size_t tap_number; /* TAP: the last test point written */
};

enum { MAX_SINKS = 5 };

struct options {
	int lab;
	bool all;
	enum format format;
	const char *impl, *submission, *ref, *output, *tsv, *json, *junit, *tap,
	    *only;
	const char *coverage_dir; /* with coverage: where its files go */
	const char *compile_cache; /* ccache's folder, shared by gradings */
	bool hidden, coverage, keep, list;
	int colour;
	enum sbx_mode sandbox;
	int budget_s;
	char repo[PATH_MAX];
};

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: autograder/grade [options]\n"
	    "  --lab N             the lab to grade (default 1)\n"
	    "  --all               every lab, one after the other\n"
	    "  --impl labs|solutions  whose code: the student's (default) or "
	    "the reference\n"
	    "  --submission DIR    grade the files in DIR instead of labs/ "
	    "(either DIR/NN-name/FILE\n"
	    "                      or DIR/FILE, e.g. Gradescope's "
	    "/autograder/submission)\n"
	    "  --ref 1,2           take these earlier labs from solutions/\n"
	    "  --format FORMAT     text (default), json (Gradescope's "
	    "results.json), junit\n"
	    "                      (JUnit XML for CI: GitHub Actions, GitLab) "
	    "or tap (TAP 13)\n"
	    "  --output FILE       write the report to FILE instead of stdout\n"
	    "  --gradescope        = --format json --output "
	    "/autograder/results/results.json\n"
	    "  --json FILE         also write results.json to FILE\n"
	    "  --junit FILE        also write JUnit XML to FILE\n"
	    "  --tap FILE          also write TAP to FILE\n"
	    "  --tsv FILE          also write "
	    "'name<TAB>status<TAB>score<TAB>max' lines to FILE\n"
	    "  --hidden, --no-hidden  run the hidden tests or not (default: "
	    "when autograder/hidden exists)\n"
	    "  --only A,B          run only these checks (and the build)\n"
	    "  --budget SECONDS    the time a lab's grading may take "
	    "(default 300)\n"
	    "  --sandbox MODE      auto (default), namespaces, permissions "
	    "or plain:\n"
	    "                      how student code is confined "
	    "(autograder/README.md)\n"
	    "  --coverage          then run the checks again on a --coverage "
	    "build: the lines\n"
	    "                      of your files they ran (not scored), in "
	    "the report, as\n"
	    "                      HTML and as text in DIR/coverage-labN/\n"
	    "  --coverage-dir DIR  (implies --coverage) default: --output's "
	    "folder, else build/\n"
	    "  --compile-cache DIR ccache's folder, shared by gradings of "
	    "the course's own\n"
	    "                      code (its self-test): never for students' "
	    "submissions,\n"
	    "                      one could plant objects another's build "
	    "links\n"
	    "  --keep              keep the scratch folder (say where); also "
	    "GRADE_KEEP_SCRATCH=1\n"
	    "  --no-colour         plain text even on a terminal\n"
	    "  --list              grade nothing: print the lab's checks, one "
	    "per line:\n"
	    "                      lab<TAB>name<TAB>stage<TAB>points<TAB>"
	    "public|hidden\n"
	    "SIGINT, SIGTERM, SIGHUP: what the grading runs is killed, its "
	    "scratch folder\n"
	    "removed (unless --keep), no report written, exit status 2\n"
	    "exit status: 0 every check passed, 1 some failed, 2 the grader "
	    "failed\n");
}

/* Where name is among the first n of names, or -1. (An int: an enum that
 * has no negative value may be unsigned, and never compare below 0.) */
static int name_index(const char *name, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

/* The course and the submission are folders that exist: said now, not as a
 * copy that fails or a submission silently replaced by the starter. */
static int check_folders(const struct options *o)
{
	char labs[PATH_MAX + 8];
	struct stat st;

	snprintf(labs, sizeof(labs), "%s/labs", o->repo);
	if (stat(labs, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr,
		        "grade: %s is not the course (it has no labs/ folder): "
		        "give --repo the course's folder, or run the grader "
		        "from it\n",
		        o->repo);
		return -1;
	}
	if (!o->submission)
		return 0;
	if (stat(o->submission, &st) < 0) {
		fprintf(stderr, "grade: --submission %s: %s\n", o->submission,
		        strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "grade: --submission %s is not a folder\n",
		        o->submission);
		return -1;
	}
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
	    {"lab", 1, 0, 'l'},      {"all", 0, 0, 'a'},
	    {"impl", 1, 0, 'i'},     {"submission", 1, 0, 's'},
	    {"ref", 1, 0, 'r'},      {"format", 1, 0, 'f'},
	    {"output", 1, 0, 'o'},   {"gradescope", 0, 0, 'g'},
	    {"tsv", 1, 0, 't'},      {"json", 1, 0, 'j'},
	    {"hidden", 0, 0, 'H'},   {"no-hidden", 0, 0, 'N'},
	    {"only", 1, 0, 'O'},     {"sandbox", 1, 0, 'S'},
	    {"budget", 1, 0, 'B'},   {"no-colour", 0, 0, 'C'},
	    {"no-color", 0, 0, 'C'}, {"repo", 1, 0, 'R'},
	    {"coverage", 0, 0, 'c'}, {"coverage-dir", 1, 0, 'D'},
	    {"list", 0, 0, 'L'},     {"junit", 1, 0, 'J'},
	    {"tap", 1, 0, 'T'},      {"keep", 0, 0, 'K'},
	    {"compile-cache", 1, 0, 'X'},
	    {"help", 0, 0, 'h'},     {0, 0, 0, 0},
	};
	static const char *const modes[] = {"auto", "namespaces", "permissions",
	                                    "plain"};
	char hidden_dir[PATH_MAX + 32];
	int opt, k, hidden = -1;

	*o = (struct options){.lab = 1,
	                      .impl = "labs",
	                      .keep = getenv("GRADE_KEEP_SCRATCH") != NULL,
	                      .format = FORMAT_TEXT,
	                      .colour = -1,
	                      .budget_s = BUDGET_S_DEFAULT};
	while ((opt = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (opt) {
		case 'l':
			o->lab = atoi(optarg);
			break;
		case 'a':
			o->all = true;
			break;
		case 'i':
			o->impl = optarg;
			break;
		case 's':
			o->submission = optarg;
			break;
		case 'r':
			o->ref = optarg;
			break;
		case 'f':
			/* tsv is for --tsv FILE. */
			if ((k = name_index(optarg, format_names, FORMAT_TSV)) <
			    0) {
				fprintf(stderr, "grade: --format must be text, "
				                "json, junit or tap\n");
				return -1;
			}
			o->format = k;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'g':
			o->format = FORMAT_JSON;
			o->output = "/autograder/results/results.json";
			break;
		case 't':
			o->tsv = optarg;
			break;
		case 'j':
			o->json = optarg;
			break;
		case 'J':
			o->junit = optarg;
			break;
		case 'T':
			o->tap = optarg;
			break;
		case 'K':
			o->keep = true;
			break;
		case 'X':
			o->compile_cache = optarg;
			break;
		case 'H':
			hidden = 1;
			break;
		case 'N':
			hidden = 0;
			break;
		case 'O':
			o->only = optarg;
			break;
		case 'C':
			o->colour = 0;
			break;
		case 'D':
			o->coverage_dir = optarg;
			/* fall through */
		case 'c':
			o->coverage = true;
			break;
		case 'B':
			if ((o->budget_s = atoi(optarg)) <= TEARDOWN_S) {
				fprintf(stderr, "grade: --budget must be a "
				                "number of seconds\n");
				return -1;
			}
			break;
		case 'S':
			if ((k = name_index(optarg, modes, 4)) < 0) {
				fprintf(stderr,
				        "grade: --sandbox must be auto, "
				        "namespaces, permissions or "
				        "plain\n");
				return -1;
			}
			o->sandbox = k;
			break;
		case 'R':
			snprintf(o->repo, sizeof(o->repo), "%s", optarg);
			break;
		case 'L':
			o->list = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (strcmp(o->impl, "labs") && strcmp(o->impl, "solutions")) {
		fprintf(stderr, "grade: --impl must be labs or solutions\n");
		return -1;
	}
	if (!o->repo[0] && !realpath(".", o->repo)) {
		fprintf(stderr, "grade: cannot find the current folder: %s\n",
		        strerror(errno));
		return -1;
	}
	if (check_folders(o) < 0)
		return -1;
	snprintf(hidden_dir, sizeof(hidden_dir), "%s/autograder/hidden",
	         o->repo);
	o->hidden = hidden >= 0 ? hidden : access(hidden_dir, R_OK) == 0;
	if (o->hidden && access(hidden_dir, R_OK) != 0) {
		fprintf(stderr, "grade: --hidden, but %s does not exist\n",
		        hidden_dir);
		return -1;
	}
	return 0;
}

static bool selected(const struct options *o, const struct check *c)
{
	if (c->hidden && !o->hidden)
		return false;
	if (!o->only || c->stage == STAGE_BUILD)
		return true;
	size_t n = strlen(c->name);
	for (const char *p = o->only; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && !strncmp(p, c->name, n))
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

/* scratch/ holds box/ (the sandbox's view: the course's labs/ and mk/ with
 * the submission laid over, build/, run/, tmp/ and www/) and private/ (the
 * grader's logs and hidden tests, which no student program can reach). */
static int make_scratch(struct grader *g, char *why, size_t cap)
{
	const char *tmp = getenv("TMPDIR");
	const char *const dirs[] = {g->box, g->priv, g->www};
	const mode_t modes[] = {0755, 0700, 0755};
	int rc;

	tmp = tmp && *tmp ? tmp : "/tmp";
	snprintf(g->scratch, sizeof(g->scratch), "%s/grade-XXXXXX", tmp);
	if (!mkdtemp(g->scratch)) {
		rc = -errno;
		snprintf(why, cap, "cannot create a scratch folder in %s: %s",
		         tmp, strerror(-rc));
		g->scratch[0] = '\0'; /* nothing to remove */
		return rc;
	}
	/* The sandbox uid must reach the box inside. */
	chmod(g->scratch, 0755);
	path_join(g->box, g->scratch, "box");
	path_join(g->priv, g->scratch, "private");
	snprintf(g->bin, sizeof(g->bin), "%s/build/lab%d", g->box,
	         g->lab->number);
	path_join(g->run, g->box, "run");
	path_join(g->www, g->box, "www");
	for (int i = 0; i < 3; i++)
		if (mkdir(dirs[i], modes[i]) < 0) {
			rc = -errno;
			snprintf(why, cap, "cannot make %s: %s", dirs[i],
			         strerror(-rc));
			return rc;
		}
	if ((rc = sbx_mkdir(g->run)) < 0) {
		snprintf(why, cap, "cannot make %s: %s", g->run, strerror(-rc));
		return rc;
	}
	return sbx_set_box(g->box, g->repo, why, cap);
}

/* The last lines of the log in which the scratch copy's tools explain a
 * failure, on stderr before the scratch folder is removed: otherwise the
 * cause would be removed with it. */
static void print_prepare_log(const struct grader *g)
{
	enum { TAIL_BYTES = 4096, TAIL_LINES = 12, LINE_SHOWN = 300 };
	char path[PATH_MAX];
	char *text =
	    g->priv[0]
	        ? read_tail(path_join(path, g->priv, PREPARE_LOG), TAIL_BYTES)
	        : NULL;
	int lines = 0;

	/* The last line may lack its '\n'. */
	for (const char *p = text; p && *p; lines++) {
		p += strcspn(p, "\n");
		p += *p == '\n';
	}
	if (lines > 0)
		fprintf(stderr, "grade: the last lines of its log:\n");
	for (const char *p = text; p && *p; lines--) {
		size_t n = strcspn(p, "\n");

		if (lines <= TAIL_LINES) {
			fputs("grade:   ", stderr);
			fput_visible(stderr, p,
			             n < LINE_SHOWN ? n : LINE_SHOWN);
			fputc('\n', stderr);
		}
		p += n + (p[n] == '\n');
	}
	free(text);
}

static int lab_setup(struct grader *g, char *why, size_t cap)
{
	int rc = g->lab->setup ? g->lab->setup(g) : 0;

	if (rc < 0)
		snprintf(why, cap,
		         "cannot write the files lab %d's servers "
		         "serve into %s: %s",
		         g->lab->number, g->www, strerror(-rc));
	return rc;
}

/* Everything before the first check, each failure said on stderr: a
 * reference that is not there (before anything is made), the scratch
 * folder, the scratch copy, the lab's files. */
static int prepare(struct grader *g)
{
	char why[PATH_MAX + 400] = "";
	int rc;

	if ((rc = grader_refs_released(g, why, sizeof(why))) < 0 ||
	    (rc = make_scratch(g, why, sizeof(why))) < 0) {
		fprintf(stderr, "grade: %s\n", why);
		return -1;
	}
	if ((rc = grader_prepare(g, why, sizeof(why))) < 0 ||
	    (rc = lab_setup(g, why, sizeof(why))) < 0) {
		/* Ctrl-C also stops the tools in the grader's process
		 * group (cp, make): that is no error of theirs. */
		if (stop_signal)
			return -1;
		fprintf(stderr, "grade: cannot prepare the scratch copy: %s\n",
		        why[0] ? why : strerror(-rc));
		print_prepare_log(g);
		return -1;
	}
	return 0;
}

static const char *signal_name(int sig)
{
	return sig == SIGINT    ? "SIGINT"
	       : sig == SIGTERM ? "SIGTERM"
	       : sig == SIGHUP  ? "SIGHUP"
	                        : "a signal";
}

/* The one line an interrupted grading prints; kept: the scratch folder
 * that --keep kept, or NULL. */
static void say_interrupted(const char *kept)
{
	fprintf(stderr, "grade: interrupted (%s); scratch folder %s%s\n",
	        signal_name(stop_signal), kept ? "kept in " : "removed",
	        kept ? kept : "");
	said_interrupted = true;
}

/* Frees g and removes its scratch folder, unless keep (--keep). */
static void free_grader(struct grader *g, bool keep)
{
	bool kept = g->scratch[0] && keep;

	free(g->build_log);
	free(g->units);
	leaks_free(g);
	/* Each check kills what it ran; after a stop, make sure. */
	if (stop_signal)
		sbx_kill_all();
	if (g->scratch[0] && !keep)
		remove_tree(g->scratch);
	if (stop_signal)
		say_interrupted(kept ? g->scratch : NULL);
	else if (kept)
		fprintf(stderr, "grade: scratch folder kept in %s\n",
		        g->scratch);
}

/* Where the coverage pass puts its files: DIR/coverage-labN, DIR being
 * --coverage-dir, or --output's folder, or the course's build/ (outside the
 * scratch copy, which is removed). */
static void coverage_dest(const struct options *o, const struct lab *lab,
                          char *buf, size_t cap)
{
	char dir[PATH_MAX];
	const char *slash = o->output ? strrchr(o->output, '/') : NULL;

	if (o->coverage_dir)
		snprintf(dir, sizeof(dir), "%s", o->coverage_dir);
	else if (o->output)
		snprintf(dir, sizeof(dir), "%.*s",
		         slash ? (int)(slash - o->output) : 1,
		         slash ? o->output : ".");
	else
		snprintf(dir, sizeof(dir), "%s/build", o->repo);
	snprintf(buf, cap, "%s/coverage-lab%d", dir[0] ? dir : "/",
	         lab->number);
}

static void write_report(struct sink *k, const struct report *rp, int colour)
{
	switch (k->format) {
	case FORMAT_TEXT:
		report_text(k->f, rp, colour);
		break;
	case FORMAT_JSON:
		report_json(k->f, rp);
		break;
	case FORMAT_JUNIT:
		report_junit(k->f, rp);
		break;
	case FORMAT_TAP:
		report_tap(k->f, rp, &k->tap_number);
		break;
	case FORMAT_TSV:
		report_tsv(k->f, rp);
		break;
	}
}

/* The unit test to run alone (CK_RUN_CASE): the only unit check --only
 * selects, if it selects one. */
static const char *single_unit(const struct options *o, const struct lab *lab)
{
	const char *one = NULL;
	int units = 0;

	for (size_t i = 0; i < lab->nchecks; i++) {
		const struct check *c = &lab->checks[i];

		if (c->stage == STAGE_UNIT && selected(o, c)) {
			units++;
			one = c->arg;
		}
	}
	return units == 1 && o->only ? one : NULL;
}

/* Runs the lab's selected checks in order, into rp, until a stop signal.
 * Later stages run even after a failed build: whatever did build (say the
 * server, when only a test failed to link) earns its points, and what did
 * not says so in its own message. */
static void run_checks(const struct options *o, struct grader *g,
                       struct bounds *b, struct report *rp, bool *all_passed)
{
	const struct lab *lab = g->lab;

	for (size_t i = 0; i < lab->nchecks && rp->n < MAX_CHECKS; i++) {
		const struct check *c = &lab->checks[i];
		struct result *r = &rp->results[rp->n];

		if (stop_signal)
			return;
		if (!selected(o, c))
			continue;
		rp->checks[rp->n++] = c;
		bounds_run(b, g, c, r);
		if (c->stage != STAGE_EXPERIMENT && r->verdict != PASS)
			*all_passed = false;
	}
}

/* Grades one lab and writes its reports. Returns 0, or -1 when the grader
 * failed (said on stderr) or was stopped: then no report is written. */
static int grade_lab(const struct options *o, const struct lab *lab,
                     struct sink *sinks, size_t nsinks, bool *all_passed)
{
	struct grader g = {.repo = o->repo,
	                   .lab = lab,
	                   .impl = o->impl,
	                   .submission = o->submission,
	                   .ref = o->ref,
	                   .hidden = o->hidden,
	                   .compile_cache = o->compile_cache};
	static const struct check *run[MAX_CHECKS];
	static struct result results[MAX_CHECKS];
	char preamble[PATH_MAX + 800];
	struct report rp = {.lab = lab,
	                    .checks = run,
	                    .results = results,
	                    .preamble = preamble};
	double start = probe_now_ms();
	struct bounds b;
	int rc;

	memset(results, 0, sizeof(results));
	if (prepare(&g) < 0 || stop_signal) {
		free_grader(&g, o->keep);
		return -1;
	}
	snprintf(preamble, sizeof(preamble),
	         "graded: %s%s%s; hidden tests %s; time budget %d s\n"
	         "sandbox: %s",
	         o->submission ? o->submission : o->impl,
	         o->ref ? ", reference labs " : "", o->ref ? o->ref : "",
	         o->hidden ? "included" : "not included", o->budget_s,
	         sbx_mode_text());
	if ((rc = bounds_begin(&b, &g, start, o->budget_s, &DISK_BUDGET)) < 0) {
		fprintf(stderr, "grade: cannot start the watchdog: %s\n",
		        strerror(-rc));
		free_grader(&g, o->keep);
		return -1;
	}
	g.unit_case = single_unit(o, lab);
	run_checks(o, &g, &b, &rp, all_passed);
	/* Unscored, after the scores are settled; within the budget. */
	struct result cov = {0};
	if (o->coverage && !stop_signal) {
		char dest[PATH_MAX];

		coverage_dest(o, lab, dest, sizeof(dest));
		coverage_pass(&g, &b, run, rp.n, dest,
		              o->submission ? o->submission : o->impl, &cov);
		rp.coverage = cov.out ? cov.out : "";
	}
	bounds_end(&b);
	rp.seconds = (probe_now_ms() - start) / 1000;
	for (size_t i = 0; i < nsinks && !stop_signal; i++)
		write_report(&sinks[i], &rp, o->colour);
	for (size_t i = 0; i < rp.n; i++)
		free(results[i].out);
	free(cov.out);
	free_grader(&g, o->keep);
	return stop_signal ? -1 : 0;
}

/* The checks a grading will run (as grade_lab selects them): TAP's plan
 * comes before the first of them. */
static size_t planned_checks(const struct options *o,
                             const struct lab *const *labs, size_t nlabs)
{
	size_t total = 0;

	for (size_t i = 0; i < nlabs; i++) {
		size_t n = 0;

		if (!o->all && labs[i]->number != o->lab)
			continue;
		for (size_t k = 0; k < labs[i]->nchecks; k++)
			n += selected(o, &labs[i]->checks[k]);
		total += n < MAX_CHECKS ? n : MAX_CHECKS;
	}
	return total;
}

/* The main report (stdout, or --output), then each extra file asked for. */
static size_t list_sinks(const struct options *o, struct sink *sinks)
{
	size_t n = 0;

	sinks[n++] = (struct sink){.format = o->format, .path = o->output};
	if (o->tsv)
		sinks[n++] =
		    (struct sink){.format = FORMAT_TSV, .path = o->tsv};
	if (o->json)
		sinks[n++] =
		    (struct sink){.format = FORMAT_JSON, .path = o->json};
	if (o->junit)
		sinks[n++] =
		    (struct sink){.format = FORMAT_JUNIT, .path = o->junit};
	if (o->tap)
		sinks[n++] =
		    (struct sink){.format = FORMAT_TAP, .path = o->tap};
	return n;
}

/* Opens every report's file and starts the documents that hold every lab
 * (JUnit, TAP). Returns 0, or -1 having said which file failed. */
static int open_sinks(struct sink *sinks, size_t n, size_t planned)
{
	for (size_t i = 0; i < n; i++) {
		struct sink *k = &sinks[i];

		k->f = k->path ? fopen(k->path, "w") : stdout;
		if (!k->f) {
			fprintf(stderr, "grade: cannot write %s: %s\n", k->path,
			        strerror(errno));
			return -1;
		}
		if (k->format == FORMAT_JUNIT)
			junit_begin(k->f);
		else if (k->format == FORMAT_TAP)
			tap_begin(k->f, planned);
	}
	return 0;
}

/* --list: the table as data, for scripts (the handouts' local maxima,
 * batch's gradebook columns). Hidden checks are listed whether or not
 * this copy has their tests: a student's copy still counts them. */
static int list_checks(const struct options *o, const struct lab *const *known,
                       size_t nlabs)
{
	int listed = 0;

	for (size_t i = 0; i < nlabs; i++) {
		const struct lab *lab = known[i];

		if (!o->all && lab->number != o->lab)
			continue;
		for (size_t k = 0; k < lab->nchecks; k++) {
			const struct check *c = &lab->checks[k];

			printf("%d\t%s\t%s\t%d\t%s\n", lab->number, c->name,
			       stage_name(c->stage),
			       c->stage == STAGE_EXPERIMENT ? 0 : c->points,
			       c->hidden ? "hidden" : "public");
		}
		listed++;
	}
	if (!listed) {
		fprintf(stderr, "grade: there is no lab %d (yet)\n", o->lab);
		return 2;
	}
	return 0;
}

/* Ends the documents and closes the files. why: set when the grading
 * stopped early, which TAP says ("Bail out!"); the JUnit document is ended
 * all the same, so that it stays well-formed. */
static void close_sinks(struct sink *sinks, size_t n, const char *why)
{
	for (size_t i = 0; i < n; i++) {
		struct sink *k = &sinks[i];

		if (!k->f)
			continue;
		if (k->format == FORMAT_JUNIT)
			junit_end(k->f);
		else if (k->format == FORMAT_TAP && why)
			tap_bail_out(k->f, why);
		if (k->f != stdout)
			fclose(k->f);
		else
			fflush(k->f);
		k->f = NULL;
	}
}

/* Only what is safe in a signal handler: the flag, and the deadline that
 * ends the running check at once (probe_interrupt: the watchdog kills what
 * the sandbox runs, every wait of the probe ends). The driver then stops
 * after that check and cleans up as after any grading. A second signal
 * changes nothing: the clean-up takes a second or two. */
static void on_stop_signal(int sig)
{
	int none = 0;

	atomic_compare_exchange_strong(&stop_signal, &none, sig);
	probe_interrupt();
}

/* SIGINT (Ctrl-C), SIGTERM (kill, a cancelled CI job), SIGHUP (a closed
 * terminal). One ignored on entry (nohup, a background job of a script)
 * stays ignored. SA_RESTART: no system call sees EINTR for it but those
 * that always do (poll, nanosleep), whose loops go on. */
static void catch_stop_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_stop_signal,
	                       .sa_flags = SA_RESTART},
	                 old;

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], NULL, &old) == 0 &&
		    old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

/* What the whole process needs before grading. Returns 0, or -1 having
 * said why. */
static int setup_process(const struct options *o)
{
	struct rlimit nofile;
	int rc;

	catch_stop_signals();
	/* A server that vanishes must not kill the grader that talks to it. */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = sbx_init(o->sandbox)) == -ENOTSUP) {
		fprintf(stderr,
		        "grade: that sandbox is not available here: %s\n",
		        sbx_mode_text());
		return -1;
	} else if (rc < 0) {
		fprintf(stderr,
		        "grade: cannot become the reaper of sandboxed "
		        "processes (prctl): %s\n",
		        strerror(-rc));
		return -1;
	}
	if (o->compile_cache && (o->compile_cache[0] != '/' ||
	                         access(o->compile_cache, W_OK) != 0 ||
	                         sbx_share(o->compile_cache) < 0)) {
		fprintf(stderr,
		        "grade: --compile-cache needs the absolute path of a "
		        "folder anyone may write\n");
		return -1;
	}
	/* Checks that hold a thousand connections need as many descriptors. */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		nofile.rlim_cur =
		    nofile.rlim_max > 65536 ? 65536 : nofile.rlim_max;
		setrlimit(RLIMIT_NOFILE, &nofile);
	}
	return 0;
}

/* Ends a grading that failed (said on stderr) or was stopped (said here,
 * unless a lab's clean-up did): the reports are closed, TAP's with a
 * "Bail out!". Returns the exit status: 2. */
static int give_up(struct sink *sinks, size_t n, const char *why)
{
	char stopped[64];

	if (stop_signal) {
		if (!said_interrupted)
			say_interrupted(NULL);
		snprintf(stopped, sizeof(stopped), "interrupted (%s)",
		         signal_name(stop_signal));
		why = stopped;
	}
	close_sinks(sinks, n, why);
	return 2;
}

int main(int argc, char **argv)
{
	struct options o;
	struct sink sinks[MAX_SINKS] = {0};
	bool all_passed = true;
	int graded = 0;
	size_t nlabs, nsinks;
	const struct lab *const *known = grader_labs(&nlabs);

	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (o.list)
		return list_checks(&o, known, nlabs);
	if (setup_process(&o) < 0)
		return 2;
	nsinks = list_sinks(&o, sinks);
	if (open_sinks(sinks, nsinks, planned_checks(&o, known, nlabs)) < 0)
		return give_up(sinks, nsinks,
		               "the grader cannot write a report");
	if (o.colour < 0)
		o.colour = !o.output && isatty(1) && !getenv("NO_COLOR");
	for (size_t i = 0; i < nlabs; i++) {
		if (!o.all && known[i]->number != o.lab)
			continue;
		if (stop_signal ||
		    grade_lab(&o, known[i], sinks, nsinks, &all_passed) < 0)
			return give_up(sinks, nsinks,
			               "the grader failed; its error output "
			               "says why");
		graded++;
	}
	if (stop_signal)
		return give_up(sinks, nsinks, NULL);
	if (sbx_leftovers() > 0) {
		fprintf(
		    stderr,
		    "grade: %d sandboxed process(es) survived their check: the "
		    "sandbox failed; results are not trustworthy\n",
		    sbx_leftovers());
		return give_up(sinks, nsinks, "sandboxed processes survived");
	}
	if (!graded) {
		fprintf(stderr, "grade: there is no lab %d (yet)\n", o.lab);
		return give_up(sinks, nsinks, "no such lab");
	}
	close_sinks(sinks, nsinks, NULL);
	return all_passed ? 0 : 1;
}
