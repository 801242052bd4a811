/* server.h - the HTTP server on the lab 3 event loop, and the frame every
 * later lab builds on.
 *
 * Lab 3 writes the server (server.c). From lab 4 on it is library code,
 * like loop.c: a later lab never copies or edits it, it adds to it. In a
 * file of its own, the lab defines one
 *
 *     const struct server_lab server_lab = {
 *             .open = kitchen_open, .close = kitchen_close,
 *             .route = kitchen_route,
 *     };
 *
 * and the server finds it when the program is linked (frame.c; labs 1-3
 * define none, and the server is then lab 3's alone). Its route sees each
 * request before app_handle() does, and may answer it at once, or take it
 * and answer later, from any loop callback:
 *
 *   route(r, res)                    the kitchen's order, say
 *     server_take(r, &o->reply, ..)  the client's connection keeps its
 *     return SERVER_LATER            place; requests pipelined behind wait
 *   ...
 *   after_work(w, status)            the dish is cooked
 *     server_answer(&o->reply, &res) sent; the requests behind follow
 *
 * A client that leaves first is noticed (its socket is watched while it
 * waits) and the reply's on_gone is called, to stop the work if it can.
 * From then on the reply is no longer the client's: answering it only
 * says -ENOTCONN, and it is yours to free when the work ends.
 *
 * An answer may also be a head now and a body in pieces (lab 5: a file
 * read chunk by chunk): server_stream(), then server_write() until it says
 * the queue is full, the next pieces after on_drain, and server_end(). A
 * slow client then costs SERVER_STREAM_HIGH bytes of queue, not the file.
 *
 * And a request may bring a body (lab 7: POST /upload), framed by
 * Content-Length or chunked. By default it gets 413 and the connection
 * closes (unread, its bytes would be taken for the next request). A lab
 * that reads bodies says which (server_lab.reads_body); its route takes
 * such a request and reads the body in pieces as they arrive:
 *
 *   route(r, res)                    POST /upload
 *     server_take(r, &u->reply, ..)
 *     server_read_body(&u->reply, on_body)
 *     return SERVER_LATER
 *   on_body(rp, data, len)           each piece; server_pause() if it
 *                                    cannot keep up, server_resume() later
 *   on_body(rp, NULL, 0)             the end: answer now, or later
 *
 * A paused body is not read: the client's TCP window closes and it waits,
 * so a body costs its connection one read's worth of memory, however big.
 * Answering before the end is allowed (a 413 when the body is too big):
 * the rest is not read, and the connection closes after the answer.
 * Everything here runs on the loop thread.
 */
#ifndef SERVER_H
#define SERVER_H

#include "app.h"
#include "loop.h"

enum {
	/* A streamed body's queue: server_write() says "full" at this many
	 * bytes (Node's default highWaterMark for byte streams, v22 on). */
	SERVER_STREAM_HIGH = 64 << 10,
};

/* Defaults; --idle-timeout and --header-timeout (struct app_config's
 * idle_timeout and header_timeout, 0 when not given) override them. */
enum {
	/* A keep-alive connection that sends nothing for this long is closed
	 * (Node's server.keepAliveTimeout is 5 s too). */
	SERVER_IDLE_TIMEOUT_MS = 5000,
	/* A request head must be complete this long after its first byte, or
	 * the client gets 408 and is closed (slowloris: trickling headers to
	 * hold connections open for ever). */
	SERVER_HEADER_TIMEOUT_MS = 10000,
};

/* As in lab 2 (non-blocking, close-on-exec listening socket). */
int server_listen(int port);
int server_port(int listen_fd);
/* SIGPIPE ignored; SIGINT and SIGTERM end the loop cleanly (a signalfd or
 * self-pipe watched by the loop: no race, no flag polling). */
int server_signals(void);
int server_stopping(void);

/* Serves until a stop signal: an ev_io per connection (read interest while
 * reading, write interest only while output is pending), an ev_timer per
 * connection for its sleep, idle and header deadlines, no limit at
 * FD_SETSIZE; and a later lab's server_lab. Returns 0 after closing every
 * connection, the lab's part and the loop. */
int server_run(int listen_fd, const struct app_config *cfg);

/* --- the frame: what a later lab adds --- */

struct server;
struct client;

/* What a route says it did with a request. */
enum server_route {
	SERVER_PASS = 0,     /* not mine: app_handle() answers it */
	SERVER_ANSWERED = 1, /* answered now, into res */
	SERVER_LATER = 2,    /* taken with server_take(): answered later */
};

/* One request, as a route sees it (valid during the route only). */
struct server_req {
	struct server *srv;
	const struct http_request *http; /* points into the client's buffer */
};

/* A request taken to be answered later. Embed it in your own struct (the
 * frame allocates nothing) and keep it until you have answered it. */
struct server_reply {
	void *data; /* yours */
	/* Called if the client leaves before the answer (may be NULL): stop
	 * the work if you can. server_answer() and the rest then say
	 * -ENOTCONN; the reply is yours to free when the work ends. */
	void (*on_gone)(struct server_reply *rp);
	/* A streamed answer: called when the queue has emptied after
	 * server_write() said it was full. */
	void (*on_drain)(struct server_reply *rp);
	/* Its body's next piece, set by server_read_body(); len 0 (data
	 * NULL): the body is complete. data is valid during the call only. */
	void (*on_body)(struct server_reply *rp, const void *data, size_t len);
	struct client *client; /* private: the client, NULL once gone */
};

struct server_lab {
	/* Once, with the loop and the listener ready and before any client:
	 * open what the lab needs (lab 4: the pool, on server_loop(srv)).
	 * 0 or a negative errno (server_run() then returns it). May be
	 * NULL. */
	int (*open)(struct server *srv);
	/* Once, when the server stops, after every client is closed (so
	 * every taken reply has had its on_gone): close it. May be NULL. */
	void (*close)(struct server *srv);
	/* Each request, before app_handle()'s routes: a SERVER_* value, or
	 * -ENOMEM (the client then gets a 500). */
	int (*route)(struct server_req *r, struct app_response *res);
	/* Whether the lab reads this request's body (called for requests
	 * that have one): then route() gets it, and must take it -- a body
	 * request it does not take is answered with what route() said (404
	 * for SERVER_PASS) and its connection closed. NULL: every request
	 * with a body gets 413. */
	bool (*reads_body)(const struct http_request *req);
};

/* Defined by a later lab's own file; labs 1-3 have none (frame.c). */
extern const struct server_lab server_lab;

/* Given code's own part, beside the lab's (lab 4 on: the live dashboard,
 * dashboard.h), found the same way when linked: its routes see each
 * request before the lab's; it opens before the lab's part and closes
 * after it. A student's file never defines it. */
extern const struct server_lab server_extra;

/* The loop the server runs on, for the lab's own handles. */
struct ev_loop *server_loop(struct server *srv);

/* The command line's settings (--root...), as server_run() was given them. */
const struct app_config *server_config(const struct server *srv);

/* What the frame holds right now, for a lab's /stats. Counted by walking
 * the clients: a status page's cost, not a hot path's. */
struct server_stats {
	size_t clients;   /* open connections */
	size_t taken;     /* requests taken (server_take), not yet answered */
	size_t streaming; /* answers whose body is still coming in pieces */
	size_t queued;    /* bytes in the clients' send queues */
};
void server_stats(const struct server *srv, struct server_stats *st);

/* In a route: takes the request, which is then answered with
 * server_answer() or server_stream() (and must be: the client waits) from
 * a later callback -- not from inside the route, which answers at once
 * with SERVER_ANSWERED when it can. on_gone may be NULL. The route returns
 * SERVER_LATER. At most one per route call. */
void server_take(struct server_req *r, struct server_reply *rp,
                 void (*on_gone)(struct server_reply *rp));

/* The answer to a taken request (res stays the caller's to free). 0 when
 * it is on its way; -ENOTCONN when the client had gone (nothing sent);
 * -ENOMEM when it could not be queued (the client is then closed). The
 * reply is yours again either way. */
int server_answer(struct server_reply *rp, const struct app_response *res);

/* A streamed answer to a taken request: head's head is sent now (its
 * body_len is the Content-Length the pieces must add up to, or
 * HTTP_CHUNKED when nobody knows it yet -- lab 7's zips made on the fly:
 * each piece then goes as a chunk, and server_end() sends the last, or,
 * to an HTTP/1.0 client, which knows no chunks, as it is, the connection
 * closing at server_end(); its body is not sent). The reply stays the client's until server_end(); on_drain
 * (may be NULL if you never fill the queue) is called as the queue
 * empties after a full write. 0, -ENOTCONN (the client had gone),
 * -ENOMEM or -EINVAL (nothing taken). */
int server_stream(struct server_reply *rp, const struct app_response *head,
                  void (*on_drain)(struct server_reply *rp));

/* The next piece of a streamed body; it goes to the socket at once when
 * the socket takes it. 0: write more; 1: the queue holds
 * SERVER_STREAM_HIGH bytes or more: wait for on_drain; -ENOTCONN: the
 * client has gone (on_gone has been called); -EINVAL: more than the
 * Content-Length; -ENOMEM. */
int server_write(struct server_reply *rp, const void *data, size_t len);

/* Cuts a streamed answer short: the connection is closed at once, without
 * the rest of the body -- for an answer that cannot be finished (a zip
 * whose next file cannot be read). The client sees the body end early, an
 * error, never a short answer that looks whole. The reply is yours again;
 * on_gone is not called. */
void server_abort(struct server_reply *rp);

/* Reads the body of a taken request: on_body is called with each piece
 * as it arrives (in the route's caller, when the first pieces came with
 * the head; else from the loop), then with len 0 at its end. A client
 * that sent "Expect: 100-continue" is sent "100 Continue" now. A malformed
 * chunked body, or a client that leaves mid-body, ends the request with
 * on_gone instead. Without this call the body is not read, and the
 * answer closes the connection. */
void server_read_body(struct server_reply *rp,
                      void (*on_body)(struct server_reply *rp, const void *data,
                                      size_t len));

/* No more on_body calls until server_resume(), which may make them
 * before it returns (pieces already received). */
void server_pause(struct server_reply *rp);
void server_resume(struct server_reply *rp);

/* The streamed body is complete: the connection goes on with the requests
 * behind it, and the reply is yours again. 0, -ENOTCONN, or -EINVAL when
 * the pieces fall short of the Content-Length (the client is then closed:
 * it would wait for the rest for ever). */
int server_end(struct server_reply *rp);

#endif
