/* fs.c - file operations on the lab 4 pool (lab 5; fs.h).
 *
 * You write the functions marked TODO(lab 5): open_beneath() (what may be
 * opened), run() (the system call, on a pool thread), done() (the result,
 * back on the loop thread) and submit(). The rest is given: the path
 * checks (fd_path, climbs, beneath), read_at() and the fs_* calls, which
 * write the order down and submit it. test_stream checks them.
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
 * -EISDIR or -EACCES when it is not a regular file. */
static long open_beneath(int dirfd, const char *name)
{
	/* TODO(lab 5): open name for reading beneath dirfd, or say why not
	 * (a negative errno), as fs.h promises.
	 *
	 * - A name that climbs (climbs()) is refused before anything is
	 *   opened.
	 * - openat() relative to dirfd, read-only and close-on-exec. Also
	 *   O_NONBLOCK: opening a FIFO for reading waits for a writer, and a
	 *   pool thread stuck there for ever is a cook lost. O_NOCTTY too.
	 * - Once open, the name may still have led out through a symbolic
	 *   link: beneath() asks the kernel where the file really is.
	 * - Only a regular file is served (fstat()): a directory is
	 *   -EISDIR, anything else -EACCES.
	 * - Every refusal after the open closes what it opened.
	 */
	(void)dirfd;
	(void)name;
	(void)climbs;
	(void)beneath;
	return -ENOSYS;
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
	/* TODO(lab 5): the operation r->op (r is w->data), with the
	 * arguments the call wrote down; its result in r->result: what
	 * fs.h says each returns, or -errno.
	 *
	 * FS_OPEN is open_beneath(), FS_READ read_at(). A close that fails
	 * still closed the descriptor (Linux): its result is 0.
	 *
	 * This runs on a cook's thread: touch the request and nothing else
	 * (not the loop, not a callback).
	 */
	(void)w;
	(void)open_beneath;
	(void)read_at;
}

/* On the loop thread: the result is back (or the order never ran). */
static void done(struct tp_work *w, int status)
{
	/* TODO(lab 5): the request's callback, exactly once. status is the
	 * pool's: -ECANCELED when the order never ran (fs_cancel(), or the
	 * pool shutting), and then that is the result the caller sees. */
	(void)w;
	(void)status;
}

static int submit(struct tp_pool *p, struct fs_req *r, enum fs_op op, fs_cb cb)
{
	/* TODO(lab 5): hand the order to the pool (tp_submit()), with run
	 * and done as its work and after_work. The pool gives them the
	 * struct tp_work embedded in r: leave a way back to r in it. What
	 * tp_submit() says is what the fs_* call returns. */
	(void)p;
	(void)r;
	(void)op;
	(void)cb;
	(void)run;
	(void)done;
	return -ENOSYS;
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
