/* worker.c - a thread with its own loop, and three ports to talk to it
 * (lab 6; worker.h).
 *
 * The parent makes the worker's loop and inbox, then the thread; from then
 * on the two threads share nothing but the ports (and `stopping`, an
 * atomic). A worker's life, on its thread:
 *
 *   main(w, init) -> ev_run(its loop) ... finish(): on_stop, inbox closed
 *   -> the loop's last round -> ev_loop_close -> "exit" on the events port
 *
 * and on the parent's loop thread: replies on the outbox; "error" and
 * "exit" on the events port, each after every reply posted before it
 * (port_drain() of the outbox first); at "exit", the join -- the thread
 * has nothing left to do but return -- and the two ports' close, after
 * which on_exit.
 *
 * You write the functions marked TODO(lab 6): finish(), on_inbox(), run(),
 * on_event(), worker_start() and worker_terminate(). Given: the rest (the
 * events, fail(), the replies, on_port_closed(), the posts). Until you
 * write worker_start(), it says -ENOSYS.
 */
#include <errno.h>
#include <string.h>

#include "worker.h"

/* What the events port carries. */
enum event_kind { EVENT_ERROR, EVENT_EXIT };

struct event {
	enum event_kind kind;
	int value; /* the error, or the exit code */
};

/* --- the worker's thread --- */

static void report(struct worker *w, enum event_kind kind, int value)
{
	struct event e = {kind, value};

	port_post(&w->events, &e, sizeof(e));
}

/* The worker ends with this code, unless it is ending already: what main
 * started is closed (on_stop), then the inbox, and the loop stops after
 * this round. Messages still in the inbox are dropped with it. */
static void finish(struct worker *w, int code)
{
	/* TODO(lab 6): end the worker with `code`, once (w->finishing): what
	 * main started is closed (opts.on_stop, may be NULL), the inbox is
	 * closed (its queued messages are dropped with it), and the loop stops
	 * after this round (ev_stop()).
	 */
	(void)w;
	(void)code;
}

/* An error is not a crash: the parent hears of it, and the worker ends. */
static void fail(struct worker *w, int err)
{
	report(w, EVENT_ERROR, err);
	finish(w, 1);
}

static void on_inbox(struct port *p, struct port_msg *m)
{
	/* TODO(lab 6): a message from the parent, on the worker's thread. Once
	 * worker_terminate() has set `stopping` (read it atomically), drop it
	 * and finish with exit code 1 (Node's); else hand it to
	 * opts.on_message, and an error it returns is the worker's failure
	 * (fail()).
	 */
	(void)p;
	port_msg_free(m);
}

static void *run(void *arg)
{
	/* TODO(lab 6): the worker's thread: opts.main (may be NULL; an error
	 * fails the worker), then its loop until finish() stops it (or it runs
	 * out: then finish with 0); one more round (EV_RUN_NOWAIT) for the
	 * closes finish() began; ev_loop_close(), whose error is the worker's
	 * too (a handle on_stop left open); and last, report the exit. After
	 * that post, w may be gone: touch nothing.
	 */
	(void)arg;
	(void)fail;
	return NULL;
}

struct ev_loop *worker_loop(struct worker *w)
{
	return &w->loop;
}

void worker_exit(struct worker *w, int code)
{
	finish(w, code);
}

bool worker_stopping(struct worker *w)
{
	return atomic_load(&w->stopping);
}

int worker_reply(struct worker *w, const void *data, size_t len)
{
	return port_post(&w->outbox, data, len);
}

int worker_reply_owned(struct worker *w, void **data, size_t len)
{
	return port_post_owned(&w->outbox, data, len);
}

/* --- the parent's loop thread --- */

static void on_reply(struct port *p, struct port_msg *m)
{
	struct worker *w = p->data;

	if (w->opts.on_reply != NULL)
		w->opts.on_reply(w, m);
	else
		port_msg_free(m);
}

static void on_port_closed(struct port *p)
{
	struct worker *w = p->data;

	if (--w->ports_open > 0)
		return;
	w->state = WORKER_IDLE;
	if (w->opts.on_exit != NULL)
		w->opts.on_exit(w, w->exit_code); /* w is the caller's now */
}

static void on_event(struct port *p, struct port_msg *m)
{
	/* TODO(lab 6): an error or the exit, on the parent's loop. Deliver the
	 * replies posted before it first (port_drain() of the outbox). An error
	 * goes to opts.on_error. The exit: join the thread (it has only its
	 * return left), keep the code, and close the outbox and the events
	 * port; the second on_port_closed calls on_exit.
	 */
	(void)p;
	(void)on_port_closed;
	port_msg_free(m);
}

int worker_start(struct worker *w, struct ev_loop *parent,
                 const struct worker_opts *opts)
{
	/* TODO(lab 6): the worker's loop, its inbox on that loop, and the
	 * outbox and events ports on the parent's loop, all made here, before
	 * the thread, so that worker_post() works at once; then
	 * pthread_create() (run). Unwind with goto on failure (port.h: a
	 * port_close() needs a loop round to finish). -EINVAL without opts or
	 * opts->on_message.
	 *
	 * Until you write it: -ENOSYS.
	 */
	(void)w;
	(void)parent;
	(void)opts;
	(void)on_inbox;
	(void)on_reply;
	(void)on_event;
	(void)run;
	return -ENOSYS;
}

int worker_post(struct worker *w, const void *data, size_t len)
{
	return port_post(&w->inbox, data, len);
}

int worker_post_owned(struct worker *w, void **data, size_t len)
{
	return port_post_owned(&w->inbox, data, len);
}

void worker_terminate(struct worker *w)
{
	/* TODO(lab 6): set `stopping` (atomically: another thread reads it),
	 * then wake the worker's loop with a message it will drop (a post that
	 * fails means it is ending already).
	 */
	(void)w;
}
