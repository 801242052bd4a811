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
	if (w->finishing)
		return;
	w->finishing = true;
	w->exit_code = code;
	if (w->opts.on_stop != NULL)
		w->opts.on_stop(w);
	port_close(&w->inbox, NULL);
	ev_stop(&w->loop);
}

/* An error is not a crash: the parent hears of it, and the worker ends. */
static void fail(struct worker *w, int err)
{
	report(w, EVENT_ERROR, err);
	finish(w, 1);
}

static void on_inbox(struct port *p, struct port_msg *m)
{
	struct worker *w = p->data;
	int rc;

	if (atomic_load(&w->stopping)) {
		port_msg_free(m);
		finish(w, 1); /* terminated: Node's exit code */
		return;
	}
	if ((rc = w->opts.on_message(w, m)) < 0)
		fail(w, rc);
}

static void *run(void *arg)
{
	struct worker *w = arg;
	int rc = w->opts.main != NULL ? w->opts.main(w, w->opts.init) : 0;

	if (rc < 0)
		fail(w, rc);
	ev_run(&w->loop, EV_RUN_DEFAULT); /* until finish() stops it */
	finish(w, 0);                     /* a loop that ran out by itself */
	/* The closes finish() began. A finish() outside ev_run() (in main,
	 * or just above) left a stop behind, which ends the first round at
	 * once (ev_run() drops it as it returns): the second runs them. */
	ev_run(&w->loop, EV_RUN_NOWAIT);
	ev_run(&w->loop, EV_RUN_NOWAIT);
	if ((rc = ev_loop_close(&w->loop)) < 0) {
		/* on_stop left a handle open: the worker's mistake. */
		report(w, EVENT_ERROR, rc);
		w->exit_code = 1;
	}
	report(w, EVENT_EXIT, w->exit_code); /* its last touch of w */
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
	struct worker *w = p->data;
	struct event e;

	memcpy(&e, m->data, sizeof(e));
	port_msg_free(m);
	port_drain(&w->outbox); /* the replies posted before it come first */
	if (e.kind == EVENT_ERROR) {
		if (w->opts.on_error != NULL)
			w->opts.on_error(w, e.value);
		return;
	}
	/* "exit" was the thread's last post: the join waits only for its
	 * return. */
	pthread_join(w->thread, NULL);
	w->exit_code = e.value;
	port_close(&w->outbox, on_port_closed);
	port_close(&w->events, on_port_closed);
}

int worker_start(struct worker *w, struct ev_loop *parent,
                 const struct worker_opts *opts)
{
	int rc;

	if (opts == NULL || opts->on_message == NULL)
		return -EINVAL;
	w->opts = *opts;
	w->parent = parent;
	w->finishing = false;
	w->exit_code = 0;
	w->ports_open = 0;
	atomic_init(&w->stopping, false);
	if ((rc = ev_loop_init(&w->loop)) < 0)
		return rc;
	if ((rc = port_open(&w->inbox, &w->loop, on_inbox)) < 0)
		goto close_loop;
	w->inbox.data = w;
	if ((rc = port_open(&w->outbox, parent, on_reply)) < 0)
		goto close_inbox;
	w->outbox.data = w;
	if ((rc = port_open(&w->events, parent, on_event)) < 0)
		goto close_outbox;
	w->events.data = w;
	/* The thread sees everything above: pthread_create() orders it. */
	if ((rc = -pthread_create(&w->thread, NULL, run, w)) < 0)
		goto close_events;
	w->ports_open = 2;
	w->state = WORKER_RUNNING;
	return 0;

close_events:
	port_close(&w->events, NULL);
close_outbox:
	port_close(&w->outbox, NULL);
close_inbox:
	port_close(&w->inbox, NULL);
close_loop:
	ev_run(&w->loop, EV_RUN_NOWAIT); /* the inbox's close */
	ev_loop_close(&w->loop);
	return rc;
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
	atomic_store(&w->stopping, true);
	/* A message wakes its loop; it is dropped, and the worker ends. If
	 * the inbox is closed, the worker is ending already. */
	port_post(&w->inbox, NULL, 0);
}
