/* loop.h - an event loop on epoll, in the spirit of libuv (lab 3).
 *
 * The smart waiter of lab 2 had to look at every table (select() scans all
 * descriptors) and kept his own list of alarms. This one asks the kernel for
 * the ready tables only (epoll), keeps his alarms in a heap, and goes round
 * the same rounds in the same order every time -- libuv's order (v1.45+,
 * src/unix/core.c uv_run), as a cycle:
 *
 *     timers, pending, idle, prepare, poll (and update time), check, closing
 *
 * Node's docs draw the cycle starting at "timers"; a cycle has no first
 * station. One ev_run() iteration starts at "pending" and ends with
 * "timers" (the timers that the poll waited for), and EV_RUN_DEFAULT also
 * runs due timers once before the first iteration, as libuv does. The
 * loop's "now" is read once per iteration, when poll returns, and cached
 * (loop.c says why that keeps timers from firing early). In EV_RUN_DEFAULT
 * the loop iterates until nothing active and referenced is left.
 *
 * Handles belong to the caller (put them in your own structs, no malloc
 * here), follow init -> start -> stop -> close, carry a `data` pointer, and
 * may be freed only in (or after) their close callback. The loop counts
 * every handle from its init until its close callback: each one initialised
 * must be ev_close()d, and the loop run until the callback, before
 * ev_loop_close(). Initialise a handle once, and again only after its close
 * callback.
 *
 * Idle, prepare and check handles of one kind run in the order they were
 * started, oldest first. libuv runs them newest first (uv_idle_start() puts
 * a handle at the head of its queue): code that depends on the order does
 * not port either way.
 */
#ifndef LOOP_H
#define LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

enum ev_run_mode {
	EV_RUN_DEFAULT, /* until no active, referenced handle is left */
	EV_RUN_ONCE,    /* one iteration; poll may block */
	EV_RUN_NOWAIT,  /* one iteration; poll never blocks */
};

enum ev_type { EV_IO, EV_TIMER, EV_IDLE, EV_PREPARE, EV_CHECK };

enum { EV_READABLE = 1, EV_WRITABLE = 2 };

struct ev_loop;

/* The common head of every handle; each handle type embeds it first. */
struct ev_handle {
	struct ev_loop *loop;
	enum ev_type type;
	void *data;                 /* yours */
	unsigned flags;             /* private: active, ref, closing, closed */
	void (*close_cb)(struct ev_handle *h);
	struct list closing;     /* private: the closing queue */
	const char *name;           /* what a trace calls it (ev_name()) */
	void (*traced_cb)(void);    /* private: EV_TRACE's (loop_trace.c) */
	void (*traced_close)(struct ev_handle *h); /* private: the same */
};

struct ev_io {
	struct ev_handle h;
	int fd;
	void (*cb)(struct ev_io *w, unsigned revents);
	unsigned events;            /* private: wanted (EV_READABLE|EV_WRITABLE) */
	unsigned registered;        /* private: what epoll has */
	struct list pending;     /* private: the pending queue */
	unsigned pending_events;    /* private */
};

struct ev_timer {
	struct ev_handle h;
	void (*cb)(struct ev_timer *t);
	uint64_t due;               /* private: when, in loop ms */
	uint64_t repeat;            /* ms; 0: one-shot */
	uint64_t seq;               /* private: start order, breaks ties */
	size_t heap_index;          /* private */
};

/* idle, prepare and check handles are the same shape. */
struct ev_idle {
	struct ev_handle h;
	void (*cb)(struct ev_idle *w);
	struct list queue;       /* private */
};
struct ev_prepare {
	struct ev_handle h;
	void (*cb)(struct ev_prepare *w);
	struct list queue;
};
struct ev_check {
	struct ev_handle h;
	void (*cb)(struct ev_check *w);
	struct list queue;
};

/* The clock the loop reads, once per iteration (the cached "now"): by
 * default CLOCK_MONOTONIC in ms. Tests install their own to be exact. */
typedef uint64_t (*ev_clock_fn)(void *arg);

struct ev_loop {
	int epfd;
	uint64_t now;               /* cached ms, updated once per iteration */
	ev_clock_fn clock;
	void *clock_arg;
	bool stop_flag;
	unsigned active_refs;       /* active, referenced handles */
	uint64_t timer_seq;
	struct ev_timer **heap;     /* min-heap on (due, seq) */
	size_t heap_len, heap_cap;
	struct ev_io **ios;         /* by fd: the watcher of each */
	size_t ios_cap;
	struct list idle_q, prepare_q, check_q, pending_q, closing_q;
	unsigned handles;           /* initialised, close callback not run */
	uint64_t iterations;        /* begun so far (ev_run()) */
};

/* 0 or a negative errno. */
int ev_loop_init(struct ev_loop *loop);
/* -EBUSY while a handle is initialised and its close callback has not run
 * (stopped or not): ev_close() them and run the loop (EV_RUN_NOWAIT will
 * do) first. Else closes the epoll descriptor, frees the loop's arrays and
 * returns 0. */
int ev_loop_close(struct ev_loop *loop);
void ev_loop_set_clock(struct ev_loop *loop, ev_clock_fn clock, void *arg);

/* Runs the loop. Returns ev_loop_alive() as it returns, however the run
 * ended: false once the loop has nothing left; true if something still
 * keeps it alive (after ev_stop(), or an EV_RUN_ONCE or EV_RUN_NOWAIT run
 * that left work). loop->iterations goes up by 1 as each iteration begins.
 * Aborts the program if epoll_wait() fails other than with EINTR: the epoll
 * descriptor is broken (closed behind the loop's back), and no later
 * iteration could do better. */
bool ev_run(struct ev_loop *loop, enum ev_run_mode mode);
/* Makes ev_run() return once the current iteration is over; called outside
 * ev_run(), the next ev_run() runs nothing. ev_run() clears the request
 * before it returns. */
void ev_stop(struct ev_loop *loop);
bool ev_loop_alive(const struct ev_loop *loop);
uint64_t ev_now(const struct ev_loop *loop);
void ev_update_time(struct ev_loop *loop);
/* The poll timeout ev_run would use now, in ms (-1: block for ever). */
int ev_backend_timeout(const struct ev_loop *loop);

/* Names h in traces (EV_TRACE, trace.h): "bell", "listener"... name must
 * outlive the handle (a string literal). Unnamed, an io is "io fd=N". */
void ev_name(struct ev_handle *h, const char *name);

/* A flag, not a count (as libuv's uv_ref/uv_unref): a handle starts
 * referenced; ev_unref() twice and ev_ref() once leave it referenced. Only
 * an active, referenced handle keeps ev_run(EV_RUN_DEFAULT) going. */
void ev_ref(struct ev_handle *h);
void ev_unref(struct ev_handle *h);
bool ev_is_active(const struct ev_handle *h);
bool ev_is_closing(const struct ev_handle *h);
/* Stops the handle now and calls close_cb (may be NULL) in the closing
 * phase of this iteration or the next; after that the memory is yours. */
void ev_close(struct ev_handle *h, void (*close_cb)(struct ev_handle *h));

/* Every *_init: 0, or -EINVAL for a NULL cb (the loop would call it), and
 * for ev_io_init -EBADF for a negative fd; a handle that failed to
 * initialise need not be closed. */
int ev_io_init(struct ev_loop *loop, struct ev_io *w, int fd,
               void (*cb)(struct ev_io *w, unsigned revents));
/* Sets the events to watch (replacing the old set); 0 stops. */
int ev_io_start(struct ev_io *w, unsigned events);
int ev_io_stop(struct ev_io *w);
/* Queues cb(w, events) for the pending phase of the next iteration, the way
 * libuv defers some I/O callbacks (the "pending callbacks" phase). */
void ev_io_feed(struct ev_io *w, unsigned events);

int ev_timer_init(struct ev_loop *loop, struct ev_timer *t,
                  void (*cb)(struct ev_timer *t));
/* Fires timeout ms from ev_now(), then every repeat ms (0: once). A
 * running timer is restarted. Timers due at the same time fire in the
 * order they were started. */
int ev_timer_start(struct ev_timer *t, uint64_t timeout, uint64_t repeat);
int ev_timer_stop(struct ev_timer *t);
/* Restarts a repeating timer with its repeat as timeout; -EINVAL if it has
 * none. */
int ev_timer_again(struct ev_timer *t);

int ev_idle_init(struct ev_loop *loop, struct ev_idle *w, void (*cb)(struct ev_idle *w));
int ev_idle_start(struct ev_idle *w);
int ev_idle_stop(struct ev_idle *w);
int ev_prepare_init(struct ev_loop *loop, struct ev_prepare *w, void (*cb)(struct ev_prepare *w));
int ev_prepare_start(struct ev_prepare *w);
int ev_prepare_stop(struct ev_prepare *w);
/* Check callbacks run right after poll: Node's setImmediate. */
int ev_check_init(struct ev_loop *loop, struct ev_check *w, void (*cb)(struct ev_check *w));
int ev_check_start(struct ev_check *w);
int ev_check_stop(struct ev_check *w);

#endif
