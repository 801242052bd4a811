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
	/* TODO(lab 5): on a pool thread. Returns a descriptor of name,
	 * resolved relative to dirfd, open read-only and close-on-exec, when
	 * it is a regular file that really lies beneath dirfd. Else a
	 * negative errno, as fs.h promises (test_fs_open_refuses tries each):
	 * - -EXDEV: the name leads out of the folder, as written (absolute,
	 *   a ".." step: so whether or not such a file exists, "../x" too)
	 *   or through a symbolic link;
	 * - -EISDIR for a directory, -EACCES for any other file that is not
	 *   regular (a device, a FIFO, a socket);
	 * - the open's own error (-ENOENT: no such file).
	 * Every refusal leaves no descriptor open (leaks.descriptors).
	 *
	 * Given: climbs(name) judges the name as written, without opening
	 * anything; beneath(dirfd, fd) asks the kernel where an open file
	 * really is (APPENDIX A.4 says why the name alone cannot tell).
	 *
	 * Traps, each of which costs a cook for good or the server's peace:
	 * opening a FIFO for reading waits for a writer unless the open is
	 * non-blocking (O_NONBLOCK), and a terminal device opened without
	 * O_NOCTTY may become the server's controlling terminal.
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
	/* TODO(lab 5): the pool's work, on a cook's thread. Afterwards
	 * the operation the fs_* call wrote down in its request (r->op and
	 * its arguments; w is the work submit() gave the pool) has been made,
	 * and r->result holds what fs.h says it returns, or -errno.
	 *
	 * Given: open_beneath() and read_at() (pread(), EINTR retried).
	 * Fact: on Linux a close() that fails still closed the descriptor
	 * (a retry could close someone else's): its result is 0.
	 *
	 * Trap: this runs beside the loop thread. It may touch the request
	 * and nothing else: not the loop, not the stream, not a callback.
	 */
	(void)w;
	(void)open_beneath;
	(void)read_at;
}

/* On the loop thread: the result is back (or the order never ran). */
static void done(struct tp_work *w, int status)
{
	/* TODO(lab 5): the pool's after_work, on the loop thread.
	 * Afterwards the request's callback has run, exactly once, and saw
	 * in r->result what run() stored -- or -ECANCELED when the order
	 * never ran (status: fs_cancel() took it back, or the pool shut
	 * first), since then run() stored nothing. The request is the
	 * caller's again from the callback on: touch nothing of it after. */
	(void)w;
	(void)status;
}

static int submit(struct tp_pool *p, struct fs_req *r, enum fs_op op, fs_cb cb)
{
	/* TODO(lab 5): every fs_* call ends here, its arguments written
	 * down in r. Returns what tp_submit() returns: 0, and then the order
	 * (op, cb) is with the pool, to be made by run() and answered by
	 * done(); or its error (-ESHUTDOWN, a failure to start the cooks),
	 * and then cb never comes.
	 *
	 * Fact: run() and done() receive only the struct tp_work embedded in
	 * r (pool.h says what of it is yours); from it they must find r. */
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
