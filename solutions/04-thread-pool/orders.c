/* orders.c - the kitchen's routes, wired to the pool through the frame
 * (lab 4).
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
	struct kitchen_order *o = kitchen_order_of(w);
	struct app_response res;

	kitchen_respond(o, status, &res); /* on failure res is a 500 */
	server_answer(&o->reply, &res);   /* -ENOTCONN: nobody to serve */
	app_response_free(&res);
	free(o);
}

/* The guest left while his order waited. Queued, it never cooks and
 * on_cooked() comes with -ECANCELED; cooking (-EBUSY), it comes when
 * done. Either way on_cooked() is where it ends: not here. */
static void on_gone(struct server_reply *rp)
{
	struct kitchen_order *o = rp->data;

	tp_cancel(&o->work);
}

/* Pins the order on the kitchen's rail and takes the request: its guest
 * waits for on_cooked(). */
static int place_order(struct server_req *r, const struct kitchen_order *order,
                       struct app_response *res)
{
	struct kitchen_order *o = malloc(sizeof(*o));
	int rc;

	if (o == NULL)
		return -ENOMEM;
	*o = *order;
	o->reply.data = o;
	rc = tp_submit(&pool, &o->work, kitchen_work, on_cooked);
	if (rc < 0) {
		/* No cook could be hired: say so now, not never. */
		rc = kitchen_respond(o, -ECANCELED, res);
		free(o);
		return rc < 0 ? rc : SERVER_ANSWERED;
	}
	server_take(r, &o->reply, on_gone);
	return SERVER_LATER;
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
	return tp_init(&pool, server_loop(srv));
}

/* After the last client: queued orders are cancelled, cooking ones
 * finished, and each on_cooked() throws its order away (no guest waits).
 * It waits for the dishes on the stove (KITCHEN_MAX_COOK_MS at most). */
static void kitchen_close(struct server *srv)
{
	(void)srv;
	tp_close(&pool);
}

const struct server_lab server_lab = {
    .open = kitchen_open,
    .close = kitchen_close,
    .route = kitchen_route,
};
