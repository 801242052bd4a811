/* zipstream.c - the lab's reader and writer as a tool, like unzip and zip
 * (given, lab 7).
 *
 *   zipstream list < in.zip          one line per entry: size, CRC, name
 *   zipstream extract DIR < in.zip   DIR appears whole, or not at all
 *   zipstream create DIR > out.zip   DIR's files, deflated, in name order
 *
 * It reads standard input front to back and never seeks, so it works on a
 * pipe (curl ... | zipstream extract out) just as on a file. On a refusal
 * it prints one line, "zipstream: WORD: what (entry)", WORD being one of
 * zip.h's names (zip-slip, crc, bomb, ...), and exits 1; on a usage or
 * system error it exits 2. Extraction limits: --max-total BYTES,
 * --max-ratio N, --max-entries N, --max-name BYTES, --max-depth N
 * (extract.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"
#include "staging.h"
#include "zipread.h"
#include "zipwrite.h"

#define PIECE (64 * 1024)

static int refused(int err, const char *where)
{
	fprintf(stderr, "zipstream: %s: %s%s%s%s\n", zip_errname(err),
	        zip_strerror(err), where[0] ? " (" : "", where,
	        where[0] ? ")" : "");
	return 1;
}

static int failed(const char *what, int err)
{
	fprintf(stderr, "zipstream: %s: %s\n", what, strerror(err));
	return 2;
}

/* Feeds standard input to feed(arg, ...) piece by piece. */
static int pump(int (*feed)(void *, const void *, size_t), void *arg)
{
	static unsigned char buf[PIECE];

	for (;;) {
		ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ZIP_EIO;
		if (n == 0)
			return 0;
		int rc = feed(arg, buf, (size_t)n);
		if (rc != 0)
			return rc;
	}
}

/* --- list --- */

static int list_entry(void *arg, const struct zip_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}

static int list_data(void *arg, const struct zip_entry *e, const void *buf,
                     size_t len)
{
	(void)arg;
	(void)e;
	(void)buf;
	(void)len;
	return 0;
}

static int list_end(void *arg, const struct zip_entry *e)
{
	(void)arg;
	printf("%12" PRIu64 "  %08" PRIx32 "  %s\n", e->usize, e->crc32,
	       e->name);
	return 0;
}

static int list_central(void *arg, const struct zip_entry *c)
{
	(void)arg;
	(void)c;
	return 0;
}

static int list_done(void *arg, uint64_t entries)
{
	(void)arg;
	(void)entries;
	return 0;
}

static int feed_reader(void *r, const void *buf, size_t len)
{
	return zr_feed(r, buf, len);
}

static int list(void)
{
	static const struct zr_callbacks cb = {list_entry, list_data, list_end,
	                                       list_central, list_done};
	static struct zip_reader r;
	int rc = zr_init(&r, &cb, NULL);

	if (rc == 0 && (rc = pump(feed_reader, &r)) == 0)
		rc = zr_finish(&r);
	zr_free(&r);
	return rc == 0 ? 0 : refused(rc, r.cur.name);
}

/* --- extract --- */

static int feed_extract(void *x, const void *buf, size_t len)
{
	return zx_feed(x, buf, len);
}

static int extract(const char *dir, const struct zx_limits *lim)
{
	static struct zip_extract x;
	char path[PATH_MAX];
	struct staging st;
	int parent, rc;

	snprintf(path, sizeof(path), "%s", dir);
	parent = open(dirname(path), O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return failed(dir, errno);
	snprintf(path, sizeof(path), "%s", dir);
	if ((rc = stage_open(&st, parent, basename(path))) < 0) {
		close(parent);
		return failed(dir, -rc);
	}
	if ((rc = zx_init(&x, st.fd, lim)) == 0 &&
	    (rc = pump(feed_extract, &x)) == 0)
		rc = zx_finish(&x);
	if (rc != 0) {
		int out = refused(rc, zx_where(&x));
		zx_free(&x);
		stage_discard(&st);
		close(parent);
		return out;
	}
	zx_free(&x);
	rc = stage_publish(&st);
	if (rc < 0)
		stage_discard(&st);
	close(parent);
	return rc < 0 ? failed(dir, -rc) : 0;
}

/* --- create --- */

static int to_stdout(void *arg, const void *buf, size_t len)
{
	const char *p = buf;

	(void)arg;
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ZIP_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int add_tree(struct zip_writer *w, int dirfd, const char *prefix);

static int add_file(struct zip_writer *w, int fd, const char *name,
                    const struct stat *st)
{
	static unsigned char buf[PIECE];
	int rc =
	    zw_begin(w, name, st->st_mode, st->st_mtime, (uint64_t)st->st_size);

	while (rc == 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? ZIP_EIO : zw_end(w);
			break;
		}
		rc = zw_data(w, buf, (size_t)n);
	}
	return rc;
}

/* One name of a folder: a file, or a folder and what it holds. Anything
 * else (a symlink, a device) is left out, with a warning. */
static int add_one(struct zip_writer *w, int dirfd, const char *prefix,
                   const char *leaf)
{
	char name[ZIP_NAME_MAX + 2];
	struct stat st;
	int fd, rc;

	if (snprintf(name, sizeof(name), "%s%s", prefix, leaf) > ZIP_NAME_MAX)
		return ZIP_ELIMIT;
	fd = openat(dirfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "zipstream: left out %s: %s\n", name,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (S_ISREG(st.st_mode)) {
		rc = add_file(w, fd, name, &st);
	} else if (S_ISDIR(st.st_mode)) {
		strcat(name, "/");
		rc = zw_begin(w, name, st.st_mode, st.st_mtime, 0);
		if (rc == 0)
			rc = zw_end(w);
		if (rc == 0)
			rc = add_tree(w, fd, name);
	} else {
		fprintf(stderr, "zipstream: left out %s: not a file\n", name);
		rc = 0;
	}
	close(fd);
	return rc;
}

static int add_tree(struct zip_writer *w, int dirfd, const char *prefix)
{
	struct dirent **names;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int n, rc = 0;
	char here[32];

	if (fd < 0)
		return ZIP_EIO;
	snprintf(here, sizeof(here), "/proc/self/fd/%d", fd);
	n = scandir(here, &names, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		const char *leaf = names[i]->d_name;

		if (rc == 0 && strcmp(leaf, ".") != 0 &&
		    strcmp(leaf, "..") != 0)
			rc = add_one(w, fd, prefix, leaf);
		free(names[i]);
	}
	free(names);
	close(fd);
	return n < 0 ? ZIP_EIO : rc;
}

static int create(const char *dir)
{
	static struct zip_writer w;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return failed(dir, errno);
	if (isatty(STDOUT_FILENO)) {
		close(fd);
		fprintf(stderr,
		        "zipstream: not writing an archive to a "
		        "terminal: zipstream create %s > out.zip\n",
		        dir);
		return 2;
	}
	if ((rc = zw_init(&w, to_stdout, NULL, Z_DEFAULT_COMPRESSION)) == 0 &&
	    (rc = add_tree(&w, fd, "")) == 0)
		rc = zw_finish(&w);
	zw_free(&w);
	close(fd);
	return rc == 0 ? 0 : refused(rc, "");
}

/* --- main --- */

static int usage(void)
{
	fprintf(stderr,
	        "usage: zipstream list < in.zip\n"
	        "       zipstream extract [--max-total BYTES] [--max-ratio N]\n"
	        "                 [--max-entries N] [--max-name BYTES]\n"
	        "                 [--max-depth N] DIR < in.zip\n"
	        "       zipstream create DIR > out.zip\n");
	return 2;
}

/* --max-total and the like, into lim; the index of DIR, or -1. */
static int limits(int argc, char **argv, struct zx_limits *lim)
{
	int i = 2;

	for (; i + 1 < argc && strncmp(argv[i], "--max-", 6) == 0; i += 2) {
		char *end;
		unsigned long long v = strtoull(argv[i + 1], &end, 10);

		if (*end != '\0' || end == argv[i + 1])
			return -1;
		if (strcmp(argv[i], "--max-total") == 0)
			lim->max_total = v;
		else if (strcmp(argv[i], "--max-ratio") == 0)
			lim->max_ratio = v;
		else if (strcmp(argv[i], "--max-entries") == 0)
			lim->max_entries = v;
		else if (strcmp(argv[i], "--max-name") == 0)
			lim->max_name = (size_t)v;
		else if (strcmp(argv[i], "--max-depth") == 0 && v <= 64)
			lim->max_depth = (unsigned)v;
		else
			return -1;
	}
	return i + 1 == argc ? i : -1;
}

int main(int argc, char **argv)
{
	struct zx_limits lim = ZX_LIMITS_DEFAULT;
	int at;

	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return list();
	if (argc >= 3 && strcmp(argv[1], "extract") == 0 &&
	    (at = limits(argc, argv, &lim)) > 0)
		return extract(argv[at], &lim);
	if (argc == 3 && strcmp(argv[1], "create") == 0)
		return create(argv[2]);
	return usage();
}
