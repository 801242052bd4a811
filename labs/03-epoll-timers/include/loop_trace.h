/* loop_trace.h - the loop's probes for EV_TRACE (given code).
 *
 * loop.c's given parts call these; they do nothing unless tracing() (see
 * trace.h). A handle's callback is wrapped when it is initialised: the
 * wrapper times the real callback and records a slice named for the
 * handle. Your code calls w->cb as always and never knows.
 */
#ifndef LOOP_TRACE_H
#define LOOP_TRACE_H

#include <sys/epoll.h>

#include "loop.h"

/* Opens the trace (once per process) and names this thread's lane. */
void trace_loop_init(struct ev_loop *loop);

void trace_wrap_io(struct ev_io *w);
void trace_wrap_timer(struct ev_timer *t);
void trace_wrap_idle(struct ev_idle *w);
void trace_wrap_prepare(struct ev_prepare *w);
void trace_wrap_check(struct ev_check *w);
/* After ev_close() stored close_cb (NULL: nothing to wrap). */
void trace_wrap_close(struct ev_handle *h);

/* epoll_wait(), recorded as a "wait" slice: the loop asleep. */
int trace_epoll_wait(int epfd, struct epoll_event *events, int max,
                     int timeout);

#endif
