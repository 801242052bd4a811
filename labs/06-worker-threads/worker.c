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
	/* TODO(lab 6): on the worker's thread. The first call decides:
	 * afterwards the worker is ending with `code` (what on_exit will
	 * say), what main started has been closed (opts.on_stop, may be
	 * NULL), the inbox is closing (its queued messages are dropped with
	 * it: later posts say -EPIPE), and the loop will stop after this
	 * round. Every later call does nothing: an exit after an error keeps
	 * the error's code, and on_stop runs once.
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
	/* TODO(lab 6): the inbox's on_message (p->data is yours to set),
	 * on the worker's thread: a message from the parent, yours to free or
	 * hand on. Afterwards:
	 * - once worker_terminate() has been called (`stopping`: written by
	 *   another thread, so read atomically), the message is dropped and
	 *   the worker is ending with exit code 1 (Node's);
	 * - else opts.on_message has it (and owns it), and an error it
	 *   returned has failed the worker: on_error, then exit code 1
	 *   (fail(), given).
	 */
	(void)p;
	port_msg_free(m);
}

static void *run(void *arg)
{
	/* TODO(lab 6): the worker's thread, from pthread_create() to its
	 * return (arg: what worker_start() gave). What must hold (worker.h's
	 * rules):
	 * - opts.main (may be NULL) runs first, with opts.init; an error it
	 *   returns fails the worker;
	 * - then the worker's loop runs until the worker ends; a loop that
	 *   runs out of work by itself ends it with code 0;
	 * - the closes the end began (on_stop's handles, the inbox) have run
	 *   their callbacks before ev_loop_close(); its -EBUSY (a handle
	 *   on_stop left open) is the worker's error: reported to the
	 *   parent, and exit code 1 whatever was asked;
	 * - last, "exit" with the code on the events port. That post is the
	 *   thread's last touch of w: the parent may join and free w as soon
	 *   as it lands.
	 *
	 * Fact (lab 3's ev_run(), as libuv's): an ev_stop() made while the
	 * loop was not running (in main, or after ev_run() returned) stays
	 * pending, and the next ev_run() returns at once without running
	 * anything. Count your rounds with that in mind.
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
	/* TODO(lab 6): the events port's on_message, on the parent's loop
	 * thread: a struct event, yours to free. Afterwards every reply the
	 * worker posted before the event has reached on_reply (the two ports
	 * ring separately: port_drain() exists for this), and then:
	 * - an error: opts.on_error (may be NULL) has had it;
	 * - the exit: the thread is joined -- "exit" was its last post, so
	 *   the join waits only for its return, never for work -- its code
	 *   is kept for on_exit, and the outbox and the events port are
	 *   closing; on_port_closed() (given) calls on_exit when the second
	 *   is closed.
	 */
	(void)p;
	(void)on_port_closed;
	port_msg_free(m);
}

int worker_start(struct worker *w, struct ev_loop *parent,
                 const struct worker_opts *opts)
{
	/* TODO(lab 6): on the parent's loop thread. Returns 0, and then
	 * the worker's thread runs run(); worker_post() works at once, even
	 * before that thread has run a line (its loop and inbox are made
	 * here); replies, errors and the exit will come to the parent's loop
	 * (the outbox and events ports), which they keep alive until on_exit;
	 * w is WORKER_RUNNING. w's memory may hold anything before the call
	 * (a worker reused after its on_exit): nothing of it may be relied on
	 * but w->data.
	 *
	 * Or returns, with no thread started and no callback of opts to come:
	 * -EINVAL without opts or opts->on_message; the error of the loop,
	 * a port or pthread_create() (which returns an error number, not -1
	 * and errno). Everything made before the failure is undone: the
	 * worker's own loop closed (a port_close() finishes only in a round
	 * of its loop), the parent's ports closing (worker.h: the caller runs
	 * the parent's loop once).
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
	/* TODO(lab 6): on the parent's loop thread. Afterwards
	 * worker_stopping() is true on every thread, and the worker will end
	 * (exit code 1) at its next message or loop iteration -- even an
	 * idle one. A worker that is ending already is left to end.
	 *
	 * The trap (test_worker_terminate): an idle worker sleeps in its
	 * poll, and a flag alone wakes nobody.
	 */
	(void)w;
}
