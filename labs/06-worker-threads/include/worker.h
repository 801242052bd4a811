/* worker.h - a thread with a loop of its own, talking by messages (lab 6).
 * Node's worker_threads: new Worker(file, {workerData}), postMessage() both
 * ways, the 'message', 'error' and 'exit' events, worker.terminate().
 *
 * Lab 4's cooks share one queue and run one function per order. A worker
 * is a second waiter: a thread running its own ev_loop, which owns its
 * state and hears from the parent only through messages. Three ports
 * (port.h) carry them:
 *
 *   parent's loop thread                      the worker's thread
 *   worker_start(w, loop, &opts): its loop
 *   and inbox made here, then --pthread_create-->    opts.main(w, init),
 *                                                    ev_run(its loop)
 *   worker_post(w, ..)    ------- inbox ------->     opts.on_message(w, m)
 *   opts.on_reply(w, m)   <------ outbox -------     worker_reply(w, ..)
 *   opts.on_error(w, err) <------ events -------     main or on_message
 *   opts.on_exit(w, code) <------ events -------     returned an error;
 *     (the thread is joined,                         the loop has ended:
 *      every port closed)                            opts.on_stop(w), the
 *                                                    inbox closed
 *
 * Rules the tests check:
 * - opts.main and opts.on_message run on the worker's thread, with its own
 *   loop (worker_loop()); on_reply, on_error and on_exit on the parent's
 *   loop thread;
 * - a worker ends when its loop ends: worker_exit(w, code) from its thread
 *   (process.exit()), worker_terminate(w) from the parent (exit code 1,
 *   Node's), or an error (exit code 1). Its open inbox keeps its loop
 *   alive, as a Node worker listening on parentPort stays alive;
 * - an error -- main or on_message returning a negative errno -- is not a
 *   crash: the parent gets on_error(w, err) once, and the worker ends;
 * - every reply the worker posted before an error reaches on_reply before
 *   on_error, and every reply it posted at all (on_stop's too) before
 *   on_exit; messages to a worker that has ended are dropped
 *   (worker_post() says -EPIPE once it knows);
 * - on_exit comes once, last, after the thread has been joined and every
 *   port closed: from then on w's memory is the caller's. It does not
 *   block the parent's loop: the worker's last message says it is leaving,
 *   and the join that follows waits only for its return;
 * - worker_terminate() stops the worker at its next message or loop
 *   iteration; a long job on the worker should look at
 *   worker_stopping(w) now and then (C cannot interrupt it, as V8 can);
 * - the worker's loop keeps the parent's alive until on_exit;
 * - however it ends, the worker's thread calls opts.on_stop(w), which
 *   closes what main started (timers...), then closes its inbox and runs
 *   its loop once more (EV_RUN_NOWAIT), for their close callbacks. A
 *   handle left open then is the worker's error: on_error(-EBUSY, from
 *   ev_loop_close()), and exit code 1 whatever the worker asked for.
 */
#ifndef WORKER_H
#define WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "loop.h"
#include "port.h"

struct worker;

struct worker_opts {
	/* The worker's thread, once, its loop ready: start what it needs.
	 * 0, or a negative errno (the worker then ends with an error). May
	 * be NULL. init is opts.init (workerData). */
	int (*main)(struct worker *w, void *init);
	/* The worker's thread: a message from the parent (m is yours:
	 * port_msg_free() it). 0, or a negative errno: an error. */
	int (*on_message)(struct worker *w, struct port_msg *m);
	/* The worker's thread, once, as it ends: close what main started.
	 * May be NULL. */
	void (*on_stop)(struct worker *w);
	/* The parent's loop thread: a reply (m is yours), an error, the end.
	 * Any may be NULL. */
	void (*on_reply)(struct worker *w, struct port_msg *m);
	void (*on_error)(struct worker *w, int err);
	void (*on_exit)(struct worker *w, int code);
	void *init;
};

enum worker_state {
	WORKER_IDLE,    /* before worker_start(), and after on_exit */
	WORKER_RUNNING, /* started; on_exit not yet */
};

struct worker {
	void *data; /* yours */
	/* Private: */
	struct worker_opts opts;
	struct ev_loop *parent; /* the parent's loop */
	struct ev_loop loop;    /* the worker's own: made by worker_start(),
	                         * run and closed by its thread */
	pthread_t thread;
	enum worker_state state;
	atomic_bool stopping; /* worker_terminate() was called */
	struct port inbox;    /* to the worker, on its loop */
	struct port outbox;   /* replies, on the parent's loop */
	struct port events;   /* error and exit, on the parent's loop */
	bool finishing;       /* the worker's thread: it is ending */
	int exit_code;        /* what on_exit will say */
	int ports_open; /* the parent's: outbox and events, until closed */
};

/* Starts a worker whose replies, errors and end come to the parent's loop
 * (the calling thread's). w->data is left as it is: set it before, since
 * main may run at once. Messages may be posted to it at once. 0 or a
 * negative errno (-EINVAL without on_message; pthread_create()'s error):
 * no thread started, and no callback of opts will come; run the parent's
 * loop once before w's memory goes (ports it had opened are closing). */
int worker_start(struct worker *w, struct ev_loop *parent,
                 const struct worker_opts *opts);

/* Parent -> worker: a copy of data[0..len). 0, -ENOMEM, -EPIPE once the
 * worker has ended (or is ending). */
int worker_post(struct worker *w, const void *data, size_t len);

/* Parent -> worker, handing over a malloc()ed buffer (port_post_owned()). */
int worker_post_owned(struct worker *w, void **data, size_t len);

/* Worker -> parent, from the worker's thread: a copy, or a buffer handed
 * over. 0, -ENOMEM, -EPIPE. */
int worker_reply(struct worker *w, const void *data, size_t len);
int worker_reply_owned(struct worker *w, void **data, size_t len);

/* The worker's loop, for its timers and the like (its thread only). */
struct ev_loop *worker_loop(struct worker *w);

/* From the worker's thread: end with this code (process.exit(code)). Its
 * loop stops after the current callback. */
void worker_exit(struct worker *w, int code);

/* From the parent: stop the worker (exit code 1). Once; any time before
 * on_exit. */
void worker_terminate(struct worker *w);

/* True once worker_terminate() was called: a long job should return.
 * From any thread. */
bool worker_stopping(struct worker *w);

#endif
