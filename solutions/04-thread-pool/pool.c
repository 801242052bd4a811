/* pool.c - the kitchen: a fixed pool of threads, one work queue, and the
 * bell that brings finished work back to the loop (lab 4).
 *
 * One mutex guards the queue, the done list and the counters; one condition
 * variable wakes cooks when there is work (or when the kitchen closes). The
 * loop learns of finished work through an eventfd it watches like any
 * socket. Whoever puts the first dish on an empty pass rings the bell; the
 * waiter empties the whole pass each time he hears it, so one ring may
 * bring many dishes, and no dish is ever left without a ring.
 */
#include "pool.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "trace.h"

unsigned tp_size_from(const char *value)
{
	char *end;
	unsigned long n;

	if (value == NULL || *value < '0' || *value > '9')
		return TP_DEFAULT_THREADS;
	errno = 0;
	n = strtoul(value, &end, 10);
	if (*end != '\0')
		return TP_DEFAULT_THREADS;
	if (n == 0)
		return 1;
	if (n > TP_MAX_THREADS || errno == ERANGE)
		return TP_MAX_THREADS;
	return (unsigned)n;
}

/* --- the pool threads --- */

/* An 8-byte eventfd write cannot be short, and EAGAIN (the counter near
 * 2^64) means it is readable already: either way the ring is heard. */
static void ring(int fd)
{
	uint64_t one = 1;
	ssize_t n;

	if (tracing())
		trace_instant("bell");
	do
		n = write(fd, &one, sizeof(one));
	while (n < 0 && errno == EINTR);
}

/* Puts w on the pass; rings the bell if the pass was empty (a non-empty
 * pass has a ring on its way already). Called with the lock held. */
static void to_pass(struct tp_pool *p, struct tp_work *w, enum tp_state st)
{
	bool was_empty = list_empty(&p->done);

	w->state = st;
	list_append(&p->done, &w->link);
	if (was_empty)
		ring(p->wake_fd);
}

static void *cook(void *arg)
{
	struct tp_pool *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		/* A loop, not an if: a wake-up is a hint to look again. Another
		 * cook may have taken the order, and pthread_cond_wait may
		 * return for no reason at all. */
		while (list_empty(&p->queue) && !p->stopping)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->stopping)
			break;
		struct tp_work *w =
		    container_of(p->queue.next, struct tp_work, link);
		list_remove(&w->link);
		p->queued--;
		p->busy++;
		w->state = TP_RUNNING;
		pthread_mutex_unlock(&p->lock);

		w->work(w); /* the cooking itself: never under the lock */

		pthread_mutex_lock(&p->lock);
		p->busy--;
		p->completed++;
		to_pass(p, w, TP_DONE);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Starts all the threads at once, on first use (libuv does the same: a
 * program that never needs the pool never pays for it). pthread_create()
 * fails with EAGAIN when a limit on threads or memory is reached. libuv
 * then aborts; this pool runs with the cooks it got, and its size becomes
 * their number, for good: tp_stats() must not count cooks who never came.
 * With none at all the error goes to tp_submit()'s caller, and the next
 * tp_submit() tries again, with the same array. */
static int start_threads(struct tp_pool *p)
{
	int rc = 0;

	if (p->threads == NULL)
		p->threads = calloc(p->size, sizeof(*p->threads));
	if (p->threads == NULL)
		return -ENOMEM;
	while (p->started < p->size) {
		rc = pthread_create(&p->threads[p->started], NULL, cook, p);
		if (rc != 0)
			break;
		p->started++;
	}
	if (p->started == 0)
		return -rc;
	/* The loop thread's alone, like started: no cook reads it. */
	p->size = p->started;
	return 0;
}

/* --- the loop side --- */

/* Serves every dish on the pass: taken under the lock, served without it
 * (after_work may submit more work, which takes the lock again). */
static void serve_pass(struct tp_pool *p)
{
	struct list ready;

	pthread_mutex_lock(&p->lock);
	list_move(&p->done, &ready);
	pthread_mutex_unlock(&p->lock);

	while (!list_empty(&ready)) {
		struct tp_work *w =
		    container_of(ready.next, struct tp_work, link);
		/* Read without the lock: the work left the pool's hands when
		 * it went on the pass, and the mutex we just held orders it. */
		int status = w->state == TP_CANCELLED ? -ECANCELED : 0;

		list_remove(&w->link);
		w->state = TP_IDLE;
		if (--p->in_flight == 0)
			ev_unref(
			    &p->wake.h); /* an idle kitchen keeps no one up */
		w->after_work(w, status);
	}
}

/* The bell rang: read the eventfd (or epoll, level-triggered, reports it
 * again and again), then serve everything on the pass. */
static void on_bell(struct ev_io *io, unsigned revents)
{
	struct tp_pool *p = io->h.data;
	uint64_t rings;

	(void)revents;
	while (read(p->wake_fd, &rings, sizeof(rings)) < 0 && errno == EINTR)
		;
	p->wakeups++;
	serve_pass(p);
}

int tp_init(struct tp_pool *p, struct ev_loop *loop)
{
	int rc;

	*p = (struct tp_pool){.loop = loop,
	                      .size = tp_size_from(getenv(TP_SIZE_ENV))};
	list_init(&p->queue);
	list_init(&p->done);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->wake_fd < 0)
		return -errno;
	rc = -pthread_mutex_init(&p->lock, NULL);
	if (rc < 0)
		goto close_fd;
	rc = -pthread_cond_init(&p->more, NULL);
	if (rc < 0)
		goto destroy_lock;
	rc = ev_io_init(loop, &p->wake, p->wake_fd, on_bell);
	if (rc < 0)
		goto destroy_cond;
	p->wake.h.data = p;
	ev_name(&p->wake.h, "bell");
	rc = ev_io_start(&p->wake, EV_READABLE);
	if (rc < 0)
		goto close_watcher;
	/* Watched from now on, but counted only while work is in flight. */
	ev_unref(&p->wake.h);
	return 0;

close_watcher:
	/* Initialised, it is the loop's until its closing phase: as after
	 * tp_close(), the caller runs the loop before p's memory goes. */
	ev_close(&p->wake.h, NULL);
destroy_cond:
	pthread_cond_destroy(&p->more);
destroy_lock:
	pthread_mutex_destroy(&p->lock);
close_fd:
	close(p->wake_fd);
	return rc;
}

int tp_submit(struct tp_pool *p, struct tp_work *w, tp_work_fn work,
              tp_after_fn after_work)
{
	int rc;

	if (work == NULL || after_work == NULL)
		return -EINVAL;
	if (p->stopping)
		return -ESHUTDOWN;
	if (p->started == 0 && (rc = start_threads(p)) < 0)
		return rc;
	w->work = work;
	w->after_work = after_work;
	w->pool = p;
	if (p->in_flight++ == 0)
		ev_ref(&p->wake.h); /* work in the kitchen keeps the loop up */

	pthread_mutex_lock(&p->lock);
	w->state = TP_QUEUED;
	list_append(&p->queue, &w->link);
	p->queued++;
	/* Signal after the state change, under the lock: a cook that is
	 * about to wait has not released the lock yet, so it cannot miss it. */
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int tp_cancel(struct tp_work *w)
{
	struct tp_pool *p = w->pool;
	int rc = -EBUSY;

	if (p == NULL)
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	if (w->state == TP_IDLE) {
		rc = -EINVAL;
	} else if (w->state == TP_QUEUED) {
		/* On the pass: after_work comes from the loop, later. */
		list_remove(&w->link);
		p->queued--;
		to_pass(p, w, TP_CANCELLED);
		rc = 0;
	}
	pthread_mutex_unlock(&p->lock);
	return rc;
}

void tp_stats(struct tp_pool *p, struct tp_stats *s)
{
	pthread_mutex_lock(&p->lock);
	*s = (struct tp_stats){.size = p->size,
	                       .busy = p->busy,
	                       .queued = p->queued,
	                       .completed = p->completed};
	pthread_mutex_unlock(&p->lock);
}

int tp_close(struct tp_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	/* Orders no cook has taken are cancelled: they go on the pass. */
	while (!list_empty(&p->queue)) {
		struct tp_work *w =
		    container_of(p->queue.next, struct tp_work, link);

		list_remove(&w->link);
		p->queued--;
		to_pass(p, w, TP_CANCELLED);
	}
	pthread_cond_broadcast(&p->more); /* every cook, not just one */
	pthread_mutex_unlock(&p->lock);

	/* A cook finishes the dish in hand before it sees `stopping`. */
	for (unsigned i = 0; i < p->started; i++)
		pthread_join(p->threads[i], NULL);
	free(p->threads);
	p->threads = NULL;
	p->started = 0;

	serve_pass(p); /* the threads are gone: no lock is contended now */
	ev_close(&p->wake.h, NULL);
	close(p->wake_fd);
	p->wake_fd = -1;
	pthread_cond_destroy(&p->more);
	pthread_mutex_destroy(&p->lock);
	return 0;
}
