/* frame.c - what a later lab adds to the lab 3 server (given code).
 *
 * The server itself (server.c) knows connections, the loop and timers.
 * This file lets a later lab in without copying any of it: its routes run
 * before app_handle()'s (through app_config.route), and a request it takes
 * holds its connection's place -- a /sleep that only server_answer() ends
 * (conn_release()) -- while the client is watched for leaving, or its
 * body is read and handed to the route piece by piece. Given code may
 * come in the same way (server_extra: lab 4's dashboard), its routes
 * before the lab's.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "frame.h"

/* Weak: a program without a later lab (labs 1-3) links, and the address
 * is then NULL. The same for the given part (lab 4's dashboard). */
extern const struct server_lab server_lab __attribute__((weak));
extern const struct server_lab server_extra __attribute__((weak));

struct ev_loop *server_loop(struct server *srv)
{
	return &srv->loop;
}

const struct app_config *server_config(const struct server *srv)
{
	return &srv->cfg;
}

void server_stats(const struct server *srv, struct server_stats *st)
{
	*st = (struct server_stats){0};
	for (const struct list *l = srv->clients.next; l != &srv->clients;
	     l = l->next) {
		const struct client *cl = container_of(l, struct client, link);

		st->clients++;
		st->taken += cl->reply != NULL;
		st->streaming += cl->conn.state == CONN_STREAMING;
		st->queued += buf_pending(&cl->conn.out);
	}
}

void server_take(struct server_req *r, struct server_reply *rp,
                 void (*on_gone)(struct server_reply *rp))
{
	rp->on_gone = on_gone;
	rp->on_drain = NULL;
	rp->on_body = NULL;
	rp->client = NULL;
	/* conn.c, not the frame, called the route: which client it was
	 * for is known once conn_* returns, in frame_adopt(). */
	r->srv->taken = rp;
}

/* A request the lab said it reads the body of, whose route took nothing:
 * the frame takes it, and answers res as soon as it is the client's
 * (frame_flow()), closing the connection after it -- its body is not
 * read. */
static void take_orphan(struct server *srv, const struct http_request *req,
                        struct app_response *res)
{
	struct server_req r = {.srv = srv, .http = req};

	srv->orphan_res = *res; /* its body is the orphan's now */
	server_take(&r, &srv->orphan, NULL);
}

/* "Expect: 100-continue": the client waits for a 100 before it sends the
 * body. An HTTP/1.0 client's expectation is ignored (RFC 9110, 10.1.1). */
static bool expects_continue(const struct http_request *req)
{
	const struct http_str *v = http_header_get(req, "Expect");

	return req->version_minor == 1 && v != NULL && v->n == 12 &&
	       strncasecmp(v->p, "100-continue", 12) == 0;
}

/* app_config.route: the lab's routes. A taken request is answered with a
 * placeholder the connection holds (app_response.held) until
 * server_answer() puts the real answer in its place. */
static int route(void *arg, const struct http_request *req,
                 struct app_response *res)
{
	struct server *srv = arg;
	struct server_req r = {.srv = srv, .http = req};
	int rc = SERVER_PASS;

	/* The given part first: the dashboard's two paths, and its count of
	 * requests, whatever the lab's route would make of them. */
	if (&server_extra != NULL && server_extra.route != NULL)
		rc = server_extra.route(&r, res);
	if (rc == SERVER_PASS && srv->lab != NULL && srv->lab->route != NULL)
		rc = srv->lab->route(&r, res);

	if (srv->taken == NULL && (req->content_length > 0 || req->chunked)) {
		/* Only reads_body() lets a request with a body this far. */
		if (rc != SERVER_ANSWERED) {
			app_response_free(res);
			app_error(rc == SERVER_PASS ? 404 : 500, res);
		}
		take_orphan(srv, req, res);
	}
	if (srv->taken != NULL) { /* whatever it said, it must answer */
		if (srv->taken != &srv->orphan)
			app_response_free(res);
		body_init(&srv->taken_body, req);
		srv->taken_http10 = req->version_minor == 0;
		srv->taken_expects = expects_continue(req);
		*res = (struct app_response){.status = 200, .held = 1};
		return 1;
	}
	if (rc == SERVER_LATER) {
		app_error(500, res); /* a route that took nothing */
		return 1;
	}
	return rc;
}

static bool reads_body(void *arg, const struct http_request *req)
{
	struct server *srv = arg;

	return srv->lab->reads_body(req);
}

static int open_part(const struct server_lab *part, struct server *srv)
{
	return part != NULL && part->open != NULL ? part->open(srv) : 0;
}

static void close_part(const struct server_lab *part, struct server *srv)
{
	if (part != NULL && part->close != NULL)
		part->close(srv);
}

int frame_open(struct server *srv)
{
	const struct server_lab *extra = &server_extra;
	int rc;

	srv->lab = &server_lab;
	if ((srv->lab != NULL && srv->lab->route != NULL) ||
	    (extra != NULL && extra->route != NULL)) {
		srv->cfg.route = route;
		srv->cfg.route_arg = srv;
	}
	if (srv->lab != NULL && srv->lab->route != NULL &&
	    srv->lab->reads_body != NULL)
		srv->cfg.reads_body = reads_body;
	if ((rc = open_part(extra, srv)) < 0)
		return rc;
	/* server_run() undoes nothing of ours when this fails (it calls no
	 * frame_close()): the given part closes here. */
	if ((rc = open_part(srv->lab, srv)) < 0)
		close_part(extra, srv);
	return rc;
}

/* The lab's part first: its close may still answer through the frame
 * (a kitchen's last dishes), and the given part outlives it. */
void frame_close(struct server *srv)
{
	close_part(srv->lab, srv);
	close_part(&server_extra, srv);
}

/* The 100 Continue goes when the body is first read, not before: a route
 * that answers at once (a 400, a 409) spares the client sending a body
 * for nothing. Not queued (no memory): the client sends its body anyway
 * once its own wait is over. */
static void continue_if_owed(struct client *cl)
{
	if (!cl->expects || cl->reply == NULL || cl->reply->on_body == NULL)
		return;
	cl->expects = false;
	(void)conn_continue(&cl->conn);
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
	cl->paused = false;
	cl->body = cl->srv->taken_body;
	cl->http10 = cl->srv->taken_http10;
	cl->expects = cl->srv->taken_expects;
	/* After an end of stream already read, the guest is still there:
	 * he has only said that he has nothing more to ask (a half-close). */
	cl->glancing = !cl->conn.close_after;
	continue_if_owed(cl);
}

/* Whether a taken request's body is being read now. */
static bool reading_body(const struct client *cl)
{
	return cl->reply != NULL && cl->reply->on_body != NULL &&
	       !body_done(&cl->body);
}

int frame_watch(struct client *cl)
{
	unsigned events = EV_READABLE;

	if (reading_body(cl)) {
		if (cl->paused)
			return 0; /* backpressure: the client's window closes */
	} else if (cl->reply == NULL || !cl->glancing) {
		return 0;
	}
	if (conn_wants_write(&cl->conn))
		events |= EV_WRITABLE;
	return ev_io_start(&cl->io, events);
}

/* The body's next bytes, into the connection's input (frame_flow() hands
 * them on). One read() per event, and none while a piece is still
 * there: the socket's buffer holds the rest, and the client waits on its
 * TCP window -- a body costs a connection one read's worth of memory. */
static enum frame_read read_body(struct client *cl)
{
	const char *in;
	long n;

	if (cl->paused || conn_input(&cl->conn, &in) >= CONN_READ_CHUNK)
		return FRAME_READ;
	n = conn_fill(&cl->conn);
	if (n == -EAGAIN || n > 0)
		return FRAME_READ;
	return FRAME_GONE; /* the end of the stream mid-body, or an error */
}

/* A connection reads nothing while its answer is held, so a guest who
 * leaves would go unnoticed until the answer is sent. The waiter glances
 * at the table instead: a peek that finds the end of the stream (or an
 * error) means the guest has left. Bytes are a request pipelined behind:
 * they wait in the kernel until the answer is sent, and the glancing
 * stops, or level-triggered epoll would report them again and again. One
 * guess goes wrong: a client that half-closes after its request was read
 * looks gone, and is closed. */
static enum frame_read glance(struct client *cl)
{
	char byte;
	ssize_t n = recv(cl->conn.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n > 0)
		cl->glancing = false;
	if (n < 0 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return FRAME_NOT_MINE;
	return n > 0 ? FRAME_NOT_MINE : FRAME_GONE;
}

enum frame_read frame_readable(struct client *cl, unsigned revents)
{
	if (cl->reply == NULL || !(revents & EV_READABLE))
		return FRAME_NOT_MINE;
	if (reading_body(cl))
		return read_body(cl);
	return glance(cl);
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
	if (rp == &cl->srv->orphan)
		app_response_free(&cl->srv->orphan_res);
	if (rp->on_gone != NULL)
		rp->on_gone(rp);
}

/* An answer that comes before the whole body was read: where the next
 * request would begin is unknown, so the connection ends after it, and
 * no more of the body is read. */
static void body_unread(struct client *cl)
{
	if (body_done(&cl->body))
		return;
	conn_hold_close(&cl->conn);
	cl->body.state = BODY_DONE;
}

int server_answer(struct server_reply *rp, const struct app_response *res)
{
	struct client *cl = untie(rp);
	int rc;

	if (cl == NULL)
		return -ENOTCONN;
	body_unread(cl);
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
	body_unread(cl);
	rc = conn_stream_begin(&cl->conn, head, !cl->http10);
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

void server_abort(struct server_reply *rp)
{
	struct client *cl = untie(rp);

	if (cl != NULL)
		server_settle(cl, -ECONNABORTED);
}

void server_read_body(struct server_reply *rp,
                      void (*on_body)(struct server_reply *rp, const void *data,
                                      size_t len))
{
	rp->on_body = on_body;
	if (rp->client == NULL)
		return; /* inside the route: frame_adopt() goes on */
	continue_if_owed(rp->client);
	server_settle(rp->client, 0); /* its bytes may be waiting */
}

void server_pause(struct server_reply *rp)
{
	if (rp->client != NULL)
		rp->client->paused = true;
}

void server_resume(struct server_reply *rp)
{
	struct client *cl = rp->client;

	if (cl == NULL || !cl->paused)
		return;
	cl->paused = false;
	server_settle(cl, 0); /* reads again; its tail hands on what waits */
}

/* Hands the body's pieces in the connection's input to the route, until
 * the body ends, the route pauses or answers, or more bytes must come.
 * A piece is consumed only after on_body() has returned (it points into
 * the input), and only if the request is still the client's: an answer
 * given inside on_body() has dropped the input already. */
static void pass_body(struct client *cl)
{
	struct server_reply *rp = cl->reply;

	if (cl->passing)
		return; /* server_resume() inside on_body(): the loop below
		           goes on */
	cl->passing = true;
	while (cl->reply == rp && reading_body(cl) && !cl->paused) {
		struct body next = cl->body;
		const char *in, *data;
		size_t n, len = conn_input(&cl->conn, &in);
		long used = body_next(&next, in, len, &data, &n);

		if (used < 0) { /* malformed chunks: nothing more makes sense */
			cl->passing = false;
			server_settle(cl, (int)used);
			return;
		}
		if (used == 0)
			break; /* more must come */
		if (n > 0)
			rp->on_body(rp, data, n);
		if (cl->reply != rp)
			break; /* answered, or gone, inside on_body() */
		cl->body = next;
		conn_consume(&cl->conn, (size_t)used);
		if (body_done(&cl->body))
			rp->on_body(rp, NULL, 0); /* the end */
	}
	cl->passing = false;
}

/* The orphan's answer: its route's, the connection ending after it. */
static void answer_orphan(struct client *cl)
{
	struct server *srv = cl->srv;
	struct app_response res = srv->orphan_res;

	srv->orphan_res = (struct app_response){0};
	server_answer(&srv->orphan, &res);
	app_response_free(&res);
}

void frame_flow(struct client *cl)
{
	struct server_reply *rp = cl->reply;

	if (rp == NULL)
		return;
	if (rp == &cl->srv->orphan) {
		answer_orphan(cl);
		return;
	}
	if (reading_body(cl)) {
		pass_body(cl);
		return;
	}
	if (!cl->full || buf_pending(&cl->conn.out) > 0)
		return;
	cl->full = false;
	if (rp->on_drain != NULL)
		rp->on_drain(rp);
}
