/* test_frame.c - the server as later labs use it (lab 3; the frame,
 * server.h).
 *
 * This program is a later lab of its own: it defines a server_lab with
 * routes that answer later, stream, and notice guests who leave, runs
 * your server with it in a child process, and talks to it over loopback.
 * The frame's code (frame.c) is given; what these tests check of yours is
 * that your server lets it in: server_run() opens the lab's part
 * (frame_open()) and settle() is called after every event.
 *
 *   GET /later?ms=N    answered N ms later, from a timer
 *   GET /stream?n=N    N bytes in 16 KiB pieces, pausing when the queue
 *                      is full and going on at each on_drain
 *   GET /chunked?n=N   the same, its length unknown in the head
 *                      (HTTP_CHUNKED)
 *   GET /short         a head promising 10 bytes, then only 5
 *   GET /count         "gone=G drains=D": guests gone, on_drain calls
 *   POST /upload       reads the body, Content-Length or chunked
 *                      ("?pause=1": pausing after each
 *                      piece, resumed by a 1 ms timer); answers
 *                      "n=BYTES sum=CHECKSUM max=BIGGEST-PIECE" at its end
 *   POST /early        answers 413 at the body's first piece
 *   POST /noread       takes the request, reads none of its body, and
 *                      answers 10 ms later
 *   POST /pass         says it reads the body, then does not take it
 *
 * Each answer starts from a timer, as a real one starts from a pool's or
 * a worker's callback: a taken request is answered after its route has
 * returned, never from inside it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "server.h"
#include "testing.h"

enum { PIECE = 16 << 10 };

/* --- the lab, in the child --- */

enum kind { LATER, STREAM, SHORT };

struct job {
	struct server_reply reply;
	struct ev_timer timer; /* when to start answering */
	enum kind kind;
	struct app_response head; /* STREAM, SHORT */
	long left;                /* STREAM: body bytes still to write */
	bool done;
};

static int gone, drains;

static void free_job(struct ev_handle *h)
{
	free(h->data);
}

/* Its work is over (answered, or its guest gone): its timer goes, and
 * the job with it. */
static void job_done(struct job *j)
{
	if (j->done)
		return;
	j->done = true;
	ev_close(&j->timer.h, free_job);
}

static void on_gone(struct server_reply *rp)
{
	gone++;
	job_done(rp->data);
}

static void answer_text(struct server_reply *rp, const char *text)
{
	struct app_response res = {.status = 200,
	                           .content_type = "text/plain",
	                           .body = strdup(text),
	                           .body_len = strlen(text),
	                           .send_body = 1};

	server_answer(rp, &res);
	app_response_free(&res);
}

static void pump(struct server_reply *rp);
static void on_drain(struct server_reply *rp);

static void on_timer(struct ev_timer *t)
{
	struct job *j = t->h.data;

	switch (j->kind) {
	case LATER:
		answer_text(&j->reply, "later\n");
		job_done(j);
		break;
	case STREAM:
		server_stream(&j->reply, &j->head, on_drain);
		pump(&j->reply);
		break;
	case SHORT:
		server_stream(&j->reply, &j->head, NULL);
		server_write(&j->reply, "12345", 5);
		server_end(&j->reply); /* 5 short: the client is closed */
		job_done(j);
		break;
	}
}

/* Writes pieces until the queue says full (then on_drain goes on) or the
 * body is done. */
static void pump(struct server_reply *rp)
{
	static char piece[PIECE];
	struct job *j = rp->data;

	while (j->left > 0) {
		long n = j->left < PIECE ? j->left : PIECE;
		int rc = server_write(rp, piece, (size_t)n);

		if (rc < 0) {
			job_done(j); /* gone: on_gone said so */
			return;
		}
		j->left -= n;
		if (rc == 1)
			return; /* full: on_drain will call again */
	}
	server_end(rp);
	job_done(j);
}

static void on_drain(struct server_reply *rp)
{
	drains++;
	pump(rp);
}

static long param(const struct http_request *req, const char *name)
{
	char buf[64];
	size_t n = strlen(name);

	if (req->query.n <= n || req->query.n - n >= sizeof(buf) ||
	    memcmp(req->query.p, name, n) != 0 || req->query.p[n] != '=')
		return -1;
	snprintf(buf, sizeof(buf), "%.*s", (int)(req->query.n - n - 1),
	         req->query.p + n + 1);
	return atol(buf);
}

static struct job *new_job(struct server_req *r)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	ev_timer_init(server_loop(r->srv), &j->timer, on_timer);
	j->timer.h.data = j;
	j->reply.data = j;
	server_take(r, &j->reply, on_gone);
	return j;
}

static bool reads_body(const struct http_request *req);
static int body_route(struct server_req *r);

static int route(struct server_req *r, struct app_response *res)
{
	const struct http_request *req = r->http;
	struct job *j;
	char text[96];

	if (http_str_eq(req->path, "/count")) {
		snprintf(text, sizeof(text), "gone=%d drains=%d\n", gone,
		         drains);
		*res = (struct app_response){.status = 200,
		                             .body = strdup(text),
		                             .body_len = strlen(text),
		                             .send_body = 1};
		return res->body ? SERVER_ANSWERED : -ENOMEM;
	}
	if (req->method == HTTP_OTHER)
		return reads_body(req) ? body_route(r) : SERVER_PASS;
	if (!http_str_eq(req->path, "/later") &&
	    !http_str_eq(req->path, "/stream") &&
	    !http_str_eq(req->path, "/chunked") &&
	    !http_str_eq(req->path, "/short"))
		return SERVER_PASS;
	if ((j = new_job(r)) == NULL)
		return -ENOMEM;
	j->head =
	    (struct app_response){.status = 200,
	                          .content_type = "application/octet-stream",
	                          .send_body = req->method != HTTP_HEAD};
	if (http_str_eq(req->path, "/later")) {
		j->kind = LATER;
		ev_timer_start(&j->timer, (uint64_t)param(req, "ms"), 0);
	} else if (http_str_eq(req->path, "/short")) {
		j->kind = SHORT;
		j->head.body_len = 10;
		ev_timer_start(&j->timer, 0, 0);
	} else {
		j->kind = STREAM;
		j->left = param(req, "n");
		j->head.body_len = http_str_eq(req->path, "/chunked")
		                       ? HTTP_CHUNKED
		                       : (size_t)j->left;
		ev_timer_start(&j->timer, 0, 0);
	}
	return SERVER_LATER;
}

/* --- request bodies --- */

struct upload {
	struct server_reply reply;
	struct ev_timer timer; /* /upload?pause=1: the resume; /noread */
	bool pausing;
	unsigned long n, sum, max;
	bool timer_closed;
};

static void free_upload(struct ev_handle *h)
{
	free(h->data);
}

static void upload_done(struct upload *u)
{
	if (!u->timer_closed)
		ev_close(&u->timer.h, free_upload);
	u->timer_closed = true;
}

static void upload_gone(struct server_reply *rp)
{
	gone++;
	upload_done(rp->data);
}

static void text_answer(struct server_reply *rp, int status, const char *t)
{
	struct app_response res = {.status = status,
	                           .content_type = "text/plain",
	                           .body = strdup(t),
	                           .body_len = strlen(t),
	                           .send_body = 1};

	server_answer(rp, &res);
	app_response_free(&res);
}

static void on_resume(struct ev_timer *t)
{
	struct upload *u = t->h.data;

	server_resume(&u->reply);
}

static void on_upload_body(struct server_reply *rp, const void *data,
                           size_t len)
{
	struct upload *u = rp->data;
	char text[96];

	if (data == NULL) {
		snprintf(text, sizeof(text), "n=%lu sum=%lu max=%lu\n", u->n,
		         u->sum, u->max);
		text_answer(rp, 200, text);
		upload_done(u);
		return;
	}
	for (size_t i = 0; i < len; i++)
		u->sum = u->sum * 31 + ((const unsigned char *)data)[i];
	u->n += len;
	if (len > u->max)
		u->max = len;
	if (u->pausing) {
		server_pause(rp);
		ev_timer_start(&u->timer, 1, 0);
	}
}

static void on_early_body(struct server_reply *rp, const void *data, size_t len)
{
	(void)data;
	(void)len;
	text_answer(rp, 413, "too big\n");
	upload_done(rp->data);
}

static void on_noread(struct ev_timer *t)
{
	struct upload *u = t->h.data;

	text_answer(&u->reply, 200, "not read\n");
	upload_done(u);
}

static bool reads_body(const struct http_request *req)
{
	return http_str_eq(req->path, "/upload") ||
	       http_str_eq(req->path, "/early") ||
	       http_str_eq(req->path, "/noread") ||
	       http_str_eq(req->path, "/pass");
}

static int body_route(struct server_req *r)
{
	const struct http_request *req = r->http;
	struct upload *u;

	if (http_str_eq(req->path, "/pass"))
		return SERVER_PASS;
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -ENOMEM;
	ev_timer_init(server_loop(r->srv), &u->timer,
	              http_str_eq(req->path, "/noread") ? on_noread
	                                                : on_resume);
	u->timer.h.data = u;
	u->reply.data = u;
	u->pausing = param(req, "pause") == 1;
	server_take(r, &u->reply, upload_gone);
	if (http_str_eq(req->path, "/noread"))
		ev_timer_start(&u->timer, 10, 0);
	else
		server_read_body(&u->reply, http_str_eq(req->path, "/early")
		                                ? on_early_body
		                                : on_upload_body);
	return SERVER_LATER;
}

/* What the lab's open says: 0, or the error test_frame_open_fails makes
 * it return (set in the child before server_run()). */
static int open_error;

static int lab_open(struct server *srv)
{
	(void)srv;
	return open_error;
}

const struct server_lab server_lab = {
    .open = lab_open, .route = route, .reads_body = reads_body};

/* --- the test, in the parent --- */

static pid_t child;
static int port;
static char root[] = "/tmp/test-frame-XXXXXX";
static bool have_root;

/* --root holds big.bin, a response larger than CONN_OUT_HIGH. */
static void make_root(void)
{
	char path[64];
	static char mb[1 << 20];

	ck_assert_ptr_nonnull(mkdtemp(root));
	have_root = true;
	memset(mb, 'x', sizeof(mb));
	snprintf(path, sizeof(path), "%s/big.bin", root);
	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(fwrite(mb, 1, sizeof(mb), f), sizeof(mb));
	fclose(f);
}

static void start_server(void)
{
	int fds[2];

	ck_assert_int_eq(pipe(fds), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		struct app_config cfg = {.root = have_root ? root : NULL};
		int fd;

		close(fds[0]);
		if (server_signals() < 0 || (fd = server_listen(0)) < 0)
			_exit(3);
		port = server_port(fd);
		if (write(fds[1], &port, sizeof(port)) != sizeof(port))
			_exit(3);
		close(fds[1]);
		_exit(server_run(fd, &cfg) == 0 ? 0 : 4);
	}
	close(fds[1]);
	ck_assert_int_eq(read(fds[0], &port, sizeof(port)), sizeof(port));
	close(fds[0]);
}

/* SIGTERM: the server must end cleanly (every client, the lab's part and
 * the loop closed) within a second. */
static void stop_server(void)
{
	int status = 0;

	kill(child, SIGTERM);
	for (int i = 0; i < 100 && waitpid(child, &status, WNOHANG) == 0; i++)
		usleep(10000);
	if (waitpid(child, &status, WNOHANG) == 0) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		ck_abort_msg("the server did not stop within 1 s of SIGTERM");
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	              "server_run() failed or the server crashed (wait "
	              "status %#x)",
	              status);
}

/* rcvbuf > 0 caps the client's receive buffer (before connect, so that
 * the window is small from the start): a machine tuned for big loopback
 * buffers could otherwise take megabytes without the server ever waiting. */
static int dial_rcvbuf(int rcvbuf)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	if (rcvbuf > 0)
		ck_assert_int_eq(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		                            sizeof(rcvbuf)),
		                 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static int dial(void)
{
	return dial_rcvbuf(0);
}

static void say(int fd, const char *text)
{
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
}

/* Reads until `want` bytes came, the peer closed, or 3 s passed. Returns
 * how many came; buf (if any) gets the first cap of them. */
static long hear(int fd, char *buf, long cap, long want)
{
	char scratch[65536];
	long got = 0;

	while (got < want) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 3000) != 1)
			break;
		ssize_t n = read(fd, scratch, sizeof(scratch));
		if (n <= 0)
			break;
		if (buf != NULL && got < cap)
			memcpy(buf + got, scratch,
			       (size_t)(cap - got < n ? cap - got : n));
		got += n;
	}
	if (buf != NULL)
		buf[got < cap ? got : cap - 1] = '\0';
	return got;
}

/* True when the peer closes the connection within ms (what it sends
 * meanwhile is read and dropped). */
static bool peer_closes(int fd, int ms)
{
	char scratch[4096];
	struct pollfd p = {fd, POLLIN, 0};

	while (poll(&p, 1, ms) == 1) {
		ssize_t n = read(fd, scratch, sizeof(scratch));
		if (n <= 0)
			return true; /* end of stream, or reset */
	}
	return false;
}

static const char *count(void)
{
	static char buf[512];
	int fd = dial();

	say(fd, "GET /count HTTP/1.1\r\nConnection: close\r\n\r\n");
	hear(fd, buf, sizeof(buf), sizeof(buf));
	close(fd);
	return strstr(buf, "gone=") ? strstr(buf, "gone=") : buf;
}

/* server_listen() is given (as in lab 2), but it travels in your
 * server.c: what every later check relies on. Any port 0..65535 and no
 * other; SO_REUSEADDR, so that a restarted server binds at once. */
static void check_listen(void)
{
	int fd = server_listen(0), one = 0, rc_big, rc_top;
	socklen_t len = sizeof(one);

	ck_assert_msg(fd >= 0, "server_listen(0) returned %d", fd);
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, &len),
	                 0);
	close(fd);
	rc_big = server_listen(65536);
	rc_top = server_listen(65535); /* -EADDRINUSE if taken: fine */
	if (rc_big >= 0)
		close(rc_big);
	if (rc_top >= 0)
		close(rc_top);
	ck_assert_msg(one != 0, "the listening socket has no SO_REUSEADDR "
	                        "(given server_listen()): a restarted server "
	                        "cannot bind while old connections linger");
	ck_assert_msg(rc_big == -EINVAL,
	              "server_listen(65536) returned %d, not -EINVAL: "
	              "htons() wraps it to port 0",
	              rc_big);
	ck_assert_msg(rc_top != -EINVAL,
	              "server_listen(65535) returned -EINVAL: 65535 is a port");
}

/* A taken request is answered from a timer, and the request pipelined
 * behind it waits its turn: HTTP/1.1 answers in order. */
START_TEST(test_frame_answer_later)
{
	char buf[1024];
	int fd;

	check_listen();
	start_server();
	fd = dial();
	say(fd, "GET /later?ms=100 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n"
	        "Connection: close\r\n\r\n");
	hear(fd, buf, sizeof(buf), sizeof(buf));
	close(fd);
	const char *later = strstr(buf, "later\n");
	const char *second = strstr(buf + 1, "HTTP/1.1 200");
	ck_assert_msg(later != NULL && second != NULL && later < second,
	              "expected the /later answer, then the next request's; "
	              "got:\n%s",
	              buf);
	stop_server();
}
END_TEST

/* A request taken while the write of a big answer before it lets it in
 * (the server writes at once after each event) is answered all the same:
 * both answers arrive, in order. */
START_TEST(test_frame_later_behind_big)
{
	const long big = 3L << 20;
	int fd;

	make_root();
	start_server();
	fd = dial();
	say(fd, "GET /files/big.bin HTTP/1.1\r\n\r\n"
	        "GET /later?ms=10 HTTP/1.1\r\nConnection: close\r\n\r\n");
	usleep(200000); /* let "out" fill past CONN_OUT_HIGH */
	static char buf[(3 << 20) + 4096];
	long got = hear(fd, buf, sizeof(buf), sizeof(buf));
	close(fd);
	ck_assert_msg(
	    got > big && got < (long)sizeof(buf) &&
	        memmem(buf + big, (size_t)(got - big), "later\n", 6) != NULL,
	    "expected the 3 MiB file, then /later's answer; got "
	    "%ld bytes, ending \"%.40s\"",
	    got, got > 40 ? buf + got - 40 : buf);
	stop_server();
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* A guest who leaves while his request waits is noticed at once (on_gone),
 * not when the answer comes. */
START_TEST(test_frame_guest_leaves)
{
	int fd;

	start_server();
	fd = dial();
	say(fd, "GET /later?ms=5000 HTTP/1.1\r\n\r\n");
	usleep(100000);
	close(fd);
	usleep(200000);
	ck_assert_msg(strncmp(count(), "gone=1 ", 7) == 0,
	              "expected on_gone once, 200 ms after the guest left; "
	              "/count says %s",
	              count());
	stop_server();
}
END_TEST

/* The most a socket's send buffer may grow to (tcp_wmem's third field;
 * Linux's default is 4 MiB): a body larger than that and the client's
 * receive buffer together must wait in the queue, whatever the machine. */
static long send_buffer_max(void)
{
	long lo, mid, hi = 4L << 20;
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_wmem", "r");

	if (f != NULL) {
		if (fscanf(f, "%ld %ld %ld", &lo, &mid, &hi) != 3)
			hi = 4L << 20;
		fclose(f);
	}
	return hi;
}

/* A big body to a guest who reads slowly: the queue never holds much more
 * than its mark, and on_drain keeps it going. */
START_TEST(test_frame_stream_backpressure)
{
	const long n = 2 * send_buffer_max() + (1L << 20);
	char head[256], req[128], promise[64];
	int fd;

	start_server();
	fd = dial_rcvbuf(64 << 10);
	snprintf(req, sizeof(req),
	         "GET /stream?n=%ld HTTP/1.1\r\nConnection: close\r\n\r\n", n);
	say(fd, req);
	usleep(300000); /* the socket's buffers fill; the queue stops */
	long got = hear(fd, head, sizeof(head), n + 1);
	close(fd);
	snprintf(promise, sizeof(promise), "Content-Length: %ld", n);
	ck_assert_msg(strstr(head, promise) != NULL,
	              "expected a head promising %ld bytes; got:\n%.200s", n,
	              head);
	ck_assert_msg(got > n, "expected the head and %ld bytes, got %ld", n,
	              got);
	const char *c = count();
	int drains_seen = 0;
	sscanf(c, "gone=%*d drains=%d", &drains_seen);
	ck_assert_msg(drains_seen > 0,
	              "on_drain was never called (/count says %s): a full "
	              "queue must call it once it empties",
	              c);
	stop_server();
}
END_TEST

/* A HEAD is a head alone, and the connection goes on; a body that falls
 * short of its Content-Length closes the connection. */
START_TEST(test_frame_stream_head_and_short)
{
	char buf[1024];
	int fd;

	start_server();
	fd = dial();
	say(fd, "HEAD /stream?n=1000 HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n"
	        "Connection: close\r\n\r\n");
	hear(fd, buf, sizeof(buf), sizeof(buf));
	close(fd);
	ck_assert_msg(strstr(buf, "Content-Length: 1000") &&
	                  strstr(buf + 10, "HTTP/1.1 200"),
	              "expected the HEAD's head, then the next answer; "
	              "got:\n%s",
	              buf);
	fd = dial();
	say(fd, "GET /short HTTP/1.1\r\n\r\n");
	ck_assert_msg(peer_closes(fd, 1000),
	              "a body 5 bytes short of its Content-Length must close "
	              "the connection (the client would wait for the rest for "
	              "ever); it was still open 1 s later");
	close(fd);
	stop_server();
}
END_TEST

/* Descriptors open in this process. */
static int count_fds(void)
{
	int n = 0;

	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* The lab's open fails: server_run() returns its error at once, having
 * undone what it did (no loop, no signalfd left open). The child reports
 * what server_run() returned and how many descriptors it left behind. */
START_TEST(test_frame_open_fails)
{
	int fds[2], got[2] = {0, -1};
	struct pollfd p;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct app_config cfg = {0};
		int fd, before;

		close(fds[0]);
		open_error = -EPROTO;
		if (server_signals() < 0 || (fd = server_listen(0)) < 0)
			_exit(3);
		before = count_fds();
		got[0] = server_run(fd, &cfg);
		got[1] = count_fds() - before;
		_exit(write(fds[1], got, sizeof(got)) == sizeof(got) ? 0 : 3);
	}
	close(fds[1]);
	p = (struct pollfd){fds[0], POLLIN, 0};
	bool answered = poll(&p, 1, 2000) == 1 &&
	                read(fds[0], got, sizeof(got)) == sizeof(got);
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_msg(answered,
	              "server_run() did not return within 2 s when the "
	              "lab's open failed: an error from frame_open() must "
	              "end server_run(), not be ignored");
	ck_assert_msg(got[0] == -EPROTO,
	              "the lab's open returned -EPROTO (%d); server_run() "
	              "returned %d: it must return that error",
	              -EPROTO, got[0]);
	ck_assert_msg(got[1] == 0,
	              "server_run() failed (the lab's open did) and left %d "
	              "descriptor(s) open: on a failure, ev_close() the "
	              "handles, let ev_run(EV_RUN_NOWAIT) call them back, "
	              "then close the signalfd and the loop",
	              got[1]);
}
END_TEST

/* Sends all of buf, or fails saying how far it got: a server that stops
 * reading a body would otherwise block the test for ever. */
static void say_all(int fd, const void *buf, size_t len, const char *what)
{
	size_t sent = 0;

	while (sent < len) {
		struct pollfd p = {fd, POLLOUT, 0};
		ck_assert_msg(poll(&p, 1, 3000) == 1,
		              "%s: the server read %zu of %zu bytes, then "
		              "nothing for 3 s",
		              what, sent, len);
		ssize_t n = send(fd, (const char *)buf + sent, len - sent,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);
		ck_assert_msg(n > 0 || errno == EAGAIN,
		              "%s: send: %s after %zu bytes", what,
		              strerror(errno), sent);
		sent += n > 0 ? (size_t)n : 0;
	}
}

/* The route's checksum of a body. */
static unsigned long checksum(const unsigned char *p, size_t n)
{
	unsigned long sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + p[i];
	return sum;
}

/* Reads what came back for an upload of body[0..n) with a GET pipelined
 * behind it: the route's "n=.. sum=.." answer, then the GET's. Returns
 * the biggest piece the route was handed. */
static unsigned long expect_upload(int fd, const unsigned char *body, size_t n,
                                   const char *what)
{
	char want[96], buf[4096];

	hear(fd, buf, sizeof(buf), sizeof(buf));
	close(fd);
	snprintf(want, sizeof(want), "n=%zu sum=%lu max=", n,
	         checksum(body, n));
	const char *got = strstr(buf, want);
	ck_assert_msg(got != NULL && strstr(got, "HTTP/1.1 200") &&
	                  strstr(got, "Hello from the waiter"),
	              "%s: expected \"%s...\", then the answer to the GET "
	              "behind it; got:\n%.600s",
	              what, want, buf);
	return strtoul(got + strlen(want), NULL, 10);
}

/* 1 MiB of body, read in pieces as it arrives (once straight through,
 * once pausing after every piece), then the request pipelined behind it
 * is answered: the body was consumed exactly, none of it parsed as a
 * request. */
START_TEST(test_frame_request_body)
{
	enum { N = 1 << 20 };
	static unsigned char body[N];
	char head[128];

	for (long i = 0; i < N; i++)
		body[i] = (unsigned char)(i * 7 + i / 251);
	start_server();
	for (int pause = 0; pause <= 1; pause++) {
		int fd = dial();
		snprintf(head, sizeof(head),
		         "POST /upload?pause=%d HTTP/1.1\r\n"
		         "Content-Length: %d\r\n\r\n",
		         pause, N);
		say(fd, head);
		say_all(fd, body, N, "POST /upload");
		say(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
		unsigned long max = expect_upload(
		    fd, body, N,
		    pause ? "a 1 MiB body, pausing after each piece"
		          : "a 1 MiB body");
		ck_assert_msg(
		    max <= 64 << 10,
		    "a piece of %lu bytes: the body must be handed on "
		    "as it arrives, not gathered",
		    max);
	}
	stop_server();
}
END_TEST

/* "Expect: 100-continue": curl, for one, sends no body until it hears
 * "100 Continue" (or has waited a second). The frame sends it when the
 * route starts reading the body, and only then: not for a route that
 * reads none, nor to an HTTP/1.0 client. */
START_TEST(test_frame_expect_continue)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char *no_cont[] = {
	    "POST /noread HTTP/1.1\r\nContent-Length: 5\r\n"
	    "Expect: 100-continue\r\n\r\n",
	    "POST /upload HTTP/1.0\r\nContent-Length: 5\r\n"
	    "Expect: 100-continue\r\n\r\n",
	};
	char buf[4096];
	int fd;

	start_server();
	fd = dial();
	say(fd, "POST /upload HTTP/1.1\r\nContent-Length: 5\r\n"
	        "Expect: 100-continue\r\n\r\n");
	hear(fd, buf, sizeof(buf), sizeof(cont) - 1);
	ck_assert_msg(strcmp(buf, cont) == 0,
	              "a POST whose body is read, with \"Expect: "
	              "100-continue\": expected \"HTTP/1.1 100 Continue\" "
	              "before the body was sent; got:\n%s",
	              buf);
	say(fd, "hello");
	say(fd, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
	expect_upload(fd, (const unsigned char *)"hello", 5,
	              "5 bytes sent after the 100");
	for (size_t i = 0; i < sizeof(no_cont) / sizeof(no_cont[0]); i++) {
		fd = dial();
		say(fd, no_cont[i]);
		say(fd, "hello");
		hear(fd, buf, sizeof(buf), sizeof(buf));
		close(fd);
		ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0,
		              "sent:\n%shello\nexpected its answer alone, no "
		              "100 first; got:\n%.400s",
		              no_cont[i], buf);
	}
	stop_server();
}
END_TEST

/* A body of unknown length goes in chunks, which HTTP/1.0 does not have:
 * to an HTTP/1.0 client it goes as it is, and the close ends it. */
START_TEST(test_frame_stream_http10)
{
	enum { N = 100000 };
	static char buf[N + 4096];
	const char *body;
	long got;
	int fd;

	start_server();
	fd = dial();
	say(fd, "GET /chunked?n=100000 HTTP/1.1\r\nConnection: close\r\n\r\n");
	hear(fd, buf, sizeof(buf), sizeof(buf));
	close(fd);
	ck_assert_msg(strstr(buf, "Transfer-Encoding: chunked\r\n") != NULL,
	              "HTTP/1.1, length unknown: expected a chunked answer; "
	              "got:\n%.300s",
	              buf);
	fd = dial();
	say(fd, "GET /chunked?n=100000 HTTP/1.0\r\n\r\n");
	got = hear(fd, buf, sizeof(buf), sizeof(buf));
	close(fd);
	body = strstr(buf, "\r\n\r\n");
	ck_assert_msg(body != NULL && strncmp(buf, "HTTP/1.1 200", 12) == 0 &&
	                  strcasestr(buf, "Transfer-Encoding") == NULL &&
	                  strstr(buf, "Connection: close\r\n") != NULL &&
	                  got - (body + 4 - buf) == N,
	              "HTTP/1.0, length unknown: expected a head without "
	              "Transfer-Encoding, with \"Connection: close\", then "
	              "the %d bytes as they are and the close; got %ld bytes "
	              "in all, beginning:\n%.300s",
	              N, got, buf);
	stop_server();
}
END_TEST

/* Appends one chunk of body[*at..] of size n (its size line in hex, an
 * extension on some) to out; returns out's new length. */
static size_t put_chunk(char *out, size_t len, const unsigned char *body,
                        size_t *at, size_t n)
{
	len += (size_t)sprintf(out + len, n % 3 ? "%zx\r\n" : "%zX;x=y\r\n", n);
	memcpy(out + len, body + *at, n);
	*at += n;
	len += n;
	memcpy(out + len, "\r\n", 2);
	return len + 2;
}

/* The same, framed in chunks of odd sizes, with extensions and a trailer;
 * and chunked framing that breaks its own rules ends the request. */
START_TEST(test_frame_chunked_body)
{
	static const size_t sizes[] = {1, 100, 4096, 70000, 0xabc, 200000};
	static unsigned char body[300000];
	static char msg[sizeof(body) + 4096];
	size_t len, at = 0, total = 0;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		total += sizes[i];
	for (size_t i = 0; i < total; i++)
		body[i] = (unsigned char)(i * 13 + i / 97);
	len = (size_t)sprintf(msg, "POST /upload HTTP/1.1\r\n"
	                           "Transfer-Encoding: chunked\r\n\r\n");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		len = put_chunk(msg, len, body, &at, sizes[i]);
	len += (size_t)sprintf(msg + len, "0\r\nX-Trailer: yes\r\n\r\n"
	                                  "GET / HTTP/1.1\r\n"
	                                  "Connection: close\r\n\r\n");
	start_server();
	int fd = dial();
	say_all(fd, msg, len, "a chunked POST /upload");
	expect_upload(fd, body, total, "a chunked body in 6 chunks");
	/* A chunk longer than its size line said. */
	fd = dial();
	say(fd, "POST /upload HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	        "\r\n3\r\nabcdef\r\n0\r\n\r\n");
	ck_assert_msg(peer_closes(fd, 1000),
	              "a chunk of 6 bytes under a size line of 3: the "
	              "connection must close; it was still open 1 s later");
	close(fd);
	ck_assert_msg(strncmp(count(), "gone=1 ", 7) == 0,
	              "malformed chunks end the request as a guest leaving "
	              "does (on_gone); /count says %s",
	              count());
	stop_server();
}
END_TEST

/* A body nobody reads never becomes a request: without reads_body, 413;
 * an answer before the body's end, a route that reads none of it, or one
 * that does not take it: the answer, then the connection closes. A guest
 * who leaves mid-body is gone (on_gone). */
START_TEST(test_frame_body_refused)
{
	static const struct {
		const char *req, *status;
	} cases[] = {
	    {"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	     "HTTP/1.1 413"},
	    {"POST /noread HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	     "HTTP/1.1 200"},
	    {"POST /pass HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
	     "HTTP/1.1 404"},
	    {"POST /early HTTP/1.1\r\nContent-Length: 900000\r\n\r\nhello",
	     "HTTP/1.1 413"},
	    {"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	     "5\r\nhello\r\n0\r\n\r\n",
	     "HTTP/1.1 413"},
	};
	const char *smuggled = "GET / HTTP/1.1\r\n\r\n";
	char buf[4096];

	start_server();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int fd = dial();
		say(fd, cases[i].req);
		say(fd, smuggled);
		long got = hear(fd, buf, sizeof(buf), sizeof(buf));
		close(fd);
		ck_assert_msg(got > 0 &&
		                  strncmp(buf, cases[i].status,
		                          strlen(cases[i].status)) == 0 &&
		                  strstr(buf + 1, "HTTP/1.1") == NULL,
		              "sent:\n%s%s\nexpected %s alone, the connection "
		              "then closed; got:\n%.400s",
		              cases[i].req, smuggled, cases[i].status, buf);
	}
	int fd = dial();
	say(fd, "POST /upload HTTP/1.1\r\nContent-Length: 100000\r\n\r\n");
	say(fd, "a thousand bytes? no: thirty-nine only");
	usleep(100000);
	close(fd);
	usleep(200000);
	ck_assert_msg(strncmp(count(), "gone=1 ", 7) == 0,
	              "a guest sent part of a body and left: expected on_gone "
	              "once; /count says %s",
	              count());
	stop_server();
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("frame");

	TEST_ADD(s, test_frame_answer_later, 10);
	TEST_ADD(s, test_frame_later_behind_big, 10);
	TEST_ADD(s, test_frame_guest_leaves, 10);
	TEST_ADD(s, test_frame_stream_backpressure, 20);
	TEST_ADD(s, test_frame_stream_head_and_short, 10);
	TEST_ADD(s, test_frame_open_fails, 10);
	TEST_ADD(s, test_frame_request_body, 20);
	TEST_ADD(s, test_frame_chunked_body, 10);
	TEST_ADD(s, test_frame_body_refused, 10);
	TEST_ADD(s, test_frame_expect_continue, 10);
	TEST_ADD(s, test_frame_stream_http10, 10);
	return s;
}

TEST_MAIN(suite)
