/* stream.h - a file read as a stream, piped into a client (lab 5). Node's
 * fs.createReadStream(path).pipe(res).
 *
 * fs.readFile() reads the whole file into memory, then sends it: 512 MiB
 * for a 512 MiB file, per client. A stream holds one chunk: it reads
 * RSTREAM_CHUNK bytes (fs_read(), on the pool), hands them on (on_data),
 * and reads the next only when told to go on. Memory is one chunk per
 * stream, whatever the file's size.
 *
 * Whoever takes the chunks may be slower than the disk: a client on a bad
 * line. pipe() is the rule that keeps memory flat then (backpressure):
 *
 *   rstream --on_data--> server_write() == 1 (the queue is full)
 *      ^                   -> rstream_pause(): no more reads
 *      |                 ...the socket drains...
 *      +--rstream_resume() <-- on_drain
 *
 * Rules the tests check:
 * - at most one read in flight per stream, at the offset after the last
 *   one: chunks arrive in order, each exactly once, and together they are
 *   the bytes [start, end) of the file;
 * - a chunk is RSTREAM_CHUNK bytes (or s->chunk if set before the first
 *   read), the last one what is left; a read that returns fewer bytes is
 *   handed on as it is, and the next read starts where it stopped;
 * - while paused, no read is started (one already in flight is handed on
 *   when it lands, unless the stream was closed); nor while on_data runs:
 *   a resume from inside it reads on once it has returned;
 * - on_end comes once, after the last chunk: 0, or the negative errno of
 *   a failed read (no more chunks after it); a file that ends before `end`
 *   (it shrank) is -EIO;
 * - rstream_close() may be called at any time, even from on_data or
 *   on_end: no callback of the stream comes after it but on_closed, once,
 *   when nothing of the pool's refers to the stream any more -- at once
 *   (inside rstream_close()) when no read is in flight and no callback is
 *   running, else when the read lands or the callback returns. The
 *   stream's memory is the caller's again from on_closed on. It does not
 *   close fd. A second rstream_close() before on_closed does nothing.
 */
#ifndef STREAM_H
#define STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "fs.h"
#include "server.h"

enum {
	/* Node's default highWaterMark for fs streams (64 KiB). */
	RSTREAM_CHUNK = 64 << 10,
};

struct rstream;
typedef void (*rstream_data_fn)(struct rstream *s, const char *data, size_t n);
typedef void (*rstream_end_fn)(struct rstream *s, int err);
typedef void (*rstream_closed_fn)(struct rstream *s);

struct rstream {
	void *data;   /* yours */
	size_t chunk; /* bytes per read: RSTREAM_CHUNK unless you set it
	                 between rstream_init() and the first resume */
	rstream_data_fn on_data;
	rstream_end_fn on_end;
	/* Private: */
	struct tp_pool *pool;
	int fd;
	off_t pos, end; /* the next read's offset; where the stream ends */
	char *buf;      /* one chunk, from the first read to the close */
	struct fs_req req;
	bool reading;    /* req is in the pool */
	bool delivering; /* on_data or on_end is running */
	bool paused;
	bool ended;   /* on_end has been called */
	bool closing; /* rstream_close(): on_closed is due */
	rstream_closed_fn on_closed;
};

/* A stream of fd's bytes [start, end), read on pool p. It starts paused:
 * rstream_resume() starts reading. */
void rstream_init(struct rstream *s, struct tp_pool *p, int fd, off_t start,
                  off_t end, rstream_data_fn on_data, rstream_end_fn on_end);

/* No read starts while paused. */
void rstream_pause(struct rstream *s);

/* Reads on (unless ended or closing). -ENOMEM when the chunk's buffer
 * cannot be had, or the pool's error when the read cannot be submitted;
 * on_end then says so too. */
int rstream_resume(struct rstream *s);

/* Stops the stream; on_closed (may be NULL) comes as the rules above
 * say. */
void rstream_close(struct rstream *s, rstream_closed_fn on_closed);

/* --- pipe: a stream into a streamed answer --- */

struct pipe;
/* The end of a pipe: 0 when the whole stream was written (server_end()
 * done), or why not (-ENOTCONN: the client left; a read's error). The
 * stream is closed by then (its on_closed has come): free what you like. */
typedef void (*pipe_done_fn)(struct pipe *pp, int err);

struct pipe {
	void *data; /* yours */
	/* Private: */
	struct rstream *src;
	struct server_reply *dst;
	pipe_done_fn done;
	int err;
};

/* Streams src into dst, a taken request whose head server_stream() has
 * sent (its on_drain and on_gone must lead to pipe_drain() and
 * pipe_gone()): each chunk goes to server_write(); when it says full,
 * src pauses until pipe_drain(); at src's end, server_end() (after a read
 * error too: the body falls short, and the client is closed). src is the
 * pipe's from here (its data and callbacks). Starts src. done comes once,
 * after src is closed. */
void pipe_start(struct pipe *pp, struct rstream *src, struct server_reply *dst,
                pipe_done_fn done);

/* From dst's on_drain: the queue has emptied, read on. */
void pipe_drain(struct pipe *pp);

/* From dst's on_gone: the client has left; stop reading. */
void pipe_gone(struct pipe *pp);

#endif
