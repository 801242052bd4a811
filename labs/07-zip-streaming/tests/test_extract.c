/* test_extract.c - public tests of lab 7's safe extractor.
 *
 * Each test gets a scratch folder, /tmp/test-extract-XXXXXX, made before
 * it and removed (recursively) after it, pass or fail; inside, "stage" is
 * the staging folder the extractor writes into (its dirfd), so anything
 * written beside "stage" has left the folder it was given. Archives are
 * built byte by byte in memory (zipfix.h) and fed to zx_feed(), all at
 * once or in pieces; then the test looks at what is on disk: the tree
 * (each name, "/" after folders), each file's bytes, each mode.
 *
 * The extractor runs with umask 0 (restored after), so the modes on disk
 * are the ones it asked for: 0644 for files, 0755 for folders, whatever
 * the archive says.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"
#include "staging.h"
#include "testing.h"
#include "zipfix.h"

static const char *err_str(int err)
{
	static const char *const names[] = {
	    "0",
	    "ZIP_ENOTZIP",
	    "ZIP_EPREFIXED",
	    "ZIP_ETRUNCATED",
	    "ZIP_EENCRYPTED",
	    "ZIP_EUNSUPPORTED",
	    "ZIP_ESTOREDDESC",
	    "ZIP_ECORRUPT",
	    "ZIP_ECRC",
	    "ZIP_ESIZE",
	    "ZIP_ESLIP",
	    "ZIP_ESYMLINK",
	    "ZIP_EBOMB",
	    "ZIP_ELIMIT",
	    "ZIP_EDUPLICATE",
	    "ZIP_EMISMATCH",
	    "ZIP_ENESTED",
	    "ZIP_EIO",
	    "ZIP_ENOMEM",
	};
	static char other[4][32];
	static int next;

	if (err <= 0 && -err < (int)(sizeof(names) / sizeof(names[0])))
		return names[-err];
	next = (next + 1) % 4;
	snprintf(other[next], sizeof(other[next]), "%d (no ZIP_E* value)", err);
	return other[next];
}

/* --- the scratch folder and the staging folder in it --- */

static char scratch[] = "/tmp/test-extract-XXXXXX";
static char stage[sizeof(scratch) + 8];
static int stage_fd = -1;

static int remove_one(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		fprintf(stderr, "could not remove %s: %s\n", path,
		        strerror(errno));
	return 0;
}

/* Unchecked fixtures: they run in the parent, around the (forked) test,
 * so the folder goes even when a test fails. */
static void scratch_make(void)
{
	strcpy(scratch, "/tmp/test-extract-XXXXXX");
	if (mkdtemp(scratch) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(stage, sizeof(stage), "%s/stage", scratch);
	if (mkdir(stage, 0755) != 0) {
		perror("mkdir");
		abort();
	}
	stage_fd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (stage_fd < 0) {
		perror("open");
		abort();
	}
}

static void scratch_remove(void)
{
	if (stage_fd >= 0)
		close(stage_fd);
	stage_fd = -1;
	/* Folders the extractor made are 0755: all can be walked. */
	nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static int remove_inside(const char *path, const struct stat *st, int flag,
                         struct FTW *ftw)
{
	return ftw->level == 0 ? 0 : remove_one(path, st, flag, ftw);
}

/* A fresh, empty staging folder in the same scratch folder (the parent
 * removes that one), for a test's next archive. */
static void stage_renew(void)
{
	close(stage_fd);
	nftw(scratch, remove_inside, 16, FTW_DEPTH | FTW_PHYS);
	ck_assert_int_eq(mkdir(stage, 0755), 0);
	stage_fd = open(stage, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(stage_fd, 0);
}

/* --- what is on disk --- */

static char tree_buf[8192];
static size_t tree_len;
static char *tree_names[256];
static int tree_n;
static size_t tree_prefix;

static int note_one(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
	(void)ftw;
	if (strlen(path) <= tree_prefix)
		return 0; /* the root itself */
	if (tree_n < 256)
		tree_names[tree_n++] = strdup(path + tree_prefix);
	if (flag == FTW_D && tree_n <= 256) {
		char *s = tree_names[tree_n - 1];
		size_t n = strlen(s);
		char *t = realloc(s, n + 2);
		if (t) {
			t[n] = '/';
			t[n + 1] = '\0';
			tree_names[tree_n - 1] = t;
		}
	} else if (S_ISLNK(st->st_mode) && tree_n <= 256) {
		char *s = tree_names[tree_n - 1];
		size_t n = strlen(s);
		char *t = realloc(s, n + 2);
		if (t) {
			t[n] = '@';
			t[n + 1] = '\0';
			tree_names[tree_n - 1] = t;
		}
	}
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Everything under dir, sorted, one space between: "a/ a/b.txt c.txt"
 * (folders end in '/', symbolic links in '@'). */
static const char *tree(const char *dir)
{
	tree_n = 0;
	tree_len = 0;
	tree_buf[0] = '\0';
	tree_prefix = strlen(dir) + 1;
	nftw(dir, note_one, 16, FTW_PHYS);
	qsort(tree_names, (size_t)tree_n, sizeof(tree_names[0]), by_name);
	for (int i = 0; i < tree_n; i++) {
		if (tree_names[i] == NULL)
			continue;
		tree_len += (size_t)snprintf(
		    tree_buf + tree_len,
		    tree_len < sizeof(tree_buf) ? sizeof(tree_buf) - tree_len
		                                : 0,
		    "%s%s", i ? " " : "", tree_names[i]);
		if (tree_len >= sizeof(tree_buf))
			tree_len = sizeof(tree_buf) - 1;
		free(tree_names[i]);
	}
	return tree_buf;
}

static void check_tree(const char *want, const char *what)
{
	const char *got = tree(stage);

	ck_assert_msg(strcmp(got, want) == 0,
	              "%s: the staging folder holds\n  \"%s\"\nexpected\n  "
	              "\"%s\"",
	              what, got, want);
}

/* Nothing beside the staging folder: nothing left it. */
static void check_nothing_outside(const char *what)
{
	const char *got = tree(scratch);
	size_t n = strlen("stage/");

	/* Everything listed starts with "stage/". */
	for (const char *p = got; *p;) {
		ck_assert_msg(strncmp(p, "stage/", n) == 0,
		              "%s: \"%s\" was written outside the staging "
		              "folder (%s holds \"%s\")",
		              what, p, scratch, got);
		p = strchr(p, ' ');
		if (p == NULL)
			break;
		p++;
	}
}

/* The file name in the stage holds exactly want, and has mode 0644. */
static void check_file(const char *name, const void *want, size_t n)
{
	struct stat st;
	int fd = openat(stage_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "\"%s\" is not in the staging folder: %s", name,
	              strerror(errno));
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_msg(S_ISREG(st.st_mode), "\"%s\" is not a regular file",
	              name);
	ck_assert_msg((st.st_mode & 07777) == 0644,
	              "\"%s\" has mode %04o, expected 0644 (whatever the "
	              "archive says)",
	              name, (unsigned)(st.st_mode & 07777));
	ck_assert_msg((size_t)st.st_size == n, "\"%s\" has %lld bytes, not %zu",
	              name, (long long)st.st_size, n);
	unsigned char *got = malloc(n ? n : 1);
	ck_assert_ptr_nonnull(got);
	size_t at = 0;
	while (at < n) {
		ssize_t k = read(fd, got + at, n - at);
		if (k <= 0)
			break;
		at += (size_t)k;
	}
	close(fd);
	ck_assert_msg(at == n, "\"%s\": read %zu of its %zu bytes", name, at,
	              n);
	for (size_t i = 0; i < n; i++)
		if (got[i] != ((const unsigned char *)want)[i]) {
			unsigned g = got[i];
			free(got);
			ck_assert_msg(
			    0, "\"%s\": byte %zu is %#x, expected %#x", name, i,
			    g, ((const unsigned char *)want)[i]);
		}
	free(got);
}

static void check_folder(const char *name)
{
	struct stat st;

	ck_assert_msg(fstatat(stage_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0,
	              "the folder \"%s\" is not in the staging folder: %s",
	              name, strerror(errno));
	ck_assert_msg(S_ISDIR(st.st_mode), "\"%s\" is not a folder", name);
	ck_assert_msg((st.st_mode & 07777) == 0755,
	              "the folder \"%s\" has mode %04o, expected 0755", name,
	              (unsigned)(st.st_mode & 07777));
}

/* --- extracting --- */

static char where[ZIP_NAME_MAX + 1]; /* zx_where() after the last run */

/* Extracts b's first upto bytes (all of them: SIZE_MAX) into the stage,
 * in pieces of piece bytes (0: all at once), with lim (NULL: defaults).
 * Then zx_finish() if all was fed. Returns the first non-zero any call
 * returned, or 0; every call after it must have returned it again. */
static int extract_upto(const struct zbuf *b, size_t upto,
                        const struct zx_limits *lim, size_t piece)
{
	struct zip_extract *x = malloc(sizeof(*x));
	size_t len = upto < b->len ? upto : b->len;
	int first = 0, rc;
	mode_t old = umask(0);

	ck_assert_ptr_nonnull(x);
	memset(x, 0xa5, sizeof(*x)); /* zx_init() sets what it uses */
	rc = zx_init(x, stage_fd, lim);
	ck_assert_msg(rc == 0, "zx_init() returned %s", err_str(rc));
	ck_assert_msg(strcmp(zx_where(x), "") == 0,
	              "zx_where() is \"%s\" before any error: expected \"\"",
	              zx_where(x));
	for (size_t at = 0; at < len;) {
		size_t n = piece == 0 || len - at < piece ? len - at : piece;
		rc = zx_feed(x, b->p + at, n);
		if (first == 0)
			first = rc;
		else
			ck_assert_msg(
			    rc == first,
			    "zx_feed() returned %s after it had "
			    "returned %s: after an error, every later "
			    "call returns it again",
			    err_str(rc), err_str(first));
		at += n;
	}
	if (upto >= b->len) {
		rc = zx_finish(x);
		if (first == 0)
			first = rc;
		else
			ck_assert_msg(rc == first,
			              "zx_finish() returned %s after zx_feed() "
			              "had returned %s: after an error, every "
			              "later call returns it again",
			              err_str(rc), err_str(first));
	}
	snprintf(where, sizeof(where), "%s", zx_where(x));
	if (first == 0)
		ck_assert_msg(
		    where[0] == '\0',
		    "zx_where() is \"%s\" with no error: expected \"\"", where);
	zx_free(x);
	free(x);
	umask(old);
	return first;
}

static int extract(const struct zbuf *b, const struct zx_limits *lim,
                   size_t piece)
{
	return extract_upto(b, SIZE_MAX, lim, piece);
}

/* Extracts into a fresh stage; the result must be want, and the error
 * about the entry named want_where (NULL: not checked). */
static void expect(const struct zbuf *b, const struct zx_limits *lim, int want,
                   const char *want_where, const char *what)
{
	int got;

	stage_renew();
	got = extract(b, lim, 0);
	ck_assert_msg(got == want, "%s: expected %s, got %s", what,
	              err_str(want), err_str(got));
	if (want_where != NULL)
		ck_assert_msg(strcmp(where, want_where) == 0,
		              "%s: zx_where() is \"%s\", expected \"%s\"", what,
		              where, want_where);
}

/* n bytes of text repeating every 1000: deflate shrinks it a lot. */
static unsigned char *repeated_text(size_t n)
{
	unsigned char *unit = zf_text(1000, 42), *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = unit[i % 1000];
	free(unit);
	return p;
}

/* Where the local header of record i ends: its data's first byte. */
static size_t header_end(const struct zf_archive *a, size_t i)
{
	return a->recs[i].offset + ZIP_LOCAL_SIZE + strlen(a->recs[i].name);
}

/* --- test_extract_files ---
 * Files and folders land where their names say, with their bytes; the
 * folders a name implies are made; files are 0644 and folders 0755, even
 * when the central directory asks for 04777; stored, deflated and
 * bit-3 entries, an empty file, a CP437 name (written as UTF-8). A folder
 * with data is ZIP_ECORRUPT. */

START_TEST(test_extract_files)
{
	struct zf_archive a;
	unsigned char *text = zf_text(10000, 1), *noise = zf_noise(100000, 2);
	const char *hello = "hello, world\n";

	zf_init(&a);
	zf_add(&a, "hello.txt", ZIP_STORED, 0, hello, strlen(hello));
	zf_add_dir(&a, "docs/");
	zf_add(&a, "docs/readme.md", ZIP_DEFLATED, 0, text, 10000);
	zf_add(&a, "deep/er/path/noise.bin", ZIP_DEFLATED, 0, noise, 100000);
	zf_add(&a, "empty.txt", ZIP_STORED, 0, "", 0);
	zf_add_desc(&a, "docs/streamed.txt", text, 5000, ZF_DESC32_SIG);
	zf_add_dir(&a, "x/");
	zf_add_dir(&a, "x/y/");
	zf_add(&a, "caf\x82.txt", ZIP_STORED, 0, "cp437", 5);
	struct zf_rec *r = zf_add(&a, "setuid.sh", ZIP_STORED, 0, "#!", 2);
	r->made_by = 3 << 8 | 20;
	r->external = (0104777u) << 16; /* S_IFREG | S_ISUID | 0777 */
	zf_directory(&a);

	static const size_t pieces[] = {0, 1, 1000};
	for (size_t i = 0; i < 3; i++) {
		char what[64];
		stage_renew();
		if (pieces[i] == 0)
			snprintf(what, sizeof(what),
			         "a 10-entry archive, all at once");
		else
			snprintf(what, sizeof(what),
			         "a 10-entry archive, in pieces of %zu bytes",
			         pieces[i]);
		int got = extract(&a.b, NULL, pieces[i]);
		ck_assert_msg(got == 0,
		              "%s: expected 0, got %s (zx_where "
		              "\"%s\")",
		              what, err_str(got), where);
		check_tree("caf\xc3\xa9.txt deep/ deep/er/ deep/er/path/ "
		           "deep/er/path/noise.bin docs/ docs/readme.md "
		           "docs/streamed.txt empty.txt hello.txt setuid.sh x/ "
		           "x/y/",
		           what);
		check_file("hello.txt", hello, strlen(hello));
		check_file("docs/readme.md", text, 10000);
		check_file("deep/er/path/noise.bin", noise, 100000);
		check_file("empty.txt", "", 0);
		check_file("docs/streamed.txt", text, 5000);
		check_file("caf\xc3\xa9.txt", "cp437", 5);
		check_file("setuid.sh", "#!", 2);
		check_folder("docs");
		check_folder("deep");
		check_folder("deep/er");
		check_folder("deep/er/path");
		check_folder("x");
		check_folder("x/y");
		check_nothing_outside(what);
	}
	zf_free(&a);

	/* Data for a folder: a folder has none to give. */
	zf_init(&a);
	zf_add(&a, "f.txt", ZIP_STORED, 0, "f", 1);
	zf_add(&a, "d/", ZIP_STORED, 0, "x", 1);
	zf_add(&a, "g.txt", ZIP_STORED, 0, "g", 1);
	zf_directory(&a);
	expect(&a.b, NULL, ZIP_ECORRUPT, "d/",
	       "a folder \"d/\" (stored) with 1 byte of data");
	check_nothing_outside("a folder with 1 byte of data");
	zf_free(&a);
	free(text);
	free(noise);
}
END_TEST

/* --- test_extract_names ---
 * zx_check_name() directly: a plain relative path is fine (a trailing
 * '/' marks a folder); empty, absolute, any '..' component (even one that
 * stays inside: the name is checked as it is, never cleaned first), a
 * backslash, a drive letter or a control character is ZIP_ESLIP; more
 * than max bytes is ZIP_ELIMIT. Then through zx_feed(): an unsafe name is
 * refused at its header, and nothing is written outside the stage. */

START_TEST(test_extract_names)
{
	static const char *const fine[] = {
	    "a",   "a/b/c",          "a/",          "a/b/",         "..a",
	    "a..", "a/..b/c",        "a/b../c",     ".hidden",      "a/.../b",
	    "...", "with space.txt", "caf\xc3\xa9", "x-y_z.tar.gz", "12345678",
	    "a.",  "b./c",           ".a/b",        "-dash.txt",
	};
	static const char *const unsafe[] = {
	    "",       "/",         "/etc/passwd", "//x",     "..",
	    "../",    "../x",      "a/../../x",   "a/..",    "a/../",
	    "a/../b", "a/b/../..", "a\\b",        "..\\x",   "\\x",
	    "C:/x",   "c:x",       "C:",          "z:\\x",   "a\x01z",
	    "\x1f",   "a/b\nc",    "tab\there",   "del\x7f", "a\rb",
	};

	for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
		int got = zx_check_name(fine[i], ZIP_NAME_MAX);
		ck_assert_msg(got == 0,
		              "zx_check_name(\"%s\", %d): expected 0, got %s",
		              fine[i], ZIP_NAME_MAX, err_str(got));
	}
	for (size_t i = 0; i < sizeof(unsafe) / sizeof(unsafe[0]); i++) {
		int got = zx_check_name(unsafe[i], ZIP_NAME_MAX);
		ck_assert_msg(got == ZIP_ESLIP,
		              "zx_check_name(\"%s\" (%zu bytes), %d): expected "
		              "ZIP_ESLIP, got %s",
		              unsafe[i], strlen(unsafe[i]), ZIP_NAME_MAX,
		              err_str(got));
	}
	/* Lengths: at most max bytes, a folder's '/' counted. */
	ck_assert_int_eq(zx_check_name("12345678", 8), 0);
	ck_assert_int_eq(zx_check_name("1234567/", 8), 0);
	ck_assert_msg(zx_check_name("123456789", 8) == ZIP_ELIMIT,
	              "zx_check_name(\"123456789\", 8): expected ZIP_ELIMIT, "
	              "got %s",
	              err_str(zx_check_name("123456789", 8)));
	ck_assert_msg(zx_check_name("12345678/", 8) == ZIP_ELIMIT,
	              "zx_check_name(\"12345678/\", 8): expected ZIP_ELIMIT, "
	              "got %s",
	              err_str(zx_check_name("12345678/", 8)));
	char *name = malloc(ZIP_NAME_MAX + 2);
	ck_assert_ptr_nonnull(name);
	memset(name, 'n', ZIP_NAME_MAX);
	for (int i = 100; i < ZIP_NAME_MAX; i += 101)
		name[i] = '/'; /* components of 100 bytes */
	name[ZIP_NAME_MAX] = '\0';
	ck_assert_msg(zx_check_name(name, ZIP_NAME_MAX) == 0,
	              "zx_check_name() of a %d-byte name, max %d: expected 0, "
	              "got %s",
	              ZIP_NAME_MAX, ZIP_NAME_MAX,
	              err_str(zx_check_name(name, ZIP_NAME_MAX)));
	strcat(name, "n");
	ck_assert_msg(zx_check_name(name, ZIP_NAME_MAX) == ZIP_ELIMIT,
	              "zx_check_name() of a %d-byte name, max %d: expected "
	              "ZIP_ELIMIT, got %s",
	              ZIP_NAME_MAX + 1, ZIP_NAME_MAX,
	              err_str(zx_check_name(name, ZIP_NAME_MAX)));
	free(name);

	/* Through zx_feed(): refused at the header, nothing outside. */
	char abs_name[64];
	snprintf(abs_name, sizeof(abs_name), "%s/abs.txt", scratch);
	const char *const evil[] = {"../evil",   "ok/../../evil2", abs_name,
	                            "..\\evil3", "C:/evil4",       "ok/a\x01z"};
	for (size_t i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
		struct zf_archive a;
		char what[128];

		zf_init(&a);
		zf_add(&a, "ok/first.txt", ZIP_STORED, 0, "first", 5);
		zf_add(&a, evil[i], ZIP_STORED, ZIP_FLAG_UTF8, "evil", 4);
		zf_directory(&a);
		snprintf(what, sizeof(what), "an entry named \"%s\"", evil[i]);
		/* Its header alone is enough to refuse it. */
		stage_renew();
		int got = extract_upto(&a.b, header_end(&a, 1), NULL, 0);
		ck_assert_msg(got == ZIP_ESLIP,
		              "%s, fed up to the end of its header: expected "
		              "ZIP_ESLIP, got %s",
		              what, err_str(got));
		expect(&a.b, NULL, ZIP_ESLIP, evil[i], what);
		check_nothing_outside(what);
		check_file("ok/first.txt", "first", 5);
		check_tree("ok/ ok/first.txt", what);
		zf_free(&a);
	}

	/* A Unicode Path extra whose name is unsafe: the name that counts
	 * is the one the reader gives. */
	struct zf_archive a;
	struct zbuf x = {0};
	zf_init(&a);
	zf_x_upath(&x, "good.txt", "../evil5");
	size_t at = zf_local(&a.b, &(struct zf_hdr){.crc = zf_crc("evil", 4),
	                                            .csize = 4,
	                                            .usize = 4,
	                                            .name = "good.txt",
	                                            .extra = &x});
	zb_str(&a.b, "evil");
	zf_remember(&a, "good.txt", 0, ZIP_STORED, zf_crc("evil", 4), 4, 4, at)
	    ->extra = &x;
	zf_directory(&a);
	expect(&a.b, NULL, ZIP_ESLIP, "../evil5",
	       "\"good.txt\" with a Unicode Path extra saying \"../evil5\"");
	check_nothing_outside("a Unicode Path extra saying \"../evil5\"");
	check_tree("", "a Unicode Path extra saying \"../evil5\"");
	zb_free(&x);
	zf_free(&a);
}
END_TEST

/* --- test_extract_duplicates ---
 * A name that exists already is ZIP_EDUPLICATE, at its header: a second
 * "a.txt", a file "a/b" and a folder "a/b/" either way round (a folder a
 * name implies counts: "d/sub/f.txt" then a file "d/sub", a file "f"
 * then "f/g"). A folder
 * listed twice is fine, and so is a folder listed after a file in it made
 * it. */

START_TEST(test_extract_duplicates)
{
	static const struct {
		const char *first, *second, *where;
		int want;
	} cases[] = {
	    {"a.txt", "a.txt", "a.txt", ZIP_EDUPLICATE},
	    {"a/b", "a/b/", "a/b/", ZIP_EDUPLICATE},
	    {"a/b/", "a/b", "a/b", ZIP_EDUPLICATE},
	    {"d/sub/f.txt", "d/sub", "d/sub", ZIP_EDUPLICATE},
	    {"f", "f/g", "f/g", ZIP_EDUPLICATE}, /* a file as a folder */
	    {"x/", "x/", NULL, 0},
	    {"d/f.txt", "d/", NULL, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct zf_archive a;
		char what[128];
		const char *s1 = cases[i].first, *s2 = cases[i].second;
		size_t l1 = strlen(s1), l2 = strlen(s2);

		zf_init(&a);
		zf_add(&a, s1, ZIP_STORED, 0, s1[l1 - 1] == '/' ? "" : "one",
		       s1[l1 - 1] == '/' ? 0 : 3);
		zf_add(&a, s2, ZIP_DEFLATED, 0, s2[l2 - 1] == '/' ? "" : "two",
		       s2[l2 - 1] == '/' ? 0 : 3);
		zf_add(&a, "last.txt", ZIP_STORED, 0, "last", 4);
		zf_directory(&a);
		snprintf(what, sizeof(what), "\"%s\", then \"%s\"", s1, s2);
		if (cases[i].want != 0) {
			stage_renew();
			int got =
			    extract_upto(&a.b, header_end(&a, 1), NULL, 0);
			ck_assert_msg(got == cases[i].want,
			              "%s, fed up to the end of the second "
			              "header: expected %s, got %s",
			              what, err_str(cases[i].want),
			              err_str(got));
		}
		expect(&a.b, NULL, cases[i].want, cases[i].where, what);
		if (cases[i].want == 0)
			check_file("last.txt", "last", 4);
		else if (s1[l1 - 1] != '/' && strchr(s1, '/') == NULL)
			check_file(s1, "one", 3); /* the first is untouched */
		zf_free(&a);
	}
	/* "x/" three times around a file in it. */
	struct zf_archive a;
	zf_init(&a);
	zf_add_dir(&a, "x/");
	zf_add(&a, "x/f", ZIP_STORED, 0, "f", 1);
	zf_add_dir(&a, "x/");
	zf_add_dir(&a, "x/");
	zf_directory(&a);
	expect(&a.b, NULL, 0, NULL, "\"x/\", \"x/f\", \"x/\", \"x/\"");
	check_tree("x/ x/f", "\"x/\", \"x/f\", \"x/\", \"x/\"");
	zf_free(&a);
}
END_TEST

/* --- test_extract_limits ---
 * max_entries, max_name and max_total (a declared usize that goes over is
 * refused at its header, before any data), and the ratio: an entry past
 * ratio_floor bytes whose output is more than max_ratio times its input so
 * far is ZIP_EBOMB while it streams. With the defaults (NULL: 100,000
 * entries, 8 GiB, 200:1 past 1 MiB, names of 1,024 bytes) and with
 * limits passed to zx_init(). */

START_TEST(test_extract_limits)
{
	struct zf_archive a;
	char what[160];

	/* max_entries 3: three fine (a folder counts), four not. */
	struct zx_limits lim = ZX_LIMITS_DEFAULT;
	lim.max_entries = 3;
	zf_init(&a);
	zf_add_dir(&a, "d/");
	zf_add(&a, "d/a", ZIP_STORED, 0, "a", 1);
	zf_add(&a, "b", ZIP_DEFLATED, 0, "b", 1);
	zf_directory(&a);
	expect(&a.b, &lim, 0, NULL, "3 entries, max_entries 3");
	a.b.len = a.cd_offset;
	zf_add(&a, "c", ZIP_STORED, 0, "c", 1);
	zf_directory(&a);
	expect(&a.b, &lim, ZIP_ELIMIT, "c", "4 entries, max_entries 3");
	stage_renew();
	ck_assert_msg(extract_upto(&a.b, header_end(&a, 3), &lim, 0) ==
	                  ZIP_ELIMIT,
	              "4 entries, max_entries 3: not refused at the 4th's "
	              "header");
	zf_free(&a);

	/* max_name 8. */
	lim = (struct zx_limits)ZX_LIMITS_DEFAULT;
	lim.max_name = 8;
	zf_init(&a);
	zf_add(&a, "12345678", ZIP_STORED, 0, "8", 1);
	zf_add_dir(&a, "dir4567/");
	zf_directory(&a);
	expect(&a.b, &lim, 0, NULL, "names of 8 bytes, max_name 8");
	a.b.len = a.cd_offset;
	zf_add(&a, "123456789", ZIP_STORED, 0, "9", 1);
	zf_directory(&a);
	expect(&a.b, &lim, ZIP_ELIMIT, "123456789",
	       "a name of 9 bytes, max_name 8");
	zf_free(&a);
	/* The default: ZIP_NAME_MAX bytes are fine. */
	char *name = malloc(ZIP_NAME_MAX + 1);
	ck_assert_ptr_nonnull(name);
	memset(name, 'n', ZIP_NAME_MAX);
	for (int i = 100; i < ZIP_NAME_MAX; i += 101)
		name[i] = '/';
	name[ZIP_NAME_MAX] = '\0';
	zf_init(&a);
	zf_add(&a, name, ZIP_STORED, 0, "long", 4);
	zf_directory(&a);
	expect(&a.b, NULL, 0, NULL, "a name of ZIP_NAME_MAX bytes");
	check_file(name, "long", 4);
	zf_free(&a);
	free(name);

	/* The default max_entries, 100,000: headers of one folder "x/"
	 * (listed again is fine), each 32 bytes; the 100,001st is refused
	 * at its header. */
	enum { ENTRIES = 100000 };
	struct zbuf many = {0};
	for (size_t i = 0; i <= ENTRIES; i++)
		zf_local(&many, &(struct zf_hdr){.name = "x/"});
	size_t each = many.len / (ENTRIES + 1);
	struct zip_extract *x = malloc(sizeof(*x));
	ck_assert_ptr_nonnull(x);
	stage_renew();
	mode_t old = umask(0);
	int got = zx_init(x, stage_fd, NULL);
	ck_assert_msg(got == 0, "zx_init() returned %s", err_str(got));
	got = zx_feed(x, many.p, ENTRIES * each);
	ck_assert_msg(got == 0,
	              "%d headers of the folder \"x/\", limits NULL: expected "
	              "0 (the default max_entries is 100,000), got %s",
	              ENTRIES, err_str(got));
	got = zx_feed(x, many.p + ENTRIES * each, each);
	ck_assert_msg(got == ZIP_ELIMIT,
	              "header %d of the folder \"x/\", limits NULL: expected "
	              "ZIP_ELIMIT (the default max_entries is 100,000) at "
	              "its header's end, got %s",
	              ENTRIES + 1, err_str(got));
	ck_assert_msg(strcmp(zx_where(x), "x/") == 0,
	              "zx_where() after ZIP_ELIMIT at \"x/\" is \"%s\"",
	              zx_where(x));
	zx_free(x);
	zb_free(&many);

	/* The default max_total, 8 GiB: a declared usize (in a zip64 extra)
	 * of 8 GiB is fine at its header, a byte more is ZIP_EBOMB there. */
	for (int more = 0; more <= 1; more++) {
		struct zbuf huge = {0}, x64 = {0};
		uint64_t sizes[2] = {(8ull << 30) + (unsigned)more,
		                     (8ull << 30) + (unsigned)more};
		zf_x_zip64(&x64, sizes, 2);
		zf_local(&huge, &(struct zf_hdr){.version = 45,
		                                 .method = ZIP_STORED,
		                                 .csize = ZIP_32BIT_MAX,
		                                 .usize = ZIP_32BIT_MAX,
		                                 .name = "huge.bin",
		                                 .extra = &x64});
		snprintf(
		    what, sizeof(what),
		    "a stored entry declaring %llu bytes (8 GiB%s), limits "
		    "NULL, fed up to the end of its header",
		    (unsigned long long)sizes[0], more ? " + 1" : "");
		stage_renew();
		ck_assert_int_eq(zx_init(x, stage_fd, NULL), 0);
		got = zx_feed(x, huge.p, huge.len); /* the header alone */
		ck_assert_msg(got == (more ? ZIP_EBOMB : 0),
		              "%s: expected %s, got %s", what,
		              err_str(more ? ZIP_EBOMB : 0), err_str(got));
		zx_free(x);
		zb_free(&x64);
		zb_free(&huge);
	}
	umask(old);
	free(x);

	/* max_total 10000: exactly that is fine. */
	unsigned char *noise = zf_noise(10001, 4);
	lim = (struct zx_limits)ZX_LIMITS_DEFAULT;
	lim.max_total = 10000;
	zf_init(&a);
	zf_add(&a, "a", ZIP_STORED, 0, noise, 6000);
	zf_add_desc(&a, "b", noise, 4000, ZF_DESC32_SIG);
	zf_directory(&a);
	expect(&a.b, &lim, 0, NULL, "6000 + 4000 bytes, max_total 10000");
	zf_free(&a);
	/* One more byte, with no size declared (bit 3): while it streams. */
	zf_init(&a);
	zf_add(&a, "a", ZIP_STORED, 0, noise, 6000);
	zf_add_desc(&a, "b", noise, 4001, ZF_DESC32_SIG);
	zf_directory(&a);
	expect(&a.b, &lim, ZIP_EBOMB, "b",
	       "6000 + 4001 bytes (bit 3), max_total 10000");
	zf_free(&a);
	/* Declared: refused at the header. */
	zf_init(&a);
	zf_add(&a, "big", ZIP_STORED, 0, noise, 10001);
	zf_directory(&a);
	expect(&a.b, &lim, ZIP_EBOMB, "big",
	       "one entry declaring 10001 bytes, max_total 10000");
	stage_renew();
	got = extract_upto(&a.b, header_end(&a, 0), &lim, 0);
	ck_assert_msg(got == ZIP_EBOMB,
	              "one entry declaring 10001 bytes, max_total 10000, fed "
	              "up to the end of its header: expected ZIP_EBOMB, got %s",
	              err_str(got));
	zf_free(&a);
	zf_init(&a);
	zf_add(&a, "a", ZIP_STORED, 0, noise, 6000);
	zf_add(&a, "b", ZIP_DEFLATED, 0, noise, 4001);
	zf_directory(&a);
	stage_renew();
	got = extract_upto(&a.b, header_end(&a, 1), &lim, 0);
	ck_assert_msg(got == ZIP_EBOMB,
	              "6000 bytes, then an entry declaring 4001, max_total "
	              "10000, fed up to the end of its header: expected "
	              "ZIP_EBOMB, got %s",
	              err_str(got));
	check_file("a", noise, 6000);
	zf_free(&a);
	free(noise);

	/* The ratio, with the defaults: 8 MiB of zeros deflate to ~8 KB
	 * (about 1000:1); past the 1 MiB floor that is a bomb. 512 KiB of
	 * zeros stay under the floor: fine. */
	size_t big = 8u << 20, small = 512u << 10;
	unsigned char *zeros = calloc(big, 1);
	ck_assert_ptr_nonnull(zeros);
	zf_init(&a);
	zf_add(&a, "small.bin", ZIP_DEFLATED, 0, zeros, small);
	zf_add_desc(&a, "bomb.bin", zeros, big, ZF_DESC32_SIG);
	zf_directory(&a);
	snprintf(what, sizeof(what),
	         "8 MiB of zeros in %u bytes of deflate (bit 3), defaults",
	         (unsigned)a.recs[1].csize);
	expect(&a.b, NULL, ZIP_EBOMB, "bomb.bin", what);
	check_file("small.bin", zeros, small);
	struct stat st;
	if (fstatat(stage_fd, "bomb.bin", &st, AT_SYMLINK_NOFOLLOW) == 0)
		ck_assert_msg(st.st_size <= (2 << 20),
		              "%s: %lld bytes of it were written before the "
		              "refusal: it is refused while it streams, soon "
		              "past the 1 MiB floor",
		              what, (long long)st.st_size);
	zf_free(&a);
	zf_init(&a);
	zf_add_desc(&a, "small.bin", zeros, small, ZF_DESC32_SIG);
	zf_directory(&a);
	expect(&a.b, NULL, 0, NULL,
	       "512 KiB of zeros, deflated (bit 3), defaults");
	check_file("small.bin", zeros, small);
	zf_free(&a);
	free(zeros);

	/* Limits of its own: 10:1 past 4096 bytes. */
	unsigned char *text = repeated_text(65536);
	unsigned char *wild = zf_noise(65536, 6);
	lim = (struct zx_limits)ZX_LIMITS_DEFAULT;
	lim.max_ratio = 10;
	lim.ratio_floor = 4096;
	zf_init(&a);
	zf_add(&a, "noise.bin", ZIP_DEFLATED, 0, wild, 65536);
	zf_add(&a, "small.txt", ZIP_DEFLATED, 0, text, 4096);
	zf_add(&a, "text.txt", ZIP_DEFLATED, 0, text, 65536);
	zf_directory(&a);
	snprintf(what, sizeof(what),
	         "64 KiB of text in %u bytes of deflate, max_ratio 10 past "
	         "4096 bytes",
	         (unsigned)a.recs[2].csize);
	expect(&a.b, &lim, ZIP_EBOMB, "text.txt", what);
	check_file("noise.bin", wild, 65536);
	check_file("small.txt", text, 4096);
	expect(&a.b, NULL, 0, NULL, "the same archive with the defaults");
	check_file("text.txt", text, 65536);
	zf_free(&a);
	free(text);
	free(wild);
}
END_TEST

/* --- test_extract_central ---
 * The central directory is checked against the entries read: a record
 * marking a symbolic link (made by Unix or OS X, S_IFLNK in external's
 * high half) is ZIP_ESYMLINK; the k-th record must be the k-th entry (offset,
 * name, method, CRC-32, sizes) or it is ZIP_EMISMATCH, and so are more records
 * than entries (an overlapping directory, pointing twice at one entry's
 * data) and fewer; an unsafe name in a record is ZIP_ESLIP. */

/* "a.txt" (deflated), "d/" (a folder), "d/b.bin" (bit 3), "c.txt"
 * (stored): their local entries, no directory yet. */
static void three_files(struct zf_archive *a, const unsigned char *text)
{
	zf_init(a);
	zf_add(a, "a.txt", ZIP_DEFLATED, 0, text, 3000);
	zf_add_dir(a, "d/");
	zf_add_desc(a, "d/b.bin", text, 2000, ZF_DESC64_SIG);
	zf_add(a, "c.txt", ZIP_STORED, 0, text, 100);
}

/* The directory: the records order[0..n) (indexes into a->recs), and an
 * end record that counts them. */
static void directory_of(struct zf_archive *a, const int *order, int n)
{
	a->cd_offset = a->b.len;
	for (int i = 0; i < n; i++)
		zf_central(&a->b, &a->recs[order[i]]);
	a->cd_size = a->b.len - a->cd_offset;
	zf_end(&a->b, (uint16_t)n, (uint32_t)a->cd_size, (uint32_t)a->cd_offset,
	       NULL);
}

START_TEST(test_extract_central)
{
	unsigned char *text = zf_text(3000, 7);
	struct zf_archive a;
	static const int in_order[] = {0, 1, 2, 3};

	/* Unix modes: a file 0644, a folder 0755, a file 04777 -- fine. */
	three_files(&a, text);
	a.recs[0].made_by = 3 << 8 | 30;
	a.recs[0].external = (uint32_t)(S_IFREG | 0644) << 16;
	a.recs[3].made_by = 3 << 8 | 30;
	a.recs[3].external = (uint32_t)(S_IFREG | S_ISUID | 0777) << 16;
	zf_directory(&a);
	expect(&a.b, NULL, 0, NULL, "4 entries and their directory");
	check_tree("a.txt c.txt d/ d/b.bin", "4 entries and their directory");
	check_file("a.txt", text, 3000);
	check_file("d/b.bin", text, 2000);
	check_file("c.txt", text, 100);
	zf_free(&a);

	/* A symbolic link: made by Unix, S_IFLNK. */
	three_files(&a, text);
	a.recs[2].made_by = 3 << 8 | 30;
	a.recs[2].external = (uint32_t)(S_IFLNK | 0777) << 16;
	zf_directory(&a);
	expect(&a.b, NULL, ZIP_ESYMLINK, "d/b.bin",
	       "a central record with made_by 3 (Unix) and external "
	       "(S_IFLNK | 0777) << 16");
	check_nothing_outside("a symlink record");
	zf_free(&a);
	/* The same bits made by MS-DOS are attributes, not a mode. */
	three_files(&a, text);
	a.recs[2].made_by = 0 << 8 | 20;
	a.recs[2].external = (uint32_t)(S_IFLNK | 0777) << 16;
	zf_directory(&a);
	expect(&a.b, NULL, 0, NULL,
	       "a central record with made_by 0 (MS-DOS) and external "
	       "(S_IFLNK | 0777) << 16: not a Unix mode");
	zf_free(&a);
	/* Made by OS X (19), they are a Unix mode again. */
	three_files(&a, text);
	a.recs[2].made_by = 19 << 8 | 30;
	a.recs[2].external = (uint32_t)(S_IFLNK | 0777) << 16;
	zf_directory(&a);
	expect(&a.b, NULL, ZIP_ESYMLINK, "d/b.bin",
	       "a central record with made_by 19 (OS X) and external "
	       "(S_IFLNK | 0777) << 16");
	check_nothing_outside("a symlink record made by OS X");
	zf_free(&a);

	/* A record that is not the entry at its place. */
	static const char *const changed[] = {"CRC-32", "csize",  "usize",
	                                      "name",   "offset", "method"};
	for (int k = 0; k < 6; k++) {
		char what[96];
		three_files(&a, text);
		struct zf_rec *r = &a.recs[k % 2 == 0 ? 2 : 0];
		switch (k) {
		case 0:
			r->crc ^= 1;
			break;
		case 1:
			r->csize += 1;
			break;
		case 2:
			r->usize -= 1;
			break;
		case 3:
			r->name[0] = 'A';
			break;
		case 4:
			r->offset += 1;
			break;
		case 5:
			r->method = ZIP_STORED;
			break;
		}
		zf_directory(&a);
		snprintf(what, sizeof(what),
		         "the central record of \"%s\" with another %s",
		         k % 2 == 0 ? "d/b.bin" : "a.txt", changed[k]);
		expect(&a.b, NULL, ZIP_EMISMATCH, NULL, what);
		zf_free(&a);
	}
	/* Records in another order. */
	three_files(&a, text);
	directory_of(&a, (const int[]){1, 0, 2, 3}, 4);
	expect(&a.b, NULL, ZIP_EMISMATCH, NULL,
	       "the records of the 1st and 2nd entries swapped");
	zf_free(&a);
	/* More records than entries: an overlapping directory. */
	three_files(&a, text);
	directory_of(&a, (const int[]){0, 1, 2, 3, 0, 0}, 6);
	expect(&a.b, NULL, ZIP_EMISMATCH, NULL,
	       "6 records for 4 entries, two more pointing at \"a.txt\"");
	zf_free(&a);
	/* Fewer: found at the end. */
	three_files(&a, text);
	directory_of(&a, in_order, 3);
	expect(&a.b, NULL, ZIP_EMISMATCH, NULL, "3 records for 4 entries");
	zf_free(&a);
	three_files(&a, text);
	directory_of(&a, in_order, 0);
	expect(&a.b, NULL, ZIP_EMISMATCH, NULL, "no records for 4 entries");
	zf_free(&a);

	/* An unsafe name in a record. */
	static const char *const unsafe[] = {"../a.txt", "/a.txt",
	                                     "d\\..\\..\\a", "C:a.txt"};
	for (int k = 0; k < 4; k++) {
		char what[96];
		three_files(&a, text);
		free(a.recs[0].name);
		a.recs[0].name = strdup(unsafe[k]);
		ck_assert_ptr_nonnull(a.recs[0].name);
		zf_directory(&a);
		snprintf(what, sizeof(what),
		         "\"a.txt\", its central record named \"%s\"",
		         unsafe[k]);
		expect(&a.b, NULL, ZIP_ESLIP, NULL, what);
		check_nothing_outside(what);
		zf_free(&a);
	}
	free(text);
}
END_TEST

/* --- test_extract_errors_sticky ---
 * After an error, every later zx_feed() and zx_finish() returns it, and
 * zx_where() names the entry it is about; the reader's errors pass
 * through unchanged. */

START_TEST(test_extract_errors_sticky)
{
	struct zf_archive a;
	unsigned char *text = zf_text(5000, 3);

	/* A CRC-32 error in "bad.txt", fed one byte at a time: every call
	 * after the one that said ZIP_ECRC says it again (checked in
	 * extract_upto()). */
	zf_init(&a);
	zf_add(&a, "good.txt", ZIP_STORED, 0, "good", 4);
	zf_add(&a, "bad.txt", ZIP_DEFLATED, 0, text, 5000)->crc ^= 0x100;
	/* The local header's CRC-32 is the one checked: change it too. */
	size_t at = a.recs[1].offset + 14;
	zip_put32(a.b.p + at, zip_le32(a.b.p + at) ^ 0x100);
	zf_add(&a, "after.txt", ZIP_STORED, 0, "after", 5);
	zf_directory(&a);
	stage_renew();
	int got = extract(&a.b, NULL, 1);
	ck_assert_msg(got == ZIP_ECRC,
	              "a deflated entry whose CRC-32 is wrong, fed a byte at "
	              "a time: expected ZIP_ECRC, got %s",
	              err_str(got));
	ck_assert_msg(strcmp(where, "bad.txt") == 0,
	              "zx_where() after ZIP_ECRC in \"bad.txt\" is \"%s\"",
	              where);
	check_file("good.txt", "good", 4);
	ck_assert_msg(
	    faccessat(stage_fd, "after.txt", F_OK, AT_SYMLINK_NOFOLLOW) != 0,
	    "\"after.txt\", after the error, was written");

	/* By hand: more bytes, zx_finish() twice. */
	struct zip_extract *x = malloc(sizeof(*x));
	ck_assert_ptr_nonnull(x);
	stage_renew();
	mode_t old = umask(0);
	ck_assert_int_eq(zx_init(x, stage_fd, NULL), 0);
	ck_assert_int_eq(zx_feed(x, a.b.p, a.b.len), ZIP_ECRC);
	ck_assert_int_eq(zx_feed(x, a.b.p, 100), ZIP_ECRC);
	ck_assert_int_eq(zx_feed(x, a.b.p, 0), ZIP_ECRC);
	ck_assert_int_eq(zx_finish(x), ZIP_ECRC);
	ck_assert_int_eq(zx_finish(x), ZIP_ECRC);
	ck_assert_str_eq(zx_where(x), "bad.txt");
	zx_free(x);
	umask(old);
	zf_free(&a);

	/* A refusal of the extractor's own, then a reader error later in
	 * the input: the first stays. */
	zf_init(&a);
	zf_add(&a, "dup.txt", ZIP_STORED, 0, "1", 1);
	zf_add(&a, "dup.txt", ZIP_STORED, 0, "2", 1);
	zb_str(&a.b, "JUNK");
	expect(&a.b, NULL, ZIP_EDUPLICATE, "dup.txt",
	       "\"dup.txt\" twice, then junk");
	zf_free(&a);

	/* Truncated: ZIP_ETRUNCATED at zx_finish(), and again. */
	zf_init(&a);
	zf_add(&a, "whole.txt", ZIP_DEFLATED, 0, text, 5000);
	zf_directory(&a);
	a.b.len -= 5;
	stage_renew();
	old = umask(0);
	ck_assert_int_eq(zx_init(x, stage_fd, NULL), 0);
	ck_assert_int_eq(zx_feed(x, a.b.p, a.b.len), 0);
	ck_assert_int_eq(zx_finish(x), ZIP_ETRUNCATED);
	ck_assert_int_eq(zx_finish(x), ZIP_ETRUNCATED);
	ck_assert_int_eq(zx_feed(x, "x", 1), ZIP_ETRUNCATED);
	zx_free(x);
	umask(old);
	free(x);
	/* Whole, no error: zx_where() is "" (extract_upto() checks it). */
	a.b.len += 5;
	expect(&a.b, NULL, 0, "", "a whole archive");
	zf_free(&a);
	free(text);
}
END_TEST

/* A file of one byte, name, in the folder at dirfd. */
static void touch(int dirfd, const char *name)
{
	int fd =
	    openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);

	ck_assert_msg(fd >= 0, "could not make %s: %s", name, strerror(errno));
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
}

static bool exists(int dirfd, const char *name, struct stat *st)
{
	return fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) == 0;
}

START_TEST(test_extract_staging)
{
	struct staging st;
	struct stat sb;

	/* A hidden folder beside the name, 0700 while it fills. */
	stage_renew();
	mode_t old = umask(0);
	ck_assert_int_eq(stage_open(&st, stage_fd, "out"), 0);
	ck_assert_msg(strncmp(st.tmp, ".out.partial-", 13) == 0,
	              "the staging folder is \"%s\", expected "
	              "\".out.partial-\" and a suffix",
	              st.tmp);
	ck_assert_msg(exists(stage_fd, st.tmp, &sb) && S_ISDIR(sb.st_mode) &&
	                  (sb.st_mode & 07777) == 0700,
	              "%s: expected a folder of mode 0700, got %o", st.tmp,
	              (unsigned)sb.st_mode);
	ck_assert_msg(!exists(stage_fd, "out", &sb),
	              "\"out\" exists before stage_publish()");
	touch(st.fd, "f.txt");
	char tmp[sizeof(st.tmp)];
	strcpy(tmp, st.tmp);

	/* Published: the name, 0755, holding what was written; the staging
	 * name gone. */
	ck_assert_int_eq(stage_publish(&st), 0);
	ck_assert_msg(exists(stage_fd, "out", &sb) && S_ISDIR(sb.st_mode) &&
	                  (sb.st_mode & 07777) == 0755,
	              "after stage_publish(): \"out\" is not a folder of "
	              "mode 0755");
	ck_assert_msg(exists(stage_fd, "out/f.txt", &sb),
	              "after stage_publish(): out/f.txt is missing");
	ck_assert_msg(!exists(stage_fd, tmp, &sb),
	              "after stage_publish(): %s is still there", tmp);

	/* The name taken: -EEXIST, nothing made. */
	ck_assert_int_eq(stage_open(&st, stage_fd, "out"), -EEXIST);

	/* The name appearing while it fills (another upload published it
	 * first, even as an empty folder): -EEXIST, nothing replaced, the
	 * staging folder still there for stage_discard(). */
	ck_assert_int_eq(stage_open(&st, stage_fd, "late"), 0);
	ck_assert_int_eq(mkdirat(stage_fd, "late", 0755), 0);
	int rc = stage_publish(&st);
	ck_assert_msg(rc == -EEXIST,
	              "stage_publish() when \"late\" exists: expected "
	              "-EEXIST (RENAME_NOREPLACE), got %d",
	              rc);
	ck_assert_msg(exists(stage_fd, st.tmp, &sb),
	              "after a failed stage_publish(), %s is gone: nothing "
	              "is left to discard",
	              st.tmp);

	/* Discarded: all of it, whatever the names; a link is removed, not
	 * followed. */
	int in = openat(stage_fd, st.tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(in, 0);
	touch(in, "-dash.txt");
	touch(in, ".hidden");
	touch(in, "..dots");
	ck_assert_int_eq(mkdirat(in, "sub", 0755), 0);
	ck_assert_int_eq(mkdirat(in, "sub/deeper", 0755), 0);
	touch(in, "sub/deeper/file");
	ck_assert_int_eq(symlinkat(scratch, in, "link"), 0);
	close(in);
	stage_discard(&st);
	ck_assert_msg(!exists(stage_fd, st.tmp, &sb),
	              "after stage_discard(), %s is still there", st.tmp);
	ck_assert_msg(exists(stage_fd, "late", &sb),
	              "stage_discard() removed \"late\", which was not its");
	ck_assert_msg(exists(stage_fd, "out/f.txt", &sb),
	              "stage_discard() followed a link out of its folder");

	/* rm_tree() of a name that is not there: nothing to do, 0. */
	rc = rm_tree(stage_fd, "missing");
	ck_assert_msg(rc == 0,
	              "rm_tree() of a missing name: expected 0, got %d", rc);
	umask(old);
}
END_TEST

/* An archive whose one entry, name, holds the archive inner (stored: the
 * outer ratio stays 1:1, whatever is inside). */
static void wrap(struct zf_archive *out, const char *name,
                 const struct zf_archive *inner)
{
	zf_init(out);
	zf_add(out, name, ZIP_STORED, 0, inner->b.p, inner->b.len);
	zf_directory(out);
}

START_TEST(test_extract_nested)
{
	static const char *const names[] = {"", "1.zip", "2.zip", "3.zip",
	                                    "4.zip"};
	struct zf_archive lv[5];
	unsigned char *text = zf_text(5000, 9);

	/* lv[0] holds doc.txt; lv[k] holds names[k], which is lv[k-1]: an
	 * archive k levels deep in all. */
	zf_init(&lv[0]);
	zf_add(&lv[0], "doc.txt", ZIP_DEFLATED, 0, text, 5000);
	zf_directory(&lv[0]);
	for (int k = 1; k < 5; k++)
		wrap(&lv[k], names[k], &lv[k - 1]);

	expect(&lv[3].b, NULL, 0, "",
	       "a zip in a zip in a zip in the archive: 3 deep, the default "
	       "max_depth");
	check_file("3.zip", lv[2].b.p, lv[2].b.len);
	expect(&lv[4].b, NULL, ZIP_ENESTED, "4.zip",
	       "4 deep, past the default max_depth of 3");
	stage_renew();
	int got = extract(&lv[4].b, NULL, 1);
	ck_assert_msg(got == ZIP_ENESTED,
	              "4 deep, fed a byte at a time: expected ZIP_ENESTED, got "
	              "%s",
	              err_str(got));

	struct zx_limits lim = ZX_LIMITS_DEFAULT;
	lim.max_depth = 0;
	expect(&lv[0].b, &lim, 0, "", "no archive inside, max_depth 0");
	expect(&lv[1].b, &lim, ZIP_ENESTED, "1.zip",
	       "a zip inside the archive, max_depth 0");

	/* A ratio bomb inside: 8 MiB of zeros deflated, in a zip, stored
	 * in the archive. The archive's own ratio is 1:1. */
	struct zf_archive bomb, outer;
	unsigned char *zeros = calloc(8 << 20, 1);
	ck_assert_ptr_nonnull(zeros);
	zf_init(&bomb);
	zf_add(&bomb, "zeros.bin", ZIP_DEFLATED, 0, zeros, 8 << 20);
	zf_directory(&bomb);
	wrap(&outer, "inner.zip", &bomb);
	expect(&outer.b, NULL, ZIP_EBOMB, "inner.zip",
	       "8 MiB of zeros in a zip inside the archive");

	/* Not a zip after all: it only starts like one. A file. */
	struct zf_archive fake;
	static const char bytes[] = "PK\003\004 and then nothing of a zip";
	zf_init(&fake);
	zf_add(&fake, "fake.zip", ZIP_STORED, 0, bytes, sizeof(bytes) - 1);
	zf_directory(&fake);
	expect(&fake.b, NULL, 0, "", "a file starting with PK\\3\\4");
	check_file("fake.zip", bytes, sizeof(bytes) - 1);

	for (int k = 0; k < 5; k++)
		zf_free(&lv[k]);
	zf_free(&bomb);
	zf_free(&outer);
	zf_free(&fake);
	free(zeros);
	free(text);
}
END_TEST

/* Each test in a TCase of its own, with its scratch folder around it. */
#define ZX_ADD(suite, fn)                                                      \
	do {                                                                   \
		TCase *tc_ = tcase_create(#fn);                                \
		tcase_set_timeout(tc_, 30);                                    \
		tcase_add_unchecked_fixture(tc_, scratch_make,                 \
		                            scratch_remove);                   \
		tcase_add_test(tc_, fn);                                       \
		suite_add_tcase((suite), tc_);                                 \
	} while (0)

static Suite *extract_suite(void)
{
	Suite *s = suite_create("extract");

	ZX_ADD(s, test_extract_files);
	ZX_ADD(s, test_extract_names);
	ZX_ADD(s, test_extract_duplicates);
	ZX_ADD(s, test_extract_limits);
	ZX_ADD(s, test_extract_central);
	ZX_ADD(s, test_extract_errors_sticky);
	ZX_ADD(s, test_extract_nested);
	ZX_ADD(s, test_extract_staging);
	return s;
}

TEST_MAIN(extract_suite)
