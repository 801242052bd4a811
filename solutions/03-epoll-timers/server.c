/* server.c - the HTTP server on the lab 3 event loop.
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
 *
 * From lab 4 on this file is library code that later labs add to, never
 * copy: frame.c holds what they call (server.h), frame.h what both files
 * share.
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

static enum wait waiting_for(const struct client *cl)
{
	const struct conn *c = &cl->conn;

	if (c->state == CONN_SLEEPING)
		return WAIT_WAKE;
	if (c->state != CONN_READING)
		return WAIT_NOTHING; /* we owe the client, not it us */
	if (buf_pending(&c->in) > 0)
		return WAIT_HEAD;
	/* A new connection that has sent nothing yet is left alone: only
	 * a connection that has had an answer is "keep-alive". */
	return c->requests > 0 ? WAIT_IDLE : WAIT_NOTHING;
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

/* Sets the timer for what the connection now waits for. A wait that goes
 * on (more bytes of the same head) keeps its start, and its timer. */
static int arm_timer(struct client *cl)
{
	int64_t now = server_now(cl->srv);
	enum wait waiting = waiting_for(cl);
	int64_t deadline;

	if (waiting != cl->waiting) {
		cl->waiting = waiting;
		cl->since = now;
	}
	if (waiting == WAIT_NOTHING)
		return ev_timer_stop(&cl->timer);
	deadline = deadline_of(cl);
	if (ev_is_active(&cl->timer.h) && deadline == cl->deadline)
		return 0;
	cl->deadline = deadline;
	return ev_timer_start(
	    &cl->timer, deadline > now ? (uint64_t)(deadline - now) : 0, 0);
}

/* Watches the socket for what the connection now wants; nothing at all
 * while it sleeps with nothing to send (its timer wakes it). */
static int watch(struct client *cl)
{
	unsigned events = 0;

	if (conn_wants_read(&cl->conn))
		events |= EV_READABLE;
	if (conn_wants_write(&cl->conn))
		events |= EV_WRITABLE;
	return ev_io_start(&cl->io, events);
}

/* After every event: write what can go at once, then close, or watch and
 * time what comes next. Writing at once spares a round trip through
 * epoll (and two epoll_ctl() calls) for every response that fits in the
 * socket's buffer: write interest is asked for only after EAGAIN. A
 * waiting connection keeps no buffers (conn_trim()). */
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
	struct client *cl = t->h.data;
	int rc = 0;

	switch (cl->waiting) {
	case WAIT_WAKE:
		rc = conn_on_deadline(&cl->conn, &cl->srv->cfg,
		                      server_now(cl->srv));
		break;
	case WAIT_HEAD:
		/* Slowloris: a few bytes now and then would keep the
		 * connection for ever. */
		rc = conn_time_out(&cl->conn, 408);
		break;
	case WAIT_IDLE:
		close_client(cl); /* quietly: no request is in progress */
		return;
	case WAIT_NOTHING:
		break;
	}
	server_settle(cl, rc);
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
	/* The lab's part last, when no client waits for it any more. */
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

/* The loop and its three handles: stop signals, the listening socket, and
 * the pause timer (started only on a shortage); then a later lab's part. */
static int server_open(struct server *srv, int listen_fd,
                       const struct app_config *cfg)
{
	sigset_t stop;
	int rc;

	*srv = (struct server){
	    .cfg = *cfg, .listen_fd = listen_fd, .signal_fd = -1};
	list_init(&srv->clients);
	rc = ev_loop_init(&srv->loop);
	if (rc < 0)
		return rc;
	stop_signals(&stop);
	srv->signal_fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC);
	if (srv->signal_fd < 0) {
		rc = -errno;
		goto close_loop;
	}
	ev_io_init(&srv->loop, &srv->signals, srv->signal_fd, on_signal);
	srv->signals.h.data = srv;
	ev_io_init(&srv->loop, &srv->listener, listen_fd, on_listener);
	srv->listener.h.data = srv;
	ev_timer_init(&srv->loop, &srv->accept_pause, on_accept_pause);
	srv->accept_pause.h.data = srv;
	if ((rc = ev_io_start(&srv->signals, EV_READABLE)) < 0 ||
	    (rc = ev_io_start(&srv->listener, EV_READABLE)) < 0 ||
	    (rc = frame_open(srv)) < 0)
		goto close_handles;
	return 0;

close_handles:
	/* The loop lets go of a handle only in its close callback. */
	ev_close(&srv->signals.h, NULL);
	ev_close(&srv->listener.h, NULL);
	ev_close(&srv->accept_pause.h, NULL);
	ev_run(&srv->loop, EV_RUN_NOWAIT);
	close(srv->signal_fd);
close_loop:
	ev_loop_close(&srv->loop);
	return rc;
}

int server_run(int listen_fd, const struct app_config *cfg)
{
	struct server srv;
	int rc;

	if (listen_fd < 0)
		return -EINVAL;
	rc = server_open(&srv, listen_fd, cfg);
	if (rc < 0)
		return rc;
	/* Returns once shut_down() has closed everything (a later lab's
	 * part too) and the close callbacks have run. */
	ev_run(&srv.loop, EV_RUN_DEFAULT);
	rc = ev_loop_close(&srv.loop);
	close(srv.signal_fd);
	return srv.error < 0 ? srv.error : rc;
}
