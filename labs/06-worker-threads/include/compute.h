/* compute.h - CPU work on a pool of workers, or on the loop on purpose
 * (lab 6). The seed's "Block the loop" button, and its cure.
 *
 *   GET|HEAD /compute?ms=N   N ms of work on one of the workers (compute.c):
 *                            200 "computed N ms"; the loop stays free
 *   GET|HEAD /block?ms=N     the same N ms on the loop thread, on purpose:
 *                            200 "blocked N ms"; every client waits
 *   GET|HEAD /stats          {"workers":W,"busy":B,"queued":Q,
 *                             "completed":C,"lag_ms":L}
 *   N outside 0..COMPUTE_MAX_MS, or no ms=: 400
 *
 * lag_ms is how late the loop's COMPUTE_LAG_MS timer fired, at worst, in
 * its last COMPUTE_LAG_SAMPLES ticks (a second): about 0 on a free loop,
 * about N for a second after a /block?ms=N (Node's monitorEventLoopDelay,
 * and the seed's falling meter).
 *
 * The pool has EV_WORKERS workers (COMPUTE_WORKERS_ENV), the number of
 * cores when unset (sysconf), at most COMPUTE_MAX_WORKERS. They are
 * started once, when the server opens, and terminated when it closes.
 */
#ifndef COMPUTE_H
#define COMPUTE_H

#include <stdbool.h>

#include "server.h"
#include "worker.h"

enum {
	COMPUTE_MAX_MS = 10000,
	COMPUTE_MAX_WORKERS = 64,
	COMPUTE_LAG_MS = 100,     /* the lag timer's period */
	COMPUTE_LAG_SAMPLES = 10, /* lag_ms: the worst of the last 10 */
};

#define COMPUTE_WORKERS_ENV "EV_WORKERS"

enum compute_kind {
	COMPUTE_NONE,  /* not this lab's */
	COMPUTE_BAD,   /* 400 */
	COMPUTE_STATS, /* /stats */
	COMPUTE_BLOCK, /* /block?ms=N */
	COMPUTE_WORK,  /* /compute?ms=N */
};

/* What the request asks for (given: compute_req.c); *ms for BLOCK and
 * WORK. */
enum compute_kind compute_parse(const struct http_request *req, int *ms);

/* The pool's size for a value of EV_WORKERS (NULL: unset). */
unsigned compute_workers_from(const char *value);

/* Keeps the calling thread busy for ms of wall-clock time (a busy loop,
 * as the seed's): a core's worth of work while it has a core. With more
 * busy threads than cores they share them, and each still ends after ms.
 * Returns early once w (may be NULL) is told to stop. */
void compute_spin(int ms, struct worker *w);

#endif
