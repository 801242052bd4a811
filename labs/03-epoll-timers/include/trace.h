/* trace.h - a flight recorder for the loop and the pool (given code).
 *
 * Run any lab 3+ server with EV_TRACE=FILE in its environment and it writes
 * FILE in Chrome's trace-event format (JSON): what each thread did, and
 * when, to the microsecond. `make trace LAB=N` runs a short scene and draws
 * it as a timeline page; Perfetto (ui.perfetto.dev) and Chromium's
 * about:tracing open the file too. What is recorded, by whom:
 *
 *   loop.c (given parts)   every epoll_wait() (cat "wait": the loop asleep)
 *                          and every callback, as a slice named for its
 *                          handle (cat "io", "timer", "close", "idle"...)
 *   pool.c ring()          the bell (an instant on the cook that rang)
 *   kitchen.c, fs.c        each job on its cook's lane (cat "job"), with an
 *                          arrow from when it was queued, and the queue's
 *                          length (counter "queue", key "queued")
 *
 * None of it is in the code you write: the given parts wrap your callbacks
 * when the handle is initialised (loop_trace.c), and the wrapper is where
 * the time is taken. With EV_TRACE unset nothing is wrapped: the cost is
 * one predictable branch per epoll_wait() and per job.
 *
 * The file is closed (made valid JSON) at exit(). A process that dies
 * leaves it without its last "]}"; the course's readers repair that.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stdbool.h>

/* True once trace_init() found EV_TRACE and opened its file. Set before
 * any thread but the first starts, and never cleared while they run. */
extern bool trace_enabled;

static inline bool tracing(void)
{
	return __builtin_expect(trace_enabled, 0);
}

/* Where and when something happened: a thread and a time (us). */
struct trace_mark {
	double ts;
	int tid;
};

/* Reads EV_TRACE and opens the file, once per process (later calls do
 * nothing). The loop calls it in ev_loop_init(). */
void trace_init(void);
/* CLOCK_MONOTONIC, in microseconds. */
double trace_now(void);
void trace_mark_now(struct trace_mark *m);

/* Names the calling thread's lane (printf-style). A thread that records
 * before it is named is called "cook 1", "cook 2"...: pool threads never
 * name themselves. */
void trace_name_thread(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* A thread found running a loop: "worker 1", "worker 2"... unless it has
 * a name already (the first loop's thread is "loop"). */
void trace_name_loop_thread(void);

/* A slice on the calling thread's lane, from ts for dur us. args: the text
 * of a JSON object ("{\"fd\":7}"), or NULL. */
void trace_slice(const char *cat, const char *name, double ts, double dur,
                 const char *args);
/* An arrow from `from` (another thread's lane, earlier) to ts here. */
void trace_flow(const char *name, const struct trace_mark *from, double ts);
/* A point in time on the calling thread's lane. */
void trace_instant(const char *name);
/* A counter's new value (drawn as a step chart): args {key: value}. */
void trace_counter(const char *name, const char *key, long value);

/* The queue of jobs waiting for a cook: +1 when one is queued, -1 when a
 * cook starts it or it is cancelled. Records the counter "queue". */
void trace_queue_add(int delta);

#endif
