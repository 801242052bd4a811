/* test_hidden.c - hidden tests of lab 2: the public ones' harder cousins. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "testing.h"

static const struct app_config no_root = {.root = NULL};

/* --- helpers (as in the public tests) --- */

struct response {
	int status;
	bool keep_alive;
	const char *body;
	size_t body_len;
	size_t len;
};

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

static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX,
	                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                            0, sv),
	                 0);
}

static void send_all(int fd, const char *s, size_t len)
{
	ck_assert_int_eq(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

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

/* Plays the event loop until c is CLOSED or goes quiet, collecting what
 * the peer receives; max_out, if not NULL, records the most "out" held. */
static int drive(struct conn *c, const struct app_config *cfg, int peer,
                 struct buf *got, size_t *max_out)
{
	int64_t now = 1000;

	for (int round = 0; round < 100000 && c->state != CONN_CLOSED;
	     round++) {
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
		if (max_out != NULL && buf_pending(&c->out) > *max_out)
			*max_out = buf_pending(&c->out);
		if (c->state == CONN_READING && buf_pending(&c->out) == 0 &&
		    round > 2)
			break;
	}
	slurp(peer, got);
	return 0;
}

static char *make_root(void)
{
	char tmpl[] = "/tmp/lab2-hidden-XXXXXX";

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

static void remove_file(const char *root, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	unlink(path);
}

/* --- tests --- */

/* Feeds reqs to a fresh connection step bytes at a time, processing
 * after each piece. Returns 0 or the first error. */
static int feed_in_steps(struct conn *c, const struct app_config *cfg,
                         const struct buf *reqs, size_t step)
{
	conn_init(c, -1);
	for (size_t at = 0; at < buf_pending(reqs); at += step) {
		size_t n = buf_pending(reqs) - at;
		int rc;

		rc = buf_append(&c->in, buf_head(reqs) + at,
		                n < step ? n : step);
		if (rc == 0)
			rc = conn_process(c, cfg, 1000);
		if (rc < 0)
			return rc;
	}
	return 0;
}

enum { MANY = 100 };

static void check_many(struct conn *c, int rc, const char *how)
{
	static struct response r[MANY + 1];
	char line[64];

	ck_assert_msg(rc == 0, "fed %s: error %d", how, rc);
	ck_assert_int_eq(c->state, CONN_WRITING);
	ck_assert_uint_eq(c->requests, MANY);
	ck_assert_uint_eq(
	    split(buf_head(&c->out), buf_pending(&c->out), r, MANY + 1), MANY);
	for (int i = 0; i < MANY; i++) {
		snprintf(line, sizeof(line), "file number %d\n", i);
		ck_assert_int_eq(r[i].status, 200);
		ck_assert(r[i].keep_alive);
		ck_assert_msg(r[i].body_len == strlen(line) &&
		                  memcmp(r[i].body, line, r[i].body_len) == 0,
		              "fed %s: response %d of %d is \"%.*s\"", how,
		              i + 1, MANY, (int)r[i].body_len, r[i].body);
	}
	conn_free(c);
}

START_TEST(test_hidden_pipeline_many)
{
	char *root = make_root();
	struct app_config cfg = {.root = root};
	struct buf reqs = BUF_INIT;
	char name[32], line[96];
	struct conn whole, bits;
	int rc_whole, rc_bits;

	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(line, sizeof(line), "file number %d\n", i);
		put_file(root, name, line, strlen(line));
		snprintf(line, sizeof(line),
		         "GET /files/f%d HTTP/1.1\r\nHost: hidden\r\n\r\n", i);
		ck_assert_int_eq(buf_append(&reqs, line, strlen(line)), 0);
	}

	/* All at once, then the same bytes 7 at a time: the same answers. */
	rc_whole = feed_in_steps(&whole, &cfg, &reqs, buf_pending(&reqs));
	rc_bits = feed_in_steps(&bits, &cfg, &reqs, 7);
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		remove_file(root, name);
	}
	rmdir(root);
	free(root);
	buf_free(&reqs);

	check_many(&whole, rc_whole, "all at once");
	check_many(&bits, rc_bits, "7 bytes at a time");
}
END_TEST

START_TEST(test_hidden_out_high)
{
	enum { N = 12, SIZE = 300 << 10 };
	static struct response r[N + 1];
	char *root = make_root();
	char *data = malloc(SIZE);
	struct app_config cfg = {.root = root};
	struct buf got = BUF_INIT;
	size_t max_out = 0, first_out;
	uint64_t first_requests;
	struct conn c;
	int sv[2], rc, rc_drive = 0;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (char)(i % 251);
	put_file(root, "chunk.bin", data, SIZE);
	make_pair(sv);
	conn_init(&c, sv[0]);
	for (int i = 0; i < N; i++)
		send_str(sv[1], "GET /files/chunk.bin HTTP/1.1\r\n\r\n");

	/* 12 x 300 KiB = 3.6 MiB: more than CONN_OUT_HIGH. As "out" drains,
	 * the rest are answered, never holding much more than that. */
	rc = conn_on_readable(&c, &cfg, 1000);
	first_requests = c.requests;
	first_out = buf_pending(&c.out);
	if (rc == 0)
		rc_drive = drive(&c, &cfg, sv[1], &got, &max_out);
	remove_file(root, "chunk.bin");
	rmdir(root);

	ck_assert_int_eq(rc, 0);
	ck_assert_msg(first_requests > 0 && first_requests < N,
	              "%llu of %d answered at once: expected a stop once "
	              "\"out\" held CONN_OUT_HIGH bytes",
	              (unsigned long long)first_requests, N);
	ck_assert_uint_ge(first_out, CONN_OUT_HIGH);
	ck_assert_uint_le(first_out, CONN_OUT_HIGH + SIZE + 1024);
	ck_assert_int_eq(rc_drive, 0);
	ck_assert_uint_eq(c.requests, N);
	ck_assert_int_eq(c.state, CONN_READING);
	ck_assert_uint_le(max_out, CONN_OUT_HIGH + SIZE + 1024);
	ck_assert_uint_eq(split(buf_head(&got), buf_pending(&got), r, N + 1),
	                  N);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(r[i].status, 200);
		ck_assert_uint_eq(r[i].body_len, SIZE);
		ck_assert_msg(memcmp(r[i].body, data, SIZE) == 0,
		              "response %d has wrong bytes", i + 1);
	}

	conn_free(&c);
	close(sv[1]);
	buf_free(&got);
	free(data);
	free(root);
}
END_TEST

/* Reads like a level-triggered loop would: again while it wants to. */
static int read_some(struct conn *c, int times)
{
	int rc = 0;

	for (int i = 0; i < times && rc == 0 && conn_wants_read(c); i++)
		rc = conn_on_readable(c, &no_root, 1000);
	return rc;
}

START_TEST(test_hidden_eof_mid_request)
{
	char byte;
	struct conn c;
	int sv[2], rc;

	/* Half a request, then the client's side shut. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET /files/hel");
	shutdown(sv[1], SHUT_WR);
	rc = read_some(&c, 4);
	ck_assert_msg(rc < 0 || c.state == CONN_CLOSED,
	              "after EOF mid-request: rc %d, state %d; expected "
	              "CONN_CLOSED (or an error)",
	              rc, c.state);
	ck_assert(!conn_wants_read(&c));
	ck_assert_uint_eq(buf_pending(&c.out), 0);
	ck_assert_uint_eq(c.requests, 0);
	ck_assert_int_eq(recv(sv[1], &byte, 1, MSG_DONTWAIT), -1);
	conn_free(&c);
	close(sv[1]);

	/* Connected, and gone without a word. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	shutdown(sv[1], SHUT_WR);
	rc = read_some(&c, 4);
	ck_assert(rc < 0 || c.state == CONN_CLOSED);
	ck_assert_uint_eq(c.requests, 0);
	conn_free(&c);
	close(sv[1]);
}
END_TEST

START_TEST(test_hidden_head_limit)
{
	enum { BIG = 100000 };
	static char pad[BIG];
	struct response r[2];
	struct conn c;
	int sv[2];

	/* Just under the limit, unfinished: wait for more. */
	conn_init(&c, -1);
	memset(pad, 'a', sizeof(pad));
	memcpy(pad, "GET / HTTP/1.1\r\nX-Pad: ", 23);
	ck_assert_int_eq(buf_append(&c.in, pad, HTTP_MAX_HEAD - 1), 0);
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert_uint_eq(buf_pending(&c.out), 0);
	ck_assert_int_eq(c.state, CONN_READING);
	/* At the limit: 431, and close. */
	ck_assert_int_eq(buf_append(&c.in, pad + 100, 1), 0);
	ck_assert_int_eq(conn_process(&c, &no_root, 1000), 0);
	ck_assert(c.close_after);
	ck_assert_uint_eq(split(buf_head(&c.out), buf_pending(&c.out), r, 2),
	                  1);
	ck_assert_int_eq(r[0].status, 431);
	conn_free(&c);

	/* From a socket holding far more than the limit: "in" stays
	 * bounded, and the answer is the same. The 431 empties "in", so its
	 * capacity tells how much was read: the buffer (given code) only
	 * ever grows to the next power of two above what it held. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	send_all(sv[1], pad, sizeof(pad));
	for (int i = 0; i < 8 && conn_wants_read(&c); i++) {
		ck_assert_int_eq(conn_on_readable(&c, &no_root, 1000), 0);
		ck_assert_uint_le(buf_pending(&c.in),
		                  HTTP_MAX_HEAD + CONN_READ_CHUNK);
		ck_assert_msg(c.in.cap <= HTTP_MAX_HEAD + CONN_READ_CHUNK,
		              "\"in\" grew to %zu bytes: stop reading once it "
		              "holds HTTP_MAX_HEAD bytes without a whole head",
		              c.in.cap);
	}
	ck_assert(c.close_after);
	ck_assert_uint_eq(split(buf_head(&c.out), buf_pending(&c.out), r, 2),
	                  1);
	ck_assert_int_eq(r[0].status, 431);
	ck_assert(!r[0].keep_alive);
	conn_free(&c);
	close(sv[1]);
}
END_TEST

START_TEST(test_hidden_eof_after_pipeline)
{
	struct buf got = BUF_INIT;
	struct response r[4];
	struct conn c;
	int sv[2];

	/* Two requests, then the client shuts its side and waits. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET / HTTP/1.1\r\n\r\nGET /nope HTTP/1.1\r\n\r\n");
	shutdown(sv[1], SHUT_WR);
	ck_assert_int_eq(drive(&c, &no_root, sv[1], &got, NULL), 0);
	ck_assert_int_eq(c.state, CONN_CLOSED);
	ck_assert_uint_eq(split(buf_head(&got), buf_pending(&got), r, 4), 2);
	ck_assert_int_eq(r[0].status, 200);
	ck_assert_int_eq(r[1].status, 404);
	conn_free(&c);
	close(sv[1]);
	buf_consume(&got, buf_pending(&got));

	/* The same with a sleeper first: the EOF does not cut it short. */
	make_pair(sv);
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET /sleep?ms=20 HTTP/1.1\r\n\r\n"
	                "GET / HTTP/1.1\r\n\r\nGET /x HTTP/1.1\r\n\r\n");
	shutdown(sv[1], SHUT_WR);
	ck_assert_int_eq(drive(&c, &no_root, sv[1], &got, NULL), 0);
	ck_assert_int_eq(c.state, CONN_CLOSED);
	ck_assert_uint_eq(split(buf_head(&got), buf_pending(&got), r, 4), 3);
	ck_assert_int_eq(r[0].status, 200);
	ck_assert_int_eq(r[1].status, 200);
	ck_assert_int_eq(r[2].status, 404);
	conn_free(&c);
	close(sv[1]);
	buf_free(&got);
}
END_TEST

static Suite *hidden_suite(void)
{
	Suite *s = suite_create("hidden");

	TEST_ADD(s, test_hidden_pipeline_many, 10);
	TEST_ADD(s, test_hidden_out_high, 10);
	TEST_ADD(s, test_hidden_eof_mid_request, 5);
	TEST_ADD(s, test_hidden_head_limit, 5);
	TEST_ADD(s, test_hidden_eof_after_pipeline, 5);
	return s;
}

TEST_MAIN(hidden_suite)
