/* worker_cpu.c - fixed CPU work on N workers (lab 6): how many jobs per
 * second do N workers finish, and where does adding workers stop helping?
 * (At the number of cores: past it, they only take turns.) Lab 4's
 * bench/pool_cpu.c is the same question for the thread pool.
 *
 * Unlike /compute?ms=N, whose job is N ms of wall-clock time (and so does
 * less work when it shares a core), a job here is a fixed amount of work:
 * the kitchen's hash (kitchen_hash() of a short text, ROUNDS rounds). JOBS
 * jobs go to N workers started with worker_start(), each kept with
 * IN_FLIGHT jobs posted (worker_post()) so that it never waits for the
 * parent; each reply (worker_reply(): the digest) brings that worker its
 * next job. A first round of empty jobs starts the threads; the clock
 * (CLOCK_MONOTONIC) runs from the first real job posted to the last reply.
 *
 * Usage: worker_cpu N. Prints one line:
 *   jobs_per_s=J cpu_ms_per_job=C ms_per_job=M
 * C is the process's CPU time (getrusage) over the jobs; M is the average
 * time from a job's start to its end on its worker: once the workers
 * outnumber the cores they take turns, and M grows while C does not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "loop.h"
#include "worker.h"

enum {
	JOBS = 2000,
	ROUNDS = 200000,
	IN_FLIGHT = 2,
	MAX_WORKERS = 64,
};

/* A job, both ways: the rounds asked for, then the digest and the time. */
struct job {
	uint64_t rounds;
	uint64_t digest;
	double seconds; /* from the start to the end of the work */
};

static struct worker workers[MAX_WORKERS];
static int nworkers;
static int warming; /* empty jobs not yet back */
static int posted, done;
static uint64_t digest;
static double busy; /* the jobs' seconds, summed */
static const char text[] = "the kitchen";

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "worker_cpu: %s: %s\n", what, strerror(-rc));
		exit(1);
	}
}

/* kitchen_hash() (labs/04-thread-pool/kitchen.c), as bench/pool_cpu.c has
 * it: FNV-1a of the text, then `rounds` rounds of a 64-bit mix, each
 * depending on the last. */
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

/* The worker's thread: the work, and its answer. */
static int cook(struct worker *w, struct port_msg *m)
{
	struct job j;

	if (m->len != sizeof(j)) {
		port_msg_free(m);
		return -EPROTO;
	}
	memcpy(&j, m->data, sizeof(j));
	port_msg_free(m);
	double t0 = seconds();
	j.digest = hash(text, sizeof(text) - 1, j.rounds);
	j.seconds = seconds() - t0;
	return worker_reply(w, &j, sizeof(j));
}

static void post(struct worker *w, uint64_t rounds)
{
	struct job j = {.rounds = rounds};

	check(worker_post(w, &j, sizeof(j)), "worker_post");
}

static double t_first, t_last, cpu_first, cpu_last;

/* The parent's loop: a job back; the worker gets the next. */
static void served(struct worker *w, struct port_msg *m)
{
	struct job j;

	memcpy(&j, m->data, sizeof(j));
	port_msg_free(m);
	if (warming > 0) { /* an empty job: the threads are up */
		if (--warming == 0) {
			t_first = seconds();
			cpu_first = cpu_seconds();
			for (int i = 0; i < nworkers; i++)
				for (int k = 0; k < IN_FLIGHT && posted < JOBS;
				     k++, posted++)
					post(&workers[i], ROUNDS);
		}
		return;
	}
	if (done++ == 0)
		digest = j.digest;
	else if (j.digest != digest) {
		fprintf(stderr, "worker_cpu: job %d differs\n", done);
		exit(1);
	}
	busy += j.seconds;
	if (posted < JOBS) {
		post(w, ROUNDS);
		posted++;
	}
	if (done < JOBS)
		return;
	t_last = seconds();
	cpu_last = cpu_seconds();
	for (int i = 0; i < nworkers; i++)
		worker_terminate(&workers[i]);
}

int main(int argc, char **argv)
{
	struct ev_loop loop;
	struct worker_opts o = {.on_message = cook, .on_reply = served};

	nworkers = argc > 1 ? atoi(argv[1]) : 0;
	if (nworkers < 1 || nworkers > MAX_WORKERS) {
		fprintf(stderr, "usage: worker_cpu N (1 to %d)\n", MAX_WORKERS);
		return 2;
	}
	check(ev_loop_init(&loop), "ev_loop_init");
	warming = nworkers;
	for (int i = 0; i < nworkers; i++) {
		check(worker_start(&workers[i], &loop, &o), "worker_start");
		post(&workers[i], 0);
	}
	ev_run(&loop, EV_RUN_DEFAULT); /* until every worker has ended */
	printf("jobs_per_s=%.0f cpu_ms_per_job=%.3f ms_per_job=%.3f\n",
	       JOBS / (t_last - t_first), (cpu_last - cpu_first) * 1e3 / JOBS,
	       busy * 1e3 / JOBS);
	check(ev_loop_close(&loop), "ev_loop_close");
	return 0;
}
