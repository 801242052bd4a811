/* io.c - blocking socket I/O that copes with partial reads and writes (lab 1).
 *
 * You write both functions. Read io.h first: it says what each returns.
 */
#include "io.h"

#include <errno.h>
#include <unistd.h>

long io_read_request(int fd, char *buf, size_t cap, size_t *received,
                     struct http_request *req)
{
	/* TODO(lab 1): read until buf holds a complete request head.
	 *
	 * Loop: read() into the part of buf not yet used (buf + len, with
	 * cap - len bytes of room), then hand everything so far -- buf[0..len)
	 * -- to http_parse_request(). Stop when it returns non-zero and return
	 * what it returned; set *received = len so the caller knows how many
	 * bytes are in buf (the peer may have sent more than one head).
	 *
	 * Pitfalls:
	 * - One read() is not one request. A request can arrive in many
	 *   pieces, and one piece can end anywhere, even mid-line. Never
	 *   assume the first read() brought the whole head.
	 * - read() returning 0 means the peer closed: no head will ever come.
	 *   Return -ECONNRESET, or you loop forever reading 0 bytes.
	 * - read() returning -1 with errno EINTR means a signal arrived
	 *   while waiting, not an error: read again. Any other errno: return
	 *   -errno.
	 * - Do not wait for the peer to close before parsing: a client waits
	 *   for your answer with its connection open, so parse after every
	 *   read, and a bad request is answered at once.
	 * - If buf fills up (len == cap) and the parser still wants more,
	 *   return -431: never read past cap.
	 */
	(void)fd;
	(void)buf;
	(void)cap;
	(void)req;
	*received = 0;
	return -ENOSYS;
}

int io_write_all(int fd, const void *buf, size_t len)
{
	/* TODO(lab 1): write all len bytes, however many write() calls it
	 * takes.
	 *
	 * Pitfalls:
	 * - write() may take fewer bytes than offered (a "short write"), for
	 *   instance when a signal interrupts it while the socket's send
	 *   buffer is full. It returns how many it took: move on by that many
	 *   and write the rest. A single write() passes small tests and loses
	 *   data on big responses.
	 * - -1 with errno EINTR: nothing was written, try again.
	 * - -1 with errno EPIPE: the peer has gone; return -EPIPE. (The
	 *   process only survives to see EPIPE because server_signals()
	 *   ignores SIGPIPE, whose default action is to kill it.)
	 * - void * cannot be stepped through: use a const char * copy.
	 */
	(void)fd;
	(void)buf;
	(void)len;
	return -ENOSYS;
}
