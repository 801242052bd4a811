/* lab1.c - the checks of lab 1, the blocking server. Data first (the table
 * at the bottom), each check a short function that measures from outside. */
#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "curl.h"
#include "grader.h"
#include "lab1.h"
#include "probe.h"
#include "stats.h"
#include "target.h"
#include "util.h"

/* REPLY_MS: the reference answers in well under 10 ms; 3 s is for noisy
 * machines, and bounds what a hung server costs each check. */
enum { BIG_FILE = 16 << 20, REPLY_MS = 3000 };
/* http.h's HTTP_MAX_HEAD: the grader does not include the lab's headers. */
enum { MAX_HEAD = 16384 };

static const char HELLO[] = "hello from the files folder\n";
static const char SECRET[] = "the secret recipe: never leave the dining room\n";

/* The --root folder: a small file, one in a subfolder, a big one, and a
 * secret just outside that path traversal must not reach. */
int lab1_setup(struct grader *g)
{
	char path[PATH_MAX];
	int rc = 0;
	char *big = malloc(BIG_FILE);
	if (!big)
		return -ENOMEM;
	uint32_t x = 2463534242u; /* xorshift: every byte position differs */
	for (size_t i = 0; i < BIG_FILE; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		big[i] = (char)(x >> 24);
	}
	snprintf(path, sizeof(path), "%s/sub", g->www);
	mkdir(path, 0755);
	if (write_file(path_join(path, g->www, "hello.txt"), HELLO,
	               strlen(HELLO)) < 0 ||
	    write_file(path_join(path, g->www, "sub/inner.txt"), HELLO,
	               strlen(HELLO)) < 0 ||
	    write_file(path_join(path, g->www, "big.bin"), big, BIG_FILE) < 0 ||
	    write_file(path_join(path, g->box, "secret.txt"), SECRET,
	               strlen(SECRET)) < 0)
		rc = -EIO;
	free(big);
	return rc;
}

enum verdict lab1_done(struct target *t, struct result *r, enum verdict v)
{
	if (target_explain_death(t, r))
		v = FAIL;
	target_kill(t);
	return v;
}

/* Sends raw bytes, expects a status. On a mismatch explains both sides. */
bool lab1_expect(struct result *r, int port, const char *req, size_t len,
                 int want, struct http_reply *out)
{
	struct http_reply rep;
	char q[600], a[600];
	bool ok;

	probe_request(port, req, len, &rep, REPLY_MS);
	ok = rep.status == want;
	if (!ok) {
		result_printf(r, "sent     %s\n",
		              probe_quote(req, len, 160, q, sizeof(q)));
		result_printf(r, "expected status %d, ", want);
		if (rep.status)
			result_printf(r, "got %d: %s\n", rep.status,
			              probe_quote(rep.raw, rep.raw_len, 200, a,
			                          sizeof(a)));
		else
			result_printf(r, "got no status line: %s%s%s\n",
			              rep.err, rep.raw_len ? "; received " : "",
			              rep.raw_len
			                  ? probe_quote(rep.raw, rep.raw_len,
			                                200, a, sizeof(a))
			                  : "");
	}
	if (out)
		*out = rep;
	else
		probe_reply_free(&rep);
	return ok;
}

/* ---- integration -------------------------------------------------------- */

enum verdict lab1_get_root(struct grader *g, const struct check *c,
                           struct result *r)
{
	struct target t;
	struct curl_reply cr;
	char clen[32] = "";
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (curl_fetch(g, t.port, "/", NULL, 5, &cr) < 0) {
		result_printf(r, "%s\ncurl failed: %s\n", cr.cmd, cr.err);
	} else if (cr.status != 200 || cr.body_len == 0) {
		result_printf(r,
		              "%s\nexpected status 200 with a body, got status "
		              "%d and %zu body bytes\n",
		              cr.cmd, cr.status, cr.body_len);
	} else if (!strstr(cr.head, "Content-Length:") &&
	           !strstr(cr.head, "content-length:")) {
		result_printf(r,
		              "%s\nthe response has no Content-Length header\n",
		              cr.cmd);
	} else {
		sscanf(strcasestr(cr.head, "content-length:") + 15, " %31s",
		       clen);
		if ((size_t)atol(clen) != cr.body_len)
			result_printf(r,
			              "Content-Length says %s but %zu body "
			              "bytes arrived\n",
			              clen, cr.body_len);
		else
			v = PASS;
	}
	if (v == PASS)
		result_printf(r, "curl got 200 and %zu bytes\n", cr.body_len);
	curl_reply_free(&cr);
	return lab1_done(&t, r, v);
}

/* Bytes the server sends on fd until it closes it (or ms pass). */
static long bytes_until_close(int fd, int ms)
{
	char buf[4096];
	long n = 0;
	struct pollfd p = {fd, POLLIN, 0};

	while (poll(&p, 1, ms) == 1) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);
		if (got <= 0)
			break;
		n += got;
	}
	return n;
}

/* HEAD of an error page is a head too: a body after it would be read by
 * the client as the start of its next response. Read to EOF: any byte
 * after the head is a body. */
static enum verdict head_of_error(struct result *r, int port)
{
	struct http_reply rep;
	char a[300];
	int fd = probe_connect(port, REPLY_MS);
	enum verdict v = FAIL;

	probe_send(fd, REQ_CLOSE("HEAD /no-such-page"),
	           strlen(REQ_CLOSE("HEAD /no-such-page")), 0, 0);
	probe_recv(fd, &rep, true, REPLY_MS);
	/* A HEAD reply ends at its head: what else comes before EOF? */
	long more = fd >= 0 ? bytes_until_close(fd, REPLY_MS) : 0;
	if (fd >= 0)
		close(fd);
	if (rep.status != 404)
		result_printf(r,
		              "HEAD /no-such-page: expected 404, got %d%s%s\n",
		              rep.status, rep.err[0] ? ": " : "", rep.err);
	else if (rep.raw_len > rep.head_len || more > 0)
		result_printf(
		    r,
		    "the reply to HEAD /no-such-page carried %ld body "
		    "bytes after its head (%s): an error page answers "
		    "HEAD with its head alone\n",
		    (long)(rep.raw_len - rep.head_len) + more,
		    probe_quote(rep.raw + rep.head_len,
		                rep.raw_len - rep.head_len, 60, a, sizeof(a)));
	else
		v = PASS;
	probe_reply_free(&rep);
	return v;
}

enum verdict lab1_head_root(struct grader *g, const struct check *c,
                            struct result *r)
{
	struct target t;
	struct http_reply get, head;
	char len_get[32] = "", len_head[32] = "", a[300];
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	bool ok = EXPECT(r, t.port, REQ_CLOSE("GET /"), 200);
	ok = ok && lab1_expect(r, t.port, REQ_CLOSE("GET /"),
	                       strlen(REQ_CLOSE("GET /")), 200, &get);
	if (ok && lab1_expect(r, t.port, REQ_CLOSE("HEAD /"),
	                      strlen(REQ_CLOSE("HEAD /")), 200, &head)) {
		/* The reply to HEAD is read to EOF: any byte after the head is
		 * a body. */
		int fd = probe_connect(t.port, REPLY_MS);
		probe_reply_free(&head);
		probe_send(fd, REQ_CLOSE("HEAD /"), strlen(REQ_CLOSE("HEAD /")),
		           0, 0);
		probe_recv(fd, &head, false, REPLY_MS);
		close(fd);
		probe_header(&get, "Content-Length", len_get, sizeof(len_get));
		probe_header(&head, "Content-Length", len_head,
		             sizeof(len_head));
		if (head.body_len > 0)
			result_printf(r,
			              "the reply to HEAD carried %zu body "
			              "bytes (%s): HEAD gets the "
			              "head only\n",
			              head.body_len,
			              probe_quote(head.body, head.body_len, 60,
			                          a, sizeof(a)));
		else if (strcmp(len_get, len_head) != 0)
			result_printf(r,
			              "HEAD says Content-Length: %s, GET says "
			              "%s: they must agree\n",
			              len_head[0] ? len_head : "(none)",
			              len_get[0] ? len_get : "(none)");
		else
			v = head_of_error(r, t.port);
		probe_reply_free(&head);
	}
	if (ok)
		probe_reply_free(&get);
	return lab1_done(&t, r, v);
}

/* A lab server is for this machine alone: bound to 127.0.0.1, not to
 * every interface. Seen from outside without a second network: all of
 * 127/8 is loopback, and a socket may take 127.0.0.2:PORT unless the
 * server holds PORT on every address (0.0.0.0). */
static enum verdict loopback_only(struct grader *g, const struct check *c,
                                  struct result *r)
{
	struct sockaddr_in other = {.sin_family = AF_INET,
	                            .sin_addr.s_addr = htonl(0x7f000002)};
	struct target t;
	enum verdict v = FAIL;
	int fd, err = 0;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	other.sin_port = htons((uint16_t)t.port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&other, sizeof(other)) < 0)
		err = errno;
	if (fd >= 0)
		close(fd);
	if (fd < 0)
		result_printf(r, "grader: socket: %s\n", strerror(errno));
	else if (err == EADDRINUSE)
		result_printf(r,
		              "port %d is taken on 127.0.0.2 too: the server "
		              "listens on every interface (0.0.0.0), where any "
		              "machine on the network can reach it\n",
		              t.port);
	else {
		result_printf(r, "listening on 127.0.0.1:%d only\n", t.port);
		v = PASS;
	}
	return lab1_done(&t, r, v);
}

/* Where two copies of the big file first differ. */
static size_t first_difference(const char *got, size_t len, const char *want)
{
	size_t i = 0;

	while (i < len && i < (size_t)BIG_FILE && got[i] == want[i])
		i++;
	return i;
}

/* A client that asks for the big file and waits before reading: with a
 * small receive window the 16 MiB cannot fit in the two sockets' buffers, so
 * the server's write() must return short (or EAGAIN) and be resumed. A fast
 * client such as curl may drain the socket as fast as it fills and never
 * show that. Returns true when the file arrived whole. */
static bool slow_reader_gets(int port, const char *want, struct result *r)
{
	const char *req = REQ_CLOSE("GET /files/big.bin");
	struct http_reply rep;
	int small = 65536;
	bool ok = false;
	int fd = probe_connect(port, REPLY_MS);

	if (fd < 0) {
		result_printf(r, "connect: %s\n", strerror(-fd));
		return false;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	probe_send(fd, req, strlen(req), 0, 0);
	probe_sleep_ms(300);
	probe_recv(fd, &rep, false, 10000);
	close(fd);
	if (rep.status != 200 || rep.body_len != BIG_FILE ||
	    memcmp(rep.body, want, BIG_FILE) != 0)
		result_printf(
		    r,
		    "a client that asked for the %d-byte file and "
		    "waited 300 ms before reading got status %d and "
		    "%zu bytes, the first wrong one at byte %zu (%s): "
		    "the socket was full, write() sent part of the "
		    "buffer or failed with EAGAIN, and the rest was "
		    "never sent?\n",
		    BIG_FILE, rep.status, rep.body_len,
		    first_difference(rep.body, rep.body_len, want),
		    rep.err[0] ? rep.err : "complete");
	else
		ok = true;
	probe_reply_free(&rep);
	return ok;
}

enum verdict lab1_large_file(struct grader *g, const struct check *c,
                             struct result *r)
{
	struct target t;
	struct curl_reply cr;
	char path[PATH_MAX];
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	char *want = read_file(path_join(path, g->www, "big.bin"), NULL);
	if (curl_fetch(g, t.port, "/files/big.bin", NULL, 10, &cr) < 0 ||
	    cr.status != 200) {
		result_printf(
		    r, "%s\nexpected 200 and %d bytes; got status %d (%s)\n",
		    cr.cmd, BIG_FILE, cr.status, cr.err);
	} else if (cr.body_len != BIG_FILE ||
	           memcmp(cr.body, want, BIG_FILE) != 0) {
		result_printf(r,
		              "%s\nthe %d-byte file arrived as %zu bytes, the "
		              "first difference at "
		              "byte %zu: a write() that sent only part of the "
		              "buffer, and the rest "
		              "was never sent?\n",
		              cr.cmd, BIG_FILE, cr.body_len,
		              first_difference(cr.body, cr.body_len, want));
	} else if (slow_reader_gets(t.port, want, r)) {
		result_printf(r,
		              "%d bytes, byte for byte, to curl and to a "
		              "client that waited before reading\n",
		              BIG_FILE);
		v = PASS;
	}
	free(want);
	curl_reply_free(&cr);
	return lab1_done(&t, r, v);
}

enum verdict lab1_traversal(struct grader *g, const struct check *c,
                            struct result *r)
{
	static const char *const evil[] = {
	    REQ_CLOSE("GET /files/../secret.txt"),
	    REQ_CLOSE("GET /files/sub/../../secret.txt"),
	    REQ_CLOSE("GET /files/..%2fsecret.txt"),
	    REQ_CLOSE("GET /files//etc/passwd"),
	    REQ_CLOSE("GET /files/./../secret.txt"),
	};
	struct target t;
	struct http_reply rep;
	char q[300];
	enum verdict v = PASS;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (!lab1_expect(r, t.port, REQ_CLOSE("GET /files/sub/inner.txt"),
	                 strlen(REQ_CLOSE("GET /files/sub/inner.txt")), 200,
	                 &rep))
		v = FAIL;
	else if (rep.body_len != strlen(HELLO) ||
	         memcmp(rep.body, HELLO, rep.body_len))
		result_printf(r, "/files/sub/inner.txt: wrong body\n"),
		    v = FAIL;
	probe_reply_free(&rep);
	for (size_t i = 0; v == PASS && i < sizeof(evil) / sizeof(evil[0]);
	     i++) {
		probe_request(t.port, evil[i], strlen(evil[i]), &rep, REPLY_MS);
		if (rep.raw && strstr(rep.raw, "secret recipe")) {
			result_printf(r,
			              "sent %s\nand got the file outside "
			              "--root: path traversal\n",
			              probe_quote(evil[i], strlen(evil[i]), 80,
			                          q, sizeof(q)));
			v = FAIL;
		} else if (rep.status < 400 || rep.status > 404) {
			result_printf(
			    r, "sent %s\nexpected 400, 403 or 404, got %d %s\n",
			    probe_quote(evil[i], strlen(evil[i]), 80, q,
			                sizeof(q)),
			    rep.status, rep.err);
			v = FAIL;
		}
		probe_reply_free(&rep);
	}
	return lab1_done(&t, r, v);
}

enum verdict lab1_not_found(struct grader *g, const struct check *c,
                            struct result *r)
{
	struct target t;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	bool ok = EXPECT(r, t.port, REQ_CLOSE("GET /no-such-page"), 404) &&
	          EXPECT(r, t.port, REQ_CLOSE("GET /files/missing.txt"), 404) &&
	          EXPECT(r, t.port, REQ_CLOSE("GET /files/sub"), 404);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

enum verdict lab1_method_405(struct grader *g, const struct check *c,
                             struct result *r)
{
	const char post[] =
	    "POST / HTTP/1.1\r\nHost: grader\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n";
	struct target t;
	struct http_reply rep;
	char allow[64];
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (lab1_expect(r, t.port, post, strlen(post), 405, &rep)) {
		if (!probe_header(&rep, "Allow", allow, sizeof(allow)) ||
		    !strstr(allow, "GET"))
			result_printf(r, "a 405 must say what is allowed: "
			                 "\"Allow: GET, HEAD\"\n");
		else if (EXPECT(r, t.port, REQ_CLOSE("DELETE /files/hello.txt"),
		                405))
			v = PASS;
	}
	probe_reply_free(&rep);
	return lab1_done(&t, r, v);
}

enum verdict lab1_malformed_400(struct grader *g, const struct check *c,
                                struct result *r)
{
	static const char *const bad[] = {
	    "garbage\r\n\r\n",
	    "GET\r\n\r\n",
	    "GET / HTTP/1.1\r\nHost grader\r\n\r\n",
	    "GET noslash HTTP/1.1\r\nHost: grader\r\n\r\n",
	    "\x01\x02\x03\xff GET / HTTP/1.1\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: banana\r\n\r\n",
	};
	struct target t;
	bool ok = true;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	/* Stop at the first wrong answer: a hung server costs one timeout. */
	for (size_t i = 0; ok && i < sizeof(bad) / sizeof(bad[0]); i++)
		ok = EXPECT(r, t.port, bad[i], 400);
	if (ok && !EXPECT(r, t.port, REQ_CLOSE("GET /"), 200)) {
		result_printf(
		    r, "after the malformed requests, GET / no longer works\n");
		ok = false;
	}
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* A request line that never ends must be refused once it is too long, not
 * buffered until the client gives up. */
enum verdict lab1_uri_414(struct grader *g, const struct check *c,
                          struct result *r)
{
	struct target t;
	size_t n = 20000;
	char *req = malloc(n + 64);
	bool ok;

	if (!req || !target_serve(g, c, &t, NULL, r)) {
		free(req);
		return FAIL;
	}
	memcpy(req, "GET /", 5);
	memset(req + 5, 'a', n - 5);
	ok = lab1_expect(r, t.port, req, n, 414, NULL);
	if (!ok)
		result_printf(r,
		              "(a request line of %zu bytes, its end never "
		              "sent: the limit is "
		              "HTTP_MAX_REQUEST_LINE, check it before the line "
		              "is complete)\n",
		              n);
	strcpy(req + 9000, " HTTP/1.1\r\nConnection: close\r\n\r\n");
	ok = ok && lab1_expect(r, t.port, req, strlen(req), 414, NULL);
	free(req);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

enum verdict lab1_headers_431(struct grader *g, const struct check *c,
                              struct result *r)
{
	struct target t;
	char *req = malloc(64 * 1024);
	size_t o;
	bool ok;

	if (!req || !target_serve(g, c, &t, NULL, r)) {
		free(req);
		return FAIL;
	}
	o = (size_t)sprintf(req, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 100; i++)
		o += (size_t)sprintf(req + o, "X-Header-%d: %d\r\n", i, i);
	strcpy(req + o, "\r\n");
	ok = lab1_expect(r, t.port, req, strlen(req), 431, NULL);
	if (!ok)
		result_printf(
		    r, "(100 header lines: more than HTTP_MAX_HEADERS)\n");
	o = (size_t)sprintf(req, "GET / HTTP/1.1\r\nX-Big: ");
	memset(req + o, 'b', 40000);
	ok = ok && lab1_expect(r, t.port, req, o + 40000, 431, NULL);
	if (!ok)
		result_printf(r, "(a 40 KB header, never finished: more than "
		                 "HTTP_MAX_HEAD)\n");
	free(req);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

enum verdict lab1_byte_at_a_time(struct grader *g, const struct check *c,
                                 struct result *r)
{
	const char *req = REQ_CLOSE("GET /files/hello.txt");
	struct target t;
	struct http_reply rep;
	char a[300];
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	int fd = probe_connect(t.port, REPLY_MS);
	if (fd < 0) {
		result_printf(r, "cannot connect: %s\n", strerror(-fd));
		return lab1_done(&t, r, FAIL);
	}
	probe_send(fd, req, strlen(req), 1, 3);
	probe_recv(fd, &rep, false, REPLY_MS);
	close(fd);
	if (rep.status == 200 && rep.body_len == strlen(HELLO) &&
	    !memcmp(rep.body, HELLO, rep.body_len)) {
		result_printf(r, "a request sent one byte per write() was "
		                 "answered correctly\n");
		v = PASS;
	} else {
		result_printf(r,
		              "sent %s one byte at a time (3 ms "
		              "apart);\nexpected 200 and the file, "
		              "got %d %s\n",
		              "GET /files/hello.txt", rep.status,
		              rep.raw_len ? probe_quote(rep.raw, rep.raw_len,
		                                        120, a, sizeof(a))
		                          : rep.err);
	}
	probe_reply_free(&rep);
	return lab1_done(&t, r, v);
}

/* A client asks for a big file, reads a little and resets the connection:
 * the server's next write() fails with EPIPE, or raises SIGPIPE. */
int lab1_vanish(int port)
{
	const char *req = REQ_CLOSE("GET /files/big.bin");
	struct linger lg = {1, 0};
	struct http_reply rep;
	int small = 4096;
	int fd = probe_connect(port, REPLY_MS);

	if (fd < 0)
		return fd;
	/* A small window keeps the server blocked in write() mid-file. */
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	probe_send(fd, req, strlen(req), 0, 0);
	probe_recv(fd, &rep, true, REPLY_MS); /* the head and a little body */
	probe_reply_free(&rep);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg,
	           sizeof(lg)); /* close = RST */
	close(fd);
	return 0;
}

/* The customer who orders and walks out: the request, then close() at once.
 * The server reads the request, its first write() draws a reset from the
 * client's kernel, and the next write() fails with EPIPE -- or raises
 * SIGPIPE, whose default action kills the process. */
static void order_and_leave(int port)
{
	const char *req = REQ_CLOSE("GET /files/big.bin");
	int fd = probe_connect(port, REPLY_MS);

	if (fd >= 0) {
		probe_send(fd, req, strlen(req), 0, 0);
		close(fd);
	}
}

enum verdict lab1_client_vanishes(struct grader *g, const struct check *c,
                                  struct result *r)
{
	struct target t;
	bool ok = true;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (int i = 0; i < 2 && ok; i++) {
		lab1_vanish(t.port);
		probe_sleep_ms(100);
		if (!target_alive(&t)) {
			result_printf(r, "a client asked for a 16 MiB file, "
			                 "read a little and reset the "
			                 "connection.\n");
			ok = false;
			break;
		}
		order_and_leave(t.port);
		probe_sleep_ms(100);
		if (!target_alive(&t)) {
			result_printf(r, "a client sent GET /files/big.bin and "
			                 "closed the connection at "
			                 "once, without reading the answer.\n");
			ok = false;
		}
	}
	ok = ok && EXPECT(r, t.port, REQ_CLOSE("GET /"), 200);
	if (ok)
		result_printf(r, "4 clients vanished (2 mid-response, 2 right "
		                 "after asking); the server kept serving\n");
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

enum verdict lab1_many_connections(struct grader *g, const struct check *c,
                                   struct result *r)
{
	struct target t;
	int i, served = 0;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (i = 0; i < 100; i++) {
		/* Half of them connect and leave without a word. */
		int fd = probe_connect(t.port, 1000);
		if (fd >= 0) {
			if (i % 2 == 0)
				probe_send(fd, "GET", 3, 0, 0);
			close(fd);
		}
	}
	for (i = 0; i < 200; i++) {
		struct http_reply rep;
		if (probe_request(t.port, REQ_CLOSE("GET /"),
		                  strlen(REQ_CLOSE("GET /")), &rep,
		                  3000) == 0 &&
		    rep.status == 200)
			served++;
		probe_reply_free(&rep);
		if (served != i + 1) {
			result_printf(
			    r,
			    "request %d of 200 failed (%s) after 100 clients "
			    "that left "
			    "early. The server may run out of file descriptors "
			    "(it has "
			    "64): does every path close the client's socket?\n",
			    i + 1, rep.err[0] ? rep.err : "wrong status");
			break;
		}
	}
	if (served == 200)
		result_printf(r, "200 sequential requests (+100 early leavers) "
		                 "served with 64 fds\n");
	return lab1_done(&t, r, served == 200 ? PASS : FAIL);
}

enum verdict lab1_sleep_route(struct grader *g, const struct check *c,
                              struct result *r)
{
	struct target t;
	struct http_reply rep;
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (lab1_expect(r, t.port, REQ_CLOSE("GET /sleep?ms=200"),
	                strlen(REQ_CLOSE("GET /sleep?ms=200")), 200, &rep)) {
		if (rep.ms < 190)
			result_printf(r,
			              "/sleep?ms=200 answered after %.0f ms\n",
			              rep.ms);
		else if (EXPECT(r, t.port, REQ_CLOSE("GET /sleep?ms=soon"),
		                400))
			v = PASS;
	}
	if (v == PASS)
		result_printf(r, "/sleep?ms=200 took %.0f ms\n", rep.ms);
	probe_reply_free(&rep);
	return lab1_done(&t, r, v);
}

/* A sleep of more than a second: a timespec takes whole seconds in tv_sec
 * and only the rest in tv_nsec, which must stay below 1,000,000,000 (or
 * nanosleep() fails with EINVAL at once and nothing is slept). */
static enum verdict sleep_seconds(struct grader *g, const struct check *c,
                                  struct result *r)
{
	enum { MS = 1200 };
	const char *req = REQ_CLOSE("GET /sleep?ms=1200");
	struct http_reply rep;
	struct target t;
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (lab1_expect(r, t.port, req, strlen(req), 200, &rep)) {
		if (rep.ms >= MS - 10) {
			result_printf(r, "/sleep?ms=%d took %.0f ms\n", MS,
			              rep.ms);
			v = PASS;
		} else {
			result_printf(
			    r,
			    "/sleep?ms=%d answered after %.0f ms: "
			    "tv_sec = ms / 1000, tv_nsec = (ms %% "
			    "1000) * 1000000; a tv_nsec of a second or "
			    "more makes nanosleep() fail with EINVAL "
			    "without sleeping\n",
			    MS, rep.ms);
		}
	}
	probe_reply_free(&rep);
	return lab1_done(&t, r, v);
}

static bool stops_on(struct grader *g, const struct check *c, int sig,
                     struct result *r)
{
	struct target t;
	char how[96];

	if (!target_serve(g, c, &t, NULL, r))
		return false;
	if (!EXPECT(r, t.port, REQ_CLOSE("GET /"), 200))
		return lab1_done(&t, r, FAIL) == PASS;
	/* Let it get back into accept(): a signal that lands between the
	 * reply and accept() is seen even with SA_RESTART set. */
	probe_sleep_ms(100);
	sbx_signal(&t.proc, sig);
	if (sbx_wait(&t.proc, 3000) < 0) {
		result_printf(r,
		              "after %s the server was still running 3 s "
		              "later: is the signal "
		              "handler installed without SA_RESTART, so "
		              "accept() returns EINTR, "
		              "and does the loop check the flag?\n",
		              strsignal(sig));
		target_kill(&t);
		return false;
	}
	if (!WIFEXITED(t.proc.status) || WEXITSTATUS(t.proc.status) != 0) {
		result_printf(r,
		              "after %s the server %s; expected a clean exit "
		              "with status 0\n",
		              strsignal(sig),
		              sbx_describe(t.proc.status, how, sizeof(how)));
		target_kill(&t);
		return false;
	}
	target_kill(&t);
	return true;
}

enum verdict lab1_clean_exit(struct grader *g, const struct check *c,
                             struct result *r)
{
	if (!stops_on(g, c, SIGTERM, r) || !stops_on(g, c, SIGINT, r))
		return FAIL;
	result_printf(r, "SIGTERM and SIGINT: clean exit, status 0\n");
	return PASS;
}

/* After a stop signal, the server must end by itself, with status 0;
 * else says what it did instead. Either way nothing is left running. */
static bool exits_cleanly(struct target *t, const char *after, struct result *r)
{
	char how[96];
	bool ok = false;

	if (sbx_wait(&t->proc, 3000) < 0)
		result_printf(r,
		              "%s the server was still running 3 s later: "
		              "once the client in hand is served, the loop "
		              "must see the flag and end\n",
		              after);
	else if (!WIFEXITED(t->proc.status) || WEXITSTATUS(t->proc.status))
		result_printf(r,
		              "%s the server %s; expected a clean exit with "
		              "status 0\n",
		              after,
		              sbx_describe(t->proc.status, how, sizeof(how)));
	else
		ok = true;
	target_kill(t);
	return ok;
}

/* SIGTERM while the server waits in read() for the rest of a request: the
 * read() fails with EINTR (no SA_RESTART), which means "read again", not
 * "the client has gone". */
/* Waits, up to ms, until process pid is seen blocked in one of the system
 * calls nrs twice in a row (/proc/PID/syscall names the call a sleeping
 * process is in): a signal sent then interrupts that call, not the accept
 * or the parsing before it, however slow a loaded machine makes the
 * server. False when it was not seen (the caller signals all the same). */
static bool wait_in_syscall(pid_t pid, const long *nrs, size_t n, int ms)
{
	char path[64], line[64];
	double end = probe_now_ms() + ms;
	int seen = 0;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	while (probe_now_ms() < end) {
		FILE *f = fopen(path, "re");
		long nr = -1;
		bool in = false;

		if (!f)
			return false;
		if (fgets(line, sizeof(line), f))
			nr = strtol(line, NULL, 10);
		fclose(f);
		for (size_t i = 0; i < n; i++)
			in = in || nr == nrs[i];
		if ((seen = in ? seen + 1 : 0) == 2)
			return true;
		probe_sleep_ms(5);
	}
	return false;
}

static bool stop_in_read(struct grader *g, const struct check *c,
                         struct result *r)
{
	const char *req = REQ_CLOSE("GET /files/hello.txt");
	const size_t half = 12; /* "GET /files/h" */
	struct http_reply rep;
	struct target t;
	char a[300];
	bool ok;

	if (!target_serve(g, c, &t, NULL, r))
		return false;
	int fd = probe_connect(t.port, REPLY_MS);
	if (fd < 0) {
		result_printf(r, "cannot connect: %s\n", strerror(-fd));
		return lab1_done(&t, r, FAIL) == PASS;
	}
	probe_send(fd, req, half, 0, 0);
	/* Accepted, and waiting in read() for the rest. */
	static const long reads[] = {SYS_read, SYS_recvfrom, SYS_readv,
	                             SYS_recvmsg};
	probe_sleep_ms(150);
	wait_in_syscall(t.proc.prog, reads, 4, 3000);
	sbx_signal(&t.proc, SIGTERM);
	probe_sleep_ms(100);
	probe_send(fd, req + half, strlen(req) - half, 0, 0);
	probe_recv(fd, &rep, false, REPLY_MS);
	close(fd);
	ok = rep.status == 200 && rep.body_len == strlen(HELLO) &&
	     memcmp(rep.body, HELLO, rep.body_len) == 0;
	if (!ok)
		result_printf(
		    r,
		    "a client sent \"GET /files/h\", SIGTERM arrived "
		    "while the server waited for the rest in read(), "
		    "then the client sent the rest.\nexpected 200 and "
		    "the file, got %s%s\nread() failing with EINTR "
		    "means \"read again\" (io.h: both helpers retry "
		    "EINTR), not \"the client has gone\"\n",
		    rep.status ? "" : "no reply: ",
		    rep.raw_len
		        ? probe_quote(rep.raw, rep.raw_len, 120, a, sizeof(a))
		        : rep.err);
	probe_reply_free(&rep);
	if (!ok) {
		target_kill(&t); /* it may have stopped, as it was told */
		return false;
	}
	return exits_cleanly(&t,
	                     "SIGTERM came while a request was half "
	                     "read; after serving it",
	                     r);
}

/* SIGTERM while the server sleeps for /sleep: nanosleep() returns early
 * with EINTR, and the time still left is to be slept too. */
static bool stop_in_sleep(struct grader *g, const struct check *c,
                          struct result *r)
{
	enum { SLEEP_MS = 600, SIGNAL_MS = 150 };
	const char *req = REQ_CLOSE("GET /sleep?ms=600");
	struct http_reply rep;
	struct target t;
	double start, took;

	if (!target_serve(g, c, &t, NULL, r))
		return false;
	int fd = probe_connect(t.port, REPLY_MS);
	if (fd < 0) {
		result_printf(r, "cannot connect: %s\n", strerror(-fd));
		return lab1_done(&t, r, FAIL) == PASS;
	}
	start = probe_now_ms();
	probe_send(fd, req, strlen(req), 0, 0);
	/* In its sleep, which the signal must interrupt. */
	static const long sleeps[] = {SYS_nanosleep, SYS_clock_nanosleep};
	probe_sleep_ms(SIGNAL_MS);
	wait_in_syscall(t.proc.prog, sleeps, 2, SLEEP_MS / 2);
	int at = (int)(probe_now_ms() - start); /* when the signal came */
	sbx_signal(&t.proc, SIGTERM);
	probe_recv(fd, &rep, false, REPLY_MS);
	took = probe_now_ms() - start;
	close(fd);
	bool ok = rep.status == 200 && took >= SLEEP_MS - 10;
	if (rep.status != 200)
		result_printf(r,
		              "SIGTERM came %d ms into /sleep?ms=%d: expected "
		              "the 200 all the same, got %d %s\n",
		              at, SLEEP_MS, rep.status, rep.err);
	else if (!ok)
		result_printf(r,
		              "SIGTERM came %d ms into /sleep?ms=%d, and the "
		              "answer came after %.0f ms: an interrupted "
		              "nanosleep() returns -1 with EINTR and the time "
		              "still left in its second argument: sleep that "
		              "too, in a loop\n",
		              at, SLEEP_MS, took);
	probe_reply_free(&rep);
	if (!ok) {
		target_kill(&t);
		return false;
	}
	result_printf(r,
	              "SIGTERM %d ms into /sleep?ms=%d: answered after "
	              "%.0f ms\n",
	              at, SLEEP_MS, took);
	return exits_cleanly(&t, "after answering /sleep", r);
}

static enum verdict stop_mid_request(struct grader *g, const struct check *c,
                                     struct result *r)
{
	if (!stop_in_read(g, c, r) || !stop_in_sleep(g, c, r))
		return FAIL;
	result_printf(r, "a stop signal in read() and in the /sleep: both "
	                 "clients served in full, then exit status 0\n");
	return PASS;
}

/* Serves one GET / on t and waits for the server to close first (lab 1
 * always does), so that the TIME_WAIT is on its side of the connection. */
static bool serve_and_close(struct target *t, struct result *r)
{
	struct http_reply rep;
	bool closed = false;
	int fd = probe_connect(t->port, REPLY_MS);

	memset(&rep, 0, sizeof(rep));
	if (fd >= 0) {
		probe_send(fd, REQ_CLOSE("GET /"), strlen(REQ_CLOSE("GET /")),
		           0, 0);
		probe_recv(fd, &rep, false, REPLY_MS);
		closed = probe_wait_closed(fd, REPLY_MS);
		close(fd);
	}
	if (rep.status != 200 || !closed)
		result_printf(r, "GET / on the first server: %s\n",
		              rep.status != 200 ? "no 200"
		                                : "the connection stayed open");
	probe_reply_free(&rep);
	return rep.status == 200 && closed;
}

/* True when a socket in another state than TIME_WAIT holds local port
 * port (the kernel's tables, /proc/net/tcp and tcp6): another program took
 * it. (A SO_REUSEADDR bind cannot tell: it may take a TIME_WAIT port only
 * if the socket that left it had SO_REUSEADDR too.) */
static bool port_held_by_other(int port)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	enum { TCP_TIME_WAIT = 6 };
	char line[512], local[128];
	unsigned state;
	bool held = false;

	for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		FILE *f = fopen(tables[i], "re");

		while (f && !held && fgets(line, sizeof(line), f)) {
			char *colon;

			if (sscanf(line, " %*d: %127s %*s %x", local, &state) !=
			        2 ||
			    !(colon = strrchr(local, ':')))
				continue;
			held = strtol(colon + 1, NULL, 16) == port &&
			       state != TCP_TIME_WAIT;
		}
		if (f)
			fclose(f);
	}
	return held;
}

/* A restarted server binds its port again at once, although the
 * connections it just closed wait in TIME_WAIT on that port for a minute:
 * what SO_REUSEADDR is for. */
static enum verdict restart_same_port(struct grader *g, const struct check *c,
                                      struct result *r)
{
	char port_arg[16], tag[128], failed[sizeof(g->start_failed)];
	const char *args[] = {"--port", port_arg, NULL};
	struct target_opts o = {.args = args, .tag = tag};
	struct target t;
	int rc = -1;

	snprintf(tag, sizeof(tag), "%s-again", c->name);
	/* This check's restart failing is no reason to point later checks
	 * here for why their server did not start. */
	memcpy(failed, g->start_failed, sizeof(failed));
	/* Another program may take the free port in the moment between
	 * the two servers (an outgoing connection's port, say): then the
	 * scenario is tried once more, on a new port. */
	for (int attempt = 1; attempt <= 2 && rc < 0; attempt++) {
		if (!target_serve(g, c, &t, NULL, r))
			return FAIL;
		snprintf(port_arg, sizeof(port_arg), "%d", t.port);
		if (!serve_and_close(&t, r))
			return lab1_done(&t, r, FAIL);
		target_stop(&t, 3000);
		rc = target_start(g, &t, &o, r);
		memcpy(g->start_failed, failed, sizeof(failed));
		if (rc < 0 && port_held_by_other(atoi(port_arg)) &&
		    attempt == 1)
			result_printf(
			    r,
			    "(grader: another program took port %s "
			    "meanwhile; trying again on a new port)\n",
			    port_arg);
		else if (rc < 0)
			break;
	}
	if (rc < 0) {
		result_printf(r,
		              "the server was started again with --port %s, "
		              "where it had just served a client (its side of "
		              "that connection waits in TIME_WAIT), and could "
		              "not listen: setsockopt(SO_REUSEADDR) before "
		              "bind() lets it\n",
		              port_arg);
		return FAIL;
	}
	if (!EXPECT(r, t.port, REQ_CLOSE("GET /"), 200))
		return lab1_done(&t, r, FAIL);
	result_printf(r, "restarted on port %s at once, and serving\n",
	              port_arg);
	return lab1_done(&t, r, PASS);
}

/* Clients that knock while the waiter is busy wait in the kernel's queue,
 * connected: connect() succeeds at once (handout, appendix A.1). Past
 * listen()'s backlog the kernel drops their SYNs, and each retries a second
 * later. */
static enum verdict backlog(struct grader *g, const struct check *c,
                            struct result *r)
{
	enum { N = 40, WAIT_MS = 500 };
	const char *slow = REQ_CLOSE("GET /sleep?ms=1500");
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct pollfd p[N];
	struct http_reply rep;
	struct target t;
	int fds[N], n = 0, done = 0;
	bool ok = false;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	sa.sin_port = htons((uint16_t)t.port);
	int a = probe_connect(t.port, REPLY_MS);
	if (a < 0) {
		result_printf(r, "cannot connect: %s\n", strerror(-a));
		return lab1_done(&t, r, FAIL);
	}
	probe_send(a, slow, strlen(slow), 0, 0);
	probe_sleep_ms(100); /* the waiter stands at the kitchen door */
	for (n = 0; n < N; n++) {
		fds[n] = socket(AF_INET,
		                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[n] < 0)
			break;
		if (connect(fds[n], (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		    errno != EINPROGRESS) {
			close(fds[n]);
			break;
		}
		p[n] = (struct pollfd){fds[n], POLLOUT, 0};
	}
	double deadline = probe_now_ms() + WAIT_MS;
	while (done < n && probe_now_ms() < deadline) {
		if (poll(p, (nfds_t)n, (int)(deadline - probe_now_ms())) <= 0)
			break;
		for (int i = 0; i < n; i++) {
			int err = 0;
			socklen_t len = sizeof(err);

			if (!(p[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
			if (err == 0)
				done++;
			p[i].fd = -1; /* poll() skips it from now on */
		}
	}
	for (int i = 0; i < n; i++)
		close(fds[i]);
	if (n < N)
		result_printf(r, "grader: could open only %d sockets\n", n);
	else if (done < N)
		result_printf(
		    r,
		    "while the server slept for client A "
		    "(/sleep?ms=1500), %d clients connected: only %d "
		    "got through connect() within %d ms. The kernel "
		    "completes connections the server has not "
		    "accepted yet, up to listen()'s backlog; past it, "
		    "it drops their SYNs and they retry a second "
		    "later. Use listen(fd, 128)\n",
		    N, done, WAIT_MS);
	else
		ok = true;
	probe_recv(a, &rep, false, REPLY_MS);
	close(a);
	if (ok && rep.status != 200) {
		result_printf(r, "client A got %d, not 200: %s\n", rep.status,
		              rep.err);
		ok = false;
	}
	probe_reply_free(&rep);
	ok = ok && EXPECT(r, t.port, REQ_CLOSE("GET /"), 200);
	if (ok)
		result_printf(r,
		              "%d clients connected at once while the server "
		              "was busy\n",
		              N);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* True when the server closes fd within ms; *extra counts the bytes that
 * came first. */
static bool closes_within(int fd, int ms, long *extra)
{
	char buf[4096];
	struct pollfd p = {fd, POLLIN, 0};
	double deadline = probe_now_ms() + ms;

	*extra = 0;
	while (probe_now_ms() < deadline &&
	       poll(&p, 1, (int)(deadline - probe_now_ms()) + 1) == 1) {
		ssize_t got = recv(fd, buf, sizeof(buf), 0);

		if (got == 0 || (got < 0 && errno == ECONNRESET))
			return true;
		if (got < 0 && errno != EINTR && errno != EAGAIN)
			return true;
		if (got > 0)
			*extra += got;
	}
	return false;
}

/* Lab 1 answers one request per connection, whatever the client hoped:
 * the head says "Connection: close", and the server does close. */
static enum verdict connection_close(struct grader *g, const struct check *c,
                                     struct result *r)
{
	static const char *const reqs[] = {
	    REQ("GET /"), /* HTTP/1.1: keep-alive unless told otherwise */
	    "GET / HTTP/1.1\r\nHost: grader\r\nConnection: keep-alive\r\n\r\n",
	};
	struct target t;
	char q[200], conn[64];
	bool ok = true;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (size_t i = 0; ok && i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct http_reply rep;
		long extra = 0;
		bool closed = false;
		int fd = probe_connect(t.port, REPLY_MS);

		if (fd < 0) {
			result_printf(r, "cannot connect: %s\n", strerror(-fd));
			ok = false;
			break;
		}
		probe_send(fd, reqs[i], strlen(reqs[i]), 0, 0);
		probe_recv(fd, &rep, false, REPLY_MS);
		if (rep.status == 200)
			closed = closes_within(fd, 1000, &extra);
		close(fd);
		probe_quote(reqs[i], strlen(reqs[i]), 100, q, sizeof(q));
		if (rep.status != 200) {
			result_printf(r, "sent %s\nexpected 200, got %d %s\n",
			              q, rep.status, rep.err);
			ok = false;
		} else if (!probe_header(&rep, "Connection", conn,
		                         sizeof(conn)) ||
		           strcasecmp(conn, "close") != 0) {
			result_printf(
			    r,
			    "sent %s\nthe reply says \"Connection: "
			    "%s\": lab 1 answers one request per "
			    "connection, so every head says "
			    "\"Connection: close\" (keep_alive false "
			    "in http_format_head())\n",
			    q,
			    probe_header(&rep, "Connection", conn, sizeof(conn))
			        ? conn
			        : "(none)");
			ok = false;
		} else if (!closed || extra > 0) {
			result_printf(r,
			              "sent %s\nafter the reply the server %s: "
			              "it said \"Connection: close\", so close "
			              "the connection after the body\n",
			              q,
			              extra > 0
			                  ? "sent more bytes"
			                  : "kept the connection open for "
			                    "1 s");
			ok = false;
		}
		probe_reply_free(&rep);
	}
	if (ok)
		result_printf(r, "\"Connection: close\" and a closed "
		                 "connection, also when the client asked to "
		                 "keep it\n");
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* A head just under HTTP_MAX_HEAD, with HTTP_MAX_HEADERS - 1 headers, is
 * legal: the server's buffer must hold it (handout 4.4: HTTP_MAX_HEAD
 * bytes), or it answers 431 to a request the parser accepts. */
static enum verdict large_head(struct grader *g, const struct check *c,
                               struct result *r)
{
	enum { FILL = 29, VALUE = 500 };
	struct http_reply rep;
	struct target t;
	char *req = malloc(MAX_HEAD);
	size_t n;
	bool ok;

	if (!req || !target_serve(g, c, &t, NULL, r)) {
		free(req);
		return FAIL;
	}
	n = (size_t)sprintf(req, "%s", REQ_CLOSE("GET /files/hello.txt"));
	n -= 2; /* before the empty line */
	for (int i = 0; i < FILL; i++) {
		n += (size_t)sprintf(req + n, "X-Fill-%02d: ", i);
		memset(req + n, 'f', VALUE);
		n += VALUE;
		n += (size_t)sprintf(req + n, "\r\n");
	}
	n += (size_t)sprintf(req + n, "\r\n");
	ok = lab1_expect(r, t.port, req, n, 200, &rep);
	if (!ok)
		result_printf(r,
		              "(a legal head of %zu bytes and %d headers: "
		              "under HTTP_MAX_HEAD and HTTP_MAX_HEADERS)\n",
		              n, FILL + 2);
	else if (rep.body_len != strlen(HELLO) ||
	         memcmp(rep.body, HELLO, rep.body_len) != 0)
		result_printf(r,
		              "a %zu-byte head for /files/hello.txt: "
		              "wrong body\n",
		              n),
		    ok = false;
	else
		result_printf(r, "a %zu-byte head with %d headers: 200\n", n,
		              FILL + 2);
	probe_reply_free(&rep);
	free(req);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* The parser's 501 and 505 are statuses to send like any other: every
 * error is a complete response, then close (handout 2, "Errors"). */
static enum verdict unsupported(struct grader *g, const struct check *c,
                                struct result *r)
{
	struct target t;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	bool ok =
	    EXPECT(r, t.port,
	           "GET / HTTP/1.1\r\nHost: grader\r\n"
	           "Transfer-Encoding: gzip\r\n\r\n",
	           501) &&
	    EXPECT(r, t.port, "GET / HTTP/2.0\r\nHost: grader\r\n\r\n", 505) &&
	    EXPECT(r, t.port, "GET / HTTP/1.0\r\nHost: grader\r\n\r\n", 200) &&
	    EXPECT(r, t.port, REQ_CLOSE("GET /"), 200);
	if (ok)
		result_printf(r, "Transfer-Encoding: gzip: 501; HTTP/2.0: 505; "
		                 "HTTP/1.0: 200\n");
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* ---- latency --------------------------------------------------------------
 */

enum verdict lab1_sequential(struct grader *g, const struct check *c,
                             struct result *r)
{
	enum { N = 300 };
	/* ms at p99: a server that naps now and then (polling for clients)
	 * delays only a few of 300 requests, which p90 would not see. The
	 * reference's p99 stays under 1 ms. */
	const double limit = 20;
	struct target t;
	struct stats s;
	double ms[N];
	char text[160];

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (int attempt = 1; attempt <= 2; attempt++) {
		size_t n = 0, slow = 0;
		/* More than 1% slow and the p99 is lost: no need to wait for
		 * the rest (a server that naps 100 ms each time would take
		 * 30 s an attempt). */
		for (int i = 0; i < N && n == (size_t)i && slow <= N / 100;
		     i++) {
			struct http_reply rep;
			/* Every tenth client finds the server idle: back to
			 * back, the next connect() may always beat the
			 * server's return to accept(), and a nap taken only
			 * when no client is waiting would never show. */
			if (i % 10 == 0)
				probe_sleep_ms(5);
			if (probe_request(t.port, REQ_CLOSE("GET /"),
			                  strlen(REQ_CLOSE("GET /")), &rep,
			                  3000) == 0 &&
			    rep.status == 200) {
				ms[n++] = rep.ms;
				slow += rep.ms >= limit;
			} else {
				result_printf(
				    r, "request %d failed: %s\n", i + 1,
				    rep.err[0] ? rep.err : "status not 200");
			}
			probe_reply_free(&rep);
		}
		stats_summarize(ms, n, &s);
		result_printf(r, "attempt %d: %zu/%d answered%s; %s\n", attempt,
		              n, N,
		              slow > N / 100 ? " (stopped: over 1% slow)" : "",
		              stats_format(&s, text, sizeof(text)));
		if (n == N && s.p99 < limit)
			return lab1_done(&t, r, PASS);
		if (n < N && slow <= N / 100)
			break; /* a broken server, not a noisy machine */
	}
	result_printf(
	    r,
	    "expected all %d answered with p99 under %.0f ms (tried twice)\n",
	    N, limit);
	return lab1_done(&t, r, FAIL);
}

/* ---- experiment -----------------------------------------------------------
 */

enum verdict lab1_bad_waiter(struct grader *g, const struct check *c,
                             struct result *r)
{
	struct target t;
	struct http_reply a, b;
	const char *slow = REQ_CLOSE("GET /sleep?ms=300");

	if (!target_serve(g, c, &t, NULL, r))
		return SKIP;
	int fd = probe_connect(t.port, REPLY_MS);
	probe_send(fd, slow, strlen(slow), 0, 0);
	probe_sleep_ms(50);
	probe_request(t.port, REQ_CLOSE("GET /"), strlen(REQ_CLOSE("GET /")),
	              &b, REPLY_MS);
	probe_recv(fd, &a, false, REPLY_MS);
	close(fd);
	if (a.status != 200 || b.status != 200) {
		result_printf(r, "no numbers: A got %d, B got %d (%s)\n",
		              a.status, b.status, b.err[0] ? b.err : a.err);
		probe_reply_free(&a);
		probe_reply_free(&b);
		return lab1_done(&t, r, SKIP);
	}
	result_printf(r,
	              "client A asked for /sleep?ms=300; 50 ms later client B "
	              "asked for GET /.\n"
	              "B waited %.1f ms for a reply that takes well under 1 ms "
	              "to make.\n",
	              b.ms);
	if (g->lab->number == 1)
		result_printf(r, "That is the bad waiter: while he stands at "
		                 "the kitchen door, nobody is served.\nLab 2 "
		                 "fixes this with one thread and select().\n");
	else
		result_printf(r, "In lab 1 B waited about 250 ms. The waiter "
		                 "no longer stands at the kitchen door.\n");
	probe_reply_free(&a);
	probe_reply_free(&b);
	return lab1_done(&t, r, PASS);
}

/* ---- leaks: the scenario the server runs under valgrind ------------------ */

void lab1_leak_scenario(struct grader *g, int port)
{
	static const char *const reqs[] = {
	    REQ_CLOSE("GET /"),
	    REQ_CLOSE("HEAD /"),
	    REQ_CLOSE("GET /files/hello.txt"),
	    REQ_CLOSE("GET /files/big.bin"),
	    REQ_CLOSE("GET /nope"),
	    REQ_CLOSE("GET /files/../secret.txt"),
	    "garbage\r\n\r\n",
	    REQ_CLOSE("DELETE /"),
	    REQ_CLOSE("GET /sleep?ms=20"),
	    REQ_CLOSE("GET /sleep?ms=x"),
	};
	struct http_reply rep;

	(void)g;
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		int rc =
		    probe_request(port, reqs[i], strlen(reqs[i]), &rep, 10000);
		bool hung = rc < 0 && rep.raw_len == 0 && !rep.closed;
		probe_reply_free(&rep);
		if (hung)
			return; /* a server that hangs would cost 20 s a request
			         */
	}
	int fd = probe_connect(port, REPLY_MS); /* half a request, then gone */
	if (fd >= 0) {
		probe_send(fd, "GET / HT", 8, 0, 0);
		close(fd);
	}
	lab1_vanish(port);
	probe_request(port, REQ_CLOSE("GET /"), strlen(REQ_CLOSE("GET /")),
	              &rep, 10000);
	probe_reply_free(&rep);
}

/* ---- the table --------------------------------------------------------------
 */

static const struct check checks[] = {
    {"build", STAGE_BUILD, 5, check_build,
     "read the first compiler error; fix it; rebuild with `make build LAB=1`",
     NULL, false},

    UNIT(parse_simple_get, 2,
         "http_parse_request: a plain GET must give method, path, version and "
         "the head's length, in views that point into buf (copy nothing)"),
    UNIT(parse_headers, 3,
         "header values lose surrounding spaces; names compare ignoring case; "
         "Connection is a comma-separated list, spaces around each element"),
    UNIT(parse_incomplete, 2,
         "return 0 (need more) for every prefix of a valid request; never "
         "guess"),
    UNIT(parse_malformed, 3,
         "return -400 as soon as the bytes can never become a valid request"),
    UNIT(
        parse_limits, 2,
        "check HTTP_MAX_REQUEST_LINE and HTTP_MAX_HEAD even before the line "
        "or head is complete; they limit the head (exactly the limit is fine), "
        "not the bytes that came after it"),
    UNIT(write_all_partial, 3,
         "write() may accept fewer bytes than asked (or fail with EINTR): loop "
         "until all are sent"),
    UNIT(read_request_pieces, 3,
         "one read() returns whatever has arrived: keep reading and re-parsing "
         "until the head is complete"),
    UNIT(read_request_eof, 2,
         "read() returning 0 means the peer closed: return -ECONNRESET"),
    UNIT(read_request_bad, 2,
         "parse after every read(): a malformed start must be refused at once, "
         "not after EOF"),
    UNIT(write_all_epipe, 1,
         "a write to a closed peer fails with EPIPE: return -EPIPE"),
    UNIT(read_request_full, 1,
         "once len == cap and the parser still wants more, return -431; each "
         "read() may fill only the cap - len bytes still free"),
    UNIT(read_request_error, 1,
         "only EINTR means 'read again': any other failed read() returns "
         "-errno at once"),
    HIDDEN(every_split, 1,
           "the parser must give the same answer however the bytes are split"),
    HIDDEN(version, 1,
           "HTTP/1.0 and HTTP/1.1 are accepted; other well-formed versions get "
           "505, junk gets 400"),
    HIDDEN(header_count, 1,
           "HTTP_MAX_HEADERS headers are fine; one more is 431"),
    HIDDEN(bare_lf, 1, "accept a bare \\n as a line end, as most servers do"),
    HIDDEN(transfer_encoding, 1,
           "Transfer-Encoding: chunked sets req.chunked; any other coding "
           "is 501; chunked twice, or with Content-Length, is 400"),
    HIDDEN(query_split, 1,
           "split the target at the first '?' into path and query"),
    HIDDEN(write_all_large, 1,
           "io_write_all must deliver every byte, in order, however large"),
    HIDDEN(accept_backoff, 2,
           "when accept() fails with EMFILE or ENFILE the connection stays "
           "queued: pause ~100 ms before the next try, and save errno before "
           "fprintf(), which may change it"),
    HIDDEN(format_head, 1,
           "the given http_format_head() and http_reason() are in your http.c: "
           "keep their output byte for byte, and -ENOSPC when the head and its "
           "NUL do not fit"),
    HIDDEN(not_a_string, 1,
           "buf is not a C string: nothing ends it, and '\\0' bytes are data; "
           "use lengths and memchr(), never strlen()/strchr()/strstr(), and "
           "never read buf[len]"),
    HIDDEN(server_fds, 1,
           "every socket is close-on-exec (SOCK_CLOEXEC in socket(), "
           "accept4(..., SOCK_CLOEXEC)); a port outside 0..65535 is -EINVAL; "
           "a failed server_listen() closes its socket and returns -errno"),
    HIDDEN(run_fatal, 1,
           "EBADF, EINVAL, ENOTSOCK, EFAULT from accept() mean the listening "
           "socket itself is broken: server_run() returns -errno, and 0 after "
           "a stop signal; server_signals() returns 0 when it succeeded"),

    {"integration.get_root", STAGE_INTEGRATION, 3, lab1_get_root,
     "answer GET / with 200, a Content-Length and that many body bytes", NULL,
     false},
    {"integration.loopback_only", STAGE_INTEGRATION, 1, loopback_only,
     "bind the listening socket to 127.0.0.1 (INADDR_LOOPBACK), not "
     "INADDR_ANY: a lab server is for this machine alone",
     NULL, false},
    {"integration.head_root", STAGE_INTEGRATION, 3, lab1_head_root,
     "HEAD gets the same head as GET (same Content-Length) and no body", NULL,
     false},
    {"integration.large_file", STAGE_INTEGRATION, 4, lab1_large_file,
     "send the whole response: io_write_all must loop until every byte is "
     "written",
     NULL, false},
    {"integration.path_traversal", STAGE_INTEGRATION, 2, lab1_traversal,
     "never serve a file outside --root", NULL, false},
    {"integration.not_found", STAGE_INTEGRATION, 1, lab1_not_found,
     "unknown paths and missing files are 404", NULL, false},
    {"integration.method_405", STAGE_INTEGRATION, 1, lab1_method_405,
     "methods other than GET and HEAD get 405 with an Allow header", NULL,
     false},
    {"integration.malformed_400", STAGE_INTEGRATION, 3, lab1_malformed_400,
     "answer malformed requests with 400 (then close) and keep serving", NULL,
     false},
    {"integration.uri_too_long_414", STAGE_INTEGRATION, 2, lab1_uri_414,
     "a request line longer than HTTP_MAX_REQUEST_LINE gets 414, even before "
     "it ends",
     NULL, false},
    {"integration.headers_too_large_431", STAGE_INTEGRATION, 2,
     lab1_headers_431, "too many headers or a head over HTTP_MAX_HEAD gets 431",
     NULL, false},
    {"integration.byte_at_a_time", STAGE_INTEGRATION, 3, lab1_byte_at_a_time,
     "a request may arrive in many pieces: keep reading until the blank line, "
     "re-parsing as you go",
     NULL, false},
    {"integration.client_vanishes", STAGE_INTEGRATION, 4, lab1_client_vanishes,
     "ignore SIGPIPE (signal(SIGPIPE, SIG_IGN)), and treat EPIPE/ECONNRESET "
     "from write() as 'client gone': close and carry on",
     NULL, false},
    {"integration.many_connections", STAGE_INTEGRATION, 3,
     lab1_many_connections,
     "close the client socket on every path, including errors and early "
     "disconnects",
     NULL, false},
    {"integration.sleep", STAGE_INTEGRATION, 1, lab1_sleep_route,
     "/sleep?ms=N answers after N ms; a bad N is 400", NULL, false},
    {"integration.sleep_seconds", STAGE_INTEGRATION, 1, sleep_seconds,
     "a sleep over a second: whole seconds go in tv_sec, the rest in tv_nsec "
     "(below 1,000,000,000)",
     NULL, false},
    {"integration.clean_exit", STAGE_INTEGRATION, 3, lab1_clean_exit,
     "on SIGINT/SIGTERM leave the accept loop, close and free everything, exit "
     "0",
     NULL, false},
    {"integration.stop_mid_request", STAGE_INTEGRATION, 2, stop_mid_request,
     "a stop signal does not cut an order short: read() and nanosleep() "
     "failing with EINTR mean 'go on' (nanosleep's second argument holds the "
     "time left); serve the client, then leave the loop",
     NULL, false},
    {"integration.restart_same_port", STAGE_INTEGRATION, 1, restart_same_port,
     "setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) before "
     "bind(): the port's old connections wait in TIME_WAIT for a minute",
     NULL, false},
    {"integration.backlog", STAGE_INTEGRATION, 1, backlog,
     "listen(fd, 128): clients that arrive while the waiter is busy wait in "
     "the kernel's queue, connected",
     NULL, false},
    {"integration.connection_close", STAGE_INTEGRATION, 1, connection_close,
     "lab 1 answers one request per connection: keep_alive false in "
     "http_format_head() (\"Connection: close\"), then close()",
     NULL, false},
    {"integration.large_head", STAGE_INTEGRATION, 1, large_head,
     "the request buffer holds HTTP_MAX_HEAD bytes: a legal head just under "
     "the limit is answered, not refused",
     NULL, false},
    {"integration.unsupported_501_505", STAGE_INTEGRATION, 1, unsupported,
     "every negative status from the parser (-n <= -400) is answered with "
     "app_error(-n), 501 and 505 too",
     NULL, false},

    {"leaks.memory", STAGE_LEAKS, 5, check_leaks_memory,
     "free every malloc on every path: the response body, buffers on error "
     "paths (see the valgrind stack above)",
     NULL, false},
    {"leaks.invalid_access", STAGE_LEAKS, 3, check_leaks_invalid,
     "valgrind saw a read or write outside a block, or a use of uninitialised "
     "memory (stack above)",
     NULL, false},
    {"leaks.descriptors", STAGE_LEAKS, 2, check_leaks_fds,
     "close every descriptor you open (sockets, files) before exit", NULL,
     false},

    {"latency.sequential", STAGE_LATENCY, 3, lab1_sequential,
     "each request should take well under a millisecond: something sleeps or "
     "polls slowly",
     NULL, false},

    {"experiment.bad_waiter", STAGE_EXPERIMENT, 0, lab1_bad_waiter, NULL, NULL,
     false},
    QUIZ(q1),
    QUIZ(q2),
    QUIZ(q3),
    QUIZ(q4),
};

static const struct lab lab1 = {
    .number = 1,
    .dir = "01-blocking-server",
    .title = "the blocking server (the bad waiter)",
    .checks = checks,
    .nchecks = sizeof(checks) / sizeof(checks[0]),
    .setup = lab1_setup,
    .leak_scenario = lab1_leak_scenario,
};

GRADER_LAB(lab1)
