/* coverage.c - the coverage pass (coverage.h): the lab built again with
 * gcov's counters, the checks run again on it, gcovr in the sandbox, and
 * what it found as a report section, HTML pages and a text file.
 *
 * Everything gcovr writes is the sandbox's: its inputs (.gcda files) were
 * written by the student's programs. So gcovr runs in the sandbox, and its
 * files are read here as untrusted (read_untrusted, size-capped), parsed
 * defensively, and shown through the report's sanitising writers.
 */
#include "coverage.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "probe.h"
#include "report.h"
#include "util.h"

enum {
	COVERAGE_S = 150,  /* the whole pass: build, checks again, gcovr */
	GCOVR_S = 15,      /* of it, kept for gcovr (the references: 1-2 s) */
	MIN_S = 30,        /* less left than this: not worth starting */
	SHOWN_LINES = 40,  /* lines listed in the report; all in coverage.txt */
	MAX_EDITED = 16,   /* files a lab's students edit */
	OUT_CAP = 8 << 20, /* bytes of a gcovr report read */
	SOURCE_CAP = 1 << 20, /* bytes of a source file quoted */
	HTML_FILES = 64,      /* pages copied out of the box */
	HTML_CAP = 4 << 20,   /* bytes of one page */
	QUOTE_MAX = 100,      /* bytes of a source line quoted */
};

/* ---- gcovr's reports ------------------------------------------------------
 */

static int csv_column(const char *line, size_t n, const char *name)
{
	size_t len = strlen(name);
	int col = 0;

	for (const char *p = line, *end = line + n; p < end; col++) {
		size_t k = strcspn(p, ",\r\n");
		if (p + k > end)
			k = (size_t)(end - p);
		if (k == len && !strncmp(p, name, len))
			return col;
		p += k + 1;
	}
	return -1;
}

/* Field col of a row (n bytes), as a number; -1 when absent. */
static long csv_number(const char *row, size_t n, int col)
{
	const char *p = row, *end = row + n;

	for (int i = 0; i < col && p < end; i++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		if (!comma)
			return -1;
		p = comma + 1;
	}
	if (p >= end || *p < '0' || *p > '9')
		return -1;
	return strtol(p, NULL, 10);
}

static struct cov_file *add_file(struct coverage *cv)
{
	struct cov_file *f =
	    realloc(cv->files, (cv->nfiles + 1) * sizeof(*cv->files));

	if (!f)
		return NULL;
	cv->files = f;
	f = &cv->files[cv->nfiles++];
	memset(f, 0, sizeof(*f));
	return f;
}

int coverage_parse_csv(struct coverage *cv, const char *csv)
{
	enum { NAME, LINES, LINES_RUN, BRANCHES, TAKEN, NCOLS };
	static const char *const names[NCOLS] = {"filename", "line_total",
	                                         "line_covered", "branch_total",
	                                         "branch_covered"};
	size_t n = strcspn(csv, "\n");
	int col[NCOLS], added = 0;

	for (int i = 0; i < NCOLS; i++)
		if ((col[i] = csv_column(csv, n, names[i])) < 0)
			return -EINVAL;
	if (col[NAME] != 0)
		return -EINVAL; /* the name is read as the first field */
	for (const char *p = csv + n + (csv[n] == '\n'); *p;) {
		size_t len = strcspn(p, "\n"), name = strcspn(p, ",");
		const char *row = p;
		long v[NCOLS];
		bool ok = name < len && name < sizeof(cv->files->name) &&
		          !memchr(row, '"', len);

		p += len + (p[len] == '\n');
		for (int i = LINES; ok && i < NCOLS; i++)
			ok = (v[i] = csv_number(row, len, col[i])) >= 0;
		struct cov_file *f = ok ? add_file(cv) : NULL;
		if (!f)
			continue; /* quoted or cut short: not gcovr's */
		memcpy(f->name, row, name);
		f->name[name] = '\0';
		f->lines = v[LINES];
		f->lines_run = v[LINES_RUN];
		f->branches = v[BRANCHES];
		f->branches_taken = v[TAKEN];
		added++;
	}
	return added;
}

/* XML's five entities, in text copied from src (n bytes) into buf. */
static void xml_unescape(const char *src, size_t n, char *buf, size_t cap)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = {{"&lt;", '<'},
	            {"&gt;", '>'},
	            {"&amp;", '&'},
	            {"&quot;", '"'},
	            {"&apos;", '\''}};
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		char c = src[i];

		for (size_t e = 0;
		     c == '&' && e < sizeof(ents) / sizeof(ents[0]); e++) {
			size_t k = strlen(ents[e].ent);
			if (i + k <= n && !strncmp(src + i, ents[e].ent, k)) {
				c = ents[e].c;
				i += k - 1;
				break;
			}
		}
		buf[o++] = c;
	}
	buf[o] = '\0';
}

/* The value of attribute name="..." in the tag from p to end, into buf;
 * false when absent. */
static bool xml_attr(const char *p, const char *end, const char *name,
                     char *buf, size_t cap)
{
	char key[64];
	const char *v, *q;

	snprintf(key, sizeof(key), " %s=\"", name);
	v = memmem(p, (size_t)(end - p), key, strlen(key));
	if (!v)
		return false;
	v += strlen(key);
	q = memchr(v, '"', (size_t)(end - v));
	if (!q)
		return false;
	xml_unescape(v, (size_t)(q - v), buf, cap);
	return true;
}

static long xml_number(const char *p, const char *end, const char *name)
{
	char buf[32];

	if (!xml_attr(p, end, name, buf, sizeof(buf)) || buf[0] < '0' ||
	    buf[0] > '9')
		return -1;
	return strtol(buf, NULL, 10);
}

static long find_file(const struct coverage *cv, const char *name)
{
	for (size_t i = 0; i < cv->nfiles; i++)
		if (!strcmp(cv->files[i].name, name))
			return (long)i;
	return -1;
}

static int add_line(struct coverage *cv, size_t file, long seq, const char *p,
                    const char *end)
{
	char covered[8];
	long number = xml_number(p, end, "lineNumber"),
	     branches = xml_number(p, end, "branchesToCover"),
	     taken = xml_number(p, end, "coveredBranches");
	bool run = xml_attr(p, end, "covered", covered, sizeof(covered)) &&
	           !strcmp(covered, "true");

	if (number <= 0 || (run && (branches <= 0 || taken >= branches)))
		return 0; /* ran, and took every branch it has */
	struct cov_line *l =
	    realloc(cv->lines, (cv->nlines + 1) * sizeof(*cv->lines));
	if (!l)
		return -ENOMEM;
	cv->lines = l;
	cv->lines[cv->nlines++] = (struct cov_line){
	    .file = file,
	    .seq = seq,
	    .number = number,
	    .run = run,
	    .branches = branches > 0 && branches < INT_MAX ? (int)branches : 0,
	    .taken = taken > 0 && taken < INT_MAX ? (int)taken : 0,
	};
	return 1;
}

int coverage_parse_sonarqube(struct coverage *cv, const char *xml)
{
	const char *p = strstr(xml, "<coverage");
	int added = 0;

	if (!p)
		return -EINVAL;
	while ((p = strstr(p, "<file ")) != NULL) {
		const char *tag_end = strchr(p, '>');
		const char *next = tag_end ? strstr(tag_end, "<file ") : NULL;
		const char *end = next ? next : p + strlen(p);
		char path[256];

		if (!tag_end)
			break;
		long file = xml_attr(p, tag_end, "path", path, sizeof(path))
		                ? find_file(cv, path)
		                : -1;
		long seq = 0;
		for (const char *l = tag_end;
		     file >= 0 && (l = strstr(l, "<lineToCover")) && l < end;) {
			const char *close = strstr(l, "/>");
			if (!close || close > end)
				break;
			if (add_line(cv, (size_t)file, seq++, l, close) > 0)
				added++;
			l = close;
		}
		p = end;
	}
	return added;
}

void coverage_free(struct coverage *cv)
{
	for (size_t i = 0; i < cv->nfiles; i++)
		free(cv->files[i].src);
	free(cv->files);
	free(cv->lines);
	memset(cv, 0, sizeof(*cv));
}

/* ---- the text -------------------------------------------------------------
 */

static double percent(long part, long whole)
{
	return whole > 0 ? 100.0 * (double)part / (double)whole : 100.0;
}

static void table_row(struct result *out, int w, const char *name, long lines,
                      long run, long branches, long taken)
{
	char l[48], b[48], lp[16] = "     -", bp[16] = "     -";

	snprintf(l, sizeof(l), "%ld/%ld", run, lines);
	snprintf(b, sizeof(b), "%ld/%ld", taken, branches);
	if (lines > 0)
		snprintf(lp, sizeof(lp), "%5.1f%%", percent(run, lines));
	if (branches > 0)
		snprintf(bp, sizeof(bp), "%5.1f%%", percent(taken, branches));
	result_printf(out, "  %-*s  %11s %s  %11s %s\n", w, name, l, lp, b, bp);
}

static void table(struct result *out, const struct coverage *cv)
{
	long lines = 0, run = 0, branches = 0, taken = 0;
	int w = 5;

	for (size_t i = 0; i < cv->nfiles; i++)
		if ((int)strlen(cv->files[i].name) > w)
			w = (int)strlen(cv->files[i].name);
	result_printf(out, "  %-*s  %18s  %18s\n", w, "file", "lines run",
	              "branches taken");
	for (size_t i = 0; i < cv->nfiles; i++) {
		const struct cov_file *f = &cv->files[i];

		table_row(out, w, f->name, f->lines, f->lines_run, f->branches,
		          f->branches_taken);
		lines += f->lines;
		run += f->lines_run;
		branches += f->branches;
		taken += f->branches_taken;
	}
	if (cv->nfiles > 1)
		table_row(out, w, "total", lines, run, branches, taken);
}

/* Line number of src, without its indentation, cut to QUOTE_MAX bytes. */
static void quote_source(struct result *out, const char *src, long number)
{
	const char *p = src;

	for (long i = 1; p && i < number; i++)
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	if (!p)
		return;
	p += strspn(p, " \t");
	size_t n = strcspn(p, "\n");
	result_printf(out, " %.*s%s", (int)(n > QUOTE_MAX ? QUOTE_MAX : n), p,
	              n > QUOTE_MAX ? "..." : "");
}

/* How many lines from i on never ran one after the other: no line of
 * code between them ran. */
static size_t block_len(const struct coverage *cv, size_t i)
{
	size_t n = 1;

	while (i + n < cv->nlines && !cv->lines[i + n].run &&
	       cv->lines[i + n].file == cv->lines[i].file &&
	       cv->lines[i + n].seq == cv->lines[i + n - 1].seq + 1)
		n++;
	return n;
}

/* The lines that never ran: each one, or (blocks) each run of them as its
 * first line's number and text. Returns how many items it listed. */
static size_t list_never(struct result *out, const struct coverage *cv,
                         size_t max, bool blocks)
{
	size_t shown = 0;

	for (size_t i = 0; i < cv->nlines && (!max || shown < max);) {
		const struct cov_line *l = &cv->lines[i];
		const struct cov_file *f = &cv->files[l->file];
		size_t n = blocks && !l->run ? block_len(cv, i) : 1;

		if (l->run) {
			i++;
			continue;
		}
		if (n > 1)
			result_printf(
			    out,
			    "  %s:%ld-%ld: never run (%zu lines):", f->name,
			    l->number, cv->lines[i + n - 1].number, n);
		else
			result_printf(out, "  %s:%ld: never run:", f->name,
			              l->number);
		if (f->src)
			quote_source(out, f->src, l->number);
		result_printf(out, "\n");
		shown++;
		i += n;
	}
	return shown;
}

static size_t list_branches(struct result *out, const struct coverage *cv,
                            size_t max)
{
	size_t shown = 0;

	for (size_t i = 0; i < cv->nlines && (!max || shown < max); i++) {
		const struct cov_line *l = &cv->lines[i];
		const struct cov_file *f = &cv->files[l->file];

		if (!l->run)
			continue;
		result_printf(out,
		              "  %s:%ld: %d of %d branches taken:", f->name,
		              l->number, l->taken, l->branches);
		if (f->src)
			quote_source(out, f->src, l->number);
		result_printf(out, "\n");
		shown++;
	}
	return shown;
}

/* Never-run lines first (in blocks when max is set: the report), then the
 * lines that left a branch untaken, max items in all (0: every line). */
static void list(struct result *out, const struct coverage *cv, size_t max)
{
	size_t never = 0, shown;

	for (size_t i = 0; i < cv->nlines; i++)
		never += !cv->lines[i].run;
	if (!cv->nlines) {
		result_printf(out, "every line ran, and every branch was "
		                   "taken both ways\n");
		return;
	}
	if (never)
		result_printf(out, "%zu line(s) never ran:\n", never);
	shown = list_never(out, cv, max, max > 0);
	if (cv->nlines > never)
		result_printf(out,
		              "%zu line(s) ran without taking every branch:\n",
		              cv->nlines - never);
	if (!max || shown < max)
		shown += list_branches(out, cv, max ? max - shown : 0);
	size_t items = cv->nlines - never;
	for (size_t i = 0; i < cv->nlines; i++)
		if (!cv->lines[i].run) {
			size_t n = max ? block_len(cv, i) : 1;
			items++;
			i += n - 1;
		}
	if (shown < items)
		result_printf(out, "  (%zu of %zu shown)\n", shown, items);
}

void coverage_format(struct result *out, const struct coverage *cv,
                     size_t max_items)
{
	table(out, cv);
	result_printf(out, "\n");
	list(out, cv, max_items);
}

/* ---- the flush helper -----------------------------------------------------
 */

/* Linked into the coverage build's programs (mk/build.mk COVERAGE_FLUSH).
 * gcov writes its counters at exit(), and two ways out write nothing:
 * SIGKILL, with which the grader ends most servers, and _exit(), with
 * which Check ends a test that failed. So counters are written, and
 * zeroed, before anything leaves through a socket (a check kills its
 * server only once it has what it waited for, and by then what led to it
 * is on disk), and at _exit(). Sockets only, because a signal handler's
 * write to a pipe must not run libgcov; and never two at once (a trylock),
 * because the dump is not reentrant. */
static const char FLUSH_SOURCE[] =
    "/* Written by the grader (autograder/src/coverage.c) for its coverage\n"
    " * build: gcov's counters reach the disk before each write to a\n"
    " * socket, because the grader stops servers with SIGKILL, and at\n"
    " * _exit(), with which Check ends a failed test. */\n"
    "#include <errno.h>\n"
    "#include <pthread.h>\n"
    "#include <sys/sendfile.h>\n"
    "#include <sys/socket.h>\n"
    "#include <sys/stat.h>\n"
    "#include <sys/uio.h>\n"
    "#include <unistd.h>\n"
    "\n"
    "void __gcov_dump(void);\n"
    "void __gcov_reset(void);\n"
    "\n"
    "static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;\n"
    "\n"
    "static void flush(int fd)\n"
    "{\n"
    "\tstruct stat st;\n"
    "\tint saved = errno;\n"
    "\n"
    "\tif (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&\n"
    "\t    pthread_mutex_trylock(&lock) == 0) {\n"
    "\t\t__gcov_dump();\n"
    "\t\t__gcov_reset();\n"
    "\t\tpthread_mutex_unlock(&lock);\n"
    "\t}\n"
    "\terrno = saved;\n"
    "}\n"
    "\n"
    "#define WRAP(type, name, params, args)    \\\n"
    "\ttype __real_##name params;         \\\n"
    "\ttype __wrap_##name params          \\\n"
    "\t{                                  \\\n"
    "\t\tflush(fd);                 \\\n"
    "\t\treturn __real_##name args; \\\n"
    "\t}\n"
    "\n"
    "WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))\n"
    "WRAP(ssize_t, writev, (int fd, const struct iovec *v, int n), "
    "(fd, v, n))\n"
    "WRAP(ssize_t, send, (int fd, const void *b, size_t n, int f),\n"
    "     (fd, b, n, f))\n"
    "WRAP(ssize_t, sendto,\n"
    "     (int fd, const void *b, size_t n, int f, const struct sockaddr "
    "*a,\n"
    "      socklen_t l),\n"
    "     (fd, b, n, f, a, l))\n"
    "WRAP(ssize_t, sendmsg, (int fd, const struct msghdr *m, int f), "
    "(fd, m, f))\n"
    "WRAP(ssize_t, sendfile, (int fd, int in, off_t *o, size_t n),\n"
    "     (fd, in, o, n))\n"
    "WRAP(int, shutdown, (int fd, int how), (fd, how))\n"
    "WRAP(int, close, (int fd), (fd))\n"
    "\n"
    "_Noreturn void __real__exit(int status);\n"
    "_Noreturn void __wrap__exit(int status)\n"
    "{\n"
    "\tif (pthread_mutex_trylock(&lock) == 0)\n"
    "\t\t__gcov_dump();\n"
    "\t__real__exit(status);\n"
    "}\n";

/* ---- the pass -------------------------------------------------------------
 */

/* What the checks keep in struct grader between them: the coverage run
 * gets its own, and the graded run's is put back untouched. */
struct saved {
	char bin[PATH_MAX];
	bool units_ran;
	struct unit_case *units;
	size_t nunits;
	char units_note[sizeof(((struct grader *)0)->units_note)];
	struct vg_run *leaks;
	char start_failed[sizeof(((struct grader *)0)->start_failed)];
};

static void swap_in(struct grader *g, struct saved *s)
{
	memcpy(s->bin, g->bin, sizeof(s->bin));
	s->units_ran = g->units_ran;
	s->units = g->units;
	s->nunits = g->nunits;
	memcpy(s->units_note, g->units_note, sizeof(s->units_note));
	s->leaks = g->leaks;
	memcpy(s->start_failed, g->start_failed, sizeof(s->start_failed));
	snprintf(g->bin, sizeof(g->bin), "%s/build/lab%d-coverage", g->box,
	         g->lab->number);
	g->units_ran = false;
	g->units = NULL;
	g->nunits = 0;
	g->units_note[0] = '\0';
	g->leaks = NULL;
	g->start_failed[0] = '\0';
}

static void swap_out(struct grader *g, const struct saved *s)
{
	free(g->units);
	leaks_free(g);
	memcpy(g->bin, s->bin, sizeof(g->bin));
	g->units_ran = s->units_ran;
	g->units = s->units;
	g->nunits = s->nunits;
	memcpy(g->units_note, s->units_note, sizeof(g->units_note));
	g->leaks = s->leaks;
	memcpy(g->start_failed, s->start_failed, sizeof(g->start_failed));
}

/* The checks again on the coverage build, verdicts thrown away, until
 * cb's end. Returns how many ran; *wanted, how many should have. */
static size_t run_again(struct grader *g, struct bounds *cb,
                        const struct check *const *run, size_t n,
                        size_t *wanted)
{
	struct saved s;
	size_t ran = 0;

	*wanted = 0;
	swap_in(g, &s);
	for (size_t i = 0; i < n; i++) {
		const struct check *c = run[i];
		struct result r = {0};

		if (c->stage == STAGE_BUILD || c->stage == STAGE_EXPERIMENT)
			continue;
		(*wanted)++;
		if (probe_now_ms() >= cb->end_ms)
			continue;
		bounds_run(cb, g, c, &r);
		free(r.out);
		ran++;
	}
	swap_out(g, &s);
	return ran;
}

static enum verdict check_cov_build(struct grader *g, const struct check *c,
                                    struct result *r)
{
	return build_coverage(g, c->arg, r);
}

/* A path as a regular expression that matches only it: Python's re takes
 * a backslash before any ASCII punctuation as the character itself. No
 * leading '^': gcovr matches a filter that starts with '/' from the start
 * of the absolute path, and one that does not as a relative path. */
static void regex_literal(char *buf, size_t cap, const char *s)
{
	size_t o = 0;

	if (cap < 2)
		return;
	for (; *s && o + 3 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x80 && !(c >= '0' && c <= '9') &&
		    !((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && c != '/' &&
		    c != '_')
			buf[o++] = '\\';
		buf[o++] = *s;
	}
	buf[o++] = '$';
	buf[o] = '\0';
}

static const char *report_dir(const struct grader *g, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/build/coverage-report", g->box);
	return buf;
}

/* The last lines of gcovr's output, for a failure message. */
static void gcovr_tail(struct result *r, const char *log)
{
	char *text = read_untrusted(log, OUT_CAP, NULL);
	const char *p = text ? text + strlen(text) : NULL;
	int lines = 6;

	while (p && p > text && lines >= 0)
		if (*--p == '\n')
			lines--;
	if (p && *p)
		result_printf(r, "%.1500s\n", p + (*p == '\n'));
	free(text);
}

/* gcovr's command line and the strings it points into. */
struct gcovr_job {
	char box[PATH_MAX], objs[PATH_MAX], dir[PATH_MAX];
	char csv[PATH_MAX + 16], xml[PATH_MAX + 16], html[PATH_MAX + 16];
	char title[128], edited[512];
	char filters[MAX_EDITED][2 * PATH_MAX + 8];
	char *argv[16 + 2 * MAX_EDITED];
};

/* Over the coverage build's folder, named (stale .gcda files elsewhere
 * would count twice), for lab N's edited files only. 0 or -errno. */
static int gcovr_argv(const struct grader *g, struct gcovr_job *j)
{
	size_t n = 0, k = 0;
	char path[PATH_MAX + 300];
	int rc;

	if (!realpath(g->box, j->box))
		return -errno;
	if ((rc = lab_edited(g->repo, g->lab->number, j->edited,
	                     sizeof(j->edited))) < 0)
		return rc;
	snprintf(j->objs, sizeof(j->objs), "%s/build/lab%d-coverage", j->box,
	         g->lab->number);
	report_dir(g, j->dir);
	snprintf(j->csv, sizeof(j->csv), "%s/summary.csv", j->dir);
	snprintf(j->xml, sizeof(j->xml), "%s/lines.xml", j->dir);
	snprintf(j->html, sizeof(j->html), "%s/index.html", j->dir);
	snprintf(j->title, sizeof(j->title),
	         "Lab %d: the lines the grading ran", g->lab->number);
	j->argv[n++] = "/usr/bin/gcovr";
	j->argv[n++] = "--root";
	j->argv[n++] = j->box;
	for (char *f = strtok(j->edited, " \t"); f && k < MAX_EDITED;
	     f = strtok(NULL, " \t"), k++) {
		snprintf(path, sizeof(path), "%s/labs/%s/%s", j->box,
		         g->lab->dir, f);
		regex_literal(j->filters[k], sizeof(j->filters[k]), path);
		j->argv[n++] = "--filter";
		j->argv[n++] = j->filters[k];
	}
	char *const rest[] = {"--exclude-unreachable-branches",
	                      "--csv",
	                      j->csv,
	                      "--sonarqube",
	                      j->xml,
	                      "--html-details",
	                      j->html,
	                      "--html-title",
	                      j->title,
	                      j->objs};
	for (size_t i = 0; i < sizeof(rest) / sizeof(rest[0]); i++)
		j->argv[n++] = rest[i];
	j->argv[n] = NULL;
	return 0;
}

/* gcovr in the sandbox: its inputs are the student's programs' output. */
static enum verdict check_gcovr(struct grader *g, const struct check *c,
                                struct result *r)
{
	static struct gcovr_job job;
	char log[PATH_MAX], how[96];
	struct sbx_proc p;
	int rc;

	(void)c;
	if ((rc = gcovr_argv(g, &job)) < 0) {
		result_printf(r, "grader: cannot find the lab's files: %s\n",
		              strerror(-rc));
		return FAIL;
	}
	path_join(log, g->priv, "gcovr.log");
	struct sbx_spec spec = {
	    .argv = job.argv, .cwd = job.dir, .log = log, .lim = &LIMITS_TEST};
	double left = probe_time_left_ms();
	rc = sbx_run(&p, &spec, left > 1000 ? (int)left : 1000);
	if (rc == 0 && WIFEXITED(p.status) && WEXITSTATUS(p.status) == 0)
		return PASS;
	result_printf(r, "gcovr %s:\n",
	              rc == -ETIMEDOUT ? "ran out of time"
	              : rc < 0         ? strerror(-rc)
	                       : sbx_describe(p.status, how, sizeof(how)));
	gcovr_tail(r, log);
	return FAIL;
}

/* Gives each file of lab N's the text of its box copy, to quote. */
static void load_sources(struct coverage *cv, const struct grader *g)
{
	char prefix[300], path[PATH_MAX];

	snprintf(prefix, sizeof(prefix), "labs/%s/", g->lab->dir);
	for (size_t i = 0; i < cv->nfiles; i++) {
		const char *name = cv->files[i].name;
		const char *base = name + strlen(prefix);

		if (strncmp(name, prefix, strlen(prefix)) ||
		    strchr(base, '/') || base[0] == '.')
			continue;
		cv->files[i].src = read_untrusted(path_join(path, g->box, name),
		                                  SOURCE_CAP, NULL);
	}
}

/* dest emptied (or made, with its parent): it is ours to fill. */
static int prepare_dest(const char *dest)
{
	char parent[PATH_MAX];
	char *slash;

	snprintf(parent, sizeof(parent), "%s", dest);
	if ((slash = strrchr(parent, '/')) && slash != parent) {
		*slash = '\0';
		if (mkdir(parent, 0755) < 0 && errno != EEXIST)
			return -errno;
	}
	if (remove_tree(dest) < 0)
		return -EIO;
	return mkdir(dest, 0755) < 0 ? -errno : 0;
}

static bool page_name(const char *name)
{
	size_t n = strlen(name);

	if (name[0] == '.' || strspn(name, "abcdefghijklmnopqrstuvwxyz"
	                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                                   "0123456789._-") != n)
		return false;
	return (n > 5 && !strcmp(name + n - 5, ".html")) ||
	       (n > 4 && !strcmp(name + n - 4, ".css"));
}

/* gcovr's pages, out of the box (which is deleted) into dest: plain
 * files only, of plain names, size-capped. */
static int copy_pages(const char *from, const char *dest)
{
	DIR *d = opendir(from);
	struct dirent *e;
	int copied = 0, rc = 0;

	if (!d)
		return -errno;
	while (rc == 0 && copied < HTML_FILES && (e = readdir(d)) != NULL) {
		char src[PATH_MAX], dst[PATH_MAX];
		size_t len;
		char *data;

		if (!page_name(e->d_name))
			continue;
		snprintf(src, sizeof(src), "%s/%s", from, e->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", dest, e->d_name);
		if (!(data = read_untrusted(src, HTML_CAP, &len)))
			continue;
		rc = write_file(dst, data, len);
		free(data);
		copied++;
	}
	closedir(d);
	return rc < 0 ? rc : copied;
}

/* dest/coverage.txt: the whole list, through the report's sanitiser (the
 * source lines are a student's). */
static int write_text(const char *dest, const struct grader *g,
                      const char *label, size_t checks,
                      const struct coverage *cv)
{
	char path[PATH_MAX];
	struct result text = {0};
	FILE *f;

	snprintf(path, sizeof(path), "%s/coverage.txt", dest);
	result_printf(&text,
	              "Lab %d: %s (graded: %s)\n"
	              "%zu checks run again on a build with gcov's counters; "
	              "gcovr's summary of the\nfiles a student edits, then "
	              "each line that never ran or left a branch untaken.\n\n",
	              g->lab->number, g->lab->title, label, checks);
	coverage_format(&text, cv, 0);
	if (!(f = fopen(path, "w"))) {
		free(text.out);
		return -errno;
	}
	fput_visible(f, text.out, text.len);
	free(text.out);
	return fclose(f) == 0 ? 0 : -EIO;
}

/* gcovr's files read, the text and pages written: the section's end. */
static void results(struct grader *g, const char *dest, const char *label,
                    size_t checks, struct result *sec)
{
	char dir[PATH_MAX], path[PATH_MAX + 16];
	struct coverage cv = {0};
	int rc;

	report_dir(g, dir);
	snprintf(path, sizeof(path), "%s/summary.csv", dir);
	char *csv = read_untrusted(path, OUT_CAP, NULL);
	snprintf(path, sizeof(path), "%s/lines.xml", dir);
	char *xml = read_untrusted(path, OUT_CAP, NULL);

	if (!csv || !xml || coverage_parse_csv(&cv, csv) <= 0 ||
	    coverage_parse_sonarqube(&cv, xml) < 0) {
		result_printf(sec, "gcovr wrote no usable report: did any "
		                   "program of the lab run?\n");
		goto out;
	}
	load_sources(&cv, g);
	coverage_format(sec, &cv, SHOWN_LINES);
	if ((rc = write_text(dest, g, label, checks, &cv)) < 0 ||
	    (rc = copy_pages(dir, dest)) < 0)
		result_printf(sec, "grader: cannot write into %s: %s\n", dest,
		              strerror(-rc));
	else
		result_printf(sec,
		              "line by line: %s/index.html\n"
		              "the whole list: %s/coverage.txt\n",
		              dest, dest);
out:
	coverage_free(&cv);
	free(csv);
	free(xml);
}

/* The coverage build, within cb; false when it ran out of time (what did
 * build, when the build failed, is run: like the graded build). */
static bool build_again(struct grader *g, struct bounds *cb, struct result *sec)
{
	static char flush[PATH_MAX];
	const struct check build = {.name = "coverage.build",
	                            .stage = STAGE_BUILD,
	                            .run = check_cov_build,
	                            .arg = flush};
	struct result r = {0};
	bool in_time;

	path_join(flush, g->box, "mk/coverage-flush.c");
	if (write_file(flush, FLUSH_SOURCE, sizeof(FLUSH_SOURCE) - 1) < 0) {
		result_printf(sec, "grader: cannot write %s\n", flush);
		return false;
	}
	bounds_run(cb, g, &build, &r);
	in_time = r.verdict == PASS || probe_now_ms() < cb->end_ms;
	if (!in_time)
		result_printf(sec, "not run: the coverage build ran out of the "
		                   "time the graded checks left\n");
	else if (r.verdict != PASS)
		result_printf(sec, "the coverage build failed:\n%s",
		              r.out ? r.out : "");
	free(r.out);
	return in_time;
}

/* gcovr over what the checks ran, until cb's end, and its results. */
static void gcovr_results(struct grader *g, struct bounds *cb, const char *dest,
                          const char *label, size_t ran, struct result *sec)
{
	const struct check gcovr = {
	    .name = "coverage.gcovr", .stage = STAGE_UNIT, .run = check_gcovr};
	struct result r = {0};
	char dir[PATH_MAX];

	/* Made afresh by the grader, now that no student program runs. */
	remove_tree(report_dir(g, dir));
	if (sbx_mkdir(dir) < 0) {
		result_printf(sec, "grader: cannot make %s\n", dir);
		return;
	}
	bounds_run(cb, g, &gcovr, &r);
	if (r.verdict == PASS)
		results(g, dest, label, ran, sec);
	else
		result_printf(sec, "%s", r.out ? r.out : "gcovr failed\n");
	free(r.out);
}

void coverage_pass(struct grader *g, const struct bounds *b,
                   const struct check *const *run, size_t n, const char *dest,
                   const char *label, struct result *sec)
{
	double start = probe_now_ms(),
	       end = b->end_ms < start + COVERAGE_S * 1000.0
	                 ? b->end_ms
	                 : start + COVERAGE_S * 1000.0;
	struct bounds cb = *b;
	size_t wanted, ran;
	int rc;

	/* Never last time's files under this time's name. */
	if ((rc = prepare_dest(dest)) < 0) {
		result_printf(sec, "grader: cannot make %s: %s\n", dest,
		              strerror(-rc));
		return;
	}
	if (end - start < MIN_S * 1000.0) {
		result_printf(sec,
		              "not run: the graded checks left %.0f s of the "
		              "time budget, and the pass needs %d s\n",
		              (end - start) / 1000, MIN_S);
		return;
	}
	cb.end_ms = end - GCOVR_S * 1000.0;
	if (!build_again(g, &cb, sec))
		return;
	ran = run_again(g, &cb, run, n, &wanted);
	result_printf(sec,
	              "the checks above (%zu of them: not the build, not the "
	              "experiment) ran again on a build with gcov's counters: "
	              "which lines of your files they ran, which branches they "
	              "took. Nothing here is scored.\n",
	              ran);
	if (ran < wanted)
		result_printf(sec,
		              "the pass ran out of time after %zu of %zu "
		              "checks: lines only the others reach show as "
		              "never run\n",
		              ran, wanted);
	if (ran > 0) {
		cb.end_ms = end;
		gcovr_results(g, &cb, dest, label, ran, sec);
	}
	result_printf(sec, "(the coverage pass took %.1f s)\n",
	              (probe_now_ms() - start) / 1000);
}
