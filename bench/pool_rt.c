/* pool_rt.c - what one trivial job costs through the lab 4 pool: tp_submit()
 * on the loop thread, an empty work() on a pool thread, after_work() back on
 * the loop thread. uv_rt.c is the same program on libuv's uv_queue_work():
 * read them side by side.
 *
 * Two measures, each timed with CLOCK_MONOTONIC around one ev_run():
 *   latency     one job in flight: each after_work submits the next (ping-
 *               pong), ROUNDS times. Every round trip wakes a pool thread and
 *               then the loop: microseconds per round trip.
 *   throughput  BATCH jobs submitted at once; the batch's last after_work
 *               submits the next batch, JOBS jobs in all. Wake-ups are shared
 *               between many jobs: nanoseconds per job.
 * A warm-up first starts the threads (they start on the first submit). The
 * pool's size comes from EV_THREADPOOL_SIZE (bench/run sets it).
 *
 * Prints one line: latency_us=L throughput_ns=T
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "pool.h"

enum {
	WARMUP = 1000,
	ROUNDS = 20000,
	BATCH = 1000,
	JOBS = 1000000,
};

static struct tp_pool pool;
static struct tp_work works[BATCH];
static long to_submit; /* jobs not yet submitted */
static long in_batch;  /* jobs of the current batch not yet back */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void submit(struct tp_work *w, tp_after_fn after_work);

/* The work: nothing at all, so only the pool's own cost is measured. */
static void nothing(struct tp_work *w)
{
	(void)w;
}

/* Latency: the job comes back, and goes straight out again. */
static void ping(struct tp_work *w, int status)
{
	(void)status;
	if (to_submit > 0)
		submit(w, ping);
}

/* Throughput: a batch goes out only when the whole last one is back. */
static void batch_back(struct tp_work *w, int status);

static void submit_batch(void)
{
	in_batch = BATCH;
	for (int i = 0; i < BATCH; i++)
		submit(&works[i], batch_back);
}

static void batch_back(struct tp_work *w, int status)
{
	(void)w, (void)status;
	if (--in_batch == 0 && to_submit > 0)
		submit_batch();
}

static void submit(struct tp_work *w, tp_after_fn after_work)
{
	int rc = tp_submit(&pool, w, nothing, after_work);

	if (rc < 0) {
		fprintf(stderr, "tp_submit: %s\n", strerror(-rc));
		exit(1);
	}
	to_submit--;
}

/* Runs `rounds` ping-pong round trips; returns the seconds they took. */
static double run_ping(struct ev_loop *loop, long rounds)
{
	to_submit = rounds;
	double t0 = seconds();
	submit(&works[0], ping);
	ev_run(loop, EV_RUN_DEFAULT); /* returns once the pool is idle */
	return seconds() - t0;
}

int main(void)
{
	struct ev_loop loop;

	if (ev_loop_init(&loop) < 0 || tp_init(&pool, &loop) < 0) {
		fprintf(stderr, "pool_rt: loop or pool setup failed\n");
		return 1;
	}
	run_ping(&loop, WARMUP);

	double latency = run_ping(&loop, ROUNDS);

	to_submit = JOBS;
	double t0 = seconds();
	submit_batch();
	ev_run(&loop, EV_RUN_DEFAULT);
	double throughput = seconds() - t0;

	printf("latency_us=%.2f throughput_ns=%.0f\n", latency * 1e6 / ROUNDS,
	       throughput * 1e9 / JOBS);
	tp_close(&pool);
	/* One more iteration lets the pool's watcher finish closing. */
	ev_run(&loop, EV_RUN_NOWAIT);
	ev_loop_close(&loop);
	return 0;
}
