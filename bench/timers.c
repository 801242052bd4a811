/* timers.c - 1M timers through the lab 3 loop: start them all, then let the
 * loop fire them, on a fake clock so only the heap and the loop are timed. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "loop.h"

enum { N = 1000000 };

static uint64_t fake_now;
static size_t fired;

static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void on_timer(struct ev_timer *t)
{
	(void)t;
	fired++;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	struct ev_loop loop;
	struct ev_timer *timers = calloc(N, sizeof(*timers));
	uint32_t x = 2463534242u;

	if (!timers || ev_loop_init(&loop) < 0)
		return 1;
	ev_loop_set_clock(&loop, fake_clock, NULL);
	ev_update_time(&loop);
	double t0 = seconds();
	for (size_t i = 0; i < N; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		ev_timer_init(&loop, &timers[i], on_timer);
		ev_timer_start(&timers[i], x % 100000, 0);
	}
	double t1 = seconds();
	while (fired < N) {
		fake_now += 1000;
		ev_run(&loop, EV_RUN_NOWAIT);
	}
	double t2 = seconds();
	printf("1M timers: start %.0f ns each, fire %.0f ns each (heap of %d)\n",
	       (t1 - t0) * 1e9 / N, (t2 - t1) * 1e9 / N, N);
	/* The loop lets go of a handle only in its close callback. */
	for (size_t i = 0; i < N; i++)
		ev_close(&timers[i].h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	if (ev_loop_close(&loop) < 0)
		return 1;
	free(timers);
	return 0;
}
