/* pool.c - the kitchen: a fixed pool of threads, one work queue, and the
 * bell that brings finished work back to the loop (lab 4).
 *
 * You write the functions marked TODO(lab 4): tp_size_from(), the cooks
 * (cook, start_threads), putting a dish on the pass (to_pass), serving the
 * pass (serve_pass, on_bell), and tp_submit, tp_cancel, tp_stats and
 * tp_close. The rest is given: the bell's write (ring) and tp_init(),
 * which sets up the eventfd and its watcher the way lab 3 taught; the
 * lists are labs/common/list.h's. test_pool checks them; the README
 * states each rule (3.2), and its APPENDIX.md (A.1) explains why.
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
	/* TODO(lab 4): what a value of EV_THREADPOOL_SIZE means, as libuv
	 * reads UV_THREADPOOL_SIZE:
	 *
	 * - NULL (unset), "" or anything that does not start with a digit
	 *   ("abc", "-3", " 8"): TP_DEFAULT_THREADS;
	 * - digits followed by anything ("4x"): TP_DEFAULT_THREADS too;
	 * - "0": 1 (a pool of no thread would never cook);
	 * - above TP_MAX_THREADS, including numbers too big for strtoul()
	 *   (errno ERANGE): TP_MAX_THREADS.
	 *
	 * strtoul(value, &end, 10) parses; *end tells whether it read the
	 * whole string. It accepts a leading '-' or blank, hence the check
	 * on the first character. Set errno = 0 before the call.
	 *
	 * Until you write it, every pool has the default size.
	 */
	(void)value;
	return TP_DEFAULT_THREADS;
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
	/* TODO(lab 4): w->state = st; add w to the end of p->done; ring
	 * p->wake_fd if p->done was empty before (look BEFORE adding).
	 *
	 * Ringing only when the pass was empty is right only because
	 * serve_pass() takes the whole pass each time: a dish added to a
	 * non-empty pass is served with the ones before it. Used by the
	 * cooks (TP_DONE), tp_cancel and tp_close (TP_CANCELLED).
	 */
	(void)p;
	(void)w;
	(void)st;
	(void)ring;
}

static void *cook(void *arg)
{
	/* TODO(lab 4): a cook's whole life, p = arg:
	 *
	 *   lock
	 *   for ever:
	 *       while the queue is empty and not p->stopping:
	 *           pthread_cond_wait(&p->more, &p->lock)
	 *       if p->stopping: leave the loop
	 *       take the oldest order w off p->queue (its first node:
	 *           container_of(p->queue.next, struct tp_work, link));
	 *           queued--, busy++; w->state = TP_RUNNING
	 *       unlock; w->work(w); lock
	 *       busy--, completed++; to_pass(p, w, TP_DONE)
	 *   unlock; return NULL
	 *
	 * - A `while`, not an `if`, around the wait: a wake-up only means
	 *   "look again". Another cook may have taken the order first, and
	 *   pthread_cond_wait() may return for no reason at all.
	 * - Never cook under the lock: the other cooks and the loop's
	 *   tp_submit() would wait for your dish.
	 * - On p->stopping, leave even with orders queued: tp_close() has
	 *   cancelled them already. A running order is finished first:
	 *   the cook only sees `stopping` when back at the wait.
	 */
	(void)arg;
	(void)to_pass;
	return NULL;
}

/* Starts all the threads at once, on first use (libuv does the same: a
 * program that never needs the pool never pays for it). */
static int start_threads(struct tp_pool *p)
{
	/* TODO(lab 4): p->threads = calloc(p->size, sizeof(pthread_t))
	 * (-ENOMEM), then pthread_create() p->size cooks (arg: p),
	 * counting them in p->started: tp_close() joins exactly those.
	 *
	 * pthread_create() returns an error number (not -1 and errno),
	 * EAGAIN when a limit on threads or memory is reached. If it fails
	 * part-way, run with the threads you have: p->size = p->started
	 * (tp_stats() must not count cooks who never came), return 0. If
	 * not even one started, return minus that error number: the next
	 * tp_submit() tries again, so allocate the array only if there is
	 * none yet, or every failed try leaks one.
	 */
	(void)p;
	(void)cook;
	return -ENOSYS;
}

/* --- the loop side --- */

/* Serves every dish on the pass: taken under the lock, served without it
 * (after_work may submit more work, which takes the lock again). */
static void serve_pass(struct tp_pool *p)
{
	/* TODO(lab 4): on the loop thread.
	 *
	 * 1. Under the lock, move the whole pass to a list of your own:
	 *    list_move(&p->done, &ready), with struct list ready on
	 *    the stack. Unlock.
	 * 2. For each order w on ready, oldest first: unlink it; status =
	 *    -ECANCELED if w->state is TP_CANCELLED, else 0; w->state =
	 *    TP_IDLE; --p->in_flight, and if that reaches 0,
	 *    ev_unref(&p->wake.h) (an idle kitchen keeps no one up); then
	 *    w->after_work(w, status).
	 *
	 * - Everything about w BEFORE calling after_work: from the call on
	 *   w is the caller's again, who may free it or submit it again.
	 * - after_work runs WITHOUT the lock: it may call tp_submit(),
	 *   which locks; a default mutex locked twice by one thread waits
	 *   for itself for ever.
	 * - Reading w->state without the lock is safe here: the order left
	 *   the cooks' hands when it went on the pass, and the lock you
	 *   just held orders their writes before your reads.
	 */
	(void)p;
}

/* The bell rang: read the eventfd (or epoll, level-triggered, reports it
 * again and again), then serve everything on the pass. */
static void on_bell(struct ev_io *io, unsigned revents)
{
	/* TODO(lab 4): p = io->h.data. read() 8 bytes from p->wake_fd
	 * (again on EINTR; EAGAIN, a counter already 0, is harmless);
	 * p->wakeups++; serve_pass(p).
	 *
	 * Read first, then serve. Served first, a dish put on the emptied
	 * pass in between would ring, and your read would swallow that
	 * ring: a dish on the pass with no ring coming, for ever.
	 */
	(void)io;
	(void)revents;
	(void)serve_pass;
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
	/* TODO(lab 4): on the loop thread.
	 *
	 * 1. -EINVAL if work or after_work is NULL; -ESHUTDOWN once
	 *    p->stopping (tp_close() sets it; only the loop thread writes
	 *    it, so this read needs no lock).
	 * 2. No thread yet (p->started == 0): start_threads(p), and return
	 *    its error if it fails.
	 * 3. Record work, after_work and w->pool = p. If p->in_flight++
	 *    was 0, ev_ref(&p->wake.h): work in the kitchen keeps the loop
	 *    up (in_flight is the loop thread's alone: no lock).
	 * 4. Under the lock: w->state = TP_QUEUED; add w at the end of
	 *    p->queue (oldest first); p->queued++;
	 *    pthread_cond_signal(&p->more); unlock.
	 *
	 * Change the queue and signal under the same lock that the cooks
	 * test it under. Without it, a cook can find the queue empty, the
	 * order and the signal arrive, and only then the cook go to sleep:
	 * the signal hit nobody, and the order waits for ever (a lost
	 * wake-up).
	 */
	(void)p;
	(void)w;
	(void)work;
	(void)after_work;
	(void)start_threads;
	return -ENOSYS;
}

int tp_cancel(struct tp_work *w)
{
	/* TODO(lab 4): p = w->pool; NULL (never submitted): -EINVAL.
	 * Under the lock, by w->state:
	 *
	 * - TP_QUEUED: take w off the queue, p->queued--, and
	 *   to_pass(p, w, TP_CANCELLED); return 0. Its after_work comes
	 *   later, from the loop, with -ECANCELED: never call it from
	 *   here (the caller may be in the middle of tearing something
	 *   down).
	 * - TP_IDLE (after_work has run): -EINVAL.
	 * - anything else (running, done, cancelled already): -EBUSY; it
	 *   completes as planned.
	 *
	 * Under the lock because a cook may be taking this very order at
	 * this very moment: one of the two must win cleanly.
	 */
	(void)w;
	return -ENOSYS;
}

void tp_stats(struct tp_pool *p, struct tp_stats *s)
{
	/* TODO(lab 4): copy size, busy, queued and completed into *s, under
	 * the lock: one consistent snapshot, even while cooks change them.
	 */
	(void)p;
	(void)s;
}

int tp_close(struct tp_pool *p)
{
	/* TODO(lab 4): closing time, in this order.
	 *
	 * 1. Under the lock: p->stopping = true; move every order still on
	 *    the queue to the pass as TP_CANCELLED (queued-- each);
	 *    pthread_cond_broadcast(&p->more) (every cook must wake and
	 *    see `stopping`, not just one); unlock.
	 * 2. pthread_join() each of the p->started threads: a cook
	 *    finishes the order in hand, puts it on the pass, and only then
	 *    sees `stopping`. free(p->threads); threads = NULL;
	 *    started = 0.
	 * 3. serve_pass(p), here on the calling (loop) thread: every
	 *    after_work runs before tp_close() returns. After the joins:
	 *    served before, a dish finished meanwhile would be lost.
	 * 4. Put the bell away: ev_close(&p->wake.h, NULL) (the caller
	 *    runs the loop once more for it); close(p->wake_fd);
	 *    p->wake_fd = -1; destroy the condition variable and the
	 *    mutex.
	 *
	 * Return 0. tp_submit() refuses from step 1 on (p->stopping), also
	 * from the after_works of step 3.
	 */
	(void)p;
	return -ENOSYS;
}
