/* lab7.c - the checks of lab 7: ZIP streaming. This file holds the
 * reader's, the extractor's and the writer's (through the zipstream tool)
 * and the table; lab7srv.c the server's.
 *
 * Every check but the unit tests drives the student's zipstream the way a
 * user does: an archive on standard input, a folder to extract into, one
 * line on standard error when it refuses. The expectations come from the
 * course's copy (never the submission's): the real-world archives of
 * labs/07-zip-streaming/tests/corpus with EXPECT.tsv, and the hostile ones
 * of autograder/zips. What the tool leaves is read back by the grader
 * without following a link; anything besides the promised folder -- a
 * staging folder, a partial file -- fails the check.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "grader.h"
#include "lab7.h"
#include "util.h"
#include "vglog.h"

#define CORPUS "labs/07-zip-streaming/tests/corpus"
#define ZIPS   "autograder/zips"
enum { TOOL_MS = 20000, READ_CAP = 64 << 20 };

/* The tool: a minute of CPU at most, and no file over 256 MiB. */
static const struct sbx_limits LIMITS_TOOL = {
    .cpu_s = 60, .mem_mb = 1024, .nproc = 4, .fsize_mb = 256, .nofile = 64};
static const struct sbx_limits LIMITS_TOOL_VG = {
    .cpu_s = 120, .mem_mb = 0, .nproc = 8, .fsize_mb = 256, .nofile = 256};

/* ---- running zipstream ---------------------------------------------- */

struct run {
	bool timed_out;
	int status;
	char said[512]; /* its first line of output */
	char word[32];  /* the refusal's word, from "zipstream: WORD: ..." */
};

static int runs; /* a new log name for each run */

/* zipstream ARGS < in > out, in the box's run folder. 0 or -1 (then r
 * says why). */
static int tool(struct grader *g, char *const args[], const char *in,
                const char *out, bool valgrind, const char *vg_log,
                struct run *res, struct result *r)
{
	char exe[PATH_MAX], log[PATH_MAX];
	char *argv[24];
	size_t n = 0;
	struct sbx_proc p;

	memset(res, 0, sizeof(*res));
	path_join(exe, g->bin, "zipstream");
	if (access(exe, X_OK) != 0) {
		result_printf(r, "there is no zipstream program (it did not "
		                 "build)\n");
		return -1;
	}
	if (valgrind) {
		static char *const vg[] = {
		    "/usr/bin/valgrind",
		    "--leak-check=full",
		    "--show-leak-kinds=definite,indirect",
		    "--errors-for-leak-kinds=definite,indirect",
		    "--error-exitcode=99",
		    "--track-fds=yes",
		    "--log-fd=3"};
		for (size_t i = 0; i < sizeof(vg) / sizeof(vg[0]); i++)
			argv[n++] = vg[i];
	}
	argv[n++] = exe;
	for (size_t i = 0; args[i] && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(log, sizeof(log), "%s/zipstream-%d.log", g->priv, ++runs);
	struct sbx_spec spec = {.argv = argv,
	                        .cwd = g->run,
	                        .log = log,
	                        .fd3_log = vg_log,
	                        .lim =
	                            valgrind ? &LIMITS_TOOL_VG : &LIMITS_TOOL,
	                        .in = in,
	                        .out = out};
	int rc = sbx_run(&p, &spec, valgrind ? 4 * TOOL_MS : TOOL_MS);
	if (rc < 0 && rc != -ETIMEDOUT) {
		result_printf(r, "grader: cannot run zipstream: %s\n",
		              strerror(-rc));
		return -1;
	}
	res->timed_out = rc == -ETIMEDOUT;
	res->status = p.status;
	char *text = read_untrusted(log, 4096, NULL);
	if (text) {
		snprintf(res->said, sizeof(res->said), "%.*s",
		         (int)strcspn(text, "\n"), text);
		free(text);
	}
	if (sscanf(res->said, "zipstream: %31[a-z0-9-]:", res->word) != 1)
		res->word[0] = '\0';
	return 0;
}

/* "exited with 0", "refused: crc", "was killed by ...", "ran out of time". */
static const char *outcome(const struct run *x, char *buf, size_t cap)
{
	char how[96];

	if (x->timed_out)
		snprintf(buf, cap, "did not finish within %d s",
		         TOOL_MS / 1000);
	else if (WIFEXITED(x->status) && WEXITSTATUS(x->status) == 0)
		snprintf(buf, cap, "extracted it (exit 0)");
	else if (WIFEXITED(x->status) && WEXITSTATUS(x->status) == 1)
		snprintf(buf, cap, "refused it: \"%s\"", x->said);
	else
		snprintf(buf, cap, "%s%s%s%s",
		         sbx_describe(x->status, how, sizeof(how)),
		         x->said[0] ? " (\"" : "", x->said,
		         x->said[0] ? "\")" : "");
	return buf;
}

static bool extracted(const struct run *x)
{
	return !x->timed_out && WIFEXITED(x->status) &&
	       WEXITSTATUS(x->status) == 0;
}

static bool refused_with(const struct run *x, const char *word)
{
	return !x->timed_out && WIFEXITED(x->status) &&
	       WEXITSTATUS(x->status) == 1 && strcmp(x->word, word) == 0;
}

/* ---- what the tool left ------------------------------------------------ */

static void add_node(struct tree *t, char type, const char *name, uint64_t size,
                     uint32_t crc)
{
	if (t->len == MAX_NODES) {
		t->overflow = true;
		return;
	}
	struct node *n = &t->n[t->len++];
	n->type = type;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->size = size;
	n->crc = crc;
}

/* A file the student's program wrote: read without following a link, at
 * most READ_CAP bytes. */
static void read_node(struct tree *t, int dirfd, const char *leaf,
                      const char *name)
{
	static unsigned char buf[65536];
	int fd =
	    openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	uint64_t size = 0;
	uLong crc = crc32(0, NULL, 0);
	ssize_t got;

	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		add_node(t, 'x', name, 0, 0);
		if (fd >= 0)
			close(fd);
		return;
	}
	while (size < READ_CAP && (got = read(fd, buf, sizeof(buf))) > 0) {
		crc = crc32(crc, buf, (uInt)got);
		size += (uint64_t)got;
	}
	close(fd);
	add_node(t, 'f', name, size, (uint32_t)crc);
}

static void walk(struct tree *t, int dirfd, const char *prefix, int depth)
{
	DIR *d;
	struct dirent *de;
	int fd = dup(dirfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL && !t->overflow) {
		char name[1100];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(name, sizeof(name), "%s%s", prefix, de->d_name);
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			add_node(t, 'l', name, 0, 0);
		} else if (S_ISDIR(st.st_mode) && depth < 64) {
			int sub = openat(dirfd, de->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			                     O_CLOEXEC);
			add_node(t, 'd', name, 0, 0);
			if (sub >= 0) {
				strcat(name, "/");
				walk(t, sub, name, depth + 1);
				close(sub);
			}
		} else {
			read_node(t, dirfd, de->d_name, name);
		}
	}
	closedir(d);
}

void lab7_survey_dir(const char *dir, struct tree *t)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	t->len = 0;
	t->overflow = false;
	if (fd >= 0) {
		walk(t, fd, "", 0);
		close(fd);
	}
}

/* Everything in the run folder, "x/..." for what is under x. */
static void survey(struct grader *g, struct tree *t)
{
	lab7_survey_dir(g->run, t);
}

void lab7_clear_run(struct grader *g)
{
	DIR *d = opendir(g->run);
	struct dirent *de;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			remove_tree(path_join(path, g->run, de->d_name));
	closedir(d);
}

/* ---- expectations ------------------------------------------------------ */

struct expect {
	char path[256];   /* under the corpus folder */
	char outcome[32]; /* "ok" or a refusal word */
	char why[256];
	struct node *want; /* ok: what must be there (names under "x/") */
	int nwant;
};

static int split(char *line, char *f[], int max)
{
	int n = 0;

	while (n < max) {
		f[n++] = line;
		char *tab = strchr(line, '\t');
		if (!tab)
			break;
		*tab = '\0';
		line = tab + 1;
	}
	return n;
}

/* EXPECT.tsv from the course's copy. The number of archives, or -1. */
static int load_expect(struct grader *g, struct expect **out)
{
	char path[PATH_MAX];
	char *text, *line, *save = NULL;
	struct expect *e = NULL, *cur = NULL;
	int n = 0, cap = 0;

	snprintf(path, sizeof(path), "%s/%s/EXPECT.tsv", g->repo, CORPUS);
	if (!(text = read_file(path, NULL)))
		return -1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[5];
		int k;

		if (line[0] == '#' || line[0] == '\0')
			continue;
		k = split(line, f, 5);
		if (strcmp(f[0], "zip") == 0 && k >= 3) {
			if (n == cap) {
				cap = cap ? 2 * cap : 64;
				e = realloc(e, (size_t)cap * sizeof(*e));
			}
			cur = &e[n++];
			memset(cur, 0, sizeof(*cur));
			snprintf(cur->path, sizeof(cur->path), "%s", f[1]);
			snprintf(cur->outcome, sizeof(cur->outcome), "%s",
			         f[2]);
			snprintf(cur->why, sizeof(cur->why), "%s",
			         k > 3 ? f[3] : "");
		} else if (cur && (strcmp(f[0], "file") == 0 ||
		                   strcmp(f[0], "dir") == 0)) {
			cur->want =
			    realloc(cur->want, (size_t)(cur->nwant + 1) *
			                           sizeof(struct node));
			struct node *w = &cur->want[cur->nwant++];
			memset(w, 0, sizeof(*w));
			w->type = f[0][0];
			snprintf(w->name, sizeof(w->name), "x/%s", f[1]);
			if (w->type == 'f' && k >= 4) {
				w->size = strtoull(f[2], NULL, 10);
				w->crc = (uint32_t)strtoul(f[3], NULL, 16);
			}
		}
	}
	free(text);
	*out = e;
	return n;
}

static void free_expect(struct expect *e, int n)
{
	for (int i = 0; i < n; i++)
		free(e[i].want);
	free(e);
}

static const struct node *find(const struct tree *t, const char *name)
{
	for (int i = 0; i < t->len; i++)
		if (strcmp(t->n[i].name, name) == 0)
			return &t->n[i];
	return NULL;
}

/* Is name a folder on the way to something wanted ("x/a" for "x/a/b")? */
static bool implied(const struct node *want, int n, const char *name)
{
	size_t len = strlen(name);

	if (strcmp(name, "x") == 0)
		return true;
	for (int i = 0; i < n; i++)
		if (strncmp(want[i].name, name, len) == 0 &&
		    want[i].name[len] == '/')
			return true;
	return false;
}

static bool wanted(const struct node *want, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(want[i].name, name) == 0)
			return true;
	return implied(want, n, name);
}

void lab7_compare(const struct tree *t, const struct node *want, int n,
                  char *buf, size_t cap)
{
	buf[0] = '\0';
	for (int i = 0; i < n; i++) {
		const struct node *w = &want[i], *got = find(t, w->name);

		if (!got)
			snprintf(buf, cap, "%s is missing", w->name + 2);
		else if (got->type != w->type)
			snprintf(buf, cap, "%s should be a %s", w->name + 2,
			         w->type == 'd' ? "folder" : "file");
		else if (w->type == 'f' &&
		         (got->size != w->size || got->crc != w->crc))
			snprintf(buf, cap,
			         "%s has %" PRIu64 " bytes, CRC-32 %08" PRIx32
			         "; expected %" PRIu64 " bytes, %08" PRIx32,
			         w->name + 2, got->size, got->crc, w->size,
			         w->crc);
		if (buf[0])
			return;
	}
	for (int i = 0; i < t->len; i++) {
		const struct node *got = &t->n[i];

		if (got->type == 'l')
			snprintf(buf, cap, "%s is a symbolic link", got->name);
		else if (!wanted(want, n, got->name))
			snprintf(
			    buf, cap, "%s should not be there%s", got->name,
			    strchr(got->name, '/') ? ""
			                           : " (a staging folder left "
			                             "behind?)");
		if (buf[0])
			return;
	}
	if (t->overflow)
		snprintf(buf, cap, "more than %d files and folders", MAX_NODES);
}

/* ---- the corpus -------------------------------------------------------- */

struct corpus {
	bool done;
	int n;
	struct expect *e;
	int good, good_ok; /* archives to extract; extracted right */
	int bad, bad_ok;   /* archives to refuse; refused right */
	char good_fail[8][700];
	char bad_fail[8][700];
	int ngood_fail, nbad_fail;
	char why[300]; /* nothing ran: why */
};

static struct corpus corpus;

static void note(char (*list)[700], int *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(char (*list)[700], int *n, const char *fmt, ...)
{
	va_list ap;

	if (*n >= 8)
		return;
	va_start(ap, fmt);
	vsnprintf(list[(*n)++], 700, fmt, ap);
	va_end(ap);
}

static void one_archive(struct grader *g, struct expect *e, struct tree *t,
                        struct result *r)
{
	char in[PATH_MAX], diff[700], how[600];
	char *args[] = {"extract", "x", NULL};
	struct run x;
	bool ok = strcmp(e->outcome, "ok") == 0;

	snprintf(in, sizeof(in), "%s/%s/%s", g->repo, CORPUS, e->path);
	lab7_clear_run(g);
	if (tool(g, args, in, NULL, false, NULL, &x, r) < 0)
		return;
	survey(g, t);
	if (ok) {
		corpus.good++;
		lab7_compare(t, e->want, e->nwant, diff, sizeof(diff));
		if (extracted(&x) && !diff[0])
			corpus.good_ok++;
		else
			note(corpus.good_fail, &corpus.ngood_fail,
			     "%s (%s): the tool %s%s%s", e->path, e->why,
			     outcome(&x, how, sizeof(how)),
			     extracted(&x) ? ", but " : "",
			     extracted(&x) ? diff : "");
	} else {
		corpus.bad++;
		lab7_compare(t, NULL, 0, diff, sizeof(diff));
		if (refused_with(&x, e->outcome) && !diff[0])
			corpus.bad_ok++;
		else if (!diff[0] || !refused_with(&x, e->outcome))
			note(corpus.bad_fail, &corpus.nbad_fail,
			     "%s (%s): expected the refusal \"%s\"; the tool "
			     "%s",
			     e->path, e->why, e->outcome,
			     outcome(&x, how, sizeof(how)));
		else
			note(corpus.bad_fail, &corpus.nbad_fail,
			     "%s (%s): refused, but left something behind: %s",
			     e->path, e->why, diff);
	}
}

static struct corpus *run_corpus(struct grader *g, struct result *r)
{
	struct tree t = {.n = calloc(MAX_NODES, sizeof(struct node))};

	if (corpus.done)
		return &corpus;
	corpus.done = true;
	corpus.n = load_expect(g, &corpus.e);
	if (corpus.n <= 0 || !t.n) {
		snprintf(corpus.why, sizeof(corpus.why),
		         "grader: cannot read %s/EXPECT.tsv", CORPUS);
	} else {
		for (int i = 0; i < corpus.n; i++)
			one_archive(g, &corpus.e[i], &t, r);
	}
	lab7_clear_run(g);
	free(t.n);
	free_expect(corpus.e, corpus.n > 0 ? corpus.n : 0);
	corpus.e = NULL;
	return &corpus;
}

static enum verdict corpus_extracts(struct grader *g, const struct check *c,
                                    struct result *r)
{
	struct corpus *k = run_corpus(g, r);

	(void)c;
	if (k->why[0]) {
		result_printf(r, "%s\n", k->why);
		return FAIL;
	}
	result_printf(r,
	              "%d of %d archives from other tools' test suites "
	              "extracted byte for byte (sizes and CRC-32s)\n",
	              k->good_ok, k->good);
	for (int i = 0; i < k->ngood_fail; i++)
		result_printf(r, "  %s\n", k->good_fail[i]);
	return k->good > 0 && k->good_ok == k->good ? PASS : FAIL;
}

static enum verdict corpus_refuses(struct grader *g, const struct check *c,
                                   struct result *r)
{
	struct corpus *k = run_corpus(g, r);

	(void)c;
	if (k->why[0]) {
		result_printf(r, "%s\n", k->why);
		return FAIL;
	}
	result_printf(r,
	              "%d of %d damaged, unsupported or unsafe archives "
	              "refused with the right word, nothing left behind\n",
	              k->bad_ok, k->bad);
	for (int i = 0; i < k->nbad_fail; i++)
		result_printf(r, "  %s\n", k->bad_fail[i]);
	return k->bad > 0 && k->bad_ok == k->bad ? PASS : FAIL;
}

/* ---- the writer -------------------------------------------------------- */

/* The folder the writer archives: every kind of entry it must handle. */
static const struct source_file {
	const char *name;
	size_t size;
	int kind; /* 0 text, 1 random, 2 runs */
} sources[] = {
    {"empty.txt", 0, 0},
    {"hello.txt", 13, 0},
    {"random.bin", 1 << 20, 1},
    {"text/lorem.txt", 3 << 20, 0},
    {"text/deeper/still/runs.bin", 200000, 2},
    {"na\xc3\xafve caf\xc3\xa9.txt", 100, 0},
};
static const char *const source_dirs[] = {"text", "text/deeper",
                                          "text/deeper/still", "empty-dir"};

void lab7_fill(unsigned char *p, size_t n, int kind, uint32_t seed)
{
	static const char words[] = "the waiter never waits for the kitchen ";
	uint32_t x = seed | 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		p[i] = kind == 1 ? (unsigned char)(x >> 24)
		       : kind == 2
		           ? (unsigned char)(i / 1000 % 7)
		           : (unsigned char)
		                 words[(i + x % 3) % (sizeof(words) - 1)];
	}
}

int lab7_make_source(struct grader *g, struct tree *want)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/src", g->run);
	if (mkdir(path, 0755) < 0)
		return -errno;
	want->len = 0;
	for (size_t i = 0; i < sizeof(source_dirs) / sizeof(*source_dirs);
	     i++) {
		snprintf(path, sizeof(path), "%s/src/%s", g->run,
		         source_dirs[i]);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "y/%s", source_dirs[i]);
		add_node(want, 'd', path, 0, 0);
	}
	for (size_t i = 0; i < sizeof(sources) / sizeof(*sources); i++) {
		const struct source_file *s = &sources[i];
		unsigned char *buf = malloc(s->size + 1);

		if (!buf)
			return -ENOMEM;
		lab7_fill(buf, s->size, s->kind, (uint32_t)i * 2654435761u);
		snprintf(path, sizeof(path), "%s/src/%s", g->run, s->name);
		int rc = write_file(path, buf, s->size);
		snprintf(path, sizeof(path), "y/%s", s->name);
		add_node(want, 'f', path, s->size,
		         (uint32_t)crc32(0, buf, (uInt)s->size));
		free(buf);
		if (rc < 0)
			return rc;
	}
	return 0;
}

struct writer {
	bool done;
	bool made;           /* the tool made an archive */
	char said[800];      /* what went wrong making it */
	char tools[3][400];  /* unzip, bsdtar, python: "" or what they said */
	char roundtrip[800]; /* "" or the first difference */
};

static struct writer writer;

/* A trusted tool on the archive: "" if it accepts it, else its words. */
static void judge(const char *archive, char *const argv[], const char *log,
                  char *out, size_t cap)
{
	int rc = run_trusted(argv, log);

	out[0] = '\0';
	if (rc == 0)
		return;
	char *text = read_file(log, NULL);
	snprintf(out, cap, "%s said (exit %d): %.300s", argv[0], rc,
	         text ? text : "");
	free(text);
	(void)archive;
}

static struct writer *run_writer(struct grader *g, struct result *r)
{
	char zip[PATH_MAX], log[PATH_MAX], how[600];
	char *create[] = {"create", "src", NULL};
	char *extract[] = {"extract", "y", NULL};
	struct tree want = {.n = calloc(64, sizeof(struct node))};
	struct tree got = {.n = calloc(MAX_NODES, sizeof(struct node))};
	struct run x;

	if (writer.done)
		goto out;
	writer.done = true;
	lab7_clear_run(g);
	if (!want.n || !got.n || lab7_make_source(g, &want) < 0) {
		snprintf(writer.said, sizeof(writer.said),
		         "grader: cannot make the folder to archive");
		goto out;
	}
	snprintf(zip, sizeof(zip), "%s/made.zip", g->priv);
	unlink(zip);
	if (tool(g, create, NULL, zip, false, NULL, &x, r) < 0)
		goto out;
	if (!extracted(&x)) {
		snprintf(writer.said, sizeof(writer.said),
		         "zipstream create src > out.zip: the tool %s",
		         outcome(&x, how, sizeof(how)));
		goto out;
	}
	writer.made = true;

	char *unzip[] = {"/usr/bin/unzip", "-tq", zip, NULL};
	char *bsdtar[] = {"/usr/bin/bsdtar", "-tf", zip, NULL};
	char *python[] = {"/usr/bin/python3", "-c",
	                  "import sys, zipfile\n"
	                  "z = zipfile.ZipFile(sys.argv[1])\n"
	                  "bad = z.testzip()\n"
	                  "sys.exit('bad CRC: %s' % bad if bad else 0)\n",
	                  zip, NULL};
	snprintf(log, sizeof(log), "%s/writer-tools.log", g->priv);
	judge(zip, unzip, log, writer.tools[0], sizeof(writer.tools[0]));
	judge(zip, bsdtar, log, writer.tools[1], sizeof(writer.tools[1]));
	judge(zip, python, log, writer.tools[2], sizeof(writer.tools[2]));

	/* And back through the student's own extractor. */
	if (tool(g, extract, zip, NULL, false, NULL, &x, r) < 0)
		goto out;
	survey(g, &got);
	if (!extracted(&x)) {
		snprintf(writer.roundtrip, sizeof(writer.roundtrip),
		         "zipstream extract y < out.zip: the tool %s",
		         outcome(&x, how, sizeof(how)));
		goto out;
	}
	/* Keep only what is under y/ for the comparison. */
	int k = 0;
	for (int i = 0; i < got.len; i++)
		if (strncmp(got.n[i].name, "y/", 2) == 0 ||
		    strcmp(got.n[i].name, "y") == 0)
			got.n[k++] = got.n[i];
	got.len = k;
	for (int i = 0; i < want.len; i++)
		want.n[i].name[0] = 'x';
	for (int i = 0; i < got.len; i++)
		got.n[i].name[0] = 'x';
	lab7_compare(&got, want.n, want.len, writer.roundtrip,
	             sizeof(writer.roundtrip));
out:
	lab7_clear_run(g);
	free(want.n);
	free(got.n);
	return &writer;
}

static enum verdict writer_tools(struct grader *g, const struct check *c,
                                 struct result *r)
{
	static const char *const names[] = {"unzip -t", "bsdtar -t",
	                                    "Python's zipfile"};
	struct writer *w = run_writer(g, r);
	bool ok = w->made;

	(void)c;
	if (!w->made) {
		result_printf(r, "%s\n", w->said);
		return FAIL;
	}
	for (int i = 0; i < 3; i++) {
		result_printf(r, "%s: %s\n", names[i],
		              w->tools[i][0] ? w->tools[i] : "accepts it");
		ok = ok && !w->tools[i][0];
	}
	return ok ? PASS : FAIL;
}

static enum verdict writer_roundtrip(struct grader *g, const struct check *c,
                                     struct result *r)
{
	struct writer *w = run_writer(g, r);

	(void)c;
	if (!w->made) {
		result_printf(r, "%s\n", w->said);
		return FAIL;
	}
	if (w->roundtrip[0]) {
		result_printf(r, "%s\n", w->roundtrip);
		return FAIL;
	}
	result_printf(r, "6 files and 4 folders (1 MiB random, 3 MiB text, "
	                 "a UTF-8 name, an empty folder) archived and "
	                 "extracted back byte for byte\n");
	return PASS;
}

/* ---- hostile archives -------------------------------------------------- */

/* One archive of autograder/zips, which must be refused with word and
 * leave nothing. */
static enum verdict hostile(struct grader *g, const char *file,
                            const char *word, const char *what,
                            struct result *r)
{
	char in[PATH_MAX], how[600], diff[700];
	char *args[] = {"extract", "x", NULL};
	struct tree t = {.n = calloc(MAX_NODES, sizeof(struct node))};
	struct run x;
	enum verdict v = FAIL;

	snprintf(in, sizeof(in), "%s/%s/%s", g->repo, ZIPS, file);
	lab7_clear_run(g);
	if (!t.n || tool(g, args, in, NULL, false, NULL, &x, r) < 0)
		goto out;
	survey(g, &t);
	lab7_compare(&t, NULL, 0, diff, sizeof(diff));
	result_printf(r, "%s (%s): the tool %s\n", file, what,
	              outcome(&x, how, sizeof(how)));
	if (!refused_with(&x, word))
		result_printf(r, "expected the refusal \"%s\"\n", word);
	else if (diff[0])
		result_printf(r, "refused, but left something behind: %s\n",
		              diff);
	else
		v = PASS;
out:
	lab7_clear_run(g);
	free(t.n);
	return v;
}

static enum verdict zip_slip(struct grader *g, const struct check *c,
                             struct result *r)
{
	(void)c;
	enum verdict a = hostile(g, "slip-dotdot.zip", "zip-slip",
	                         "good.txt, then a/../../escaped.txt", r);
	enum verdict b =
	    hostile(g, "slip-absolute.zip", "zip-slip", "/tmp/escaped.txt", r);
	return a == PASS && b == PASS ? PASS : FAIL;
}

static enum verdict symlink_entry(struct grader *g, const struct check *c,
                                  struct result *r)
{
	(void)c;
	return hostile(g, "symlink.zip", "symlink",
	               "an entry whose mode, in the central directory, is a "
	               "link to /etc/passwd",
	               r);
}

static enum verdict ratio_bomb(struct grader *g, const struct check *c,
                               struct result *r)
{
	(void)c;
	return hostile(g, "ratio-bomb.zip", "bomb",
	               "one entry: 200 MiB of zeros in 200 KiB", r);
}

static enum verdict overlap_bomb(struct grader *g, const struct check *c,
                                 struct result *r)
{
	(void)c;
	return hostile(g, "overlap-bomb.zip", "mismatch",
	               "one entry's data, and a central directory that points "
	               "at it 1000 times",
	               r);
}

static enum verdict nested_bomb(struct grader *g, const struct check *c,
                                struct result *r)
{
	(void)c;
	return hostile(g, "nested-bomb.zip", "nested",
	               "42.zip's shape, small: zips of zips, five levels down",
	               r);
}

static enum verdict no_partial(struct grader *g, const struct check *c,
                               struct result *r)
{
	(void)c;
	return hostile(g, "late-crc.zip", "crc",
	               "three good files, then one whose CRC-32 is wrong", r);
}

static enum verdict duplicates(struct grader *g, const struct check *c,
                               struct result *r)
{
	(void)c;
	enum verdict a = hostile(g, "duplicate-name.zip", "duplicate",
	                         "a.txt twice, the second to overwrite the "
	                         "first",
	                         r);
	enum verdict b = hostile(g, "file-then-folder.zip", "duplicate",
	                         "a file a/b, then a folder a/b/", r);
	return a == PASS && b == PASS ? PASS : FAIL;
}

/* ---- leaks: the tool under valgrind ------------------------------------ */

/* Every path: a good archive, refusals on the header, in the data, at the
 * central directory (one record too many, too) and at the end of the
 * input, and the writer. */
static const struct leak_run {
	const char *source; /* corpus or zips file; NULL: create */
	bool from_corpus;
	const char *word; /* the refusal expected; NULL: success */
} leak_runs[] = {
    {"unzipper/compressed-standard/archive.zip", true, NULL},
    {"late-crc.zip", false, "crc"},
    {"slip-dotdot.zip", false, "zip-slip"},
    {"symlink.zip", false, "symlink"},
    {"ratio-bomb.zip", false, "bomb"},
    {"overlap-bomb.zip", false, "mismatch"},
    {"truncated.zip", false, "truncated"},
    {"nested-bomb.zip", false, "nested"},
    {NULL, false, NULL},
};

#define NRUNS (sizeof(leak_runs) / sizeof(*leak_runs))

struct leaks {
	bool done;
	char why[600];
	long definite, indirect;
	int invalid, fds;
	char where[400]; /* the run the first problem was in */
};

static struct leaks leaks;

static void count_log(const struct vglog *l, const char *what)
{
	long definite, indirect;
	int invalid, fds;

	vglog_tally(l, &definite, &indirect, &invalid, &fds);
	if ((definite || indirect || invalid || fds) && !leaks.where[0])
		snprintf(leaks.where, sizeof(leaks.where), "%s", what);
	leaks.definite += definite;
	leaks.indirect += indirect;
	leaks.invalid += invalid;
	leaks.fds += fds;
}

static struct leaks *run_leaks(struct grader *g, struct result *r)
{
	if (leaks.done)
		return &leaks;
	leaks.done = true;
	for (size_t i = 0; i < sizeof(leak_runs) / sizeof(*leak_runs); i++) {
		const struct leak_run *lr = &leak_runs[i];
		char in[PATH_MAX], vg[PATH_MAX], out[PATH_MAX], what[300];
		char *ex[] = {"extract", "x", NULL},
		     *cr[] = {"create", "src", NULL};
		struct tree want = {.n = calloc(64, sizeof(struct node))};
		struct vglog l = {0};
		struct run x;

		lab7_clear_run(g);
		snprintf(vg, sizeof(vg), "%s/zipstream-vg-%zu.log", g->priv, i);
		unlink(vg);
		if (lr->source) {
			snprintf(in, sizeof(in), "%s/%s/%s", g->repo,
			         lr->from_corpus ? CORPUS : ZIPS, lr->source);
			snprintf(what, sizeof(what), "zipstream extract x < %s",
			         lr->source);
		} else {
			snprintf(out, sizeof(out), "%s/leak.zip", g->priv);
			unlink(out);
			if (want.n)
				lab7_make_source(g, &want);
			snprintf(what, sizeof(what), "zipstream create src");
		}
		free(want.n);
		int rc = tool(g, lr->source ? ex : cr, lr->source ? in : NULL,
		              lr->source ? NULL : out, true, vg, &x, r);
		if (rc < 0 || x.timed_out || vglog_read(&l, vg, x.status) < 0 ||
		    l.tamper[0] || l.errors < 0) {
			snprintf(leaks.why, sizeof(leaks.why),
			         "%s under valgrind: %s", what,
			         x.timed_out ? "did not finish in time"
			         : l.tamper[0]
			             ? "valgrind's log cannot be believed"
			             : "valgrind wrote no summary");
			vglog_free(&l);
			break;
		}
		count_log(&l, what);
		vglog_free(&l);
		/* A tool that did nothing has leaked nothing: each run must
		 * have taken the path it is there for. */
		if (lr->word ? !refused_with(&x, lr->word) : !extracted(&x)) {
			char how[600];
			snprintf(leaks.why, sizeof(leaks.why),
			         "%s under valgrind %s; expected %s%s: what it "
			         "leaks on that path cannot be judged",
			         what, outcome(&x, how, sizeof(how)),
			         lr->word ? "the refusal " : "success",
			         lr->word ? lr->word : "");
			break;
		}
	}
	if (!leaks.why[0]) {
		char good[PATH_MAX], bad[PATH_MAX];
		struct vglog l = {0};

		snprintf(good, sizeof(good), "%s/%s/%s", g->repo, CORPUS,
		         leak_runs[0].source);
		snprintf(bad, sizeof(bad), "%s/%s/slip-dotdot.zip", g->repo,
		         ZIPS);
		if (lab7_server_leaks(g, good, bad, &l, leaks.why,
		                      sizeof(leaks.why)) == 0)
			count_log(&l, "the server (uploads and downloads, "
			              "whole, refused and abandoned)");
		vglog_free(&l);
	}
	lab7_clear_run(g);
	return &leaks;
}

/* The runs' tally, or NULL (and r says why) if they could not be judged. */
static struct leaks *leaks_ready(struct grader *g, struct result *r)
{
	struct leaks *k = run_leaks(g, r);

	if (!k->why[0])
		return k;
	result_printf(r, "%s\n", k->why);
	return NULL;
}

static enum verdict leaks_memory(struct grader *g, const struct check *c,
                                 struct result *r)
{
	struct leaks *k = leaks_ready(g, r);

	(void)c;
	if (!k)
		return FAIL;
	if (k->definite == 0 && k->indirect == 0) {
		result_printf(r,
		              "no memory leaked in %zu runs (an archive "
		              "extracted, %zu refused at each stage, one "
		              "created) nor by the server\n",
		              NRUNS, NRUNS - 2);
		return PASS;
	}
	result_printf(r,
	              "%ld bytes definitely and %ld indirectly lost, first "
	              "in: %s\n",
	              k->definite, k->indirect, k->where);
	return FAIL;
}

static enum verdict leaks_invalid(struct grader *g, const struct check *c,
                                  struct result *r)
{
	struct leaks *k = leaks_ready(g, r);

	(void)c;
	if (!k)
		return FAIL;
	if (k->invalid == 0) {
		result_printf(r,
		              "no invalid reads, writes or frees in %zu runs "
		              "nor in the server\n",
		              NRUNS);
		return PASS;
	}
	result_printf(r, "%d memory error(s), first in: %s\n", k->invalid,
	              k->where);
	return FAIL;
}

static enum verdict leaks_fds(struct grader *g, const struct check *c,
                              struct result *r)
{
	struct leaks *k = leaks_ready(g, r);

	(void)c;
	if (!k)
		return FAIL;
	if (k->fds == 0) {
		result_printf(
		    r,
		    "no descriptor left open at exit in %zu runs nor by the "
		    "server\n",
		    NRUNS);
		return PASS;
	}
	result_printf(r, "%d descriptor(s) open at exit, first in: %s\n",
	              k->fds, k->where);
	return FAIL;
}

/* ---- the table --------------------------------------------------------- */

static const struct check checks[] = {
    {"build", STAGE_BUILD, 3, check_build,
     "read the first compiler error; fix it; rebuild with `make build LAB=7`",
     NULL, false},

    UNIT(read_chunkings, 3,
         "a header is parsed only once gather() has all of it; nothing may "
         "depend on where a piece ended"),
    UNIT(read_stored_deflate, 2,
         "stored: at most csize, at most ZR_OUT_SIZE at a time; deflate: "
         "emit every full output buffer, loop until inflate wants input"),
    UNIT(read_descriptor_layouts, 2,
         "try 12, 16, 20, 24 bytes as they arrive: the sizes must be the "
         "data's and a signature must follow"),
    UNIT(read_zip64, 2,
         "only the fields that say 0xffffffff are in the zip64 extra, in "
         "the order usize, csize, offset"),
    UNIT(read_names, 1,
         "bit 11: UTF-8 as it is; else CP437 converted; 0x7075 only when "
         "its CRC-32 is the raw name's"),
    UNIT(read_refusals, 2,
         "refuse in the header, before data; without bit 3, check output "
         "against usize before on_data"),
    UNIT(read_framing, 2,
         "the first four bytes decide: a record, a prefix or not a zip; "
         "after the end record, ignore the rest"),
    UNIT(read_callback_stops, 1,
         "a callback's non-zero return is the reader's, now and later"),
    UNIT(extract_files, 1,
         "make the folders on the way; O_EXCL files, mode 0644"),
    UNIT(extract_names, 2,
         "component by component, on the name as it is: no '..', no "
         "leading '/', no backslash, no drive letter"),
    UNIT(extract_duplicates, 1,
         "a name that exists is refused, a folder listed twice is not"),
    UNIT(extract_limits, 2,
         "count in on_entry and on_data: entries, total, ratio past the "
         "floor"),
    UNIT(extract_central, 2,
         "record k against entry k: offset, name, method, CRC-32, sizes; "
         "a symlink mode refuses all"),
    UNIT(extract_nested, 1,
         "hand every piece to nest_data() before writing it; its error is "
         "the entry's"),
    UNIT(extract_staging, 1,
         "stage_open() 0700 and hidden; publish with RENAME_NOREPLACE; "
         "discard everything, following no link"),
    UNIT(extract_errors_sticky, 1,
         "after an error, every call returns it; zx_where() names the "
         "entry"),
    UNIT(writer_layout, 1,
         "local header with bit 3 and zero sizes, data, signed descriptor; "
         "central records with each local header's offset"),
    UNIT(writer_deflates, 1,
         "raw deflate (-15 window bits), one stream per "
         "entry"),
    UNIT(writer_pieces, 1, "the bytes, however zw_data() was called"),
    UNIT(writer_folders, 1, "a folder: stored, no bit 3, no descriptor"),
    UNIT(writer_zip64, 1,
         "a size hint of 4 GiB or more: a zip64 extra and a 24-byte "
         "descriptor"),
    UNIT(writer_zip64_end, 1,
         "65,535 entries or more: the zip64 end record and its locator"),
    UNIT(writer_size_limit, 1,
         "an entry without zip64 that passes 0xffffffff bytes is ZIP_ESIZE"),
    UNIT(writer_sink_error, 1,
         "the sink's error is kept: every later call returns it"),
    HIDDEN(many_entries, 1,
           "what is kept for the central directory grows with the archive: "
           "no fixed table"),
    HIDDEN(comment_cut, 1,
           "the archive is whole only once the end record's comment has "
           "come"),
    HIDDEN(zip64_end_count, 1,
           "a zip64 end record's count must be the central records'"),

    {"interop.corpus_extracts", STAGE_INTEROP, 5, corpus_extracts,
     "run `zipstream extract out < FILE` on the archive named; "
     "EXPECT.tsv says what must come out",
     NULL, false},
    {"interop.corpus_refuses", STAGE_INTEROP, 5, corpus_refuses,
     "the first problem in stream order decides the word; on a refusal, "
     "the staging folder goes, whole",
     NULL, false},
    {"interop.writer_tools", STAGE_INTEROP, 3, writer_tools,
     "bit 3 and a signed descriptor after each entry's data; the central "
     "directory's offsets are where each local header began",
     NULL, false},
    {"interop.writer_roundtrip", STAGE_INTEROP, 2, writer_roundtrip,
     "your writer's archive, read by your reader: the same files back", NULL,
     false},

    {"safety.zip_slip", STAGE_SAFETY, 3, zip_slip,
     "check each component of the name as it is: no '..', no leading '/'", NULL,
     false},
    {"safety.symlink", STAGE_SAFETY, 2, symlink_entry,
     "a central record made by Unix whose mode is S_IFLNK refuses the "
     "whole archive",
     NULL, false},
    {"safety.ratio_bomb", STAGE_SAFETY, 2, ratio_bomb,
     "count in on_data, before writing: past ratio_floor, out / in above "
     "max_ratio is a bomb",
     NULL, false},
    {"safety.overlap_bomb", STAGE_SAFETY, 2, overlap_bomb,
     "the k-th central record must be the k-th entry read; more records "
     "than entries is a mismatch",
     NULL, false},
    {"safety.nested_bomb", STAGE_SAFETY, 2, nested_bomb,
     "on_data(): every piece goes through nest_data(), which reads an "
     "entry that is a zip as one, level by level",
     NULL, false},
    {"safety.no_partial", STAGE_SAFETY, 2, no_partial,
     "extract into the staging folder; on any error, discard it whole", NULL,
     false},
    {"safety.duplicates", STAGE_SAFETY, 1, duplicates,
     "O_CREAT | O_EXCL: a name that exists is a duplicate, never "
     "overwritten",
     NULL, false},

    {"integration.upload", STAGE_INTEGRATION, 3, lab7_upload,
     "POST /upload: each piece of the body to the worker (UP_DATA), the "
     "end (UP_END); its UP_DONE answers 201",
     NULL, false},
    {"integration.upload_chunked", STAGE_INTEGRATION, 2, lab7_upload_chunked,
     "a chunked body comes in the same pieces through on_body: nothing "
     "changes for you",
     NULL, false},
    {"integration.upload_refused", STAGE_INTEGRATION, 3, lab7_upload_refused,
     "a refusal: 422 with its word, the staging folder discarded; a name "
     "taken: 409",
     NULL, false},
    {"integration.client_leaves", STAGE_INTEGRATION, 3, lab7_client_leaves,
     "on_gone: UP_ABORT to the worker, which discards; the upload ends at "
     "its UP_DONE",
     NULL, false},
    {"integration.download", STAGE_INTEGRATION, 3, lab7_download,
     "GET /download.zip: the head at the first piece (chunked), each piece "
     "written, server_end() at DL_DONE",
     NULL, false},
    {"integration.stats", STAGE_INTEGRATION, 2, lab7_stats,
     "count bytes_in and entries_in from each UP_ACK, published and "
     "refused at UP_DONE",
     NULL, false},
    {"memory.upload", STAGE_MEMORY, 4, lab7_upload_memory,
     "pause the body at ZS_INFLIGHT_HIGH bytes in flight, resume at "
     "ZS_INFLIGHT_LOW",
     NULL, false},
    {"memory.download", STAGE_MEMORY, 3, lab7_download_memory,
     "ask for the next piece only while server_write() says 0; at 1, wait "
     "for on_drain",
     NULL, false},
    {"latency.slow_uploader", STAGE_LATENCY, 3, lab7_slow_uploader,
     "a worker serves every transfer given to it; a stalled upload holds "
     "none",
     NULL, false},

    {"leaks.memory", STAGE_LEAKS, 2, leaks_memory,
     "zx_free() and zr_free() on every path, the error paths too", NULL, false},
    {"leaks.invalid_access", STAGE_LEAKS, 1, leaks_invalid,
     "a field read past the header gathered? a piece past its length?", NULL,
     false},
    {"leaks.descriptors", STAGE_LEAKS, 2, leaks_fds,
     "the file being written is closed at its end and by zx_free()", NULL,
     false},
    QUIZ(q1),
    QUIZ(q2),
    QUIZ(q3),
    QUIZ(q4),
};

static int setup(struct grader *g)
{
	(void)g;
	return 0;
}

static const struct lab lab7 = {
    .number = 7,
    .dir = "07-zip-streaming",
    .title = "ZIP streaming: an unzipper and an archiver",
    .checks = checks,
    .nchecks = sizeof(checks) / sizeof(checks[0]),
    .setup = setup,
    .unit_mem_mb = 6144,
};

GRADER_LAB(lab7)
