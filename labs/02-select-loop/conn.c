/* conn.c - one client connection as a state machine (lab 2).
 *
 * Nothing here blocks and nothing here waits: each function does what the
 * socket allows right now, records where it got to in struct conn, and
 * returns to the loop. Read conn.h first: it has the state diagram.
 *
 * You write the functions marked TODO(lab 2). conn_init(), conn_free() and
 * append_response() are given, and so are, at the end, the functions the
 * servers of lab 3 on use.
 */
#include "conn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void conn_init(struct conn *c, int fd)
{
	*c = (struct conn){
	    .fd = fd,
	    .state = CONN_READING,
	    .in = BUF_INIT,
	    .out = BUF_INIT,
	    .held = BUF_INIT,
	};
}

void conn_free(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->state = CONN_CLOSED;
	buf_free(&c->in);
	buf_free(&c->out);
	buf_free(&c->held);
}

bool conn_wants_read(const struct conn *c)
{
	/* TODO(lab 2): whether the loop should watch this socket for
	 * reading. Only in CONN_READING, and never once close_after is set.
	 *
	 * Trap: after EOF the socket is readable for ever (each read()
	 * returns 0 at once). Keep wanting to read and select() returns at
	 * once, every time: a busy loop at 100% CPU. EOF sets close_after,
	 * and that must end read interest.
	 */
	(void)c;
	return false;
}

bool conn_wants_write(const struct conn *c)
{
	/* TODO(lab 2): whether the loop should watch for writability: while
	 * "out" holds bytes, and never otherwise, whatever the state.
	 *
	 * Trap: a socket is writable almost all the time (its send buffer
	 * has room). Ask select() for writability with nothing to write and
	 * it returns at once, for ever: a busy loop. A sleeping connection
	 * may still have earlier answers in "out": it wants to write them.
	 */
	(void)c;
	return false;
}

/* Appends res to b: its head, and its body unless it answers a HEAD.
 * keep says whether the connection stays open after it ("Connection:
 * keep-alive" or "close" in the head). */
static int append_response(struct buf *b, const struct app_response *res,
                           bool keep)
{
	char head[512]; /* the longest head is about 300 bytes */
	long n;
	int rc;

	n = http_format_head(head, sizeof(head), res->status, res->content_type,
	                     res->body_len, res->extra, keep);
	if (n < 0)
		return (int)n;
	rc = buf_append(b, head, (size_t)n);
	if (rc == 0 && res->send_body)
		rc = buf_append(b, res->body, res->body_len);
	return rc;
}

int conn_process(struct conn *c, const struct app_config *cfg, int64_t now_ms)
{
	/* TODO(lab 2): answer the complete requests in "in", in order.
	 *
	 * Loop while the state is CONN_READING or CONN_WRITING, "in" is not
	 * empty and buf_pending(&c->out) < CONN_OUT_HIGH:
	 *   n = http_parse_request(buf_head(&c->in), buf_pending(&c->in),
	 *                          &req);
	 * - n == 0: the head is not all here yet. Stop; keep the bytes.
	 * - n > 0: a whole head of n bytes.
	 *   - app_refuses_body(cfg, &req): a body nobody reads (lab 2
	 *     reads none; its bytes would be parsed as the next request):
	 *     answer app_error(413) and close after it.
	 *   - otherwise app_handle(cfg, &req, &res) (on failure res is a 500,
	 *     still worth sending).
	 *   - then buf_consume(&c->in, n). Not before: req points into "in",
	 *     and consuming may move the bytes.
	 *   - the response goes into "out" with append_response(), keep =
	 *     req.keep_alive (false for the 413). Not kept: set close_after,
	 *     and drop the rest of "in" -- nothing after a "Connection:
	 *     close" is answered -- unless the answer is held (res.held,
	 *     below): from lab 3 on, the server reads that request's body
	 *     from "in" first, and the rest goes when the answer is
	 *     released (conn_on_deadline()).
	 *   - res.sleep_ms > 0 (/sleep): append it to "held" instead, set
	 *     wake_at_ms = now_ms + res.sleep_ms, held_close = !keep (not
	 *     close_after: conn_on_deadline() sets that from held_close when
	 *     the answer reaches "out"), state CONN_SLEEPING, and stop. The requests behind it wait in "in":
	 *     HTTP/1.1 answers in order, so none may overtake the sleeper.
	 *     res.held (from lab 4 on: the server answers later) is the same
	 *     sleep with wake_at_ms = CONN_NEVER: conn_release() ends it.
	 *   - app_response_free(&res); c->requests++.
	 * - n < 0: -n is an HTTP status (400, 414, 431, 501, 505). Answer
	 *   app_error(-n, &res), close_after, drop the rest of "in" (where
	 *   the bad request ends is unknown), c->requests++ (it counts
	 *   answers, errors too), and stop.
	 *
	 * When the loop ends, the state follows from the buffers (unless
	 * SLEEPING): "out" not empty: CONN_WRITING; else close_after:
	 * CONN_CLOSED; else CONN_READING.
	 *
	 * Note: close_after is also set by EOF (conn_on_readable), and the
	 * requests received before the EOF must still be answered: do not
	 * stop the loop just because close_after is set.
	 *
	 * Return 0, or -ENOMEM when a buf_append() failed.
	 */
	(void)c;
	(void)cfg;
	(void)now_ms;
	return -ENOSYS;
}

int conn_on_readable(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms)
{
	/* TODO(lab 2): read what the socket has, then conn_process().
	 *
	 * Loop while buf_pending(&c->in) < HTTP_MAX_HEAD:
	 *   buf_reserve(&c->in, CONN_READ_CHUNK), then
	 *   n = read(c->fd, buf_tail(&c->in), CONN_READ_CHUNK);
	 *   n > 0: buf_commit(&c->in, n) and read again.
	 *   n == 0: EOF. The client will send nothing more, but it may be
	 *     waiting for answers to what it did send (it "half-closed"):
	 *     set close_after and stop reading. Do not close here.
	 *   -1 with EAGAIN (or EWOULDBLOCK): nothing more for now. That is
	 *     how every read loop on a non-blocking socket ends: not an
	 *     error.
	 *   -1 with EINTR: read again. Any other errno: return -errno (the
	 *     loop closes the connection).
	 * Why the limit: HTTP_MAX_HEAD bytes without a complete head is a
	 * 431 (the parser says so), so reading more is pointless, and a
	 * client must not make us buffer without bound. Bytes left in the
	 * socket keep it readable: select() reports it again next time.
	 *
	 * Then return conn_process(c, cfg, now_ms).
	 */
	(void)c;
	(void)cfg;
	(void)now_ms;
	return -ENOSYS;
}

int conn_on_writable(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms)
{
	/* TODO(lab 2): send what "out" holds.
	 *
	 * Loop while "out" is not empty:
	 *   n = send(c->fd, buf_head(&c->out), buf_pending(&c->out),
	 *            MSG_NOSIGNAL);
	 *   n >= 0: buf_consume(&c->out, n). A short write is normal: the
	 *     socket took what fit; the rest stays in "out".
	 *   -1 with EAGAIN: the socket's buffer is full. Return 0 and wait
	 *     for select() to say writable again. Never loop waiting.
	 *   -1 with EINTR: try again. Other errors (EPIPE, ECONNRESET: the
	 *     client is gone): return -errno.
	 *
	 * Once "out" is empty, and only if the state is CONN_WRITING (a
	 * SLEEPING connection stays asleep until its deadline): set
	 * CONN_READING and return conn_process(), which answers pipelined
	 * requests already in "in" -- or sets CONN_CLOSED if close_after and
	 * there is nothing left to answer.
	 */
	(void)c;
	(void)cfg;
	(void)now_ms;
	return -ENOSYS;
}

int conn_on_deadline(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms)
{
	/* TODO(lab 2): the sleep is over (if the state is CONN_SLEEPING and
	 * now_ms >= wake_at_ms; otherwise return 0 and do nothing).
	 *
	 * Append the held response to "out" (after whatever "out" still
	 * holds: order!), free "held", close_after |= held_close (and then
	 * drop the rest of "in": nothing after a request not kept is
	 * answered), state CONN_WRITING, and return conn_process() for the
	 * requests that waited behind the sleeper.
	 */
	(void)c;
	(void)cfg;
	(void)now_ms;
	return -ENOSYS;
}

/* --- for the server from lab 3 on (given) --- */

int conn_release(struct conn *c, const struct app_response *res,
                 const struct app_config *cfg, int64_t now_ms)
{
	int rc;

	if (c->state != CONN_SLEEPING || c->wake_at_ms != CONN_NEVER)
		return -EINVAL;
	buf_free(&c->held); /* the placeholder */
	rc = append_response(&c->held, res, !c->held_close);
	if (rc < 0)
		return rc;
	c->wake_at_ms = now_ms;
	return conn_on_deadline(c, cfg, now_ms);
}

/* Drops the Transfer-Encoding line from the n bytes of a head: a body of
 * unknown length to a client that knows no chunks is delimited by the
 * close instead (RFC 9112, 6.3). Returns the head's new length. */
static long drop_chunked(char *head, long n)
{
	char *line, *end;

	head[n] = '\0';
	line = strcasestr(head, "\r\nTransfer-Encoding:");
	if (line == NULL || (end = strstr(line + 2, "\r\n")) == NULL)
		return n;
	memmove(line + 2, end + 2, (size_t)(head + n - (end + 2)) + 1);
	return n - (end - line);
}

int conn_stream_begin(struct conn *c, const struct app_response *res,
                      bool chunks)
{
	bool unknown = res->body_len == HTTP_CHUNKED;
	bool to_close = unknown && !chunks;
	char head[512];
	long n;

	if (c->state != CONN_SLEEPING || c->wake_at_ms != CONN_NEVER)
		return -EINVAL;
	n = http_format_head(head, sizeof(head) - 1, res->status,
	                     res->content_type, res->body_len, res->extra,
	                     !c->held_close && !to_close);
	if (n < 0)
		return (int)n;
	if (to_close) {
		n = drop_chunked(head, n);
		/* Nothing after this answer can be told from its body. */
		buf_consume(&c->in, buf_pending(&c->in));
	}
	buf_free(&c->held); /* the placeholder */
	c->close_after |= c->held_close || to_close;
	c->stream_chunked = unknown && !to_close;
	c->stream_to_close = to_close;
	c->stream_left = unknown ? UINT64_MAX : res->body_len;
	c->stream_discard = !res->send_body;
	c->state = CONN_STREAMING;
	/* After whatever "out" still holds: answers go out in order. */
	return buf_append(&c->out, head, (size_t)n);
}

/* One chunk of a chunked body: its size in hex, the bytes, CRLF. */
static int append_chunk(struct buf *out, const void *data, size_t len)
{
	char size[24];
	int n = snprintf(size, sizeof(size), "%zx\r\n", len);

	if (buf_append(out, size, (size_t)n) < 0 ||
	    buf_append(out, data, len) < 0 || buf_append(out, "\r\n", 2) < 0)
		return -ENOMEM;
	return 0;
}

int conn_stream_write(struct conn *c, const void *data, size_t len)
{
	if (c->state != CONN_STREAMING || len > c->stream_left)
		return -EINVAL;
	c->stream_left -= len;
	if (c->stream_discard || len == 0)
		return 0;
	if (c->stream_chunked)
		return append_chunk(&c->out, data, len);
	return buf_append(&c->out, data, len);
}

int conn_stream_end(struct conn *c, const struct app_config *cfg,
                    int64_t now_ms)
{
	if (c->state != CONN_STREAMING ||
	    (!c->stream_chunked && !c->stream_to_close && c->stream_left > 0))
		return -EINVAL;
	/* The last chunk: size zero, and no trailers. */
	if (c->stream_chunked && !c->stream_discard &&
	    buf_append(&c->out, "0\r\n\r\n", 5) < 0)
		return -ENOMEM;
	c->state = CONN_WRITING; /* conn_process() settles the rest */
	return conn_process(c, cfg, now_ms);
}

int conn_time_out(struct conn *c, int status)
{
	struct app_response res;
	int rc;

	app_error(status, &res);
	buf_consume(&c->in, buf_pending(&c->in));
	rc = append_response(&c->out, &res, false);
	app_response_free(&res);
	c->close_after = true;
	c->state = CONN_WRITING;
	c->requests++; /* an answer, as every error is (conn.h) */
	return rc;
}

int conn_continue(struct conn *c)
{
	static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";

	/* Into "out", after the answers before it: they go in order. */
	return buf_append(&c->out, line, sizeof(line) - 1);
}

void conn_trim(struct conn *c)
{
	if (buf_pending(&c->in) == 0)
		buf_free(&c->in);
	if (buf_pending(&c->out) == 0)
		buf_free(&c->out);
}

size_t conn_input(const struct conn *c, const char **p)
{
	*p = buf_head(&c->in);
	return buf_pending(&c->in);
}

void conn_consume(struct conn *c, size_t n)
{
	buf_consume(&c->in, n);
}

long conn_fill(struct conn *c)
{
	int rc = buf_reserve(&c->in, CONN_READ_CHUNK);
	ssize_t n;

	if (rc < 0)
		return rc;
	do
		n = read(c->fd, buf_tail(&c->in), CONN_READ_CHUNK);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	buf_commit(&c->in, (size_t)n);
	return n;
}

void conn_hold_close(struct conn *c)
{
	c->held_close = true;
	buf_consume(&c->in, buf_pending(&c->in));
}
