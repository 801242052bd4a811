/* pool.h - the kitchen: a fixed pool of threads and one work queue, wired
 * to the lab 3 loop (lab 4). The equivalent of libuv's thread pool and
 * uv_queue_work() (src/threadpool.c).
 *
 * The waiter (the loop thread) never cooks. He writes an order (a
 * struct tp_work), pins it on the kitchen's rail (the queue) and goes back
 * to his tables. A free cook (a pool thread) takes an order, cooks it
 * (work) and puts the dish on the pass (the done list). The bell (an
 * eventfd the loop watches like a socket) is how the waiter learns there
 * are dishes; he serves them (after_work) on his own thread:
 *
 *   loop thread                     pool threads (size of them)
 *   tp_submit(w) ----> queue ----> work(w)
 *                                    |
 *   after_work(w, status) <---- done list, and the bell
 *
 * What the pool guarantees (the tests check each one; how the lock, the
 * condition variable, the two lists and the bell work together to give
 * them is yours to design):
 * - work runs exactly once, on a pool thread, the oldest order first;
 *   after_work runs exactly once, on the loop thread (the one running
 *   ev_run() or tp_close()), the oldest dish first, never with the lock
 *   held (it may call tp_submit(), tp_cancel() and tp_stats());
 * - the pool has `size` threads: EV_THREADPOOL_SIZE from the environment
 *   (like libuv's UV_THREADPOOL_SIZE), 4 when unset or not a number, 0 read
 *   as 1, more than TP_MAX_THREADS read as TP_MAX_THREADS. They are started
 *   together on the first tp_submit(), not before. Where pthread_create()
 *   fails part-way (EAGAIN: a limit on threads or memory), the pool keeps
 *   the threads it got and `size` becomes their number for good (libuv
 *   aborts instead); where not one starts, that tp_submit() fails with the
 *   error, and the next one tries again;
 * - a thread with nothing to do sleeps (no busy waiting), and no order
 *   ever waits on the queue while a thread that could take it sleeps;
 * - no dish ever waits on the pass with nothing on its way to make the
 *   loop serve it, whatever the loop is doing when it arrives;
 * - the loop is not woken once per dish: dishes finished while the loop
 *   is busy elsewhere share one wake-up (a thousand of them: one eventfd
 *   write in all), as libuv's do;
 * - while work is queued, running or waiting to be served, the pool keeps
 *   the loop alive (ev_run(EV_RUN_DEFAULT) does not return); an idle pool
 *   does not.
 *
 * One pool serves one loop. Every function but the work callback itself is
 * called on the loop thread.
 */
#ifndef POOL_H
#define POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "loop.h"

enum {
	TP_DEFAULT_THREADS = 4,
	TP_MAX_THREADS = 1024,
};

/* The environment variable that sets the pool's size. */
#define TP_SIZE_ENV "EV_THREADPOOL_SIZE"

struct tp_pool;
struct tp_work;

/* Runs on a pool thread: may block, may burn CPU; must not touch the loop. */
typedef void (*tp_work_fn)(struct tp_work *w);
/* Runs on the loop thread once work has run (status 0) or was cancelled
 * before it started (status -ECANCELED). w is yours again from here. */
typedef void (*tp_after_fn)(struct tp_work *w, int status);

/* Where an order is. Only the pool changes it: under the pool's lock
 * while a cook may look at the order (queued, running, on the pass); an
 * order the loop has taken off the pass is the loop thread's alone. */
enum tp_state {
	TP_IDLE,      /* not submitted, or after_work has run */
	TP_QUEUED,    /* on the rail, no cook has it */
	TP_RUNNING,   /* a cook is on it */
	TP_DONE,      /* on the pass: work ran, after_work pending */
	TP_CANCELLED, /* on the pass: never ran, after_work pending */
};

/* One order. Embed it in your own struct (no malloc in the pool) and keep
 * it alive until its after_work. */
struct tp_work {
	void *data; /* yours */
	tp_work_fn work;
	tp_after_fn after_work;
	struct tp_pool *pool;  /* private: NULL until its first tp_submit(),
	                        * so zero the struct before (tp_cancel says
	                        * -EINVAL for an order never submitted) */
	struct list link;   /* private: in the queue or the done list */
	enum tp_state state;   /* private: see enum tp_state */
};

/* What /stats shows: a snapshot taken under the lock. */
struct tp_stats {
	unsigned size;      /* threads in the pool (started or still to be) */
	unsigned busy;      /* threads running a work callback now */
	unsigned queued;    /* orders waiting for a thread */
	uint64_t completed; /* work callbacks finished so far */
};

struct tp_pool {
	/* Loop thread only (the cooks never read them): */
	struct ev_loop *loop;
	unsigned size;       /* from the environment; after a partial start,
	                      * the threads that run (see above) */
	pthread_t *threads;  /* room for size of them from the first start
	                      * on, else NULL */
	unsigned started;    /* threads created (0 until a start succeeds) */

	pthread_mutex_t lock; /* guards everything down to `completed` */
	pthread_cond_t more;  /* where cooks with nothing to do sleep */
	struct list queue; /* submitted, not started: oldest first */
	struct list done;  /* finished or cancelled, after_work pending */
	bool stopping;        /* tp_close() has begun. Written by the loop
	                       * thread, under the lock (the cooks read it);
	                       * the loop thread may read it without. */
	unsigned busy;
	unsigned queued;
	uint64_t completed;

	int wake_fd;         /* the bell: an eventfd the loop watches */
	struct ev_io wake;   /* the loop's watcher on wake_fd */
	unsigned in_flight;  /* loop thread only: submitted, after_work not run */
	uint64_t wakeups;    /* loop thread only: times the bell's callback ran */
};

/* Reads the size from the environment, creates the eventfd and its ev_io
 * (threads start later). 0 or a negative errno; if the ev_io could not be
 * started, it is ev_close()d: run the loop before p's memory goes, as after
 * tp_close(). */
int tp_init(struct tp_pool *p, struct ev_loop *loop);

/* The size a value of EV_THREADPOOL_SIZE means (NULL: unset). */
unsigned tp_size_from(const char *value);

/* Queues w: work(w) will run on a pool thread, then after_work(w, 0) on
 * the loop thread. Starts the threads on first use. Returns 0, -EINVAL
 * (work or after_work NULL), -ESHUTDOWN after tp_close(), or the error
 * when not one thread could be started (-EAGAIN, -ENOMEM). */
int tp_submit(struct tp_pool *p, struct tp_work *w, tp_work_fn work,
              tp_after_fn after_work);

/* Takes w back if no thread has started it: it will never run, and its
 * after_work runs on the loop thread with -ECANCELED (from the loop, in a
 * later iteration, never from inside tp_cancel). Returns 0, or -EBUSY if it
 * is running or done (it then completes normally), or -EINVAL if it is not
 * submitted. */
int tp_cancel(struct tp_work *w);

void tp_stats(struct tp_pool *p, struct tp_stats *s);

/* Shuts the kitchen. When it returns: queued work was cancelled (never
 * run), running work has finished (it is not interrupted), every thread
 * is joined, and every after_work still owed has run, here, on the calling
 * (loop) thread, with 0 or -ECANCELED; tp_submit() says -ESHUTDOWN from its
 * first moment on. The eventfd's watcher is ev_close()d: run the loop once
 * more before ev_loop_close(), which says -EBUSY until its close callback
 * has run. 0 or a negative errno. */
int tp_close(struct tp_pool *p);

#endif
