/* test_timers.c - public tests of the loop's timers (lab 3).
 *
 * The loop reads a fake clock that only the test moves, so every time is
 * exact: "due at 1010" means the timer must not fire at 1009 and must fire
 * at 1010. ev_run(EV_RUN_NOWAIT) is one iteration that never waits; its
 * timers phase comes last, after the clock is read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "testing.h"

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
	ck_assert_uint_eq(ev_now(loop), 1000);
}

/* One NOWAIT iteration at fake time `at`. */
static void run_at(struct ev_loop *loop, uint64_t at)
{
	fake_now = at;
	ev_run(loop, EV_RUN_NOWAIT);
}

/* Closes the handles listed (up to a NULL; ev_close() skips those closed
 * already), runs the closing phase, and closes the loop, which refuses
 * while any handle it has seen initialised is not closed. */
static void close_loop(struct ev_loop *loop, ...)
{
	struct ev_handle *h;
	va_list ap;

	va_start(ap, loop);
	while ((h = va_arg(ap, struct ev_handle *)) != NULL)
		ev_close(h, NULL);
	va_end(ap);
	ev_run(loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_loop_close(loop), 0);
}

/* Which timers fired, in order: their data is a small number. */
static int fired[20000];
static size_t nfired;

static void log_fire(struct ev_timer *t)
{
	if (nfired < sizeof(fired) / sizeof(fired[0]))
		fired[nfired] = (int)(intptr_t)t->h.data;
	nfired++;
}

static void init_timer(struct ev_loop *loop, struct ev_timer *t, int id,
                       void (*cb)(struct ev_timer *))
{
	ck_assert_int_eq(ev_timer_init(loop, t, cb), 0);
	t->h.data = (void *)(intptr_t)id;
}

static double real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

START_TEST(test_timer_not_early)
{
	struct ev_loop loop;
	struct ev_timer t, u;
	double t0, ms;

	init_fake(&loop);
	nfired = 0;
	init_timer(&loop, &t, 1, log_fire);
	ck_assert_int_eq(ev_timer_start(&t, 10, 0), 0);
	for (uint64_t at = 1000; at < 1010; at++) {
		run_at(&loop, at);
		ck_assert_msg(nfired == 0, "a timer due at 1010 fired at %llu",
		              (unsigned long long)at);
		ck_assert_int_eq(ev_backend_timeout(&loop), (int)(1010 - at));
	}
	run_at(&loop, 1010);
	ck_assert_uint_eq(nfired, 1);
	ck_assert(!ev_is_active(&t.h));

	/* 1 ms means the next millisecond, not this one. */
	ck_assert_int_eq(ev_timer_start(&t, 1, 0), 0);
	run_at(&loop, 1010);
	ck_assert_uint_eq(nfired, 1);
	run_at(&loop, 1011);
	ck_assert_uint_eq(nfired, 2);

	/* 0 ms: at the next timers phase. */
	ck_assert_int_eq(ev_timer_start(&t, 0, 0), 0);
	run_at(&loop, 1011);
	ck_assert_uint_eq(nfired, 3);
	close_loop(&loop, &t.h, NULL);

	/* On the real clock (whole ms, rounded down): a 30 ms timer fires
	 * no sooner than 29 ms after it was started. */
	ck_assert_int_eq(ev_loop_init(&loop), 0);
	init_timer(&loop, &u, 2, log_fire);
	ev_update_time(&loop);
	t0 = real_ms();
	ck_assert_int_eq(ev_timer_start(&u, 30, 0), 0);
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ms = real_ms() - t0;
	ck_assert_uint_eq(nfired, 4);
	ck_assert_msg(ms >= 29.0, "a 30 ms timer fired after %.2f ms", ms);

	/* The real clock's now is CLOCK_MONOTONIC in whole ms, rounded
	 * down: never ahead of the true time. Rounded to the nearest ms it
	 * is half a millisecond ahead half of the time, and a timer seen as
	 * due then has up to 0.5 ms left. */
	for (int i = 0; i < 2000; i++) {
		double before = real_ms(), after;
		uint64_t now;

		ev_update_time(&loop);
		now = ev_now(&loop);
		after = real_ms();
		ck_assert_msg((double)now <= after && (double)now > before - 1,
		              "ev_update_time() read %llu at a true time "
		              "between %.3f and %.3f ms: the clock must be "
		              "CLOCK_MONOTONIC in whole ms, rounded down",
		              (unsigned long long)now, before, after);
	}
	close_loop(&loop, &u.h, NULL);
}
END_TEST

START_TEST(test_timer_repeat_again)
{
	struct ev_loop loop;
	struct ev_timer t, once;

	init_fake(&loop);
	nfired = 0;
	init_timer(&loop, &t, 1, log_fire);
	ck_assert_int_eq(ev_timer_start(&t, 10, 5), 0);
	run_at(&loop, 1009);
	ck_assert_uint_eq(nfired, 0);
	run_at(&loop, 1010);
	ck_assert_uint_eq(nfired, 1);
	ck_assert(ev_is_active(&t.h));
	run_at(&loop, 1014);
	ck_assert_uint_eq(nfired, 1);
	run_at(&loop, 1015);
	ck_assert_uint_eq(nfired, 2);

	/* The loop falls behind (1016..1032 missed): one call, not three,
	 * and the next one repeat ms after now (1033 + 5), as libuv. */
	run_at(&loop, 1033);
	ck_assert_uint_eq(nfired, 3);
	ck_assert_int_eq(ev_backend_timeout(&loop), 5);
	run_at(&loop, 1037);
	ck_assert_uint_eq(nfired, 3);
	run_at(&loop, 1038);
	ck_assert_uint_eq(nfired, 4);

	/* again: from now, with repeat as the timeout (1040 + 5). */
	fake_now = 1040;
	ev_update_time(&loop);
	ck_assert_int_eq(ev_timer_again(&t), 0);
	run_at(&loop, 1043); /* was due at 1043: not any more */
	ck_assert_uint_eq(nfired, 4);
	run_at(&loop, 1045);
	ck_assert_uint_eq(nfired, 5);

	/* again on a stopped repeating timer starts it. */
	ck_assert_int_eq(ev_timer_stop(&t), 0);
	ck_assert(!ev_is_active(&t.h));
	ck_assert_int_eq(ev_timer_again(&t), 0);
	ck_assert(ev_is_active(&t.h));
	run_at(&loop, 1049);
	ck_assert_uint_eq(nfired, 5);
	run_at(&loop, 1050);
	ck_assert_uint_eq(nfired, 6);
	ck_assert_int_eq(ev_timer_stop(&t), 0);

	/* again on a one-shot timer: nothing to repeat. */
	init_timer(&loop, &once, 2, log_fire);
	ck_assert_int_eq(ev_timer_again(&once), -EINVAL);
	ck_assert(!ev_is_active(&once.h));
	ck_assert_int_eq(ev_timer_start(&once, 3, 0), 0);
	ck_assert_int_eq(ev_timer_again(&once), -EINVAL);
	run_at(&loop, 1053);
	ck_assert_uint_eq(nfired, 7);
	ck_assert_int_eq(fired[6], 2);
	ck_assert(!ev_is_active(&once.h));
	ck_assert(!ev_loop_alive(&loop));
	close_loop(&loop, &t.h, &once.h, NULL);
}
END_TEST

START_TEST(test_timer_equal_deadlines_stable)
{
	enum { N = 100 };
	static struct ev_timer t[N], other[N];
	struct ev_timer a, b;
	struct ev_loop loop;

	init_fake(&loop);
	nfired = 0;
	/* N timers due at 1010, started in order, between timers due
	 * earlier and later: they fire in start order. */
	for (int i = 0; i < N; i++) {
		init_timer(&loop, &t[i], i, log_fire);
		init_timer(&loop, &other[i], 1000 + i, log_fire);
		ck_assert_int_eq(ev_timer_start(&other[i], i % 2 ? 5 : 15, 0),
		                 0);
		ck_assert_int_eq(ev_timer_start(&t[i], 10, 0), 0);
	}
	run_at(&loop, 1009);
	ck_assert_uint_eq(nfired, N / 2); /* the ones due at 1005 */
	nfired = 0;
	run_at(&loop, 1010);
	ck_assert_uint_eq(nfired, N);
	for (int i = 0; i < N; i++)
		ck_assert_msg(fired[i] == i,
		              "timers due at the same time fired out of start "
		              "order: position %d is timer %d",
		              i, fired[i]);
	nfired = 0;
	run_at(&loop, 1015);
	ck_assert_uint_eq(nfired, N / 2);

	/* The same due time reached from different start times: start
	 * order still decides (a at 1020 from 1015, b at 1020 from 1016). */
	nfired = 0;
	init_timer(&loop, &a, 1, log_fire);
	init_timer(&loop, &b, 2, log_fire);
	ck_assert_int_eq(ev_timer_start(&a, 5, 0), 0);
	fake_now = 1016;
	ev_update_time(&loop);
	ck_assert_int_eq(ev_timer_start(&b, 4, 0), 0);
	run_at(&loop, 1020);
	ck_assert_uint_eq(nfired, 2);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(fired[1], 2);

	/* Restarting counts as starting: a restarted after b goes after. */
	nfired = 0;
	ck_assert_int_eq(ev_timer_start(&a, 10, 0), 0);
	ck_assert_int_eq(ev_timer_start(&b, 10, 0), 0);
	ck_assert_int_eq(ev_timer_start(&a, 10, 0), 0);
	run_at(&loop, 1030);
	ck_assert_uint_eq(nfired, 2);
	ck_assert_int_eq(fired[0], 2);
	ck_assert_int_eq(fired[1], 1);
	for (int i = 0; i < N; i++) {
		ev_close(&t[i].h, NULL);
		ev_close(&other[i].h, NULL);
	}
	close_loop(&loop, &a.h, &b.h, NULL);
}
END_TEST

/* --- test_timer_restart_in_callback --- */

static struct {
	struct ev_timer self, other, late, victim, killer;
	int self_calls, other_calls, late_calls, victim_calls;
} rs;

static void rs_self(struct ev_timer *t)
{
	/* Restarted at once with 0: must wait for the next timers phase,
	 * or this phase would never end. */
	if (++rs.self_calls < 5)
		ev_timer_start(t, 0, 0);
}

static void rs_other(struct ev_timer *t)
{
	(void)t;
	rs.other_calls++;
}

static void rs_starter(struct ev_timer *t)
{
	(void)t;
	ev_timer_start(&rs.other, 0, 0);
}

static void rs_late(struct ev_timer *t)
{
	if (++rs.late_calls == 1)
		ev_timer_start(t, 5, 0);
}

static void rs_victim(struct ev_timer *t)
{
	(void)t;
	rs.victim_calls++;
}

static void rs_killer(struct ev_timer *t)
{
	(void)t;
	/* victim is due now too, after killer: restarted with 0, it is
	 * due now still, but started during this phase. */
	ev_timer_start(&rs.victim, 0, 0);
}

START_TEST(test_timer_restart_in_callback)
{
	struct ev_loop loop;
	struct ev_timer starter;

	init_fake(&loop);
	memset(&rs, 0, sizeof(rs));

	/* A timer restarting itself with 0: once per iteration. */
	ev_timer_init(&loop, &rs.self, rs_self);
	ck_assert_int_eq(ev_timer_start(&rs.self, 0, 0), 0);
	for (int i = 1; i <= 5; i++) {
		run_at(&loop, 1000);
		ck_assert_msg(rs.self_calls == i,
		              "after %d iterations, a timer restarting itself "
		              "with 0 ran %d times",
		              i, rs.self_calls);
	}
	ck_assert(!ev_is_active(&rs.self.h));

	/* A timer started with 0 by another timer's callback: next phase. */
	ev_timer_init(&loop, &starter, rs_starter);
	ev_timer_init(&loop, &rs.other, rs_other);
	ck_assert_int_eq(ev_timer_start(&starter, 0, 0), 0);
	run_at(&loop, 1000);
	ck_assert_int_eq(rs.other_calls, 0);
	ck_assert(ev_is_active(&rs.other.h));
	run_at(&loop, 1000);
	ck_assert_int_eq(rs.other_calls, 1);

	/* A due timer restarted by an earlier one in the same phase: not
	 * run in it (it was started again during the phase). */
	ev_timer_init(&loop, &rs.killer, rs_killer);
	ev_timer_init(&loop, &rs.victim, rs_victim);
	ck_assert_int_eq(ev_timer_start(&rs.killer, 3, 0), 0);
	ck_assert_int_eq(ev_timer_start(&rs.victim, 3, 0), 0);
	run_at(&loop, 1003);
	ck_assert_int_eq(rs.victim_calls, 0);
	run_at(&loop, 1003);
	ck_assert_int_eq(rs.victim_calls, 1);

	/* Restarted with 5 from its callback: 5 ms after that phase's now. */
	ev_timer_init(&loop, &rs.late, rs_late);
	ck_assert_int_eq(ev_timer_start(&rs.late, 2, 0), 0);
	run_at(&loop, 1005);
	ck_assert_int_eq(rs.late_calls, 1);
	run_at(&loop, 1009);
	ck_assert_int_eq(rs.late_calls, 1);
	run_at(&loop, 1010);
	ck_assert_int_eq(rs.late_calls, 2);
	ck_assert(!ev_loop_alive(&loop));
	close_loop(&loop, &rs.self.h, &starter.h, &rs.other.h, &rs.killer.h,
	           &rs.victim.h, &rs.late.h, NULL);
}
END_TEST

/* --- test_timer_stop_all_running --- */

static struct ev_timer sa[5];
static int sa_calls[5];

static void sa_stop_all(struct ev_timer *t)
{
	sa_calls[(intptr_t)t->h.data]++;
	for (int i = 0; i < 5; i++)
		ev_timer_stop(&sa[i]);
}

START_TEST(test_timer_stop_all_running)
{
	struct ev_loop loop;

	init_fake(&loop);
	memset(sa_calls, 0, sizeof(sa_calls));
	/* Five timers due together (one repeating, one due later); the
	 * first to run stops them all, itself included. */
	for (int i = 0; i < 5; i++) {
		ev_timer_init(&loop, &sa[i], sa_stop_all);
		sa[i].h.data = (void *)(intptr_t)i;
	}
	ck_assert_int_eq(ev_timer_start(&sa[0], 5, 0), 0);
	ck_assert_int_eq(ev_timer_start(&sa[1], 5, 0), 0);
	ck_assert_int_eq(ev_timer_start(&sa[2], 5, 1), 0);
	ck_assert_int_eq(ev_timer_start(&sa[3], 5, 0), 0);
	ck_assert_int_eq(ev_timer_start(&sa[4], 7, 0), 0);
	run_at(&loop, 1010);
	ck_assert_int_eq(sa_calls[0], 1);
	for (int i = 1; i < 5; i++)
		ck_assert_msg(sa_calls[i] == 0,
		              "timer %d ran %d times after the first one "
		              "stopped it",
		              i, sa_calls[i]);
	for (int i = 0; i < 5; i++)
		ck_assert(!ev_is_active(&sa[i].h));
	ck_assert(!ev_loop_alive(&loop));
	ck_assert_int_eq(ev_backend_timeout(&loop), -1);
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	run_at(&loop, 2000);
	for (int i = 1; i < 5; i++)
		ck_assert_int_eq(sa_calls[i], 0);

	/* Stopped timers start again normally. */
	ck_assert_int_eq(ev_timer_start(&sa[3], 1, 0), 0);
	run_at(&loop, 2001);
	ck_assert_int_eq(sa_calls[3], 1);
	for (int i = 0; i < 5; i++)
		ev_close(&sa[i].h, NULL);
	close_loop(&loop, NULL);
}
END_TEST

/* --- test_now_cached --- */

static struct {
	struct ev_loop *loop;
	struct ev_timer due_1005, started;
	struct ev_check check;
	struct ev_prepare prepare;
	uint64_t now_in_check;
} nc;

/* Time passes while callbacks run: this one moves the clock to 1010, and
 * starts a 10 ms timer, which is due 10 ms after the iteration's now. */
static void nc_check(struct ev_check *w)
{
	nc.now_in_check = ev_now(nc.loop);
	fake_now = 1010;
	ck_assert_int_eq(ev_timer_start(&nc.started, 10, 0), 0);
	ev_check_stop(w);
}

/* Before poll: the clock moves to 1030. */
static void nc_prepare(struct ev_prepare *w)
{
	fake_now = 1030;
	ev_prepare_stop(w);
}

START_TEST(test_now_cached)
{
	struct ev_loop loop;

	init_fake(&loop);
	nfired = 0;
	memset(&nc, 0, sizeof(nc));
	nc.loop = &loop;
	init_timer(&loop, &nc.due_1005, 1, log_fire);
	init_timer(&loop, &nc.started, 2, log_fire);
	ck_assert_int_eq(ev_check_init(&loop, &nc.check, nc_check), 0);
	ck_assert_int_eq(ev_prepare_init(&loop, &nc.prepare, nc_prepare), 0);

	/* Read once, when poll returns: the check callback and the timers
	 * phase after it see 1000, though the clock reads 1010 by then, and
	 * the timer due at 1005 waits for the next iteration. */
	ck_assert_int_eq(ev_timer_start(&nc.due_1005, 5, 0), 0);
	ck_assert_int_eq(ev_check_start(&nc.check), 0);
	run_at(&loop, 1000);
	ck_assert_uint_eq(nc.now_in_check, 1000);
	ck_assert_msg(nfired == 0,
	              "a timer due at 1005 fired in the iteration whose poll "
	              "returned at 1000 (the clock read 1010 when a later "
	              "callback ran); expected it to wait for the next "
	              "iteration: the loop read the clock again after poll");
	ck_assert_uint_eq(ev_now(&loop), 1000);
	/* Started from the check callback: due at the cached 1000 + 10. */
	ck_assert_int_eq(ev_backend_timeout(&loop), 5);
	ev_run(&loop, EV_RUN_NOWAIT); /* the clock still reads 1010 */
	ck_assert_uint_eq(ev_now(&loop), 1010);
	ck_assert_uint_eq(nfired, 2);
	ck_assert_int_eq(fired[0], 1);
	ck_assert_int_eq(fired[1], 2);

	/* Read after the wait, not before: a prepare callback moves the
	 * clock to 1030 just before poll, and a timer due at 1030 runs in
	 * this iteration's timers phase. */
	ck_assert_int_eq(ev_timer_start(&nc.due_1005, 20, 0), 0);
	ck_assert_int_eq(ev_prepare_start(&nc.prepare), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_uint_eq(ev_now(&loop), 1030);
	ck_assert_msg(nfired == 3,
	              "a timer due at 1030 did not fire in the iteration "
	              "whose poll returned at 1030; expected it to fire "
	              "then: the loop's now was not the time poll "
	              "returned");
	close_loop(&loop, &nc.due_1005.h, &nc.started.h, &nc.check.h,
	           &nc.prepare.h, NULL);
}
END_TEST

/* --- test_poll_timeout --- */

static int fed_calls;

static void on_fed(struct ev_io *w, unsigned revents)
{
	(void)w;
	(void)revents;
	fed_calls++;
}

/* Callbacks of handles that the test starts but never lets run. */
static void timer_unused(struct ev_timer *t)
{
	(void)t;
	ck_abort_msg("a timer ran, though no iteration reached its time");
}

static void idle_unused(struct ev_idle *w)
{
	(void)w;
	ck_abort_msg("an idle handle ran, though it was stopped first");
}

START_TEST(test_poll_timeout)
{
	struct ev_loop loop;
	struct ev_timer t, far;
	struct ev_idle idle;
	struct ev_io io;
	int sv[2];

	init_fake(&loop);
	ck_assert_int_eq(pipe2(sv, O_NONBLOCK | O_CLOEXEC), 0);
	ck_assert_int_eq(ev_io_init(&loop, &io, sv[0], on_fed), 0);
	ck_assert_int_eq(ev_io_start(&io, EV_READABLE), 0);

	/* Something to wait for, and no timer: wait for ever. */
	ck_assert_int_eq(ev_backend_timeout(&loop), -1);

	/* A timer: until it is due. */
	ev_timer_init(&loop, &t, timer_unused);
	ck_assert_int_eq(ev_timer_start(&t, 50, 0), 0);
	ck_assert_int_eq(ev_backend_timeout(&loop), 50);
	fake_now = 1020;
	ck_assert_int_eq(ev_backend_timeout(&loop), 50); /* cached now */
	ev_update_time(&loop);
	ck_assert_int_eq(ev_backend_timeout(&loop), 30);

	/* Idle handles run every iteration: never wait while one is
	 * active. */
	ev_idle_init(&loop, &idle, idle_unused);
	ck_assert_int_eq(ev_idle_start(&idle), 0);
	ck_assert_int_eq(ev_backend_timeout(&loop), 0);
	ck_assert_int_eq(ev_idle_stop(&idle), 0);
	ck_assert_int_eq(ev_backend_timeout(&loop), 30);

	/* Nor with a fed callback waiting. */
	ev_io_feed(&io, EV_READABLE);
	ck_assert_int_eq(ev_backend_timeout(&loop), 0);
	ck_assert(ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(fed_calls, 1);
	ck_assert_int_eq(ev_backend_timeout(&loop), 30);

	/* Nor once stop is asked (ev_run() clears it). */
	ev_stop(&loop);
	ck_assert_int_eq(ev_backend_timeout(&loop), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_backend_timeout(&loop), 30);

	/* Nor with a close callback to run. */
	ev_close(&idle.h, NULL);
	ck_assert_int_eq(ev_backend_timeout(&loop), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_backend_timeout(&loop), 30);

	/* 1 ms before the deadline, the timeout is 1, never 0: now is
	 * whole ms rounded down, so the true time left is in (0, 1]. */
	fake_now = 1049;
	ev_update_time(&loop);
	ck_assert_int_eq(ev_backend_timeout(&loop), 1);
	fake_now = 1050;
	ev_update_time(&loop);
	ck_assert_int_eq(ev_backend_timeout(&loop), 0);
	fake_now = 1055; /* late: still 0, never negative */
	ev_update_time(&loop);
	ck_assert_int_eq(ev_backend_timeout(&loop), 0);
	ev_timer_stop(&t);

	/* The case of the spec: now 1000, due 1001. */
	fake_now = 1000;
	ev_loop_set_clock(&loop, fake_clock, NULL);
	ck_assert_uint_eq(ev_now(&loop), 1000);
	ck_assert_int_eq(ev_timer_start(&t, 1, 0), 0);
	ck_assert_int_eq(ev_backend_timeout(&loop), 1);

	/* Far away: a positive int (INT_MAX, say), not an overflow. */
	ev_timer_init(&loop, &far, timer_unused);
	ev_timer_stop(&t);
	ck_assert_int_eq(ev_timer_start(&far, UINT64_MAX / 4, 0), 0);
	ck_assert_int_gt(ev_backend_timeout(&loop), 0);
	ev_timer_stop(&far);
	ck_assert_int_eq(ev_backend_timeout(&loop), -1);

	ev_close(&io.h, NULL);
	ev_run(&loop, EV_RUN_DEFAULT);
	close(sv[0]);
	close(sv[1]);
	close_loop(&loop, &t.h, &far.h, NULL);
}
END_TEST

static Suite *timers_suite(void)
{
	Suite *s = suite_create("timers");

	TEST_ADD(s, test_timer_not_early, 5);
	TEST_ADD(s, test_timer_repeat_again, 5);
	TEST_ADD(s, test_timer_equal_deadlines_stable, 5);
	TEST_ADD(s, test_timer_restart_in_callback, 5);
	TEST_ADD(s, test_timer_stop_all_running, 5);
	TEST_ADD(s, test_poll_timeout, 5);
	TEST_ADD(s, test_now_cached, 5);
	return s;
}

TEST_MAIN(timers_suite)
