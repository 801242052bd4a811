/* port_rt.c - what a message costs through the lab 6 port and worker:
 * bench/node-workers.js is the same program on Node's worker_threads (read
 * them side by side). bench/workers.sh runs both, taking turns.
 *
 * Three measures, each timed with CLOCK_MONOTONIC:
 *   messages/s  one sender thread posts to a port whose receiving end is
 *               this thread's loop, for SECONDS: a 64-byte copy
 *               (port_post()), a 64 KiB copy, and a 64 KiB buffer handed
 *               over (port_post_owned(): a fresh calloc()ed buffer per
 *               message, as Node's `new ArrayBuffer()` is fresh and zeroed).
 *               The receiver counts and frees them, and answers every BATCH
 *               with an ack (a semaphore); the sender keeps at most WINDOW
 *               batches unanswered, so that the queue (and the memory in
 *               flight) stays bounded, as a real sender's must. The clock
 *               runs from the first post to the last batch's ack.
 *   round trip  64 bytes to a worker (worker_post()), echoed back
 *               (worker_reply()), the next one posted from on_reply: one in
 *               flight, ROUNDS times after WARMUP; the median and the 99th
 *               percentile of the single trips.
 *   start       worker_start() of a worker whose main exits at once, to its
 *               on_exit (the thread joined, its ports closed), STARTS
 *               times one after the other: the median.
 *
 * Usage: port_rt [SECONDS [STARTS]] (default 0.3 and 30), all three;
 * prints one line:
 *   copy64_mps=M copy64k_mps=M move64k_mps=M rt_p50_us=L rt_p99_us=L
 *   start_us=S
 * or port_rt rt, the round trip alone (rt_p50_us=L rt_p99_us=L): workers.sh
 * runs that on one core too, where a wake-up is a context switch and not a
 * sleeping core's.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"
#include "port.h"
#include "worker.h"

enum {
	BATCH = 256, /* messages per ack */
	WINDOW = 2,  /* batches the sender may have unanswered */
	WARMUP = 1000,
	ROUNDS = 10000,
	SMALL = 64,
	BIG = 64 << 10,
};

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void check(int rc, const char *what)
{
	if (rc < 0) {
		fprintf(stderr, "port_rt: %s: %s\n", what, strerror(-rc));
		exit(1);
	}
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* --- messages/s: a sender thread, the loop receiving --- */

struct flow {
	struct port port;
	size_t size;
	bool owned;      /* hand over a fresh buffer, or copy one */
	double duration; /* how long the sender keeps posting */
	sem_t acks;      /* one a batch received; WINDOW to begin with */
	long received;   /* the loop thread's */
	long sent;       /* the sender's, read after the join */
	double elapsed;  /* first post to last ack */
};

static void *sender(void *arg)
{
	struct flow *f = arg;
	char *copy = calloc(1, f->size); /* the copies' source, reused */
	double t0 = seconds();

	if (copy == NULL)
		check(-ENOMEM, "calloc");
	do {
		while (sem_wait(&f->acks) < 0)
			; /* EINTR */
		for (int i = 0; i < BATCH; i++) {
			if (f->owned) {
				void *buf = calloc(1, f->size);

				if (buf == NULL)
					check(-ENOMEM, "calloc");
				check(port_post_owned(&f->port, &buf, f->size),
				      "port_post_owned");
			} else {
				check(port_post(&f->port, copy, f->size),
				      "port_post");
			}
		}
		f->sent += BATCH;
	} while (seconds() - t0 < f->duration);
	/* Every batch answered: the WINDOW acks back. */
	for (int i = 0; i < WINDOW; i++)
		while (sem_wait(&f->acks) < 0)
			;
	f->elapsed = seconds() - t0;
	check(port_post(&f->port, NULL, 0), "port_post"); /* the end */
	free(copy);
	return NULL;
}

static void on_flow(struct port *p, struct port_msg *m)
{
	struct flow *f = p->data;
	size_t len = m->len;

	port_msg_free(m);
	if (len == 0) { /* the sender is done */
		port_close(p, NULL);
		return;
	}
	if (++f->received % BATCH == 0)
		sem_post(&f->acks);
}

/* Messages per second of `size` bytes, copied or handed over. */
static double flow(struct ev_loop *loop, size_t size, bool owned,
                   double duration)
{
	struct flow f = {.size = size, .owned = owned, .duration = duration};
	pthread_t t;

	sem_init(&f.acks, 0, WINDOW);
	check(port_open(&f.port, loop, on_flow), "port_open");
	f.port.data = &f;
	check(-pthread_create(&t, NULL, sender, &f), "pthread_create");
	ev_run(loop, EV_RUN_DEFAULT); /* until the port is closed */
	pthread_join(t, NULL);
	sem_destroy(&f.acks);
	if (f.received != f.sent) {
		fprintf(stderr, "port_rt: sent %ld, received %ld\n", f.sent,
		        f.received);
		exit(1);
	}
	return (double)f.sent / f.elapsed;
}

/* --- round trip: parent -> worker -> parent --- */

static double trips[WARMUP + ROUNDS];
static int trip;
static double t_post;
static char ping_bytes[SMALL];

static int echo(struct worker *w, struct port_msg *m)
{
	int rc = worker_reply(w, m->data, m->len);

	port_msg_free(m);
	return rc;
}

static void pong(struct worker *w, struct port_msg *m)
{
	double now = seconds();

	port_msg_free(m);
	trips[trip++] = now - t_post;
	if (trip == WARMUP + ROUNDS) {
		worker_terminate(w);
		return;
	}
	t_post = seconds();
	check(worker_post(w, ping_bytes, sizeof(ping_bytes)), "worker_post");
}

static void round_trips(struct ev_loop *loop, double *p50, double *p99)
{
	struct worker w;
	struct worker_opts o = {.on_message = echo, .on_reply = pong};

	check(worker_start(&w, loop, &o), "worker_start");
	t_post = seconds();
	check(worker_post(&w, ping_bytes, sizeof(ping_bytes)), "worker_post");
	ev_run(loop, EV_RUN_DEFAULT); /* until the worker has ended */
	qsort(trips + WARMUP, ROUNDS, sizeof(double), by_value);
	*p50 = trips[WARMUP + ROUNDS / 2] * 1e6;
	*p99 = trips[WARMUP + ROUNDS * 99 / 100] * 1e6;
}

/* --- start: worker_start() to on_exit, a worker with nothing to do --- */

static double t_exit;

static int quit(struct worker *w, void *init)
{
	(void)init;
	worker_exit(w, 0);
	return 0;
}

static void exited(struct worker *w, int code)
{
	(void)w, (void)code;
	t_exit = seconds();
}

static double start_exit(struct ev_loop *loop, int starts)
{
	double *v = calloc((size_t)starts, sizeof(*v));

	if (v == NULL)
		check(-ENOMEM, "calloc");
	for (int i = 0; i < starts; i++) {
		struct worker w;
		struct worker_opts o = {
		    .main = quit, .on_message = echo, .on_exit = exited};
		double t0 = seconds();

		check(worker_start(&w, loop, &o), "worker_start");
		ev_run(loop, EV_RUN_DEFAULT); /* returns after on_exit */
		v[i] = t_exit - t0;
	}
	qsort(v, (size_t)starts, sizeof(*v), by_value);
	double median = v[starts / 2] * 1e6;
	free(v);
	return median;
}

int main(int argc, char **argv)
{
	bool rt_only = argc > 1 && strcmp(argv[1], "rt") == 0;
	double duration = argc > 1 && !rt_only ? atof(argv[1]) : 0.3;
	int starts = argc > 2 ? atoi(argv[2]) : 30;
	struct ev_loop loop;
	double p50, p99;

	if (duration <= 0 || starts < 1) {
		fprintf(stderr,
		        "usage: port_rt [SECONDS [STARTS]] | port_rt rt\n");
		return 2;
	}
	check(ev_loop_init(&loop), "ev_loop_init");
	if (rt_only) {
		round_trips(&loop, &p50, &p99);
		printf("rt_p50_us=%.2f rt_p99_us=%.2f\n", p50, p99);
		check(ev_loop_close(&loop), "ev_loop_close");
		return 0;
	}
	flow(&loop, SMALL, false, duration / 4); /* warm-up: malloc's arenas */
	double copy64 = flow(&loop, SMALL, false, duration);
	double copy64k = flow(&loop, BIG, false, duration);
	double move64k = flow(&loop, BIG, true, duration);
	round_trips(&loop, &p50, &p99);
	double start = start_exit(&loop, starts);
	printf("copy64_mps=%.0f copy64k_mps=%.0f move64k_mps=%.0f "
	       "rt_p50_us=%.2f rt_p99_us=%.2f start_us=%.1f\n",
	       copy64, copy64k, move64k, p50, p99, start);
	check(ev_loop_close(&loop), "ev_loop_close");
	return 0;
}
