/* server.c - the HTTP server on the lab 3 event loop, with a kitchen (lab 4).
 *
 * The waiter never cooks. An order (/cook, /hash: kitchen.h) goes to a
 * pool of threads (pool.c) and the waiter goes back to his tables; when
 * the bell rings he serves the dish. Lab 4 adds to lab 3's server:
 * - the kitchen's routes, in front of app_handle()'s (cfg.route): an
 *   order's connection holds a placeholder answer, as lab 3 held a
 *   /sleep's, but with no timer: it is released by the kitchen, not the
 *   clock;
 * - the bell: the pool's eventfd, watched by the loop like any socket.
 *   on_cooked() puts the dish where the placeholder was and releases it;
 * - while an order cooks, the waiter glances at its table (guest_left()):
 *   a client that goes away takes back its order if no cook has started
 *   it (tp_cancel); a dish nobody waits for any more is thrown away;
 * - on a stop signal the kitchen closes after the clients: queued orders
 *   are cancelled, cooking ones finished, the cooks joined.
 *
 * The rest is lab 3's. The connection state machine is lab 2's conn.c,
 * unchanged; what changes is who tells it when to act:
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

#include "conn.h"
#include "kitchen.h"
#include "loop.h"
#include "pool.h"

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

/* What a connection's timer is set for. */
enum wait {
	WAIT_NOTHING, /* busy, new and silent, or its order is cooking */
	WAIT_WAKE,    /* CONN_SLEEPING: the end of its /sleep */
	WAIT_HEAD,    /* part of a request head: the rest, for so long */
	WAIT_IDLE,    /* keep-alive, answered: the next request, for so long */
};

struct server {
	struct ev_loop loop;
	struct app_config cfg; /* the caller's, with the kitchen's route */
	struct tp_pool pool;   /* the kitchen */
	/* The order the request being answered has just placed: the route
	 * does not know the connection, so settle() hands the order to it
	 * right after. NULL at any other time. */
	struct kitchen_order *placed;
	int listen_fd;
	int signal_fd;
	struct ev_io listener;
	struct ev_io signals;
	struct ev_timer accept_pause; /* accepting again after a shortage */
	struct ev_link clients;       /* every open client */
	bool starved;                 /* out of descriptors, and said so */
	bool closing;                 /* shut_down() has begun */
	int error;                    /* fatal: what server_run() returns */
};

struct client {
	struct conn conn;
	struct ev_io io;
	struct ev_timer timer;
	struct server *srv;
	struct ev_link link; /* in srv->clients */
	enum wait waiting;   /* what the timer is set for */
	int64_t since;       /* when the connection began waiting for it */
	int64_t deadline;    /* when the timer fires */
	int handles;         /* io and timer, until their close_cb */
	struct kitchen_order *order; /* in the kitchen; its answer is held */
	bool glancing; /* while it cooks: watching for the guest leaving */
};

static void list_add(struct ev_link *head, struct ev_link *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

static void list_del(struct ev_link *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	l->prev = l;
	l->next = l;
}

static int64_t now_ms(const struct server *srv)
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

/* The client is leaving: its order, if any, is no longer wanted. */
static void cancel_order(struct client *cl)
{
	struct kitchen_order *o = cl->order;

	/* Queued, it never cooks and on_cooked() comes with -ECANCELED;
	 * cooking (-EBUSY), it comes back when done. Either way on_cooked()
	 * finds no owner and throws it away. */
	tp_cancel(&o->work);
	o->owner = NULL;
	cl->order = NULL;
}

static void close_client(struct client *cl)
{
	if (cl->order != NULL)
		cancel_order(cl);
	list_del(&cl->link);
	/* ev_close() first: epoll must forget the descriptor before it is
	 * closed and its number handed to the next client. */
	ev_close(&cl->io.h, on_handle_closed);
	ev_close(&cl->timer.h, on_handle_closed);
	conn_free(&cl->conn);
}

static enum wait waiting_for(const struct client *cl)
{
	const struct conn *c = &cl->conn;

	/* Held for the kitchen (APP_HOLD_MS): no deadline, the bell ends it. */
	if (cl->order != NULL)
		return WAIT_NOTHING;
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
	int64_t now = now_ms(cl->srv);
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
	if (cl->order != NULL && cl->glancing)
		events |= EV_READABLE; /* see guest_left() */
	return ev_io_start(&cl->io, events);
}

/* A connection reads nothing while its answer is held, so a guest who
 * leaves while his order cooks would go unnoticed until the dish is
 * served. The waiter glances at the table instead: a peek that finds the
 * end of the stream (or an error) means the guest has left. Bytes are a
 * request pipelined behind the order: they wait in the kernel until the
 * dish is served, and the glancing stops, or level-triggered epoll would
 * report them again and again. One guess goes wrong: a client that
 * half-closes after its request was read looks gone, and is closed. */
static bool guest_left(struct client *cl)
{
	char byte;
	ssize_t n = recv(cl->conn.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0)
		cl->glancing = false;
	if (n < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR;
	return n == 0;
}

/* The order this client's request has just placed (if any) is its own:
 * conn_process() stops at a held answer, so there is at most one. */
static void adopt_order(struct client *cl)
{
	struct kitchen_order *o = cl->srv->placed;

	if (o == NULL)
		return;
	cl->srv->placed = NULL;
	o->owner = cl;
	cl->order = o;
	/* After an end of stream already read, the guest is still there:
	 * he has only said that he has nothing more to ask (a half-close). */
	cl->glancing = !cl->conn.close_after;
}

/* After every event: close, or watch and time what comes next. A waiting
 * connection keeps no buffers: ten thousand idle clients should cost their
 * sockets and a few hundred bytes each, not 16 KiB of empty "in". */
static void settle(struct client *cl, int rc)
{
	struct conn *c = &cl->conn;

	adopt_order(cl);
	if (rc == 0 && c->state != CONN_CLOSED)
		rc = watch(cl);
	if (rc == 0 && c->state != CONN_CLOSED)
		rc = arm_timer(cl);
	/* An error is this client's (gone, reset, out of memory): close it
	 * and serve the rest. */
	if (rc < 0 || c->state == CONN_CLOSED) {
		close_client(cl);
		return;
	}
	if (buf_pending(&c->in) == 0)
		buf_free(&c->in);
	if (buf_pending(&c->out) == 0)
		buf_free(&c->out);
}

/* Appends res to b: its head, and its body unless it answers a HEAD. */
static int append_response(struct buf *b, const struct app_response *res,
                           bool keep)
{
	char head[512];
	long n;
	int rc;

	n = http_format_head(head, sizeof(head), res->status, res->content_type,
	                     res->body_len, res->extra, keep);
	if (n < 0)
		return (int)n;
	rc = buf_append(b, head, (size_t)n);
	if (rc == 0 && res->send_body)
		rc = buf_append(b, res->body, res->body_len);
	return rc;
}

/* The head took too long (slowloris: a few bytes now and then keep a
 * connection for ever). 408, then close: where the request would have
 * ended is unknown, so nothing more can be read from this connection. */
static int time_out_head(struct conn *c)
{
	struct app_response res;
	int rc;

	app_error(408, &res);
	rc = append_response(&c->out, &res, false);
	app_response_free(&res);
	buf_consume(&c->in, buf_pending(&c->in));
	c->close_after = true;
	c->state = CONN_WRITING;
	return rc;
}

static void on_client_io(struct ev_io *w, unsigned revents)
{
	struct client *cl = w->h.data;
	const struct app_config *cfg = &cl->srv->cfg;
	int64_t now = now_ms(cl->srv);
	int rc = 0;

	if (cl->order != NULL && (revents & EV_READABLE) && guest_left(cl)) {
		close_client(cl); /* which cancels the order */
		return;
	}
	if (revents & EV_READABLE)
		rc = conn_on_readable(&cl->conn, cfg, now);
	if (rc == 0 && (revents & EV_WRITABLE))
		rc = conn_on_writable(&cl->conn, cfg, now);
	settle(cl, rc);
}

static void on_client_timer(struct ev_timer *t)
{
	struct client *cl = t->h.data;
	struct server *srv = cl->srv;
	int rc = 0;

	switch (cl->waiting) {
	case WAIT_WAKE:
		rc = conn_on_deadline(&cl->conn, &srv->cfg, now_ms(srv));
		break;
	case WAIT_HEAD:
		rc = time_out_head(&cl->conn);
		break;
	case WAIT_IDLE:
		close_client(cl); /* quietly: no request is in progress */
		return;
	case WAIT_NOTHING:
		break;
	}
	settle(cl, rc);
}

static int add_client(struct server *srv, int fd)
{
	struct client *cl = malloc(sizeof(*cl));
	int rc;

	if (cl == NULL) {
		close(fd);
		return -ENOMEM;
	}
	conn_init(&cl->conn, fd);
	cl->srv = srv;
	cl->waiting = WAIT_NOTHING;
	cl->since = 0;
	cl->deadline = 0;
	cl->handles = 2;
	cl->order = NULL;
	cl->glancing = false;
	ev_timer_init(&srv->loop, &cl->timer, on_client_timer);
	cl->timer.h.data = cl;
	rc = ev_io_init(&srv->loop, &cl->io, fd, on_client_io);
	if (rc < 0) {
		conn_free(&cl->conn);
		free(cl);
		return rc;
	}
	cl->io.h.data = cl;
	list_add(&srv->clients, &cl->link);
	settle(cl, 0); /* on failure, closes it: the client's loss only */
	return 0;
}

/* --- the kitchen --- */

/* Puts the dish where the placeholder was and releases it as a /sleep's
 * answer is released: the requests pipelined behind it follow. */
static int serve_dish(struct client *cl, const struct kitchen_order *o,
                      int status)
{
	struct conn *c = &cl->conn;
	int64_t now = now_ms(cl->srv);
	struct app_response res;
	int rc;

	kitchen_respond(o, status, &res); /* on failure res is a 500 */
	buf_free(&c->held);
	rc = append_response(&c->held, &res, !c->held_close);
	app_response_free(&res);
	if (rc < 0)
		return rc;
	c->wake_at_ms = now;
	return conn_on_deadline(c, &cl->srv->cfg, now);
}

/* The bell rang for this order: cooked (status 0) or cancelled
 * (-ECANCELED). On the loop thread, like every other callback. */
static void on_cooked(struct tp_work *w, int status)
{
	struct kitchen_order *o = kitchen_order_of(w);
	struct client *cl = o->owner;

	if (cl != NULL) {
		cl->order = NULL; /* before settle(): the next order may come */
		settle(cl, serve_dish(cl, o, status));
	}
	free(o);
}

/* Pins the order on the kitchen's rail. The connection holds a
 * placeholder answer until on_cooked() swaps in the real one. */
static int place_order(struct server *srv, const struct kitchen_order *order,
                       struct app_response *res)
{
	struct kitchen_order *o = malloc(sizeof(*o));
	int rc;

	if (o == NULL) {
		app_error(500, res);
		return -ENOMEM;
	}
	*o = *order;
	rc = tp_submit(&srv->pool, &o->work, kitchen_work, on_cooked);
	if (rc < 0) {
		/* No cook could be hired: say so now, not never. */
		rc = kitchen_respond(o, -ECANCELED, res);
		free(o);
		return rc < 0 ? rc : 1;
	}
	res->status = 200;
	res->sleep_ms = APP_HOLD_MS;
	srv->placed = o;
	return 1;
}

static int stats_route(struct server *srv, struct app_response *res)
{
	struct tp_stats s = {0}; /* 0s while tp_stats() is a stub */

	tp_stats(&srv->pool, &s);
	return kitchen_stats(&s, res);
}

/* cfg.route: the kitchen's routes, before app_handle()'s. 1 when answered,
 * 0 when the request is not the kitchen's, or -ENOMEM. */
static int kitchen_route(void *arg, const struct http_request *req,
                         struct app_response *res)
{
	struct server *srv = arg;
	struct kitchen_order order;
	int rc;

	switch (kitchen_take_order(req, &order)) {
	case KITCHEN_NONE:
		return 0;
	case KITCHEN_BAD:
		rc = kitchen_refuse(res);
		break;
	case KITCHEN_STATS:
		rc = stats_route(srv, res);
		break;
	default:
		return place_order(srv, &order, res);
	}
	return rc < 0 ? rc : 1;
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
	return (struct client *)(void *)((char *)srv->clients.next -
	                                 offsetof(struct client, link));
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
	/* The kitchen last, when no order has an owner any more: each
	 * on_cooked() that tp_close() runs just throws its order away.
	 * It waits for the dishes on the stove (KITCHEN_MAX_COOK_MS at
	 * most). */
	tp_close(&srv->pool);
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
 * the pause timer (started only on a shortage); then the kitchen. */
static int server_open(struct server *srv, int listen_fd,
                       const struct app_config *cfg)
{
	sigset_t stop;
	int rc;

	*srv = (struct server){
	    .cfg = *cfg, .listen_fd = listen_fd, .signal_fd = -1};
	srv->cfg.route = kitchen_route;
	srv->cfg.route_arg = srv;
	srv->clients.prev = srv->clients.next = &srv->clients;
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
	rc = ev_io_start(&srv->signals, EV_READABLE);
	if (rc < 0)
		goto close_signal_fd;
	ev_io_init(&srv->loop, &srv->listener, listen_fd, on_listener);
	srv->listener.h.data = srv;
	rc = ev_io_start(&srv->listener, EV_READABLE);
	if (rc < 0)
		goto stop_signals;
	ev_timer_init(&srv->loop, &srv->accept_pause, on_accept_pause);
	srv->accept_pause.h.data = srv;
	/* Last: once open, the pool's handle needs a loop run to close. */
	rc = tp_init(&srv->pool, &srv->loop);
	if (rc < 0)
		goto stop_listener;
	return 0;

stop_listener:
	ev_io_stop(&srv->listener);
stop_signals:
	ev_io_stop(&srv->signals);
close_signal_fd:
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
	/* Returns once shut_down() has closed everything (the kitchen
	 * too) and the close callbacks have run. */
	ev_run(&srv.loop, EV_RUN_DEFAULT);
	rc = ev_loop_close(&srv.loop);
	close(srv.signal_fd);
	return srv.error < 0 ? srv.error : rc;
}
