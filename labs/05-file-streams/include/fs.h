/* fs.h - file operations on the lab 4 pool (lab 5). Node's fs.open(),
 * fs.read() and friends, and libuv's uv_fs_*(): the loop thread never
 * waits for a disk.
 *
 * A read() on a regular file never says EAGAIN: the kernel makes the
 * caller wait while the disk works, however non-blocking the descriptor.
 * epoll cannot help either (a file is always "ready"). So each operation
 * is an order for the kitchen: a pool thread makes the system call, and
 * the result comes back to the loop thread through the pool's bell:
 *
 *   loop thread                 a pool thread
 *   fs_read(p, r, fd, ...) ---> pread(fd, buf, len, offset)
 *   ...serves others...            |
 *   r->cb(r)  <--------------------+  r->result: bytes read, or -errno
 *
 * pread() at an offset, never read(): two reads of one file may be in
 * flight on two threads, and a shared file position would make their
 * order the scheduler's.
 *
 * Every function is called on the loop thread, and so is every callback.
 * A request is yours (embed it, keep it alive) from the call until its
 * callback, which comes exactly once -- with -ECANCELED when fs_cancel()
 * took it back before a thread started it.
 */
#ifndef FS_H
#define FS_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "pool.h"

struct fs_req;
typedef void (*fs_cb)(struct fs_req *r);

enum fs_op { FS_OPEN, FS_READ, FS_FSTAT, FS_CLOSE };

struct fs_req {
	void *data;  /* yours */
	fs_cb cb;    /* called once, on the loop thread */
	long result; /* fs_open: the descriptor; fs_read: bytes read (0 at
	                the end of the file); fs_fstat, fs_close: 0; or a
	                negative errno (-ECANCELED: never ran) */
	/* The order, as the call wrote it down (private): */
	enum fs_op op;
	int dirfd;           /* FS_OPEN */
	const char *name;    /* FS_OPEN: kept by the caller until cb */
	int fd;              /* FS_READ, FS_FSTAT, FS_CLOSE */
	void *buf;           /* FS_READ */
	size_t len;          /* FS_READ */
	off_t offset;        /* FS_READ */
	struct stat *st;     /* FS_FSTAT */
	struct tp_work work; /* private: the pool's */
};

/* Opens name read-only, close-on-exec, beneath the directory dirfd: a
 * name that leads outside it (a ".." step, an absolute path, a symbolic
 * link out of it) is refused with -EXDEV, a file that is not regular with
 * -EISDIR (a directory) or -EACCES (a device, a pipe). The work that fails
 * to start (-ESHUTDOWN, -EAGAIN) is returned at once; cb is then not
 * called. Same for the others. */
int fs_open(struct tp_pool *p, struct fs_req *r, int dirfd, const char *name,
            fs_cb cb);

/* Up to len bytes at offset into buf (pread(); EINTR retried). */
int fs_read(struct tp_pool *p, struct fs_req *r, int fd, void *buf, size_t len,
            off_t offset, fs_cb cb);

int fs_fstat(struct tp_pool *p, struct fs_req *r, int fd, struct stat *st,
             fs_cb cb);

/* Closes fd (result 0 even if close() says EINTR: the descriptor is gone
 * either way on Linux, and retrying could close someone else's). */
int fs_close(struct tp_pool *p, struct fs_req *r, int fd, fs_cb cb);

/* Takes r back if no thread has started it (its cb then comes with
 * -ECANCELED, from the loop); 0, or -EBUSY when it is running or done. */
int fs_cancel(struct fs_req *r);

#endif
