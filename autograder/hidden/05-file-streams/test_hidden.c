/* test_hidden.c - hidden tests of lab 5: the traps behind the public ones.
 *
 * A FIFO in the root (opening one for reading waits for a writer); an order
 * taken back before a thread starts it; a stream closed while its read is
 * in flight. Each test owns a loop, a pool and a scratch folder, and every
 * ev_run() has a watchdog, as in test_stream.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "loop.h"
#include "pool.h"
#include "stream.h"
#include "testing.h"

static char dir[] = "/tmp/hidden-stream-XXXXXX";
static int dir_fd = -1;
static struct ev_loop loop;
static struct tp_pool pool;
static struct ev_timer watchdog;
static bool timed_out;

static void on_watchdog(struct ev_timer *t)
{
	timed_out = true;
	ev_stop(t->h.loop);
}

/* A pool of one thread: what it is busy with, nothing else runs. */
static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dir_fd, 0);
	setenv(TP_SIZE_ENV, "1", 1);
	ck_assert_int_eq(ev_loop_init(&loop), 0);
	ck_assert_int_eq(tp_init(&pool, &loop), 0);
	ev_timer_init(&loop, &watchdog, on_watchdog);
	ev_unref(&watchdog.h);
	timed_out = false;
}

static void teardown(void)
{
	char cmd[64];

	tp_close(&pool);
	ev_close(&watchdog.h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	ev_loop_close(&loop);
	close(dir_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	strcpy(dir, "/tmp/hidden-stream-XXXXXX");
}

static void run_for(unsigned ms)
{
	ev_timer_start(&watchdog, ms, 0);
	ev_run(&loop, EV_RUN_DEFAULT);
	ev_timer_stop(&watchdog);
}

static struct fs_req req;
static int calls;

static void count_call(struct fs_req *r)
{
	(void)r;
	calls++;
}

/* A FIFO is not a file to serve, and opening it must not wait for a
 * writer: a pool thread stuck there is a cook lost for good. */
START_TEST(test_hidden_fifo_refused)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/pipe", dir);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	ck_assert_int_eq(fs_open(&pool, &req, dir_fd, "pipe", count_call), 0);
	calls = 0;
	run_for(2000);
	bool stuck = calls == 0;
	if (stuck) {
		/* Free the stuck thread, so that teardown can join it. */
		int w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		run_for(1000);
		if (w >= 0)
			close(w);
	}
	if (calls == 1 && req.result >= 0)
		close((int)req.result);
	ck_assert_msg(!stuck && calls == 1 && req.result == -EACCES,
	              "fs_open(\"pipe\") of a FIFO: expected -EACCES at once; "
	              "%s",
	              stuck ? "no callback within 2 s: the open waits for "
	                      "a writer (O_NONBLOCK)"
	                    : "another result");
}
END_TEST

/* An order the only thread has not started is taken back: its callback
 * comes once, with -ECANCELED. */
static int gate[2];

static void wait_gate(struct tp_work *w)
{
	char c;

	(void)w;
	while (read(gate[0], &c, 1) < 0 && errno == EINTR)
		;
}

static void after_gate(struct tp_work *w, int status)
{
	(void)w;
	(void)status;
}

START_TEST(test_hidden_fs_cancel)
{
	struct tp_work busy;
	struct stat st;

	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	ck_assert_int_eq(tp_submit(&pool, &busy, wait_gate, after_gate), 0);
	ck_assert_int_eq(fs_fstat(&pool, &req, dir_fd, &st, count_call), 0);
	ck_assert_int_eq(fs_cancel(&req), 0);
	ck_assert_int_eq(write(gate[1], "x", 1), 1);
	calls = 0;
	run_for(2000);
	close(gate[0]);
	close(gate[1]);
	ck_assert_msg(calls == 1 && req.result == -ECANCELED,
	              "an fs_fstat() taken back with fs_cancel(): expected "
	              "its callback once with -ECANCELED, got %d call(s), "
	              "result %ld",
	              calls, req.result);
}
END_TEST

/* Closed while its read is in flight: no chunk, no on_end, and on_closed
 * once -- after the read has landed, not before (it writes into the
 * stream's buffer). */
static int chunks, ends, closed;

static void on_data(struct rstream *s, const char *data, size_t n)
{
	(void)s;
	(void)data;
	(void)n;
	chunks++;
}

static void on_end(struct rstream *s, int err)
{
	(void)s;
	(void)err;
	ends++;
}

static void on_closed(struct rstream *s)
{
	(void)s;
	closed++;
}

START_TEST(test_hidden_close_while_reading)
{
	struct tp_work busy;
	struct rstream s;
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "0123456789", 10), 10);
	ck_assert_int_eq(pipe2(gate, O_CLOEXEC), 0);
	/* The thread is busy: the stream's read waits in the queue. */
	ck_assert_int_eq(tp_submit(&pool, &busy, wait_gate, after_gate), 0);
	rstream_init(&s, &pool, fd, 0, 10, on_data, on_end);
	chunks = ends = closed = 0;
	ck_assert_int_eq(rstream_resume(&s), 0);
	rstream_close(&s, on_closed);
	ck_assert_msg(closed == 0,
	              "on_closed came inside rstream_close() while a read "
	              "was in the pool: it still refers to the stream");
	ck_assert_int_eq(write(gate[1], "x", 1), 1);
	run_for(2000);
	close(gate[0]);
	close(gate[1]);
	close(fd);
	ck_assert_msg(chunks == 0 && ends == 0 && closed == 1,
	              "closed with a read in flight: expected no chunk, no "
	              "on_end and on_closed once; got %d, %d and %d",
	              chunks, ends, closed);
}
END_TEST

static Suite *hidden_suite(void)
{
	Suite *s = suite_create("hidden");
	const TTest *tests[] = {test_hidden_fifo_refused, test_hidden_fs_cancel,
	                        test_hidden_close_while_reading};
	const char *names[] = {"test_hidden_fifo_refused",
	                       "test_hidden_fs_cancel",
	                       "test_hidden_close_while_reading"};

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		TCase *tc = tcase_create(names[i]);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 15);
		tcase_add_test(tc, tests[i]);
		suite_add_tcase(s, tc);
	}
	return s;
}

TEST_MAIN(hidden_suite)
