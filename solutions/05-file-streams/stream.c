/* stream.c - a file read as a stream, and piped into a client (lab 5;
 * stream.h).
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

/* The stream is closing and nothing refers to it any more: last. */
static void finish_close(struct rstream *s)
{
	free(s->buf);
	s->buf = NULL;
	if (s->on_closed != NULL)
		s->on_closed(s);
}

/* Calls on_data or on_end; an rstream_close() inside them ends here, once
 * they have returned. True when the stream is still open. */
static bool deliver(struct rstream *s, const char *data, size_t n, int err)
{
	s->delivering = true;
	if (data != NULL)
		s->on_data(s, data, n);
	else
		s->on_end(s, err);
	s->delivering = false;
	if (!s->closing)
		return true;
	finish_close(s);
	return false;
}

static void end_stream(struct rstream *s, int err)
{
	if (s->ended)
		return;
	s->ended = true;
	deliver(s, NULL, 0, err);
}

static void on_read(struct fs_req *r);

/* Starts the next read, if the stream may read and has more to. */
static int read_next(struct rstream *s)
{
	size_t len = s->chunk;
	int rc;

	/* delivering: a resume from inside on_data must not read into the
	 * buffer on_data is reading; on_read() reads on once it returns. */
	if (s->reading || s->delivering || s->paused || s->ended || s->closing)
		return 0;
	if (s->pos >= s->end) {
		end_stream(s, 0);
		return 0;
	}
	if ((off_t)len > s->end - s->pos)
		len = (size_t)(s->end - s->pos);
	if (s->buf == NULL && (s->buf = malloc(s->chunk)) == NULL) {
		end_stream(s, -ENOMEM);
		return -ENOMEM;
	}
	s->req.data = s;
	rc = fs_read(s->pool, &s->req, s->fd, s->buf, len, s->pos, on_read);
	if (rc < 0) {
		end_stream(s, rc);
		return rc;
	}
	s->reading = true;
	return 0;
}

/* A read has landed, on the loop thread. */
static void on_read(struct fs_req *r)
{
	struct rstream *s = r->data;
	long n = r->result;

	s->reading = false;
	if (s->closing) {
		finish_close(s);
		return;
	}
	if (n <= 0) {
		/* 0 before `end`: the file shrank under us. */
		end_stream(s, n < 0 ? (int)n : -EIO);
		return;
	}
	s->pos += n;
	if (deliver(s, s->buf, (size_t)n, 0))
		read_next(s);
}

void rstream_pause(struct rstream *s)
{
	s->paused = true;
}

int rstream_resume(struct rstream *s)
{
	s->paused = false;
	return read_next(s);
}

void rstream_close(struct rstream *s, rstream_closed_fn on_closed)
{
	if (s->closing)
		return;
	s->closing = true;
	s->on_closed = on_closed;
	/* A read in flight still writes into buf: the close ends in
	 * on_read() (cancelled, it lands there with -ECANCELED); a callback
	 * running ends it in deliver(). */
	if (s->reading)
		fs_cancel(&s->req);
	else if (!s->delivering)
		finish_close(s);
}

/* --- pipe --- */

static void pipe_closed(struct rstream *s)
{
	struct pipe *pp = s->data;

	pp->done(pp, pp->err);
}

static void pipe_data(struct rstream *s, const char *data, size_t n)
{
	struct pipe *pp = s->data;
	int rc = server_write(pp->dst, data, n);

	if (rc == 1) {
		rstream_pause(s); /* full: on_drain resumes */
	} else if (rc < 0) {
		pp->err = rc;
		rstream_close(s, pipe_closed);
	}
}

static void pipe_end(struct rstream *s, int err)
{
	struct pipe *pp = s->data;
	/* After an error too: the body falls short of its Content-Length,
	 * and the frame closes the client, who would wait for ever. */
	int rc = server_end(pp->dst);

	pp->err = err < 0 ? err : rc;
	rstream_close(s, pipe_closed);
}

void pipe_start(struct pipe *pp, struct rstream *src, struct server_reply *dst,
                pipe_done_fn done)
{
	pp->src = src;
	pp->dst = dst;
	pp->done = done;
	pp->err = 0;
	src->data = pp;
	src->on_data = pipe_data;
	src->on_end = pipe_end;
	rstream_resume(src); /* an error goes to pipe_end() */
}

void pipe_drain(struct pipe *pp)
{
	rstream_resume(pp->src);
}

void pipe_gone(struct pipe *pp)
{
	if (pp->err == 0)
		pp->err = -ENOTCONN;
	rstream_close(pp->src, pipe_closed);
}
