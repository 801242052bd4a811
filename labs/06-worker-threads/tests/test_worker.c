/* test_worker.c - public tests of lab 6's workers.
 *
 * A test worker (struct tw) is a worker and what the test counts about it.
 * Its on_message understands a few kinds of message: ECHO (reply with the
 * same bytes), QUIT (worker_exit() with the code it carries), FAIL (one
 * last reply, then -EIO), HOLD (wait at a gate the test opens), SPIN (a
 * long job that polls worker_stopping()) and XFER (a buffer handed over,
 * answered with another); on_stop may say BYE, a last reply. The parent's
 * callbacks check where and in which
 * order they come -- on the test's thread; replies in order, then
 * on_error, then on_exit, once -- and note the first thing wrong. What the
 * worker's thread counts is read by the test only after on_exit, which
 * comes after the join: the join orders them. Every ev_run() has a
 * watchdog (an unreferenced timer), and every wait a bound, so that a
 * broken worker fails a test with a message instead of hanging it. Bounds
 * stretch under valgrind, which runs the code 20 to 50 times slower.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "port.h"
#include "testing.h"
#include "worker.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* --- time, threads, notes --- */

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

/* A time limit in ms, stretched under valgrind. */
static unsigned bound(unsigned ms)
{
	return RUNNING_ON_VALGRIND ? ms * 20 : ms;
}

/* The threads of this process, from /proc. A joined thread may be listed
 * a moment longer: tasks_settle() gives it a second. */
static int count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static int tasks_settle(int want)
{
	int n = count_tasks();

	for (int i = 0; i < 1000 && n != want; i++) {
		sleep_ms(1);
		n = count_tasks();
	}
	return n;
}

/* The first thing found wrong, by any thread. */
static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;
static char noted[300];

static void note(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&note_lock);
	if (noted[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(noted, sizeof(noted), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&note_lock);
}

static void check_notes(void)
{
	pthread_mutex_lock(&note_lock);
	char msg[sizeof(noted)];
	memcpy(msg, noted, sizeof(msg));
	pthread_mutex_unlock(&note_lock);
	ck_assert_msg(msg[0] == '\0', "%s", msg);
}

/* --- the gate: a HOLD message waits there until the test opens it --- */

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned arrived;
	bool open;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false};

static void gate_set(bool open)
{
	pthread_mutex_lock(&gate.lock);
	gate.open = open;
	if (!open)
		gate.arrived = 0;
	pthread_cond_broadcast(&gate.cond);
	pthread_mutex_unlock(&gate.lock);
}

/* Bounded: a test that failed before opening must leave no thread blocked
 * for ever. */
static void gate_pass(void)
{
	double until = real_ms() + bound(3000);

	pthread_mutex_lock(&gate.lock);
	gate.arrived++;
	pthread_cond_broadcast(&gate.cond);
	while (!gate.open && real_ms() < until) {
		pthread_mutex_unlock(&gate.lock);
		sleep_ms(1);
		pthread_mutex_lock(&gate.lock);
	}
	pthread_mutex_unlock(&gate.lock);
}

static bool gate_reached(void)
{
	double until = real_ms() + bound(2000);
	bool yes;

	for (;;) {
		pthread_mutex_lock(&gate.lock);
		yes = gate.arrived > 0;
		pthread_mutex_unlock(&gate.lock);
		if (yes || real_ms() >= until)
			return yes;
		sleep_ms(1);
	}
}

/* --- the loop and its watchdog --- */

static struct ev_loop loop;
static struct ev_timer watchdog;
static bool barked;
static pthread_t parent; /* the test's thread, which runs the loop */

static void bark(struct ev_timer *t)
{
	barked = true;
	ev_stop(t->h.loop);
}

static void loop_open(void)
{
	parent = pthread_self();
	pthread_mutex_lock(&note_lock);
	noted[0] = '\0';
	pthread_mutex_unlock(&note_lock);
	ck_assert_int_eq(ev_loop_init(&loop), 0);
	ck_assert_int_eq(ev_timer_init(&loop, &watchdog, bark), 0);
	ev_unref(&watchdog.h);
}

static void loop_close(void)
{
	int rc;

	ev_close(&watchdog.h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	rc = ev_loop_close(&loop);
	ck_assert_msg(rc == 0,
	              "the parent's ev_loop_close() said %d after on_exit: "
	              "a worker's port on the parent's loop is still open",
	              rc);
}

/* ev_run(EV_RUN_DEFAULT): true if it returned by itself, false if the
 * watchdog had to stop it after ms. */
static bool run_default(unsigned ms)
{
	barked = false;
	ck_assert_int_eq(ev_timer_start(&watchdog, bound(ms), 0), 0);
	ev_run(&loop, EV_RUN_DEFAULT);
	ev_timer_stop(&watchdog);
	return !barked;
}

/* --- test workers --- */

enum kind { ECHO = 1, QUIT, FAIL, HOLD, SPIN, XFER, BYE };

struct msg {
	uint32_t kind, seq;
};

enum { XFER_LEN = 64, XFER_N = 3 };

struct tw {
	struct worker w;
	const char *name;
	/* Set before worker_start(). */
	unsigned tick_limit;   /* the ticker: worker_exit(0) after this many */
	bool bye;              /* on_stop replies BYE */
	uint32_t *in, *out, n; /* races: values each side checks */
	void (*on_each_reply)(struct tw *t, struct port_msg *m);
	/* The parent's thread. */
	unsigned replies, errors, exits, byes;
	uint32_t next_reply; /* the seq the next ECHO reply should carry */
	int err, code;
	unsigned replies_at_exit, errors_at_exit;
	uint32_t echoes_at_error; /* next_reply when on_error came */
	uint32_t posted;
	bool terminated;
	double terminated_at, exited_at;
	uintptr_t sent_addr[XFER_N], arrived_addr[XFER_N];
	/* The worker's thread (read after on_exit). */
	pthread_t thread;
	bool thread_known;
	unsigned mains, handled, sent, stops, ticks;
	void *init_seen;
	uintptr_t stack; /* where on_message's frame was, the first time */
	bool ticking, saw_stopping;
	struct ev_timer tick;
	uintptr_t got_addr[XFER_N], gave_addr[XFER_N];
	atomic_bool spinning;
};

static struct tw tws[8];
static unsigned exited; /* on_exit calls, every worker */

#define tw_of(wp) container_of(wp, struct tw, w)

/* The worker's callbacks: on its own thread, one thread, its own loop. */
static void on_worker(struct tw *t, const char *what)
{
	if (pthread_equal(pthread_self(), parent))
		note("%s: %s ran on the parent's thread", t->name, what);
	if (!t->thread_known) {
		t->thread = pthread_self();
		t->thread_known = true;
	} else if (!pthread_equal(t->thread, pthread_self())) {
		note("%s: %s ran on another thread than its main and "
		     "on_message",
		     t->name, what);
	}
	if (worker_loop(&t->w) == &loop || worker_loop(&t->w) == NULL)
		note("%s: worker_loop(w) is %p in %s, the parent's loop is %p: "
		     "a worker runs a loop of its own",
		     t->name, (void *)worker_loop(&t->w), what, (void *)&loop);
}

static void on_parent(struct tw *t, const char *what)
{
	if (!pthread_equal(pthread_self(), parent))
		note("%s: %s ran on another thread than the parent's loop's",
		     t->name, what);
	if (t->exits > 0)
		note("%s: %s came after on_exit", t->name, what);
}

static void reply(struct tw *t, const void *data, size_t len)
{
	int rc = worker_reply(&t->w, data, len);

	if (rc != 0)
		note("%s: worker_reply() said %d while the worker ran", t->name,
		     rc);
	else
		t->sent++;
}

/* A long job: until worker_stopping() says so, 3 s at most. */
static void spin(struct tw *t)
{
	double until = real_ms() + bound(3000);

	atomic_store(&t->spinning, true);
	while (!worker_stopping(&t->w) && real_ms() < until)
		sleep_ms(1);
	t->saw_stopping = worker_stopping(&t->w);
}

/* XFER: the buffer handed over, answered with a new one handed back. */
static void transfer(struct tw *t, struct port_msg *m, uint32_t seq)
{
	void *back;

	if (seq >= XFER_N || m->len != XFER_LEN) {
		note("%s: a handed-over message %u of %zu bytes", t->name, seq,
		     m->len);
		return;
	}
	t->got_addr[seq] = (uintptr_t)m->data;
	back = malloc(XFER_LEN);
	if (back == NULL)
		return;
	memcpy(back, m->data, XFER_LEN);
	t->gave_addr[seq] = (uintptr_t)back;
	if (worker_reply_owned(&t->w, &back, XFER_LEN) != 0) {
		note("%s: worker_reply_owned() failed", t->name);
		free(back);
	} else if (back != NULL) {
		note("%s: worker_reply_owned() left the sender's pointer set",
		     t->name);
	} else {
		t->sent++;
	}
}

static int tw_message(struct worker *w, struct port_msg *m)
{
	struct tw *t = tw_of(w);
	struct msg k = {0};
	int rc = 0;

	on_worker(t, "on_message");
	t->handled++;
	if (t->stack == 0)
		t->stack = (uintptr_t)__builtin_frame_address(0);
	if (m->len >= sizeof(k))
		memcpy(&k, m->data, sizeof(k));
	else
		note("%s: a message of %zu bytes came", t->name, m->len);
	if (t->in != NULL && k.seq < t->n && t->in[k.seq] != k.seq * 5 + 1)
		note("%s: message %u: the parent's write before its post is "
		     "not seen by on_message",
		     t->name, k.seq);
	switch (k.kind) {
	case ECHO:
		if (t->out != NULL && k.seq < t->n)
			t->out[k.seq] = k.seq * 7 + 3;
		reply(t, m->data, m->len);
		break;
	case QUIT:
		worker_exit(w, (int)k.seq);
		break;
	case FAIL:
		k.kind = ECHO; /* last words, then the error */
		reply(t, &k, sizeof(k));
		rc = -EIO;
		break;
	case HOLD:
		gate_pass();
		break;
	case SPIN:
		spin(t);
		break;
	case XFER:
		transfer(t, m, k.seq);
		break;
	default:
		note("%s: a message of unknown kind %u", t->name, k.kind);
	}
	port_msg_free(m);
	return rc;
}

/* The ticker: every ms, a reply; worker_exit(0) after tick_limit. */
static void tick(struct ev_timer *timer)
{
	struct tw *t = container_of(timer, struct tw, tick);
	struct msg k = {ECHO, t->ticks++};

	on_worker(t, "a timer on worker_loop(w)");
	reply(t, &k, sizeof(k));
	if (t->tick_limit != 0 && t->ticks == t->tick_limit)
		worker_exit(&t->w, 0);
}

static int main_ticker(struct worker *w, void *init)
{
	struct tw *t = tw_of(w);

	on_worker(t, "main");
	t->mains++;
	t->init_seen = init;
	if (ev_timer_init(worker_loop(w), &t->tick, tick) != 0 ||
	    ev_timer_start(&t->tick, 1, 1) != 0)
		return -EINVAL;
	t->ticking = true;
	return 0;
}

static int main_fails(struct worker *w, void *init)
{
	struct tw *t = tw_of(w);

	(void)init;
	on_worker(t, "main");
	t->mains++;
	return -EINVAL;
}

static void tw_stop(struct worker *w)
{
	struct tw *t = tw_of(w);

	on_worker(t, "on_stop");
	t->stops++;
	if (t->ticking)
		ev_close(&t->tick.h, NULL); /* what main started */
	if (t->bye) {
		struct msg k = {BYE, 0};

		reply(t, &k, sizeof(k));
	}
}

static void tw_reply(struct worker *w, struct port_msg *m)
{
	struct tw *t = tw_of(w);
	struct msg k = {0};

	on_parent(t, "on_reply");
	if (m->len >= sizeof(k))
		memcpy(&k, m->data, sizeof(k));
	/* BYE comes from on_stop, after the error: either side of it. */
	if (t->errors > 0 && k.kind != BYE)
		note("%s: a reply came after on_error: the replies posted "
		     "before the error come first",
		     t->name);
	t->byes += k.kind == BYE;
	if (k.kind == ECHO) {
		if (k.seq != t->next_reply)
			note("%s: reply %u came when %u was expected: replies "
			     "come once each, in the order of their posts",
			     t->name, k.seq, t->next_reply);
		if (t->out != NULL && k.seq < t->n &&
		    t->out[k.seq] != k.seq * 7 + 3)
			note("%s: reply %u: the worker's write before its "
			     "reply is not seen by on_reply",
			     t->name, k.seq);
		t->next_reply = k.seq + 1;
	}
	t->replies++;
	if (t->on_each_reply != NULL)
		t->on_each_reply(t, m);
	port_msg_free(m);
}

static void tw_error(struct worker *w, int err)
{
	struct tw *t = tw_of(w);

	on_parent(t, "on_error");
	t->errors++;
	t->err = err;
	t->echoes_at_error = t->next_reply;
}

static void tw_exit(struct worker *w, int code)
{
	struct tw *t = tw_of(w);

	on_parent(t, "on_exit");
	t->exits++;
	t->code = code;
	t->exited_at = real_ms();
	t->replies_at_exit = t->replies;
	t->errors_at_exit = t->errors;
	exited++;
}

static struct tw *tw_init(unsigned i, const char *name)
{
	struct tw *t = &tws[i];

	memset(t, 0, sizeof(*t));
	t->name = name;
	return t;
}

static void tw_start(struct tw *t, int (*main)(struct worker *, void *),
                     void *init)
{
	const struct worker_opts opts = {
	    .main = main,
	    .on_message = tw_message,
	    .on_stop = tw_stop,
	    .on_reply = tw_reply,
	    .on_error = tw_error,
	    .on_exit = tw_exit,
	    .init = init,
	};
	int rc = worker_start(&t->w, &loop, &opts);

	ck_assert_msg(rc == 0, "%s: worker_start() said %d", t->name, rc);
	ck_assert_msg(t->w.state == WORKER_RUNNING,
	              "%s: w->state is %d after worker_start(), expected "
	              "WORKER_RUNNING (%d)",
	              t->name, (int)t->w.state, (int)WORKER_RUNNING);
}

static void post(struct tw *t, uint32_t kind, uint32_t seq)
{
	struct msg k = {kind, seq};
	int rc = worker_post(&t->w, &k, sizeof(k));

	ck_assert_msg(rc == 0, "%s: worker_post() said %d while it ran",
	              t->name, rc);
	t->posted++;
}

static void terminate(struct tw *t)
{
	worker_terminate(&t->w);
	t->terminated = true;
	t->terminated_at = real_ms();
	ck_assert_msg(worker_stopping(&t->w),
	              "%s: worker_stopping() is false after "
	              "worker_terminate()",
	              t->name);
}

/* Ran to its end: on_exit(code) once, last; on_stop once; no error. */
static void check_end(const struct tw *t, int code, unsigned errors)
{
	ck_assert_msg(t->exits == 1, "%s: on_exit came %u times, expected once",
	              t->name, t->exits);
	ck_assert_msg(t->code == code, "%s: on_exit(%d), expected on_exit(%d)",
	              t->name, t->code, code);
	ck_assert_msg(t->errors == errors,
	              "%s: on_error came %u times (last with %d), expected "
	              "%u",
	              t->name, t->errors, t->err, errors);
	ck_assert_msg(t->errors_at_exit == t->errors &&
	                  t->replies_at_exit == t->replies,
	              "%s: on_exit came before %u replies and %u errors: it "
	              "comes last",
	              t->name, t->replies - t->replies_at_exit,
	              t->errors - t->errors_at_exit);
	ck_assert_msg(t->stops == 1,
	              "%s: on_stop ran %u times, expected once however the "
	              "worker ends",
	              t->name, t->stops);
	ck_assert_msg(t->w.state == WORKER_IDLE,
	              "%s: w->state is %d after on_exit, expected WORKER_IDLE",
	              t->name, (int)t->w.state);
}

/* Runs the parent's loop until every worker has exited. */
static void run_workers(unsigned ms, unsigned workers)
{
	bool ended = run_default(ms);

	check_notes();
	ck_assert_msg(ended, "after %u ms, %u of %u workers had exited",
	              bound(ms), exited, workers);
	ck_assert_msg(exited == workers,
	              "the parent's ev_run() returned when %u of %u workers "
	              "had exited: a worker keeps the parent's loop alive "
	              "until its on_exit",
	              exited, workers);
}

/* --- test_worker_echo ---
 * on_message on the worker's thread with its own loop, on_reply on the
 * parent's; messages posted at once after worker_start() all come, and
 * the replies in order; worker_exit(w, 7) gives on_exit(7) once, after
 * every reply; w->state is WORKER_IDLE again; the parent's ev_run()
 * returns once the worker has exited (nothing else is left). */

enum { ECHO_K = 200 };

START_TEST(test_worker_echo)
{
	struct tw *t = tw_init(0, "the echo worker");

	exited = 0;
	loop_open();
	tw_start(t, NULL, NULL);
	for (uint32_t seq = 0; seq < ECHO_K; seq++)
		post(t, ECHO, seq);
	post(t, QUIT, 7);
	run_workers(4000, 1);
	ck_assert_msg(t->replies == ECHO_K, "%u replies of %u came", t->replies,
	              ECHO_K);
	ck_assert_uint_eq(t->handled, ECHO_K + 1);
	check_end(t, 7, 0);
	loop_close();
}
END_TEST

/* --- test_worker_main_and_init ---
 * main gets opts.init on the worker's thread, and starts a timer on
 * worker_loop(w) which replies; worker_exit(w, 0) from the timer; on_stop
 * closes the timer (else ev_loop_close() would fail on the worker: an
 * error). worker_start() without on_message is refused and leaves nothing
 * behind. */

START_TEST(test_worker_main_and_init)
{
	static int init_value = 42;
	struct tw *t = tw_init(0, "the ticking worker");
	struct tw *bad = tw_init(1, "a worker without on_message");
	const struct worker_opts no_message = {
	    .on_reply = tw_reply, .on_error = tw_error, .on_exit = tw_exit};
	int rc;

	exited = 0;
	loop_open();
	t->tick_limit = 3;
	tw_start(t, main_ticker, &init_value);
	run_workers(4000, 1);
	ck_assert_uint_eq(t->mains, 1);
	ck_assert_msg(t->init_seen == &init_value,
	              "main got init %p, opts.init was %p", t->init_seen,
	              (void *)&init_value);
	ck_assert_uint_eq(t->ticks, 3);
	ck_assert_msg(t->replies == 3, "%u replies of the timer's 3 came",
	              t->replies);
	check_end(t, 0, 0);

	rc = worker_start(&bad->w, &loop, &no_message);
	ck_assert_msg(rc == -EINVAL,
	              "worker_start() without on_message said %d, expected "
	              "-EINVAL",
	              rc);
	ev_run(&loop, EV_RUN_NOWAIT); /* the ports it had opened close */
	ck_assert_msg(bad->exits + bad->errors + bad->replies == 0,
	              "a worker_start() that failed was followed by %u "
	              "on_exit, %u on_error, %u on_reply",
	              bad->exits, bad->errors, bad->replies);
	check_notes();
	loop_close();
}
END_TEST

/* --- test_worker_error ---
 * An error is not a crash: main returning -EINVAL gives on_error(-EINVAL)
 * once, then on_exit(1); on_message returning -EIO gives on_error(-EIO)
 * once and on_exit(1), after every reply posted before the error (the
 * one posted by that very on_message too): replies, on_error, on_exit.
 * on_stop runs however the worker ends, and its reply, posted after the
 * error is on its way, still comes before on_exit. */

enum { ERROR_K = 20 };

START_TEST(test_worker_error)
{
	struct tw *a = tw_init(0, "the worker whose main fails");
	struct tw *b = tw_init(1, "the worker whose on_message fails");

	exited = 0;
	loop_open();
	a->bye = b->bye = true;
	tw_start(a, main_fails, NULL);
	tw_start(b, NULL, NULL);
	for (uint32_t seq = 0; seq < ERROR_K; seq++)
		post(b, ECHO, seq);
	post(b, FAIL, ERROR_K);
	run_workers(4000, 2);

	ck_assert_uint_eq(a->mains, 1);
	check_end(a, 1, 1);
	ck_assert_msg(a->err == -EINVAL, "%s: on_error(%d), expected %d",
	              a->name, a->err, -EINVAL);
	ck_assert_msg(a->byes == 1,
	              "%s: on_stop's reply came %u times before on_exit, "
	              "expected once (hand on the replies still queued "
	              "before on_error and on_exit)",
	              a->name, a->byes);

	check_end(b, 1, 1);
	ck_assert_msg(b->err == -EIO, "%s: on_error(%d), expected %d", b->name,
	              b->err, -EIO);
	ck_assert_msg(b->next_reply == ERROR_K + 1,
	              "%s: %u echoes of %u came (the last posted by the "
	              "on_message that failed)",
	              b->name, b->next_reply, ERROR_K + 1);
	ck_assert_msg(b->echoes_at_error == ERROR_K + 1,
	              "%s: on_error came after %u replies of %u: the replies "
	              "posted before the error come first",
	              b->name, b->echoes_at_error, ERROR_K + 1);
	ck_assert_msg(b->byes == 1,
	              "%s: on_stop's reply came %u times before on_exit, "
	              "expected once",
	              b->name, b->byes);
	loop_close();
}
END_TEST

/* --- test_worker_terminate ---
 * worker_terminate() ends a worker busy with a timer every ms, and one in
 * a long job that polls worker_stopping(), with on_exit(1) within 1 s and
 * no error; on_stop closes the timer. It stops the worker at its next
 * message: of the messages queued behind one the worker is still
 * handling, none is handled. */

enum { TERM_AFTER = 20, TERM_QUEUED = 100, TERM_MS = 1000 };

static void terminate_at(struct tw *t, struct port_msg *m)
{
	(void)m;
	if (t->replies == TERM_AFTER && !t->terminated)
		terminate(t);
}

static void check_quick(const struct tw *t)
{
	ck_assert_msg(t->exited_at - t->terminated_at < bound(TERM_MS),
	              "%s: on_exit came %.0f ms after worker_terminate()",
	              t->name, t->exited_at - t->terminated_at);
}

START_TEST(test_worker_terminate)
{
	struct tw *t = tw_init(0, "the ticking worker");
	double until;

	exited = 0;
	loop_open();
	t->on_each_reply = terminate_at; /* at its 20th tick */
	tw_start(t, main_ticker, NULL);
	run_workers(3000, 1);
	check_end(t, 1, 0);
	check_quick(t);

	exited = 0;
	t = tw_init(0, "the worker in a long job");
	tw_start(t, NULL, NULL);
	post(t, SPIN, 0);
	until = real_ms() + bound(2000);
	while (!atomic_load(&t->spinning) && real_ms() < until)
		sleep_ms(1);
	ck_assert_msg(atomic_load(&t->spinning),
	              "the worker did not start the job posted within 2 s");
	terminate(t);
	run_workers(3000, 1);
	check_end(t, 1, 0);
	check_quick(t);
	ck_assert_msg(t->saw_stopping,
	              "the long job ended with worker_stopping() false");

	exited = 0;
	t = tw_init(0, "the worker with messages queued");
	gate_set(false);
	tw_start(t, NULL, NULL);
	post(t, HOLD, 0);
	ck_assert_msg(gate_reached(),
	              "the worker did not take the message posted within 2 s");
	for (uint32_t seq = 0; seq < TERM_QUEUED; seq++)
		post(t, ECHO, seq);
	terminate(t);
	gate_set(true);
	run_workers(3000, 1);
	check_end(t, 1, 0);
	ck_assert_msg(t->handled == 1,
	              "worker_terminate() while on_message handled a message "
	              "and %u more were queued: %u of them were handled, "
	              "expected none (it stops the worker at its next "
	              "message)",
	              TERM_QUEUED, t->handled - 1);
	loop_close();
}
END_TEST

/* --- test_worker_transfer ---
 * worker_post_owned() and worker_reply_owned() hand buffers over: the
 * sender's pointer is cleared, the receiver gets the very same buffer,
 * and port_msg_free() frees it once (valgrind sees a leak or a double
 * free otherwise). */

static void arrived(struct tw *t, struct port_msg *m)
{
	struct msg k = {0};

	if (m->len != XFER_LEN)
		return;
	memcpy(&k, m->data, sizeof(k));
	if (k.kind == XFER && k.seq < XFER_N)
		t->arrived_addr[k.seq] = (uintptr_t)m->data;
	if (((unsigned char *)m->data)[XFER_LEN - 1] != 0xa5)
		note("%s: the buffer handed back came with other bytes",
		     t->name);
}

START_TEST(test_worker_transfer)
{
	struct tw *t = tw_init(0, "the worker handed buffers");

	exited = 0;
	loop_open();
	t->on_each_reply = arrived;
	tw_start(t, NULL, NULL);
	for (uint32_t seq = 0; seq < XFER_N; seq++) {
		struct msg k = {XFER, seq};
		unsigned char *buf = malloc(XFER_LEN);
		void *handed = buf;

		ck_assert_ptr_nonnull(buf);
		memset(buf, 0xa5, XFER_LEN);
		memcpy(buf, &k, sizeof(k));
		t->sent_addr[seq] = (uintptr_t)buf;
		ck_assert_int_eq(worker_post_owned(&t->w, &handed, XFER_LEN),
		                 0);
		ck_assert_msg(handed == NULL,
		              "worker_post_owned() succeeded and left the "
		              "sender's pointer set");
	}
	post(t, QUIT, 0);
	run_workers(4000, 1);
	check_end(t, 0, 0);
	ck_assert_uint_eq(t->replies, XFER_N);
	for (int i = 0; i < XFER_N; i++) {
		ck_assert_msg(t->got_addr[i] == t->sent_addr[i],
		              "buffer %d: handed over at %#lx, on_message got "
		              "%#lx: no copy",
		              i, (unsigned long)t->sent_addr[i],
		              (unsigned long)t->got_addr[i]);
		ck_assert_msg(t->arrived_addr[i] == t->gave_addr[i],
		              "buffer %d: handed back at %#lx, on_reply got "
		              "%#lx: no copy",
		              i, (unsigned long)t->gave_addr[i],
		              (unsigned long)t->arrived_addr[i]);
	}
	loop_close();
}
END_TEST

/* --- test_worker_many ---
 * Eight workers at once, 1,000 echoes each: all replies, every worker
 * exits and its thread is joined, the parent's loop ends and closes.
 * Joined: a thread that has returned is gone from /proc either way, but
 * its stack is freed only by pthread_join() (glibc then keeps a few for
 * the next threads). Eight more workers after the first eight: if none
 * runs on a stack of the first, those were never joined. */

enum { MANY = 8, MANY_K = 1000 };

START_TEST(test_worker_many)
{
	static const char *const names[MANY] = {
	    "worker 0", "worker 1", "worker 2", "worker 3",
	    "worker 4", "worker 5", "worker 6", "worker 7"};
	int base = tasks_settle(1);
	uintptr_t first[MANY];
	unsigned reused = 0;

	exited = 0;
	loop_open();
	for (int i = 0; i < MANY; i++)
		tw_start(tw_init((unsigned)i, names[i]), NULL, NULL);
	for (uint32_t seq = 0; seq < MANY_K; seq++)
		for (int i = 0; i < MANY; i++)
			post(&tws[i], ECHO, seq);
	for (int i = 0; i < MANY; i++)
		post(&tws[i], QUIT, 0);
	run_workers(4000, MANY);
	for (int i = 0; i < MANY; i++) {
		ck_assert_msg(tws[i].replies == MANY_K,
		              "%s: %u replies of %u came", tws[i].name,
		              tws[i].replies, MANY_K);
		check_end(&tws[i], 0, 0);
	}
	ck_assert_msg(tasks_settle(base) == base,
	              "%d threads run after every on_exit, %d before the "
	              "workers started: join each worker's thread",
	              count_tasks(), base);

	for (int i = 0; i < MANY; i++)
		first[i] = tws[i].stack;
	exited = 0;
	for (int i = 0; i < MANY; i++) {
		tw_start(tw_init((unsigned)i, names[i]), NULL, NULL);
		post(&tws[i], ECHO, 0);
		post(&tws[i], QUIT, 0);
	}
	run_workers(4000, MANY);
	for (int i = 0; i < MANY; i++) {
		check_end(&tws[i], 0, 0);
		for (int j = 0; j < MANY; j++)
			if (tws[i].stack - first[j] + (1u << 20) < (2u << 20)) {
				reused++; /* within 1 MiB: the same stack */
				break;
			}
	}
	ck_assert_msg(reused > 0,
	              "none of 8 workers started after 8 others had exited "
	              "ran on one of their stacks: their threads were never "
	              "joined (pthread_join() frees a thread's stack)");
	loop_close();
}
END_TEST

/* --- test_worker_races ---
 * For helgrind: two workers, 500 messages each way, half posted at once
 * and the rest one per reply. Plain (not atomic) values written by one
 * side before a post and read by the other on receipt: only the ports
 * order them. One worker is terminated at its 100th reply while the
 * parent still posts to it (0 or -EPIPE, both fine): every reply it
 * posted before it ended comes before its on_exit. A third quits by
 * itself as the parent terminates it (exit code 0 or 1, both fine). */

enum { RACE_N = 500, RACE_FIRST = 250, RACE_TERM_AT = 100, RACE_C = 50 };

static uint32_t race_in[3][RACE_N], race_out[3][RACE_N];

static void race_post(struct tw *t)
{
	struct msg k = {ECHO, t->posted};
	int rc;

	t->in[t->posted] = t->posted * 5 + 1;
	rc = worker_post(&t->w, &k, sizeof(k));
	if (rc == 0)
		t->posted++;
	else if (!(t->terminated && rc == -EPIPE))
		note("%s: worker_post() said %d", t->name, rc);
	else
		t->posted = RACE_N; /* ended: no more */
}

static void race_reply(struct tw *t, struct port_msg *m)
{
	(void)m;
	if (t->posted < RACE_N)
		race_post(t);
	else if (t == &tws[0] && t->replies == RACE_N)
		post(t, QUIT, 0);
	if (t == &tws[1] && t->replies == RACE_TERM_AT)
		terminate(t);
}

/* The third worker: its last echo comes as it handles QUIT. */
static void race_quit_reply(struct tw *t, struct port_msg *m)
{
	(void)m;
	if (t->replies == RACE_C)
		terminate(t);
}

START_TEST(test_worker_races)
{
	static const char *const names[3] = {
	    "the worker that quits", "the worker terminated",
	    "the worker that quits as it is terminated"};
	struct tw *c = &tws[2];

	exited = 0;
	loop_open();
	for (unsigned i = 0; i < 3; i++) {
		struct tw *t = tw_init(i, names[i]);

		t->in = race_in[i];
		t->out = race_out[i];
		t->n = RACE_N;
		t->on_each_reply = i < 2 ? race_reply : race_quit_reply;
		memset(race_in[i], 0, sizeof(race_in[i]));
		memset(race_out[i], 0, sizeof(race_out[i]));
		tw_start(t, NULL, NULL);
		while (t->posted < (i < 2 ? RACE_FIRST : RACE_C))
			race_post(t);
	}
	post(c, QUIT, 0);
	run_workers(4000, 3);
	ck_assert_msg(tws[0].replies == RACE_N, "%s: %u replies of %u came",
	              tws[0].name, tws[0].replies, RACE_N);
	check_end(&tws[0], 0, 0);
	check_end(&tws[1], 1, 0);
	ck_assert_msg(tws[1].replies == tws[1].sent,
	              "%s: it posted %u replies before it ended, %u came "
	              "before its on_exit",
	              tws[1].name, tws[1].sent, tws[1].replies);
	ck_assert_uint_ge(tws[1].replies, RACE_TERM_AT);
	ck_assert_msg(c->code == 0 || c->code == 1,
	              "%s: on_exit(%d), expected 0 or 1", c->name, c->code);
	check_end(c, c->code, 0);
	ck_assert_msg(c->replies == RACE_C, "%s: %u replies of %u came",
	              c->name, c->replies, RACE_C);
	loop_close();
}
END_TEST

static Suite *worker_suite(void)
{
	Suite *s = suite_create("worker");

	TEST_ADD(s, test_worker_echo, 5);
	TEST_ADD(s, test_worker_main_and_init, 5);
	TEST_ADD(s, test_worker_error, 5);
	TEST_ADD(s, test_worker_terminate, 5);
	TEST_ADD(s, test_worker_transfer, 5);
	TEST_ADD(s, test_worker_many, 5);
	TEST_ADD(s, test_worker_races, 5);
	return s;
}

TEST_MAIN(worker_suite)
