/* test_loop.c - public tests of the event loop's phases and handles (lab 3).
 *
 * Most tests record what runs into a timeline, one line per iteration
 * (loop->iterations: 0 is before the first iteration, where EV_RUN_DEFAULT
 * runs the timers that are already due), and compare it with the expected
 * one. Where exact times matter, the loop reads a fake clock that the test
 * moves by hand.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "testing.h"

/* --- helpers --- */

static uint64_t fake_now;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void init_loop(struct ev_loop *loop, bool fake)
{
	ck_assert_int_eq(ev_loop_init(loop), 0);
	if (fake) {
		fake_now = 1000;
		ev_loop_set_clock(loop, fake_clock, NULL);
		ck_assert_uint_eq(ev_now(loop), 1000);
	}
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

static double real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* sv[0] and sv[1], both non-blocking. */
static void make_pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX,
	                            SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	                            0, sv),
	                 0);
}

static void send_byte(int fd)
{
	ck_assert_int_eq(send(fd, "x", 1, MSG_NOSIGNAL), 1);
}

static void drain(int fd)
{
	char buf[64];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* The timeline: what ran, per iteration, as space-separated words. */
enum { MAX_ITER = 16, LINE = 256 };

struct timeline {
	struct ev_loop *loop;
	char line[MAX_ITER][LINE];
};

static struct timeline tl;

static void tl_reset(struct ev_loop *loop)
{
	memset(&tl, 0, sizeof(tl));
	tl.loop = loop;
}

static void record(const char *word)
{
	uint64_t it = tl.loop->iterations;
	char *line = tl.line[it < MAX_ITER ? it : MAX_ITER - 1];
	size_t n = strlen(line);

	snprintf(line + n, LINE - n, "%s%s", n ? " " : "", word);
}

static void tl_format(char *out, size_t cap, const char *const *lines,
                      size_t count)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < count && n < cap; i++)
		n += (size_t)snprintf(out + n, cap - n, "  %zu: %s\n", i,
		                      lines[i]);
}

/* Compares the timeline with want[0..count); on a difference, says which
 * iteration differs first and prints both timelines. */
static void tl_check(const char *const *want, size_t count)
{
	const char *got[MAX_ITER];
	char want_s[2048], got_s[2048];

	for (size_t i = 0; i < MAX_ITER; i++)
		got[i] = tl.line[i];
	for (size_t i = 0; i < MAX_ITER; i++) {
		const char *w = i < count ? want[i] : "";

		if (strcmp(w, got[i]) == 0)
			continue;
		tl_format(want_s, sizeof(want_s), want, count);
		tl_format(got_s, sizeof(got_s), got,
		          count > i + 1 ? count : i + 1);
		ck_abort_msg("iteration %zu differs: expected \"%s\", got "
		             "\"%s\"\nexpected timeline:\n%sgot timeline:\n%s",
		             i, w, got[i], want_s, got_s);
	}
}

static void record_closed(struct ev_handle *h)
{
	char word[64];

	snprintf(word, sizeof(word), "closed:%s", (const char *)h->data);
	record(word);
}

/* --- test_phase_order --- */

static struct {
	struct ev_timer t0, t1, t2;
	struct ev_idle idle;
	struct ev_prepare prepare;
	struct ev_check check;
	struct ev_io io;
	int sv[2];
	int idle_calls, t2_calls;
} po;

static void po_t0(struct ev_timer *t)
{
	(void)t;
	record("timer0");
	ev_io_feed(&po.io, EV_WRITABLE); /* for the next pending phase */
}

static void po_t1(struct ev_timer *t)
{
	(void)t;
	record("timer1");
}

static void po_t2(struct ev_timer *t)
{
	record("timer2");
	if (++po.t2_calls == 2)
		ev_timer_stop(t);
}

static void po_idle(struct ev_idle *w)
{
	record("idle");
	if (++po.idle_calls == 2)
		ev_idle_stop(w);
}

static void po_prepare(struct ev_prepare *w)
{
	(void)w;
	record("prepare");
	fake_now++; /* a millisecond per iteration, read after poll */
}

static void po_check(struct ev_check *w)
{
	record("check");
	if (fake_now == 1003) {
		ev_prepare_stop(&po.prepare);
		ev_check_stop(w);
	}
}

static void po_io(struct ev_io *w, unsigned revents)
{
	if (revents & EV_WRITABLE)
		record("pending:w");
	if (revents & EV_READABLE) {
		record("io:r");
		drain(w->fd);
		ev_close(&w->h, record_closed);
	}
}

START_TEST(test_phase_order)
{
	static const char *const want[] = {
	    /* EV_RUN_DEFAULT: due timers before the first iteration. */
	    "timer0",
	    /* timer0 fed the io; prepare moves the clock to 1001; the poll
	     * finds the byte; the io closed there is called back in the
	     * closing phase; then timer1, due at 1001. */
	    "pending:w idle prepare io:r check closed:io timer1",
	    /* idle stops on its second call; timer2 is due at 1002. */
	    "idle prepare check timer2",
	    /* check stops prepare and itself; timer2 repeats at 1003 and
	     * stops; nothing is left. */
	    "prepare check timer2",
	};
	struct ev_loop loop;

	init_loop(&loop, true);
	tl_reset(&loop);
	memset(&po, 0, sizeof(po));
	make_pair(po.sv);
	send_byte(po.sv[1]);

	ev_timer_init(&loop, &po.t0, po_t0);
	ev_timer_init(&loop, &po.t1, po_t1);
	ev_timer_init(&loop, &po.t2, po_t2);
	ev_idle_init(&loop, &po.idle, po_idle);
	ev_prepare_init(&loop, &po.prepare, po_prepare);
	ev_check_init(&loop, &po.check, po_check);
	ck_assert_int_eq(ev_io_init(&loop, &po.io, po.sv[0], po_io), 0);
	po.io.h.data = "io";
	ck_assert_int_eq(ev_timer_start(&po.t0, 0, 0), 0);
	ck_assert_int_eq(ev_timer_start(&po.t1, 1, 0), 0);
	ck_assert_int_eq(ev_timer_start(&po.t2, 2, 1), 0);
	ck_assert_int_eq(ev_idle_start(&po.idle), 0);
	ck_assert_int_eq(ev_prepare_start(&po.prepare), 0);
	ck_assert_int_eq(ev_check_start(&po.check), 0);
	ck_assert_int_eq(ev_io_start(&po.io, EV_READABLE), 0);

	bool alive = ev_run(&loop, EV_RUN_DEFAULT);

	close(po.sv[0]);
	close(po.sv[1]);
	tl_check(want, sizeof(want) / sizeof(want[0]));
	ck_assert(!alive);
	ck_assert_uint_eq(loop.iterations, 3);
	close_loop(&loop, &po.t0.h, &po.t1.h, &po.t2.h, &po.idle.h,
	           &po.prepare.h, &po.check.h, NULL);
}
END_TEST

/* --- test_run_modes --- */

static int fired, idle_calls, idle_limit;

static void count_timer(struct ev_timer *t)
{
	(void)t;
	fired++;
}

static void count_idle(struct ev_idle *w)
{
	if (++idle_calls == idle_limit)
		ev_idle_stop(w);
}

static void stop_after_three(struct ev_timer *t)
{
	if (++fired == 3)
		ev_timer_stop(t);
}

START_TEST(test_run_modes)
{
	struct ev_loop loop;
	struct ev_timer t, slow, three;
	struct ev_idle idle;
	uint64_t it;
	double t0, ms;

	init_loop(&loop, false);
	fired = idle_calls = 0;
	idle_limit = 10;

	/* NOWAIT: one look, no wait, even with a timer 10 s away. */
	ev_timer_init(&loop, &slow, count_timer);
	ck_assert_int_eq(ev_timer_start(&slow, 10000, 0), 0);
	t0 = real_ms();
	ck_assert(ev_run(&loop, EV_RUN_NOWAIT));
	ms = real_ms() - t0;
	ck_assert_msg(ms < 100, "EV_RUN_NOWAIT took %.1f ms", ms);
	ck_assert_int_eq(fired, 0);
	ck_assert_uint_eq(loop.iterations, 1);
	ev_timer_stop(&slow);

	/* ONCE: blocks until the timer is due, runs it, returns: nothing
	 * is left. One iteration. */
	ev_timer_init(&loop, &t, count_timer);
	ck_assert_int_eq(ev_timer_start(&t, 20, 0), 0);
	it = loop.iterations;
	t0 = real_ms();
	ck_assert(!ev_run(&loop, EV_RUN_ONCE));
	ms = real_ms() - t0;
	ck_assert_int_eq(fired, 1);
	ck_assert_uint_eq(loop.iterations, it + 1);
	ck_assert_msg(ms >= 15 && ms < 1000,
	              "EV_RUN_ONCE with a 20 ms timer took %.1f ms", ms);

	/* ONCE with a repeating timer: it fires once, and remains. */
	ck_assert_int_eq(ev_timer_start(&t, 5, 5), 0);
	it = loop.iterations;
	ck_assert(ev_run(&loop, EV_RUN_ONCE));
	ck_assert_int_eq(fired, 2);
	ck_assert_uint_eq(loop.iterations, it + 1);
	ev_timer_stop(&t);

	/* ONCE with an idle handle: one call, no wait. */
	ev_idle_init(&loop, &idle, count_idle);
	ck_assert_int_eq(ev_idle_start(&idle), 0);
	it = loop.iterations;
	ck_assert(ev_run(&loop, EV_RUN_ONCE));
	ck_assert_int_eq(idle_calls, 1);
	ck_assert_uint_eq(loop.iterations, it + 1);

	/* DEFAULT: until nothing is left (idle stops itself at 10 calls,
	 * the timer after 3), then false. */
	fired = 0;
	ev_timer_init(&loop, &three, stop_after_three);
	ck_assert_int_eq(ev_timer_start(&three, 2, 2), 0);
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(idle_calls, 10);
	ck_assert_int_eq(fired, 3);
	ck_assert(!ev_loop_alive(&loop));
	ck_assert(!ev_is_active(&three.h));
	ck_assert(!ev_is_active(&idle.h));

	/* Nothing left: DEFAULT returns at once. */
	it = loop.iterations;
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_uint_eq(loop.iterations, it);
	close_loop(&loop, &slow.h, &t.h, &three.h, &idle.h, NULL);
}
END_TEST

/* --- test_liveness_ref --- */

static int closed_calls;

static void count_closed(struct ev_handle *h)
{
	(void)h;
	closed_calls++;
}

/* Callbacks of handles that are never started. */
static void idle_unused(struct ev_idle *w)
{
	(void)w;
	ck_abort_msg("an idle handle that was never started ran");
}

static void io_unused(struct ev_io *w, unsigned revents)
{
	(void)w;
	(void)revents;
	ck_abort_msg("an io watcher was called though nothing was ready");
}

/* An unreferenced ticker, and an idle handle that keeps the loop going
 * for keep_limit iterations, moving the fake clock keep_step ms each. */
static int tick_calls, keep_calls, keep_limit, keep_step;

static void count_tick(struct ev_timer *t)
{
	(void)t;
	tick_calls++;
}

static void keep_going(struct ev_idle *w)
{
	fake_now += keep_step;
	if (++keep_calls == keep_limit)
		ev_idle_stop(w);
}

START_TEST(test_liveness_ref)
{
	struct ev_loop loop;
	struct ev_timer t, tick;
	struct ev_idle idle, keep;
	struct ev_io io;
	int sv[2];

	init_loop(&loop, true);
	fired = 0;
	closed_calls = 0;
	ck_assert(!ev_loop_alive(&loop));

	/* Once the callbacks of an iteration have stopped the last
	 * referenced handle, poll must not wait for what is left: here an
	 * unreferenced timer 2 s away. */
	ev_timer_init(&loop, &tick, count_tick);
	ev_idle_init(&loop, &keep, keep_going);
	ck_assert_int_eq(ev_timer_start(&tick, 2000, 0), 0);
	ev_unref(&tick.h);
	keep_calls = tick_calls = 0;
	keep_limit = 1;
	keep_step = 0;
	ck_assert_int_eq(ev_idle_start(&keep), 0);
	double t0 = real_ms();
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	double ms = real_ms() - t0;
	ck_assert_msg(ms < 500,
	              "EV_RUN_DEFAULT took %.0f ms to return after its last "
	              "referenced handle stopped: poll waited for an "
	              "unreferenced timer (poll_timeout() must be 0 when no "
	              "active, referenced handle is left)",
	              ms);
	ck_assert_int_eq(tick_calls, 0);
	ck_assert(ev_is_active(&tick.h));
	ev_timer_stop(&tick);

	/* An unreferenced timer is active but keeps nothing alive. */
	ev_timer_init(&loop, &t, count_timer);
	ck_assert_int_eq(ev_timer_start(&t, 10, 0), 0);
	ck_assert(ev_loop_alive(&loop));
	ev_unref(&t.h);
	ev_unref(&t.h); /* not a counter: twice is once */
	ck_assert(ev_is_active(&t.h));
	ck_assert(!ev_loop_alive(&loop));
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(fired, 0);
	ck_assert(ev_is_active(&t.h));

	/* Referenced again, it does: DEFAULT runs until it has fired. */
	ev_ref(&t.h);
	ck_assert(ev_loop_alive(&loop));
	fake_now = 1010;
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(fired, 1);
	ck_assert(!ev_is_active(&t.h));

	/* Unreferenced before it starts: the flag stays with the handle. */
	ev_unref(&t.h);
	ck_assert_int_eq(ev_timer_start(&t, 10, 0), 0);
	ck_assert(!ev_loop_alive(&loop));
	ev_timer_stop(&t);
	ev_ref(&t.h);

	/* ev_ref is not a counter either: twice, then one unref, and the
	 * handle is unreferenced. */
	ck_assert_int_eq(ev_timer_start(&t, 10, 0), 0);
	ev_ref(&t.h);
	ev_ref(&t.h);
	ev_unref(&t.h);
	ck_assert_msg(!ev_loop_alive(&loop),
	              "ev_ref() twice then ev_unref() once: the timer still "
	              "keeps the loop alive (ev_ref counted twice)");
	ev_ref(&t.h);
	ev_timer_stop(&t);
	ck_assert(!ev_loop_alive(&loop));

	/* An unreferenced io watcher does not keep the loop alive either. */
	make_pair(sv);
	ck_assert_int_eq(ev_io_init(&loop, &io, sv[0], io_unused), 0);
	ck_assert_int_eq(ev_io_start(&io, EV_READABLE), 0);
	ck_assert(ev_loop_alive(&loop));
	ev_unref(&io.h);
	ck_assert(!ev_loop_alive(&loop));
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));

	/* Unreferenced is not stopped: a ticker still runs while something
	 * else keeps the loop going (Node's setInterval(f, 1).unref() beside
	 * other work). The idle handle moves the clock 1 ms per iteration
	 * and stops on its third call; the ticker fires in each of the
	 * three, and the loop ends with the idle handle. */
	ck_assert_int_eq(ev_timer_start(&tick, 1, 1), 0);
	keep_calls = tick_calls = 0;
	keep_limit = 3;
	keep_step = 1;
	ck_assert_int_eq(ev_idle_start(&keep), 0);
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(keep_calls, 3);
	ck_assert_msg(tick_calls == 3,
	              "an unreferenced repeating timer ran %d times in 3 "
	              "iterations, each 1 ms apart, that another handle kept "
	              "going: expected 3",
	              tick_calls);

	/* A closing handle keeps the loop alive until its close callback
	 * has run, referenced or not. */
	ev_idle_init(&loop, &idle, idle_unused);
	ev_unref(&idle.h);
	ev_close(&idle.h, count_closed);
	ev_close(&io.h, count_closed);
	ck_assert(ev_is_closing(&idle.h));
	ck_assert(!ev_is_active(&io.h));
	ck_assert(ev_loop_alive(&loop));
	ck_assert_int_eq(closed_calls, 0);
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(closed_calls, 2);
	ck_assert(ev_is_closing(&idle.h)); /* closed counts as closing */
	ck_assert(!ev_loop_alive(&loop));

	/* DEFAULT, too, waits for a close callback, and no longer. */
	ev_close(&t.h, count_closed);
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(closed_calls, 3);

	close(sv[0]);
	close(sv[1]);
	close_loop(&loop, &tick.h, &keep.h, NULL);
}
END_TEST

/* --- test_close_in_callback --- */

static struct {
	struct ev_idle idle1, idle2;
	struct ev_io io[2];
	struct ev_check check1, check2;
	struct ev_prepare prep;
	struct ev_timer ta, tb;
	int pair[2][2];
	int io_calls;
} cc;

static void cc_idle1(struct ev_idle *w)
{
	record("idle1");
	ev_close(&cc.idle2.h, record_closed);
	ev_idle_stop(w);
}

static void cc_never(struct ev_idle *w)
{
	record((const char *)w->h.data);
}

static void cc_io(struct ev_io *w, unsigned revents)
{
	struct ev_io *other = w == &cc.io[0] ? &cc.io[1] : &cc.io[0];

	(void)revents;
	cc.io_calls++;
	record("io");
	/* Both were ready in the same poll: the first one called closes
	 * the other, whose event must then be dropped. */
	if (!ev_is_closing(&other->h))
		ev_close(&other->h, record_closed);
	ev_io_stop(w);
}

static void cc_check1(struct ev_check *w)
{
	record("check1");
	ev_close(&cc.check2.h, record_closed);
	ev_close(&cc.prep.h, record_closed);
	ev_check_stop(w);
}

static void cc_check_never(struct ev_check *w)
{
	record((const char *)w->h.data);
}

static void cc_prep_never(struct ev_prepare *w)
{
	record((const char *)w->h.data);
}

static void cc_ta(struct ev_timer *t)
{
	(void)t;
	record("timerA");
	ev_close(&cc.tb.h, record_closed);
}

static void cc_tb(struct ev_timer *t)
{
	(void)t;
	record("timerB");
}

START_TEST(test_close_in_callback)
{
	static const char *const want[] = {
	    "",
	    /* Each closed handle never runs. Close callbacks run in the
	     * closing phase, in the order of the ev_close() calls. Timers
	     * run at the end of the iteration, after closing... */
	    ("idle1 io check1 closed:idle2 closed:io closed:check2 "
	     "closed:prep timerA"),
	    /* ...so the timer closed there is called back in the next. */
	    "closed:timerB",
	};
	struct ev_loop loop;

	init_loop(&loop, true);
	tl_reset(&loop);
	memset(&cc, 0, sizeof(cc));
	ev_idle_init(&loop, &cc.idle1, cc_idle1);
	ev_idle_init(&loop, &cc.idle2, cc_never);
	cc.idle2.h.data = "idle2";
	ev_check_init(&loop, &cc.check1, cc_check1);
	ev_check_init(&loop, &cc.check2, cc_check_never);
	cc.check2.h.data = "check2";
	ev_prepare_init(&loop, &cc.prep, cc_prep_never);
	cc.prep.h.data = "prep";
	ev_timer_init(&loop, &cc.ta, cc_ta);
	ev_timer_init(&loop, &cc.tb, cc_tb);
	cc.tb.h.data = "timerB";
	ck_assert_int_eq(ev_idle_start(&cc.idle1), 0);
	ck_assert_int_eq(ev_idle_start(&cc.idle2), 0);
	ck_assert_int_eq(ev_check_start(&cc.check1), 0);
	ck_assert_int_eq(ev_check_start(&cc.check2), 0);
	ck_assert_int_eq(ev_timer_start(&cc.ta, 0, 0), 0);
	ck_assert_int_eq(ev_timer_start(&cc.tb, 0, 0), 0);
	for (int i = 0; i < 2; i++) {
		make_pair(cc.pair[i]);
		send_byte(cc.pair[i][1]);
		ck_assert_int_eq(
		    ev_io_init(&loop, &cc.io[i], cc.pair[i][0], cc_io), 0);
		cc.io[i].h.data = "io";
		ck_assert_int_eq(ev_io_start(&cc.io[i], EV_READABLE), 0);
	}

	ck_assert(ev_run(&loop, EV_RUN_NOWAIT)); /* timerB is closing */
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));

	for (int i = 0; i < 2; i++) {
		close(cc.pair[i][0]);
		close(cc.pair[i][1]);
	}
	tl_check(want, sizeof(want) / sizeof(want[0]));
	ck_assert_int_eq(cc.io_calls, 1);
	close_loop(&loop, &cc.idle1.h, &cc.check1.h, &cc.ta.h, &cc.io[0].h,
	           &cc.io[1].h, NULL);
}
END_TEST

/* --- test_fd_reuse --- */

static struct {
	struct ev_io w[2], c;
	int fd[2], peer[2];
	int calls[2], c_calls, reused;
} fr;

static void fr_c(struct ev_io *w, unsigned revents)
{
	uint64_t v;

	(void)revents;
	fr.c_calls++;
	if (read(w->fd, &v, sizeof(v)) < 0)
		ev_io_stop(w);
}

static void fr_w(struct ev_io *w, unsigned revents)
{
	int me = w == &fr.w[0] ? 0 : 1, other = 1 - me;
	int e;

	(void)revents;
	fr.calls[me]++;
	ev_io_stop(w);
	if (fr.reused >= 0)
		return; /* the other one was called first: a bug */
	/* Close the other watcher and its descriptor; a new descriptor
	 * takes the same number, and a new watcher watches it. The other's
	 * event may still be in this iteration's ready list. */
	ev_close(&fr.w[other].h, NULL);
	close(fr.fd[other]);
	e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); /* not readable yet */
	if (e != fr.fd[other]) {
		/* Not the lowest free number: force it. */
		dup3(e, fr.fd[other], O_CLOEXEC);
		close(e);
	}
	fr.reused = fr.fd[other];
	ev_io_init(w->h.loop, &fr.c, fr.reused, fr_c);
	ev_io_start(&fr.c, EV_READABLE);
}

START_TEST(test_fd_reuse)
{
	struct ev_loop loop;
	uint64_t one = 1;

	init_loop(&loop, false);
	memset(&fr, 0, sizeof(fr));
	fr.reused = -1;
	for (int i = 0; i < 2; i++) {
		int sv[2];

		make_pair(sv);
		fr.fd[i] = sv[0];
		fr.peer[i] = sv[1];
		send_byte(fr.peer[i]);
		ck_assert_int_eq(ev_io_init(&loop, &fr.w[i], fr.fd[i], fr_w),
		                 0);
		ck_assert_int_eq(ev_io_start(&fr.w[i], EV_READABLE), 0);
	}
	/* Both are readable: one epoll_wait() reports both. */
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_msg(fr.calls[0] + fr.calls[1] == 1,
	              "both watchers were called (%d and %d times): the "
	              "closed one got its stale event",
	              fr.calls[0], fr.calls[1]);
	ck_assert_int_ge(fr.reused, 0);
	ck_assert_msg(fr.c_calls == 0,
	              "the new watcher on fd %d was called for the old "
	              "descriptor's stale event",
	              fr.reused);
	for (int i = 0; i < 3; i++)
		ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(fr.c_calls, 0);
	ck_assert_int_eq(fr.calls[0] + fr.calls[1], 1);

	/* The new watcher works: made readable, it is called. */
	ck_assert_int_eq(write(fr.reused, &one, sizeof(one)), sizeof(one));
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(fr.c_calls, 1);

	ev_close(&fr.c.h, NULL);
	ev_close(&fr.w[0].h, NULL);
	ev_close(&fr.w[1].h, NULL);
	ev_run(&loop, EV_RUN_DEFAULT);
	close(fr.reused);
	close(fr.fd[fr.calls[0] ? 0 : 1]);
	close(fr.peer[0]);
	close(fr.peer[1]);
	close_loop(&loop, NULL);
}
END_TEST

/* --- test_io_start_errors --- */

static int io_calls[2];

/* Counts the calls of watcher h.data (0 or 1), and reads what is there. */
static void count_io(struct ev_io *w, unsigned revents)
{
	(void)revents;
	io_calls[(intptr_t)w->h.data]++;
	drain(w->fd);
}

START_TEST(test_io_start_errors)
{
	struct ev_loop loop;
	struct ev_io w, other, file_w;
	FILE *file;
	int sv[2];

	make_pair(sv);
	memset(io_calls, 0, sizeof(io_calls));

	/* No descriptor, no handle: -EBADF, and nothing to close. */
	init_loop(&loop, true);
	ck_assert_int_eq(ev_io_init(&loop, &w, -1, count_io), -EBADF);
	ck_assert_int_eq(ev_loop_close(&loop), 0);

	init_loop(&loop, true);
	ck_assert_int_eq(ev_io_init(&loop, &w, sv[0], count_io), 0);
	w.h.data = (void *)(intptr_t)0;
	ck_assert_int_eq(ev_io_init(&loop, &other, sv[0], count_io), 0);
	other.h.data = (void *)(intptr_t)1;

	/* Bits that are neither EV_READABLE nor EV_WRITABLE: -EINVAL, and
	 * nothing is watched. */
	ck_assert_int_eq(ev_io_start(&w, EV_READABLE | 4), -EINVAL);
	ck_assert(!ev_is_active(&w.h));
	ck_assert(!ev_loop_alive(&loop));

	/* One watcher per descriptor: a second one is refused, and the
	 * first keeps it. */
	ck_assert_int_eq(ev_io_start(&w, EV_READABLE), 0);
	ck_assert_int_eq(ev_io_start(&other, EV_READABLE), -EEXIST);
	ck_assert(!ev_is_active(&other.h));
	send_byte(sv[1]);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_msg(io_calls[0] == 1 && io_calls[1] == 0,
	              "after -EEXIST for a second watcher, a byte reached "
	              "the first %d times and the refused one %d times; "
	              "expected 1 and 0",
	              io_calls[0], io_calls[1]);
	/* Once the first has stopped, the descriptor is free. */
	ck_assert_int_eq(ev_io_stop(&w), 0);
	ck_assert_int_eq(ev_io_start(&other, EV_READABLE), 0);
	ck_assert_int_eq(ev_io_stop(&other), 0);

	/* A descriptor epoll cannot watch (a regular file: epoll_ctl()
	 * says EPERM): that error, and nothing changed. */
	file = tmpfile();
	ck_assert_ptr_nonnull(file);
	ck_assert_int_eq(ev_io_init(&loop, &file_w, fileno(file), io_unused),
	                 0);
	ck_assert_int_eq(ev_io_start(&file_w, EV_READABLE), -EPERM);
	ck_assert_msg(!ev_is_active(&file_w.h) && !ev_loop_alive(&loop),
	              "ev_io_start() failed with -EPERM, but left the "
	              "watcher %s and the loop %s: a failed start changes "
	              "nothing",
	              ev_is_active(&file_w.h) ? "active" : "inactive",
	              ev_loop_alive(&loop) ? "alive" : "not alive");

	/* A closing watcher cannot be started again. */
	ev_close(&w.h, NULL);
	ck_assert_int_eq(ev_io_start(&w, EV_READABLE), -EINVAL);
	ck_assert(!ev_is_active(&w.h));

	close_loop(&loop, &other.h, &file_w.h, NULL);
	fclose(file);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* --- test_io_interest --- */

static struct {
	int calls;
	unsigned last;
} ii;

/* Reads nothing: what is there stays there. */
static void note_io(struct ev_io *w, unsigned revents)
{
	(void)w;
	ii.calls++;
	ii.last = revents;
}

START_TEST(test_io_interest)
{
	struct ev_loop loop;
	struct ev_io w;
	struct ev_timer t;
	uint64_t it;
	int sv[2], calls;

	init_loop(&loop, false);
	memset(&ii, 0, sizeof(ii));
	fired = 0;
	make_pair(sv);
	ck_assert_int_eq(ev_io_init(&loop, &w, sv[0], note_io), 0);

	/* Level-triggered: a byte left unread is reported again on every
	 * iteration until it is read (edge-triggered would say it once). */
	send_byte(sv[1]);
	ck_assert_int_eq(ev_io_start(&w, EV_READABLE), 0);
	for (int i = 1; i <= 3; i++) {
		ev_run(&loop, EV_RUN_NOWAIT);
		ck_assert_msg(ii.calls == i,
		              "a byte left unread was reported %d times in %d "
		              "iterations: epoll must be level-triggered (no "
		              "EPOLLET)",
		              ii.calls, i);
		ck_assert_uint_eq(ii.last, EV_READABLE);
	}

	/* A new interest replaces the old one: writable only, though the
	 * byte is still there. */
	ck_assert_int_eq(ev_io_start(&w, EV_WRITABLE), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ii.calls, 4);
	ck_assert_msg(ii.last == EV_WRITABLE,
	              "after ev_io_start(w, EV_WRITABLE) on a watcher that "
	              "was reading, the callback got events %u; expected "
	              "EV_WRITABLE (%d) alone: the new set replaces the old",
	              ii.last, EV_WRITABLE);

	/* 0 stops. */
	ck_assert_int_eq(ev_io_start(&w, 0), 0);
	ck_assert(!ev_is_active(&w.h));
	ck_assert(!ev_loop_alive(&loop));
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ii.calls, 4);

	/* The peer hangs up: news for whoever reads and whoever writes,
	 * but each watcher hears only of what it asked for. */
	close(sv[1]);
	ck_assert_int_eq(ev_io_start(&w, EV_READABLE), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ii.calls, 5);
	ck_assert_msg(ii.last == EV_READABLE,
	              "a watcher for EV_READABLE on a hung-up socket got "
	              "events %u; expected EV_READABLE (%d) alone, what it "
	              "asked for",
	              ii.last, EV_READABLE);
	ck_assert_int_eq(ev_io_start(&w, EV_WRITABLE), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ii.calls, 6);
	ck_assert_uint_eq(ii.last, EV_WRITABLE);

	/* Stopped means removed from epoll, not kept with no events: the
	 * hung-up socket is ready for ever (EPOLLHUP is reported whatever
	 * one asks for), and would wake every poll. With nothing else, a
	 * 30 ms timer is one wait, not thousands of iterations. */
	ck_assert_int_eq(ev_io_stop(&w), 0);
	ev_timer_init(&loop, &t, count_timer);
	ck_assert_int_eq(ev_timer_start(&t, 30, 0), 0);
	it = loop.iterations;
	calls = ii.calls;
	ck_assert(!ev_run(&loop, EV_RUN_DEFAULT));
	ck_assert_int_eq(fired, 1);
	ck_assert_int_eq(ii.calls, calls);
	ck_assert_msg(loop.iterations - it <= 5,
	              "waiting 30 ms for a timer took %llu iterations: poll "
	              "kept waking for the stopped watcher's hung-up socket; "
	              "expected at most 5",
	              (unsigned long long)(loop.iterations - it));

	close(sv[0]);
	close_loop(&loop, &w.h, &t.h, NULL);
}
END_TEST

/* --- test_immediate_vs_timeout --- */

static struct {
	struct ev_io io;
	struct ev_check immediate;
	struct ev_timer timeout;
	char order[128];
	int round;
} iv;

static void iv_immediate(struct ev_check *w)
{
	strcat(iv.order, "I");
	ev_check_stop(w);
}

static void iv_timeout(struct ev_timer *t)
{
	(void)t;
	strcat(iv.order, "T");
}

static void iv_io(struct ev_io *w, unsigned revents)
{
	(void)revents;
	drain(w->fd);
	/* setTimeout(cb, 0) and setImmediate(cb) from an I/O callback, in
	 * either order: the immediate (check phase, right after poll)
	 * always comes before the timer (the timers phase comes later). */
	if (iv.round++ % 2 == 0) {
		ev_timer_start(&iv.timeout, 0, 0);
		ev_check_start(&iv.immediate);
	} else {
		ev_check_start(&iv.immediate);
		ev_timer_start(&iv.timeout, 0, 0);
	}
}

START_TEST(test_immediate_vs_timeout)
{
	enum { ROUNDS = 20 };
	struct ev_loop loop;
	char want[ROUNDS * 2 + 1] = "";
	int sv[2];

	init_loop(&loop, false);
	memset(&iv, 0, sizeof(iv));
	make_pair(sv);
	ck_assert_int_eq(ev_io_init(&loop, &iv.io, sv[0], iv_io), 0);
	ev_check_init(&loop, &iv.immediate, iv_immediate);
	ev_timer_init(&loop, &iv.timeout, iv_timeout);
	ck_assert_int_eq(ev_io_start(&iv.io, EV_READABLE), 0);
	for (int i = 0; i < ROUNDS; i++) {
		send_byte(sv[1]);
		ev_run(&loop, EV_RUN_ONCE);
		/* A late timer is run by the next iteration at the latest. */
		if (ev_is_active(&iv.timeout.h))
			ev_run(&loop, EV_RUN_NOWAIT);
		strcat(want, "IT");
	}
	ck_assert_str_eq(iv.order, want);
	ev_close(&iv.io.h, NULL);
	ev_run(&loop, EV_RUN_DEFAULT);
	close(sv[0]);
	close(sv[1]);
	close_loop(&loop, &iv.immediate.h, &iv.timeout.h, NULL);
}
END_TEST

/* --- test_handle_lifetime --- */

static void timer_unused(struct ev_timer *t)
{
	(void)t;
	ck_abort_msg("a timer that was never started ran");
}

static void prepare_unused(struct ev_prepare *w)
{
	(void)w;
	ck_abort_msg("a prepare handle that was never started ran");
}

static void check_unused(struct ev_check *w)
{
	(void)w;
	ck_abort_msg("a check handle that was never started ran");
}

START_TEST(test_handle_lifetime)
{
	struct ev_loop loop;
	struct ev_timer t;
	struct ev_idle idle;
	struct ev_prepare prep;
	struct ev_check check;
	struct ev_io io;
	int sv[2];

	make_pair(sv);
	init_loop(&loop, true);
	closed_calls = 0;

	/* No callback, no handle: the loop would call it. What failed to
	 * initialise is not counted, and the loop closes. */
	ck_assert_int_eq(ev_io_init(&loop, &io, sv[0], NULL), -EINVAL);
	ck_assert_int_eq(ev_timer_init(&loop, &t, NULL), -EINVAL);
	ck_assert_int_eq(ev_idle_init(&loop, &idle, NULL), -EINVAL);
	ck_assert_int_eq(ev_prepare_init(&loop, &prep, NULL), -EINVAL);
	ck_assert_int_eq(ev_check_init(&loop, &check, NULL), -EINVAL);
	ck_assert_int_eq(ev_loop_close(&loop), 0);

	/* A handle counts from its init to its close callback, started or
	 * not: a later ev_close() would write into a closed loop. */
	init_loop(&loop, true);
	ck_assert_int_eq(ev_timer_init(&loop, &t, timer_unused), 0);
	ck_assert_int_eq(ev_loop_close(&loop), -EBUSY);
	ck_assert_int_eq(ev_timer_start(&t, 10, 0), 0);
	ck_assert_int_eq(ev_timer_stop(&t), 0);
	ck_assert_int_eq(ev_loop_close(&loop), -EBUSY);
	ev_close(&t.h, count_closed);
	ck_assert_int_eq(ev_loop_close(&loop), -EBUSY); /* not called back */
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(closed_calls, 1);
	ck_assert_int_eq(ev_loop_close(&loop), 0);

	/* Every kind, and a handle initialised again after its close
	 * callback, which makes it a new handle. */
	init_loop(&loop, true);
	ck_assert_int_eq(ev_timer_init(&loop, &t, timer_unused), 0);
	ev_close(&t.h, count_closed);
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(ev_timer_init(&loop, &t, timer_unused), 0);
	ck_assert_int_eq(ev_idle_init(&loop, &idle, idle_unused), 0);
	ck_assert_int_eq(ev_prepare_init(&loop, &prep, prepare_unused), 0);
	ck_assert_int_eq(ev_check_init(&loop, &check, check_unused), 0);
	ck_assert_int_eq(ev_io_init(&loop, &io, sv[0], io_unused), 0);
	ck_assert_int_eq(ev_io_start(&io, EV_READABLE), 0);
	ck_assert_int_eq(ev_io_stop(&io), 0);
	ev_close(&t.h, count_closed);
	ev_close(&idle.h, count_closed);
	ev_close(&prep.h, count_closed);
	ev_close(&check.h, count_closed);
	ck_assert_int_eq(ev_loop_close(&loop), -EBUSY); /* io is open */
	ev_close(&io.h, count_closed);
	ck_assert_int_eq(ev_loop_close(&loop), -EBUSY);
	ck_assert(!ev_run(&loop, EV_RUN_NOWAIT));
	ck_assert_int_eq(closed_calls, 7);
	ck_assert_int_eq(ev_loop_close(&loop), 0);
	close(sv[0]);
	close(sv[1]);

	/* With stdin closed, epoll's descriptor is 0: a valid one. (errno
	 * is stale on purpose: only a failed call sets it.) */
	int in = dup(0), rc;

	ck_assert_int_ge(in, 0);
	close(0);
	errno = EBADF;
	rc = ev_loop_init(&loop);
	if (rc == 0)
		ev_loop_close(&loop);
	ck_assert_int_eq(dup2(in, 0), 0);
	close(in);
	ck_assert_msg(rc == 0,
	              "ev_loop_init() with descriptor 0 free returned %d: "
	              "epoll_create1() gave it descriptor 0, which is valid; "
	              "only a negative result is an error",
	              rc);
}
END_TEST

/* --- test_poll_error_aborts --- */

enum { BROKEN_WAIT_MS = 1000 };

/* The child of test_poll_error_aborts: a loop with a timer a minute away,
 * whose epoll descriptor is closed behind its back. Every epoll_wait()
 * then fails at once with EBADF. */
static _Noreturn void run_broken_loop(void)
{
	struct rlimit no_core = {0, 0};
	struct ev_loop loop;
	struct ev_timer t;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	setrlimit(RLIMIT_CORE, &no_core); /* an abort is expected */
	if (null >= 0)
		dup2(null, STDERR_FILENO); /* and so is its message */
	if (ev_loop_init(&loop) < 0 ||
	    ev_timer_init(&loop, &t, timer_unused) < 0 ||
	    ev_timer_start(&t, 60000, 0) < 0)
		_exit(2);
	close(loop.epfd);
	ev_run(&loop, EV_RUN_DEFAULT);
	_exit(0);
}

/* The other child: a loop whose epoll_wait() a signal interrupts every
 * 10 ms (a handler without SA_RESTART; epoll_wait() is never restarted
 * anyway). EINTR is no error, only no events: the loop goes on, and its
 * 100 ms timer ends it. Exits 0 when the timer ran once. */
static int interrupted_fires;

static void on_alarm(int sig)
{
	(void)sig;
}

static void count_interrupted(struct ev_timer *t)
{
	(void)t;
	interrupted_fires++;
}

static _Noreturn void run_interrupted_loop(void)
{
	struct rlimit no_core = {0, 0};
	struct sigaction sa = {.sa_handler = on_alarm};
	struct itimerval every = {{0, 10000}, {0, 10000}};
	struct ev_loop loop;
	struct ev_timer t;
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	setrlimit(RLIMIT_CORE, &no_core);
	if (null >= 0)
		dup2(null, STDERR_FILENO);
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0 || ev_loop_init(&loop) < 0 ||
	    ev_timer_init(&loop, &t, count_interrupted) < 0 ||
	    ev_timer_start(&t, 100, 0) < 0 ||
	    setitimer(ITIMER_REAL, &every, NULL) < 0)
		_exit(2);
	ev_run(&loop, EV_RUN_DEFAULT);
	_exit(interrupted_fires == 1 ? 0 : 3);
}

/* Waits up to ms for the child; kills it if it is still running. Returns
 * whether it ended by itself; *status and *ru say how. */
static bool reap(pid_t pid, int ms, int *status, struct rusage *ru)
{
	bool ended = false;

	for (int waited = 0; waited < ms && !ended; waited += 5) {
		ended = wait4(pid, status, WNOHANG, ru) == pid;
		if (!ended)
			usleep(5000);
	}
	if (!ended) {
		kill(pid, SIGKILL);
		wait4(pid, status, 0, ru);
	}
	return ended;
}

START_TEST(test_poll_error_aborts)
{
	struct rusage ru;
	int status = 0;
	pid_t pid = fork();
	bool ended;
	long cpu_ms;

	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		run_broken_loop();
	ended = reap(pid, BROKEN_WAIT_MS, &status, &ru);
	cpu_ms = ru.ru_utime.tv_sec * 1000L + ru.ru_utime.tv_usec / 1000 +
	         ru.ru_stime.tv_sec * 1000L + ru.ru_stime.tv_usec / 1000;
	ck_assert_msg(ended,
	              "ev_run() was still running %d ms after its epoll "
	              "descriptor was closed (%ld ms of CPU): epoll_wait() "
	              "fails with EBADF, and the loop goes round again",
	              BROKEN_WAIT_MS, cpu_ms);
	ck_assert_msg(!WIFEXITED(status) || WEXITSTATUS(status) != 2,
	              "could not set up a loop with a timer");
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
	              "ev_run() with a closed epoll descriptor %s %d; expected "
	              "abort() (SIGABRT): no later iteration can do better",
	              WIFSIGNALED(status) ? "was killed by signal"
	                                  : "returned, and the child exited",
	              WIFSIGNALED(status) ? WTERMSIG(status)
	                                  : WEXITSTATUS(status));

	/* The one failure that is not one: a signal interrupting the wait. */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		run_interrupted_loop();
	ended = reap(pid, BROKEN_WAIT_MS, &status, &ru);
	ck_assert_msg(ended, "a loop whose poll a signal interrupted every "
	                     "10 ms did not run its 100 ms timer within 1 s");
	ck_assert_msg(!WIFEXITED(status) || WEXITSTATUS(status) != 2,
	              "could not set up a loop with a timer and SIGALRM");
	ck_assert_msg(
	    WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "a loop whose epoll_wait() a signal interrupted (EINTR) "
	    "%s %d; expected it to go on and run its timer once: "
	    "EINTR means no events, not a broken descriptor",
	    WIFSIGNALED(status) ? "was killed by signal" : "exited with status",
	    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
}
END_TEST

static Suite *loop_suite(void)
{
	Suite *s = suite_create("loop");

	TEST_ADD(s, test_phase_order, 5);
	TEST_ADD(s, test_run_modes, 5);
	TEST_ADD(s, test_liveness_ref, 5);
	TEST_ADD(s, test_close_in_callback, 5);
	TEST_ADD(s, test_fd_reuse, 5);
	TEST_ADD(s, test_io_start_errors, 5);
	TEST_ADD(s, test_io_interest, 5);
	TEST_ADD(s, test_immediate_vs_timeout, 5);
	TEST_ADD(s, test_handle_lifetime, 5);
	TEST_ADD(s, test_poll_error_aborts, 5);
	return s;
}

TEST_MAIN(loop_suite)
