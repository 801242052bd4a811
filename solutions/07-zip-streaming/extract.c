/* extract.c - extracting a streamed archive safely (lab 7).
 *
 * The reader's callbacks, pointed at the staging folder: each entry is
 * judged on its header before a byte of it is written, its data counted
 * as it is inflated, and the central directory, when it comes, checked
 * against what was actually read.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"

/* --- names --- */

int zx_check_name(const char *name, size_t max)
{
	size_t len = strlen(name);

	if (len == 0)
		return ZIP_ESLIP;
	if (len > max)
		return ZIP_ELIMIT;
	if (name[0] == '/' ||
	    (isalpha((unsigned char)name[0]) && name[1] == ':'))
		return ZIP_ESLIP; /* absolute, here or on Windows */
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '\\')
			return ZIP_ESLIP;
	/* Component by component: "a/../../x" climbs as surely as "../x". */
	for (const char *c = name; *c; c += strcspn(c, "/"), c += *c == '/') {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return ZIP_ESLIP;
	}
	return 0;
}

static bool is_folder(const char *name)
{
	return name[strlen(name) - 1] == '/';
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

/* --- folders and files --- */

/* mkdir, where a folder that is there already is fine and anything else
 * of that name is a collision. */
static int make_folder(int dirfd, const char *path)
{
	struct stat st;

	if (mkdirat(dirfd, path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return ZIP_EIO;
	if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return ZIP_EIO;
	return S_ISDIR(st.st_mode) ? 0 : ZIP_EDUPLICATE;
}

/* Every folder on the way to name ("a" and "a/b" for "a/b/c"). */
static int make_parents(int dirfd, const char *name)
{
	char path[ZIP_NAME_MAX + 1];
	int rc;

	snprintf(path, sizeof(path), "%s", name);
	for (char *s = strchr(path, '/'); s && s[1]; s = strchr(s + 1, '/')) {
		*s = '\0';
		rc = make_folder(dirfd, path);
		*s = '/';
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int create_file(struct zip_extract *x, const char *name)
{
	int rc = make_parents(x->dirfd, name);

	if (rc < 0)
		return rc;
	x->fd =
	    openat(x->dirfd, name,
	           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (x->fd < 0)
		return errno == EEXIST || errno == EISDIR || errno == ENOTDIR
		           ? ZIP_EDUPLICATE /* a file or folder has the name */
		           : ZIP_EIO;
	return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ZIP_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* --- the reader's callbacks --- */

static int remember(struct zip_extract *x, const struct zip_entry *e)
{
	if (x->nseen == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 16;
		struct zx_seen *s = realloc(x->seen, cap * sizeof(*s));

		if (s == NULL)
			return ZIP_ENOMEM;
		x->seen = s;
		x->cap = cap;
	}
	x->seen[x->nseen++] = (struct zx_seen){.offset = e->offset,
	                                       .name_hash = fnv1a(e->name),
	                                       .method = e->method};
	return 0;
}

static int on_entry(void *arg, const struct zip_entry *e)
{
	struct zip_extract *x = arg;
	int rc;

	snprintf(x->where, sizeof(x->where), "%s", e->name);
	if (x->nseen >= x->lim.max_entries)
		return ZIP_ELIMIT;
	if ((rc = zx_check_name(e->name, x->lim.max_name)) < 0)
		return rc;
	/* A size declared too big is refused now, not a limit later. */
	if (!(e->flags & ZIP_FLAG_DESCRIPTOR) &&
	    e->usize > x->lim.max_total - x->total)
		return ZIP_EBOMB;
	if ((rc = remember(x, e)) < 0)
		return rc;
	if (is_folder(e->name)) {
		char path[ZIP_NAME_MAX + 1];

		/* "a/b/" is made as "a/b": with the slash, a file of that
		 * name is ENOTDIR, not the collision it is. */
		snprintf(path, sizeof(path), "%.*s", (int)strlen(e->name) - 1,
		         e->name);
		rc = make_parents(x->dirfd, path);
		return rc < 0 ? rc : make_folder(x->dirfd, path);
	}
	return create_file(x, e->name);
}

/* Counted before it is written: a bomb is stopped at the limit, with the
 * CRC-32 that would have exposed it still far away. */
static int on_data(void *arg, const struct zip_entry *e, const void *buf,
                   size_t len)
{
	struct zip_extract *x = arg;
	int rc;

	if (x->fd < 0)
		return len > 0 ? ZIP_ECORRUPT : 0; /* a folder with data */
	if (len > x->lim.max_total - x->total)
		return ZIP_EBOMB;
	if (nest_over_ratio(e, x->lim.max_ratio, x->lim.ratio_floor))
		return ZIP_EBOMB;
	if ((rc = nest_data(&x->nest, buf, len)) < 0)
		return rc;
	x->total += len;
	return write_all(x->fd, buf, len);
}

static int on_entry_end(void *arg, const struct zip_entry *e)
{
	struct zip_extract *x = arg;
	struct zx_seen *s = &x->seen[x->nseen - 1];
	int fd = x->fd;

	s->crc32 = e->crc32;
	s->csize = e->csize;
	s->usize = e->usize;
	nest_end(&x->nest);
	x->fd = -1;
	return fd >= 0 && close(fd) < 0 ? ZIP_EIO : 0;
}

static bool is_symlink(const struct zip_entry *c)
{
	unsigned system = c->made_by >> 8;

	return (system == 3 || system == 19) && /* Unix, OS X */
	       S_ISLNK((c->external >> 16) & S_IFMT);
}

/* The k-th record must describe the k-th entry, exactly. */
static int on_central(void *arg, const struct zip_entry *c)
{
	struct zip_extract *x = arg;
	const struct zx_seen *s;
	int rc;

	snprintf(x->where, sizeof(x->where), "%s", c->name);
	if (is_symlink(c))
		return ZIP_ESYMLINK;
	if ((rc = zx_check_name(c->name, x->lim.max_name)) < 0)
		return rc;
	if (x->ncentral == x->nseen)
		return ZIP_EMISMATCH; /* more records than entries */
	s = &x->seen[x->ncentral++];
	if (s->offset != c->offset || s->name_hash != fnv1a(c->name) ||
	    s->method != c->method || s->crc32 != c->crc32 ||
	    s->csize != c->csize || s->usize != c->usize)
		return ZIP_EMISMATCH;
	return 0;
}

static int on_end(void *arg, uint64_t entries)
{
	struct zip_extract *x = arg;

	(void)entries;
	x->where[0] = '\0';
	return x->ncentral == x->nseen ? 0 : ZIP_EMISMATCH;
}

static const struct zr_callbacks callbacks = {
    .on_entry = on_entry,
    .on_data = on_data,
    .on_entry_end = on_entry_end,
    .on_central = on_central,
    .on_end = on_end,
};

/* --- the interface --- */

int zx_init(struct zip_extract *x, int dirfd, const struct zx_limits *lim)
{
	static const struct zx_limits defaults = ZX_LIMITS_DEFAULT;

	memset(x, 0, sizeof(*x));
	x->dirfd = dirfd;
	x->fd = -1;
	x->lim = lim ? *lim : defaults;
	if (x->lim.max_name > ZIP_NAME_MAX)
		x->lim.max_name = ZIP_NAME_MAX;
	nest_init(&x->nest, 1, x->lim.max_depth, x->lim.max_ratio,
	          x->lim.ratio_floor);
	return zr_init(&x->rd, &callbacks, x);
}

int zx_feed(struct zip_extract *x, const void *buf, size_t len)
{
	return zr_feed(&x->rd, buf, len);
}

int zx_finish(struct zip_extract *x)
{
	return zr_finish(&x->rd);
}

const char *zx_where(const struct zip_extract *x)
{
	return x->where;
}

void zx_free(struct zip_extract *x)
{
	zr_free(&x->rd);
	nest_free(&x->nest);
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	free(x->seen);
	x->seen = NULL;
	x->nseen = x->cap = 0;
}
