/* orders.c - the kitchen's routes, wired to the pool through the frame
 * (lab 4).
 *
 * You write the functions marked TODO(lab 4): placing an order
 * (place_order), serving it when the bell rings (on_cooked), taking it
 * back from a guest who leaves (on_gone), and opening and closing the
 * kitchen. The rest is given: the routes (kitchen_route) and /stats. The
 * server is lab 3's (yours, or the reference with REF=3): this file adds
 * to it through server.h, and reads and writes nothing else of it.
 *
 * The waiter never cooks. An order (/cook, /hash: kitchen.h) goes to a
 * pool of threads (pool.c) and the waiter goes back to his tables: the
 * route takes the request (server_take()), and the client's connection
 * keeps its place while the loop serves everyone else. When the bell
 * rings, after_work serves the dish (server_answer()). A guest who leaves
 * first takes back an order that no cook has started (tp_cancel()); a
 * dish nobody waits for any more is thrown away. /stats is answered at
 * once, from tp_stats().
 *
 * Everything here runs on the loop thread but kitchen_work(), which the
 * pool runs on a cook's.
 */
#include <errno.h>
#include <stdlib.h>

#include "kitchen.h"
#include "pool.h"
#include "server.h"

/* The kitchen: one server per program, one pool per server. Static, not
 * malloc'ed: tp_close() leaves its watcher for the loop to close after it
 * returns, so the pool must outlive the server's last loop run. */
static struct tp_pool pool;

/* --- an order's life --- */

/* The bell rang for this order: cooked (status 0) or cancelled before a
 * cook took it (-ECANCELED). Served to its guest if he is still there;
 * either way the order ends here. */
static void on_cooked(struct tp_work *w, int status)
{
	/* TODO(lab 4): the order's after_work (the order is
	 * kitchen_order_of(w)), on the loop thread, exactly once per order:
	 * cooked (status 0) or cancelled before a cook took it (-ECANCELED).
	 *
	 * Afterwards its guest has the answer kitchen_respond() makes (on
	 * failure that is a 500, still worth sending), if he is still
	 * there: server_answer() says -ENOTCONN when he has gone, and that is
	 * no error. And the order has ended: everything it holds is freed,
	 * and nothing touches it again -- the pool is done with it, and so is
	 * the frame.
	 *
	 * Traps (valgrind sees each): freeing the order before
	 * server_answer(), which reads the reply inside it; keeping it when
	 * the guest has gone; forgetting the response's own memory
	 * (app_response_free()).
	 */
	(void)w;
	(void)status;
}

/* The guest left while his order waited. Queued, it never cooks and
 * on_cooked() comes with -ECANCELED; cooking (-EBUSY), it comes when
 * done. Either way on_cooked() is where it ends: not here. */
static void on_gone(struct server_reply *rp)
{
	/* TODO(lab 4): the guest left while his order waited (rp is the
	 * reply place_order() gave server_take(); rp->data is whatever you
	 * set it to). Afterwards no cook will start the order if none has
	 * yet (tp_cancel()); one already cooking finishes.
	 *
	 * The order is NOT freed here: on_cooked() still comes -- with
	 * -ECANCELED if it never cooked, or when the dish is done -- and that
	 * is where an order ends, whatever happened (freed here too, it is
	 * freed twice, or read by the pool after the free).
	 */
	(void)rp;
}

/* Pins the order on the kitchen's rail and takes the request: its guest
 * waits for on_cooked(). */
static int place_order(struct server_req *r, const struct kitchen_order *order,
                       struct app_response *res)
{
	/* TODO(lab 4): write the order and go back to the tables. Returns
	 * - SERVER_LATER: the request is taken (server_take(), with on_gone)
	 *   and the order is with the pool (tp_submit(): kitchen_work, then
	 *   on_cooked): its guest waits, his connection keeps its place, and
	 *   on_cooked() answers;
	 * - SERVER_ANSWERED when no cook can take it (tp_submit() failed):
	 *   res is a 503 (kitchen_respond() with -ECANCELED) and nothing of
	 *   the order is left;
	 * - or -ENOMEM (the frame then answers 500): no memory for the order,
	 *   or tp_submit() failed and kitchen_respond() could not make the
	 *   503 either (nothing of the order is left then too).
	 *
	 * Facts: res arrives zeroed (app_handle() clears it before any
	 * route): fill it only to answer now; the frame throws away what a
	 * route that took puts in it. *order lives on kitchen_route()'s
	 * stack, and a kitchen_order holds the pool's tp_work and the frame's
	 * server_reply (kitchen.h). on_gone gets only the reply.
	 *
	 * Trap: take only what you will answer. A request taken for an order
	 * no cook will ever see leaves its guest waiting for ever.
	 *
	 * Until you write it, the kitchen answers 501.
	 */
	(void)r;
	(void)order;
	(void)on_cooked;
	(void)on_gone;
	app_error(501, res);
	return SERVER_ANSWERED;
}

static int stats(struct app_response *res)
{
	struct tp_stats s;

	tp_stats(&pool, &s);
	return kitchen_stats(&s, res);
}

/* The kitchen's routes, before app_handle()'s. */
static int kitchen_route(struct server_req *r, struct app_response *res)
{
	struct kitchen_order order;
	int rc;

	switch (kitchen_take_order(r->http, &order)) {
	case KITCHEN_NONE:
		return SERVER_PASS;
	case KITCHEN_BAD:
		rc = kitchen_refuse(res);
		break;
	case KITCHEN_STATS:
		rc = stats(res);
		break;
	default:
		return place_order(r, &order, res);
	}
	return rc < 0 ? rc : SERVER_ANSWERED;
}

/* --- opening and closing the kitchen --- */

static int kitchen_open(struct server *srv)
{
	/* TODO(lab 4): open the kitchen: its pool, on the server's loop
	 * (server_loop()). The server calls this once, before any guest
	 * comes; 0 or a negative errno, which stops the server.
	 */
	(void)srv;
	return 0;
}

/* After the last client: queued orders are cancelled, cooking ones
 * finished, and each on_cooked() throws its order away (no guest waits).
 * It waits for the dishes on the stove (KITCHEN_MAX_COOK_MS at most). */
static void kitchen_close(struct server *srv)
{
	/* TODO(lab 4): close the kitchen's pool. */
	(void)srv;
}

const struct server_lab server_lab = {
    .open = kitchen_open,
    .close = kitchen_close,
    .route = kitchen_route,
};
