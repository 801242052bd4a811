/* frame.c - what a later lab adds to the lab 3 server (given code).
 *
 * The server itself (server.c) knows connections, the loop and timers.
 * This file lets a later lab in without copying any of it: its routes run
 * before app_handle()'s (through app_config.route), and a request it takes
 * holds its connection's place -- a /sleep that only server_answer() ends
 * (conn_release()) -- while the client is watched for leaving.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>

#include "frame.h"

/* Weak: a program without a later lab (labs 1-3) links, and the address
 * is then NULL. */
extern const struct server_lab server_lab __attribute__((weak));

struct ev_loop *server_loop(struct server *srv)
{
	return &srv->loop;
}

void server_take(struct server_req *r, struct server_reply *rp,
                 void (*on_gone)(struct server_reply *rp))
{
	rp->on_gone = on_gone;
	rp->on_drain = NULL;
	rp->client = NULL;
	/* conn.c, not the frame, called the route: which client it was
	 * for is known once conn_* returns, in frame_adopt(). */
	r->srv->taken = rp;
}

/* app_config.route: the lab's routes. A taken request is answered with a
 * placeholder the connection holds (app_response.held) until
 * server_answer() puts the real answer in its place. */
static int route(void *arg, const struct http_request *req,
                 struct app_response *res)
{
	struct server *srv = arg;
	struct server_req r = {.srv = srv, .http = req};
	int rc = srv->lab->route(&r, res);

	if (srv->taken != NULL) { /* whatever it said, it must answer */
		app_response_free(res);
		*res = (struct app_response){.status = 200, .held = 1};
		return 1;
	}
	if (rc == SERVER_LATER) {
		app_error(500, res); /* a route that took nothing */
		return 1;
	}
	return rc;
}

int frame_open(struct server *srv)
{
	srv->lab = &server_lab;
	if (srv->lab == NULL)
		return 0;
	if (srv->lab->route != NULL) {
		srv->cfg.route = route;
		srv->cfg.route_arg = srv;
	}
	return srv->lab->open != NULL ? srv->lab->open(srv) : 0;
}

void frame_close(struct server *srv)
{
	if (srv->lab != NULL && srv->lab->close != NULL)
		srv->lab->close(srv);
}

void frame_adopt(struct client *cl)
{
	struct server_reply *rp = cl->srv->taken;

	if (rp == NULL)
		return;
	cl->srv->taken = NULL;
	rp->client = cl;
	cl->reply = rp;
	cl->full = false;
	/* After an end of stream already read, the guest is still there:
	 * he has only said that he has nothing more to ask (a half-close). */
	cl->glancing = !cl->conn.close_after;
}

int frame_watch(struct client *cl)
{
	unsigned events = EV_READABLE;

	if (cl->reply == NULL || !cl->glancing)
		return 0;
	if (conn_wants_write(&cl->conn))
		events |= EV_WRITABLE;
	return ev_io_start(&cl->io, events);
}

/* A connection reads nothing while its answer is held, so a guest who
 * leaves would go unnoticed until the answer is sent. The waiter glances
 * at the table instead: a peek that finds the end of the stream (or an
 * error) means the guest has left. Bytes are a request pipelined behind:
 * they wait in the kernel until the answer is sent, and the glancing
 * stops, or level-triggered epoll would report them again and again. One
 * guess goes wrong: a client that half-closes after its request was read
 * looks gone, and is closed. */
bool frame_guest_left(struct client *cl, unsigned revents)
{
	char byte;
	ssize_t n;

	if (cl->reply == NULL || !(revents & EV_READABLE))
		return false;
	n = recv(cl->conn.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n > 0)
		cl->glancing = false;
	if (n < 0)
		return errno != EAGAIN && errno != EWOULDBLOCK &&
		       errno != EINTR;
	return n == 0;
}

/* Unties a reply from its client; returns the client (NULL: gone). */
static struct client *untie(struct server_reply *rp)
{
	struct client *cl = rp->client;

	if (cl != NULL)
		cl->reply = NULL;
	rp->client = NULL;
	return cl;
}

void frame_forget(struct client *cl)
{
	struct server_reply *rp = cl->reply;

	if (rp == NULL)
		return;
	untie(rp);
	if (rp->on_gone != NULL)
		rp->on_gone(rp);
}

int server_answer(struct server_reply *rp, const struct app_response *res)
{
	struct client *cl = untie(rp);
	int rc;

	if (cl == NULL)
		return -ENOTCONN;
	rc = conn_release(&cl->conn, res, &cl->srv->cfg, server_now(cl->srv));
	server_settle(cl, rc);
	return rc < 0 ? rc : 0;
}

int server_stream(struct server_reply *rp, const struct app_response *head,
                  void (*on_drain)(struct server_reply *rp))
{
	struct client *cl = rp->client;
	int rc;

	if (cl == NULL)
		return -ENOTCONN;
	rp->on_drain = on_drain;
	rc = conn_stream_begin(&cl->conn, head);
	server_settle(cl, rc);
	if (rc < 0)
		return rc;
	return rp->client != NULL ? 0 : -ENOTCONN;
}

int server_write(struct server_reply *rp, const void *data, size_t len)
{
	struct client *cl = rp->client;
	int rc;

	if (cl == NULL)
		return -ENOTCONN;
	rc = conn_stream_write(&cl->conn, data, len);
	/* Sent at once when the socket takes it (server_settle() writes
	 * before it waits); what it does not take waits in "out". */
	server_settle(cl, rc);
	if (rc < 0)
		return rc;
	if (rp->client == NULL)
		return -ENOTCONN; /* it failed while writing */
	cl->full = buf_pending(&cl->conn.out) >= SERVER_STREAM_HIGH;
	return cl->full ? 1 : 0;
}

int server_end(struct server_reply *rp)
{
	struct client *cl = untie(rp);
	int rc;

	if (cl == NULL)
		return -ENOTCONN;
	rc = conn_stream_end(&cl->conn, &cl->srv->cfg, server_now(cl->srv));
	server_settle(cl, rc);
	return rc < 0 ? rc : 0;
}

void frame_drain(struct client *cl)
{
	struct server_reply *rp = cl->reply;

	if (rp == NULL || !cl->full || buf_pending(&cl->conn.out) > 0)
		return;
	cl->full = false;
	if (rp->on_drain != NULL)
		rp->on_drain(rp);
}
