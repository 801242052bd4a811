/* test_hidden.c - hidden tests of lab 3: the public ones' harder cousins. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "heap.h"
#include "loop.h"
#include "testing.h"

/* --- helpers --- */

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void init_fake(struct ev_loop *loop)
{
	ck_assert_int_eq(ev_loop_init(loop), 0);
	fake_now = 1000;
	ev_loop_set_clock(loop, fake_clock, NULL);
}

static double real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX,
	                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                            0, sv),
	                 0);
}

/* --- test_hidden_heap_sift --- */

static bool earlier(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* Builds a heap of n timers whose dues are perm[0..n), removes the timer
 * in slot `slot` (n: none), then removes the root until empty. Returns a
 * description of the first fault, or NULL. */
static const char *sift_case(size_t n, const uint64_t *perm, size_t slot,
                             char *why, size_t cap)
{
	struct ev_loop loop = {0};
	struct ev_timer t[16];
	const struct ev_timer *prev = NULL;
	size_t left = n;

	for (size_t i = 0; i < n; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].due = perm[i];
		t[i].seq = i;
		if (heap_push(&loop, &t[i]) < 0) {
			heap_free(&loop);
			return "heap_push failed";
		}
	}
	if (slot < n) {
		heap_remove(&loop, loop.heap[slot]);
		left--;
	}
	for (size_t k = 0; k < left; k++) {
		struct ev_timer *m = heap_min(&loop);

		for (size_t i = 0; i < loop.heap_len; i++) {
			if (loop.heap[i]->heap_index != i ||
			    (i > 0 &&
			     earlier(loop.heap[i], loop.heap[(i - 1) / 2]))) {
				snprintf(
				    why, cap,
				    "%zu timers, slot %zu removed: after %zu "
				    "roots, slot %zu breaks the heap",
				    n, slot, k, i);
				heap_free(&loop);
				return why;
			}
		}
		if (m == NULL || (prev != NULL && earlier(m, prev))) {
			snprintf(
			    why, cap,
			    "%zu timers, slot %zu removed: root %zu is due "
			    "%lld after one due %lld",
			    n, slot, k, m ? (long long)m->due : -1LL,
			    prev ? (long long)prev->due : -1LL);
			heap_free(&loop);
			return why;
		}
		heap_remove(&loop, m);
		prev = m;
	}
	if (loop.heap_len != 0 || heap_min(&loop) != NULL) {
		snprintf(why, cap, "%zu timers: %zu left after removing all", n,
		         loop.heap_len);
		heap_free(&loop);
		return why;
	}
	heap_free(&loop);
	return NULL;
}

START_TEST(test_hidden_heap_sift)
{
	char why[256];
	const char *bad = NULL;
	uint64_t perm[16];

	/* 7..15 timers: the last parent has two children or one, and the
	 * root's way down passes slots whose right child is the smaller
	 * (the one a sift-down that looks at the left child only, or that
	 * stops one child short, gets wrong). */
	for (size_t n = 7; n <= 15 && bad == NULL; n++) {
		for (int round = 0; round < 300 && bad == NULL; round++) {
			for (size_t i = 0; i < n; i++) {
				switch (round) {
				case 0:
					perm[i] = i;
					break;
				case 1:
					perm[i] = n - i;
					break;
				case 2: /* ties everywhere */
					perm[i] = i % 3;
					break;
				case 3: /* right children earlier than left */
					perm[i] = i % 2 ? i : 100 + i;
					break;
				default:
					perm[i] = rng() % (round % 2 ? 8 : 64);
				}
			}
			for (size_t slot = 0; slot <= n && bad == NULL; slot++)
				bad =
				    sift_case(n, perm, slot, why, sizeof(why));
		}
	}
	ck_assert_msg(bad == NULL, "%s", bad);
}
END_TEST

/* --- test_hidden_nowait_no_block --- */

static void never(struct ev_io *w, unsigned revents)
{
	(void)w;
	(void)revents;
}

/* A timer's callback that the test never lets run (init refuses NULL). */
static void never_timer(struct ev_timer *t)
{
	(void)t;
	ck_abort_msg("a timer a minute away ran");
}

static int idle_calls;

static void on_check(struct ev_check *w)
{
	(void)w;
}

static void on_idle(struct ev_idle *w)
{
	(void)w;
	idle_calls++;
}

static int soon_fires;

static void count_soon(struct ev_timer *t)
{
	(void)t;
	soon_fires++;
}

START_TEST(test_hidden_nowait_no_block)
{
	struct ev_loop loop;
	struct ev_io io;
	struct ev_timer t, soon;
	struct ev_check check;
	struct ev_idle idle;
	int sv[2];
	double t0, ms;

	ck_assert_int_eq(ev_loop_init(&loop), 0);
	make_pair(sv);
	ck_assert_int_eq(ev_io_init(&loop, &io, sv[0], never), 0);
	ck_assert_int_eq(ev_io_start(&io, EV_READABLE), 0);
	ev_timer_init(&loop, &t, never_timer);
	ck_assert_int_eq(ev_timer_start(&t, 60000, 0), 0);
	ev_check_init(&loop, &check, on_check);
	ck_assert_int_eq(ev_check_start(&check), 0);
	soon_fires = 0;

	t0 = real_ms();
	for (int i = 0; i < 20; i++)
		ck_assert(ev_run(&loop, EV_RUN_NOWAIT));
	ms = real_ms() - t0;
	ck_assert_msg(ms < 50,
	              "20 EV_RUN_NOWAIT iterations with an io that is not "
	              "ready and a timer a minute away took %.1f ms; expected "
	              "under 50 ms in all",
	              ms);

	/* ONCE does not wait while an idle handle is active. */
	ev_idle_init(&loop, &idle, on_idle);
	ck_assert_int_eq(ev_idle_start(&idle), 0);
	t0 = real_ms();
	ck_assert(ev_run(&loop, EV_RUN_ONCE));
	ms = real_ms() - t0;
	ck_assert_int_eq(idle_calls, 1);
	ck_assert_msg(ms < 50,
	              "EV_RUN_ONCE with an idle handle active took %.1f ms; "
	              "expected under 50 ms",
	              ms);

	/* Nor after a fed callback ran in its pending phase: callbacks ran
	 * before poll, so ONCE only looks. A timer 500 ms away is the wait
	 * it must not make. */
	ck_assert_int_eq(ev_idle_stop(&idle), 0);
	ev_timer_init(&loop, &soon, count_soon);
	ck_assert_int_eq(ev_timer_start(&soon, 500, 0), 0);
	ev_io_feed(&io, EV_READABLE);
	t0 = real_ms();
	ck_assert(ev_run(&loop, EV_RUN_ONCE));
	ms = real_ms() - t0;
	ck_assert_msg(ms < 50,
	              "EV_RUN_ONCE whose pending phase ran a fed callback "
	              "took %.1f ms, with a timer due in 500 ms; expected "
	              "under 50 ms",
	              ms);
	ck_assert_int_eq(soon_fires, 0);

	ev_close(&io.h, NULL);
	ev_close(&t.h, NULL);
	ev_close(&soon.h, NULL);
	ev_close(&check.h, NULL);
	ev_close(&idle.h, NULL);
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(ev_loop_close(&loop), 0);
}
END_TEST

/* --- test_hidden_many_timers --- */

enum { MANY = 10000 };

static struct {
	struct ev_loop *loop;
	struct ev_timer t[MANY];
	uint64_t due[MANY];
	int calls[MANY];
	int order[MANY];
	size_t nfired;
	uint64_t prev_now; /* the fake time of the previous iteration */
	long early, late;  /* first fault, as a timer index, or -1 */
} mt;

static void mt_fire(struct ev_timer *t)
{
	int i = (int)(t - mt.t);
	uint64_t now = ev_now(mt.loop);

	if (mt.calls[i]++ == 0 && mt.nfired < MANY)
		mt.order[mt.nfired++] = i;
	if (mt.due[i] > now && mt.early < 0)
		mt.early = i;
	if (mt.due[i] <= mt.prev_now && mt.late < 0)
		mt.late = i;
}

START_TEST(test_hidden_many_timers)
{
	struct ev_loop loop;
	size_t twice = MANY;

	init_fake(&loop);
	memset(&mt, 0, sizeof(mt));
	mt.loop = &loop;
	mt.early = mt.late = -1;
	for (int i = 0; i < MANY; i++) {
		uint64_t timeout = rng() % 5000;

		ev_timer_init(&loop, &mt.t[i], mt_fire);
		ck_assert_int_eq(ev_timer_start(&mt.t[i], timeout, 0), 0);
		mt.due[i] = 1000 + timeout;
	}
	/* The clock jumps by 0..36 ms: many timers fall due together. */
	mt.prev_now = 999;
	for (int step = 0; step < 100000 && fake_now < 6100; step++) {
		ev_run(&loop, EV_RUN_NOWAIT);
		mt.prev_now = fake_now;
		fake_now += rng() % 37;
	}
	ev_run(&loop, EV_RUN_NOWAIT);

	ck_assert_msg(
	    mt.early < 0, "timer %ld, due at %llu, fired early", mt.early,
	    mt.early < 0 ? 0ULL : (unsigned long long)mt.due[mt.early]);
	ck_assert_msg(mt.late < 0,
	              "timer %ld, due at %llu, did not fire in the first "
	              "iteration after its due time",
	              mt.late,
	              mt.late < 0 ? 0ULL : (unsigned long long)mt.due[mt.late]);
	for (size_t i = 0; i < MANY && twice == MANY; i++) {
		if (mt.calls[i] != 1)
			twice = i;
	}
	ck_assert_msg(twice == MANY, "timer %zu fired %d times", twice,
	              twice < MANY ? mt.calls[twice] : 0);
	ck_assert_uint_eq(mt.nfired, MANY);
	for (size_t k = 1; k < MANY; k++) {
		int a = mt.order[k - 1], b = mt.order[k];

		if (mt.due[a] > mt.due[b] || (mt.due[a] == mt.due[b] && a > b))
			ck_abort_msg("fired out of order: timer %d (due %llu) "
			             "before timer %d (due %llu)",
			             a, (unsigned long long)mt.due[a], b,
			             (unsigned long long)mt.due[b]);
	}
	ck_assert(!ev_loop_alive(&loop));
	/* Fired, but open until closed: the loop counts them till then. */
	for (int i = 0; i < MANY; i++)
		ev_close(&mt.t[i].h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_loop_close(&loop), 0);
}
END_TEST

/* --- test_hidden_close_reuse_memory --- */

struct boxed {
	union {
		struct ev_timer timer;
		struct ev_io io;
		struct ev_idle idle;
	} u;
	int generation;
};

static struct {
	struct ev_loop *loop;
	int fd;
	int timer_fires, io_calls, idle_calls, closed;
	int gen_seen;
} cr;

static void cr_closed_then_timer(struct ev_handle *h);
static void cr_free(struct ev_handle *h);

static void cr_timer(struct ev_timer *t)
{
	struct boxed *b = t->h.data;

	cr.timer_fires++;
	cr.gen_seen = b->generation;
	if (b->generation < 3)
		ev_close(&t->h, cr_closed_then_timer);
	else
		ev_close(&t->h, cr_free);
}

/* Frees the handle, and at once puts a new handle in (very likely) the
 * same memory: the loop must not touch the old one after this. */
static void cr_closed_then_timer(struct ev_handle *h)
{
	struct boxed *old = h->data;
	int gen = old->generation;
	struct boxed *b;

	cr.closed++;
	free(old);
	b = malloc(sizeof(*b));
	ck_assert_ptr_nonnull(b);
	memset(b, 0xa5, sizeof(*b)); /* the old handle's fields: garbage */
	b->generation = gen + 1;
	ev_timer_init(cr.loop, &b->u.timer, cr_timer);
	b->u.timer.h.data = b;
	ck_assert_int_eq(ev_timer_start(&b->u.timer, 0, 0), 0);
}

static struct boxed *last_io;

static void cr_io(struct ev_io *w, unsigned revents);

static void cr_closed_then_io(struct ev_handle *h)
{
	struct boxed *old = h->data;
	int gen = old->generation;
	struct boxed *b;

	cr.closed++;
	free(old);
	b = malloc(sizeof(*b));
	ck_assert_ptr_nonnull(b);
	memset(b, 0x5a, sizeof(*b));
	b->generation = gen + 1;
	ck_assert_int_eq(ev_io_init(cr.loop, &b->u.io, cr.fd, cr_io), 0);
	b->u.io.h.data = b;
	ck_assert_int_eq(ev_io_start(&b->u.io, EV_READABLE), 0);
	last_io = b;
}

static void cr_io(struct ev_io *w, unsigned revents)
{
	struct boxed *b = w->h.data;

	(void)revents;
	cr.io_calls++;
	/* The byte is left unread: the new watcher on the same fd must be
	 * told again. */
	if (b->generation < 3)
		ev_close(&w->h, cr_closed_then_io);
	else
		ev_io_stop(w);
}

/* Frees a handle for good. */
static void cr_free(struct ev_handle *h)
{
	cr.closed++;
	free(h->data);
}

static void cr_idle_closer(struct ev_idle *w)
{
	cr.idle_calls++;
	ev_close(&w->h, cr_free);
}

START_TEST(test_hidden_close_reuse_memory)
{
	struct ev_loop loop;
	struct boxed *b, *idles[4];
	int sv[2];

	init_fake(&loop);
	memset(&cr, 0, sizeof(cr));
	cr.loop = &loop;

	/* Timers: each one closed in its callback, freed in its close
	 * callback, which starts the next in the same memory. */
	b = malloc(sizeof(*b));
	ck_assert_ptr_nonnull(b);
	b->generation = 0;
	ev_timer_init(&loop, &b->u.timer, cr_timer);
	b->u.timer.h.data = b;
	ck_assert_int_eq(ev_timer_start(&b->u.timer, 0, 0), 0);

	/* io watchers the same way, on one descriptor. */
	make_pair(sv);
	cr.fd = sv[0];
	ck_assert_int_eq(send(sv[1], "x", 1, MSG_NOSIGNAL), 1);
	b = malloc(sizeof(*b));
	ck_assert_ptr_nonnull(b);
	b->generation = 0;
	ck_assert_int_eq(ev_io_init(&loop, &b->u.io, cr.fd, cr_io), 0);
	b->u.io.h.data = b;
	ck_assert_int_eq(ev_io_start(&b->u.io, EV_READABLE), 0);
	last_io = b;

	/* Idle handles that all close (and are freed) in one phase: each
	 * close callback frees memory the closing phase must not touch
	 * again. */
	for (int i = 0; i < 4; i++) {
		idles[i] = malloc(sizeof(*idles[i]));
		ck_assert_ptr_nonnull(idles[i]);
		ev_idle_init(&loop, &idles[i]->u.idle, cr_idle_closer);
		idles[i]->u.idle.h.data = idles[i];
		ck_assert_int_eq(ev_idle_start(&idles[i]->u.idle), 0);
	}

	for (int i = 0; i < 20 && (cr.timer_fires < 4 || cr.io_calls < 4); i++)
		ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(cr.timer_fires, 4);
	ck_assert_int_eq(cr.gen_seen, 3);
	ck_assert_int_eq(cr.io_calls, 4);
	ck_assert_int_eq(cr.idle_calls, 4);
	ck_assert_int_eq(cr.closed, 3 + 3 + 4);

	/* What is left: the last timer (closing) and the last io watcher
	 * (stopped). Close it and let the loop finish. */
	ev_close(&last_io->u.io.h, cr_free);
	for (int i = 0; i < 5 && ev_loop_alive(&loop); i++)
		ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert(!ev_loop_alive(&loop));
	ck_assert_int_eq(cr.closed, 3 + 3 + 4 + 2);
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(ev_loop_close(&loop), 0);
}
END_TEST

/* --- test_hidden_stop_flag --- */

static struct {
	struct ev_idle idle;
	struct ev_check check;
	int idle_calls, check_calls, stop_at;
} sf;

static void sf_idle(struct ev_idle *w)
{
	if (++sf.idle_calls == sf.stop_at)
		ev_stop(w->h.loop);
}

static void sf_check(struct ev_check *w)
{
	(void)w;
	sf.check_calls++;
}

START_TEST(test_hidden_stop_flag)
{
	struct ev_loop loop;
	struct ev_timer far;

	init_fake(&loop);
	memset(&sf, 0, sizeof(sf));
	ev_idle_init(&loop, &sf.idle, sf_idle);
	ev_check_init(&loop, &sf.check, sf_check);
	ev_timer_init(&loop, &far, never_timer);
	ck_assert_int_eq(ev_idle_start(&sf.idle), 0);
	ck_assert_int_eq(ev_check_start(&sf.check), 0);
	ck_assert_int_eq(ev_timer_start(&far, 60000, 0), 0);

	/* Stop on the third idle call: that iteration ends (its check runs
	 * too), and ev_run() says handles remain. */
	sf.stop_at = 3;
	ck_assert(ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(sf.idle_calls, 3);
	ck_assert_int_eq(sf.check_calls, 3);
	ck_assert_uint_eq(loop.iterations, 3);
	ck_assert(ev_loop_alive(&loop));

	/* The flag is cleared: the next run goes on until stopped again. */
	sf.stop_at = 7;
	ck_assert(ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(sf.idle_calls, 7);
	ck_assert_int_eq(sf.check_calls, 7);
	ck_assert_uint_eq(loop.iterations, 7);

	/* Stopped from an ONCE run: the same one iteration. */
	sf.stop_at = 8;
	ck_assert(ev_run(&loop, EV_RUN_ONCE));
	ck_assert_int_eq(sf.idle_calls, 8);
	ck_assert(ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(sf.idle_calls, 9);

	ev_close(&sf.idle.h, NULL);
	ev_close(&sf.check.h, NULL);
	ev_close(&far.h, NULL);
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(ev_loop_close(&loop), 0);
}
END_TEST

/* --- test_hidden_feed --- */

static struct {
	unsigned got[8];
	int calls;
	bool refeed;
} fe;

static void fe_io(struct ev_io *w, unsigned revents)
{
	if (fe.calls < 8)
		fe.got[fe.calls] = revents;
	fe.calls++;
	if (fe.refeed) {
		fe.refeed = false;
		ev_io_feed(w, EV_WRITABLE);
	}
}

START_TEST(test_hidden_feed)
{
	struct ev_loop loop;
	struct ev_io w;
	int sv[2];

	init_fake(&loop);
	memset(&fe, 0, sizeof(fe));
	make_pair(sv);
	/* A watcher need not be started to be fed (nothing is readable
	 * here: every call below is a fed one). */
	ck_assert_int_eq(ev_io_init(&loop, &w, sv[0], fe_io), 0);

	/* No events, no feed. */
	ev_io_feed(&w, 0);
	ck_assert(!ev_loop_alive(&loop));

	/* Two feeds before the pending phase: one call, with both. A fed
	 * callback keeps the loop alive and poll from waiting. */
	ev_io_feed(&w, EV_READABLE);
	ev_io_feed(&w, EV_WRITABLE);
	ck_assert_msg(ev_loop_alive(&loop),
	              "ev_loop_alive() is false with a fed callback still to "
	              "run; expected true");
	ck_assert_int_eq(ev_backend_timeout(&loop), 0);
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(fe.calls, 1);
	ck_assert_uint_eq(fe.got[0], EV_READABLE | EV_WRITABLE);

	/* The next feed brings its own events, and no others. */
	ev_io_feed(&w, EV_WRITABLE);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(fe.calls, 2);
	ck_assert_msg(fe.got[1] == EV_WRITABLE,
	              "fed EV_WRITABLE (%#x) alone, after an earlier feed of "
	              "EV_READABLE | EV_WRITABLE was delivered: the callback "
	              "got events %#x; expected %#x",
	              (unsigned)EV_WRITABLE, fe.got[1], (unsigned)EV_WRITABLE);

	/* A feed from a pending callback waits for the next pending phase:
	 * the phase works on what was queued when it began. */
	fe.refeed = true;
	ev_io_feed(&w, EV_READABLE);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_msg(fe.calls == 3,
	              "a callback fed from its own pending callback ran in "
	              "the same phase (%d calls; expected 3, then 4 in the "
	              "next iteration)",
	              fe.calls);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(fe.calls, 4);
	ck_assert_uint_eq(fe.got[3], EV_WRITABLE);

	/* Closing cancels a feed, and a closing watcher takes none. */
	ev_io_feed(&w, EV_READABLE);
	ev_close(&w.h, NULL);
	ev_io_feed(&w, EV_WRITABLE);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_msg(fe.calls == 4,
	              "a watcher fed, then ev_close()d, then fed again: its "
	              "callback had run %d times in all after the next "
	              "iteration; expected 4 (none of those feeds delivered)",
	              fe.calls);
	ck_assert(!ev_loop_alive(&loop));
	close(sv[0]);
	close(sv[1]);
	ck_assert_int_eq(ev_loop_close(&loop), 0);
}
END_TEST

/* --- test_hidden_handle_corners --- */

static struct {
	struct ev_check a, b;
	struct ev_idle idle;
	struct ev_prepare prepare;
	struct ev_timer t1, t2;
	int a_calls, b_calls, idle_calls, prepare_calls;
	int order[4], closed, idle_closed;
} hc;

static void hc_a(struct ev_check *w)
{
	hc.a_calls++;
	/* Started from the check phase: its first run is the next one. */
	ck_assert_int_eq(ev_check_start(&hc.b), 0);
	/* Started again while active: nothing changes. */
	ck_assert_int_eq(ev_check_start(w), 0);
}

static void hc_b(struct ev_check *w)
{
	(void)w;
	hc.b_calls++;
}

static void hc_idle(struct ev_idle *w)
{
	(void)w;
	hc.idle_calls++;
}

static void hc_prepare(struct ev_prepare *w)
{
	(void)w;
	hc.prepare_calls++;
}

static void hc_timer(struct ev_timer *t)
{
	(void)t;
	ck_abort_msg("a timer that should never be due ran");
}

static void hc_idle_closed(struct ev_handle *h)
{
	(void)h;
	hc.idle_closed++;
}

static void hc_closed2(struct ev_handle *h)
{
	(void)h;
	hc.order[hc.closed++ % 4] = 2;
}

/* A close callback that closes another handle: that one's callback
 * comes in the next closing phase. */
static void hc_closed1(struct ev_handle *h)
{
	(void)h;
	hc.order[hc.closed++ % 4] = 1;
	ev_close(&hc.t2.h, hc_closed2);
}

START_TEST(test_hidden_handle_corners)
{
	struct ev_loop loop;

	init_fake(&loop);
	memset(&hc, 0, sizeof(hc));

	/* Run with nothing alive, the loop still reads the clock. */
	fake_now = 1005;
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_msg(ev_now(&loop) == 1005,
	              "ev_run(EV_RUN_NOWAIT) on a loop with nothing alive, "
	              "the clock reading 1005: ev_now() then says %llu; "
	              "expected 1005",
	              (unsigned long long)ev_now(&loop));

	/* Started twice, run once per iteration; started from its own
	 * phase, run from the next iteration on. */
	ev_idle_init(&loop, &hc.idle, hc_idle);
	ev_prepare_init(&loop, &hc.prepare, hc_prepare);
	ev_check_init(&loop, &hc.a, hc_a);
	ev_check_init(&loop, &hc.b, hc_b);
	ck_assert_int_eq(ev_idle_start(&hc.idle), 0);
	ck_assert_int_eq(ev_idle_start(&hc.idle), 0);
	ck_assert_int_eq(ev_prepare_start(&hc.prepare), 0);
	ck_assert_int_eq(ev_prepare_start(&hc.prepare), 0);
	ck_assert_int_eq(ev_check_start(&hc.a), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(hc.idle_calls, 1);
	ck_assert_int_eq(hc.prepare_calls, 1);
	ck_assert_int_eq(hc.a_calls, 1);
	ck_assert_int_eq(hc.b_calls, 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(hc.idle_calls, 2);
	ck_assert_int_eq(hc.prepare_calls, 2);
	ck_assert_int_eq(hc.a_calls, 2);
	ck_assert_int_eq(hc.b_calls, 1);
	ck_assert_int_eq(ev_idle_stop(&hc.idle), 0);
	ck_assert_int_eq(ev_idle_stop(&hc.idle), 0); /* stopped: nothing */
	ck_assert_int_eq(ev_prepare_stop(&hc.prepare), 0);
	ck_assert_int_eq(ev_check_stop(&hc.a), 0);
	ck_assert_int_eq(ev_check_stop(&hc.b), 0);
	ck_assert(!ev_loop_alive(&loop));

	/* Closed twice: one close callback, and the handles closed in
	 * between are not lost. Closing: no start. */
	ev_timer_init(&loop, &hc.t1, hc_timer);
	ev_timer_init(&loop, &hc.t2, hc_timer);
	ev_close(&hc.t1.h, hc_closed1);
	ev_close(&hc.idle.h, hc_idle_closed);
	ev_close(&hc.t1.h, hc_closed1);
	ev_close(&hc.prepare.h, NULL);
	ev_close(&hc.a.h, NULL);
	ck_assert_int_eq(ev_timer_start(&hc.t1, 0, 0), -EINVAL);
	ck_assert_int_eq(ev_idle_start(&hc.idle), -EINVAL);
	ck_assert_int_eq(ev_prepare_start(&hc.prepare), -EINVAL);
	ck_assert_int_eq(ev_check_start(&hc.a), -EINVAL);
	ck_assert(!ev_is_active(&hc.t1.h));
	ck_assert(!ev_is_active(&hc.idle.h));

	/* The closing phase works on what was closed when it began: t2,
	 * closed by t1's close callback, is called back one phase later. */
	bool alive = ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_msg(hc.closed == 1,
	              "%d close callbacks of t1 and t2 ran in the first "
	              "closing phase, t2 closed by t1's close callback; "
	              "expected 1 (t1's), and t2's in the next closing phase",
	              hc.closed);
	ck_assert_msg(hc.idle_closed == 1,
	              "a handle closed between two ev_close() calls on another "
	              "was called back %d times; expected once",
	              hc.idle_closed);
	ck_assert(alive); /* t2 is closing */
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(hc.closed, 2);
	ck_assert_int_eq(hc.order[0], 1);
	ck_assert_int_eq(hc.order[1], 2);

	/* A timeout past the end of time is "never", not "at once". */
	ev_timer_init(&loop, &hc.t1, hc_timer);
	ck_assert_int_eq(ev_timer_start(&hc.t1, UINT64_MAX, 0), 0);
	ck_assert_int_gt(ev_backend_timeout(&loop), 0);
	fake_now = 2000;
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert(ev_is_active(&hc.t1.h));

	ev_close(&hc.t1.h, NULL);
	ev_close(&hc.b.h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_loop_close(&loop), 0);
}
END_TEST

static Suite *hidden_suite(void)
{
	Suite *s = suite_create("hidden");

	TEST_ADD(s, test_hidden_heap_sift, 20);
	TEST_ADD(s, test_hidden_nowait_no_block, 5);
	TEST_ADD(s, test_hidden_many_timers, 20);
	TEST_ADD(s, test_hidden_close_reuse_memory, 5);
	TEST_ADD(s, test_hidden_stop_flag, 5);
	TEST_ADD(s, test_hidden_feed, 5);
	TEST_ADD(s, test_hidden_handle_corners, 5);
	return s;
}

TEST_MAIN(hidden_suite)
