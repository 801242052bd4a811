/* uv_rt.c - pool_rt.c on libuv: what one trivial job costs through libuv's
 * thread pool, uv_queue_work() on the loop thread, an empty work_cb on a pool
 * thread, after_work_cb back on the loop thread (libuv's src/threadpool.c).
 * Same measures, same sizes, same structure as pool_rt.c:
 *   latency     one job in flight, ping-pong, ROUNDS times: us per round trip;
 *   throughput  BATCH jobs at once, JOBS in all: ns per job.
 * The pool's size comes from UV_THREADPOOL_SIZE (bench/run sets it to the
 * same value as EV_THREADPOOL_SIZE). Build: cc uv_rt.c $(pkg-config --libs
 * libuv) (Debian's libuv1-dev).
 *
 * Prints one line: latency_us=L throughput_ns=T
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uv.h>

enum {
	WARMUP = 1000,
	ROUNDS = 20000,
	BATCH = 1000,
	JOBS = 1000000,
};

static uv_loop_t loop;
static uv_work_t works[BATCH];
static long to_submit; /* jobs not yet submitted */
static long in_batch;  /* jobs of the current batch not yet back */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void submit(uv_work_t *w, uv_after_work_cb after_work);

/* The work: nothing at all, so only the pool's own cost is measured. */
static void nothing(uv_work_t *w)
{
	(void)w;
}

/* Latency: the job comes back, and goes straight out again. */
static void ping(uv_work_t *w, int status)
{
	(void)status;
	if (to_submit > 0)
		submit(w, ping);
}

/* Throughput: a batch goes out only when the whole last one is back. */
static void batch_back(uv_work_t *w, int status);

static void submit_batch(void)
{
	in_batch = BATCH;
	for (int i = 0; i < BATCH; i++)
		submit(&works[i], batch_back);
}

static void batch_back(uv_work_t *w, int status)
{
	(void)w, (void)status;
	if (--in_batch == 0 && to_submit > 0)
		submit_batch();
}

static void submit(uv_work_t *w, uv_after_work_cb after_work)
{
	int rc = uv_queue_work(&loop, w, nothing, after_work);

	if (rc < 0) {
		fprintf(stderr, "uv_queue_work: %s\n", uv_strerror(rc));
		exit(1);
	}
	to_submit--;
}

/* Runs `rounds` ping-pong round trips; returns the seconds they took. */
static double run_ping(long rounds)
{
	to_submit = rounds;
	double t0 = seconds();
	submit(&works[0], ping);
	uv_run(&loop, UV_RUN_DEFAULT); /* returns once no work is in flight */
	return seconds() - t0;
}

int main(void)
{
	if (uv_loop_init(&loop) < 0) {
		fprintf(stderr, "uv_rt: cannot set up the loop\n");
		return 1;
	}
	run_ping(WARMUP);

	double latency = run_ping(ROUNDS);

	to_submit = JOBS;
	double t0 = seconds();
	submit_batch();
	uv_run(&loop, UV_RUN_DEFAULT);
	double throughput = seconds() - t0;

	printf("latency_us=%.2f throughput_ns=%.0f\n", latency * 1e6 / ROUNDS,
	       throughput * 1e9 / JOBS);
	uv_loop_close(&loop);
	return 0;
}
