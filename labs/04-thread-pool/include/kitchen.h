/* kitchen.h - what the lab 4 server cooks on the pool (given code).
 *
 * The routes the kitchen adds in front of app_handle()'s:
 *   GET|HEAD /cook?ms=N          N ms of slow kitchen work on a pool thread
 *                                (a blocking sleep: think of a disk read or
 *                                a DNS lookup), 0..KITCHEN_MAX_COOK_MS
 *   GET|HEAD /hash?rounds=N&text=T
 *                                real CPU work on a pool thread: T (up to
 *                                KITCHEN_MAX_TEXT bytes, taken as sent) hashed
 *                                N times, 1..KITCHEN_MAX_ROUNDS; the answer
 *                                is the digest in 16 hex digits
 *   GET|HEAD /stats              the pool right now, as JSON:
 *                                {"size":4,"busy":4,"queued":6,"completed":12}
 * Nothing here knows about sockets or the loop: orders.c takes the
 * request, submits an order's work to the pool and answers when it comes
 * back.
 *
 * An experiment, not a feature: with KITCHEN_ON_LOOP=1 in the server's
 * environment, kitchen_take_order() cooks /cook and /hash itself, on the
 * loop thread, before your code sees the order, and the pool gets a dish
 * that is already done. That is a server without a kitchen: run GET /
 * beside a long /hash and compare (handout 4.10).
 */
#ifndef KITCHEN_H
#define KITCHEN_H

#include <stdbool.h>
#include <stdint.h>

#include "app.h"
#include "http.h"
#include "pool.h"
#include "server.h"
#include "trace.h"

enum {
	KITCHEN_MAX_COOK_MS = 10000,
	KITCHEN_MAX_ROUNDS = 1000000000,
	KITCHEN_MAX_TEXT = 256,
};

enum kitchen_dish {
	KITCHEN_NONE,  /* not a kitchen route: app_handle() answers it */
	KITCHEN_BAD,   /* a kitchen route with bad arguments: 400 */
	KITCHEN_COOK,  /* work for the pool */
	KITCHEN_HASH,  /* work for the pool */
	KITCHEN_STATS, /* answered at once, from tp_stats() */
};

/* One order: the pool's part first, then what to cook and what came out. */
struct kitchen_order {
	struct tp_work work;
	enum kitchen_dish dish;
	bool head_only;  /* HEAD: answer without the body */
	int ms;          /* COOK */
	uint64_t rounds; /* HASH */
	char text[KITCHEN_MAX_TEXT];
	unsigned text_len;
	uint64_t digest;           /* HASH: set by the work */
	bool done;                 /* cooked already (KITCHEN_ON_LOOP) */
	struct server_reply reply; /* the request it answers (server.h) */
	struct trace_mark queued;  /* EV_TRACE: when it was taken (trace.h) */
};

/* The order whose pool part w is (in after_work, say). */
struct kitchen_order *kitchen_order_of(struct tp_work *w);

/* Reads the order a request makes. KITCHEN_COOK and KITCHEN_HASH fill o
 * for the pool (and cook it first, on the caller's thread, under
 * KITCHEN_ON_LOOP=1). */
enum kitchen_dish kitchen_take_order(const struct http_request *req,
                                     struct kitchen_order *o);

/* The work: a tp_work_fn, run on a pool thread. */
void kitchen_work(struct tp_work *w);

/* The response for a cooked order (status 0), or 503 for a cancelled one.
 * 0 or -ENOMEM (res is then a 500). */
int kitchen_respond(const struct kitchen_order *o, int status,
                    struct app_response *res);

/* The /stats response. 0 or -ENOMEM. */
int kitchen_stats(const struct tp_stats *s, struct app_response *res);

/* The 400 for KITCHEN_BAD. */
int kitchen_refuse(struct app_response *res);

/* /hash's function: FNV-1a of text, then `rounds` rounds of a 64-bit mix
 * (about a nanosecond each). The grader computes it too. */
uint64_t kitchen_hash(const char *text, unsigned len, uint64_t rounds);

#endif
