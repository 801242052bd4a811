/* pool_cpu.c - CPU-bound jobs through the lab 4 pool: how many jobs per
 * second does a pool of N threads finish, and where does adding threads
 * stop helping? (At the number of cores: past it, threads only take turns.)
 *
 * JOBS jobs, each the kitchen's /hash work (kitchen_hash() of a short text
 * with ROUNDS rounds: well under a millisecond), are submitted at once from
 * the loop thread; the clock (CLOCK_MONOTONIC) stops when the last
 * after_work has run. A warm-up job first starts the threads. The pool's
 * size comes from EV_THREADPOOL_SIZE: bench/run runs this with 1, 4 and 16.
 *
 * Prints one line: jobs_per_s=J ms_per_job=M, where M is the average time
 * from a job's start to its end on its pool thread: once the threads
 * outnumber the cores they take turns, and each job takes longer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "pool.h"

enum {
	JOBS = 2000,
	ROUNDS = 200000,
};

struct job {
	struct tp_work work; /* first: a struct tp_work * is a struct job * */
	uint64_t digest;
	double seconds; /* from the start to the end of the work */
};

static struct tp_pool pool;
static struct job jobs[JOBS];
static const char text[] = "the kitchen";

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* kitchen_hash() (labs/04-thread-pool/kitchen.c), copied so that this
 * program needs the pool and the loop only: FNV-1a of the text, then
 * `rounds` rounds of a 64-bit mix, each depending on the last. */
static uint64_t hash(const char *s, unsigned len, uint64_t rounds)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (unsigned i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	for (uint64_t r = 0; r < rounds; r++) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h;
}

static void cook(struct tp_work *w)
{
	struct job *j = (struct job *)w;
	double t0 = seconds();

	j->digest = hash(text, sizeof(text) - 1, ROUNDS);
	j->seconds = seconds() - t0;
}

static void served(struct tp_work *w, int status)
{
	(void)w, (void)status;
}

static void submit(struct job *j)
{
	int rc = tp_submit(&pool, &j->work, cook, served);

	if (rc < 0) {
		fprintf(stderr, "tp_submit: %s\n", strerror(-rc));
		exit(1);
	}
}

int main(void)
{
	struct ev_loop loop;

	if (ev_loop_init(&loop) < 0 || tp_init(&pool, &loop) < 0) {
		fprintf(stderr, "pool_cpu: loop or pool setup failed\n");
		return 1;
	}
	submit(&jobs[0]); /* the warm-up: starts the threads */
	ev_run(&loop, EV_RUN_DEFAULT);

	double t0 = seconds();
	for (int i = 0; i < JOBS; i++)
		submit(&jobs[i]);
	ev_run(&loop, EV_RUN_DEFAULT);
	double elapsed = seconds() - t0;

	double sum = 0;
	for (int i = 0; i < JOBS; i++) {
		sum += jobs[i].seconds;
		if (jobs[i].digest != jobs[0].digest) {
			fprintf(stderr, "pool_cpu: job %d differs\n", i);
			return 1;
		}
	}
	printf("jobs_per_s=%.0f ms_per_job=%.3f\n", JOBS / elapsed,
	       sum * 1e3 / JOBS);
	tp_close(&pool);
	/* One more iteration lets the pool's watcher finish closing. */
	ev_run(&loop, EV_RUN_NOWAIT);
	ev_loop_close(&loop);
	return 0;
}
