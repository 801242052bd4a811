/* test_hidden.c - hidden tests of lab 4: the public ones' harder cousins.
 *
 * Same tools as test_pool.c: jobs that count their calls, a gate the test
 * opens, a rendezvous that proves concurrency, and a watchdog on ev_run().
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kitchen.h"
#include "loop.h"
#include "pool.h"
#include "server.h"
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
	ck_assert_msg(s.completed == 0,
	              "tp_stats says completed %llu after %u orders were "
	              "cancelled and none has been cooked: completed counts "
	              "work that ran, not cancelled orders",
	              (unsigned long long)s.completed, QUEUED);

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
static struct job late;               /* what the after_works try to submit */
static int late_rc[3];                /* what each got */
static struct tp_stats late_stats[3]; /* what each saw before */
static unsigned late_calls;

static void after_submit(struct tp_work *w, int status)
{
	after_count(w, status);
	if (late_calls < 3) {
		tp_stats(late_pool, &late_stats[late_calls]);
		late_rc[late_calls] =
		    tp_submit(late_pool, &late.w, work_count, after_count);
	}
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
	memset(late_stats, 0xff, sizeof(late_stats));
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
	/* Whoever asks from there sees a kitchen that is empty: the cooks
	 * are gone and what was queued has been cancelled. */
	for (unsigned i = 0; i < 3; i++)
		ck_assert_msg(
		    late_stats[i].busy == 0 && late_stats[i].queued == 0,
		    "tp_stats in after_work %u, run by tp_close: busy "
		    "%u, queued %u; expected 0 and 0 (every order "
		    "queued was cancelled before)",
		    i, late_stats[i].busy, late_stats[i].queued);
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

/* The heap is compared between two rounds far enough apart that malloc's
 * own caches (glibc keeps up to 7 freed blocks of each size for reuse,
 * and counts them as in use) are full: a pool that frees what it
 * allocated then leaves the count where it was. */
enum { ROUNDS = 40, HEAP_FROM = 20, ROUND_JOBS = 20 };

START_TEST(test_hidden_reinit_no_leak)
{
	struct job jobs[ROUND_JOBS];
	struct ev_loop loop;
	struct tp_pool p;
	int base = base_tasks(), fds = count_fds();
	size_t heap = 0;
	long grew;

	/* The same structs every round, as a server restarted in-process
	 * would reuse them. */
	for (unsigned r = 0; r < ROUNDS; r++) {
		if (r == HEAP_FROM)
			heap = mallinfo2().uordblks;
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
	grew = (long)mallinfo2().uordblks - (long)heap;
	ck_assert_msg(grew < (ROUNDS - HEAP_FROM) * 8,
	              "%d rounds of init, submit, close left %ld bytes more "
	              "allocated (%ld a round), expected none",
	              ROUNDS - HEAP_FROM, grew, grew / (ROUNDS - HEAP_FROM));
}
END_TEST

/* --- test_hidden_no_malloc_per_order ---
 *
 * An order is the caller's struct with the pool's part in it (pool.h:
 * "no malloc in the pool"): queueing one allocates nothing. */

enum { HELD = 200 };

START_TEST(test_hidden_no_malloc_per_order)
{
	static struct job jobs[1 + HELD];
	static int rc[1 + HELD];
	struct ev_loop loop;
	struct tp_pool p;
	size_t before;
	long grew;

	memset(jobs, 0, sizeof(jobs));
	gate_init();
	loop_open(&loop);
	kitchen_open(&loop, &p, 1);
	submit(&p, &jobs[0], work_gated); /* the cook, hired, is held */
	gate_await(1);
	/* Nothing else runs meanwhile: no assertion, no loop. */
	before = mallinfo2().uordblks;
	for (unsigned i = 1; i <= HELD; i++)
		rc[i] = tp_submit(&p, &jobs[i].w, work_count, after_count);
	grew = (long)mallinfo2().uordblks - (long)before;
	gate_open();
	for (unsigned i = 1; i <= HELD; i++)
		ck_assert_int_eq(rc[i], 0);
	ck_assert(run_loop(&loop, 5000));
	check_jobs(jobs, 1 + HELD, 1, 0);
	ck_assert_msg(grew < HELD * 8,
	              "%d orders queued behind a busy cook allocated %ld "
	              "bytes (%ld an order), expected none (pool.h: no "
	              "malloc in the pool)",
	              HELD, grew, grew / HELD);
	kitchen_close(&loop, &p);
	gate_destroy();
	loop_close(&loop);
}
END_TEST

/* --- the server in a child process ---
 *
 * The two tests below run lab 3's server, with the kitchen, in a child
 * process whose limits the test sets, and talk to it over loopback. The
 * child cannot use ck_assert (with CK_FORK=no it would go on running the
 * suite): it writes what went wrong, if anything, into a pipe. */

static char child_msg[512]; /* the child's verdict: empty when all is well */

#define child_check(cond, ...)                                                 \
	do {                                                                   \
		if (!(cond)) {                                                 \
			snprintf(child_msg, sizeof(child_msg), __VA_ARGS__);   \
			return;                                                \
		}                                                              \
	} while (0)

/* Runs fn in a child that dies with the test, and fails the test with
 * the child's message, or when it takes longer than ms. */
static void in_child(void (*fn)(int listen_fd), int listen_fd, int ms)
{
	struct pollfd pfd = {.events = POLLIN};
	char msg[sizeof(child_msg)] = "";
	int fds[2], status = 0;
	bool ended = false;
	ssize_t n = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(fds[0]);
		fn(listen_fd);
		if (write(fds[1], child_msg, strlen(child_msg)) < 0)
			_exit(3);
		_exit(child_msg[0] != '\0');
	}
	close(fds[1]);
	pfd.fd = fds[0];
	while (poll(&pfd, 1, ms) == 1) {
		ssize_t got = read(fds[0], msg + n, sizeof(msg) - 1 - n);

		if (got <= 0)
			break;
		n += got;
	}
	close(fds[0]);
	for (int i = 0; i < 1000 && !ended; i++) {
		ended = waitpid(pid, &status, WNOHANG) == pid;
		if (!ended)
			sleep_ms(1);
	}
	if (!ended) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	msg[n] = '\0';
	ck_assert_msg(msg[0] == '\0', "%s", msg);
	ck_assert_msg(ended, "the test's child did not finish within %d ms",
	              ms);
	ck_assert_msg(
	    WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the test's child %s %d",
	    WIFEXITED(status) ? "exited with" : "was killed by signal",
	    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
}

/* A blocking client socket on 127.0.0.1:port, reads bounded by 2 s. */
static int dial(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port),
	                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct timeval t = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof(t)) < 0 ||
	    connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Sends one request line (keep-alive) and reads its whole response:
 * returns its status, 0 when none came within 2 s. */
static int ask(int fd, const char *line)
{
	char req[256], buf[4096];
	size_t n = 0, head = 0, body = 0;
	int status = 0;

	snprintf(req, sizeof(req), "%s HTTP/1.1\r\nHost: hidden\r\n\r\n", line);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return 0;
	while (head == 0 || n < head + body) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - 1 - n);
		char *end, *len;

		if (got <= 0)
			return 0;
		n += (size_t)got;
		buf[n] = '\0';
		if (head > 0 || (end = strstr(buf, "\r\n\r\n")) == NULL)
			continue;
		head = (size_t)(end - buf) + 4;
		len = strcasestr(buf, "\r\nContent-Length:");
		if (len != NULL && len < end)
			body = strtoul(len + 17, NULL, 10);
		if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
			return 0;
	}
	return status;
}

/* Room in the address space for what the process has mapped now, and
 * half a thread stack of STACK more. */
enum { STACK = 32 << 20 };

static bool limit_address_space(void)
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
	lim.rlim_cur =
	    (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + STACK / 2;
	if (lim.rlim_max != RLIM_INFINITY && lim.rlim_cur > lim.rlim_max)
		return false;
	return setrlimit(RLIMIT_AS, &lim) == 0;
}

/* The heap while the waiter is idle: the least of a few counts. A server
 * lets go of an idle connection's buffers just after it has answered,
 * which may be just after the client has read the answer. */
static size_t idle_heap(void)
{
	size_t least = mallinfo2().uordblks;

	for (int i = 0; i < 5; i++) {
		size_t now;

		sleep_ms(5);
		now = mallinfo2().uordblks;
		if (now < least)
			least = now;
	}
	return least;
}

static void *serve_forever(void *arg)
{
	struct app_config cfg = {0};

	server_run(*(int *)arg, &cfg);
	return NULL;
}

/* --- test_hidden_kitchen_full_503 ---
 *
 * No room for a cook's thread: every tp_submit() fails, and every /cook
 * must be answered at once with 503 -- not taken and left waiting -- and
 * its order freed. The server runs on a thread of the child, so that the
 * child can count the heap. */

enum { REFUSED = 20 };

static void full_child(int listen_fd)
{
	pthread_attr_t attr;
	pthread_t server;
	size_t before;
	long grew;
	int fd, status, port = server_port(listen_fd);

	server_signals();
	/* One malloc arena for both threads: a second one would reserve
	 * (and later give back) address space of its own. */
	mallopt(M_ARENA_MAX, 1);
	/* The waiter's own thread, before any limit, and one request that
	 * has it set up. */
	child_check(
	    pthread_attr_init(&attr) == 0 &&
	        pthread_create(&server, &attr, serve_forever, &listen_fd) == 0,
	    "could not start the server's thread");
	fd = dial(port);
	child_check(fd >= 0, "could not connect to the server");
	status = ask(fd, "GET /");
	child_check(status == 200, "GET /: %d, expected 200", status);
	/* Then a kitchen with no room for a cook. */
	child_check(pthread_attr_setstacksize(&attr, STACK) == 0 &&
	                pthread_setattr_default_np(&attr) == 0 &&
	                limit_address_space(),
	            "could not limit the address space");
	for (int i = 0; i < 3; i++) {
		char got[32] = "no answer within 2 s";

		status = ask(fd, "GET /cook?ms=10");
		if (status != 0)
			snprintf(got, sizeof(got), "got %d", status);
		child_check(status == 503,
		            "GET /cook?ms=10 while no thread could be started "
		            "for the pool (tp_submit() failing): %s, expected "
		            "503 at once, the request not taken",
		            got);
	}
	before = idle_heap();
	for (int i = 0; i < REFUSED; i++)
		status = ask(fd, "GET /cook?ms=10");
	grew = (long)idle_heap() - (long)before;
	child_check(status == 503, "GET /cook?ms=10: %d, expected 503", status);
	child_check(grew < REFUSED * (long)sizeof(struct kitchen_order) / 4,
	            "%d orders refused with 503 left %ld bytes allocated "
	            "(%ld an order), expected none",
	            REFUSED, grew, grew / REFUSED);
	status = ask(fd, "GET /");
	child_check(status == 200,
	            "GET / after the refused orders: %d, expected 200", status);
	close(fd);
}

START_TEST(test_hidden_kitchen_full_503)
{
	int listen_fd = server_listen(0);

	ck_assert_msg(listen_fd >= 0, "server_listen(0) returned %d",
	              listen_fd);
	in_child(full_child, listen_fd, 8000);
	close(listen_fd);
}
END_TEST

/* --- test_hidden_kitchen_open_fails ---
 *
 * kitchen_open()'s error stops the server. With too few descriptors, the
 * server cannot open everything: lab 3's own handles, or the kitchen's
 * eventfd (tp_init() then fails with EMFILE). Whatever it could not open,
 * server_run() must return the error; so the first limit at which the
 * server keeps running must be one at which its kitchen is open, with its
 * eventfd among the descriptors. */

static int open_limit; /* the child's descriptor limit */

static void limited_child(int listen_fd)
{
	struct app_config cfg = {0};
	struct rlimit lim;

	server_signals();
	child_check(getrlimit(RLIMIT_NOFILE, &lim) == 0, "getrlimit failed");
	lim.rlim_cur = (rlim_t)open_limit;
	child_check(setrlimit(RLIMIT_NOFILE, &lim) == 0, "setrlimit failed");
	server_run(listen_fd, &cfg);
	/* Returned: it could not open everything (or stopped). */
}

/* Does process pid have an eventfd open? */
static bool has_eventfd(pid_t pid)
{
	char path[64], link[320], target[64];
	struct dirent *e;
	bool found = false;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return false;
	while (!found && (e = readdir(d)) != NULL) {
		ssize_t n;

		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			found = strstr(target, "eventfd") != NULL;
		}
	}
	closedir(d);
	return found;
}

START_TEST(test_hidden_kitchen_open_fails)
{
	int listen_fd = server_listen(0);
	int lowest = dup(0);

	ck_assert_msg(listen_fd >= 0, "server_listen(0) returned %d",
	              listen_fd);
	ck_assert_int_ge(lowest, 0);
	close(lowest);
	for (open_limit = lowest; open_limit < lowest + 16; open_limit++) {
		pid_t pid = fork();
		int status;
		bool ended = false;

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			limited_child(listen_fd);
			_exit(0);
		}
		/* A server that refused ends within milliseconds. */
		for (int i = 0; i < 300 && !ended; i++) {
			ended = waitpid(pid, &status, WNOHANG) == pid;
			if (!ended)
				sleep_ms(1);
		}
		if (ended)
			continue;
		bool open = has_eventfd(pid);

		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		close(listen_fd);
		ck_assert_msg(open,
		              "with %d descriptors allowed, the server kept "
		              "running without its kitchen's eventfd "
		              "(tp_init() failed: EMFILE); expected "
		              "kitchen_open() to fail and server_run() to stop",
		              open_limit);
		return;
	}
	close(listen_fd);
	ck_abort_msg("the server did not keep running with up to %d "
	             "descriptors",
	             lowest + 15);
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
	TEST_ADD(s, test_hidden_no_malloc_per_order, 10);
	TEST_ADD(s, test_hidden_kitchen_full_503, 15);
	TEST_ADD(s, test_hidden_kitchen_open_fails, 15);
	return s;
}

TEST_MAIN(hidden_suite)
