/* compute.c - CPU work on a pool of workers, or on the loop on purpose
 * (lab 6; compute.h).
 *
 *   GET /compute?ms=N   N ms of CPU on a worker: the loop stays free
 *   GET /block?ms=N     the same N ms on the loop thread: everyone waits
 *   GET /stats          workers, busy, queued, completed, the loop's lag
 *
 * The workers are started once (compute_open) and kept: a worker is a
 * thread and a loop, too dear to start per request (the handout measures
 * it). A request takes a free worker, or waits in a queue for one; the
 * worker's reply answers it and the worker takes the next in the queue.
 * A guest who leaves while queued is dropped from the queue; one who
 * leaves while its job runs cannot stop it (C cannot interrupt a thread):
 * the reply then answers nobody.
 *
 * You write the functions marked TODO(lab 6): cook_message() (a worker's
 * side), give(), next_job(), cook_reply(), on_gone() and
 * compute_route_later(). Given: compute_spin(), the answers (text(),
 * end_job()), /stats and the lag timer, the route, opening and closing the
 * pool. Until you write them, /compute answers 501.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compute.h"
#include "worker.h"

struct job {
	struct server_reply reply;
	struct list link; /* in the queue, while it waits for a worker */
	int ms;
	bool head;         /* HEAD: the head alone */
	struct cook *cook; /* the worker on it; NULL while queued */
};

/* A worker of the pool, and the job it runs. */
struct cook {
	struct worker w;
	struct job *job; /* NULL: free */
	bool gone;       /* on_exit has come */
};

/* What a job asks of a worker and what it answers: the milliseconds. */
struct order {
	int ms;
};

static struct {
	struct cook cooks[COMPUTE_MAX_WORKERS];
	unsigned size;
	struct list queue; /* jobs waiting for a cook, oldest first */
	unsigned busy, queued;
	uint64_t completed;
	struct ev_timer lag_timer; /* fires every COMPUTE_LAG_MS */
	uint64_t lag_due;          /* when it should fire next (loop ms) */
	uint64_t lags[COMPUTE_LAG_SAMPLES]; /* how late it fired, lately */
	unsigned lag_next;                  /* the oldest of them */
	bool closing;
} pool;

/* --- the work itself, on whichever thread runs it --- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void compute_spin(int ms, struct worker *w)
{
	volatile uint64_t x = 0;

	for (double end = now_ms() + ms; now_ms() < end;) {
		for (int i = 0; i < 10000; i++)
			x += (uint64_t)i * i;
		if (w != NULL && worker_stopping(w))
			return; /* terminated: the answer no longer matters */
	}
}

/* --- a worker's side (its own thread) --- */

static int cook_message(struct worker *w, struct port_msg *m)
{
	/* TODO(lab 6): a worker's opts.on_message, on its own thread: m is
	 * an order from the loop, yours to free. Returns 0 when the work is
	 * done and its reply posted back (worker_reply(): the same order,
	 * which is how the loop knows which job it was); -EPROTO for a
	 * message that is not exactly a struct order; or the reply's error
	 * -- except -EPIPE: a parent that has stopped listening is no
	 * error.
	 *
	 * Given: compute_spin(), the work itself; it returns early once
	 * worker_terminate() has been called, since C cannot interrupt a
	 * thread.
	 */
	(void)w;
	port_msg_free(m);
	return -ENOSYS;
}

/* --- the loop's side --- */

/* res: a 200 whose text body is printf(fmt, ms). 0 or -ENOMEM. */
static int text(struct app_response *res, bool head, const char *fmt, int ms)
{
	int n;

	memset(res, 0, sizeof(*res));
	if ((n = asprintf(&res->body, fmt, ms)) < 0) {
		res->body = NULL;
		return -ENOMEM;
	}
	res->status = 200;
	res->content_type = "text/plain; charset=utf-8";
	res->body_len = (size_t)n;
	res->send_body = !head;
	return 0;
}

/* Answers a taken job (an error status, or 0: its result), if its guest
 * is still there, and frees it. */
static void end_job(struct job *j, int status)
{
	struct app_response res;

	if (status != 0 || text(&res, j->head, "computed %d ms\n", j->ms) < 0)
		app_error(status != 0 ? status : 500, &res);
	server_answer(&j->reply, &res); /* -ENOTCONN: nobody to tell */
	app_response_free(&res);
	free(j);
}

static void give(struct cook *c, struct job *j)
{
	/* TODO(lab 6): on the loop thread; c is free and not gone, j taken
	 * (its request is the frame's taken reply) and in no queue.
	 * Afterwards either c is working on j -- each knows the other
	 * (c->job, j->cook), pool.busy counts it, and the order is with the
	 * worker -- or the order could not be posted (the worker is ending:
	 * worker_post() says -EPIPE), and then j has its 503 (end_job()) and
	 * c is free again, counted out of busy.
	 */
	(void)c;
	end_job(j, 501);
}

/* The next job in the queue, to the cook c (free now). */
static void next_job(struct cook *c)
{
	/* TODO(lab 6): on the loop thread; c has just become free.
	 * Afterwards c works on the oldest queued job (out of the queue, out
	 * of pool.queued), if there is one -- unless the pool is closing or c
	 * has gone (its worker has exited): those take no more jobs, and the
	 * queue keeps its jobs.
	 */
	(void)c;
}

static void cook_reply(struct worker *w, struct port_msg *m)
{
	/* TODO(lab 6): a worker's opts.on_reply (w->data is its cook), on
	 * the loop thread: m, yours to free, says the cook's job is done.
	 * Afterwards that job has been answered and freed (end_job(): a guest
	 * who left gets nothing, and that is fine), pool.completed counts it,
	 * busy no longer does, and the cook has taken the next queued job if
	 * there is one.
	 */
	(void)w;
	(void)next_job;
	port_msg_free(m);
}

static void cook_error(struct worker *w, int err)
{
	(void)w;
	fprintf(stderr, "compute: a worker failed: %s\n", strerror(-err));
}

static void cook_exit(struct worker *w, int code)
{
	struct cook *c = w->data;

	(void)code;
	c->gone = true;
	if (c->job != NULL) { /* it ended with a job: answer it */
		end_job(c->job, 503);
		c->job = NULL;
		pool.busy--;
	}
}

/* The guest left: a queued job goes; a running one is the cook's until
 * its reply (it cannot be stopped). */
static void on_gone(struct server_reply *rp)
{
	/* TODO(lab 6): the frame's on_gone (rp is the job's reply; its
	 * data is what you set), on the loop thread. Afterwards a job that
	 * was still queued is gone: out of the queue, out of pool.queued,
	 * freed -- it never runs. A job a worker is running cannot be
	 * stopped: it stays the cook's, and its reply finds nobody to answer
	 * (server_answer() says -ENOTCONN) and frees it.
	 *
	 * Trap: freeing a running job here; the cook still points at it
	 * (valgrind's invalid read when the reply lands).
	 */
	(void)rp;
}

static int compute_route_later(struct server_req *r, int ms, bool head)
{
	/* TODO(lab 6): the route for GET|HEAD /compute?ms=N (ms parsed,
	 * head: a HEAD). Returns SERVER_LATER, and then the request is taken
	 * (server_take(), with on_gone) and its job is with a free cook (not
	 * gone), or, all busy, the newest in the queue (pool.queued counts
	 * it): queued jobs are served oldest first. Or -ENOMEM when the job
	 * cannot be had (the frame answers 500).
	 *
	 * Until you write it: 501.
	 */
	struct job *j = calloc(1, sizeof(*j));

	(void)ms;
	(void)head;
	(void)give;
	if (j == NULL)
		return -ENOMEM;
	server_take(r, &j->reply, on_gone);
	end_job(j, 501);
	return SERVER_LATER;
}

static void on_lag(struct ev_timer *t)
{
	uint64_t now = ev_now(t->h.loop);

	pool.lags[pool.lag_next] = now > pool.lag_due ? now - pool.lag_due : 0;
	pool.lag_next = (pool.lag_next + 1) % COMPUTE_LAG_SAMPLES;
	pool.lag_due = now + COMPUTE_LAG_MS;
}

/* The worst lag of the last second: a stall shows for a second after it,
 * not only until the timer's next (punctual) tick. */
static uint64_t lag_ms(void)
{
	uint64_t worst = 0;

	for (unsigned i = 0; i < COMPUTE_LAG_SAMPLES; i++)
		if (pool.lags[i] > worst)
			worst = pool.lags[i];
	return worst;
}

static int compute_stats(struct app_response *res)
{
	memset(res, 0, sizeof(*res));
	int n = asprintf(&res->body,
	                 "{\"workers\":%u,\"busy\":%u,\"queued\":%u,"
	                 "\"completed\":%llu,\"lag_ms\":%llu}\n",
	                 pool.size, pool.busy, pool.queued,
	                 (unsigned long long)pool.completed,
	                 (unsigned long long)lag_ms());
	if (n < 0) {
		res->body = NULL;
		return -ENOMEM;
	}
	res->status = 200;
	res->content_type = "application/json";
	res->body_len = (size_t)n;
	res->send_body = 1;
	return 0;
}

static int compute_route(struct server_req *r, struct app_response *res)
{
	const struct http_request *req = r->http;
	int ms = 0;
	enum compute_kind kind = compute_parse(req, &ms);
	bool head = req->method == HTTP_HEAD;

	switch (kind) {
	case COMPUTE_NONE:
		return SERVER_PASS;
	case COMPUTE_BAD:
		app_error(400, res);
		return SERVER_ANSWERED;
	case COMPUTE_STATS:
		return compute_stats(res) < 0 ? -ENOMEM : SERVER_ANSWERED;
	case COMPUTE_BLOCK:
		compute_spin(ms, NULL); /* on purpose: the loop is stuck */
		return text(res, head, "blocked %d ms\n", ms) < 0
		           ? -ENOMEM
		           : SERVER_ANSWERED;
	case COMPUTE_WORK:
		return compute_route_later(r, ms, head);
	}
	return SERVER_PASS;
}

static int compute_open(struct server *srv)
{
	struct ev_loop *loop = server_loop(srv);
	const struct worker_opts opts = {.on_message = cook_message,
	                                 .on_reply = cook_reply,
	                                 .on_error = cook_error,
	                                 .on_exit = cook_exit};
	int rc;

	list_init(&pool.queue);
	pool.size = compute_workers_from(getenv(COMPUTE_WORKERS_ENV));
	for (unsigned i = 0; i < pool.size; i++) {
		pool.cooks[i].w.data = &pool.cooks[i];
		if ((rc = worker_start(&pool.cooks[i].w, loop, &opts)) < 0) {
			/* The ones started are terminated at close. No
			 * workers at all yet (the starter): serve the rest. */
			pool.size = i;
			return rc == -ENOSYS ? 0 : rc;
		}
	}
	ev_timer_init(loop, &pool.lag_timer, on_lag);
	ev_unref(&pool.lag_timer.h);
	pool.lag_due = ev_now(loop) + COMPUTE_LAG_MS;
	return ev_timer_start(&pool.lag_timer, COMPUTE_LAG_MS, COMPUTE_LAG_MS);
}

static void compute_close(struct server *srv)
{
	(void)srv;
	pool.closing = true;
	ev_close(&pool.lag_timer.h, NULL);
	/* Queued jobs: no client waits for them any more (the frame closed
	 * every client first), so on_gone has freed them already. */
	for (unsigned i = 0; i < pool.size; i++)
		if (!pool.cooks[i].gone)
			worker_terminate(&pool.cooks[i].w);
}

const struct server_lab server_lab = {
    .open = compute_open,
    .close = compute_close,
    .route = compute_route,
};
