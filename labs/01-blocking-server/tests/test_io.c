/* test_io.c - public tests of the blocking I/O helpers (lab 1).
 *
 * Each test talks to io.c through a socketpair(), with a thread playing the
 * other end when timing matters. Reads have a timeout (SO_RCVTIMEO), so an
 * io_read_request() that waits for the wrong thing fails instead of hanging.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "testing.h"

enum { BIG = 4 << 20, SMALL_BUF = 4096 };

static void sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* sv[0] is the end under test, sv[1] the test's end. */
static void make_pair(int sv[2])
{
	struct timeval timeout = {.tv_sec = 2};

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	                 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
}

/* The test's own write loop, so that these tests do not rely on the
 * io_write_all() under test. */
static void send_str(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* --- io_write_all --- */

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i ^ (i >> 8) ^ (i >> 16));
}

struct reader {
	int fd;
	size_t total;     /* bytes received */
	size_t first_bad; /* offset of the first wrong byte, or SIZE_MAX */
};

/* Reads in small bites with pauses that span a few signals, so that the
 * writer is interrupted both mid-write and before it could write a byte. */
static void *slow_reader(void *arg)
{
	struct reader *r = arg;
	unsigned char buf[1000];
	unsigned reads = 0;
	ssize_t n;

	while ((n = read(r->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != pattern(r->total + (size_t)i) &&
			    r->first_bad == SIZE_MAX)
				r->first_bad = r->total + (size_t)i;
		}
		r->total += (size_t)n;
		if (++reads % 64 == 0)
			sleep_ms(3);
	}
	return NULL;
}

/* A blocking write() only returns early when a signal interrupts it, so the
 * test sends the writer signals, handled without SA_RESTART, every ms: the
 * writer sees both short writes and EINTR, as a busy server would. */
struct pester {
	pthread_t target;
	atomic_int stop;
};

static void on_signal(int sig)
{
	(void)sig;
}

static void *pester(void *arg)
{
	struct pester *p = arg;

	while (!atomic_load(&p->stop)) {
		pthread_kill(p->target, SIGUSR1);
		sleep_ms(1);
	}
	return NULL;
}

START_TEST(test_write_all_partial)
{
	int size = SMALL_BUF;
	int sv[2];
	unsigned char *data = malloc(BIG);
	struct reader r = {.first_bad = SIZE_MAX};
	struct pester p = {.target = pthread_self()};
	struct sigaction sa = {.sa_handler = on_signal}, old;
	struct sigaction ignore = {.sa_handler = SIG_IGN};
	pthread_t reader_thread, pester_thread;
	int rc;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < BIG; i++)
		data[i] = pattern(i);
	make_pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	sigemptyset(&sa.sa_mask);
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	r.fd = sv[1];
	pthread_create(&reader_thread, NULL, slow_reader, &r);
	pthread_create(&pester_thread, NULL, pester, &p);

	rc = io_write_all(sv[0], data, BIG);

	atomic_store(&p.stop, 1);
	pthread_join(pester_thread, NULL);
	/* Ignoring discards a signal still pending; then the old action. */
	sigaction(SIGUSR1, &ignore, NULL);
	sigaction(SIGUSR1, &old, NULL);
	close(sv[0]); /* the reader sees end of file */
	pthread_join(reader_thread, NULL);
	close(sv[1]);
	free(data);

	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(r.total, BIG);
	ck_assert_msg(r.first_bad == SIZE_MAX, "wrong byte at offset %zu",
	              r.first_bad);
}
END_TEST

START_TEST(test_write_all_epipe)
{
	struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
	static char data[64 << 10];
	int sv[2];
	int rc;

	sigemptyset(&ignore.sa_mask);
	sigaction(SIGPIPE, &ignore, &old);
	make_pair(sv);
	close(sv[1]);

	rc = io_write_all(sv[0], data, sizeof(data));

	close(sv[0]);
	sigaction(SIGPIPE, &old, NULL);
	ck_assert_int_eq(rc, -EPIPE);
}
END_TEST

/* --- io_read_request --- */

struct pieces {
	int fd;
	const char *const *parts; /* NULL-terminated */
};

static void *send_pieces(void *arg)
{
	const struct pieces *p = arg;

	for (size_t i = 0; p->parts[i] != NULL; i++) {
		if (i > 0)
			sleep_ms(10);
		send_str(p->fd, p->parts[i]);
	}
	return NULL;
}

START_TEST(test_read_request_pieces)
{
	static const char *const parts[] = {
	    "GET /pie", "ces?x=1 HTTP/1.1\r\nHo",   "st: example\r\nX-A: ",
	    "1\r\n\r",  "\nGET /next HTTP/1.1\r\n", NULL,
	};
	char all[256] = "";
	char buf[HTTP_MAX_HEAD];
	struct http_request req;
	struct pieces p = {.parts = parts};
	size_t received = 0;
	pthread_t writer;
	int sv[2];
	long n;

	for (size_t i = 0; parts[i] != NULL; i++)
		strcat(all, parts[i]);
	long head_len = strstr(all, "\r\n\r\n") + 4 - all;
	make_pair(sv);
	p.fd = sv[1];
	pthread_create(&writer, NULL, send_pieces, &p);

	n = io_read_request(sv[0], buf, sizeof(buf), &received, &req);

	pthread_join(writer, NULL);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(n, head_len);
	/* Bytes after the head may or may not have been read with it. */
	ck_assert_uint_ge(received, head_len);
	ck_assert_uint_le(received, strlen(all));
	ck_assert_msg(memcmp(buf, all, received) == 0,
	              "the buffer does not hold the bytes sent");
	ck_assert_msg(req.path.n == 7 && memcmp(req.path.p, "/pieces", 7) == 0,
	              "expected path \"/pieces\", got \"%.*s\"",
	              (int)req.path.n, req.path.n > 0 ? req.path.p : "");
	ck_assert_uint_eq(req.nheaders, 2);
}
END_TEST

START_TEST(test_read_request_eof)
{
	char buf[HTTP_MAX_HEAD];
	struct http_request req;
	size_t received;
	int sv[2];
	long n;

	make_pair(sv);
	send_str(sv[1], "GET / HTTP/1.1\r\nHos");
	close(sv[1]);

	n = io_read_request(sv[0], buf, sizeof(buf), &received, &req);

	close(sv[0]);
	ck_assert_int_eq(n, -ECONNRESET);
}
END_TEST

START_TEST(test_read_request_bad)
{
	char buf[HTTP_MAX_HEAD];
	struct http_request req;
	size_t received;
	int sv[2];
	double start, took;
	long n;

	make_pair(sv);
	/* The peer stays connected: the answer must not wait for it. */
	send_str(sv[1], "garbage\r\n\r\n");

	start = now();
	n = io_read_request(sv[0], buf, sizeof(buf), &received, &req);
	took = now() - start;

	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(n, -400);
	ck_assert_msg(took < 1.0, "took %.2f s to see a bad request", took);
}
END_TEST

/* The pieces of a head that never ends: a buffer of cap bytes fills up. */
START_TEST(test_read_request_full)
{
	static const char *const parts[] = {
	    "GET / HTTP/1.1\r\nX-Long: ",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    NULL,
	};
	enum { CAP = 64 };
	/* Room past cap, so that a read past it shows instead of crashing. */
	char buf[4096];
	struct http_request req;
	struct pieces p = {.parts = parts};
	size_t received = 0;
	pthread_t writer;
	int sv[2];
	long n;

	memset(buf, '#', sizeof(buf));
	make_pair(sv);
	p.fd = sv[1];
	pthread_create(&writer, NULL, send_pieces, &p);

	n = io_read_request(sv[0], buf, CAP, &received, &req);

	pthread_join(writer, NULL);
	close(sv[0]);
	close(sv[1]);
	for (size_t i = CAP; i < sizeof(buf); i++)
		ck_assert_msg(buf[i] == '#',
		              "buf[%zu] was written, past cap (%d): read() "
		              "may fill only the cap - len bytes still free",
		              i, CAP);
	ck_assert_msg(n == -431,
	              "a head longer than the buffer (cap %d): expected "
	              "-431, got %ld",
	              CAP, n);
	ck_assert_uint_le(received, CAP);
}
END_TEST

/* Stops a read() that waits too long: the test's own end closes for
 * reading after a second, unless the test said it is done. */
struct watchdog {
	int fd;
	atomic_int done;
};

static void *watchdog(void *arg)
{
	struct watchdog *w = arg;

	for (int i = 0; i < 100 && !atomic_load(&w->done); i++)
		sleep_ms(10);
	if (!atomic_load(&w->done))
		shutdown(w->fd, SHUT_RD);
	return NULL;
}

START_TEST(test_read_request_error)
{
	struct timeval timeout = {.tv_usec = 100 * 1000};
	char buf[HTTP_MAX_HEAD];
	struct http_request req;
	struct watchdog w = {0};
	size_t received;
	pthread_t dog;
	int sv[2];
	double start, took;
	long n;

	make_pair(sv);
	/* A read() that waits 100 ms for nothing fails with EAGAIN: the
	 * kind of error a server with a read timeout sees (appendix A.15). */
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	send_str(sv[1], "GET / HTTP/1.1\r\nHo");
	w.fd = sv[0];
	pthread_create(&dog, NULL, watchdog, &w);

	start = now();
	n = io_read_request(sv[0], buf, sizeof(buf), &received, &req);
	took = now() - start;

	atomic_store(&w.done, 1);
	pthread_join(dog, NULL);
	close(sv[0]);
	close(sv[1]);
	ck_assert_msg(n == -EAGAIN,
	              "read() failed with EAGAIN (its timeout ran out) and "
	              "io_read_request() returned %ld after %.2f s, expected "
	              "-EAGAIN (%d) at once: only EINTR means \"read again\"",
	              n, took, -EAGAIN);
}
END_TEST

static Suite *io_suite(void)
{
	Suite *s = suite_create("io");

	TEST_ADD(s, test_write_all_partial, 5);
	TEST_ADD(s, test_read_request_pieces, 5);
	TEST_ADD(s, test_read_request_eof, 5);
	TEST_ADD(s, test_read_request_bad, 5);
	TEST_ADD(s, test_write_all_epipe, 5);
	TEST_ADD(s, test_read_request_full, 5);
	TEST_ADD(s, test_read_request_error, 5);
	return s;
}

TEST_MAIN(io_suite)
