/* fs.c - file operations on the lab 4 pool (lab 5; fs.h).
 *
 * Each call writes the order down in its fs_req and submits it: run() makes
 * the system call on a pool thread, done() hands the result back on the
 * loop thread. Nothing here blocks the loop but the lock of tp_submit().
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

/* Given: the path the kernel resolved for descriptor fd, into buf. */
static bool fd_path(int fd, char *buf, size_t cap)
{
	char link[32];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, buf, cap - 1);
	if (n <= 0 || (size_t)n >= cap - 1)
		return false;
	buf[n] = '\0';
	return true;
}

/* Whether name could lead out of its folder as written: absolute, or
 * with a ".." step. */
static bool climbs(const char *name)
{
	const char *p = name;

	if (*name == '/')
		return true;
	while ((p = strstr(p, "..")) != NULL) {
		bool starts = p == name || p[-1] == '/';
		bool ends = p[2] == '\0' || p[2] == '/';
		if (starts && ends)
			return true;
		p += 2;
	}
	return false;
}

/* Whether the file open as fd lies beneath the folder dirfd, as the
 * kernel resolved both: a symbolic link may lead anywhere. */
static bool beneath(int dirfd, int fd)
{
	char dir[PATH_MAX], file[PATH_MAX];
	size_t n;

	if (!fd_path(dirfd, dir, sizeof(dir)) ||
	    !fd_path(fd, file, sizeof(file)))
		return false;
	n = strlen(dir);
	if (n == 1) /* the root is "/": everything is beneath it */
		return true;
	return strncmp(file, dir, n) == 0 && file[n] == '/';
}

/* name, opened read-only beneath dirfd; -EXDEV when it leads out of it,
 * -EISDIR or -EACCES when it is not a regular file. O_NONBLOCK: opening a
 * FIFO for reading would otherwise wait for a writer, for ever. */
static long open_beneath(int dirfd, const char *name)
{
	struct stat st;
	int fd, err = 0;

	if (climbs(name))
		return -EXDEV;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (!beneath(dirfd, fd))
		err = -EXDEV;
	else if (fstat(fd, &st) < 0)
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EACCES;
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

static void trace_read(double t0, off_t offset, ssize_t n)
{
	char args[80];

	snprintf(args, sizeof(args), "{\"offset\":%lld,\"bytes\":%zd}",
	         (long long)offset, n);
	trace_slice("job", "fs read", t0, trace_now() - t0, args);
}

static long read_at(struct fs_req *r)
{
	double t0 = tracing() ? trace_now() : 0;
	ssize_t n;

	do
		n = pread(r->fd, r->buf, r->len, r->offset);
	while (n < 0 && errno == EINTR);
	if (tracing()) /* the read on its cook's lane (trace.h) */
		trace_read(t0, r->offset, n);
	return n < 0 ? -errno : n;
}

/* On a pool thread: the system call, and nothing of the loop's. */
static void run(struct tp_work *w)
{
	struct fs_req *r = w->data;

	switch (r->op) {
	case FS_OPEN:
		r->result = open_beneath(r->dirfd, r->name);
		break;
	case FS_READ:
		r->result = read_at(r);
		break;
	case FS_FSTAT:
		r->result = fstat(r->fd, r->st) < 0 ? -errno : 0;
		break;
	case FS_CLOSE:
		close(r->fd); /* the descriptor is gone even on EINTR */
		r->result = 0;
		break;
	}
}

/* On the loop thread: the result is back (or the order never ran). */
static void done(struct tp_work *w, int status)
{
	struct fs_req *r = w->data;

	if (status < 0)
		r->result = status;
	r->cb(r);
}

static int submit(struct tp_pool *p, struct fs_req *r, enum fs_op op, fs_cb cb)
{
	r->op = op;
	r->cb = cb;
	r->result = 0;
	r->work.data = r;
	return tp_submit(p, &r->work, run, done);
}

int fs_open(struct tp_pool *p, struct fs_req *r, int dirfd, const char *name,
            fs_cb cb)
{
	r->dirfd = dirfd;
	r->name = name;
	return submit(p, r, FS_OPEN, cb);
}

int fs_read(struct tp_pool *p, struct fs_req *r, int fd, void *buf, size_t len,
            off_t offset, fs_cb cb)
{
	r->fd = fd;
	r->buf = buf;
	r->len = len;
	r->offset = offset;
	return submit(p, r, FS_READ, cb);
}

int fs_fstat(struct tp_pool *p, struct fs_req *r, int fd, struct stat *st,
             fs_cb cb)
{
	r->fd = fd;
	r->st = st;
	return submit(p, r, FS_FSTAT, cb);
}

int fs_close(struct tp_pool *p, struct fs_req *r, int fd, fs_cb cb)
{
	r->fd = fd;
	return submit(p, r, FS_CLOSE, cb);
}

int fs_cancel(struct fs_req *r)
{
	return tp_cancel(&r->work);
}
