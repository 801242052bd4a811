/* trace.c - writes the trace-event file EV_TRACE names (given code).
 *
 * Chrome's JSON object form: {"traceEvents":[ event, event, ... ]}. Every
 * event is formatted on the stack by the thread that records it and then
 * written under one mutex, so that events of several threads never mix
 * within a line. Events go out as they complete, not in time order: the
 * readers sort. The closing "]}" is written at exit().
 */
#include "trace.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

bool trace_enabled;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;           /* under lock; NULL once closed */
static bool first = true;   /* under lock: no comma before the first event */
static int pid;
static unsigned cooks;      /* lanes named "cook N" so far (atomic) */
static unsigned workers;    /* lanes named "worker N" so far (atomic) */
static unsigned long flows; /* flow arrows so far (atomic) */
static long queued;         /* jobs waiting (atomic) */

static _Thread_local int my_tid;
static _Thread_local bool named;

/* One event, a JSON object without its braces' comma: the writer adds
 * the separator, so the array stays valid whatever order threads come. */
static void emit(const char *event)
{
	pthread_mutex_lock(&lock);
	if (out != NULL) {
		fputs(first ? "\n" : ",\n", out);
		fputs(event, out);
		first = false;
	}
	pthread_mutex_unlock(&lock);
}

static void finish(void)
{
	pthread_mutex_lock(&lock);
	if (out != NULL) {
		fputs("\n],\"displayTimeUnit\":\"ms\"}\n", out);
		fclose(out);
		out = NULL;
	}
	pthread_mutex_unlock(&lock);
}

static void open_from_env(void)
{
	const char *path = getenv("EV_TRACE");

	if (path == NULL || *path == '\0')
		return;
	out = fopen(path, "we");
	if (out == NULL)
		return; /* no trace, but never a broken server */
	pid = getpid();
	fputs("{\"traceEvents\":[", out);
	atexit(finish);
	trace_enabled = true;
}

void trace_init(void)
{
	pthread_once(&once, open_from_env);
}

double trace_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void write_name(const char *name)
{
	char ev[256];

	snprintf(ev, sizeof(ev),
	         "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%d,"
	         "\"tid\":%d,\"args\":{\"name\":\"%s\"}}",
	         pid, my_tid, name);
	emit(ev);
}

/* The calling thread's id, naming its lane on first use. */
static int tid(void)
{
	if (my_tid == 0)
		my_tid = gettid();
	if (!named) {
		char name[32];

		named = true;
		snprintf(name, sizeof(name), "cook %u",
		         __atomic_add_fetch(&cooks, 1, __ATOMIC_RELAXED));
		write_name(name);
	}
	return my_tid;
}

void trace_name_thread(const char *fmt, ...)
{
	char name[64];
	va_list ap;

	if (!tracing())
		return;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (my_tid == 0)
		my_tid = gettid();
	named = true;
	write_name(name);
}

void trace_name_loop_thread(void)
{
	if (!named)
		trace_name_thread("worker %u", __atomic_add_fetch(
		                                   &workers, 1, __ATOMIC_RELAXED));
}

void trace_mark_now(struct trace_mark *m)
{
	m->ts = trace_now();
	m->tid = tid();
}

void trace_slice(const char *cat, const char *name, double ts, double dur,
                 const char *args)
{
	char ev[512];

	snprintf(ev, sizeof(ev),
	         "{\"ph\":\"X\",\"cat\":\"%s\",\"name\":\"%s\",\"pid\":%d,"
	         "\"tid\":%d,\"ts\":%.3f,\"dur\":%.3f,\"args\":%s}",
	         cat, name, pid, tid(), ts, dur, args != NULL ? args : "{}");
	emit(ev);
}

void trace_flow(const char *name, const struct trace_mark *from, double ts)
{
	unsigned long id = __atomic_add_fetch(&flows, 1, __ATOMIC_RELAXED);
	char ev[512];

	snprintf(ev, sizeof(ev),
	         "{\"ph\":\"s\",\"cat\":\"queue\",\"name\":\"%s\",\"id\":%lu,"
	         "\"pid\":%d,\"tid\":%d,\"ts\":%.3f}",
	         name, id, pid, from->tid, from->ts);
	emit(ev);
	snprintf(ev, sizeof(ev),
	         "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"queue\",\"name\":\"%s\","
	         "\"id\":%lu,\"pid\":%d,\"tid\":%d,\"ts\":%.3f}",
	         name, id, pid, tid(), ts);
	emit(ev);
}

void trace_instant(const char *name)
{
	char ev[256];

	snprintf(ev, sizeof(ev),
	         "{\"ph\":\"i\",\"s\":\"t\",\"name\":\"%s\",\"pid\":%d,"
	         "\"tid\":%d,\"ts\":%.3f}",
	         name, pid, tid(), trace_now());
	emit(ev);
}

void trace_counter(const char *name, const char *key, long value)
{
	char ev[256];

	snprintf(ev, sizeof(ev),
	         "{\"ph\":\"C\",\"name\":\"%s\",\"pid\":%d,\"tid\":%d,"
	         "\"ts\":%.3f,\"args\":{\"%s\":%ld}}",
	         name, pid, tid(), trace_now(), key, value);
	emit(ev);
}

void trace_queue_add(int delta)
{
	long n = __atomic_add_fetch(&queued, delta, __ATOMIC_RELAXED);

	trace_counter("queue", "queued", n);
}
