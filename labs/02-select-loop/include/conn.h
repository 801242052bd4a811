/* conn.h - one client connection as a state machine (lab 2).
 *
 * The smart waiter never waits at one table. Each connection remembers where
 * it is -- reading a request, waiting for a /sleep to end, writing a response
 * -- and the loop (server.c) calls it only when its socket is ready or its
 * deadline has passed. Every call does what it can without blocking and
 * returns. Nothing here knows about select(): labs 3-7 reuse it on epoll.
 *
 *            bytes arrive                     a whole request: app_handle()
 *   READING ---------------> (parse) -----------------------------------+
 *      ^                        | /sleep?ms=N                           |
 *      |                        v                                       v
 *      |                    SLEEPING --- deadline passed ---> response in "out"
 *      |                                                                |
 *      +----------- out empty (keep-alive) <--- WRITING <---------------+
 *                                                 | out empty and close_after
 *                                                 v
 *                                               CLOSED
 *
 * Pipelining: a client may send several requests without waiting. They
 * are answered strictly in order; while one sleeps, the ones behind it wait
 * in "in" (HTTP/1.1 has no way to answer out of order).
 */
#ifndef CONN_H
#define CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "buf.h"

enum conn_state {
	CONN_READING,   /* waiting for (the rest of) a request */
	CONN_SLEEPING,  /* a response is ready but held until wake_at_ms (or,
	                   for a held one, until conn_release()) */
	CONN_WRITING,   /* "out" has bytes to send */
	CONN_CLOSED,    /* done: the loop closes the socket and frees it */
	CONN_STREAMING, /* lab 5 on: a response whose body comes in pieces
	                   (conn_stream_*): nothing is read or answered
	                   until it ends */
};

enum {
	CONN_READ_CHUNK = 16384, /* bytes asked of each read() */
	CONN_OUT_HIGH = 1 << 20, /* stop answering while out holds more */
};

/* wake_at_ms of a held response (app_response.held): no clock ends it. */
#define CONN_NEVER INT64_MAX

struct conn {
	int fd;
	enum conn_state state;
	struct buf in;      /* received, not yet parsed */
	struct buf out;     /* to send */
	bool close_after;   /* close once "out" is flushed */
	int64_t wake_at_ms; /* CONN_SLEEPING: when to release "held" */
	struct buf held;    /* CONN_SLEEPING: the response being held */
	/* The held response ends the connection. A sleeper (or held request)
	 * that is not kept sets this, not close_after: its answer is not in
	 * "out" yet (it is carried into close_after when it gets there), and
	 * until then the frame (lab 3) reads close_after as "the client sent
	 * EOF". */
	bool held_close;
	/* Answers queued so far, each error answer too (400-505, the 413,
	 * conn_time_out()'s 408): the frame (lab 3) treats a change as
	 * activity that restarts its timeouts, and a connection with none
	 * as new rather than keep-alive. */
	uint64_t requests;
	uint64_t stream_left; /* CONN_STREAMING: body bytes still to come */
	bool stream_discard;  /* CONN_STREAMING: a HEAD's: none are sent */
	bool stream_chunked; /* CONN_STREAMING: length unknown (HTTP_CHUNKED) */
	bool stream_to_close; /* CONN_STREAMING: length unknown, and the
	                         client knows no chunks: the close ends it */
};

/* A fresh connection on a non-blocking socket, in CONN_READING. */
void conn_init(struct conn *c, int fd);

/* The socket is readable: read until EAGAIN (or until "in" would exceed the
 * head limit), then conn_process(). EOF from the client closes the
 * connection once nothing is left to send. Returns 0, or a negative errno
 * when the connection is broken (the loop then closes it). */
int conn_on_readable(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms);

/* The socket is writable: write from "out" until it is empty or write()
 * says EAGAIN. A short write keeps the rest for next time. When "out"
 * empties: CONN_CLOSED if close_after, else back to CONN_READING (and
 * conn_process() for pipelined requests already received). Returns 0 or a
 * negative errno (EPIPE, ECONNRESET: the client is gone). */
int conn_on_writable(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms);

/* The loop's clock passed wake_at_ms: move the held response to "out". */
int conn_on_deadline(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms);

/* Parses and answers the complete requests in "in", in order, appending the
 * responses to "out"; stops at a /sleep (-> CONN_SLEEPING), at a request
 * that ends the connection, or when "out" holds CONN_OUT_HIGH bytes.
 * A malformed request gets its 4xx and close_after. Returns 0 or -ENOMEM. */
int conn_process(struct conn *c, const struct app_config *cfg, int64_t now_ms);

/* What the loop should wait for. Never both false unless CONN_SLEEPING or
 * CONN_CLOSED: a connection nobody watches is a connection leaked. */
bool conn_wants_read(const struct conn *c);
bool conn_wants_write(const struct conn *c);

/* Closes the socket and frees the buffers. */
void conn_free(struct conn *c);

/* For the server from lab 3 on (given code, in conn.c): */

/* The answer to the held request (app_response.held) has come: res takes
 * the place of the placeholder and goes out, then the requests pipelined
 * behind it are answered. -EINVAL if nothing is held for the server. */
int conn_release(struct conn *c, const struct app_response *res,
                 const struct app_config *cfg, int64_t now_ms);

/* The held request's answer is a head now and a body in pieces (lab 5):
 * res's head goes out (res->body_len is the Content-Length to come, or
 * HTTP_CHUNKED: each piece then goes as a chunk; its body is not sent),
 * and the connection is CONN_STREAMING until conn_stream_end(). chunks
 * false says the client cannot read chunks (HTTP/1.0 has none): a body of
 * unknown length then goes as it is, with "Connection: close", and its end
 * is the close. -EINVAL if nothing is held for the server. */
int conn_stream_begin(struct conn *c, const struct app_response *res,
                      bool chunks);

/* The next piece of the body, queued in "out" (dropped for a HEAD). 0,
 * -ENOMEM, or -EINVAL past the Content-Length or when not streaming. */
int conn_stream_write(struct conn *c, const void *data, size_t len);

/* The body is complete: the requests pipelined behind are answered. 0,
 * -ENOMEM, or -EINVAL when fewer bytes came than the head promised (the
 * client would wait for them for ever: the connection must close). */
int conn_stream_end(struct conn *c, const struct app_config *cfg,
                    int64_t now_ms);

/* The request head took too long: its error (408), then close. Where the
 * request would have ended is unknown, so nothing more is read. */
int conn_time_out(struct conn *c, int status);

/* "HTTP/1.1 100 Continue", queued before the held request's answer: a
 * client that sent "Expect: 100-continue" sends its body only once it
 * has this (or after a wait of its own: curl's is 1 s). 0 or -ENOMEM. */
int conn_continue(struct conn *c);

/* Gives back the empty buffers of a connection that waits: ten thousand
 * idle clients should cost their sockets, not 16 KiB each. */
void conn_trim(struct conn *c);

/* A held request's body, read by the server (lab 7, server.h): */

/* The bytes received and not yet parsed, at *p: after a held request's
 * head, the start of its body (and perhaps requests pipelined behind). */
size_t conn_input(const struct conn *c, const char **p);

/* The first n of them have been used. */
void conn_consume(struct conn *c, size_t n);

/* One read() into them: how many bytes came, 0 at the end of the stream,
 * -EAGAIN when none are there yet, or another negative errno. */
long conn_fill(struct conn *c);

/* The held request's answer ends the connection: its body was not read
 * whole, so where the next request would begin is unknown. */
void conn_hold_close(struct conn *c);

#endif
