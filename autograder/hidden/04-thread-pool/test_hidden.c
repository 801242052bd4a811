/* test_hidden.c - hidden tests of lab 4: the public ones' harder cousins.
 *
 * Same tools as test_pool.c: jobs that count their calls, a gate the test
 * opens, a rendezvous that proves concurrency, and a watchdog on ev_run().
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "pool.h"
#include "testing.h"

/* --- helpers --- */

static void sleep_ms(unsigned ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static struct timespec deadline(unsigned ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	if (t.tv_nsec >= 1000000000) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000;
	}
	return t;
}

static void sync_init(pthread_mutex_t *m, pthread_cond_t *c)
{
	pthread_condattr_t a;

	ck_assert_int_eq(pthread_mutex_init(m, NULL), 0);
	ck_assert_int_eq(pthread_condattr_init(&a), 0);
	ck_assert_int_eq(pthread_condattr_setclock(&a, CLOCK_MONOTONIC), 0);
	ck_assert_int_eq(pthread_cond_init(c, &a), 0);
	pthread_condattr_destroy(&a);
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	ck_assert_msg(d != NULL, "opendir(%s): %s", path, strerror(errno));
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int count_tasks(void)
{
	return count_dir("/proc/self/task");
}

/* opendir()'s own descriptor is listed too: the same in every count. */
static int count_fds(void)
{
	return count_dir("/proc/self/fd");
}

/* A joined thread stays listed in /proc a moment after pthread_join(). */
static int tasks_settle(int want)
{
	int n = count_tasks();

	for (int i = 0; i < 1000 && n != want; i++) {
		sleep_ms(1);
		n = count_tasks();
	}
	return n;
}

/* The process's threads with no pool running, counted once: each test is
 * a process of its own, and with CK_FORK=no the first test to ask runs
 * before any pool (a thread joined by the test before may still be
 * listed for a moment). */
static int base_tasks(void)
{
	static int base = -1;

	if (base < 0)
		base = count_tasks();
	return base;
}

static struct ev_timer watchdog;
static bool barked;

static void bark(struct ev_timer *t)
{
	barked = true;
	ev_stop(t->h.loop);
}

static void loop_open(struct ev_loop *loop)
{
	ck_assert_int_eq(ev_loop_init(loop), 0);
	ck_assert_int_eq(ev_timer_init(loop, &watchdog, bark), 0);
	ev_unref(&watchdog.h);
	barked = false;
}

static void loop_close(struct ev_loop *loop)
{
	ev_close(&watchdog.h, NULL);
	ev_run(loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_loop_close(loop), 0);
}

static bool run_loop(struct ev_loop *loop, unsigned ms)
{
	barked = false;
	ck_assert_int_eq(ev_timer_start(&watchdog, ms, 0), 0);
	ev_run(loop, EV_RUN_DEFAULT);
	ev_timer_stop(&watchdog);
	return !barked;
}

static void kitchen_open(struct ev_loop *loop, struct tp_pool *p, unsigned size)
{
	char v[16];

	snprintf(v, sizeof(v), "%u", size);
	ck_assert_int_eq(setenv(TP_SIZE_ENV, v, 1), 0);
	ck_assert_int_eq(tp_init(p, loop), 0);
	unsetenv(TP_SIZE_ENV);
	ck_assert_msg(p->size == size,
	              "with %s=%s, the pool's size is %u (tp_size_from)",
	              TP_SIZE_ENV, v, p->size);
}

static void kitchen_close(struct ev_loop *loop, struct tp_pool *p)
{
	ck_assert_int_eq(tp_close(p), 0);
	ev_run(loop, EV_RUN_NOWAIT);
}

/* The gate: jobs wait there until the test opens it. */
static struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned arrived;
	bool open;
} gate;

static void gate_init(void)
{
	sync_init(&gate.lock, &gate.cond);
	gate.arrived = 0;
	gate.open = false;
}

static void gate_destroy(void)
{
	pthread_cond_destroy(&gate.cond);
	pthread_mutex_destroy(&gate.lock);
}

static void gate_pass(void)
{
	struct timespec until = deadline(20000);

	pthread_mutex_lock(&gate.lock);
	gate.arrived++;
	pthread_cond_broadcast(&gate.cond);
	while (!gate.open &&
	       pthread_cond_timedwait(&gate.cond, &gate.lock, &until) == 0)
		;
	pthread_mutex_unlock(&gate.lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = true;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

static void gate_await(unsigned n)
{
	struct timespec until = deadline(5000);
	unsigned got;

	pthread_mutex_lock(&gate.lock);
	while (gate.arrived < n &&
	       pthread_cond_timedwait(&gate.cond, &gate.lock, &until) == 0)
		;
	got = gate.arrived;
	pthread_mutex_unlock(&gate.lock);
	ck_assert_msg(got >= n, "%u of %u jobs started within 5 s", got, n);
}

static void *open_later(void *arg)
{
	sleep_ms(*(unsigned *)arg);
	gate_open();
	return NULL;
}

/* The rendezvous: `need` jobs at once, or it breaks after 5 s. */
static struct meet {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned need, arrived, rounds;
	bool broken;
} meet;

static void meet_init(unsigned need)
{
	sync_init(&meet.lock, &meet.cond);
	meet.need = need;
	meet.arrived = meet.rounds = 0;
	meet.broken = false;
}

static void meet_destroy(void)
{
	pthread_cond_destroy(&meet.cond);
	pthread_mutex_destroy(&meet.lock);
}

static void meet_up(void)
{
	struct timespec until = deadline(5000);

	pthread_mutex_lock(&meet.lock);
	unsigned round = meet.rounds;

	if (++meet.arrived == meet.need) {
		meet.arrived = 0;
		meet.rounds++;
		pthread_cond_broadcast(&meet.cond);
	}
	while (meet.rounds == round && !meet.broken) {
		if (pthread_cond_timedwait(&meet.cond, &meet.lock, &until) ==
		    ETIMEDOUT) {
			meet.broken = true;
			pthread_cond_broadcast(&meet.cond);
		}
	}
	pthread_mutex_unlock(&meet.lock);
}

struct job {
	struct tp_work w;
	atomic_uint worked;
	unsigned served;
	int status;
	pthread_t cook, waiter;
};

#define job_of(wp) ((struct job *)((char *)(wp)-offsetof(struct job, w)))

static atomic_uint running, most_running; /* work calls in progress */

static void work_count(struct tp_work *w)
{
	struct job *j = job_of(w);

	j->cook = pthread_self();
	atomic_fetch_add(&j->worked, 1);
}

static void work_gated(struct tp_work *w)
{
	work_count(w);
	gate_pass();
}

static void work_meet(struct tp_work *w)
{
	work_count(w);
	meet_up();
}

/* Takes 3 ms, and records how many ran at once. */
static void work_crowd(struct tp_work *w)
{
	unsigned now = atomic_fetch_add(&running, 1) + 1;
	unsigned most = atomic_load(&most_running);

	while (now > most &&
	       !atomic_compare_exchange_weak(&most_running, &most, now))
		;
	work_count(w);
	sleep_ms(3);
	atomic_fetch_sub(&running, 1);
}

static void after_count(struct tp_work *w, int status)
{
	struct job *j = job_of(w);

	j->waiter = pthread_self();
	j->served++;
	j->status = status;
}

static void submit(struct tp_pool *p, struct job *j, tp_work_fn work)
{
	ck_assert_int_eq(tp_submit(p, &j->w, work, after_count), 0);
}

/* jobs[0..n) each worked `worked` times and were served once with
 * `status`. */
static void check_jobs(const struct job *jobs, unsigned n, unsigned worked,
                       int status)
{
	for (unsigned i = 0; i < n; i++) {
		const struct job *j = &jobs[i];
		unsigned got = atomic_load(&j->worked);

		if (got == worked && j->served == 1 && j->status == status)
			continue;
		ck_abort_msg("job %u of %u: work ran %u times, after_work %u "
		             "times (status %d); expected %u, once (%d)",
		             i, n, got, j->served, j->status, worked, status);
	}
}

/* --- test_hidden_sizes_concurrency --- */

/* A pool of `size`: `size` threads, started on the first order, that run
 * `size` orders at once and never more. */
static void sizes_case(unsigned size)
{
	enum { MAX = 7, CROWD = 3 * MAX };
	struct job jobs[MAX + CROWD];
	const unsigned n = size + 3 * size;
	pthread_t cooks[MAX];
	unsigned ncooks = 0;
	struct ev_loop loop;
	struct tp_pool p;
	int base = base_tasks();

	memset(jobs, 0, sizeof(jobs));
	atomic_store(&running, 0);
	atomic_store(&most_running, 0);
	meet_init(size);
	loop_open(&loop);
	kitchen_open(&loop, &p, size);
	ck_assert_int_eq(tasks_settle(base), base);

	for (unsigned i = 0; i < size; i++)
		submit(&p, &jobs[i], work_meet);
	ck_assert_int_eq(count_tasks(), base + (int)size);
	ck_assert(run_loop(&loop, 8000));
	ck_assert_msg(!meet.broken, "%u jobs on a pool of %u never ran at once",
	              size, size);
	for (unsigned i = size; i < n; i++)
		submit(&p, &jobs[i], work_crowd);
	ck_assert(run_loop(&loop, 8000));
	check_jobs(jobs, n, 1, 0);
	ck_assert_msg(atomic_load(&most_running) <= size,
	              "%u jobs ran at once on a pool of %u",
	              atomic_load(&most_running), size);

	for (unsigned i = 0; i < n; i++) {
		unsigned k = 0;

		while (k < ncooks && !pthread_equal(cooks[k], jobs[i].cook))
			k++;
		ck_assert_msg(k < size, "pool of %u: job %u ran on thread %u",
		              size, i, k + 1);
		if (k == ncooks)
			cooks[ncooks++] = jobs[i].cook;
	}
	ck_assert_uint_eq(ncooks, size);
	ck_assert_int_eq(count_tasks(), base + (int)size);
	kitchen_close(&loop, &p);
	ck_assert_int_eq(tasks_settle(base), base);
	loop_close(&loop);
	meet_destroy();
}

START_TEST(test_hidden_sizes_concurrency)
{
	sizes_case(3);
	sizes_case(7);
}
END_TEST

/* --- test_hidden_cancel_all_then_close --- */

enum { RUNNING = 2, QUEUED = 50 };

START_TEST(test_hidden_cancel_all_then_close)
{
	static struct job jobs[RUNNING + QUEUED];
	struct ev_loop loop;
	struct tp_pool p;
	struct tp_stats s = {0};

	memset(jobs, 0, sizeof(jobs));
	gate_init();
	loop_open(&loop);
	kitchen_open(&loop, &p, RUNNING);
	for (unsigned i = 0; i < RUNNING + QUEUED; i++)
		submit(&p, &jobs[i], i < RUNNING ? work_gated : work_count);
	gate_await(RUNNING);

	/* Newest first: every queued order, wherever it sits in the queue. */
	for (unsigned i = RUNNING + QUEUED; i-- > RUNNING;)
		ck_assert_int_eq(tp_cancel(&jobs[i].w), 0);
	for (unsigned i = 0; i < RUNNING + QUEUED; i++)
		ck_assert_uint_eq(jobs[i].served, 0);
	tp_stats(&p, &s);
	ck_assert_uint_eq(s.busy, RUNNING);
	ck_assert_uint_eq(s.queued, 0);

	/* The loop never ran: tp_close serves all of them. */
	gate_open();
	ck_assert_int_eq(tp_close(&p), 0);
	check_jobs(jobs, RUNNING, 1, 0);
	check_jobs(jobs + RUNNING, QUEUED, 0, -ECANCELED);
	ev_run(&loop, EV_RUN_NOWAIT);
	check_jobs(jobs + RUNNING, QUEUED, 0, -ECANCELED); /* not twice */
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_hidden_close_unused_pool --- */

START_TEST(test_hidden_close_unused_pool)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job j;
	int base = base_tasks(), fds = count_fds();

	memset(&j, 0, sizeof(j));
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);
	ck_assert_int_eq(tasks_settle(base), base);
	ck_assert(run_loop(&loop, 1000));
	ck_assert_int_eq(tp_close(&p), 0);
	ck_assert_int_eq(count_tasks(), base);
	ck_assert_int_eq(tp_submit(&p, &j.w, work_count, after_count),
	                 -ESHUTDOWN);
	ck_assert_int_eq(count_tasks(), base);
	ev_run(&loop, EV_RUN_NOWAIT);
	loop_close(&loop);
	ck_assert_uint_eq(j.served, 0);
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

/* --- test_hidden_submit_during_close --- */

static struct tp_pool *late_pool;
static struct job late; /* what the after_works try to submit */
static int late_rc[3];  /* what each got */
static unsigned late_calls;

static void after_submit(struct tp_work *w, int status)
{
	after_count(w, status);
	if (late_calls < 3)
		late_rc[late_calls] =
		    tp_submit(late_pool, &late.w, work_count, after_count);
	late_calls++;
}

START_TEST(test_hidden_submit_during_close)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job jobs[3]; /* A runs; B and C wait */
	pthread_t opener;
	unsigned delay = 50;

	memset(jobs, 0, sizeof(jobs));
	memset(&late, 0, sizeof(late));
	memset(late_rc, 0, sizeof(late_rc));
	late_calls = 0;
	late_pool = &p;
	gate_init();
	loop_open(&loop);
	kitchen_open(&loop, &p, 1);
	ck_assert_int_eq(tp_submit(&p, &jobs[0].w, work_gated, after_submit),
	                 0);
	gate_await(1);
	for (unsigned i = 1; i < 3; i++)
		ck_assert_int_eq(
		    tp_submit(&p, &jobs[i].w, work_count, after_submit), 0);
	ck_assert_int_eq(pthread_create(&opener, NULL, open_later, &delay), 0);

	ck_assert_int_eq(tp_close(&p), 0);
	check_jobs(jobs, 1, 1, 0);
	check_jobs(jobs + 1, 2, 0, -ECANCELED);
	ck_assert_uint_eq(late_calls, 3);
	for (unsigned i = 0; i < 3; i++)
		ck_assert_int_eq(late_rc[i], -ESHUTDOWN);
	ck_assert_int_eq(pthread_join(opener, NULL), 0);
	ck_assert(run_loop(&loop, 1000));
	ck_assert_uint_eq(atomic_load(&late.worked), 0);
	ck_assert_uint_eq(late.served, 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_hidden_reinit_no_leak --- */

enum { ROUNDS = 10, ROUND_JOBS = 20 };

START_TEST(test_hidden_reinit_no_leak)
{
	struct job jobs[ROUND_JOBS];
	struct ev_loop loop;
	struct tp_pool p;
	int base = base_tasks(), fds = count_fds();

	/* The same structs every round, as a server restarted in-process
	 * would reuse them. */
	for (unsigned r = 0; r < ROUNDS; r++) {
		memset(jobs, 0, sizeof(jobs));
		loop_open(&loop);
		kitchen_open(&loop, &p, 2 + r % 3);
		for (unsigned i = 0; i < ROUND_JOBS; i++)
			submit(&p, &jobs[i], work_count);
		ck_assert_msg(run_loop(&loop, 5000), "round %u hung", r);
		check_jobs(jobs, ROUND_JOBS, 1, 0);
		kitchen_close(&loop, &p);
		loop_close(&loop);
		ck_assert_msg(tasks_settle(base) == base,
		              "round %u: %d threads, %d before", r,
		              count_tasks(), base);
		ck_assert_msg(count_fds() == fds,
		              "round %u: %d descriptors open, %d before", r,
		              count_fds(), fds);
	}
}
END_TEST

static Suite *hidden_suite(void)
{
	Suite *s = suite_create("hidden");

	TEST_ADD(s, test_hidden_sizes_concurrency, 10);
	TEST_ADD(s, test_hidden_cancel_all_then_close, 10);
	TEST_ADD(s, test_hidden_close_unused_pool, 5);
	TEST_ADD(s, test_hidden_submit_during_close, 10);
	TEST_ADD(s, test_hidden_reinit_no_leak, 10);
	return s;
}

TEST_MAIN(hidden_suite)
