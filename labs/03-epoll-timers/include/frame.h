/* frame.h - the insides of the lab 3 server, shared by its two files
 * (given code): server.c, the server on the loop (lab 3's own), and
 * frame.c, what a later lab adds through server.h. Not an API: nothing
 * else includes it (it sits in include/ so that solutions/ finds it too).
 */
#ifndef FRAME_H
#define FRAME_H

#include <stdbool.h>
#include <stdint.h>

#include "body.h"
#include "conn.h"
#include "list.h"
#include "loop.h"
#include "server.h"

/* What a connection's timer is set for. */
enum wait {
	WAIT_NOTHING, /* busy, or a new connection that has sent nothing */
	WAIT_WAKE,    /* CONN_SLEEPING: the end of its /sleep */
	WAIT_HEAD,    /* part of a request head: the rest, for so long */
	WAIT_IDLE,    /* keep-alive, answered: the next request, for so long */
};

struct server {
	struct ev_loop loop;
	struct app_config cfg; /* the caller's, with the frame's route */
	int listen_fd;
	int signal_fd;
	struct ev_io listener;
	struct ev_io signals;
	struct ev_timer accept_pause; /* accepting again after a shortage */
	struct list clients;          /* every open client */
	bool starved;                 /* out of descriptors, and said so */
	bool closing;                 /* shut_down() has begun */
	int error;                    /* fatal: what server_run() returns */
	/* The frame's (frame.c): */
	const struct server_lab *lab; /* a later lab's part, or NULL */
	struct server_reply *taken;   /* taken by the route just called */
	struct body taken_body;       /* the body of that request */
	bool taken_http10;            /* that request is HTTP/1.0 */
	bool taken_expects;           /* it said "Expect: 100-continue" */
	/* A request whose body the lab said it reads, but whose route did
	 * not take it: the frame takes it, to answer res and close. */
	struct server_reply orphan;
	struct app_response orphan_res;
};

struct client {
	struct conn conn;
	struct ev_io io;
	struct ev_timer timer;
	struct server *srv;
	struct list link;  /* in srv->clients */
	enum wait waiting; /* what the timer is set for */
	int64_t since;     /* when the connection began waiting for it */
	int64_t deadline;  /* when the timer fires */
	int handles;       /* io and timer, until their close_cb */
	uint64_t answered; /* conn.requests when last settled */
	/* The frame's (frame.c): */
	struct server_reply *reply; /* taken: its answer is held */
	bool glancing; /* while it waits: watching for the guest leaving */
	bool full;     /* a streamed answer's queue said full: on_drain due */
	bool paused;   /* server_pause(): its body is not read for now */
	bool passing;  /* in pass_body(): on_body() is running */
	struct body body; /* the taken request's body, still to be read */
	bool http10;      /* the taken request is HTTP/1.0: no chunks */
	bool expects;     /* 100 Continue owed once its body is read */
};

/* server.c's, for frame.c. */
int64_t server_now(const struct server *srv);
void server_settle(struct client *cl, int rc);

/* frame.c's, for server.c. */
/* The lab's part, once the loop and listener are ready; and its end. */
int frame_open(struct server *srv);
void frame_close(struct server *srv);
/* After each event, before the client's interest is stated: a request
 * the route has just taken becomes the client's. */
void frame_adopt(struct client *cl);
/* After the interest is stated: while a taken request waits, also watch
 * for the guest leaving. 0 or a negative errno. */
int frame_watch(struct client *cl);
/* What frame_readable() did with a readable event. */
enum frame_read {
	FRAME_NOT_MINE, /* the connection reads as usual (conn_on_readable) */
	FRAME_READ,     /* the frame read: the connection must not */
	FRAME_GONE,     /* the guest has gone: close the client */
};
/* On each event, first: while a taken request waits, a readable socket
 * is its body's next bytes, or the guest leaving. */
enum frame_read frame_readable(struct client *cl, unsigned revents);
/* The client is being closed: a taken request is told (on_gone). */
void frame_forget(struct client *cl);
/* Last thing after each event (it may settle the client again): what can
 * flow now does -- a request body's pieces go to the route (on_body), a
 * streamed answer whose full queue has emptied is told (on_drain). */
void frame_flow(struct client *cl);

#endif
