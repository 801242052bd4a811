/* conn.c - one client connection as a state machine (lab 2).
 *
 * Nothing here blocks and nothing here waits: each function does what the
 * socket allows right now, records where it got to in struct conn, and
 * returns to the loop. Read conn.h first: it has the state diagram.
 *
 * Two rules keep the loop from spinning:
 * - want to write only while "out" holds bytes. A socket is writable almost
 *   all the time, so asking for writability with nothing to write makes
 *   select() return at once, forever;
 * - stop wanting to read after EOF. A socket at end of file is readable
 *   forever too: every read() returns 0 at once.
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
	/* Not while writing: a client that pipelines faster than it reads
	 * its answers waits in the kernel's buffers, not in ours. */
	return c->state == CONN_READING && !c->close_after;
}

bool conn_wants_write(const struct conn *c)
{
	/* Only with something to write: see the top of this file. */
	return buf_pending(&c->out) > 0;
}

/* Nothing after a request that ends the connection is ever answered
 * (RFC 9112, 9.6), so the bytes behind it need not be kept. */
static void drop_input(struct conn *c)
{
	buf_consume(&c->in, buf_pending(&c->in));
}

/* Appends res to b: its head, and its body unless it answers a HEAD.
 * keep says whether the connection stays open after it. */
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

/* Queues res in "out" or, for a /sleep (or a response the server answers
 * later), holds it in "held" until its deadline (or conn_release()). keep
 * says whether the connection stays open after it. */
static int respond(struct conn *c, const struct app_response *res, bool keep,
                   int64_t now_ms)
{
	int rc;

	if (res->sleep_ms > 0 || res->held) {
		rc = append_response(&c->held, res, keep);
		if (rc < 0)
			return rc;
		c->state = CONN_SLEEPING;
		c->wake_at_ms = res->held ? CONN_NEVER : now_ms + res->sleep_ms;
		c->held_close = !keep;
	} else {
		rc = append_response(&c->out, res, keep);
		if (rc < 0)
			return rc;
		c->close_after |= !keep;
	}
	c->requests++;
	return 0;
}

/* Answers the complete request whose head is the first head_len bytes of
 * "in". req points into "in": consume only once the app has used it. */
static int answer(struct conn *c, const struct app_config *cfg,
                  const struct http_request *req, size_t head_len,
                  int64_t now_ms)
{
	struct app_response res;
	bool keep = req->keep_alive;
	int rc;

	/* A body nobody reads (lab 2 reads none) would be parsed as the
	 * next request. Refuse it and close instead. */
	if (app_refuses_body(cfg, req)) {
		app_error(413, &res);
		keep = false;
	} else {
		app_handle(cfg, req, &res); /* on failure res is a 500 */
	}
	buf_consume(&c->in, head_len);
	/* Nothing after a request not kept is answered. But a held answer's
	 * request may have a body the server reads from "in" first (from lab
	 * 3 on): its rest goes when the answer is released. */
	if (!keep && !res.held)
		drop_input(c);
	/* The head says what the request asked for, even after EOF from
	 * the client: "Connection: close" would promise that no answer
	 * follows, and the answers to its other requests still do. */
	rc = respond(c, &res, keep, now_ms);
	app_response_free(&res);
	return rc;
}

/* A head that can never be valid: its error, then close. Where the bad
 * request ends is unknown, so nothing after it can be trusted either. */
static int refuse(struct conn *c, int status, int64_t now_ms)
{
	struct app_response res;
	int rc;

	app_error(status, &res);
	drop_input(c);
	rc = respond(c, &res, false, now_ms);
	app_response_free(&res);
	return rc;
}

/* Whether conn_process() may answer another request now. */
static bool may_answer(const struct conn *c)
{
	return (c->state == CONN_READING || c->state == CONN_WRITING) &&
	       buf_pending(&c->out) < CONN_OUT_HIGH && buf_pending(&c->in) > 0;
}

/* The state that follows from the buffers, once processing stops. */
static void settle(struct conn *c)
{
	if (c->state == CONN_SLEEPING || c->state == CONN_CLOSED)
		return;
	if (buf_pending(&c->out) > 0)
		c->state = CONN_WRITING;
	else if (c->close_after)
		c->state = CONN_CLOSED;
	else
		c->state = CONN_READING;
}

int conn_process(struct conn *c, const struct app_config *cfg, int64_t now_ms)
{
	int rc = 0;

	while (rc == 0 && may_answer(c)) {
		struct http_request req;
		long n = http_parse_request(buf_head(&c->in),
		                            buf_pending(&c->in), &req);

		if (n == 0)
			break; /* the rest of the head is still on its way */
		if (n > 0)
			rc = answer(c, cfg, &req, (size_t)n, now_ms);
		else
			rc = refuse(c, (int)-n, now_ms);
	}
	settle(c);
	return rc;
}

/* Reads until EAGAIN, EOF, or until "in" holds HTTP_MAX_HEAD bytes: that
 * many without a complete head is a 431 (the parser says so), so "in" never
 * grows past HTTP_MAX_HEAD + CONN_READ_CHUNK. Whatever is left in the
 * socket keeps it readable, and the loop calls again. */
static int fill_in(struct conn *c)
{
	while (buf_pending(&c->in) < HTTP_MAX_HEAD) {
		int rc = buf_reserve(&c->in, CONN_READ_CHUNK);
		ssize_t n;

		if (rc < 0)
			return rc;
		n = read(c->fd, buf_tail(&c->in), CONN_READ_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0; /* all there is for now: not an error */
		if (n < 0)
			return -errno;
		if (n == 0) {
			/* EOF: nothing more will come, but a client that
			 * half-closed after its requests still gets the
			 * answers. close_after also ends read interest. */
			c->close_after = true;
			return 0;
		}
		buf_commit(&c->in, (size_t)n);
		/* Less than asked: the socket is empty for now. Asking
		 * again would only hear EAGAIN, one system call per
		 * request for nothing; if more comes, the loop says so. */
		if (n < CONN_READ_CHUNK)
			return 0;
	}
	return 0;
}

int conn_on_readable(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms)
{
	int rc;

	if (!conn_wants_read(c))
		return 0;
	rc = fill_in(c);
	if (rc < 0)
		return rc;
	return conn_process(c, cfg, now_ms);
}

/* Sends from "out" until it is empty or the socket's buffer is full. */
static int flush_out(struct conn *c)
{
	while (buf_pending(&c->out) > 0) {
		/* MSG_NOSIGNAL: a client gone is EPIPE, not SIGPIPE. */
		ssize_t n = send(c->fd, buf_head(&c->out), buf_pending(&c->out),
		                 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0; /* full: the rest waits for writability */
		if (n < 0)
			return -errno;
		buf_consume(&c->out, (size_t)n);
	}
	/* An idle keep-alive connection should not sit on the memory of its
	 * last big response. */
	buf_free(&c->out);
	return 0;
}

int conn_on_writable(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms)
{
	int rc = flush_out(c);

	if (rc < 0)
		return rc;
	/* A sleeping connection may have earlier answers to send; it stays
	 * asleep until its deadline. */
	if (buf_pending(&c->out) > 0 || c->state != CONN_WRITING)
		return 0;
	/* Drained: pipelined requests already in "in" come next. */
	c->state = CONN_READING;
	return conn_process(c, cfg, now_ms);
}

int conn_on_deadline(struct conn *c, const struct app_config *cfg,
                     int64_t now_ms)
{
	int rc;

	if (c->state != CONN_SLEEPING || now_ms < c->wake_at_ms)
		return 0;
	rc = buf_append(&c->out, buf_head(&c->held), buf_pending(&c->held));
	if (rc < 0)
		return rc;
	buf_free(&c->held);
	c->close_after |= c->held_close;
	if (c->held_close)
		drop_input(c); /* what followed a request not kept */
	c->state = CONN_WRITING;
	/* The requests that waited behind the sleeper, in order. */
	return conn_process(c, cfg, now_ms);
}

/* --- for the server from lab 3 on --- */

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
	drop_input(c);
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
