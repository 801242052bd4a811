/* fuzz_conn.c - lab 2's connection state machine, fed any bytes in any pieces.
 *
 * A real socket (a socketpair) connects a fake client to one struct conn. The
 * input says how the client's bytes are cut:
 *
 *   byte 0           bit 0: the client sends EOF (shuts down writing) at
 *                    the end; bit 1: the server's socket gets the smallest
 *                    send buffer (writes come out short); bit 2: the client
 *                    reads at most SLOW_READ bytes a turn (backpressure);
 *                    bits 3-6: k - 1, the number of piece sizes
 *   bytes 1..k       piece sizes, used in turn: 1..128 for a byte below 128,
 *                    (byte - 127) * 512 above (up to 64 KiB at once)
 *   the rest         what the client sends
 *
 * After each piece the harness plays the loop: conn_on_deadline() for a
 * sleeper (on a fake clock: /sleep costs no time), conn_on_writable() and
 * conn_on_readable() when the connection wants them, then the client reads
 * what came back. Once all is sent it goes on until the connection closes or
 * nothing moves any more. Checked, besides "no sanitizer error":
 *   - after every call, the interest agrees with the state (conn.h and the
 *     handout's table): wants_read exactly in READING before EOF, wants_write
 *     exactly while "out" holds bytes, never neither unless SLEEPING or
 *     CLOSED; WRITING has bytes to send, READING and CLOSED none;
 *   - "in" never holds more than HTTP_MAX_HEAD + CONN_READ_CHUNK bytes,
 *     nor ever did (its capacity);
 *   - every call returns 0 (the client never breaks the connection);
 *   - what the client received parses as a sequence of complete HTTP/1.1
 *     responses with statuses the app can give, and is exactly the answers,
 *     in order, to the requests the client's bytes hold (parsed whole, as if
 *     they had come in one piece), up to the first that ends the connection;
 *   - then the connection is CLOSED, as it is after the client's EOF;
 *     otherwise it waits in READING.
 */
#define FUZZ_NAME "fuzz_conn"
#include "fuzz.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "conn.h"
#include "http.h"

/* Turns of the loop in a row in which nothing moves while the client's
 * bytes wait, before the connection counts as stuck; and turns in all after
 * the last piece before it counts as spinning. A few suffice when all is
 * well; a slow client needs one per SLOW_READ bytes of answers. */
enum { STUCK_TURNS = 1000, SETTLE_TURNS = 100000, SLOW_READ = 512 };

/* A growable byte string of the harness's own, independent of buf.c. */
struct bytes {
	char *p;
	size_t n, cap;
};

static void bytes_add(struct bytes *b, const void *p, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2;
		b->p = realloc(b->p, b->cap);
		if (b->p == NULL)
			abort();
	}
	if (n > 0)
		memcpy(b->p + b->n, p, n);
	b->n += n;
}

/* How the input wants the client's bytes sent. */
struct plan {
	bool eof, small_sndbuf, slow_client;
	const uint8_t *sizes;
	size_t nsizes;
	const uint8_t *data;
	size_t len;
};

static struct plan read_plan(const uint8_t *in, size_t size)
{
	struct plan p = {.data = in};
	size_t k;

	if (size == 0)
		return p;
	p.eof = in[0] & 1;
	p.small_sndbuf = in[0] & 2;
	p.slow_client = in[0] & 4;
	k = (size_t)((in[0] >> 3) & 15) + 1;
	if (k > size - 1)
		k = size - 1;
	p.sizes = in + 1;
	p.nsizes = k;
	p.data = in + 1 + k;
	p.len = size - 1 - k;
	return p;
}

static size_t piece_size(const struct plan *p, size_t i)
{
	uint8_t b;

	if (p->nsizes == 0)
		return p->len;
	b = p->sizes[i % p->nsizes];
	return b < 128 ? (size_t)b + 1 : (size_t)(b - 127) * 512;
}

/* The conversation: the connection, the client's end, what came back. */
struct run {
	struct conn c;
	int client;
	struct app_config cfg;
	int64_t now_ms;
	struct bytes got;
	bool got_eof;
	size_t read_max; /* bytes the client reads a turn */
};

static const char *state_name(enum conn_state s)
{
	static const char *const names[] = {"READING", "SLEEPING", "WRITING",
	                                    "CLOSED", "STREAMING"};

	return (unsigned)s < 5 ? names[s] : "(no state)";
}

/* The interest table of the handout (3.3, 4.2), and the buffers' bounds. */
static void check_conn(const struct run *r, const char *after)
{
	const struct conn *c = &r->c;
	bool rd = conn_wants_read(c), wr = conn_wants_write(c);
	size_t in = buf_pending(&c->in), out = buf_pending(&c->out);

	if (c->state > CONN_CLOSED)
		fuzz_fail("after %s: state %s in lab 2", after,
		          state_name(c->state));
	if (rd != (c->state == CONN_READING && !c->close_after))
		fuzz_fail("after %s: wants_read %d in %s, close_after %d",
		          after, rd, state_name(c->state), c->close_after);
	if (wr != (out > 0))
		fuzz_fail("after %s: wants_write %d with %zu bytes in out",
		          after, wr, out);
	if (!rd && !wr && c->state != CONN_SLEEPING && c->state != CONN_CLOSED)
		fuzz_fail("after %s: nobody watches a connection in %s", after,
		          state_name(c->state));
	if (c->state == CONN_WRITING && out == 0)
		fuzz_fail("after %s: WRITING with nothing to write", after);
	if ((c->state == CONN_READING || c->state == CONN_CLOSED) && out > 0)
		fuzz_fail("after %s: %s with %zu bytes still to send", after,
		          state_name(c->state), out);
	if (c->state == CONN_SLEEPING &&
	    (buf_pending(&c->held) == 0 || c->wake_at_ms == CONN_NEVER))
		fuzz_fail("after %s: SLEEPING on nothing, or for ever", after);
	/* Between calls "in" holds only the start of a head; its peak, within
	 * conn_on_readable(), shows in its capacity, which nothing here ever
	 * gives back. buf.c doubles from 256 bytes: the most the reference
	 * reads, 16383 + 16384 bytes, fits exactly. */
	if (in > HTTP_MAX_HEAD + CONN_READ_CHUNK ||
	    c->in.cap > HTTP_MAX_HEAD + CONN_READ_CHUNK)
		fuzz_fail("after %s: \"in\" holds %zu bytes in %zu, over "
		          "HTTP_MAX_HEAD + CONN_READ_CHUNK",
		          after, in, c->in.cap);
}

static void check_rc(const struct run *r, int rc, const char *call)
{
	if (rc != 0)
		fuzz_fail("%s returned %d (%s) in %s", call, rc, strerror(-rc),
		          state_name(r->c.state));
	check_conn(r, call);
}

/* The client reads what has come back (up to read_max bytes), without
 * waiting. */
static void drain(struct run *r)
{
	char tmp[65536];
	size_t left = r->read_max;

	while (!r->got_eof && left > 0) {
		size_t want = left < sizeof(tmp) ? left : sizeof(tmp);
		ssize_t n = recv(r->client, tmp, want, MSG_DONTWAIT);

		if (n > 0) {
			bytes_add(&r->got, tmp, (size_t)n);
			left -= (size_t)n;
			continue;
		}
		/* A server that closes with bytes unread resets the
		 * connection: for the client that is the end, too. */
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			r->got_eof = true;
		else if (errno != EAGAIN && errno != EINTR)
			fuzz_fail("the client's recv(): %s", strerror(errno));
		if (n < 0 && errno != EINTR)
			return;
	}
}

/* One turn of the loop for this connection. */
static void step(struct run *r)
{
	struct conn *c = &r->c;

	if (c->state == CONN_SLEEPING) {
		/* Too early does nothing; at the deadline it wakes. */
		check_rc(r, conn_on_deadline(c, &r->cfg, c->wake_at_ms - 1),
		         "conn_on_deadline (early)");
		if (c->state != CONN_SLEEPING)
			fuzz_fail("woke before its deadline");
		if (c->wake_at_ms > r->now_ms)
			r->now_ms = c->wake_at_ms;
		check_rc(r, conn_on_deadline(c, &r->cfg, r->now_ms),
		         "conn_on_deadline");
	}
	if (conn_wants_write(c))
		check_rc(r, conn_on_writable(c, &r->cfg, r->now_ms),
		         "conn_on_writable");
	if (conn_wants_read(c))
		check_rc(r, conn_on_readable(c, &r->cfg, r->now_ms),
		         "conn_on_readable");
	drain(r);
}

/* What would change if the connection did anything. */
struct snapshot {
	enum conn_state state;
	size_t in, out, held, got;
};

static struct snapshot snap(const struct run *r)
{
	return (struct snapshot){r->c.state, buf_pending(&r->c.in),
	                         buf_pending(&r->c.out),
	                         buf_pending(&r->c.held), r->got.n};
}

static bool moved(struct snapshot a, struct snapshot b)
{
	return a.state != b.state || a.in != b.in || a.out != b.out ||
	       a.held != b.held || a.got != b.got;
}

/* Sends p[0..n), stepping the connection whenever the socket is full:
 * a connection that then neither reads nor writes is stuck. */
static void send_piece(struct run *r, const uint8_t *p, size_t n)
{
	int idle = 0;

	while (n > 0 && r->c.state != CONN_CLOSED) {
		struct snapshot before = snap(r);
		ssize_t k = send(r->client, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (k < 0 && errno != EAGAIN && errno != EINTR)
			fuzz_fail("the client's send(): %s", strerror(errno));
		if (k >= 0) {
			p += k;
			n -= (size_t)k;
			continue;
		}
		step(r);
		idle = moved(before, snap(r)) ? 0 : idle + 1;
		if (idle == STUCK_TURNS)
			fuzz_fail("the client's bytes wait, and the connection "
			          "in %s takes none",
			          state_name(r->c.state));
	}
	step(r);
}

/* Runs the loop until the connection closes or nothing moves. */
static void settle(struct run *r)
{
	for (int i = 0; i < SETTLE_TURNS; i++) {
		struct snapshot before = snap(r);

		if (r->c.state == CONN_CLOSED)
			return;
		step(r);
		if (!moved(before, snap(r)))
			return;
	}
	fuzz_fail("still busy after %d turns of the loop, in %s", SETTLE_TURNS,
	          state_name(r->c.state));
}

/* The answers the client must get, worked out from its bytes parsed whole. */
struct expect {
	struct bytes bytes;    /* the answers to its complete requests */
	size_t count;          /* how many */
	struct bytes bodyless; /* byte i: answer i has no body (a HEAD's) */
	bool closes;           /* the last of them ends the connection */
	bool error;            /* and one error answer follows */
	size_t error_at;       /* where its request starts */
};

/* app_response as conn.c's append_response() puts it on the wire. */
static void add_answer(struct expect *e, const struct app_response *res,
                       bool keep)
{
	char head[512];
	long n =
	    http_format_head(head, sizeof(head), res->status, res->content_type,
	                     res->body_len, res->extra, keep);

	if (n < 0)
		fuzz_fail("http_format_head: %ld", n);
	bytes_add(&e->bytes, head, (size_t)n);
	if (res->send_body)
		bytes_add(&e->bytes, res->body, res->body_len);
	bytes_add(&e->bodyless, res->send_body ? "\0" : "\1", 1);
	e->count++;
}

/* The handout's rules (2.1, 4.3): a body gets 413 and closes; otherwise
 * app_handle() answers and the request says whether to keep the connection;
 * a head that can never be valid gets its error and closes. */
static void expect_answers(struct expect *e, const struct run *r,
                           const uint8_t *data, size_t len)
{
	size_t pos = 0;

	while (!e->closes) {
		struct http_request req;
		struct app_response res;
		long n = http_parse_request((const char *)data + pos, len - pos,
		                            &req);
		bool keep = req.keep_alive;

		if (n == 0)
			return;
		if (n < 0) {
			e->closes = e->error = true;
			e->error_at = pos;
			return;
		}
		if (req.content_length > 0) {
			app_error(413, &res);
			keep = false;
		} else {
			app_handle(&r->cfg, &req, &res);
		}
		add_answer(e, &res, keep);
		app_response_free(&res);
		e->closes = !keep;
		pos += (size_t)n;
	}
}

/* The statuses app.c can answer with here (no root: no file is ever 200). */
static bool app_status(int s)
{
	static const int ok[] = {200, 400, 403, 404, 405,
	                         413, 414, 431, 501, 505};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		if (ok[i] == s)
			return true;
	}
	return false;
}

/* The length of the complete HTTP/1.1 response at p[0..n), 0 if there is
 * none; *status gets its status. bodyless: the head's Content-Length is
 * promised, not sent (a HEAD's answer). */
static size_t frame(const char *p, size_t n, bool bodyless, int *status)
{
	static const char cl[] = "\r\nContent-Length: ";
	const char *end = memmem(p, n, "\r\n\r\n", 4);
	const char *len;
	size_t head, body = 0;

	if (n < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0 || end == NULL)
		return 0;
	*status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	head = (size_t)(end - p) + 4;
	len = memmem(p, head, cl, sizeof(cl) - 1);
	if (len == NULL)
		return 0;
	for (len += sizeof(cl) - 1; *len >= '0' && *len <= '9'; len++)
		body = body * 10 + (size_t)(*len - '0');
	if (bodyless)
		body = 0;
	return n - head < body ? 0 : head + body;
}

/* The client's bytes must be complete responses with the app's statuses. */
static void check_framing(const struct run *r, const struct expect *e)
{
	size_t off = 0;

	for (size_t i = 0; off < r->got.n; i++) {
		int status = 0;
		bool bodyless = i < e->count && e->bodyless.p[i];
		size_t n =
		    frame(r->got.p + off, r->got.n - off, bodyless, &status);

		if (n == 0) {
			fuzz_show("received from there", r->got.p + off,
			          r->got.n - off);
			fuzz_fail("response %zu (at byte %zu) is not a "
			          "complete HTTP/1.1 response",
			          i + 1, off);
		}
		if (!app_status(status))
			fuzz_fail("response %zu has status %d", i + 1, status);
		off += n;
	}
}

/* The error answer that ends it all: one of the parser's statuses. */
static bool is_error_answer(const char *p, size_t n)
{
	static const int statuses[] = {400, 414, 431, 501, 505};
	struct expect one = {0};
	bool same = false;

	for (size_t i = 0; !same && i < 5; i++) {
		struct app_response res;

		one.bytes.n = 0;
		app_error(statuses[i], &res);
		add_answer(&one, &res, false);
		app_response_free(&res);
		same = one.bytes.n == n && memcmp(one.bytes.p, p, n) == 0;
	}
	free(one.bytes.p);
	free(one.bodyless.p);
	return same;
}

static void check_answers(const struct run *r, const struct plan *p)
{
	struct expect e = {0};
	const struct bytes *got = &r->got;
	size_t common = 0;

	expect_answers(&e, r, p->data, p->len);
	check_framing(r, &e);
	while (common < got->n && common < e.bytes.n &&
	       got->p[common] == e.bytes.p[common])
		common++;
	if (common < e.bytes.n) {
		fuzz_show("expected from there", e.bytes.p + common,
		          e.bytes.n - common);
		fuzz_show("received from there", got->p + common,
		          got->n - common);
		fuzz_fail("the answers differ at byte %zu of the %zu "
		          "expected (%zu answers)",
		          common, e.bytes.n, e.count);
	}
	if (e.error && !is_error_answer(got->p + common, got->n - common)) {
		fuzz_show("the bad request", p->data + e.error_at,
		          p->len - e.error_at);
		fuzz_show("received after the good answers", got->p + common,
		          got->n - common);
		fuzz_fail("expected one error answer (400, 414, 431, 501 or "
		          "505) then the end");
	}
	if (!e.error && got->n > e.bytes.n) {
		fuzz_show("extra", got->p + e.bytes.n, got->n - e.bytes.n);
		fuzz_fail("more bytes than the answers to the requests");
	}
	if ((e.closes || p->eof) && r->c.state != CONN_CLOSED)
		fuzz_fail("the connection should have closed; it is %s",
		          state_name(r->c.state));
	if (!e.closes && !p->eof && r->c.state != CONN_READING)
		fuzz_fail("the connection should wait in READING; it is %s",
		          state_name(r->c.state));
	free(e.bytes.p);
	free(e.bodyless.p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct plan p = read_plan(data, size);
	struct run r = {.cfg = {.root = NULL}, .now_ms = 1000};
	size_t off = 0;
	int sv[2], one = 1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	               sv) < 0)
		fuzz_fail("socketpair: %s", strerror(errno));
	/* 1 byte becomes the kernel's minimum, a few KiB. */
	if (p.small_sndbuf &&
	    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &one, sizeof(one)) < 0)
		fuzz_fail("SO_SNDBUF: %s", strerror(errno));
	r.read_max = p.slow_client ? SLOW_READ : SIZE_MAX;
	conn_init(&r.c, sv[0]);
	r.client = sv[1];
	check_conn(&r, "conn_init");

	for (size_t i = 0; off < p.len && r.c.state != CONN_CLOSED; i++) {
		size_t n = piece_size(&p, i);

		if (n > p.len - off)
			n = p.len - off;
		send_piece(&r, p.data + off, n);
		off += n;
	}
	if (p.eof)
		shutdown(r.client, SHUT_WR);
	settle(&r);
	/* What is still in the socket is the client's to read. */
	r.read_max = SIZE_MAX;
	drain(&r);
	check_answers(&r, &p);

	/* The loop frees a closed connection: the client then sees the end. */
	conn_free(&r.c);
	drain(&r);
	if (!r.got_eof)
		fuzz_fail("no EOF for the client after conn_free()");
	close(r.client);
	free(r.got.p);
	return 0;
}
