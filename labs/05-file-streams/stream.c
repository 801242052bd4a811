/* stream.c - a file read as a stream, and piped into a client (lab 5;
 * stream.h).
 *
 * You write the functions marked TODO(lab 5): the stream's reads (read_next,
 * on_read), pause, resume and close, and the pipe. rstream_init() is given.
 * stream.h's rules are what test_stream checks; read them first.
 *
 * One buffer of one chunk per stream, one read in flight at the most: the
 * next read starts only once on_data has returned (and the stream is not
 * paused), at the offset where the last one stopped.
 */
#include "stream.h"

#include <errno.h>
#include <stdlib.h>

void rstream_init(struct rstream *s, struct tp_pool *p, int fd, off_t start,
                  off_t end, rstream_data_fn on_data, rstream_end_fn on_end)
{
	*s = (struct rstream){
	    .chunk = RSTREAM_CHUNK,
	    .on_data = on_data,
	    .on_end = on_end,
	    .pool = p,
	    .fd = fd,
	    .pos = start,
	    .end = end,
	    .paused = true,
	};
}

static void on_read(struct fs_req *r);

/* Starts the next read, if the stream may read and has more to. */
static int read_next(struct rstream *s)
{
	/* TODO(lab 5): the heart of the stream.
	 *
	 * - Nothing to do while a read is in flight, paused, ended or
	 *   closing: that is what keeps it to one read at a time. Nor
	 *   while on_data runs (it may resume from inside): the buffer is
	 *   still being read, and on_read() reads on once it returns.
	 * - At `end`: on_end(0), once, and no read.
	 * - Else read min(chunk, what is left) at `pos` with fs_read(),
	 *   into the stream's one buffer (allocated at the first read, and
	 *   kept: a stream costs one chunk, whatever the file's size).
	 * - A buffer that cannot be had, or a read that cannot be
	 *   submitted, ends the stream with that error (on_end) and is
	 *   returned.
	 */
	(void)s;
	(void)on_read;
	return -ENOSYS;
}

/* A read has landed, on the loop thread. */
static void on_read(struct fs_req *r)
{
	/* TODO(lab 5): the read's result, handed on.
	 *
	 * - Closing: the close can finish now (free the buffer,
	 *   on_closed); nothing else is said.
	 * - A negative result ends the stream with it; 0 bytes before `end`
	 *   means the file shrank: -EIO.
	 * - Else move `pos` on and call on_data. It may pause or close the
	 *   stream from inside: a close there must only finish once on_data
	 *   has returned (the stream's memory may go with on_closed), and a
	 *   pause means no next read. Then the next read.
	 */
	(void)r;
}

void rstream_pause(struct rstream *s)
{
	/* TODO(lab 5): no read starts from now on (one in flight lands). */
	(void)s;
}

int rstream_resume(struct rstream *s)
{
	/* TODO(lab 5): reads on, from where it stopped. */
	(void)s;
	(void)read_next;
	return -ENOSYS;
}

void rstream_close(struct rstream *s, rstream_closed_fn on_closed)
{
	/* TODO(lab 5): stream.h's close rule. A read in flight still writes
	 * into the buffer: the close finishes when it lands (fs_cancel()
	 * makes that sooner, with -ECANCELED, if no thread has it yet). A
	 * callback of the stream running now: when it returns. Else now.
	 * A second close does nothing. */
	(void)s;
	(void)on_closed;
}

/* --- pipe --- */

void pipe_start(struct pipe *pp, struct rstream *src, struct server_reply *dst,
                pipe_done_fn done)
{
	/* TODO(lab 5): the stream's chunks into the answer, as stream.h
	 * says: server_write() each; when it says full (1), pause until
	 * pipe_drain(); when it fails, close the stream. At the stream's
	 * end (an error too), server_end(). done once, after the stream is
	 * closed, with the first error seen (0: all of it went out). The
	 * stream's data field can lead its callbacks back to the pipe. */
	(void)pp;
	(void)src;
	(void)dst;
	(void)done;
}

void pipe_drain(struct pipe *pp)
{
	/* TODO(lab 5): the queue has emptied: read on. */
	(void)pp;
}

void pipe_gone(struct pipe *pp)
{
	/* TODO(lab 5): the client has left (-ENOTCONN): stop the stream;
	 * done comes once it is closed. */
	(void)pp;
}
