/* test_conn.c - public tests of the connection state machine (lab 2), and
 * of the one part of server.c that needs no network: server_signals().
 *
 * Most tests need no network at all: they put a client's bytes into c.in
 * with buf_append() and call conn_process(), then look at c.out. Those that
 * need a socket use a non-blocking socketpair(): the test holds the other
 * end and plays both the client and the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "server.h"
#include "testing.h"

static const struct app_config no_root = {.root = NULL};

static const char hello[] = "Hello from the waiter!\n";

/* --- helpers --- */

struct response {
	int status;
	bool keep_alive; /* "Connection: keep-alive" */
	const char *body;
	size_t body_len;
	size_t len; /* head and body */
};

/* Parses the whole response at the start of p[0..n). */
static bool parse_response(const char *p, size_t n, struct response *r)
{
	const char *end = memmem(p, n, "\r\n\r\n", 4);
	const char *cl;
	size_t head;

	if (end == NULL || n < 13 || memcmp(p, "HTTP/1.1 ", 9) != 0)
		return false;
	head = (size_t)(end + 4 - p);
	cl = memmem(p, head, "\r\nContent-Length: ", 18);
	if (cl == NULL)
		return false;
	r->status = (int)strtol(p + 9, NULL, 10);
	r->body_len = strtoul(cl + 18, NULL, 10);
	r->keep_alive =
	    memmem(p, head, "\r\nConnection: keep-alive\r\n", 26) != NULL;
	if (n - head < r->body_len)
		return false;
	r->body = p + head;
	r->len = head + r->body_len;
	return true;
}

/* Splits p[0..n) into at most max whole responses. Returns how many; the
 * bytes must be exactly those responses. */
static size_t split(const char *p, size_t n, struct response *rs, size_t max)
{
	size_t count = 0;

	while (n > 0 && count < max && parse_response(p, n, &rs[count])) {
		p += rs[count].len;
		n -= rs[count].len;
		count++;
	}
	ck_assert_msg(n == 0,
	              "%zu bytes left after %zu whole responses: "
	              "\"%.*s\"",
	              n, count, (int)(n > 100 ? 100 : n), p);
	return count;
}

#define ck_assert_body(r, want)                                                \
	ck_assert_msg((r).body_len == strlen(want) &&                          \
	                  memcmp((r).body, (want), (r).body_len) == 0,         \
	              "expected body \"%s\", got \"%.*s\"", (want),            \
	              (int)((r).body_len > 100 ? 100 : (r).body_len),          \
	              (r).body)

static void feed(struct conn *c, const char *s)
{
	ck_assert_int_eq(buf_append(&c->in, s, strlen(s)), 0);
}

/* sv[0] is the connection's end, sv[1] the test's; both non-blocking. */
static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX,
	                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                            0, sv),
	                 0);
}

static void send_str(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), MSG_NOSIGNAL),
	                 (ssize_t)strlen(s));
}

/* Appends to got whatever the peer can read now. */
static void slurp(int fd, struct buf *got)
{
	for (;;) {
		ck_assert_int_eq(buf_reserve(got, 65536), 0);
		ssize_t n = recv(fd, buf_tail(got), 65536, MSG_DONTWAIT);
		if (n <= 0)
			return;
		buf_commit(got, (size_t)n);
	}
}

/* Plays the event loop until c is CLOSED or goes quiet (READING with
 * nothing to read), collecting what the peer receives. Deadlines come at
 * once: the clock jumps to them. Returns 0 or the error a handler gave. */
static int drive(struct conn *c, const struct app_config *cfg, int peer,
                 struct buf *got)
{
	int64_t now = 1000;

	for (int round = 0; round < 10000 && c->state != CONN_CLOSED; round++) {
		int rc = 0;

		slurp(peer, got);
		if (conn_wants_read(c))
			rc = conn_on_readable(c, cfg, now);
		if (rc == 0 && conn_wants_write(c))
			rc = conn_on_writable(c, cfg, now);
		if (rc == 0 && c->state == CONN_SLEEPING) {
			now = c->wake_at_ms;
			rc = conn_on_deadline(c, cfg, now);
		}
		if (rc < 0)
			return rc;
		if (c->state == CONN_READING && buf_pending(&c->out) == 0 &&
		    round > 2)
			break;
	}
	slurp(peer, got);
	return 0;
}

static char *make_root(void)
{
	char tmpl[] = "/tmp/lab2-test-XXXXXX";

	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	return strdup(tmpl);
}

static void put_file(const char *root, const char *name, const void *data,
                     size_t len)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Removes root and its one file. Tests call it as soon as the file has
 * been read, before asserting anything: a failed assertion ends the test
 * at once, and would leave the directory behind. */
static void remove_root(const char *root, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	unlink(path);
	rmdir(root);
}

/* --- tests --- */

START_TEST(test_conn_single_request)
{
	struct conn c;
	struct response r[2];

	conn_init(&c, -1);
	ck_assert_int_eq(c.state, CONN_READING);
	feed(&c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n");

	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);

	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert_uint_eq(buf_pending(&c.in), 0);
	ck_assert_uint_eq(c.requests, 1);
	ck_assert(!c.close_after);
	ck_assert_uint_eq(split(buf_head(&c.out), buf_pending(&c.out), r, 2),
	                  1);
	ck_assert_int_eq(r[0].status, 200);
	ck_assert_msg(r[0].keep_alive,
	              "an HTTP/1.1 response stays open: expected "
	              "\"Connection: keep-alive\" in \"%.*s\"",
	              (int)buf_pending(&c.out), buf_head(&c.out));
	ck_assert_body(r[0], hello);

	/* Nothing more in "in": processing again adds nothing. */
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert_uint_eq(buf_pending(&c.out), r[0].len);
	conn_free(&c);
}
END_TEST

START_TEST(test_conn_partial_request)
{
	static const char *const parts[] = {
	    "G", "ET /nowhere HT", "TP/1.1\r\nHo", "st: test\r", "\n\r", "\n",
	};
	size_t nparts = sizeof(parts) / sizeof(parts[0]);
	size_t fed = 0;
	struct conn c;
	struct response r[2];

	conn_init(&c, -1);
	for (size_t i = 0; i < nparts; i++) {
		feed(&c, parts[i]);
		fed += strlen(parts[i]);
		ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
		if (i + 1 == nparts)
			break;
		ck_assert_msg(buf_pending(&c.out) == 0,
		              "answered after %zu bytes of an unfinished head",
		              fed);
		ck_assert_int_eq(c.state, CONN_READING);
		ck_assert_uint_eq(buf_pending(&c.in), fed);
	}
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert_uint_eq(buf_pending(&c.in), 0);
	ck_assert_uint_eq(split(buf_head(&c.out), buf_pending(&c.out), r, 2),
	                  1);
	ck_assert_int_eq(r[0].status, 404);
	conn_free(&c);
}
END_TEST

START_TEST(test_conn_pipelined_order)
{
	struct conn c;
	struct response r[4];

	conn_init(&c, -1);
	feed(&c, "GET /sleep?ms=50 HTTP/1.1\r\nHost: test\r\n\r\n"
	         "GET /a-missing-page HTTP/1.1\r\nHost: test\r\n\r\n"
	         "GET / HTTP/1.1\r\nHost: test\r\n\r\n");

	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);

	/* The first answer is held; the ones behind it must wait. */
	ck_assert_int_eq(c.state, CONN_SLEEPING);
	ck_assert_int_eq(c.wake_at_ms, 1050);
	ck_assert_msg(buf_pending(&c.out) == 0,
	              "while /sleep is held, nothing may be sent: got \"%.*s\"",
	              (int)buf_pending(&c.out), buf_head(&c.out));

	ck_assert_int_eq(conn_on_deadline(&c, &no_root, 1050), 0);

	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert_uint_eq(c.requests, 3);
	ck_assert_uint_eq(split(buf_head(&c.out), buf_pending(&c.out), r, 4),
	                  3);
	ck_assert_int_eq(r[0].status, 200);
	ck_assert_body(r[0], "slept 50 ms\n");
	ck_assert_int_eq(r[1].status, 404);
	ck_assert_int_eq(r[2].status, 200);
	ck_assert_body(r[2], hello);
	conn_free(&c);
}
END_TEST

START_TEST(test_conn_close_after)
{
	struct buf got = BUF_INIT;
	struct response r[3];
	struct conn c;
	int sv[2];

	/* The client asks to close: one answer, sent whole, then CLOSED. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
	ck_assert(c.close_after);
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert(!conn_wants_read(&c));
	ck_assert_int_eq(conn_on_writable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_CLOSED);
	ck_assert(!conn_wants_read(&c) && !conn_wants_write(&c));
	slurp(sv[1], &got);
	ck_assert_uint_eq(split(buf_head(&got), buf_pending(&got), r, 3), 1);
	ck_assert_int_eq(r[0].status, 200);
	ck_assert(!r[0].keep_alive);
	conn_free(&c);
	close(sv[1]);
	buf_free(&got);

	/* A request that came behind one that closes, even in the same
	 * read(), is never answered: the client must not count on it. */
	conn_init(&c, -1);
	feed(&c, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"
	         "GET /nope HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert(c.close_after);
	ck_assert_msg(split(buf_head(&c.out), buf_pending(&c.out), r, 3) == 1,
	              "a request pipelined after \"Connection: close\" was "
	              "answered: drop the rest of \"in\" after a response "
	              "that closes");
	ck_assert_int_eq(r[0].status, 200);
	ck_assert(!r[0].keep_alive);
	ck_assert_uint_eq(c.requests, 1);
	conn_free(&c);

	/* HTTP/1.0 closes unless asked not to. */
	conn_init(&c, -1);
	feed(&c, "GET / HTTP/1.0\r\n\r\n");
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert(c.close_after);
	conn_free(&c);

	/* A malformed request gets 400; what follows it is never answered. */
	conn_init(&c, -1);
	feed(&c, "garbage\r\n\r\nGET / HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert(c.close_after);
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert_uint_eq(split(buf_head(&c.out), buf_pending(&c.out), r, 3),
	                  1);
	ck_assert_int_eq(r[0].status, 400);
	ck_assert(!r[0].keep_alive);
	ck_assert_msg(c.requests == 1,
	              "after a 400, c->requests is %llu: every answer counts, "
	              "an error too (conn.h)",
	              (unsigned long long)c.requests);
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert_uint_eq(split(buf_head(&c.out), buf_pending(&c.out), r, 3),
	                  1);
	conn_free(&c);
}
END_TEST

START_TEST(test_conn_partial_write)
{
	enum { SIZE = 1 << 20 };
	char *root = make_root();
	char *data = malloc(SIZE);
	struct buf got = BUF_INIT;
	struct response r[2];
	struct conn c;
	int small = 4096, sv[2], rounds = 0, rc;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (char)(i * 31 + (i >> 10));
	put_file(root, "big.bin", data, SIZE);
	struct app_config cfg = {.root = root};

	make_pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET /files/big.bin HTTP/1.1\r\n\r\n");
	rc = conn_on_readable(&c, &cfg, 1000); /* reads the whole file */
	remove_root(root, "big.bin");
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(c.state, CONN_WRITING);

	/* The socket takes a few KiB, then says EAGAIN: not an error. */
	ck_assert_int_eq(conn_on_writable(&c, &cfg, 1000), 0);
	ck_assert_msg(buf_pending(&c.out) > 0,
	              "a 1 MiB response fit a 4 KiB socket buffer?");
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert(conn_wants_write(&c));

	/* The client reads; each time, the connection sends some more. */
	while (buf_pending(&c.out) > 0 && rounds++ < 100000) {
		slurp(sv[1], &got);
		ck_assert_int_eq(conn_on_writable(&c, &cfg, 1000), 0);
	}
	slurp(sv[1], &got);
	ck_assert_uint_eq(buf_pending(&c.out), 0);
	ck_assert_int_eq(c.state, CONN_READING);
	ck_assert(!conn_wants_write(&c));
	ck_assert_uint_eq(split(buf_head(&got), buf_pending(&got), r, 2), 1);
	ck_assert_int_eq(r[0].status, 200);
	ck_assert_uint_eq(r[0].body_len, SIZE);
	ck_assert_msg(memcmp(r[0].body, data, SIZE) == 0,
	              "the body arrived with wrong bytes");

	conn_free(&c);
	close(sv[1]);
	buf_free(&got);
	free(data);
	free(root);
}
END_TEST

START_TEST(test_conn_interest)
{
	struct buf got = BUF_INIT;
	struct conn c;
	int sv[2];

	make_pair(sv);
	conn_init(&c, sv[0]);
	ck_assert(conn_wants_read(&c));
	ck_assert(!conn_wants_write(&c));

	/* Half a request: still reading, nothing to write. */
	send_str(sv[1], "GET / HTTP/1.1\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_READING);
	ck_assert(conn_wants_read(&c));
	ck_assert_msg(!conn_wants_write(&c),
	              "write interest with nothing to write: select() "
	              "returns at once, for ever (a busy loop)");

	/* The rest: an answer to send, and no reading meanwhile. */
	send_str(sv[1], "\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert(!conn_wants_read(&c));
	ck_assert(conn_wants_write(&c));

	/* Sent: reading again, and no write interest. */
	ck_assert_int_eq(conn_on_writable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_READING);
	ck_assert(conn_wants_read(&c));
	ck_assert(!conn_wants_write(&c));
	slurp(sv[1], &got);

	/* An answer, then a sleeper: the answer goes out meanwhile. */
	send_str(sv[1], "GET / HTTP/1.1\r\n\r\n"
	                "GET /sleep?ms=100 HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 2000), 0);
	ck_assert_int_eq(c.state, CONN_SLEEPING);
	ck_assert(!conn_wants_read(&c));
	ck_assert(conn_wants_write(&c));
	ck_assert_int_eq(conn_on_writable(&c, &no_root, 2000), 0);
	ck_assert_int_eq(c.state, CONN_SLEEPING);
	ck_assert(!conn_wants_read(&c));
	ck_assert_msg(!conn_wants_write(&c),
	              "a sleeper with nothing to send wants nothing: the "
	              "select() timeout wakes it");

	/* Awake: its answer to send. */
	ck_assert_int_eq(conn_on_deadline(&c, &no_root, 2100), 0);
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert(!conn_wants_read(&c));
	ck_assert(conn_wants_write(&c));
	ck_assert_int_eq(conn_on_writable(&c, &no_root, 2100), 0);
	ck_assert(conn_wants_read(&c));
	ck_assert(!conn_wants_write(&c));

	/* The last request: after its answer, CLOSED wants nothing. */
	send_str(sv[1], "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 3000), 0);
	ck_assert(!conn_wants_read(&c));
	ck_assert(conn_wants_write(&c));
	ck_assert_int_eq(drive(&c, &no_root, sv[1], &got), 0);
	ck_assert_int_eq(c.state, CONN_CLOSED);
	ck_assert(!conn_wants_read(&c));
	ck_assert(!conn_wants_write(&c));

	conn_free(&c);
	close(sv[1]);
	buf_free(&got);
}
END_TEST

START_TEST(test_conn_deadline)
{
	struct response r[3];
	struct conn c;
	size_t unsent;

	/* An answer the client has not read yet, then a /sleep that asks to
	 * close: the greeting waits in "out", the sleeper in "held". */
	conn_init(&c, -1);
	feed(&c, "GET / HTTP/1.1\r\n\r\n"
	         "GET /sleep?ms=20 HTTP/1.1\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_SLEEPING);
	ck_assert_int_eq(c.wake_at_ms, 1020);
	unsent = buf_pending(&c.out);
	ck_assert_uint_gt(unsent, 0);

	/* A millisecond early: nothing happens. */
	ck_assert_int_eq(conn_on_deadline(&c, &no_root, 1019), 0);
	ck_assert_msg(c.state == CONN_SLEEPING && buf_pending(&c.out) == unsent,
	              "conn_on_deadline() at 1019 ms released a /sleep due at "
	              "1020 ms: check now_ms >= wake_at_ms first");

	/* Due: the held answer goes out after the one still unsent. */
	ck_assert_int_eq(conn_on_deadline(&c, &no_root, 1020), 0);
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert_msg(
	    split(buf_head(&c.out), buf_pending(&c.out), r, 3) == 2,
	    "expected the greeting, then the slept answer, in \"out\": "
	    "append \"held\" after what \"out\" still holds");
	ck_assert_int_eq(r[0].status, 200);
	ck_assert_body(r[0], hello);
	ck_assert(r[0].keep_alive);
	ck_assert_int_eq(r[1].status, 200);
	ck_assert_body(r[1], "slept 20 ms\n");
	ck_assert(!r[1].keep_alive);

	/* Its request said "Connection: close": the connection ends after
	 * it, as if that answer had never been held. */
	ck_assert_msg(c.close_after, "the held answer said \"Connection: "
	                             "close\": close_after |= held_close");
	ck_assert(!conn_wants_read(&c));
	conn_free(&c);
}
END_TEST

START_TEST(test_conn_spurious_wakeup)
{
	struct conn c;
	int sv[2], rc;

	/* select() said readable, but there is nothing to read (select(2):
	 * a segment dropped for a bad checksum, say). read() says EAGAIN:
	 * "nothing right now", not an error and not an end. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	rc = conn_on_readable(&c, &no_root, 1000);
	ck_assert_msg(rc == 0,
	              "conn_on_readable() returned %d on a socket with nothing "
	              "to read yet: EAGAIN means \"not now\", the client is "
	              "merely slow",
	              rc);
	ck_assert_int_eq(c.state, CONN_READING);
	ck_assert_msg(!c.close_after, "EAGAIN taken for EOF: only read() == 0 "
	                              "means the client will send no more");
	ck_assert(conn_wants_read(&c));

	/* Half a request, then another wake-up with nothing new: the half
	 * stays in "in". */
	send_str(sv[1], "GET / HTTP/1.1\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_READING);
	ck_assert_uint_eq(buf_pending(&c.in), 16);
	ck_assert_uint_eq(buf_pending(&c.out), 0);

	/* The rest: answered as usual. */
	send_str(sv[1], "\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_WRITING);
	ck_assert_uint_eq(c.requests, 1);
	conn_free(&c);
	close(sv[1]);
}
END_TEST

START_TEST(test_conn_peer_gone)
{
	struct conn c;
	int sv[2], rc;

	/* A client asks for a /sleep and leaves while its answer is held. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET /sleep?ms=10 HTTP/1.1\r\n\r\n");
	ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
	ck_assert_int_eq(c.state, CONN_SLEEPING);
	close(sv[1]);

	/* At the deadline the answer cannot go: send() fails with EPIPE (a
	 * signal, SIGPIPE, without MSG_NOSIGNAL: this test would die of it).
	 * The error must come back to the loop, which drops the connection;
	 * swallowed, it comes back on every round: a busy loop. */
	rc = conn_on_deadline(&c, &no_root, c.wake_at_ms);
	if (rc == 0 && conn_wants_write(&c))
		rc = conn_on_writable(&c, &no_root, c.wake_at_ms);
	ck_assert_msg(rc < 0,
	              "the client had gone: send() failed, and the handlers "
	              "returned %d; expected a negative errno (-EPIPE)",
	              rc);
	conn_free(&c);
}
END_TEST

START_TEST(test_server_signals)
{
	struct sigaction old_int, old_term, old_pipe, sa;
	sigset_t old_mask, mask;
	int rc;

	sigprocmask(SIG_SETMASK, NULL, &old_mask);
	sigaction(SIGINT, NULL, &old_int);
	sigaction(SIGTERM, NULL, &old_term);
	sigaction(SIGPIPE, NULL, &old_pipe);

	errno = EINTR; /* left over from an earlier call: not a failure */
	rc = server_signals();
	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigaction(SIGPIPE, NULL, &sa);

	/* Put back what was there: with CK_FORK=no the next tests run in
	 * this process. */
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);

	ck_assert_msg(rc == 0, "server_signals() returned %d, expected 0", rc);
	/* Blocked from now on, they can only arrive where pselect()
	 * unblocks them: never between the flag check and the wait. */
	ck_assert_msg(sigismember(&mask, SIGINT) && sigismember(&mask, SIGTERM),
	              "after server_signals(), SIGINT and SIGTERM must be "
	              "blocked (sigprocmask(SIG_BLOCK, ...)): else one that "
	              "lands after the loop checked server_stopping() and "
	              "before pselect() sleeps is missed");
	ck_assert(sa.sa_handler == SIG_IGN);
}
END_TEST

static Suite *conn_suite(void)
{
	Suite *s = suite_create("conn");

	TEST_ADD(s, test_conn_single_request, 5);
	TEST_ADD(s, test_conn_partial_request, 5);
	TEST_ADD(s, test_conn_pipelined_order, 5);
	TEST_ADD(s, test_conn_close_after, 5);
	TEST_ADD(s, test_conn_partial_write, 10);
	TEST_ADD(s, test_conn_interest, 5);
	TEST_ADD(s, test_conn_deadline, 5);
	TEST_ADD(s, test_conn_spurious_wakeup, 5);
	TEST_ADD(s, test_conn_peer_gone, 5);
	TEST_ADD(s, test_server_signals, 5);
	return s;
}

TEST_MAIN(conn_suite)
