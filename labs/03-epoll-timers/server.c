/* server.c - the HTTP server on the lab 3 event loop.
 *
 * You write the functions marked TODO(lab 3): what a connection watches
 * and waits for (watch, waiting_for, arm_timer), what its timer does
 * (on_client_timer), and server_run(). The rest is given: lab 2's
 * listening socket and accept loop, the signal mask, opening and closing
 * clients, the 408 response and the shutdown.
 *
 * Lab 2's waiter, with a better notebook. The connection state machine is
 * lab 2's conn.c, unchanged; what changes is who tells it when to act:
 * - each connection has an ev_io whose interest is re-stated after every
 *   event from conn_wants_read() and conn_wants_write() (the loop calls
 *   epoll_ctl() only when it changes);
 * - each connection has one ev_timer, armed for the one deadline it is
 *   waiting for: the end of a /sleep, the end of a request head that is
 *   taking too long (408), or the end of a keep-alive pause (close);
 * - the listening socket has an ev_io, and a timer that pauses accepting
 *   when descriptors run out;
 * - stop signals arrive as a readable descriptor (signalfd), watched like
 *   any other: no handler, no flag to poll, no race.
 * No FD_SETSIZE: epoll takes any descriptor, so no client is refused.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frame.h"

enum {
	/* The kernel caps it at net.core.somaxconn. A burst of a thousand
	 * connects overflows a short queue, and a client whose handshake is
	 * dropped retries only a second later. */
	BACKLOG = 4096,
	ACCEPT_PAUSE_MS = 100, /* after running out of descriptors */
};

static int stopping;

int server_listen(int port)
{
	struct sockaddr_in addr = {
	    .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1;
	int fd, err;

	if (port < 0 || port > 65535)
		return -EINVAL;
	/* Non-blocking: when epoll says a client is waiting, it may have
	 * given up (and been dropped by the kernel) before accept4(), which
	 * must then fail with EAGAIN rather than wait for the next one. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto close_fd;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto close_fd;
	if (listen(fd, BACKLOG) < 0)
		goto close_fd;
	return fd;

close_fd:
	err = errno;
	close(fd);
	return -err;
}

int server_port(int listen_fd)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	if (getsockname(listen_fd, (struct sockaddr *)&addr, &len) < 0)
		return -errno;
	return ntohs(addr.sin_port);
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

int server_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigset_t stop;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	/* Blocked, a stop signal is not delivered but stays pending, and
	 * the signalfd that server_run() opens reads it like data: from
	 * before the loop starts, too. */
	stop_signals(&stop);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0)
		return -errno;
	return 0;
}

int server_stopping(void)
{
	return stopping;
}

int64_t server_now(const struct server *srv)
{
	return (int64_t)ev_now(&srv->loop);
}

/* --- one connection --- */

/* The memory goes once both handles are closed: the loop may touch a
 * handle until its close_cb. */
static void on_handle_closed(struct ev_handle *h)
{
	struct client *cl = h->data;

	if (--cl->handles == 0)
		free(cl);
}

static void close_client(struct client *cl)
{
	frame_forget(cl);
	list_remove(&cl->link);
	/* ev_close() first: epoll must forget the descriptor before it is
	 * closed and its number handed to the next client. */
	ev_close(&cl->io.h, on_handle_closed);
	ev_close(&cl->timer.h, on_handle_closed);
	conn_free(&cl->conn);
}

/* What the connection waits for now, from its state. */
static enum wait waiting_for(const struct client *cl)
{
	/* TODO(lab 3): which deadline the connection is exposed to now
	 * (README 2.3 has the table):
	 * - WAIT_WAKE: it sleeps (a /sleep; lab 2's conn says when it wakes);
	 * - WAIT_HEAD: it is reading, and part of a request head has come but
	 *   not the rest (slowloris trickles a header line now and then to
	 *   hold a connection for ever);
	 * - WAIT_IDLE: it is reading, nothing of a next request has come, and
	 *   it has been answered at least once: keep-alive, between
	 *   requests;
	 * - WAIT_NOTHING: anything else. While it writes, we owe the client,
	 *   not it us; and a new connection that has sent nothing yet is not
	 *   "keep-alive" before its first answer, so no timeout applies.
	 * Lab 2's struct conn has all it takes (state, in, requests).
	 */
	(void)cl;
	return WAIT_NOTHING;
}

/* --idle-timeout and --header-timeout, or the defaults. */
static int64_t idle_timeout(const struct app_config *cfg)
{
	return cfg->idle_timeout > 0 ? cfg->idle_timeout
	                             : SERVER_IDLE_TIMEOUT_MS;
}

static int64_t header_timeout(const struct app_config *cfg)
{
	return cfg->header_timeout > 0 ? cfg->header_timeout
	                               : SERVER_HEADER_TIMEOUT_MS;
}

static int64_t deadline_of(const struct client *cl)
{
	switch (cl->waiting) {
	case WAIT_WAKE:
		return cl->conn.wake_at_ms;
	case WAIT_HEAD:
		return cl->since + header_timeout(&cl->srv->cfg);
	case WAIT_IDLE:
		return cl->since + idle_timeout(&cl->srv->cfg);
	default:
		return INT64_MAX;
	}
}

/* Sets the timer for what the connection now waits for. */
static int arm_timer(struct client *cl)
{
	/* TODO(lab 3): one timer per connection, set for the one deadline
	 * it waits for. Returns 0 or a negative errno. server_settle() calls
	 * it after every event of the connection.
	 *
	 * Afterwards: cl->waiting is waiting_for(cl); the timer is active if
	 * and only if that is not WAIT_NOTHING, and is then due at
	 * deadline_of(cl) (given; at once if that has passed already); and
	 * cl->deadline says when the timer fires.
	 *
	 * cl->since is when the current wait began, and deadline_of() counts
	 * from it: the header timeout from a head's FIRST byte, whatever
	 * arrives after it -- that is the whole point against slowloris, and
	 * the grader trickles a head to check it -- and the idle timeout from
	 * the answer before it (server_settle() resets cl->waiting when an
	 * answer went out). When a wait begins, and so when since moves and
	 * the timer must be restarted, is yours to decide.
	 *
	 * Cheap when nothing changed: most events leave the deadline where it
	 * was, and restarting the timer each time costs two heap operations
	 * per event for nothing.
	 */
	(void)cl;
	(void)waiting_for;
	(void)deadline_of;
	return 0;
}

/* Watches the socket for what the connection now wants. */
static int watch(struct client *cl)
{
	/* TODO(lab 3): afterwards the connection's ev_io watches its socket
	 * for exactly what lab 2's conn wants now (conn_wants_read(),
	 * conn_wants_write()), and for nothing -- stopped -- when it wants
	 * neither: a connection asleep with nothing to send is woken by its
	 * timer, not its socket. 0 or a negative errno.
	 *
	 * Traps: write interest with nothing to write -- a socket is
	 * writable almost always, and level-triggered epoll then returns at
	 * once, every time: 100% CPU. Read interest while the conn does not
	 * want to read (asleep, or writing) does the same with the bytes of
	 * a client that sent its next request early.
	 */
	(void)cl;
	return 0;
}

/* After every event: write what can go at once, then close, or watch and
 * time what comes next. Writing at once spares a round trip through
 * epoll (and two epoll_ctl() calls) for every response that fits in the
 * socket's buffer: write interest is asked for only after EAGAIN. A
 * waiting connection keeps no buffers (conn_trim()). The frame_* calls
 * are how later labs add to the server (frame.c): nothing, in lab 3. */
void server_settle(struct client *cl, int rc)
{
	struct conn *c = &cl->conn;

	if (rc == 0 && conn_wants_write(c))
		rc = conn_on_writable(c, &cl->srv->cfg, server_now(cl->srv));
	/* After every call that may have answered requests (the write may
	 * have let the next pipelined one in). */
	frame_adopt(cl);
	/* An answer sent is activity: what the connection waits for next is
	 * a new wait, even when it is the same kind as before (keep-alive
	 * idle again: its timeout counts from this answer, not the first). */
	if (c->requests != cl->answered) {
		cl->answered = c->requests;
		cl->waiting = WAIT_NOTHING;
	}
	if (rc == 0 && c->state != CONN_CLOSED)
		rc = watch(cl);
	if (rc == 0 && c->state != CONN_CLOSED)
		rc = frame_watch(cl);
	if (rc == 0 && c->state != CONN_CLOSED)
		rc = arm_timer(cl);
	/* An error is this client's (gone, reset, out of memory): close it
	 * and serve the rest. */
	if (rc < 0 || c->state == CONN_CLOSED) {
		close_client(cl);
		return;
	}
	conn_trim(c);
	frame_flow(cl); /* last: it may read, write, and settle again */
}

static void on_client_io(struct ev_io *w, unsigned revents)
{
	struct client *cl = w->h.data;
	const struct app_config *cfg = &cl->srv->cfg;
	int64_t now = server_now(cl->srv);
	int rc = 0;

	switch (frame_readable(cl, revents)) {
	case FRAME_GONE:
		close_client(cl); /* which tells the lab (on_gone) */
		return;
	case FRAME_READ:
		revents &= ~EV_READABLE; /* a request body's bytes */
		break;
	case FRAME_NOT_MINE:
		break;
	}
	if (revents & EV_READABLE)
		rc = conn_on_readable(&cl->conn, cfg, now);
	if (rc == 0 && (revents & EV_WRITABLE))
		rc = conn_on_writable(&cl->conn, cfg, now);
	server_settle(cl, rc);
}

static void on_client_timer(struct ev_timer *t)
{
	/* TODO(lab 3): the connection's deadline has come (cl = t->h.data).
	 * What it means depends on what the timer was set for (cl->waiting):
	 * - the end of a /sleep: the held answer goes out
	 *   (conn_on_deadline());
	 * - a head that took too long: a 408, then close once it is sent
	 *   (conn_time_out(&cl->conn, 408));
	 * - a keep-alive connection idle too long: closed quietly
	 *   (close_client()), no answer: no request is in progress.
	 * Afterwards an open connection is settled (server_settle(): it
	 * writes, re-states interest and timer, or closes on an error).
	 *
	 * Trap: close_client() starts the end of the client; nothing may use
	 * it after that (server_settle() on it would watch a closing handle).
	 */
	(void)t;
}

static int add_client(struct server *srv, int fd)
{
	struct client *cl = calloc(1, sizeof(*cl));
	int rc;

	if (cl == NULL) {
		close(fd);
		return -ENOMEM;
	}
	conn_init(&cl->conn, fd);
	cl->srv = srv;
	cl->waiting = WAIT_NOTHING;
	/* The io first: once a handle is initialised, only its close
	 * callback lets the loop go of it. */
	rc = ev_io_init(&srv->loop, &cl->io, fd, on_client_io);
	if (rc < 0) {
		conn_free(&cl->conn);
		free(cl);
		return rc;
	}
	ev_timer_init(&srv->loop, &cl->timer, on_client_timer);
	cl->io.h.data = cl;
	cl->timer.h.data = cl;
	cl->handles = 2;
	list_append(&srv->clients, &cl->link);
	/* On a failure it closes the client: the client's loss only. */
	server_settle(cl, 0);
	return 0;
}

/* --- the listening socket --- */

/* Errors of accept4() that say the listening socket itself is unusable. */
static bool accept_fatal(int err)
{
	return err == EBADF || err == EFAULT || err == EINVAL ||
	       err == ENOTSOCK;
}

static void shut_down(struct server *srv);

static void fail(struct server *srv, int err)
{
	srv->error = err;
	shut_down(srv);
}

/* A shortage does not go away by asking again at once: the client that
 * could not be accepted is still queued and keeps the listening socket
 * readable, and (level-triggered) epoll_wait() would return at once, for
 * ever: a busy loop. Stop watching it for a while instead. */
static void pause_accepting(struct server *srv, int err)
{
	int rc;

	if (!srv->starved)
		fprintf(stderr, "accept: %s (pausing)\n", strerror(err));
	srv->starved = true;
	rc = ev_io_stop(&srv->listener);
	if (rc == 0)
		rc = ev_timer_start(&srv->accept_pause, ACCEPT_PAUSE_MS, 0);
	if (rc < 0)
		fail(srv, rc);
}

static void on_accept_pause(struct ev_timer *t)
{
	struct server *srv = t->h.data;
	int rc = ev_io_start(&srv->listener, EV_READABLE);

	if (rc < 0)
		fail(srv, rc);
}

/* Accepts every waiting client: epoll said "readable" once for all of
 * them. Returns 0 or a negative errno when the listening socket is
 * broken. */
static int accept_all(struct server *srv)
{
	for (;;) {
		int fd = accept4(srv->listen_fd, NULL, NULL,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			srv->starved = false;
			if (add_client(srv, fd) < 0) {
				pause_accepting(srv, ENOMEM);
				return 0;
			}
			continue;
		}
		/* EINTR: a signal; ECONNABORTED: a client that left
		 * while queued. Either way, on to the next one. */
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (accept_fatal(errno))
			return -errno;
		/* EMFILE, ENFILE, ENOBUFS, ENOMEM; or something rarer
		 * that might repeat just as well. */
		pause_accepting(srv, errno);
		return 0;
	}
}

static void on_listener(struct ev_io *w, unsigned revents)
{
	struct server *srv = w->h.data;
	int rc;

	(void)revents;
	rc = accept_all(srv);
	if (rc < 0)
		fail(srv, rc);
}

/* --- stopping --- */

static struct client *first_client(struct server *srv)
{
	return container_of(srv->clients.next, struct client, link);
}

/* Closes every handle. The loop then runs the close callbacks, which free
 * the clients, and ev_run() returns: nothing is left to wait for. */
static void shut_down(struct server *srv)
{
	if (srv->closing)
		return;
	srv->closing = true;
	ev_close(&srv->listener.h, NULL);
	ev_close(&srv->signals.h, NULL);
	ev_close(&srv->accept_pause.h, NULL);
	while (srv->clients.next != &srv->clients)
		close_client(first_client(srv));
	/* A later lab's part last, when no client waits for it any more. */
	frame_close(srv);
}

static void on_signal(struct ev_io *w, unsigned revents)
{
	struct server *srv = w->h.data;
	struct signalfd_siginfo si;

	(void)revents;
	/* One read() per signal; any of them means stop. */
	while (read(srv->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		stopping = 1;
	if (stopping)
		shut_down(srv);
}

/* --- the server --- */

int server_run(int listen_fd, const struct app_config *cfg)
{
	/* TODO(lab 3): the server, on the loop, until a stop signal.
	 * Returns 0 after a stop signal, or a negative errno: -EINVAL for a
	 * negative listen_fd, the error of a setup step that failed, or the
	 * fatal error that ended the loop (srv.error, set by fail()).
	 *
	 * What the given code relies on (read it: shut_down(), on_signal(),
	 * on_listener(), pause_accepting(), add_client()):
	 * - a struct server on your stack, every field zero but those you set:
	 *   cfg is a copy of *cfg (frame_open() adds a later lab's route to
	 *   it), listen_fd, an empty clients list, and the loop initialised;
	 * - stop signals come as data on a signalfd (srv.signal_fd), opened
	 *   non-blocking and close-on-exec for SIGINT and SIGTERM
	 *   (stop_signals()). main() called server_signals() first, which
	 *   blocked them: a blocked signal waits, pending, and the signalfd
	 *   reads it -- no handler, no flag, no race, even for a signal sent
	 *   before the loop runs;
	 * - the handles: srv.signals on the signalfd (on_signal), srv.listener
	 *   on listen_fd (on_listener), both readable and with data = &srv;
	 *   srv.accept_pause initialised (on_accept_pause, data = &srv: the
	 *   listener's pause after a shortage starts it);
	 * - frame_open(&srv) once everything above works and before any
	 *   client comes: how a later lab adds its part (lab 4: the pool); its
	 *   error is server_run()'s (test_frame makes it fail).
	 *
	 * Then run the loop until nothing is left: on a stop signal,
	 * shut_down() closes every handle, and the loop ends once their close
	 * callbacks have run.
	 *
	 * Whatever happens, nothing is left open or allocated when
	 * server_run() returns -- the loop, the signalfd, every handle --
	 * also when a setup step fails half-way (the grader runs this under
	 * valgrind, counting descriptors). Mind loop.h: the loop lets go of a
	 * handle only in its close callback, and ev_loop_close() refuses
	 * until then.
	 */
	(void)listen_fd;
	(void)cfg;
	(void)on_listener;
	(void)on_accept_pause;
	(void)on_signal;
	(void)on_client_timer;
	return -ENOSYS;
}
