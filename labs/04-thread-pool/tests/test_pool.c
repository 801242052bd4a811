/* test_pool.c - public tests of the kitchen: the thread pool and its wiring
 * to the loop (lab 4).
 *
 * Jobs count how often their work and after_work ran, and on which thread.
 * Where a test needs jobs to be running at a given moment, they wait at a
 * gate that the test opens; where it needs them running together, they
 * meet at a rendezvous. Every wait has a bound: a broken pool fails a test
 * with a message rather than hanging it, and every ev_run() has a watchdog
 * timer (unreferenced, so it keeps nothing alive) that stops the loop when
 * the after_works it waits for never come.
 */
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "pool.h"
#include "testing.h"

/* --- helpers: time, threads, descriptors --- */

static double real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

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

/* Timed waits on the monotonic clock: a clock change cannot stretch them. */
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

/* The threads of this process, the test's own included. */
static int count_tasks(void)
{
	return count_dir("/proc/self/task");
}

/* pthread_join() returns when the thread is done with its stack, and the
 * kernel lists it in /proc a moment longer: give it up to a second. */
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

/* --- helpers: the loop, with a watchdog, and the pool --- */

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
	ev_unref(&watchdog.h); /* it watches; it keeps nothing alive */
	barked = false;
}

static void loop_close(struct ev_loop *loop)
{
	ev_close(&watchdog.h, NULL);
	ev_run(loop, EV_RUN_NOWAIT);
	ck_assert_int_eq(ev_loop_close(loop), 0);
}

/* ev_run(EV_RUN_DEFAULT), stopped after ms if it has not returned: false
 * then. */
static bool run_loop(struct ev_loop *loop, unsigned ms)
{
	barked = false;
	ck_assert_int_eq(ev_timer_start(&watchdog, ms, 0), 0);
	ev_run(loop, EV_RUN_DEFAULT);
	ev_timer_stop(&watchdog);
	return !barked;
}

/* A pool of `size` threads, through the environment as a user sets it. */
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

/* tp_close, then one more iteration for its watcher's closing phase. */
static void kitchen_close(struct ev_loop *loop, struct tp_pool *p)
{
	ck_assert_int_eq(tp_close(p), 0);
	ev_run(loop, EV_RUN_NOWAIT);
}

/* --- helpers: the gate and the rendezvous --- */

/* Jobs wait at the gate until the test opens it. It counts arrivals, so
 * the test can wait until jobs are running. */
static struct gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned arrived;
	bool open;
} gate;

static void gate_init(bool open)
{
	sync_init(&gate.lock, &gate.cond);
	gate.arrived = 0;
	gate.open = open;
}

static void gate_destroy(void)
{
	pthread_cond_destroy(&gate.cond);
	pthread_mutex_destroy(&gate.lock);
}

/* Bounded too: a test that failed before opening must not leave threads
 * blocked for ever (with CK_FORK=no the next tests share the process). */
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

/* Waits (5 s at most) until n jobs have reached the gate. */
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

/* Jobs meet in rounds of `need`: none leaves until all are there, which
 * proves that `need` of them run at once. A round that never fills within
 * 5 s breaks the rendezvous, and everyone goes on. */
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

/* --- helpers: jobs --- */

struct job {
	struct tp_work w;
	unsigned id;
	atomic_uint worked;     /* work calls */
	atomic_bool finished;   /* set at the very end of a long work */
	unsigned served;        /* after_work calls (loop thread) */
	int status;             /* after_work's status */
	pthread_t cook, waiter; /* who ran work, who ran after_work */
};

#define job_of(wp) container_of(wp, struct job, w)

static atomic_uint works;       /* work calls, all jobs */
static atomic_ulong work_sum;   /* sum of their ids */
static unsigned afters;         /* after_work calls, all jobs */
static unsigned long after_sum; /* sum of their ids */

static void jobs_reset(struct job *jobs, unsigned n)
{
	memset(jobs, 0, n * sizeof(*jobs));
	for (unsigned i = 0; i < n; i++)
		jobs[i].id = i;
	atomic_store(&works, 0);
	atomic_store(&work_sum, 0);
	afters = 0;
	after_sum = 0;
}

static void work_count(struct tp_work *w)
{
	struct job *j = job_of(w);

	j->cook = pthread_self();
	atomic_fetch_add(&j->worked, 1);
	atomic_fetch_add(&work_sum, j->id);
	atomic_fetch_add(&works, 1);
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

static void work_nap100(struct tp_work *w)
{
	work_count(w);
	sleep_ms(100);
	atomic_store(&job_of(w)->finished, true);
}

static void work_nap200(struct tp_work *w)
{
	work_count(w);
	gate_pass(); /* an open gate: only says "started" */
	sleep_ms(200);
	atomic_store(&job_of(w)->finished, true);
}

static void after_count(struct tp_work *w, int status)
{
	struct job *j = job_of(w);

	j->waiter = pthread_self();
	j->served++;
	j->status = status;
	after_sum += j->id;
	afters++;
}

static void submit(struct tp_pool *p, struct job *j, tp_work_fn work)
{
	ck_assert_int_eq(tp_submit(p, &j->w, work, after_count), 0);
}

/* Each job of jobs[0..n) worked once and was served once with status 0:
 * else fails, naming the first job that did not. */
static void check_all_once(const struct job *jobs, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct job *j = &jobs[i];
		unsigned worked = atomic_load(&j->worked);

		if (worked == 1 && j->served == 1 && j->status == 0)
			continue;
		ck_abort_msg("job %u of %u: work ran %u times, after_work %u "
		             "times (status %d); expected once, once (0)",
		             i, n, worked, j->served, j->status);
	}
}

/* --- test_size_from_env --- */

START_TEST(test_size_from_env)
{
	static const struct {
		const char *value;
		unsigned want;
	} cases[] = {
	    {NULL, 4},
	    {"", 4},
	    {"abc", 4},
	    {"-3", 4},
	    {" 8", 4}, /* strtoul() would skip the blank */
	    {"+8", 4}, /* and take the sign */
	    {"4x", 4},
	    {"8x", 4}, /* digits, then anything: not a number at all */
	    {"0", 1},
	    {"1", 1},
	    {"8", 8},
	    {"1024", 1024},
	    {"1025", 1024},
	    {"99999999999999999999", 1024},
	};
	struct ev_loop loop;
	struct tp_pool p;
	unsigned eight;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned got = tp_size_from(cases[i].value);

		ck_assert_msg(got == cases[i].want,
		              "tp_size_from(%s%s%s) = %u, expected %u",
		              cases[i].value ? "\"" : "",
		              cases[i].value ? cases[i].value : "NULL",
		              cases[i].value ? "\"" : "", got, cases[i].want);
	}
	/* strtoul() sets errno on overflow and leaves it alone otherwise:
	 * an ERANGE from an earlier call must not make "8" an overflow. */
	errno = ERANGE;
	eight = tp_size_from("8");
	ck_assert_msg(eight == 8,
	              "tp_size_from(\"8\") = %u when errno was ERANGE before "
	              "the call, expected 8",
	              eight);

	loop_open(&loop);
	ck_assert_int_eq(setenv(TP_SIZE_ENV, "7", 1), 0);
	ck_assert_int_eq(tp_init(&p, &loop), 0);
	unsetenv(TP_SIZE_ENV);
	ck_assert_uint_eq(p.size, 7);
	kitchen_close(&loop, &p);
	loop_close(&loop);
}
END_TEST

/* --- test_threads_start_on_first_submit --- */

START_TEST(test_threads_start_on_first_submit)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job jobs[2];
	int base = base_tasks();

	jobs_reset(jobs, 2);
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);
	ck_assert_int_eq(tasks_settle(base), base); /* none before the first */

	submit(&p, &jobs[0], work_count);
	ck_assert_int_eq(count_tasks(), base + 4); /* all four at once */
	submit(&p, &jobs[1], work_count);
	ck_assert_int_eq(count_tasks(), base + 4); /* and no more */
	ck_assert(run_loop(&loop, 5000));
	check_all_once(jobs, 2);
	ck_assert_int_eq(count_tasks(), base + 4); /* kept while idle */

	kitchen_close(&loop, &p);
	ck_assert_int_eq(tasks_settle(base), base); /* all joined */
	loop_close(&loop);
}
END_TEST

/* --- test_thread_start_fails ---
 *
 * pthread_create() fails with EAGAIN when the address space has no room
 * for another thread's stack. A child process limits its address space
 * (RLIMIT_AS) to what it uses plus room for a known number of stacks; the
 * stacks are made larger than usual, so that none left over (glibc keeps
 * the stacks of joined threads for reuse) fits. The child cannot use
 * ck_assert (with CK_FORK=no it would go on running the suite): it writes
 * what went wrong, if anything, into a pipe. */

enum {
	START_STACK = 32 << 20, /* bytes: the child's default thread stack */
	START_TRIES = 100,      /* tp_submit()s while no thread can start */
	START_WAIT_MS = 8000,
};

static char start_msg[512]; /* the child's verdict: empty when all is well */

#define start_check(cond, ...)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			snprintf(start_msg, sizeof(start_msg), __VA_ARGS__);   \
			return;                                                \
		}                                                              \
	} while (0)

/* The child's threads but itself, from /proc; -1 if it cannot tell. */
static int start_threads_running(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = -1;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* Room in the address space for `stacks` more thread stacks, and half a
 * stack to spare. */
static bool start_limit(unsigned stacks)
{
	struct rlimit lim;
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return false;
	if (fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	fclose(f);
	if (pages == 0 || getrlimit(RLIMIT_AS, &lim) < 0)
		return false;
	lim.rlim_cur = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) +
	               (rlim_t)stacks * START_STACK + START_STACK / 2;
	if (lim.rlim_max != RLIM_INFINITY && lim.rlim_cur > lim.rlim_max)
		return false;
	return setrlimit(RLIMIT_AS, &lim) == 0;
}

static void start_unlimit(void)
{
	struct rlimit lim;

	getrlimit(RLIMIT_AS, &lim);
	lim.rlim_cur = lim.rlim_max;
	setrlimit(RLIMIT_AS, &lim);
}

/* Runs the loop until the order j, submitted, is served; checks it was. */
static void start_serve(struct ev_loop *loop, struct job *j)
{
	ev_run(loop, EV_RUN_DEFAULT);
	start_check(atomic_load(&j->worked) == 1 && j->served == 1 &&
	                j->status == 0,
	            "an order submitted to the pool that started: work ran %u "
	            "times, after_work %u times (status %d); expected once, "
	            "once (0)",
	            atomic_load(&j->worked), j->served, j->status);
}

static void *start_nothing(void *arg)
{
	return arg;
}

static void start_fails_child(void)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct tp_stats s = {0};
	struct job jobs[3];
	pthread_attr_t attr;
	pthread_t thread;
	size_t before, grew;
	int rc = 0, want, threads;

	jobs_reset(jobs, 3);
	start_check(pthread_attr_init(&attr) == 0 &&
	                pthread_attr_setstacksize(&attr, START_STACK) == 0 &&
	                pthread_setattr_default_np(&attr) == 0 &&
	                setenv(TP_SIZE_ENV, "4", 1) == 0 &&
	                ev_loop_init(&loop) == 0 && tp_init(&p, &loop) == 0,
	            "setting up the child (stack size, loop, pool) failed");
	pthread_attr_destroy(&attr);

	/* No room for one stack: every submit fails, and tries again. What
	 * pthread_create() says then is what tp_submit() must pass on. */
	start_check(start_limit(0), "could not limit the address space");
	want = -pthread_create(&thread, NULL, start_nothing, NULL);
	if (want == 0)
		pthread_join(thread, NULL);
	start_check(want < 0, "a thread started with no room for its stack");
	before = mallinfo2().uordblks;
	for (int i = 0; i < START_TRIES; i++) {
		rc = tp_submit(&p, &jobs[0].w, work_count, after_count);
		if (rc == 0)
			break; /* it started: a failure, reported below */
	}
	grew = mallinfo2().uordblks - before;
	start_unlimit();
	start_check(rc < 0,
	            "tp_submit() returned %d while no thread could start; "
	            "expected a negative errno",
	            rc);
	start_check(rc == want,
	            "tp_submit() returned %d (%s) while no thread could start; "
	            "expected %d (%s), minus what pthread_create() returned",
	            rc, strerror(-rc), want, strerror(-want));
	start_check(grew < START_TRIES * sizeof(pthread_t),
	            "%d tp_submit()s that could start no thread left %zu "
	            "bytes more allocated, expected none",
	            START_TRIES, grew);
	threads = start_threads_running();
	tp_stats(&p, &s);
	start_check(threads == 0 && s.busy == 0 && s.queued == 0,
	            "after failed starts: %d threads running, tp_stats busy "
	            "%u, queued %u; expected none of each",
	            threads, s.busy, s.queued);

	/* Room for two of the four: either the pool runs with two and says
	 * so, or it fails and leaves no thread behind. */
	start_check(start_limit(2), "could not limit the address space");
	rc = tp_submit(&p, &jobs[1].w, work_count, after_count);
	threads = start_threads_running();
	start_unlimit();
	tp_stats(&p, &s);
	if (rc == 0) {
		start_check(threads > 0 && s.size == (unsigned)threads,
		            "pthread_create() failed after 2 threads of 4: "
		            "tp_submit() returned 0 and tp_stats() says size "
		            "%u, but %d threads run; expected the size to be "
		            "the number of threads",
		            s.size, threads);
		start_serve(&loop, &jobs[1]);
	} else {
		start_check(threads == 0,
		            "pthread_create() failed after 2 threads of 4: "
		            "tp_submit() returned %d but left %d threads "
		            "running; expected 0 with the threads kept, or an "
		            "error with none left",
		            rc, threads);
		/* Room again: the pool must start whole now. */
		rc = tp_submit(&p, &jobs[2].w, work_count, after_count);
		threads = start_threads_running();
		tp_stats(&p, &s);
		start_check(rc == 0 && threads == 4 && s.size == 4,
		            "a tp_submit() after failed starts, with room for "
		            "4 threads: returned %d, %d threads run, size %u",
		            rc, threads, s.size);
		start_serve(&loop, &jobs[2]);
	}
	if (start_msg[0] != '\0')
		return;
	start_check(tp_close(&p) == 0, "tp_close() failed");
	ev_run(&loop, EV_RUN_NOWAIT);
	start_check(ev_loop_close(&loop) == 0,
	            "ev_loop_close() after tp_close() and one more iteration "
	            "failed");
}

START_TEST(test_thread_start_fails)
{
	struct pollfd pfd = {.events = POLLIN};
	char msg[sizeof(start_msg)] = "";
	int fds[2], status = 0;
	bool ended = false;
	ssize_t n = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		start_fails_child();
		if (write(fds[1], start_msg, strlen(start_msg)) < 0)
			_exit(3);
		_exit(start_msg[0] != '\0');
	}
	close(fds[1]);
	/* Until the child's end of the pipe closes: it has exited. */
	pfd.fd = fds[0];
	while (poll(&pfd, 1, START_WAIT_MS) == 1) {
		ssize_t got = read(fds[0], msg + n, sizeof(msg) - 1 - n);

		if (got <= 0)
			break;
		n += got;
	}
	close(fds[0]);
	/* Its descriptors close a moment before it can be waited for. */
	for (int ms = 0; ms < 1000 && !ended; ms++) {
		ended = waitpid(pid, &status, WNOHANG) == pid;
		if (!ended)
			sleep_ms(1);
	}
	if (!ended) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		ck_abort_msg("the child with a limited address space did not "
		             "finish within %d ms (a pool left hanging by a "
		             "failed start?)",
		             START_WAIT_MS);
	}
	msg[n] = '\0';
	ck_assert_msg(msg[0] == '\0', "%s", msg);
	ck_assert_msg(
	    WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child with a limited address space %s %d",
	    WIFEXITED(status) ? "exited with" : "was killed by signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}
END_TEST

/* --- test_work_runs_once --- */

enum { ONCE_JOBS = 1000 };

/* A short nap: while one cook cooks an order, the others are free to
 * look at the queue, and must not find that order there. */
static void work_brief(struct tp_work *w)
{
	struct timespec t = {0, 50000};

	work_count(w);
	nanosleep(&t, NULL);
}

START_TEST(test_work_runs_once)
{
	static struct job jobs[ONCE_JOBS];
	struct ev_loop loop;
	struct tp_pool p;

	jobs_reset(jobs, ONCE_JOBS);
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);
	for (unsigned i = 0; i < ONCE_JOBS; i++)
		submit(&p, &jobs[i], work_brief);
	bool done = run_loop(&loop, 8000);
	/* An order cooked twice is the likelier news than a slow loop. */
	for (unsigned i = 0; i < ONCE_JOBS; i++)
		ck_assert_msg(atomic_load(&jobs[i].worked) <= 1,
		              "job %u: work ran %u times: two cooks took the "
		              "same order off the queue",
		              i, atomic_load(&jobs[i].worked));
	ck_assert_msg(done, "after 8 s, %u of %u after_works had run", afters,
	              ONCE_JOBS);
	check_all_once(jobs, ONCE_JOBS);
	ck_assert_uint_eq(afters, ONCE_JOBS);
	kitchen_close(&loop, &p);
	loop_close(&loop);
}
END_TEST

/* --- test_oldest_first ---
 *
 * One cook, held by the first order while the others queue: he must take
 * them oldest first. Then every dish is on the pass before the loop looks,
 * and the loop must serve them in the order they came. */

enum { FIFO_JOBS = 50 };

static atomic_uint fifo_cooked;        /* work calls so far */
static unsigned fifo_work[FIFO_JOBS];  /* ids, in the order work ran */
static unsigned fifo_after[FIFO_JOBS]; /* ids, in the order after_work ran */

static void work_fifo(struct tp_work *w)
{
	unsigned at = atomic_fetch_add(&fifo_cooked, 1);

	if (at < FIFO_JOBS)
		fifo_work[at] = job_of(w)->id;
	work_count(w);
}

static void work_fifo_gated(struct tp_work *w)
{
	work_fifo(w);
	gate_pass();
}

static void after_fifo(struct tp_work *w, int status)
{
	if (afters < FIFO_JOBS)
		fifo_after[afters] = job_of(w)->id;
	after_count(w, status);
}

START_TEST(test_oldest_first)
{
	static struct job jobs[FIFO_JOBS];
	struct ev_loop loop;
	struct tp_pool p;

	jobs_reset(jobs, FIFO_JOBS);
	atomic_store(&fifo_cooked, 0);
	gate_init(false);
	loop_open(&loop);
	kitchen_open(&loop, &p, 1);
	ck_assert_int_eq(tp_submit(&p, &jobs[0].w, work_fifo_gated, after_fifo),
	                 0);
	gate_await(1);
	for (unsigned i = 1; i < FIFO_JOBS; i++)
		ck_assert_int_eq(
		    tp_submit(&p, &jobs[i].w, work_fifo, after_fifo), 0);
	gate_open();
	for (int i = 0; i < 5000 && atomic_load(&works) < FIFO_JOBS; i++)
		sleep_ms(1);
	ck_assert_uint_eq(atomic_load(&works), FIFO_JOBS);
	ck_assert_msg(run_loop(&loop, 5000),
	              "after 5 s, %u of %u after_works had run", afters,
	              FIFO_JOBS);
	check_all_once(jobs, FIFO_JOBS);
	for (unsigned i = 0; i < FIFO_JOBS; i++)
		ck_assert_msg(fifo_work[i] == i,
		              "the cook's order number %u was order %u, "
		              "expected order %u (the oldest first)",
		              i, fifo_work[i], i);
	for (unsigned i = 0; i < FIFO_JOBS; i++)
		ck_assert_msg(fifo_after[i] == i,
		              "after_work number %u was order %u's, expected "
		              "order %u's (the oldest dish first)",
		              i, fifo_after[i], i);
	kitchen_close(&loop, &p);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_thread_identity --- */

enum { IDENTITY_JOBS = 200 };

/* run_loop(), and when it times out, the likeliest reason first: an
 * after_work called by a cook never brings the loop its news. */
static void run_identity(struct ev_loop *loop, struct job *jobs, unsigned n,
                         pthread_t me)
{
	if (run_loop(loop, 8000))
		return;
	for (unsigned i = 0; i < n; i++)
		ck_assert_msg(jobs[i].served == 0 ||
		                  pthread_equal(jobs[i].waiter, me),
		              "job %u: after_work ran on a pool thread, not on "
		              "the loop thread",
		              i);
	ck_abort_msg("the loop did not see every after_work within 8 s");
}

START_TEST(test_thread_identity)
{
	static struct job jobs[4 + IDENTITY_JOBS];
	const unsigned n = 4 + IDENTITY_JOBS;
	pthread_t me = pthread_self(), cooks[4];
	unsigned ncooks = 0;
	struct ev_loop loop;
	struct tp_pool p;

	jobs_reset(jobs, n);
	meet_init(4);
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);

	/* Four jobs that can only finish together: four threads at once. */
	for (unsigned i = 0; i < 4; i++)
		submit(&p, &jobs[i], work_meet);
	run_identity(&loop, jobs, n, me);
	ck_assert_msg(!meet.broken, "4 jobs on a pool of 4 never ran at once");
	/* Then many more, which must reuse the same four. */
	for (unsigned i = 4; i < n; i++)
		submit(&p, &jobs[i], work_count);
	run_identity(&loop, jobs, n, me);
	check_all_once(jobs, n);

	for (unsigned i = 0; i < n; i++) {
		unsigned k = 0;

		ck_assert_msg(!pthread_equal(jobs[i].cook, me),
		              "job %u: work ran on the loop thread", i);
		ck_assert_msg(pthread_equal(jobs[i].waiter, me),
		              "job %u: after_work ran on another thread than "
		              "the loop's",
		              i);
		while (k < ncooks && !pthread_equal(cooks[k], jobs[i].cook))
			k++;
		ck_assert_msg(k < 4,
		              "job %u: work ran on a 5th thread (pool "
		              "of 4)",
		              i);
		if (k == ncooks)
			cooks[ncooks++] = jobs[i].cook;
	}
	ck_assert_uint_eq(ncooks, 4);
	kitchen_close(&loop, &p);
	loop_close(&loop);
	meet_destroy();
}
END_TEST

/* --- test_many_jobs --- */

enum { MANY_JOBS = 100000 };

START_TEST(test_many_jobs)
{
	struct job *jobs = calloc(MANY_JOBS, sizeof(*jobs));
	const unsigned long sum =
	    (unsigned long)MANY_JOBS * (MANY_JOBS - 1) / 2;
	struct ev_loop loop;
	struct tp_pool p;

	ck_assert_ptr_nonnull(jobs);
	jobs_reset(jobs, MANY_JOBS);
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);
	for (unsigned i = 0; i < MANY_JOBS; i++)
		submit(&p, &jobs[i], work_count);
	ck_assert_msg(run_loop(&loop, 25000),
	              "after 25 s, %u of %u after_works had run", afters,
	              MANY_JOBS);
	ck_assert_uint_eq(atomic_load(&works), MANY_JOBS);
	ck_assert_uint_eq(afters, MANY_JOBS);
	ck_assert_uint_eq(atomic_load(&work_sum), sum);
	ck_assert_uint_eq(after_sum, sum);
	check_all_once(jobs, MANY_JOBS);
	kitchen_close(&loop, &p);
	loop_close(&loop);
	free(jobs);
}
END_TEST

/* --- test_ping_pong --- */

enum { PING_ROUNDS = 20000 };

START_TEST(test_ping_pong)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job j;

	jobs_reset(&j, 1);
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);
	/* One order at a time: each hand-over must wake its sleeper, a cook
	 * on the condition variable, then the loop on the eventfd. */
	for (unsigned i = 0; i < PING_ROUNDS; i++) {
		submit(&p, &j, work_count);
		ck_assert_msg(run_loop(&loop, 5000) && j.served == i + 1,
		              "round %u: after_work had not run after 5 s "
		              "(%u works, %u after_works so far)",
		              i, atomic_load(&j.worked), j.served);
	}
	ck_assert_uint_eq(atomic_load(&j.worked), PING_ROUNDS);
	kitchen_close(&loop, &p);
	loop_close(&loop);
}
END_TEST

/* --- test_coalesced_wakeups --- */

enum { COALESCE_ROUNDS = 200, HELD_JOBS = 1000, LATE_ROUNDS = 3 };

static struct tp_pool *late_pool;

/* An after_work that orders one more dish (the job after its own) and
 * returns only once a cook has put it on the pass, and so rung. */
static void after_order_more(struct tp_work *w, int status)
{
	struct job *next = job_of(w) + 1;
	struct tp_stats s = {0};

	after_count(w, status);
	ck_assert_int_eq(
	    tp_submit(late_pool, &next->w, work_count, after_count), 0);
	for (int i = 0; i < 2000 && atomic_load(&next->worked) == 0; i++)
		sleep_ms(1);
	tp_stats(late_pool, &s);
	for (int i = 0; i < 2000 && s.busy > 0; i++) {
		sleep_ms(1);
		tp_stats(late_pool, &s);
	}
	sleep_ms(5); /* its ring, if rung outside the lock */
}

START_TEST(test_coalesced_wakeups)
{
	static struct job jobs[HELD_JOBS];
	struct ev_loop loop;
	struct tp_pool p;
	uint64_t wakeups, rings = 0;

	loop_open(&loop);

	/* Four cooks finish at the same moment, 200 times: whatever the
	 * interleaving of their dishes and the bell, none is left behind. */
	kitchen_open(&loop, &p, 4);
	meet_init(4);
	for (unsigned r = 0; r < COALESCE_ROUNDS; r++) {
		jobs_reset(jobs, 4);
		for (unsigned i = 0; i < 4; i++)
			submit(&p, &jobs[i], work_meet);
		ck_assert_msg(run_loop(&loop, 5000),
		              "round %u: %u of 4 after_works ran in 5 s", r,
		              afters);
		ck_assert_msg(!meet.broken,
		              "round %u: 4 jobs on a pool of 4 "
		              "never ran at once",
		              r);
		check_all_once(jobs, 4);
	}
	kitchen_close(&loop, &p);
	meet_destroy();

	/* One cook, a thousand orders held behind the first: all of them
	 * are on the pass before the loop looks, and they share one
	 * wake-up. */
	jobs_reset(jobs, HELD_JOBS);
	gate_init(false);
	kitchen_open(&loop, &p, 1);
	submit(&p, &jobs[0], work_gated);
	for (unsigned i = 1; i < HELD_JOBS; i++)
		submit(&p, &jobs[i], work_count);
	gate_await(1);
	gate_open();
	for (int i = 0; i < 5000 && atomic_load(&works) < HELD_JOBS; i++)
		sleep_ms(1);
	ck_assert_uint_eq(atomic_load(&works), HELD_JOBS);
	/* The dishes reached the pass while the loop was away: one ring in
	 * all. The eventfd's counter says how many; it is put back for the
	 * loop to hear. */
	if (read(p.wake_fd, &rings, sizeof(rings)) == (ssize_t)sizeof(rings))
		ck_assert_int_eq(write(p.wake_fd, &rings, sizeof(rings)),
		                 sizeof(rings));
	ck_assert_msg(rings <= 1,
	              "%llu rings (eventfd writes) for %u dishes put on the "
	              "pass while the loop was away, expected at most 1",
	              (unsigned long long)rings, HELD_JOBS);
	wakeups = p.wakeups;
	ck_assert_msg(run_loop(&loop, 5000),
	              "%u of %u after_works ran in 5 s: dishes left on the "
	              "pass",
	              afters, HELD_JOBS);
	check_all_once(jobs, HELD_JOBS);
	wakeups = p.wakeups - wakeups;
	ck_assert_msg(wakeups >= 1,
	              "p->wakeups is 0, yet %u after_works ran; expected it "
	              "to count each run of the bell's callback",
	              afters);
	ck_assert_msg(wakeups < afters,
	              "%llu wake-ups for %u after_works whose dishes were all "
	              "on the pass before the loop looked; expected fewer "
	              "wake-ups than dishes",
	              (unsigned long long)wakeups, afters);
	kitchen_close(&loop, &p);
	gate_destroy();

	/* A dish that reaches the pass while the loop is serving the pass
	 * must still be served: the first order's after_work orders a
	 * second and waits until it is cooked, three times over. */
	kitchen_open(&loop, &p, 1);
	late_pool = &p;
	for (unsigned r = 0; r < LATE_ROUNDS; r++) {
		jobs_reset(jobs, 2);
		ck_assert_int_eq(
		    tp_submit(&p, &jobs[0].w, work_count, after_order_more), 0);
		ck_assert_msg(run_loop(&loop, 5000) && jobs[1].served == 1,
		              "round %u: a dish put on the pass while the loop "
		              "served the pass was not served within 5 s; "
		              "expected it served then, or a wake-up still to "
		              "come for it",
		              r);
		check_all_once(jobs, 2);
	}
	kitchen_close(&loop, &p);
	loop_close(&loop);
}
END_TEST

/* --- test_loop_alive_while_in_flight --- */

START_TEST(test_loop_alive_while_in_flight)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job j;
	double t0, ms;

	jobs_reset(&j, 1);
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);

	/* An idle kitchen keeps no one up: only its eventfd is watched. */
	ck_assert(!ev_loop_alive(&loop));
	ck_assert_msg(run_loop(&loop, 1000),
	              "ev_run did not return with no work in flight");

	t0 = real_ms();
	submit(&p, &j, work_nap100);
	ck_assert(ev_loop_alive(&loop));
	ck_assert(run_loop(&loop, 5000));
	ms = real_ms() - t0;
	ck_assert_msg(j.served == 1,
	              "ev_run returned after %.1f ms, before after_work (the "
	              "job sleeps 100 ms)",
	              ms);
	ck_assert(atomic_load(&j.finished));
	ck_assert_msg(ms >= 99, "a 100 ms job done in %.1f ms", ms);

	/* Idle again. */
	ck_assert(!ev_loop_alive(&loop));
	ck_assert_msg(run_loop(&loop, 1000),
	              "ev_run did not return once the work was done");
	ck_assert_uint_eq(j.served, 1);
	kitchen_close(&loop, &p);
	loop_close(&loop);
}
END_TEST

/* --- test_cancel_queued --- */

static void after_open_gate(struct tp_work *w, int status)
{
	after_count(w, status);
	gate_open();
}

START_TEST(test_cancel_queued)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job jobs[2]; /* A runs, B waits */

	jobs_reset(jobs, 2);
	gate_init(false);
	loop_open(&loop);
	kitchen_open(&loop, &p, 1);
	submit(&p, &jobs[0], work_gated);
	gate_await(1);
	ck_assert_int_eq(tp_submit(&p, &jobs[1].w, work_count, after_open_gate),
	                 0);

	ck_assert_int_eq(tp_cancel(&jobs[1].w), 0);
	ck_assert_msg(jobs[1].served == 0,
	              "after_work was called inside tp_cancel");
	ck_assert_int_eq(tp_cancel(&jobs[1].w), -EBUSY); /* cancelled once */

	/* A cooks until B's after_work opens the gate: B comes back on a
	 * ring of its own, not on A's. */
	bool back = run_loop(&loop, 5000);
	gate_open(); /* A goes on, whatever happened */
	ck_assert_msg(back && jobs[1].served == 1,
	              "5 s after tp_cancel, the cancelled order's after_work "
	              "had not run while the other order still cooked; "
	              "expected it served without waiting for another dish");

	ck_assert_uint_eq(jobs[1].served, 1);
	ck_assert_int_eq(jobs[1].status, -ECANCELED);
	ck_assert_uint_eq(atomic_load(&jobs[1].worked), 0);
	ck_assert(pthread_equal(jobs[1].waiter, pthread_self()));
	check_all_once(jobs, 1);
	kitchen_close(&loop, &p);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_cancel_running --- */

START_TEST(test_cancel_running)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct tp_stats s = {0};
	struct job jobs[2], never;

	jobs_reset(jobs, 2);
	memset(&never, 0, sizeof(never));
	gate_init(false);
	loop_open(&loop);
	kitchen_open(&loop, &p, 1);
	ck_assert_int_eq(tp_cancel(&never.w), -EINVAL); /* never submitted */

	/* Running: too late. */
	submit(&p, &jobs[0], work_gated);
	gate_await(1);
	ck_assert_int_eq(tp_cancel(&jobs[0].w), -EBUSY);
	gate_open();

	/* Done, after_work pending: too late as well. */
	submit(&p, &jobs[1], work_count);
	for (int i = 0; i < 5000 && s.completed < 2; i++) {
		sleep_ms(1);
		tp_stats(&p, &s);
	}
	ck_assert_uint_eq(s.completed, 2);
	ck_assert_int_eq(tp_cancel(&jobs[1].w), -EBUSY);

	ck_assert(run_loop(&loop, 5000));
	check_all_once(jobs, 2);
	/* after_work has run: the order is not the pool's any more. */
	ck_assert_int_eq(tp_cancel(&jobs[0].w), -EINVAL);
	ck_assert_int_eq(tp_cancel(&jobs[1].w), -EINVAL);
	kitchen_close(&loop, &p);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_stats --- */

START_TEST(test_stats)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct tp_stats s = {0};
	struct job jobs[5];

	jobs_reset(jobs, 5);
	gate_init(false);
	loop_open(&loop);
	kitchen_open(&loop, &p, 2);
	tp_stats(&p, &s);
	ck_assert_uint_eq(s.size, 2);
	ck_assert_uint_eq(s.busy, 0);
	ck_assert_uint_eq(s.queued, 0);
	ck_assert_uint_eq(s.completed, 0);

	for (unsigned i = 0; i < 5; i++)
		submit(&p, &jobs[i], work_gated);
	gate_await(2); /* both cooks hold one; three wait */
	memset(&s, 0, sizeof(s));
	tp_stats(&p, &s);
	ck_assert_uint_eq(s.size, 2);
	ck_assert_uint_eq(s.busy, 2);
	ck_assert_uint_eq(s.queued, 3);
	ck_assert_uint_eq(s.completed, 0);

	gate_open();
	ck_assert(run_loop(&loop, 5000));
	check_all_once(jobs, 5);
	memset(&s, 0, sizeof(s));
	tp_stats(&p, &s);
	ck_assert_uint_eq(s.size, 2);
	ck_assert_uint_eq(s.busy, 0);
	ck_assert_uint_eq(s.queued, 0);
	ck_assert_uint_eq(s.completed, 5);
	kitchen_close(&loop, &p);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_close_cancels_queued --- */

START_TEST(test_close_cancels_queued)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job jobs[3]; /* A runs; B and C wait */
	pthread_t opener;
	unsigned delay = 100;

	jobs_reset(jobs, 3);
	gate_init(false);
	loop_open(&loop);
	kitchen_open(&loop, &p, 1);
	submit(&p, &jobs[0], work_gated);
	gate_await(1);
	submit(&p, &jobs[1], work_count);
	submit(&p, &jobs[2], work_count);
	ck_assert_int_eq(pthread_create(&opener, NULL, open_later, &delay), 0);

	/* A is still at the gate: tp_close must wait for it, and serve
	 * everything before it returns, on this thread. */
	ck_assert_int_eq(tp_close(&p), 0);
	check_all_once(jobs, 1);
	for (unsigned i = 1; i < 3; i++) {
		ck_assert_uint_eq(jobs[i].served, 1);
		ck_assert_int_eq(jobs[i].status, -ECANCELED);
		ck_assert_uint_eq(atomic_load(&jobs[i].worked), 0);
	}
	for (unsigned i = 0; i < 3; i++)
		ck_assert(pthread_equal(jobs[i].waiter, pthread_self()));
	ck_assert_int_eq(pthread_join(opener, NULL), 0);
	ev_run(&loop, EV_RUN_NOWAIT);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_close_waits_running --- */

START_TEST(test_close_waits_running)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job j;
	int base = base_tasks();

	jobs_reset(&j, 1);
	gate_init(true);
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);
	submit(&p, &j, work_nap200);
	gate_await(1); /* it has started its 200 ms */

	ck_assert_int_eq(tp_close(&p), 0);
	ck_assert_msg(atomic_load(&j.finished),
	              "tp_close returned while work was still running");
	ck_assert_uint_eq(j.served, 1);
	ck_assert_int_eq(j.status, 0);
	ck_assert_int_eq(tasks_settle(base), base);
	ev_run(&loop, EV_RUN_NOWAIT);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- test_submit_after_close --- */

START_TEST(test_submit_after_close)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job jobs[2];

	jobs_reset(jobs, 2);
	loop_open(&loop);
	kitchen_open(&loop, &p, 2);
	ck_assert_int_eq(tp_submit(&p, &jobs[0].w, NULL, after_count), -EINVAL);
	ck_assert_int_eq(tp_submit(&p, &jobs[0].w, work_count, NULL), -EINVAL);
	submit(&p, &jobs[0], work_count);
	ck_assert(run_loop(&loop, 5000));
	check_all_once(jobs, 1);
	kitchen_close(&loop, &p);

	ck_assert_int_eq(tp_submit(&p, &jobs[1].w, work_count, after_count),
	                 -ESHUTDOWN);
	ck_assert(run_loop(&loop, 1000));
	ck_assert_uint_eq(atomic_load(&jobs[1].worked), 0);
	ck_assert_uint_eq(jobs[1].served, 0);
	loop_close(&loop);
}
END_TEST

/* --- test_after_work_can_submit --- */

enum { CHAIN_LINKS = 1000 };

static struct tp_pool *chain_pool;
static int chain_rc; /* the first failed resubmission's result */

/* The order is ours again in its after_work: send it back. */
static void after_chain(struct tp_work *w, int status)
{
	after_count(w, status);
	if (afters < CHAIN_LINKS && chain_rc == 0)
		chain_rc = tp_submit(chain_pool, w, work_count, after_chain);
}

START_TEST(test_after_work_can_submit)
{
	struct ev_loop loop;
	struct tp_pool p;
	struct job j;

	jobs_reset(&j, 1);
	chain_pool = &p;
	chain_rc = 0;
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);
	ck_assert_int_eq(tp_submit(&p, &j.w, work_count, after_chain), 0);
	ck_assert_msg(run_loop(&loop, 8000),
	              "after 8 s, the chain was at link %u of %u (each "
	              "after_work submits the next order); expected all",
	              afters, CHAIN_LINKS);
	ck_assert_int_eq(chain_rc, 0);
	ck_assert_uint_eq(afters, CHAIN_LINKS);
	ck_assert_uint_eq(atomic_load(&j.worked), CHAIN_LINKS);
	ck_assert_int_eq(j.status, 0);
	kitchen_close(&loop, &p);
	loop_close(&loop);
}
END_TEST

/* --- test_races ---
 *
 * A mixed workload for helgrind: plain (not atomic) fields written by work
 * and read by after_work, and the other way round, so that only the pool's
 * lock orders them; cancellations racing with the cooks; tp_stats from
 * the loop thread while they work; chains submitted from after_work; a
 * close with orders still queued. Small enough for helgrind on 2 cores.
 */

enum {
	RACE_JOBS = 240,
	RACE_CHAINS = 4,
	RACE_LINKS = 25,
	RACE_TAIL = 60,
	RACE_ALL = RACE_JOBS + RACE_CHAINS + RACE_TAIL,
};

struct race_job {
	struct tp_work w;
	unsigned id;
	unsigned input;  /* written by the loop before each submit */
	unsigned output; /* written by work */
	unsigned worked; /* work calls */
	unsigned served; /* after_work calls */
	unsigned links;  /* chains: after_works so far */
	int status;
	bool cancelled; /* tp_cancel said 0 */
	bool wrong;     /* after_work saw an output that does not match */
};

static struct {
	struct tp_pool *p;
	struct race_job jobs[RACE_ALL];
	unsigned stats_bad; /* snapshots that broke an invariant */
} race;

static unsigned race_hash(unsigned x)
{
	for (int i = 0; i < 50; i++)
		x = x * 2654435761u + 12345u;
	return x;
}

static void race_work(struct tp_work *w)
{
	struct race_job *j = (struct race_job *)w->data;

	j->worked++;
	j->output = race_hash(j->input);
}

static void race_stats(void)
{
	struct tp_stats s = {0};

	tp_stats(race.p, &s);
	if (s.size != 4 || s.busy > 4 || s.queued > RACE_ALL ||
	    s.completed > RACE_JOBS + RACE_CHAINS * RACE_LINKS + RACE_TAIL)
		race.stats_bad++;
}

static void race_after(struct tp_work *w, int status)
{
	struct race_job *j = (struct race_job *)w->data;

	j->served++;
	j->status = status;
	if (status == 0 && j->output != race_hash(j->input))
		j->wrong = true;
	race_stats();
}

static void race_after_chain(struct tp_work *w, int status)
{
	struct race_job *j = (struct race_job *)w->data;

	race_after(w, status);
	if (status == 0 && ++j->links < RACE_LINKS) {
		j->input = j->id * 1000 + j->links;
		if (tp_submit(race.p, w, race_work, race_after_chain) < 0)
			j->wrong = true;
	}
}

static void race_submit(struct race_job *j, tp_after_fn after)
{
	j->w.data = j;
	ck_assert_int_eq(tp_submit(race.p, &j->w, race_work, after), 0);
}

/* Every job was served once: cancelled ones never worked, the others
 * worked once and their output came back intact. */
static void race_check(unsigned from, unsigned to)
{
	for (unsigned i = from; i < to; i++) {
		const struct race_job *j = &race.jobs[i];
		bool ok = j->served == 1 && !j->wrong &&
		          (j->status == -ECANCELED
		               ? j->worked == 0
		               : j->status == 0 && j->worked == 1);

		ck_assert_msg(ok,
		              "job %u: work ran %u times, after_work %u times "
		              "(status %d, output %s, cancel %s)",
		              i, j->worked, j->served, j->status,
		              j->wrong ? "wrong" : "right",
		              j->cancelled ? "accepted" : "refused");
		if (j->cancelled)
			ck_assert_int_eq(j->status, -ECANCELED);
	}
}

START_TEST(test_races)
{
	struct ev_loop loop;
	struct tp_pool p;
	unsigned tail = RACE_JOBS + RACE_CHAINS;

	memset(&race, 0, sizeof(race));
	race.p = &p;
	for (unsigned i = 0; i < RACE_ALL; i++)
		race.jobs[i].id = race.jobs[i].input = i;
	loop_open(&loop);
	kitchen_open(&loop, &p, 4);

	/* Chains first, so that they run alongside everything else. */
	for (unsigned i = RACE_JOBS; i < tail; i++)
		race_submit(&race.jobs[i], race_after_chain);
	/* Every 5th order is cancelled at once: a race with the cooks that
	 * either side may win. */
	for (unsigned i = 0; i < RACE_JOBS; i++) {
		struct race_job *j = &race.jobs[i];
		int rc;

		race_submit(j, race_after);
		if (i % 5 == 0) {
			rc = tp_cancel(&j->w);
			ck_assert_msg(rc == 0 || rc == -EBUSY, "tp_cancel: %d",
			              rc);
			j->cancelled = rc == 0;
		}
		if (i % 10 == 0)
			race_stats();
	}
	ck_assert_msg(run_loop(&loop, 30000), "the workload hung");
	race_check(0, RACE_JOBS);
	for (unsigned i = RACE_JOBS; i < tail; i++) {
		ck_assert_uint_eq(race.jobs[i].links, RACE_LINKS);
		ck_assert_uint_eq(race.jobs[i].worked, RACE_LINKS);
		ck_assert_uint_eq(race.jobs[i].served, RACE_LINKS);
		ck_assert(!race.jobs[i].wrong);
	}

	/* Closing with a full queue: some are cooked, the rest cancelled,
	 * all served by tp_close. */
	for (unsigned i = tail; i < RACE_ALL; i++)
		race_submit(&race.jobs[i], race_after);
	kitchen_close(&loop, &p);
	race_check(tail, RACE_ALL);
	ck_assert_uint_eq(race.stats_bad, 0);
	loop_close(&loop);
}
END_TEST

static Suite *pool_suite(void)
{
	Suite *s = suite_create("pool");

	TEST_ADD(s, test_size_from_env, 5);
	TEST_ADD(s, test_threads_start_on_first_submit, 10);
	TEST_ADD(s, test_thread_start_fails, 15);
	TEST_ADD(s, test_work_runs_once, 10);
	TEST_ADD(s, test_oldest_first, 10);
	TEST_ADD(s, test_thread_identity, 10);
	TEST_ADD(s, test_many_jobs, 30);
	TEST_ADD(s, test_ping_pong, 20);
	TEST_ADD(s, test_coalesced_wakeups, 20);
	TEST_ADD(s, test_loop_alive_while_in_flight, 10);
	TEST_ADD(s, test_cancel_queued, 10);
	TEST_ADD(s, test_cancel_running, 10);
	TEST_ADD(s, test_stats, 10);
	TEST_ADD(s, test_close_cancels_queued, 10);
	TEST_ADD(s, test_close_waits_running, 10);
	TEST_ADD(s, test_submit_after_close, 10);
	TEST_ADD(s, test_after_work_can_submit, 10);
	TEST_ADD(s, test_races, 60);
	return s;
}

TEST_MAIN(pool_suite)
