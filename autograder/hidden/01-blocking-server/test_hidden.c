/* test_hidden.c - hidden tests of lab 1: the public ones' harder cousins. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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
	    parse("GET / HTTP/1.1\r\ntransfer-encoding: gzip\r\n\r\n", &req),
	    -501);
	ck_assert_int_eq(parse("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, "
	                       "chunked\r\n\r\n",
	                       &req),
	                 -501);
	/* Chunked is a framing the server knows (lab 7 reads it). */
	s = "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_msg(req.chunked, "Transfer-Encoding: Chunked must set "
	                           "req.chunked");
	/* Two framings, or chunked twice: which one is right? -400. */
	ck_assert_int_eq(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked"
	                       "\r\nContent-Length: 5\r\n\r\n",
	                       &req),
	                 -400);
	ck_assert_int_eq(parse("POST / HTTP/1.1\r\nContent-Length: 5\r\n"
	                       "Transfer-Encoding: chunked\r\n\r\n",
	                       &req),
	                 -400);
	ck_assert_int_eq(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked"
	                       "\r\nTransfer-Encoding: chunked\r\n\r\n",
	                       &req),
	                 -400);
	/* Only that header: similar names and bodies with a length are fine. */
	s = "POST / HTTP/1.1\r\nX-Transfer-Encoding: chunked\r\n"
	    "Content-Length: 0\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_msg(!req.chunked, "X-Transfer-Encoding set req.chunked");
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

/* --- the given helpers in http.c: the student's file carries them --- */

START_TEST(test_hidden_format_head)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
	    {200, "OK"},
	    {400, "Bad Request"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {414, "URI Too Long"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {505, "HTTP Version Not Supported"},
	    {299, "Unknown"},
	};
	const char *want = "HTTP/1.1 200 OK\r\n"
	                   "Content-Length: 23\r\n"
	                   "Content-Type: text/plain; charset=utf-8\r\n"
	                   "Connection: close\r\n"
	                   "\r\n";
	const char *want_405 = "HTTP/1.1 405 Method Not Allowed\r\n"
	                       "Content-Length: 0\r\n"
	                       "Allow: GET, HEAD\r\n"
	                       "Connection: keep-alive\r\n"
	                       "\r\n";
	size_t len = strlen(want);
	char out[256];
	long n;

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		ck_assert_msg(strcmp(http_reason(reasons[i].status),
		                     reasons[i].reason) == 0,
		              "http_reason(%d) is \"%s\", expected \"%s\"",
		              reasons[i].status, http_reason(reasons[i].status),
		              reasons[i].reason);

	n = http_format_head(out, sizeof(out), 200, "text/plain; charset=utf-8",
	                     23, NULL, false);
	ck_assert_msg(n == (long)len && memcmp(out, want, len) == 0,
	              "http_format_head(200, text/plain, 23) returned %ld: "
	              "\"%.*s\"",
	              n, n > 0 ? (int)n : 0, out);
	n = http_format_head(out, sizeof(out), 405, NULL, 0,
	                     "Allow: GET, HEAD\r\n", true);
	ck_assert_msg(n == (long)strlen(want_405) &&
	                  memcmp(out, want_405, (size_t)n) == 0,
	              "http_format_head(405, no type, extra Allow, keep-alive) "
	              "returned %ld: \"%.*s\"",
	              n, n > 0 ? (int)n : 0, out);

	/* A head that fills out[] exactly leaves no room for snprintf()'s
	 * NUL: it does not fit, and nothing is written past cap. */
	memset(out, '#', sizeof(out));
	n = http_format_head(out, len, 200, "text/plain; charset=utf-8", 23,
	                     NULL, false);
	ck_assert_msg(n == -ENOSPC && out[len] == '#',
	              "a %zu-byte head in a %zu-byte buffer: returned %ld "
	              "(expected -ENOSPC) and %s out[%zu]",
	              len, len, n, out[len] == '#' ? "left" : "overwrote", len);
	memset(out, '#', sizeof(out));
	n = http_format_head(out, 10, 200, NULL, 0, NULL, false);
	ck_assert_msg(n == -ENOSPC && out[10] == '#',
	              "a head in a 10-byte buffer: returned %ld (expected "
	              "-ENOSPC) and %s out[10]",
	              n, out[10] == '#' ? "left" : "overwrote");
	n = http_format_head(out, len + 1, 200, "text/plain; charset=utf-8", 23,
	                     NULL, false);
	ck_assert_int_eq(n, (long)len);
	ck_assert_int_eq(out[len], '\0');
}
END_TEST

/* --- buf is not a C string --- */

static sigjmp_buf overread_env;

static void on_overread(int sig)
{
	(void)sig;
	siglongjmp(overread_env, 1);
}

struct guarded {
	char *page; /* readable; the page after it is not */
	size_t size;
};

static void guarded_init(struct guarded *g)
{
	long pg = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_msg(p != MAP_FAILED, "mmap failed");
	ck_assert_int_eq(mprotect(p + pg, (size_t)pg, PROT_NONE), 0);
	g->page = p;
	g->size = (size_t)pg;
}

/* Parses s[0..n) from the last n bytes of the readable page: reading a
 * byte past them faults, and *overread says so. */
static long parse_guarded(const struct guarded *g, const char *s, size_t n,
                          struct http_request *req, volatile bool *overread)
{
	char *buf = g->page + g->size - n;
	volatile long rc = 0;

	memcpy(buf, s, n);
	*overread = false;
	if (sigsetjmp(overread_env, 1) == 0)
		rc = http_parse_request(buf, n, req);
	else
		*overread = true;
	return rc;
}

START_TEST(test_hidden_not_a_string)
{
	static const struct {
		const char *s;
		size_t n;  /* with the NULs inside */
		long want; /* 1: the whole head */
	} cases[] = {
#define CASE(lit, want) {lit, sizeof(lit) - 1, want}
	    CASE("GET /a?b=c HTTP/1.1\r\nHost: x\r\nX-Y:  z \r\n\r\n", 1),
	    CASE("GET /a\0b HTTP/1.1\r\n\r\n", -400),
	    CASE("G\0T / HTTP/1.1\r\n\r\n", -400),
	    CASE("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", -400),
	    CASE("GET / HTTP/1.1\r\nX\0: a\r\n\r\n", -400),
	    CASE("GET / HTTP/1.1\n\0\n", -400),
#undef CASE
	};
	struct sigaction sa = {.sa_handler = on_overread}, old_segv, old_bus;
	struct http_request req;
	struct guarded g;
	volatile bool overread;

	guarded_init(&g);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (size_t k = 0; k <= cases[i].n; k++) {
			long rc =
			    parse_guarded(&g, cases[i].s, k, &req, &overread);

			ck_assert_msg(
			    !overread,
			    "case %zu: http_parse_request() read "
			    "past the end of a %zu-byte buffer (the "
			    "first %zu bytes of \"%.*s\"): buf has no "
			    "'\\0' after its last byte",
			    i, k, k, (int)k, cases[i].s);
			long want = cases[i].want == 1 ? (long)cases[i].n
			                               : cases[i].want;

			if (k == cases[i].n)
				ck_assert_msg(rc == want,
				              "case %zu (\"%.*s\", %zu bytes, "
				              "'\\0' bytes included): expected "
				              "%ld, got %ld",
				              i, (int)cases[i].n, cases[i].s,
				              cases[i].n, want, rc);
		}
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	munmap(g.page, 2 * g.size);
}
END_TEST

/* --- descriptors: close-on-exec, none left behind --- */

/* The lowest free descriptor: what the next open() would get. */
static int lowest_free_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd;
}

/* A route (app_config.route) that looks at the process's sockets from
 * inside server_handle_client(), where the accepted one is open, and
 * answers with what it found. */
static int inspect_fds(void *arg, const struct http_request *req,
                       struct app_response *res)
{
	char msg[160] = "ok";

	(void)arg;
	(void)req;
	for (int fd = 0; fd < 1024; fd++) {
		struct stat st;
		int flags;

		if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
			continue;
		flags = fcntl(fd, F_GETFD);
		if (flags >= 0 && !(flags & FD_CLOEXEC)) {
			snprintf(msg, sizeof(msg),
			         "socket descriptor %d is not close-on-exec",
			         fd);
			break;
		}
	}
	res->status = 200;
	res->body = strdup(msg);
	res->body_len = res->body ? strlen(msg) : 0;
	res->send_body = 1;
	return 1;
}

/* Connects to 127.0.0.1:port (the socket is close-on-exec, reads time out
 * after 5 s), or -1. */
static int connect_local(int port)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	struct timeval timeout = {.tv_sec = 5};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	addr.sin_port = htons((uint16_t)port);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Everything the peer sends until it closes (or 5 s pass), NUL-ended. */
static size_t read_all(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && ((n = read(fd, buf + len, cap - 1 - len)) > 0 ||
	                         (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	buf[len] = '\0';
	return len;
}

START_TEST(test_hidden_server_fds)
{
	struct app_config cfg = {.route = inspect_fds};
	int listen_fd = server_listen(0);
	char reply[1024];
	const char *body;
	int port, before, rc, client, status;
	pid_t pid;

	ck_assert_msg(listen_fd >= 0, "server_listen(0) returned %d",
	              listen_fd);
	ck_assert_msg(fcntl(listen_fd, F_GETFD) & FD_CLOEXEC,
	              "the listening socket is not close-on-exec: "
	              "socket(..., SOCK_STREAM | SOCK_CLOEXEC, 0)");
	port = server_port(listen_fd);

	/* A port that does not fit in 16 bits is refused, not wrapped. */
	before = lowest_free_fd();
	for (int i = 0; i < 2; i++) {
		int bad = i ? 65536 + port : -1;

		rc = server_listen(bad);
		if (rc >= 0)
			close(rc);
		ck_assert_msg(rc == -EINVAL,
		              "server_listen(%d) returned %d, expected -EINVAL "
		              "(%d): a port is 0..65535, and htons() would "
		              "silently turn %d into port %d",
		              bad, rc, -EINVAL, bad, (int)(uint16_t)bad);
	}
	ck_assert_msg(lowest_free_fd() == before,
	              "server_listen() refused a port but left descriptor %d "
	              "open: check the port before socket()",
	              before);

	/* The port is taken: bind() fails, and the socket must not stay. */
	rc = server_listen(port);
	if (rc >= 0)
		close(rc);
	ck_assert_msg(rc == -EADDRINUSE,
	              "server_listen(%d) while another socket listens there "
	              "returned %d, expected -EADDRINUSE (%d): return -errno, "
	              "saved before close() can change it",
	              port, rc, -EADDRINUSE);
	ck_assert_msg(lowest_free_fd() == before,
	              "server_listen() failed but left descriptor %d open: "
	              "close the socket on the error path",
	              before);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGPIPE, SIG_IGN);
		server_run(listen_fd, &cfg);
		_exit(0);
	}
	client = connect_local(port);
	if (client >= 0) {
		const char *req = "GET /fds HTTP/1.1\r\nHost: x\r\n\r\n";

		if (write(client, req, strlen(req)) < 0)
			reply[0] = '\0';
		read_all(client, reply, sizeof(reply));
		close(client);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(listen_fd);

	ck_assert_msg(client >= 0, "cannot connect to server_run()");
	body = strstr(reply, "\r\n\r\n");
	ck_assert_msg(body != NULL, "no response from server_run(): \"%.80s\"",
	              reply);
	ck_assert_msg(strcmp(body + 4, "ok") == 0,
	              "inside server_handle_client(): %s (accept4(..., "
	              "SOCK_CLOEXEC))",
	              body + 4);
}
END_TEST

/* --- server_run()'s result --- */

enum { RUN_WAIT_MS = 2000 };

/* Runs server_run(fd) in a child, its stderr discarded; stop: send it
 * SIGTERM once it is running (server_signals() installed). Sets *rc to
 * what server_run() returned; false if it had not returned in time. */
static bool run_result(int fd, bool stop, int *rc)
{
	struct app_config cfg = {0};
	int p[2], status, setup = INT_MIN;
	pid_t pid;
	bool got = false;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		int r;

		if (null < 0 || dup2(null, STDERR_FILENO) < 0)
			_exit(2);
		/* First what server_signals() said, then server_run().
		 * An old error in errno must not come back as its result. */
		errno = EBADF;
		r = server_signals();
		if (write(p[1], &r, sizeof(r)) != sizeof(r) || r < 0)
			_exit(2);
		r = server_run(fd, &cfg);
		_exit(write(p[1], &r, sizeof(r)) == sizeof(r) ? 0 : 2);
	}
	close(p[1]);
	struct pollfd pfd = {p[0], POLLIN, 0};
	if (read(p[0], &setup, sizeof(setup)) == sizeof(setup) && setup == 0) {
		if (stop) {
			sleep_us(100 * 1000); /* into accept() */
			kill(pid, SIGTERM);
		}
		got = poll(&pfd, 1, RUN_WAIT_MS) == 1 &&
		      read(p[0], rc, sizeof(*rc)) == sizeof(*rc);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(p[0]);
	ck_assert_msg(setup == 0,
	              "server_signals() returned %d: it returns 0 when "
	              "sigaction() succeeded (errno is not a result: it "
	              "keeps an old error's value after a success)",
	              setup);
	return got;
}

START_TEST(test_hidden_run_fatal)
{
	int fd, p[2], rc = INT_MIN;
	bool returned;

	/* A socket that was never listen()ed: accept() says EINVAL, and
	 * will say it for ever. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	returned = run_result(fd, false, &rc);
	close(fd);
	ck_assert_msg(returned,
	              "server_run() on a socket that is not listening did "
	              "not return within %d ms: accept() fails with EINVAL "
	              "every time, so retrying can only spin",
	              RUN_WAIT_MS);
	ck_assert_msg(rc == -EINVAL,
	              "server_run() on a socket that is not listening "
	              "returned %d, expected -EINVAL (%d)",
	              rc, -EINVAL);

	/* Not a socket at all. */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	returned = run_result(p[0], false, &rc);
	close(p[0]);
	close(p[1]);
	ck_assert_msg(returned && rc == -ENOTSOCK,
	              "server_run() on a pipe: %s %d, expected -ENOTSOCK (%d)",
	              returned ? "returned" : "still running after",
	              returned ? rc : RUN_WAIT_MS, -ENOTSOCK);

	/* A stop signal: the loop ends, and that is a success. */
	fd = server_listen(0);
	ck_assert_int_ge(fd, 0);
	returned = run_result(fd, true, &rc);
	close(fd);
	ck_assert_msg(returned,
	              "server_run() did not return within %d ms of SIGTERM",
	              RUN_WAIT_MS);
	ck_assert_msg(rc == 0, "after SIGTERM server_run() returned %d, not 0",
	              rc);
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
	TEST_ADD(s, test_hidden_format_head, 5);
	TEST_ADD(s, test_hidden_not_a_string, 5);
	TEST_ADD(s, test_hidden_server_fds, 10);
	TEST_ADD(s, test_hidden_run_fatal, 10);
	return s;
}

TEST_MAIN(hidden_suite)
