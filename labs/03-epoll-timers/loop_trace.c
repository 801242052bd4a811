/* loop_trace.c - the loop's probes for EV_TRACE (given code).
 *
 * A traced handle's callback field points at a wrapper here, and the
 * handle keeps the real one in h.traced_cb. The wrapper reads what it will
 * record before calling the real callback: once it returns, a close
 * callback may have freed the handle.
 */
#include "loop_trace.h"

#include <errno.h>
#include <stdio.h>

#include "trace.h"

static bool first_done; /* the first loop's thread is named (atomic) */

/* The first loop is the program's own: its thread is "loop". Later loops
 * (lab 6's workers) are often initialised on that same thread and run on
 * another one: their threads are named when they first run a loop
 * (trace_name_loop_thread() in the probes below). */
void trace_loop_init(struct ev_loop *loop)
{
	(void)loop;
	trace_init();
	if (tracing() && !__atomic_exchange_n(&first_done, true,
	                                      __ATOMIC_RELAXED))
		trace_name_thread("loop");
}

/* "io listener" or "io fd=7": what the slice is called. */
static void io_label(char *buf, size_t size, const struct ev_io *w)
{
	if (w->h.name != NULL)
		snprintf(buf, size, "io %s", w->h.name);
	else
		snprintf(buf, size, "io fd=%d", w->fd);
}

static void traced_io(struct ev_io *w, unsigned revents)
{
	void (*cb)(struct ev_io *, unsigned) =
	    (void (*)(struct ev_io *, unsigned))w->h.traced_cb;
	char name[64], args[64];
	double t0;

	trace_name_loop_thread();
	io_label(name, sizeof(name), w);
	snprintf(args, sizeof(args), "{\"fd\":%d,\"events\":\"%s%s\"}", w->fd,
	         (revents & EV_READABLE) ? "R" : "",
	         (revents & EV_WRITABLE) ? "W" : "");
	t0 = trace_now();
	cb(w, revents);
	trace_slice("io", name, t0, trace_now() - t0, args);
}

void trace_wrap_io(struct ev_io *w)
{
	if (!tracing())
		return;
	w->h.traced_cb = (void (*)(void))w->cb;
	w->cb = traced_io;
}

/* How late a one-shot timer fires, in the loop's ms: a repeating one has
 * already been re-armed when its callback runs, so its due is the next. */
static void traced_timer(struct ev_timer *t)
{
	void (*cb)(struct ev_timer *) =
	    (void (*)(struct ev_timer *))t->h.traced_cb;
	const char *name = t->h.name != NULL ? t->h.name : "timer";
	uint64_t now = ev_now(t->h.loop);
	char args[64] = "{}";
	double t0;

	trace_name_loop_thread();
	if (t->repeat == 0)
		snprintf(args, sizeof(args), "{\"late_ms\":%llu}",
		         (unsigned long long)(now > t->due ? now - t->due : 0));
	t0 = trace_now();
	cb(t);
	trace_slice("timer", name, t0, trace_now() - t0, args);
}

void trace_wrap_timer(struct ev_timer *t)
{
	if (!tracing())
		return;
	t->h.traced_cb = (void (*)(void))t->cb;
	t->cb = traced_timer;
}

/* Idle, prepare and check handles: the same shape, one wrapper each. */
#define QUEUE_PROBE(kind)                                                     \
	static void traced_##kind(struct ev_##kind *w)                        \
	{                                                                     \
		void (*cb)(struct ev_##kind *) =                              \
		    (void (*)(struct ev_##kind *))w->h.traced_cb;             \
		const char *name = w->h.name != NULL ? w->h.name : #kind;     \
		double t0 = trace_now();                                      \
                                                                              \
		trace_name_loop_thread();                                     \
		cb(w);                                                        \
		trace_slice(#kind, name, t0, trace_now() - t0, NULL);         \
	}                                                                     \
	void trace_wrap_##kind(struct ev_##kind *w)                           \
	{                                                                     \
		if (!tracing())                                               \
			return;                                               \
		w->h.traced_cb = (void (*)(void))w->cb;                       \
		w->cb = traced_##kind;                                        \
	}
QUEUE_PROBE(idle)
QUEUE_PROBE(prepare)
QUEUE_PROBE(check)

static void traced_close(struct ev_handle *h)
{
	void (*cb)(struct ev_handle *) = h->traced_close;
	const char *name = h->name != NULL ? h->name : "close";
	double t0 = trace_now();

	trace_name_loop_thread();
	cb(h); /* h may be freed from here on */
	trace_slice("close", name, t0, trace_now() - t0, NULL);
}

void trace_wrap_close(struct ev_handle *h)
{
	if (!tracing() || h->close_cb == NULL)
		return;
	h->traced_close = h->close_cb;
	h->close_cb = traced_close;
}

int trace_epoll_wait(int epfd, struct epoll_event *events, int max,
                     int timeout)
{
	char args[64];
	double t0;
	int n, err;

	if (!tracing())
		return epoll_wait(epfd, events, max, timeout);
	trace_name_loop_thread();
	t0 = trace_now();
	n = epoll_wait(epfd, events, max, timeout);
	err = errno; /* EINTR must reach the caller, not the writer's errno */
	snprintf(args, sizeof(args), "{\"timeout_ms\":%d,\"ready\":%d}", timeout,
	         n);
	trace_slice("wait", "epoll_wait", t0, trace_now() - t0, args);
	errno = err;
	return n;
}
