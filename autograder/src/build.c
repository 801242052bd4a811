/* build.c - the scratch copy, the build stage and the unit stage.
 *
 * The submission is never built in place: the course's labs/ tree is copied
 * into a private scratch folder, the student's edited files are laid over it,
 * and everything is compiled and run there, as the sandbox uid.
 */
#include <ctype.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "coverage.h"
#include "grader.h"
#include "probe.h"
#include "util.h"

const struct sbx_limits LIMITS_TEST = {
    .cpu_s = 120, .mem_mb = 2048, .nproc = 64, .fsize_mb = 256, .nofile = 256};
static const struct sbx_limits LIMITS_BUILD = {
    .cpu_s = 300, .mem_mb = 4096, .nproc = 64, .fsize_mb = 64, .nofile = 256};
enum { BUILD_TIMEOUT_MS = 120000 };

/* labs/NN-* for lab k, or NULL. */
static int lab_dir(const char *root, int k, char *buf, size_t cap)
{
	char pat[PATH_MAX];
	glob_t gl;
	int rc = -ENOENT;

	snprintf(pat, sizeof(pat), "%s/labs/%02d-*/lab.mk", root, k);
	if (glob(pat, 0, NULL, &gl) == 0 && gl.gl_pathc == 1) {
		snprintf(buf, cap, "%s", gl.gl_pathv[0]);
		*strrchr(buf, '/') = '\0';
		rc = 0;
	}
	globfree(&gl);
	return rc;
}

/* The file list after "LAB_k_EDITED :=" in lab.mk (space-separated). */
static int edited_files(const char *dir, int k, char *buf, size_t cap)
{
	char path[PATH_MAX], key[32], *text, *p;

	snprintf(key, sizeof(key), "LAB_%d_EDITED", k);
	if (!(text = read_file(path_join(path, dir, "lab.mk"), NULL)))
		return -ENOENT;
	p = strstr(text, key);
	if (!p || !(p = strstr(p, ":="))) {
		free(text);
		return -EINVAL;
	}
	p += 2;
	size_t n = strcspn(p, "\n#");
	snprintf(buf, cap, "%.*s", (int)n, p);
	free(text);
	return 0;
}

int lab_edited(const char *repo, int k, char *buf, size_t cap)
{
	char dir[PATH_MAX];
	int rc = lab_dir(repo, k, dir, sizeof(dir));

	return rc < 0 ? rc : edited_files(dir, k, buf, cap);
}

/* Where the student's copy of FILE of lab DIR is in a submission folder:
 * sub/DIR/FILE (the labs/ layout) or sub/FILE (a flat upload). */
static const char *find_submitted(const char *sub, const char *dir,
                                  const char *file, char *buf, size_t cap)
{
	struct stat st;

	snprintf(buf, cap, "%s/%s/%s", sub, dir, file);
	if (lstat(buf, &st) == 0)
		return buf;
	snprintf(buf, cap, "%s/%s", sub, file);
	return lstat(buf, &st) == 0 ? buf : NULL;
}

/* A submitted file is the student's: a link (to a hidden test, to
 * /etc/shadow) is refused, not followed, or the compiler's messages would
 * quote what it points at. */
static int copy_submitted(const char *from, const char *to)
{
	enum { MAX_SOURCE = 1 << 20 };
	size_t len;
	char *data = read_untrusted(from, MAX_SOURCE + 1, &len);
	int rc;

	if (!data)
		return errno == ELOOP ? -ELOOP : -EINVAL;
	rc = len > MAX_SOURCE ? -EFBIG : write_file(to, data, len);
	free(data);
	return rc;
}

static bool in_list(const char *list, int k)
{
	char num[8];

	snprintf(num, sizeof(num), "%d", k);
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ",");
		if (n == strlen(num) && strncmp(p, num, n) == 0)
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

static void note(struct grader *g, const char *fmt, const char *dir,
                 const char *file)
{
	size_t used = strlen(g->notes);

	snprintf(g->notes + used, sizeof(g->notes) - used, fmt, dir, file);
}

/* Lays the edited files of labs 1..N over box/labs. */
static int overlay(struct grader *g, char *why, size_t cap)
{
	for (int k = 1; k <= g->lab->number; k++) {
		char dir[PATH_MAX], files[512], src[PATH_MAX], dst[PATH_MAX];

		if (lab_dir(g->repo, k, dir, sizeof(dir)) < 0 ||
		    edited_files(dir, k, files, sizeof(files)) < 0) {
			snprintf(why, cap, "lab %d has no labs/NN-*/lab.mk", k);
			return -ENOENT;
		}
		const char *name = strrchr(dir, '/') + 1;
		bool from_ref =
		    !strcmp(g->impl, "solutions") || in_list(g->ref, k);
		for (char *f = strtok(files, " \t"); f;
		     f = strtok(NULL, " \t")) {
			const char *from = src;
			int rc;

			snprintf(dst, sizeof(dst), "%s/labs/%s/%s", g->box,
			         name, f);
			if (from_ref)
				snprintf(src, sizeof(src), "%s/solutions/%s/%s",
				         g->repo, name, f);
			else if (!g->submission)
				snprintf(src, sizeof(src), "%s/labs/%s/%s",
				         g->repo, name, f);
			else if (!(from = find_submitted(g->submission, name, f,
			                                 src, sizeof(src))))
				note(g,
				     "note: the submission has no %s/%s; using "
				     "the starter's\n",
				     name, f);
			if (!from)
				continue;
			rc = g->submission && !from_ref
			         ? copy_submitted(from, dst)
			         : copy_file(from, dst);
			if (rc == -ELOOP || rc == -EINVAL || rc == -EFBIG) {
				note(g,
				     "note: the submission's %s/%s is not a "
				     "plain file of at most 1 MiB (a link?); "
				     "using the starter's\n",
				     name, f);
			} else if (rc < 0) {
				snprintf(why, cap, "cannot copy %s: %s", from,
				         strerror(-rc));
				return rc;
			}
		}
	}
	return 0;
}

/* Hidden tests are compiled here, by the grader, from the course's own
 * tree (their sources and the given headers; no student file): student
 * code gets the objects to link, never the sources. */
static int compile_hidden(struct grader *g, char *why, size_t cap)
{
	char mk[PATH_MAX], root[PATH_MAX + 16], out[PATH_MAX + 16],
	    hidden[PATH_MAX + 16], lab[16], log[PATH_MAX], objs[PATH_MAX],
	    dest[PATH_MAX];

	path_join(mk, g->repo, "mk/build.mk");
	snprintf(root, sizeof(root), "SRC_ROOT=%s", g->repo);
	snprintf(out, sizeof(out), "OUT=%s/hidden-build", g->priv);
	snprintf(hidden, sizeof(hidden), "HIDDEN=%s/autograder/hidden",
	         g->repo);
	snprintf(lab, sizeof(lab), "LAB=%d", g->lab->number);
	path_join(log, g->priv, PREPARE_LOG);
	/* With a compile cache (the course's own gradings only), through
	 * it: the same sources every time, and -O2 on Check's macros is
	 * seconds of a grading's CPU. */
	char cache_dir[PATH_MAX + 16];
	snprintf(cache_dir, sizeof(cache_dir), "CCACHE_DIR=%s",
	         g->compile_cache ? g->compile_cache : "");
	char *cached[] = {cache_dir, "CCACHE_UMASK=000", "CC=ccache cc"};
	char *argv[16] = {"env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin"};
	size_t n = 3;
	for (size_t i = 0; g->compile_cache && i < 3; i++)
		argv[n++] = cached[i];
	char *make[] = {"make", "-s",   "--no-print-directory",
	                "-f",   mk,     lab,
	                root,   out,    hidden,
	                "hidden-objs"};
	for (size_t i = 0; i < sizeof(make) / sizeof(make[0]); i++)
		argv[n++] = make[i];
	argv[n] = NULL;
	if (run_trusted(argv, log) != 0) {
		snprintf(why, cap, "the hidden tests did not compile");
		return -EIO;
	}
	snprintf(objs, sizeof(objs), "%s/hidden-build/lab%d/obj/hidden",
	         g->priv, g->lab->number);
	path_join(dest, g->box, "hidden");
	if (access(objs, F_OK) != 0)
		return 0; /* this lab has no hidden tests */
	/* The objects only: the dependency files name the sources. */
	glob_t gl;
	char pat[PATH_MAX + 8], to[PATH_MAX];
	int rc = 0;
	snprintf(pat, sizeof(pat), "%s/*.o", objs);
	if (mkdir(dest, 0755) < 0 || glob(pat, 0, NULL, &gl) != 0) {
		snprintf(why, cap, "cannot copy the hidden tests' objects");
		return -EIO;
	}
	for (size_t i = 0; i < gl.gl_pathc && rc == 0; i++)
		rc = copy_file(
		    gl.gl_pathv[i],
		    path_join(to, dest, strrchr(gl.gl_pathv[i], '/') + 1));
	globfree(&gl);
	if (rc < 0)
		snprintf(why, cap, "cannot copy the hidden tests' objects");
	return rc;
}

int grader_refs_released(const struct grader *g, char *why, size_t cap)
{
	bool all = !strcmp(g->impl, "solutions");

	for (int k = 1; k <= g->lab->number; k++) {
		char dir[PATH_MAX], ref[PATH_MAX + 16];

		if ((!all && !in_list(g->ref, k)) ||
		    lab_dir(g->repo, k, dir, sizeof(dir)) < 0)
			continue; /* no such lab: overlay() says so */
		const char *name = strrchr(dir, '/') + 1;
		snprintf(ref, sizeof(ref), "%s/solutions/%s", g->repo, name);
		if (access(ref, F_OK) == 0)
			continue;
		snprintf(why, cap,
		         "the reference of lab %d is not released in this copy "
		         "(solutions/%s is missing): ",
		         k, name);
		size_t used = strlen(why);
		if (all)
			snprintf(why + used, cap - used,
			         "grade your own code instead (without --impl "
			         "solutions), or ask your instructor for its "
			         "reference");
		else
			snprintf(why + used, cap - used,
			         "grade lab %d on your own lab %d, or ask your "
			         "instructor for its reference",
			         g->lab->number, k);
		return -ENOENT;
	}
	return 0;
}

int grader_prepare(struct grader *g, char *why, size_t cap)
{
	char path[PATH_MAX], log[PATH_MAX];
	int rc;

	path_join(log, g->priv, PREPARE_LOG);
	snprintf(path, sizeof(path), "%s/labs", g->repo);
	if ((rc = copy_tree(path, g->box, log)) < 0)
		goto copy_failed;
	snprintf(path, sizeof(path), "%s/mk", g->repo);
	if ((rc = copy_tree(path, g->box, log)) < 0)
		goto copy_failed;
	if (g->hidden && (rc = compile_hidden(g, why, cap)) < 0)
		return rc;
	return overlay(g, why, cap);
copy_failed:
	snprintf(why, cap, "cannot copy %s into %s", path, g->box);
	return rc;
}

/* One line of the compiler's output, cut where a report would drown. */
static void quote_line(struct result *r, const char *p, size_t n)
{
	enum { MAX_LINE = 300 };

	result_printf(r, "  %.*s%s\n", (int)(n > MAX_LINE ? MAX_LINE : n), p,
	              n > MAX_LINE ? "..." : "");
}

static void show_warnings(const char *log, struct result *r)
{
	int shown = 0, total = 0;

	for (const char *p = log; p && *p;) {
		size_t n = strcspn(p, "\n");
		if (memmem(p, n, "warning:", 8)) {
			if (shown++ < 15)
				quote_line(r, p, n);
			total++;
		}
		p += n + (p[n] == '\n');
	}
	if (total)
		result_printf(r,
		              "%d compiler warning(s)%s: warnings are often "
		              "bugs; fix them.\n",
		              total, total > shown ? " (first 15 shown)" : "");
}

static void show_errors(const char *log, struct result *r)
{
	int shown = 0;

	for (const char *p = log; p && *p && shown < 25;) {
		size_t n = strcspn(p, "\n");
		if (memmem(p, n, "error", 5) ||
		    memmem(p, n, "undefined reference", 19)) {
			quote_line(r, p, n);
			shown++;
		}
		p += n + (p[n] == '\n');
	}
}

enum { LOG_CAP = 4 << 20 }; /* bytes of any log the grader reads */

/* Runs build.mk's "lab" target in the sandbox; flush (a file in the box)
 * makes it the coverage build (coverage.h), else the one that is graded. */
static enum verdict run_build(struct grader *g, struct result *r,
                              const char *flush)
{
	char mk[PATH_MAX], log[PATH_MAX], root[PATH_MAX + 16],
	    out[PATH_MAX + 16], hidden[PATH_MAX + 16], lab[16], build[PATH_MAX],
	    flush_var[PATH_MAX + 32];
	struct sbx_proc p;
	int rc;

	if (g->notes[0] && !flush)
		result_printf(r, "%s", g->notes);
	path_join(build, g->box, "build");
	if ((rc = sbx_mkdir(build)) < 0 && rc != -EEXIST) {
		result_printf(r, "grader: cannot make %s: %s\n", build,
		              strerror(-rc));
		return FAIL;
	}
	snprintf(root, sizeof(root), "SRC_ROOT=%s", g->box);
	snprintf(out, sizeof(out), "OUT=%s", build);
	snprintf(hidden, sizeof(hidden), "HIDDEN_OBJS=%s",
	         g->hidden ? path_join(mk, g->box, "hidden") : "");
	snprintf(lab, sizeof(lab), "LAB=%d", g->lab->number);
	snprintf(flush_var, sizeof(flush_var), "COVERAGE_FLUSH=%s",
	         flush ? flush : "");
	path_join(mk, g->box, "mk/build.mk");
	char *argv[] = {"/usr/bin/make",
	                "-k",
	                "-j2",
	                "--no-print-directory",
	                "-f",
	                mk,
	                lab,
	                "IMPL=labs",
	                root,
	                out,
	                hidden,
	                "lab",
	                flush ? "COVERAGE=1" : "COVERAGE=",
	                flush_var,
	                NULL, /* CC=ccache cc, with a compile cache */
	                NULL};
	char cache_dir[PATH_MAX + 16], base_dir[PATH_MAX + 24];
	/* ccache across gradings (grade --compile-cache): every grading's box
	 * is a new folder, so paths are hashed relative to it (BASEDIR) and
	 * the debug info's folder is not hashed; the scratch copy's files are
	 * all new, which ccache would otherwise distrust (SLOPPINESS); and
	 * the cache is shared by sandbox uids that differ between gradings
	 * (UMASK). */
	char *cache_env[] = {cache_dir,
	                     base_dir,
	                     "CCACHE_NOHASHDIR=1",
	                     "CCACHE_UMASK=000",
	                     "CCACHE_SLOPPINESS=include_file_mtime,"
	                     "include_file_ctime,time_macros",
	                     NULL};
	path_join(log, g->priv, flush ? "build-coverage.log" : "build.log");
	struct sbx_spec spec = {
	    .argv = argv, .cwd = g->box, .log = log, .lim = &LIMITS_BUILD};
	/* Not the coverage build: gcov's notes files name their folder. */
	if (g->compile_cache && !flush) {
		argv[sizeof(argv) / sizeof(argv[0]) - 2] = "CC=ccache cc";
		snprintf(cache_dir, sizeof(cache_dir), "CCACHE_DIR=%s",
		         g->compile_cache);
		snprintf(base_dir, sizeof(base_dir), "CCACHE_BASEDIR=%s",
		         g->box);
		spec.env = cache_env;
	}
	rc = sbx_run(&p, &spec, BUILD_TIMEOUT_MS);

	char *text = read_untrusted(log, LOG_CAP, NULL);
	/* The graded build's warnings are the student's to fix; the
	 * coverage build compiles the same files again. */
	if (!flush)
		show_warnings(text, r);
	if (rc == -ETIMEDOUT) {
		result_printf(r, "the build did not finish within %d s\n",
		              BUILD_TIMEOUT_MS / 1000);
	} else if (rc < 0 || !WIFEXITED(p.status) ||
	           WEXITSTATUS(p.status) != 0) {
		result_printf(r, "the build failed. First errors:\n");
		show_errors(text, r);
		/* What did build (say the server) can still be graded. */
		rc = -EIO;
	} else {
		result_printf(r,
		              "built the server and the test programs of lab "
		              "%d%s\n",
		              g->lab->number, flush ? " for coverage" : "");
	}
	if (flush)
		free(text);
	else
		g->build_log = text;
	return rc < 0 ? FAIL : PASS;
}

enum verdict check_build(struct grader *g, const struct check *c,
                         struct result *r)
{
	(void)c;
	return run_build(g, r, NULL);
}

enum verdict build_coverage(struct grader *g, const char *flush,
                            struct result *r)
{
	return run_build(g, r, flush);
}

/* Pulls <test result="...">...<id>NAME</id>...<message>M</message> out of
 * Check's XML log. Good enough for the fixed format Check writes. */
static void parse_xml(struct grader *g, const char *xml)
{
	const char *p = xml;

	while ((p = strstr(p, "<test result=\"")) != NULL) {
		const char *end = strstr(p, "</test>");
		if (!end)
			break;
		struct unit_case *u =
		    realloc(g->units, (g->nunits + 1) * sizeof(*u));
		if (!u)
			break;
		g->units = u;
		u = &g->units[g->nunits++];
		memset(u, 0, sizeof(*u));
		u->passed = strncmp(p + 14, "success\"", 8) == 0;
		xml_field(p, end, "id", u->name, sizeof(u->name));
		xml_field(p, end, "message", u->message, sizeof(u->message));
		p = end;
	}
}

static void run_units(struct grader *g)
{
	char pat[PATH_MAX], xml[PATH_MAX], env0[PATH_MAX + 32], log[PATH_MAX];
	char one_case[160] = "";
	glob_t gl;

	g->units_ran = true;
	snprintf(pat, sizeof(pat), "%s/%s", g->bin, "*test_*");
	if (glob(pat, 0, NULL, &gl) != 0)
		return;
	for (size_t i = 0; i < gl.gl_pathc; i++) {
		const char *bin = gl.gl_pathv[i], *name = strrchr(bin, '/') + 1;
		struct sbx_proc p;
		char how[96];

		if (strchr(name, '.') ||
		    (!g->hidden && !strncmp(name, "hidden_", 7)))
			continue;
		snprintf(xml, sizeof(xml), "%s/%s.xml", g->run, name);
		snprintf(log, sizeof(log), "%s/%s.log", g->priv, name);
		unlink(xml);
		snprintf(env0, sizeof(env0), "CK_XML_LOG_FILE_NAME=%s", xml);
		if (g->unit_case)
			snprintf(one_case, sizeof(one_case), "CK_RUN_CASE=%s",
			         g->unit_case);
		char *env[] = {env0, "CK_DEFAULT_TIMEOUT=10",
		               g->unit_case ? one_case : NULL, NULL};
		char *argv[] = {(char *)bin, NULL};
		struct sbx_limits lim = LIMITS_TEST;
		if (g->lab->unit_mem_mb)
			lim.mem_mb = g->lab->unit_mem_mb;
		struct sbx_spec spec = {.argv = argv,
		                        .env = env,
		                        .cwd = g->run,
		                        .log = log,
		                        .lim = &lim};
		/* Each program within what is left of the unit stage's
		 * deadline, so that a hang names its program. */
		double left = probe_time_left_ms() - 2000;
		int limit = left < 1000     ? 1000
		            : left > 180000 ? 180000
		                            : (int)left;
		int rc = sbx_run(&p, &spec, limit);
		/* Check's log, written by the test program: untrusted. */
		char *text = read_untrusted(xml, LOG_CAP, NULL);
		if (text)
			parse_xml(g, text);
		free(text);
		size_t used = strlen(g->units_note);
		snprintf(g->units_note + used, sizeof(g->units_note) - used,
		         "%s %s; ", name,
		         rc == -ETIMEDOUT
		             ? "was stopped: it ran out of time"
		             : sbx_describe(p.status, how, sizeof(how)));
	}
	globfree(&gl);
}

enum verdict check_unit(struct grader *g, const struct check *c,
                        struct result *r)
{
	if (!g->units_ran)
		run_units(g);
	for (size_t i = 0; i < g->nunits; i++) {
		struct unit_case *u = &g->units[i];
		if (strcmp(u->name, c->arg) != 0)
			continue;
		if (u->passed) {
			result_printf(r, "%s passed\n", c->arg);
			return PASS;
		}
		result_printf(r, "%s failed: %s\n", c->arg, u->message);
		return FAIL;
	}
	result_printf(r,
	              "%s did not report a result: the test program crashed, "
	              "hung or did not build (%s)\n",
	              c->arg,
	              g->units_note[0] ? g->units_note : "no test program ran");
	return FAIL;
}
