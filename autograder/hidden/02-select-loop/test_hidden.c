/* test_hidden.c - hidden tests of lab 2: the public ones' harder cousins,
 * and the rules only a controlled environment shows (a signal interrupting a
 * call, a clock that jumps): see "the environment, on demand" below. */

/* This file defines read(), send() and others itself (below); with
 * _FORTIFY_SOURCE, glibc's headers define some of them inline. */
#undef _FORTIFY_SOURCE

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"
#include "server.h"
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

/* --- the environment, on demand ---
 *
 * Some rules are about what happens only now and then: a signal that
 * interrupts a system call (EINTR), the wall clock being set back. To make
 * them happen when a test wants, this program defines read(), recv(),
 * write(), send(), pselect(), select(), clock_gettime(), gettimeofday() and
 * time() itself. The student's code, linked into this program, calls these
 * instead of libc's; each goes straight to the kernel unless a test has
 * armed it.
 */

/* EINTR: armed, the next calls on one descriptor fail as if a signal had
 * arrived during them. */
static int eintr_fd = -1;
static int eintr_left; /* calls still to interrupt */
static int eintr_hits; /* calls interrupted */

static bool interrupted(int fd)
{
	if (fd != eintr_fd || eintr_left == 0)
		return false;
	eintr_left--;
	eintr_hits++;
	errno = EINTR;
	return true;
}

ssize_t read(int fd, void *p, size_t n)
{
	return interrupted(fd) ? -1 : syscall(SYS_read, fd, p, n);
}

ssize_t recv(int fd, void *p, size_t n, int flags)
{
	if (interrupted(fd))
		return -1;
	return syscall(SYS_recvfrom, fd, p, n, flags, NULL, NULL);
}

ssize_t write(int fd, const void *p, size_t n)
{
	return interrupted(fd) ? -1 : syscall(SYS_write, fd, p, n);
}

/* A short send: armed, the next send() on short_fd of more than one byte
 * takes all but the last, as a socket with a nearly full buffer does. */
static int short_fd = -1;
static int short_left;

ssize_t send(int fd, const void *p, size_t n, int flags)
{
	if (interrupted(fd))
		return -1;
	if (fd == short_fd && short_left > 0 && n > 1) {
		short_left--;
		n--;
	}
	return syscall(SYS_sendto, fd, p, n, flags, NULL, 0);
}

/* Memory, on demand: armed, realloc() (all that the given buf.c uses)
 * fails as if the process had run out. */
static bool realloc_armed;
extern void *__libc_realloc(void *p, size_t n);

void *realloc(void *p, size_t n)
{
	if (realloc_armed) {
		errno = ENOMEM;
		return NULL;
	}
	return __libc_realloc(p, n);
}

/* The loop's waits and clock, in a server run by serve(): shared with its
 * process, which counts and the test reads. */
struct loop_watch {
	volatile int waits;      /* pselect() or select() calls */
	volatile int zero_empty; /* ... with a zero timeout, nothing ready */
	volatile int64_t wall_shift_ms; /* added to the wall clock */
};

static struct loop_watch *watch;
static bool in_server; /* this process is serve()'s child */

static void seen_wait(bool zero_timeout, long ready)
{
	if (!in_server || watch == NULL)
		return;
	watch->waits++;
	if (zero_timeout && ready == 0)
		watch->zero_empty++;
}

int pselect(int nfds, fd_set *rd, fd_set *wr, fd_set *ex,
            const struct timespec *timeout, const sigset_t *mask)
{
	/* The kernel's pselect6 takes the mask with its size, and updates
	 * the timeout, which POSIX's pselect() does not. */
	struct {
		const sigset_t *set;
		size_t size;
	} m = {mask, _NSIG / 8};
	struct timespec t;
	long n;

	if (timeout != NULL)
		t = *timeout;
	n = syscall(SYS_pselect6, nfds, rd, wr, ex, timeout ? &t : NULL, &m);
	seen_wait(timeout != NULL && timeout->tv_sec == 0 &&
	              timeout->tv_nsec == 0,
	          n);
	return (int)n;
}

int select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv)
{
	bool zero = tv != NULL && tv->tv_sec == 0 && tv->tv_usec == 0;
	struct timespec t;
	long n;

	if (tv != NULL) {
		t.tv_sec = tv->tv_sec;
		t.tv_nsec = tv->tv_usec * 1000;
	}
	n = syscall(SYS_pselect6, nfds, rd, wr, ex, tv ? &t : NULL, NULL);
	seen_wait(zero, n);
	if (tv != NULL) { /* Linux's select() says how much time was left */
		tv->tv_sec = t.tv_sec;
		tv->tv_usec = t.tv_nsec / 1000;
	}
	return (int)n;
}

static int64_t wall_shift_ms(void)
{
	return in_server && watch != NULL ? watch->wall_shift_ms : 0;
}

int clock_gettime(clockid_t id, struct timespec *ts)
{
	long rc = syscall(SYS_clock_gettime, id, ts);
	int64_t ns;

	if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE ||
	                id == CLOCK_TAI)) {
		ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec +
		     wall_shift_ms() * 1000000;
		ts->tv_sec = (time_t)(ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
	}
	return (int)rc;
}

int gettimeofday(struct timeval *tv, void *tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t != NULL)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

static double mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* A server_run() of its own: in a child process that dies with this one.
 * The test keeps its copy of the listening socket until unserve(), so
 * that connecting works even when the server has died: the test then
 * fails on the answers it waits for, and cleans up first. */
struct served {
	pid_t pid;
	int listen_fd;
	int port;
};

static void serve(struct served *sv, const struct app_config *cfg)
{
	sv->listen_fd = server_listen(0);
	ck_assert_msg(sv->listen_fd >= 0, "server_listen(0) returned %d",
	              sv->listen_fd);
	sv->port = server_port(sv->listen_fd);
	sv->pid = fork();
	ck_assert_int_ge(sv->pid, 0);
	if (sv->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		in_server = true;
		_exit(server_run(sv->listen_fd, cfg) == 0 ? 0 : 1);
	}
}

static void unserve(struct served *sv)
{
	kill(sv->pid, SIGKILL);
	waitpid(sv->pid, NULL, 0);
	close(sv->listen_fd);
}

static int dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Waits up to ms for one whole response on fd; false if none came. */
static bool await_response(int fd, struct response *r, int ms)
{
	static char buf[4096];
	double end = mono_ms() + ms;
	size_t n = 0;

	while (!parse_response(buf, n, r)) {
		struct pollfd p = {fd, POLLIN, 0};
		int left = (int)(end - mono_ms());
		ssize_t got;

		if (left <= 0 || poll(&p, 1, left) != 1 || n == sizeof(buf))
			return false;
		got = recv(fd, buf + n, sizeof(buf) - n, 0);
		if (got <= 0)
			return false;
		n += (size_t)got;
	}
	return true;
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

enum { MANY = 100, MOST = 5 * MANY };

/* c answered n requests, the i-th for file f<i % MANY>, in order. */
static void check_many(struct conn *c, int rc, const char *how, int n)
{
	static struct response r[MOST + 1];
	char line[64];

	ck_assert_msg(rc == 0, "fed %s: error %d", how, rc);
	ck_assert_int_eq(c->state, CONN_WRITING);
	ck_assert_uint_eq(c->requests, n);
	ck_assert_uint_eq(
	    split(buf_head(&c->out), buf_pending(&c->out), r, MOST + 1), n);
	for (int i = 0; i < n; i++) {
		snprintf(line, sizeof(line), "file number %d\n", i % MANY);
		ck_assert_msg(r[i].status == 200 && r[i].keep_alive &&
		                  r[i].body_len == strlen(line) &&
		                  memcmp(r[i].body, line, r[i].body_len) == 0,
		              "fed %s: response %d of %d is %d \"%.*s\", "
		              "expected 200 \"file number %d\"%s",
		              how, i + 1, n, r[i].status, (int)r[i].body_len,
		              r[i].body, i % MANY,
		              r[i].status == 200
		                  ? ""
		                  : ": was its request read after its bytes "
		                    "had moved? Consume a head only once "
		                    "app_handle() is done with req");
	}
	conn_free(c);
}

/* Appends requests for f0, f1, ... (modulo MANY) to reqs while they fit in
 * limit bytes; the first to start at or after long_at is long_len bytes
 * long (an X-Pad header). Returns how many. */
static int add_requests(struct buf *reqs, size_t limit, size_t long_at,
                        size_t long_len)
{
	static char line[HTTP_MAX_HEAD];
	bool padded = false;
	int n = 0;

	for (;;) {
		size_t at = buf_pending(reqs), len;

		len = (size_t)snprintf(line, sizeof(line),
		                       "GET /files/f%d HTTP/1.1\r\nX-Pad: p",
		                       n % MANY);
		if (!padded && at >= long_at) {
			memset(line + len, 'p', long_len - len - 4);
			len = long_len - 4;
			padded = true;
		}
		memcpy(line + len, "\r\n\r\n", 4);
		len += 4;
		if (at + len > limit || n == MOST)
			return n;
		ck_assert_int_eq(buf_append(reqs, line, len), 0);
		n++;
	}
}

START_TEST(test_hidden_pipeline_many)
{
	char *root = make_root();
	struct app_config cfg = {.root = root};
	struct buf reqs = BUF_INIT;
	char name[32], line[96];
	struct conn whole, bits, lng[2];
	int rc_whole, rc_bits, rc_long[2], n_long[2];

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

	/* Then a long head that starts d bytes before the middle of "in"
	 * and ends less than d after it. Consuming it moves what follows to
	 * the front (the given buf.c does, once more than half of it is
	 * consumed), right over that head: its req must be done with by
	 * then. All at once, into an "in" of 4 KiB, then of 16 KiB. */
	for (int i = 0; i < 2; i++) {
		size_t cap = i == 0 ? 4096 : 16384;

		buf_consume(&reqs, buf_pending(&reqs));
		n_long[i] =
		    add_requests(&reqs, cap - 40, cap * 3 / 8, cap * 3 / 16);
		rc_long[i] =
		    feed_in_steps(&lng[i], &cfg, &reqs, buf_pending(&reqs));
	}
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		remove_file(root, name);
	}
	rmdir(root);
	free(root);
	buf_free(&reqs);

	check_many(&whole, rc_whole, "all at once", MANY);
	check_many(&bits, rc_bits, "7 bytes at a time", MANY);
	check_many(&lng[0], rc_long[0], "with a long head mid-buffer",
	           n_long[0]);
	check_many(&lng[1], rc_long[1], "with a long head mid-buffer",
	           n_long[1]);
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
	/* Each head says what its request asked for: "Connection: close"
	 * on the first would tell the client that no second answer comes. */
	ck_assert_msg(r[0].keep_alive && r[1].keep_alive,
	              "after the client's EOF the answers said \"Connection: "
	              "close\": the head says what the request asked for "
	              "(keep-alive here); the server closes after the last "
	              "anyway");
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
	ck_assert(r[0].keep_alive && r[1].keep_alive && r[2].keep_alive);
	conn_free(&c);
	close(sv[1]);
	buf_free(&got);
}
END_TEST

START_TEST(test_hidden_eintr)
{
	struct buf got = BUF_INIT;
	struct response r[2];
	int sv[2], rc_read, rc_write, answered, hits_read, hits_write;
	enum conn_state state;
	struct conn c;

	make_pair(sv);
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET / HTTP/1.1\r\n\r\n");

	/* The first read() is interrupted by a signal. Trying again at once
	 * or returning 0 (the loop calls again while the socket is
	 * readable) are both right; giving up on the client is not. */
	eintr_fd = sv[0];
	eintr_left = 1;
	eintr_hits = 0;
	rc_read = conn_on_readable(&c, &no_root, 1000);
	if (rc_read == 0 && conn_wants_read(&c))
		rc_read = conn_on_readable(&c, &no_root, 1000);
	hits_read = eintr_hits;
	answered = (int)c.requests;

	/* Then the first send() of the answer. */
	eintr_left = 1;
	eintr_hits = 0;
	rc_write = 0;
	for (int i = 0; i < 3 && rc_write == 0 && conn_wants_write(&c); i++)
		rc_write = conn_on_writable(&c, &no_root, 1000);
	hits_write = eintr_hits;
	eintr_left = 0;
	eintr_fd = -1;

	/* And a second request whose answer the socket takes but for its
	 * last byte: that byte is still to send. */
	send_str(sv[1], "GET / HTTP/1.1\r\n\r\n");
	short_fd = sv[0];
	short_left = 1;
	if (rc_read == 0 && rc_write == 0)
		rc_read = conn_on_readable(&c, &no_root, 1000);
	for (int i = 0; i < 3 && rc_write == 0 && conn_wants_write(&c); i++)
		rc_write = conn_on_writable(&c, &no_root, 1000);
	short_fd = -1;
	state = c.state;
	slurp(sv[1], &got);
	conn_free(&c);
	close(sv[1]);

	/* A student's code that calls neither read() nor recv() (say,
	 * readv()) was not interrupted: nothing to judge then. */
	ck_assert_msg(rc_read == 0 || hits_read == 0,
	              "read() failed with EINTR (a signal arrived during it) "
	              "and conn_on_readable() returned %d: EINTR means \"try "
	              "again\", not \"the client is gone\"",
	              rc_read);
	ck_assert_int_eq(answered, 1);
	ck_assert_msg(rc_write == 0 || hits_write == 0,
	              "send() failed with EINTR (a signal arrived during it) "
	              "and conn_on_writable() returned %d: EINTR means \"try "
	              "again\", not \"the client is gone\"",
	              rc_write);
	ck_assert_msg(state == CONN_READING && split(buf_head(&got),
	                                             buf_pending(&got), r, 2) == 2,
	              "two GET / on one connection, the second answer's send() "
	              "taking all but its last byte: the client got %zu whole "
	              "answer(s) (want 2) and the connection is in state %d "
	              "(want CONN_READING, %d). A short send leaves bytes in "
	              "\"out\": send again while any are left, even one",
	              split(buf_head(&got), buf_pending(&got), r, 2), (int)state,
	              (int)CONN_READING);
	ck_assert_int_eq(r[0].status, 200);
	ck_assert_int_eq(r[1].status, 200);
	buf_free(&got);
}
END_TEST

/* Memory runs out while a request is answered. Returning -ENOMEM (the
 * loop then drops the client) and answering anyway (code that needed no
 * new memory) are both right; a request lost in silence is not. */
START_TEST(test_hidden_out_of_memory)
{
	struct buf got = BUF_INIT;
	struct response r[2];
	struct conn c;
	int sv[2], rc;
	size_t answers;

	make_pair(sv);
	conn_init(&c, sv[0]);
	send_str(sv[1], "GET / HTTP/1.1\r\n\r\n");
	rc = drive(&c, &no_root, sv[1], &got, NULL);
	answers = split(buf_head(&got), buf_pending(&got), r, 2);
	ck_assert_msg(rc == 0 && answers == 1,
	              "a first GET /, with memory to spare: returned %d, %zu "
	              "answer(s) (want 0 and 1)",
	              rc, answers);
	buf_free(&got);

	send_str(sv[1], "GET / HTTP/1.1\r\n\r\n");
	realloc_armed = true;
	rc = conn_on_readable(&c, &no_root, 1000);
	for (int i = 0; i < 3 && rc == 0 && conn_wants_write(&c); i++)
		rc = conn_on_writable(&c, &no_root, 1000);
	realloc_armed = false;
	slurp(sv[1], &got);
	answers = split(buf_head(&got), buf_pending(&got), r, 2);
	conn_free(&c);
	close(sv[1]);
	buf_free(&got);

	ck_assert_msg(rc < 0 || answers == 1,
	              "a GET / while memory had run out (realloc() failing): "
	              "conn_on_readable()/conn_on_writable() returned %d and "
	              "the client got %zu answer(s). When appending the answer "
	              "fails, return its -ENOMEM, so that the loop drops the "
	              "client; returning 0 loses the request in silence",
	              rc, answers);
}
END_TEST

/* Fills the descriptor table up to its limit: socket() then fails. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

START_TEST(test_hidden_listen_errors)
{
	struct rlimit old, low;
	int fd, free_fd, rc_port, rc_zero, rc_full;

	/* A descriptor that is no socket has no port. */
	rc_port = server_port(-1);

	/* With stdin closed, the new socket is descriptor 0: valid. */
	fd = dup(0);
	ck_assert_int_ge(fd, 0);
	close(0);
	rc_zero = server_listen(0);
	if (rc_zero > 0)
		close(rc_zero);
	else if (rc_zero == 0)
		close(0);
	ck_assert_int_eq(dup2(fd, 0), 0);
	close(fd);

	/* No descriptor left: socket() fails with EMFILE. */
	free_fd = lowest_free_fd();
	ck_assert_int_ge(free_fd, 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = (rlim_t)free_fd;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
	rc_full = server_listen(0);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	if (rc_full >= 0)
		close(rc_full);

	ck_assert_msg(rc_port == -EBADF,
	              "server_port(-1) returned %d, expected -EBADF (%d): "
	              "getsockname() failed, return -errno",
	              rc_port, -EBADF);
	ck_assert_msg(rc_zero == 0,
	              "server_listen(0) with stdin closed returned %d: the new "
	              "socket is descriptor 0, a valid one. Only a negative "
	              "result of socket() is an error",
	              rc_zero);
	ck_assert_msg(rc_full == -EMFILE,
	              "server_listen(0) with no descriptor left returned %d, "
	              "expected -EMFILE (%d): when socket() fails, return "
	              "-errno at once",
	              rc_full, -EMFILE);
	ck_assert_msg(lowest_free_fd() == free_fd,
	              "server_listen() failed but descriptor %d is now open",
	              free_fd);
}
END_TEST

/* Sends req on fd; the ms until its whole answer, or -1 after ms_max. */
static double timed(int fd, const char *req, int ms_max)
{
	double t0 = mono_ms();
	struct response r;

	send_str(fd, req);
	if (!await_response(fd, &r, ms_max) || r.status != 200)
		return -1;
	return mono_ms() - t0;
}

START_TEST(test_hidden_loop_clock)
{
	enum { SHORT = 30, BUSY = 5, BIG = 8 << 20 };
	int port, fd, abc[3], answered = 0, waits, zero_empty, busy = 0;
	double slept = -1, nearest = -1;
	char *big = calloc(1, BIG), *root;
	struct app_config cfg;
	struct served srv;

	ck_assert_ptr_nonnull(big);
	watch = mmap(NULL, sizeof(*watch), PROT_READ | PROT_WRITE,
	             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert(watch != MAP_FAILED);
	root = make_root();
	put_file(root, "big.bin", big, BIG);
	free(big);
	cfg = (struct app_config){.root = root};
	serve(&srv, &cfg);
	port = srv.port;
	fd = dial(port);

	/* Short sleeps one after the other: each ends with the deadline a
	 * fraction of a millisecond away, where a timeout rounded down is
	 * 0 and select() returns at once, again and again until it is due.
	 * One zero timeout per deadline is fine (one that passed while the
	 * loop was busy, or checked a round late); a spin makes hundreds. */
	while (answered < SHORT &&
	       timed(fd, "GET /sleep?ms=3 HTTP/1.1\r\n\r\n", 2000) >= 0)
		answered++;
	waits = watch->waits;
	zero_empty = watch->zero_empty;

	/* After 300 ms of waiting for nothing, a /sleep?ms=300; 100 ms in,
	 * the wall clock is set back an hour. Its deadline is the clock
	 * after the wait plus 300 ms (not the clock from before the wait),
	 * on a clock that never jumps. */
	if (answered == SHORT) {
		usleep(300 * 1000);
		send_str(fd, "GET /sleep?ms=300 HTTP/1.1\r\n\r\n");
		double t0 = mono_ms();
		struct response r;

		usleep(100 * 1000);
		watch->wall_shift_ms = -3600 * 1000;
		if (await_response(fd, &r, 1500) && r.status == 200)
			slept = mono_ms() - t0;
	}

	/* Three sleepers, the middle one due first: the timeout is the
	 * nearest deadline, not the first or the last one seen. */
	if (slept >= 0) {
		struct response r;
		double t0;

		for (int i = 0; i < 3; i++)
			abc[i] = dial(port);
		send_str(abc[0], "GET /sleep?ms=1000 HTTP/1.1\r\n\r\n");
		t0 = mono_ms();
		send_str(abc[1], "GET /sleep?ms=100 HTTP/1.1\r\n\r\n");
		send_str(abc[2], "GET /sleep?ms=1000 HTTP/1.1\r\n\r\n");
		if (await_response(abc[1], &r, 2000) && r.status == 200)
			nearest = mono_ms() - t0;
		for (int i = 0; i < 3; i++)
			close(abc[i]);
	}

	/* A /sleep?ms=1, and at once a request that keeps the loop busy
	 * for milliseconds (an 8 MiB file read and copied): by the next
	 * round the deadline has passed, and the time left is negative. The
	 * timeout is then 0; a negative one makes pselect() fail (EINVAL). */
	for (int i = 0; nearest >= 0 && i < BUSY; i++) {
		int a = dial(port), b = dial(port);
		struct response r;

		send_str(a, "GET /sleep?ms=1 HTTP/1.1\r\n\r\n");
		send_str(b, "GET /files/big.bin HTTP/1.1\r\n\r\n");
		if (await_response(a, &r, 2000) && r.status == 200)
			busy++;
		close(a);
		close(b);
		if (busy <= i)
			break;
	}
	close(fd);
	unserve(&srv);
	munmap((void *)watch, sizeof(*watch));
	watch = NULL;
	remove_file(root, "big.bin");
	rmdir(root);
	free(root);

	ck_assert_msg(answered == SHORT, "%d of %d /sleep?ms=3 answered",
	              answered, SHORT);
	ck_assert_msg(waits > 0, "server_run() never called pselect()");
	ck_assert_msg(zero_empty <= 2 * SHORT,
	              "%d /sleep?ms=3 one after the other: the loop called "
	              "pselect() %d times with a zero timeout and nothing "
	              "ready. The timeout was rounded down: computed from a "
	              "clock finer than the deadline's and truncated, the "
	              "last fraction of a millisecond is 0. Stay in whole ms: "
	              "wake_at_ms - now_ms() (which rounds down) rounds up",
	              SHORT, zero_empty);
	ck_assert_msg(slept >= 0,
	              "/sleep?ms=300, and 100 ms in the wall clock is set back "
	              "an hour: no answer 1.6 s later. Deadlines on the wall "
	              "clock (CLOCK_REALTIME, gettimeofday()) jump with it; "
	              "use CLOCK_MONOTONIC (the given now_ms())");
	ck_assert_msg(slept >= 290,
	              "/sleep?ms=300 sent after the loop had waited 300 ms for "
	              "nothing was answered within %.0f ms: its deadline came "
	              "from the clock read before that wait. Read it again "
	              "after pselect() returns",
	              slept);
	ck_assert_msg(nearest >= 0 && nearest < 600,
	              "/sleep?ms=1000, /sleep?ms=100 and /sleep?ms=1000 on "
	              "three connections: the 100 ms one was %s %.0f ms. The "
	              "select() timeout must come from the nearest deadline "
	              "of all sleepers",
	              nearest < 0 ? "not answered within" : "answered after",
	              nearest < 0 ? 2000 : nearest);
	ck_assert_msg(busy == BUSY,
	              "/sleep?ms=1 while another request kept the loop busy "
	              "for a few ms: no answer within 2 s. The deadline had "
	              "passed when the next timeout was computed: a negative "
	              "time left must become 0 (a negative timeout makes "
	              "pselect() fail with EINVAL)");
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
	TEST_ADD(s, test_hidden_eintr, 5);
	TEST_ADD(s, test_hidden_listen_errors, 5);
	TEST_ADD(s, test_hidden_out_of_memory, 5);
	TEST_ADD(s, test_hidden_loop_clock, 20);
	return s;
}

TEST_MAIN(hidden_suite)
