/* test_hidden.c - hidden tests of lab 1: the public ones' harder cousins. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "io.h"
#include "server.h"
#include "testing.h"

enum { LARGE = 32 << 20, SMALL_BUF = 4096 };
/* How long the accept loop runs out of descriptors, and the CPU time it may
 * use meanwhile: a pause of ~100 ms per try needs a millisecond or two, a
 * loop that retries at once burns the whole core. */
enum { STARVED_MS = 600, STARVED_CPU_MS = 100 };

/* Asserts that a parsed view holds exactly the C string want. */
#define ck_assert_view(s, want)                                                \
	ck_assert_msg((s).n == strlen(want) &&                                 \
	                  ((s).n == 0 || memcmp((s).p, (want), (s).n) == 0),   \
	              "expected \"%s\", got \"%.*s\"", (want), (int)(s).n,     \
	              (s).n > 0 ? (s).p : "")

static long parse(const char *s, struct http_request *req)
{
	return http_parse_request(s, strlen(s), req);
}

static void sleep_us(long us)
{
	struct timespec t = {us / 1000000, (us % 1000000) * 1000};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* sv[0] is the end under test; its reads time out rather than hang. */
static void make_pair(int sv[2])
{
	struct timeval timeout = {.tv_sec = 5};

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	                 0);
	setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
}

/* --- the parser --- */

static const char split_req[] = "GET /a/b?c=d HTTP/1.1\r\n"
                                "Host: localhost:8080\r\n"
                                "User-Agent: hidden/1.0\r\n"
                                "Accept: text/html, text/plain;q=0.9\r\n"
                                "Accept-Encoding: identity\r\n"
                                "X-Trim: \t value \t\r\n"
                                "Connection: keep-alive\r\n"
                                "\r\n";

struct trickle {
	int fd;
	const char *s;
};

/* Writes s one byte per write(), pausing so that reads see the pieces. */
static void *trickle(void *arg)
{
	const struct trickle *t = arg;

	for (size_t i = 0; t->s[i] != '\0'; i++) {
		ssize_t n;

		while ((n = write(t->fd, t->s + i, 1)) < 0 && errno == EINTR)
			;
		if (n < 0)
			break;
		sleep_us(200);
	}
	return NULL;
}

START_TEST(test_hidden_every_split)
{
	size_t len = strlen(split_req);
	struct http_request req;
	char buf[HTTP_MAX_HEAD];
	size_t received = 0;
	pthread_t writer;
	int sv[2];
	long n;

	for (size_t i = 0; i < len; i++) {
		n = http_parse_request(split_req, i, &req);
		ck_assert_msg(n == 0, "the first %zu bytes gave %ld, not 0", i,
		              n);
	}
	ck_assert_int_eq(http_parse_request(split_req, len, &req), (long)len);
	ck_assert_uint_eq(req.nheaders, 6);

	make_pair(sv);
	struct trickle t = {sv[1], split_req};
	pthread_create(&writer, NULL, trickle, &t);
	n = io_read_request(sv[0], buf, sizeof(buf), &received, &req);
	pthread_join(writer, NULL);
	close(sv[0]);
	close(sv[1]);

	ck_assert_int_eq(n, (long)len);
	ck_assert_uint_eq(received, len);
	ck_assert_view(req.path, "/a/b");
	ck_assert_view(req.headers[4].value, "value");
	ck_assert(req.keep_alive);
}
END_TEST

START_TEST(test_hidden_version)
{
	struct http_request req;
	const char *s;

	ck_assert_int_eq(parse("GET / HTTP/2.0\r\n\r\n", &req), -505);
	ck_assert_int_eq(parse("GET / HTTP/0.9\r\n\r\n", &req), -505);
	ck_assert_int_eq(parse("GET / HTTX/1.1\r\n\r\n", &req), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.1x\r\n\r\n", &req), -400);
	ck_assert_int_eq(parse("GET / HTTP/1.\r\n\r\n", &req), -400);
	ck_assert_int_eq(parse("GET / HTTP/11.1\r\n\r\n", &req), -400);

	s = "GET / HTTP/1.0\r\nHost: x\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_int_eq(req.version_minor, 0);
	ck_assert(!req.keep_alive);
	s = "GET / HTTP/1.1\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_int_eq(req.version_minor, 1);
}
END_TEST

/* A head with n headers "H<i>: <i>". */
static size_t head_with_headers(char *buf, int n)
{
	size_t len = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");

	for (int i = 0; i < n; i++)
		len += (size_t)sprintf(buf + len, "H%d: %d\r\n", i, i);
	len += (size_t)sprintf(buf + len, "\r\n");
	return len;
}

START_TEST(test_hidden_header_count)
{
	static char buf[4096];
	struct http_request req;
	size_t len;

	len = head_with_headers(buf, HTTP_MAX_HEADERS);
	ck_assert_int_eq(http_parse_request(buf, len, &req), (long)len);
	ck_assert_uint_eq(req.nheaders, HTTP_MAX_HEADERS);
	ck_assert_view(req.headers[HTTP_MAX_HEADERS - 1].name, "H31");

	len = head_with_headers(buf, HTTP_MAX_HEADERS + 1);
	ck_assert_int_eq(http_parse_request(buf, len, &req), -431);
}
END_TEST

START_TEST(test_hidden_bare_lf)
{
	const char *s = "GET /lf HTTP/1.1\nHost: a\nX-B:  b \n\n";
	struct http_request req;

	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_view(req.path, "/lf");
	ck_assert_uint_eq(req.nheaders, 2);
	ck_assert_view(req.headers[0].value, "a");
	ck_assert_view(req.headers[1].name, "X-B");
	ck_assert_view(req.headers[1].value, "b");

	/* Mixed endings are fine too. */
	s = "GET / HTTP/1.1\r\nHost: a\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_view(req.headers[0].value, "a");
}
END_TEST

START_TEST(test_hidden_transfer_encoding)
{
	struct http_request req;
	const char *s;

	ck_assert_int_eq(
	    parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
	          &req),
	    -501);
	ck_assert_int_eq(
	    parse("GET / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n", &req),
	    -501);
	/* Only that header: similar names and bodies with a length are fine. */
	s = "POST / HTTP/1.1\r\nX-Transfer-Encoding: chunked\r\n"
	    "Content-Length: 0\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
}
END_TEST

START_TEST(test_hidden_query_split)
{
	struct http_request req;
	const char *s;

	s = "GET /a/b?x=1?y=2 HTTP/1.1\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_view(req.target, "/a/b?x=1?y=2");
	ck_assert_view(req.path, "/a/b");
	ck_assert_view(req.query, "x=1?y=2");

	s = "GET /p? HTTP/1.1\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_view(req.path, "/p");
	ck_assert_uint_eq(req.query.n, 0);

	s = "GET /sleep?ms=5 HTTP/1.1\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_view(req.path, "/sleep");
	ck_assert_view(req.query, "ms=5");
}
END_TEST

/* --- io_write_all with 32 MiB --- */

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h;
}

static const uint64_t fnv_init = 0xcbf29ce484222325u;

struct reader {
	int fd;
	size_t total;
	uint64_t sum;
};

static void *checksum_reader(void *arg)
{
	struct reader *r = arg;
	unsigned char buf[3000];
	unsigned reads = 0;
	ssize_t n;

	r->sum = fnv_init;
	while ((n = read(r->fd, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		r->sum = fnv1a(r->sum, buf, (size_t)n);
		r->total += (size_t)n;
		/* Pauses let the writer find the send buffer full. */
		if (++reads % 64 == 0)
			sleep_us(1000);
	}
	return NULL;
}

/* Signals without SA_RESTART make the writer's write() calls return early
 * (short counts, or EINTR), as they would in a busy server. */
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
		sleep_us(500);
	}
	return NULL;
}

START_TEST(test_hidden_write_all_large)
{
	int size = SMALL_BUF;
	unsigned char *data = malloc(LARGE);
	struct reader r = {0};
	struct pester p = {.target = pthread_self()};
	struct sigaction sa = {.sa_handler = on_signal}, old;
	struct sigaction ignore = {.sa_handler = SIG_IGN};
	pthread_t reader_thread, pester_thread;
	uint64_t x = 88172645463325252u;
	int sv[2];
	int rc;

	ck_assert_ptr_nonnull(data);
	for (size_t i = 0; i < LARGE; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		data[i] = (unsigned char)x;
	}
	make_pair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	sigemptyset(&sa.sa_mask);
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGUSR1, &sa, &old);
	r.fd = sv[1];
	pthread_create(&reader_thread, NULL, checksum_reader, &r);
	pthread_create(&pester_thread, NULL, pester, &p);

	rc = io_write_all(sv[0], data, LARGE);

	atomic_store(&p.stop, 1);
	pthread_join(pester_thread, NULL);
	sigaction(SIGUSR1, &ignore, NULL); /* drops a pending one */
	sigaction(SIGUSR1, &old, NULL);
	close(sv[0]);
	pthread_join(reader_thread, NULL);
	close(sv[1]);

	uint64_t want = fnv1a(fnv_init, data, LARGE);
	free(data);
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(r.total, LARGE);
	ck_assert_msg(r.sum == want, "checksum %016llx, expected %016llx",
	              (unsigned long long)r.sum, (unsigned long long)want);
}
END_TEST

/* --- the accept loop --- */

static long cpu_ms(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec * 1000L + ru->ru_utime.tv_usec / 1000 +
	       ru->ru_stime.tv_sec * 1000L + ru->ru_stime.tv_usec / 1000;
}

/* The child of test_hidden_accept_backoff: server_run() with a client
 * queued, no descriptor free to accept it, and a stderr whose reader has
 * gone, so that every message fails (EPIPE) and changes errno. */
static _Noreturn void starve(int listen_fd)
{
	struct app_config cfg = {0};
	struct rlimit lim;
	int p[2], fd;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) < 0 || dup2(p[1], STDERR_FILENO) < 0)
		_exit(2);
	close(p[0]);
	close(p[1]);
	/* The lowest free descriptor is the one accept() would need. */
	fd = dup(STDERR_FILENO);
	if (fd < 0 || close(fd) < 0 || getrlimit(RLIMIT_NOFILE, &lim) < 0)
		_exit(2);
	lim.rlim_cur = (rlim_t)fd;
	if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
		_exit(2);
	server_run(listen_fd, &cfg);
	_exit(0);
}

START_TEST(test_hidden_accept_backoff)
{
	int listen_fd = server_listen(0);
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct rusage ru;
	int client, status = 0;
	pid_t pid;
	bool ran;

	ck_assert_msg(listen_fd >= 0, "server_listen(0) returned %d",
	              listen_fd);
	addr.sin_port = htons((uint16_t)server_port(listen_fd));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(client, 0);
	/* Completes in the backlog: the connection waits to be accepted. */
	ck_assert_int_eq(
	    connect(client, (struct sockaddr *)&addr, sizeof(addr)), 0);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		starve(listen_fd);
	sleep_us(STARVED_MS * 1000L);
	ran = wait4(pid, &status, WNOHANG, &ru) == 0;
	if (ran) {
		kill(pid, SIGKILL);
		wait4(pid, &status, 0, &ru);
	}
	close(client);
	close(listen_fd);

	ck_assert_msg(
	    ran,
	    "server_run() returned while accept() failed with EMFILE "
	    "(exit status %d): a shortage of descriptors is no reason "
	    "to stop",
	    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	ck_assert_msg(
	    cpu_ms(&ru) < STARVED_CPU_MS,
	    "accept() failed with EMFILE for %d ms and server_run() "
	    "used %ld ms of CPU meanwhile: it retried without a pause",
	    STARVED_MS, cpu_ms(&ru));
}
END_TEST

static Suite *hidden_suite(void)
{
	Suite *s = suite_create("hidden");

	TEST_ADD(s, test_hidden_every_split, 10);
	TEST_ADD(s, test_hidden_version, 5);
	TEST_ADD(s, test_hidden_header_count, 5);
	TEST_ADD(s, test_hidden_bare_lf, 5);
	TEST_ADD(s, test_hidden_transfer_encoding, 5);
	TEST_ADD(s, test_hidden_query_split, 5);
	TEST_ADD(s, test_hidden_write_all_large, 20);
	TEST_ADD(s, test_hidden_accept_backoff, 5);
	return s;
}

TEST_MAIN(hidden_suite)
