/* loop.c - an event loop on epoll, in the spirit of libuv (lab 3).
 *
 * ev_run() goes round the phases of libuv's uv_run() (v1.45+), in its
 * order; as a cycle:
 *
 *     timers, pending, idle, prepare, poll (and update time), check, closing
 *
 * An iteration starts at "pending" and ends with "timers": timers run after
 * the poll that waited for them, so EV_RUN_ONCE with only a timer blocks
 * until it is due and runs it before returning. In EV_RUN_DEFAULT the loop
 * also updates the time and runs the timers once before the first
 * iteration, as libuv does, so that timers already due go first.
 *
 * The clock is read once per iteration, as soon as poll returns, and
 * cached (ev_now()). The callbacks after the wait see the time after it,
 * and a timer started anywhere in the iteration is due `timeout` after the
 * same now that the next poll timeout is computed from. That is what keeps
 * timers from firing early in real time: now lags the true time (rounded
 * down, plus whatever the callbacks took since), but a timer started with a
 * lagging now is waited for from a poll that starts later still. libuv
 * reads the clock again just before the timers; a read between a timer's
 * start and the next poll shortens that wait by what it reads, and a
 * /sleep?ms=20 is sometimes answered after 19.x ms.
 *
 * Why epoll and not select(): select() copies and scans every watched
 * descriptor on every call, and cannot watch one above FD_SETSIZE. An epoll
 * instance keeps the interest list in the kernel (changed with epoll_ctl()
 * only when it changes) and epoll_wait() returns just the ready ones: the
 * cost follows the activity, not the number of connections.
 *
 * Level-triggered, not edge-triggered. Level-triggered epoll reports a
 * descriptor as long as it is ready, like select(): a callback may read
 * part of what is there and be called again next iteration. With EPOLLET
 * it is reported only when it becomes ready: a callback that stops before
 * read() or write() said EAGAIN (a bounded read loop, an early return on
 * a full buffer, one accept() per event) is never told again, and that
 * connection stalls for ever. Edge-triggered can save system calls
 * (register EPOLLIN | EPOLLOUT once and never MOD; no reports of a socket
 * one is not ready to serve), but only for code that drains every
 * descriptor to EAGAIN, every time, and remembers by itself the ones it
 * left unfinished (to be fair to the others).
 *
 * Handles are the caller's memory: nothing here allocates per handle or per
 * event. The loop owns two arrays, the timer heap and the descriptor table
 * (ios, indexed by fd), which grow by doubling.
 */
#include "loop.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "loop_trace.h"

/* With EV_TRACE set (trace.h), every wait is recorded: the time the loop
 * slept. Unset, this is epoll_wait() behind one branch. */
#define epoll_wait trace_epoll_wait

enum {
	/* handle flags */
	F_ACTIVE = 1,  /* started: the loop may call its callback */
	F_REF = 2,     /* counts for liveness when active (the default) */
	F_CLOSING = 4, /* ev_close()d, close_cb not called yet */
	F_CLOSED = 8,  /* close_cb called: the memory is the owner's again */

	IOS_MIN_CAP = 64,
	/* Ready descriptors taken per epoll_wait(); more wait for the next
	 * iteration (level-triggered: they are still ready then). */
	POLL_EVENTS = 1024,
};

/* --- the clock --- */

/* CLOCK_MONOTONIC (never jumps, unlike the wall clock) in whole ms, rounded
 * DOWN. That is what makes every timeout computed from it round up: with
 * the true time 1009.7 ms, now reads 1009 and a timer due at 1010 gets a
 * 1 ms wait, not 0. Had now been rounded to 1010, the timer would be seen
 * as due 0.3 ms early; and a timeout rounded down to 0 before a deadline
 * makes epoll_wait() return at once, again and again, until the deadline:
 * a busy loop. Rounded down, due <= now means the deadline has passed. */
static uint64_t monotonic_ms(void *arg)
{
	struct timespec t;

	(void)arg;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void ev_loop_set_clock(struct ev_loop *loop, ev_clock_fn clock, void *arg)
{
	loop->clock = clock != NULL ? clock : monotonic_ms;
	loop->clock_arg = arg;
	loop->now = loop->clock(loop->clock_arg);
}

void ev_update_time(struct ev_loop *loop)
{
	uint64_t t = loop->clock(loop->clock_arg);

	/* Never backwards: timers started earlier must stay due no later
	 * than timers started since (run_timers() relies on it). */
	if (t > loop->now)
		loop->now = t;
}

uint64_t ev_now(const struct ev_loop *loop)
{
	return loop->now;
}

/* --- the loop --- */

int ev_loop_init(struct ev_loop *loop)
{
	*loop = (struct ev_loop){.epfd = -1, .clock = monotonic_ms};
	trace_loop_init(loop);
	list_init(&loop->idle_q);
	list_init(&loop->prepare_q);
	list_init(&loop->check_q);
	list_init(&loop->pending_q);
	list_init(&loop->closing_q);
	/* CLOEXEC: a child the program execs must not inherit our epoll. */
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->now = loop->clock(loop->clock_arg);
	return 0;
}

int ev_loop_close(struct ev_loop *loop)
{
	/* Not only started handles: a stopped one that was never closed
	 * still points here, and its ev_close() would write into the loop
	 * after it is gone. libuv refuses just the same. */
	if (loop->handles > 0)
		return -EBUSY;
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
	heap_free(loop);
	free(loop->ios);
	loop->ios = NULL;
	loop->ios_cap = 0;
	return 0;
}

void ev_stop(struct ev_loop *loop)
{
	loop->stop_flag = true;
}

/* As libuv: an active referenced handle, a fed callback or a handle whose
 * close_cb has yet to run. A closing handle keeps the loop alive whatever
 * its ref: its owner is waiting for close_cb to free it. */
bool ev_loop_alive(const struct ev_loop *loop)
{
	return loop->active_refs > 0 || !list_empty(&loop->pending_q) ||
	       !list_empty(&loop->closing_q);
}

int ev_backend_timeout(const struct ev_loop *loop)
{
	const struct ev_timer *t;

	/* Callbacks are waiting to run in this iteration or the next (idle
	 * handles run every iteration): poll must only look, not wait. */
	if (loop->stop_flag || !list_empty(&loop->pending_q) ||
	    !list_empty(&loop->idle_q) || !list_empty(&loop->closing_q))
		return 0;
	t = heap_min(loop);
	if (t == NULL)
		return -1;
	if (t->due <= loop->now)
		return 0;
	/* now is rounded down, so this is the time left rounded up: never
	 * 0 before the deadline (see monotonic_ms()). */
	if (t->due - loop->now > INT_MAX)
		return INT_MAX;
	return (int)(t->due - loop->now);
}

/* --- handles --- */

static void handle_init(struct ev_loop *loop, struct ev_handle *h,
                        enum ev_type type)
{
	/* data is left alone: it is the owner's, who may set it first. */
	h->loop = loop;
	h->type = type;
	h->flags = F_REF;
	h->close_cb = NULL;
	h->name = NULL;
	list_init(&h->closing);
	loop->handles++;
}

/* The end of a handle's life, in the closing phase just before its close
 * callback: from here its memory is its owner's again, and the loop no
 * longer counts it (ev_loop_close()). */
static void handle_closed(struct ev_handle *h)
{
	h->flags = (h->flags & ~F_CLOSING) | F_CLOSED;
	h->loop->handles--;
}

static void handle_start(struct ev_handle *h)
{
	if (h->flags & F_ACTIVE)
		return;
	h->flags |= F_ACTIVE;
	if (h->flags & F_REF)
		h->loop->active_refs++;
}

static void handle_stop(struct ev_handle *h)
{
	if (!(h->flags & F_ACTIVE))
		return;
	h->flags &= ~F_ACTIVE;
	if (h->flags & F_REF)
		h->loop->active_refs--;
}

void ev_name(struct ev_handle *h, const char *name)
{
	h->name = name;
}

void ev_ref(struct ev_handle *h)
{
	if (h->flags & F_REF)
		return;
	h->flags |= F_REF;
	if (h->flags & F_ACTIVE)
		h->loop->active_refs++;
}

void ev_unref(struct ev_handle *h)
{
	if (!(h->flags & F_REF))
		return;
	h->flags &= ~F_REF;
	if (h->flags & F_ACTIVE)
		h->loop->active_refs--;
}

bool ev_is_active(const struct ev_handle *h)
{
	return (h->flags & F_ACTIVE) != 0;
}

bool ev_is_closing(const struct ev_handle *h)
{
	return (h->flags & (F_CLOSING | F_CLOSED)) != 0;
}

/* --- io --- */

/* Makes ios[fd] exist. */
static int ios_reserve(struct ev_loop *loop, int fd)
{
	size_t cap = loop->ios_cap ? loop->ios_cap : IOS_MIN_CAP;
	struct ev_io **ios;

	if ((size_t)fd < loop->ios_cap)
		return 0;
	while (cap <= (size_t)fd)
		cap *= 2;
	ios = realloc(loop->ios, cap * sizeof(*ios));
	if (ios == NULL)
		return -ENOMEM;
	for (size_t i = loop->ios_cap; i < cap; i++)
		ios[i] = NULL;
	loop->ios = ios;
	loop->ios_cap = cap;
	return 0;
}

int ev_io_init(struct ev_loop *loop, struct ev_io *w, int fd,
               void (*cb)(struct ev_io *w, unsigned revents))
{
	if (fd < 0)
		return -EBADF;
	if (cb == NULL)
		return -EINVAL; /* the loop would call it */
	handle_init(loop, &w->h, EV_IO);
	w->fd = fd;
	w->cb = cb;
	trace_wrap_io(w);
	w->events = 0;
	w->registered = 0;
	list_init(&w->pending);
	w->pending_events = 0;
	return 0;
}

static uint32_t to_epoll(unsigned events)
{
	return ((events & EV_READABLE) ? EPOLLIN : 0) |
	       ((events & EV_WRITABLE) ? EPOLLOUT : 0);
}

int ev_io_start(struct ev_io *w, unsigned events)
{
	struct ev_loop *loop = w->h.loop;
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};
	int rc;

	if (events & ~(unsigned)(EV_READABLE | EV_WRITABLE))
		return -EINVAL;
	if (ev_is_closing(&w->h))
		return -EINVAL;
	if (events == 0)
		return ev_io_stop(w);
	rc = ios_reserve(loop, w->fd);
	if (rc < 0)
		return rc;
	if (loop->ios[w->fd] != NULL && loop->ios[w->fd] != w)
		return -EEXIST; /* one watcher per descriptor */
	/* A system call only when what epoll has must change: a server
	 * re-states a connection's interest after every event, and most
	 * times it is the same. */
	if (events != w->registered) {
		int op = w->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

		if (epoll_ctl(loop->epfd, op, w->fd, &ev) < 0)
			return -errno; /* EPERM: a regular file; EBADF */
		w->registered = events;
	}
	w->events = events;
	loop->ios[w->fd] = w;
	handle_start(&w->h);
	return 0;
}

int ev_io_stop(struct ev_io *w)
{
	struct ev_loop *loop = w->h.loop;

	if (!ev_is_active(&w->h))
		return 0;
	/* Removed, not kept with no events: epoll reports EPOLLHUP and
	 * EPOLLERR whatever one asks for, so a hung-up socket left in the
	 * set would wake every epoll_wait(), level-triggered, for ever.
	 * Errors are ignored: the descriptor may be closed already, which
	 * removed it (unless it was dup()ed: so ev_close() before close()). */
	if (w->registered)
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->registered = 0;
	w->events = 0;
	/* Cleared here, an event of w still in this iteration's ready list
	 * is recognised as stale by dispatch(). */
	loop->ios[w->fd] = NULL;
	handle_stop(&w->h);
	return 0;
}

void ev_io_feed(struct ev_io *w, unsigned events)
{
	events &= EV_READABLE | EV_WRITABLE;
	if (events == 0 || ev_is_closing(&w->h))
		return;
	w->pending_events |= events;
	if (list_empty(&w->pending))
		list_append(&w->h.loop->pending_q, &w->pending);
}

/* --- timers --- */

int ev_timer_init(struct ev_loop *loop, struct ev_timer *t,
                  void (*cb)(struct ev_timer *t))
{
	if (cb == NULL)
		return -EINVAL;
	handle_init(loop, &t->h, EV_TIMER);
	t->cb = cb;
	trace_wrap_timer(t);
	t->due = 0;
	t->repeat = 0;
	t->seq = 0;
	t->heap_index = SIZE_MAX;
	return 0;
}

int ev_timer_start(struct ev_timer *t, uint64_t timeout, uint64_t repeat)
{
	struct ev_loop *loop = t->h.loop;
	int rc;

	if (ev_is_closing(&t->h))
		return -EINVAL;
	ev_timer_stop(t);
	t->due = loop->now + timeout;
	if (t->due < loop->now)
		t->due = UINT64_MAX; /* "never", rather than at once */
	t->repeat = repeat;
	t->seq = loop->timer_seq++;
	rc = heap_push(loop, t);
	if (rc < 0)
		return rc;
	handle_start(&t->h);
	return 0;
}

int ev_timer_stop(struct ev_timer *t)
{
	if (!ev_is_active(&t->h))
		return 0;
	heap_remove(t->h.loop, t);
	handle_stop(&t->h);
	return 0;
}

int ev_timer_again(struct ev_timer *t)
{
	if (t->repeat == 0)
		return -EINVAL;
	return ev_timer_start(t, t->repeat, t->repeat);
}

/* --- idle, prepare, check: one queue each, the same code --- */

static int queue_start(struct ev_handle *h, struct list *node,
                       struct list *queue)
{
	if (ev_is_closing(h))
		return -EINVAL;
	if (ev_is_active(h))
		return 0;
	list_append(queue, node);
	handle_start(h);
	return 0;
}

static int queue_stop(struct ev_handle *h, struct list *node)
{
	if (!ev_is_active(h))
		return 0;
	list_remove(node);
	handle_stop(h);
	return 0;
}

int ev_idle_init(struct ev_loop *loop, struct ev_idle *w,
                 void (*cb)(struct ev_idle *w))
{
	if (cb == NULL)
		return -EINVAL;
	handle_init(loop, &w->h, EV_IDLE);
	w->cb = cb;
	trace_wrap_idle(w);
	list_init(&w->queue);
	return 0;
}

int ev_idle_start(struct ev_idle *w)
{
	return queue_start(&w->h, &w->queue, &w->h.loop->idle_q);
}

int ev_idle_stop(struct ev_idle *w)
{
	return queue_stop(&w->h, &w->queue);
}

int ev_prepare_init(struct ev_loop *loop, struct ev_prepare *w,
                    void (*cb)(struct ev_prepare *w))
{
	if (cb == NULL)
		return -EINVAL;
	handle_init(loop, &w->h, EV_PREPARE);
	w->cb = cb;
	trace_wrap_prepare(w);
	list_init(&w->queue);
	return 0;
}

int ev_prepare_start(struct ev_prepare *w)
{
	return queue_start(&w->h, &w->queue, &w->h.loop->prepare_q);
}

int ev_prepare_stop(struct ev_prepare *w)
{
	return queue_stop(&w->h, &w->queue);
}

int ev_check_init(struct ev_loop *loop, struct ev_check *w,
                  void (*cb)(struct ev_check *w))
{
	if (cb == NULL)
		return -EINVAL;
	handle_init(loop, &w->h, EV_CHECK);
	w->cb = cb;
	trace_wrap_check(w);
	list_init(&w->queue);
	return 0;
}

int ev_check_start(struct ev_check *w)
{
	return queue_start(&w->h, &w->queue, &w->h.loop->check_q);
}

int ev_check_stop(struct ev_check *w)
{
	return queue_stop(&w->h, &w->queue);
}

/* --- closing --- */

/* Stops h, whatever its type: no callback of it runs after ev_close(). */
static void stop_any(struct ev_handle *h)
{
	switch (h->type) {
	case EV_IO: {
		struct ev_io *w = container_of(h, struct ev_io, h);

		ev_io_stop(w);
		list_remove(&w->pending); /* a fed callback: cancelled */
		w->pending_events = 0;
		break;
	}
	case EV_TIMER:
		ev_timer_stop(container_of(h, struct ev_timer, h));
		break;
	case EV_IDLE:
		ev_idle_stop(container_of(h, struct ev_idle, h));
		break;
	case EV_PREPARE:
		ev_prepare_stop(container_of(h, struct ev_prepare, h));
		break;
	case EV_CHECK:
		ev_check_stop(container_of(h, struct ev_check, h));
		break;
	}
}

void ev_close(struct ev_handle *h, void (*close_cb)(struct ev_handle *h))
{
	if (ev_is_closing(h))
		return;
	stop_any(h);
	h->flags |= F_CLOSING;
	h->close_cb = close_cb;
	trace_wrap_close(h);
	/* In close order (libuv's list is last closed, first called). */
	list_append(&h->loop->closing_q, &h->closing);
}

/* --- the phases --- */

/* Timers due by the start of the phase, earliest first. One started,
 * restarted or re-armed by a callback here waits for the next timers
 * phase, even with timeout 0: its seq is at least `last`. libuv collects
 * the due timers before calling any, to the same effect; otherwise a timer
 * that restarts itself with 0 would keep this phase (and the loop) running
 * for ever. The heap order makes the test enough: a timer started during
 * the phase is due no earlier than now, and after every timer started
 * before it and due by now. */
static void run_timers(struct ev_loop *loop)
{
	const uint64_t now = loop->now, last = loop->timer_seq;
	struct ev_timer *t;

	while ((t = heap_min(loop)) != NULL && t->due <= now && t->seq < last) {
		ev_timer_stop(t);
		/* From now, not from when it was due: a loop that fell
		 * behind runs it once, not once per missed period. */
		if (t->repeat > 0)
			ev_timer_start(t, t->repeat, t->repeat);
		t->cb(t);
	}
}

/* Fed io callbacks (ev_io_feed()). */
static void run_pending(struct ev_loop *loop)
{
	struct list queue;

	list_move(&loop->pending_q, &queue);
	while (!list_empty(&queue)) {
		struct ev_io *w =
		    container_of(queue.next, struct ev_io, pending);
		unsigned events = w->pending_events;

		list_remove(&w->pending);
		w->pending_events = 0;
		w->cb(w, events);
	}
}

/* Runs each handle of an idle, prepare or check queue once. Each goes back
 * on the loop's queue just before its callback: a callback may stop it (or
 * another one: it leaves the copy, and never runs), and one started here
 * runs next time. */
static void run_queue(struct list *loop_q, void (*call)(struct list *))
{
	struct list queue;

	list_move(loop_q, &queue);
	while (!list_empty(&queue)) {
		struct list *node = queue.next;

		list_remove(node);
		list_append(loop_q, node);
		call(node);
	}
}

static void call_idle(struct list *node)
{
	struct ev_idle *w = container_of(node, struct ev_idle, queue);

	w->cb(w);
}

static void call_prepare(struct list *node)
{
	struct ev_prepare *w = container_of(node, struct ev_prepare, queue);

	w->cb(w);
}

static void call_check(struct list *node)
{
	struct ev_check *w = container_of(node, struct ev_check, queue);

	w->cb(w);
}

/* How long poll may wait. ONCE blocks only if nothing ran before poll in
 * this iteration (libuv's can_sleep); NOWAIT never. */
static int poll_timeout(const struct ev_loop *loop, enum ev_run_mode mode,
                        bool can_sleep)
{
	if (mode == EV_RUN_NOWAIT || (mode == EV_RUN_ONCE && !can_sleep))
		return 0;
	/* The callbacks of this iteration stopped every referenced handle:
	 * the loop ends after it, so do not wait (an unreferenced watcher
	 * could keep us here for ever). */
	if (loop->active_refs == 0)
		return 0;
	return ev_backend_timeout(loop);
}

static unsigned to_events(uint32_t epoll_events)
{
	unsigned events = 0;

	if (epoll_events & EPOLLIN)
		events |= EV_READABLE;
	if (epoll_events & EPOLLOUT)
		events |= EV_WRITABLE;
	/* An error or hang-up is news to whoever reads or writes: the next
	 * read() or write() says what happened. */
	if (epoll_events & (EPOLLERR | EPOLLHUP))
		events |= EV_READABLE | EV_WRITABLE;
	return events;
}

/* Calls the watcher an event is for, if it still wants it. The ready list
 * was filled before any callback ran, and a callback may since have stopped
 * or closed another watcher (its memory is still valid: it can be freed only
 * in its close_cb, in the closing phase), closed its descriptor, and started
 * a new watcher on a new descriptor that got the same number. Hence the
 * event carries the watcher, not the fd: looked up by fd, the old
 * descriptor's event would go to the new watcher. It counts only if its
 * watcher is still the one registered for its fd, and only for the events
 * that watcher still asks for. */
static void dispatch(struct ev_loop *loop, const struct epoll_event *ev)
{
	struct ev_io *w = ev->data.ptr;
	unsigned events;

	if ((size_t)w->fd >= loop->ios_cap || loop->ios[w->fd] != w)
		return; /* stale: stopped or closed since */
	events = to_events(ev->events) & w->events;
	if (events != 0)
		w->cb(w, events);
}

/* epoll_wait() failed other than by a signal: EBADF or EINVAL (the epoll
 * descriptor was closed or replaced behind the loop's back), EFAULT. None
 * of them goes away by asking again, and returning would make every
 * iteration fail at once: a silent busy loop. libuv and Redis abort too. */
static _Noreturn void poll_failed(int err)
{
	fprintf(stderr, "ev_run: epoll_wait: %s\n", strerror(err));
	abort();
}

/* Waits for I/O (at most timeout ms), reads the clock, and dispatches. */
static void poll_io(struct ev_loop *loop, int timeout)
{
	struct epoll_event events[POLL_EVENTS];
	int n = epoll_wait(loop->epfd, events, POLL_EVENTS, timeout);

	/* EINTR: a signal came first; no events, and the wait is over. */
	if (n < 0 && errno != EINTR)
		poll_failed(errno);
	/* Update time, the one read of the iteration (see the top): the wait
	 * took time, and a deadline set from the time before it would fall
	 * due at once. */
	ev_update_time(loop);
	for (int i = 0; i < n; i++)
		dispatch(loop, &events[i]);
}

/* The close callbacks of the handles closed so far, in close order. Those
 * closed by a close callback wait for the next iteration. */
static void run_closing(struct ev_loop *loop)
{
	struct list queue;

	list_move(&loop->closing_q, &queue);
	while (!list_empty(&queue)) {
		struct ev_handle *h =
		    container_of(queue.next, struct ev_handle, closing);
		void (*close_cb)(struct ev_handle *) = h->close_cb;

		/* Everything done to h before its callback: after it, h may
		 * be freed memory, or another handle already. */
		list_remove(&h->closing);
		handle_closed(h);
		if (close_cb != NULL)
			close_cb(h);
	}
}

bool ev_run(struct ev_loop *loop, enum ev_run_mode mode)
{
	bool alive = ev_loop_alive(loop);

	if (!alive)
		ev_update_time(loop);
	if (mode == EV_RUN_DEFAULT && alive && !loop->stop_flag) {
		ev_update_time(loop);
		run_timers(loop);
	}
	while (alive && !loop->stop_flag) {
		bool can_sleep =
		    list_empty(&loop->pending_q) && list_empty(&loop->idle_q);

		loop->iterations++;
		run_pending(loop);
		run_queue(&loop->idle_q, call_idle);
		run_queue(&loop->prepare_q, call_prepare);
		poll_io(loop, poll_timeout(loop, mode, can_sleep));
		run_queue(&loop->check_q, call_check);
		run_closing(loop);
		run_timers(loop);

		alive = ev_loop_alive(loop);
		if (mode != EV_RUN_DEFAULT)
			break;
	}
	loop->stop_flag = false;
	return alive;
}
