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
 * pool.h lists what the pool guarantees and gives its struct: one mutex,
 * one condition variable, the queue and the pass (done list), the
 * counters, and the bell, an eventfd the loop watches like any socket.
 * How they work together is the design you make here: when a cook sleeps
 * and who wakes it, when the bell rings and how the loop answers it, and
 * in which order closing time happens. The static helpers below are a
 * suggested split of that work, not a rule: change them as your design
 * needs (the tests call only pool.h's functions).
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
	 * reads UV_THREADPOOL_SIZE (test_size_from_env tries each case):
	 * - NULL (unset), "", anything that does not start with a digit
	 *   ("abc", "-3", " 8"), or digits followed by anything ("4x"):
	 *   TP_DEFAULT_THREADS;
	 * - "0": 1 (a pool of no thread would never cook);
	 * - a number above TP_MAX_THREADS, however many digits it has:
	 *   TP_MAX_THREADS;
	 * - any other number: itself.
	 *
	 * Traps, if you use strtoul(): it skips leading blanks and accepts a
	 * sign (so "-3" would read as a huge number, and " 8" as 8); it says
	 * a number too big for an unsigned long only through errno (ERANGE),
	 * which it never sets to 0 itself; and where it stopped (its end
	 * pointer) is the only way to know it read the whole string.
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

/* Puts w on the pass, where the loop will find it. Called with the lock
 * held. */
static void to_pass(struct tp_pool *p, struct tp_work *w, enum tp_state st)
{
	/* TODO(lab 4): called with the lock held, by the cooks (TP_DONE)
	 * and by tp_cancel() and tp_close() (TP_CANCELLED). Afterwards w is
	 * the newest dish on the pass (p->done), in state st, and the loop
	 * will hear of it.
	 *
	 * The bell (ring(), given: an eventfd write) must obey two rules at
	 * once:
	 * - no dish is ever on the pass with no ring on its way to the loop
	 *   (or the loop may sleep for ever beside it);
	 * - rings coalesce: a thousand dishes put on the pass while the loop
	 *   is busy elsewhere make one ring in all (test_coalesced_wakeups
	 *   reads the eventfd's counter). libuv does the same, and a ring per
	 *   dish is a system call per job (APPENDIX A.1.9).
	 * Which rule holds depends on how serve_pass() takes the pass too:
	 * design the two together.
	 */
	(void)p;
	(void)w;
	(void)st;
	(void)ring;
}

static void *cook(void *arg)
{
	/* TODO(lab 4): a cook's whole life (p = arg), from its creation to
	 * the tp_close() that ends it. Returns NULL.
	 *
	 * What must hold:
	 * - A cook with nothing to do sleeps on p->more: no busy waiting, no
	 *   sleep() and retry. It takes orders oldest first, one at a time.
	 * - While it cooks an order: w->state is TP_RUNNING and p->busy
	 *   counts it; the order is off p->queue and no longer counted in
	 *   p->queued. Then the dish goes to the pass (to_pass(), TP_DONE)
	 *   and p->completed counts it. Every look at the queue, every
	 *   counter and every state change happens under p->lock: tp_stats()
	 *   and helgrind must see them consistent.
	 * - The cooking itself, w->work(w), never under the lock: the other
	 *   cooks and the loop (tp_submit(), tp_stats()) would wait for your
	 *   dish.
	 * - Once p->stopping is set, the cook returns: after finishing the
	 *   order in hand, and without taking another (tp_close() cancels
	 *   those).
	 *
	 * Traps: a wake-up from pthread_cond_wait() only means "look again":
	 * another cook may have taken the order first, and the wait may
	 * return for no reason at all. And a cook must not miss the signal
	 * of an order submitted while it was deciding to sleep (a lost
	 * wake-up: tp_submit()'s TODO says how both sides avoid it).
	 */
	(void)arg;
	(void)to_pass;
	return NULL;
}

/* Starts all the threads at once, on first use (libuv does the same: a
 * program that never needs the pool never pays for it). */
static int start_threads(struct tp_pool *p)
{
	/* TODO(lab 4): hire the cooks, p->size of them, each running cook(p).
	 * Returns 0 with p->threads holding them and p->started counting
	 * them (tp_close() joins exactly those), or a negative errno.
	 *
	 * When pthread_create() fails part-way (EAGAIN: a limit on threads
	 * or memory), keep the cooks you got: p->size becomes their number,
	 * for good (tp_stats() must not count cooks who never came), and
	 * return 0. When not even one started, return minus the error: the
	 * next tp_submit() tries again, and a try must not leak memory
	 * (test_thread_start_fails makes pthread_create() fail).
	 *
	 * Fact: pthread_create() returns an error number; it does not set
	 * errno and return -1.
	 */
	(void)p;
	(void)cook;
	return -ENOSYS;
}

/* --- the loop side --- */

/* Serves every dish on the pass, on the loop thread. */
static void serve_pass(struct tp_pool *p)
{
	/* TODO(lab 4): on the loop thread. Serves every dish that is on the
	 * pass, oldest first: after_work(w, 0) for one cooked (TP_DONE),
	 * after_work(w, -ECANCELED) for one cancelled (TP_CANCELLED), each
	 * exactly once.
	 *
	 * Before each after_work: w is off the pass, w->state is TP_IDLE, and
	 * w is counted out of p->in_flight; when that count reaches 0 the
	 * bell stops keeping the loop alive (ev_unref(&p->wake.h): an idle
	 * kitchen keeps no one up). A w taken off the pass is the loop
	 * thread's alone: no cook looks at it again.
	 *
	 * Traps:
	 * - after_work runs WITHOUT the lock: it may call tp_submit(), which
	 *   locks, and a default mutex locked twice by one thread waits for
	 *   itself for ever (test_after_work_can_submit). Meanwhile cooks
	 *   keep putting dishes on the pass.
	 * - From the call on, w is the caller's again (it may be freed, or
	 *   submitted again, which counts it in p->in_flight once more):
	 *   nothing of it may be touched after.
	 * - How you take the pass decides when to_pass() must ring.
	 */
	(void)p;
}

/* The bell's callback: the loop thread's answer to a ring. */
static void on_bell(struct ev_io *io, unsigned revents)
{
	/* TODO(lab 4): the bell's ev_io callback (p = io->h.data), on the
	 * loop thread. Afterwards: the ring is heard (the eventfd read, or
	 * level-triggered epoll reports it again at once, for ever), p->wakeups
	 * counts one more answer, and the pass has been served.
	 *
	 * A read of the non-blocking eventfd gives 8 bytes (the number of
	 * rings, and resets it), or fails with EAGAIN when nothing rang
	 * (harmless), or EINTR (try again).
	 *
	 * The trap (test_coalesced_wakeups's last part): a cook may put a
	 * dish on the pass while you are here, and ring. Whatever the
	 * interleaving, that dish must be served now or have a ring still
	 * pending when the loop next looks. Decide the order of reading and
	 * serving with that in mind.
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
	/* TODO(lab 4): on the loop thread. Returns 0, and then w is queued
	 * (TP_QUEUED, the newest on p->queue, counted in p->queued), a
	 * sleeping cook will wake for it, and its two callbacks and pool are
	 * recorded in w. Or returns, with nothing queued:
	 * - -EINVAL: work or after_work is NULL;
	 * - -ESHUTDOWN: tp_close() has begun (p->stopping; only the loop
	 *   thread writes it, so reading it here needs no lock, but writing
	 *   it does: the cooks read it);
	 * - the error of start_threads(): the cooks are hired on the first
	 *   submit (none before, as libuv), and on a later one if none came.
	 *
	 * Keeping the loop alive: p->in_flight counts the orders submitted
	 * whose after_work has not run yet (loop thread only: no lock). While
	 * it is above 0 the bell's watcher is referenced (ev_ref()), so
	 * ev_run(EV_RUN_DEFAULT) does not return with work in the kitchen;
	 * tp_init() left it unreferenced (test_loop_alive_while_in_flight).
	 *
	 * The trap: a lost wake-up. A cook finds the queue empty and decides
	 * to sleep; before it sleeps, the order arrives and the signal is
	 * sent; the signal hits nobody, and the order waits for ever, with a
	 * cook asleep. Make that interleaving impossible (the condition
	 * variable's rules: APPENDIX A.1.7).
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
	/* TODO(lab 4): take w back if no cook has started it.
	 * - Queued: afterwards w is off the queue (not counted in queued), on
	 *   the pass as TP_CANCELLED, and tp_cancel() returns 0. Its
	 *   after_work comes later, from the loop, with -ECANCELED: never
	 *   call it from here (the caller may be in the middle of tearing
	 *   something down).
	 * - Never submitted (w->pool is NULL), or already served (TP_IDLE):
	 *   -EINVAL.
	 * - Running, done or cancelled already: -EBUSY, and it completes as
	 *   planned.
	 *
	 * Trap: a cook may be taking this very order at this very moment:
	 * one of the two must win cleanly, and the order must be served
	 * exactly once either way.
	 */
	(void)w;
	return -ENOSYS;
}

void tp_stats(struct tp_pool *p, struct tp_stats *s)
{
	/* TODO(lab 4): *s is one consistent snapshot of size, busy, queued
	 * and completed (pool.h says what each counts), even while cooks
	 * change them.
	 */
	(void)p;
	(void)s;
}

int tp_close(struct tp_pool *p)
{
	/* TODO(lab 4): closing time, on the loop thread. Returns 0, and
	 * then:
	 * - tp_submit() refuses (-ESHUTDOWN), from the first moment of
	 *   tp_close() on, also when an after_work run by tp_close() tries;
	 * - every order still queued was cancelled (never cooked), every
	 *   order a cook had in hand was finished, and every cook has ended
	 *   and been joined; p->threads is freed (NULL), p->started is 0;
	 * - every after_work still owed has run, here, on the calling thread,
	 *   with 0 or -ECANCELED: nothing is left on the pass;
	 * - the bell is put away: its watcher ev_close()d (the caller runs
	 *   the loop once more for its close callback), the eventfd closed
	 *   (p->wake_fd = -1), the condition variable and the mutex
	 *   destroyed.
	 *
	 * Traps (test_close_cancels_queued, test_close_waits_running, and
	 * the hidden tests):
	 * - Every sleeping cook must wake up and see it is closing time, not
	 *   just one of them.
	 * - A cook may finish its dish, and put it on the pass, at any moment
	 *   until it has been joined: which of your steps could such a dish
	 *   miss?
	 * - Cooking orders are not interrupted: tp_close() may wait up to
	 *   the longest of them.
	 */
	(void)p;
	return -ENOSYS;
}
