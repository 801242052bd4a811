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
	/* TODO(lab 5): the heart of the stream. Returns 0 or a negative
	 * errno. Afterwards, exactly one of these holds:
	 * - the stream may not read now -- a read is in flight, it is
	 *   paused, ended or closing, or one of its callbacks is running --
	 *   and nothing changed;
	 * - it was at `end`: on_end(0) has been called, once in the
	 *   stream's life;
	 * - a read is in flight (fs_read(), landing in on_read()): the next
	 *   min(chunk, end - pos) bytes at `pos`, into the stream's buffer;
	 * - the buffer could not be had (-ENOMEM) or the read not submitted
	 *   (the pool's error): on_end has said so, and that error is
	 *   returned.
	 *
	 * Memory: one buffer of s->chunk bytes per stream, whatever the
	 * file's size (memory.many_downloads), from its first read to its
	 * close. s->chunk may change between rstream_init() and that first
	 * read, never after.
	 *
	 * Traps: a resume from inside on_data must not start a read into the
	 * chunk on_data is still reading (test_stream_chunks fails if a read
	 * is in the pool while a chunk is handed on); yet once on_data
	 * returns, the stream must read on by itself. A resume after the end
	 * must not say on_end again.
	 */
	(void)s;
	(void)on_read;
	return -ENOSYS;
}

/* A read has landed, on the loop thread. */
static void on_read(struct fs_req *r)
{
	/* TODO(lab 5): fs_read()'s callback (r->data is yours to set
	 * before the read), on the loop thread; r->result is the bytes read
	 * or a negative errno. Afterwards:
	 * - if the stream is closing, its close has finished (stream.h's
	 *   close rule), and nothing else is said;
	 * - a failed read has ended the stream with its error (on_end), and
	 *   a read of 0 bytes before `end` with -EIO: the file shrank;
	 * - otherwise on_data has had the chunk, `pos` is past it, and the
	 *   next read has started if the stream may read (read_next()).
	 *
	 * The trap: on_data (and on_end) may pause, resume or close the
	 * stream from inside. A close there finishes only once the callback
	 * has returned: on_closed may free the stream, so nothing of it may
	 * be touched after on_closed -- and on_closed must not run while the
	 * callback still reads the buffer (test_stream_close_in_data). A
	 * pause there means no next read.
	 */
	(void)r;
}

void rstream_pause(struct rstream *s)
{
	/* TODO(lab 5): afterwards no read starts until rstream_resume();
	 * a read already in flight still lands and is handed on. */
	(void)s;
}

int rstream_resume(struct rstream *s)
{
	/* TODO(lab 5): afterwards the stream reads on from where it
	 * stopped (or says on_end(0) if nothing is left), unless it has
	 * ended or is closing. Returns what read_next() says (stream.h). From
	 * inside on_data, it reads on once on_data has returned. */
	(void)s;
	(void)read_next;
	return -ENOSYS;
}

void rstream_close(struct rstream *s, rstream_closed_fn on_closed)
{
	/* TODO(lab 5): stream.h's close rule. Afterwards no callback of
	 * the stream comes but on_closed (may be NULL), once, and only when
	 * nothing refers to the stream any more:
	 * - a read in flight still writes into the buffer: the close
	 *   finishes when it lands (fs_cancel() makes that sooner, with
	 *   -ECANCELED, if no cook has started it);
	 * - a callback of the stream running now (on_data, on_end: the
	 *   close came from inside it) still reads the buffer: the close
	 *   finishes when it returns;
	 * - else the close finishes here, before rstream_close() returns.
	 * "Finishes": the buffer is freed, then on_closed. A second close
	 * before that does nothing. fd is the caller's: not closed here.
	 *
	 * Traps (valgrind sees each): a buffer freed under a cook's pread()
	 * or under on_data; on_closed twice, or from inside rstream_close()
	 * called in on_data; the stream touched after on_closed, which may
	 * have freed it.
	 */
	(void)s;
	(void)on_closed;
}

/* --- pipe --- */

void pipe_start(struct pipe *pp, struct rstream *src, struct server_reply *dst,
                pipe_done_fn done)
{
	/* TODO(lab 5): stream.h's pipe. From here src is the pipe's (its
	 * data and its callbacks: the stream's data can lead them back to
	 * the pipe), and it is started. Then, until done:
	 * - every chunk goes out, in order, through server_write();
	 * - when server_write() says the queue is full (1), no read starts
	 *   until pipe_drain() (backpressure: memory.slow_reader);
	 * - when it fails (< 0), the stream stops;
	 * - at the stream's end, server_end() -- after a read error too:
	 *   the body then falls short of its Content-Length, and the frame
	 *   closes the client, who would otherwise wait for it for ever.
	 * done comes exactly once, after src is closed (its on_closed), with
	 * the first error seen: a read's, server_write()'s or server_end()'s,
	 * -ENOTCONN for a client gone; 0 when all of it went out.
	 *
	 * Trap (test_pipe_teardown): done before the stream is closed -- a
	 * read still in flight writes into a buffer its owner may free in
	 * done.
	 */
	(void)pp;
	(void)src;
	(void)dst;
	(void)done;
}

void pipe_drain(struct pipe *pp)
{
	/* TODO(lab 5): dst's on_drain: the queue has emptied. Afterwards
	 * the stream reads on, unless it has ended or is closing. */
	(void)pp;
}

void pipe_gone(struct pipe *pp)
{
	/* TODO(lab 5): dst's on_gone: the client has left. Afterwards the
	 * stream is stopping, and nothing more goes to dst; done comes once
	 * the stream is closed, with -ENOTCONN unless an error came first.
	 * It may come while a read is in flight (test_pipe_teardown). */
	(void)pp;
}
