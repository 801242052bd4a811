/* test_hidden.c - hidden tests of lab 6: the traps behind the public ones.
 *
 * A worker_start() refused before anything starts; a worker terminated in
 * the middle of a long job; a worker that ends in main, before its loop
 * has run. Each test owns a
 * loop, and every ev_run() has a watchdog, as in the public tests.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "port.h"
#include "testing.h"
#include "worker.h"

static struct ev_loop loop;
static struct ev_timer watchdog;
static bool timed_out;

static void on_watchdog(struct ev_timer *t)
{
	timed_out = true;
	ev_stop(t->h.loop);
}

static void setup(void)
{
	timed_out = false;
	ck_assert_int_eq(ev_loop_init(&loop), 0);
	ck_assert_int_eq(ev_timer_init(&loop, &watchdog, on_watchdog), 0);
	ev_unref(&watchdog.h);
	ck_assert_int_eq(ev_timer_start(&watchdog, 3000, 0), 0);
}

static void teardown(void)
{
	ev_close(&watchdog.h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_loop_close(&loop), 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* What the parent saw, in order: 'r' a reply, 'e' an error, 'x' the
 * exit. */
static struct {
	char seen[64];
	int n;
	int err, code;
	double exit_ms;
} log_;

static void saw(char c)
{
	if (log_.n < (int)sizeof(log_.seen) - 1)
		log_.seen[log_.n++] = c;
}

static void on_reply(struct worker *w, struct port_msg *m)
{
	(void)w;
	port_msg_free(m);
	saw('r');
}

static void on_error(struct worker *w, int err)
{
	(void)w;
	log_.err = err;
	saw('e');
}

static void on_exit_(struct worker *w, int code)
{
	(void)w;
	log_.code = code;
	log_.exit_ms = now_ms();
	saw('x');
}

static int never(struct worker *w, struct port_msg *m)
{
	(void)w;
	port_msg_free(m);
	return 0;
}

/* --- worker_start() without on_message --- */

START_TEST(test_hidden_start_refused)
{
	struct worker w;
	struct worker_opts none = {.on_reply = on_reply, .on_exit = on_exit_};

	memset(&log_, 0, sizeof(log_));
	ck_assert_int_eq(worker_start(&w, &loop, &none), -EINVAL);
	ck_assert_int_eq(worker_start(&w, &loop, NULL), -EINVAL);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_msg(log_.n == 0, "a refused start called back: \"%s\"",
	              log_.seen);
}
END_TEST

/* --- terminate in the middle of a long job --- */

static int long_job(struct worker *w, struct port_msg *m)
{
	double end = now_ms() + 5000;

	port_msg_free(m);
	while (now_ms() < end && !worker_stopping(w))
		;
	return 0;
}

START_TEST(test_hidden_terminate_long_job)
{
	struct worker w;
	struct worker_opts o = {
	    .on_message = long_job, .on_reply = on_reply, .on_exit = on_exit_};

	memset(&log_, 0, sizeof(log_));
	ck_assert_int_eq(worker_start(&w, &loop, &o), 0);
	ck_assert_int_eq(worker_post(&w, "go", 2), 0);
	struct timespec pause = {0, 100 * 1000 * 1000};
	nanosleep(&pause, NULL); /* the job has begun */
	double t0 = now_ms();
	worker_terminate(&w);
	ev_run(&loop, EV_RUN_DEFAULT);
	ck_assert_msg(!timed_out, "no on_exit within 3 s of the terminate");
	ck_assert_str_eq(log_.seen, "x");
	ck_assert_int_eq(log_.code, 1);
	ck_assert_msg(log_.exit_ms - t0 < 1000,
	              "on_exit %.0f ms after the terminate: the job must see "
	              "worker_stopping() at once",
	              log_.exit_ms - t0);
}
END_TEST

/* --- a worker that ends in main, before its loop has run --- */

static int stops;

static void count_stop(struct worker *w)
{
	(void)w;
	stops++;
}

static int exit_at_once(struct worker *w, void *init)
{
	(void)init;
	worker_exit(w, 3);
	return 0;
}

START_TEST(test_hidden_exit_in_main)
{
	struct worker w;
	struct worker_opts o = {.main = exit_at_once,
	                        .on_message = never,
	                        .on_stop = count_stop,
	                        .on_reply = on_reply,
	                        .on_error = on_error,
	                        .on_exit = on_exit_};

	memset(&log_, 0, sizeof(log_));
	stops = 0;
	ck_assert_int_eq(worker_start(&w, &loop, &o), 0);
	ev_run(&loop, EV_RUN_DEFAULT);
	ck_assert_msg(!timed_out,
	              "no on_exit within 3 s: worker_exit() from main must "
	              "end the worker before its loop waits for anything");
	ck_assert_str_eq(log_.seen, "x");
	ck_assert_int_eq(log_.code, 3);
	ck_assert_int_eq(stops, 1);
}
END_TEST

static void add(Suite *s, const TTest *test, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test);
	suite_add_tcase(s, tc);
}

static Suite *hidden_suite(void)
{
	Suite *s = suite_create("hidden");

	add(s, test_hidden_start_refused, "test_hidden_start_refused");
	add(s, test_hidden_terminate_long_job,
	    "test_hidden_terminate_long_job");
	add(s, test_hidden_exit_in_main, "test_hidden_exit_in_main");
	return s;
}

TEST_MAIN(hidden_suite)
