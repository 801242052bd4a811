/* kitchen.c - what the lab 4 server cooks on the pool (given code).
 *
 * Orders are read from the request here, on the loop thread, and copied
 * whole into struct kitchen_order: the request's bytes live in the
 * connection's buffer, which the loop may reuse long before a cook gets
 * to the order. The work itself touches nothing but the order.
 */
#include "kitchen.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char text_plain[] = "text/plain; charset=utf-8";

/* --- reading the order --- */

/* A decimal number in min..max: digits only, no sign, no spaces. */
static bool parse_num(struct http_str s, uint64_t min, uint64_t max,
                      uint64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0)
		return false;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s.p[i] - '0');
		if (v > max)
			return false; /* so v * 10 never overflows */
	}
	if (v < min)
		return false;
	*out = v;
	return true;
}

/* Takes the next name=value off the front of *q, as strsep() takes the
 * next field: q->p is NULL after the last one. false for a piece with no
 * '=' (an empty piece too: "ms=5&" ends in one). */
static bool next_param(struct http_str *q, struct http_str *name,
                       struct http_str *value)
{
	const char *amp = memchr(q->p, '&', q->n);
	size_t len = amp != NULL ? (size_t)(amp - q->p) : q->n;
	const char *eq = memchr(q->p, '=', len);

	if (eq == NULL)
		return false;
	*name = (struct http_str){q->p, (size_t)(eq - q->p)};
	*value = (struct http_str){eq + 1, len - name->n - 1};
	if (amp != NULL)
		*q = (struct http_str){amp + 1, q->n - len - 1};
	else
		*q = (struct http_str){NULL, 0};
	return true;
}

/* Where name is in names[0..n), or n. */
static size_t index_of(const char *const names[], size_t n,
                       struct http_str name)
{
	size_t i = 0;

	while (i < n && !http_str_eq(name, names[i]))
		i++;
	return i;
}

/* Finds the value of each of the n names in query. Any other name, a name
 * given twice or not at all, or a piece that is not name=value makes the
 * query bad: a typo should be a 400, not an order for something else. */
static bool read_params(struct http_str query, const char *const names[],
                        struct http_str values[], size_t n)
{
	struct http_str name, value;
	size_t i;

	if (query.n == 0)
		return false;
	for (i = 0; i < n; i++)
		values[i] = (struct http_str){NULL, 0};
	while (query.p != NULL) {
		if (!next_param(&query, &name, &value))
			return false;
		i = index_of(names, n, name);
		if (i == n || values[i].p != NULL)
			return false;
		values[i] = value;
	}
	for (i = 0; i < n; i++) {
		if (values[i].p == NULL)
			return false;
	}
	return true;
}

/* Printable ASCII: nothing that could end a line in a log, and no byte
 * whose meaning depends on an encoding. '&' never gets here. */
static bool text_ok(struct http_str text)
{
	if (text.n > KITCHEN_MAX_TEXT)
		return false;
	for (size_t i = 0; i < text.n; i++) {
		unsigned char c = (unsigned char)text.p[i];

		if (c < 0x20 || c > 0x7e)
			return false;
	}
	return true;
}

/* cook: ms=N */
static enum kitchen_dish take_cook(struct http_str query,
                                   struct kitchen_order *o)
{
	static const char *const names[] = {"ms"};
	struct http_str v[1];
	uint64_t ms;

	if (!read_params(query, names, v, 1) ||
	    !parse_num(v[0], 0, KITCHEN_MAX_COOK_MS, &ms))
		return KITCHEN_BAD;
	o->dish = KITCHEN_COOK;
	o->ms = (int)ms;
	return KITCHEN_COOK;
}

/* hash: rounds=N&text=T, in either order */
static enum kitchen_dish take_hash(struct http_str query,
                                   struct kitchen_order *o)
{
	static const char *const names[] = {"rounds", "text"};
	struct http_str v[2];

	if (!read_params(query, names, v, 2) ||
	    !parse_num(v[0], 1, KITCHEN_MAX_ROUNDS, &o->rounds) ||
	    !text_ok(v[1]))
		return KITCHEN_BAD;
	o->dish = KITCHEN_HASH;
	memcpy(o->text, v[1].p, v[1].n);
	o->text_len = (unsigned)v[1].n;
	return KITCHEN_HASH;
}

static void cook_now(struct kitchen_order *o);

/* KITCHEN_ON_LOOP=1: the experiment of handout 4.10, a waiter who cooks.
 * Read at each order, so that nothing is cached across tests. */
static bool cooks_on_loop(void)
{
	const char *v = getenv("KITCHEN_ON_LOOP");

	return v != NULL && strcmp(v, "1") == 0;
}

static enum kitchen_dish take_order(const struct http_request *req,
                                    struct kitchen_order *o)
{
	struct http_str path = req->path;
	enum kitchen_dish dish = KITCHEN_NONE;

	*o = (struct kitchen_order){.head_only = req->method == HTTP_HEAD};
	if (http_str_eq(path, "/cook"))
		dish = take_cook(req->query, o);
	else if (http_str_eq(path, "/hash"))
		dish = take_hash(req->query, o);
	else if (http_str_eq(path, "/stats"))
		dish = req->query.n == 0 ? KITCHEN_STATS : KITCHEN_BAD;
	return dish;
}

/* With EV_TRACE set, an order for the pool is marked when it is taken: the
 * trace's arrow to its cook starts here, and it counts as queued until a
 * cook takes it (kitchen_work()) or it is cancelled (kitchen_respond()). */
enum kitchen_dish kitchen_take_order(const struct http_request *req,
                                     struct kitchen_order *o)
{
	enum kitchen_dish dish = take_order(req, o);
	bool for_pool = dish == KITCHEN_COOK || dish == KITCHEN_HASH;

	if (for_pool && tracing()) {
		trace_mark_now(&o->queued);
		trace_queue_add(1);
	}
	if (for_pool && cooks_on_loop())
		cook_now(o); /* here, on the loop thread: everyone waits */
	return dish;
}

/* --- the work, on a pool thread --- */

struct kitchen_order *kitchen_order_of(struct tp_work *w)
{
	return container_of(w, struct kitchen_order, work);
}

/* Blocks the thread for ms milliseconds, however many signals interrupt
 * it. An absolute deadline makes resuming trivial: sleep again until the
 * same moment. */
static void block_for(int ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	/* It returns the error, not -1: errno is left alone. */
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
	       EINTR)
		;
}

uint64_t kitchen_hash(const char *text, unsigned len, uint64_t rounds)
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */

	for (unsigned i = 0; i < len; i++) {
		h ^= (unsigned char)text[i];
		h *= 0x100000001b3ULL;
	}
	/* MurmurHash3's finalizer, halved. Each round needs the last one's
	 * result, so no compiler or CPU can skip or overlap rounds: the
	 * cost really is `rounds` times one round. */
	for (uint64_t r = 0; r < rounds; r++) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h;
}

/* The job's slice on the lane of the thread that cooked it. */
static void trace_job(const struct kitchen_order *o, double start)
{
	double end = trace_now();
	char name[64], args[64];

	if (o->dish == KITCHEN_COOK)
		snprintf(name, sizeof(name), "cook ms=%d", o->ms);
	else
		snprintf(name, sizeof(name), "hash rounds=%llu",
		         (unsigned long long)o->rounds);
	snprintf(args, sizeof(args), "{\"queued_us\":%.0f}",
	         start - o->queued.ts);
	trace_slice("job", name, start, end - start, args);
}

static void cook_now(struct kitchen_order *o)
{
	double start = tracing() ? trace_now() : 0;

	if (o->dish == KITCHEN_COOK)
		block_for(o->ms);
	else
		o->digest = kitchen_hash(o->text, o->text_len, o->rounds);
	o->done = true;
	if (tracing())
		trace_job(o, start);
}

/* A cook takes the order: the trace's arrow ends here, on his lane. */
void kitchen_work(struct tp_work *w)
{
	struct kitchen_order *o = kitchen_order_of(w);

	if (tracing()) {
		trace_queue_add(-1);
		trace_flow("queued", &o->queued, trace_now());
	}
	if (!o->done)
		cook_now(o);
}

/* --- the answers --- */

/* All that can be said without memory: a 500 with no body. */
static int out_of_memory(struct app_response *res)
{
	res->status = 500;
	res->content_type = NULL;
	res->body = NULL;
	res->body_len = 0;
	return -ENOMEM;
}

/* Makes res a fresh response of this type whose body is printf(fmt, ...). */
static int set_body(struct app_response *res, int status, const char *type,
                    const char *fmt, ...)
{
	va_list ap;
	char *body;
	int n;

	memset(res, 0, sizeof(*res));
	va_start(ap, fmt);
	n = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (n < 0)
		return out_of_memory(res);
	res->status = status;
	res->content_type = type;
	res->body = body;
	res->body_len = (size_t)n;
	res->send_body = 1;
	return 0;
}

int kitchen_respond(const struct kitchen_order *o, int status,
                    struct app_response *res)
{
	int rc = 0;

	if (status != 0 && tracing())
		trace_queue_add(-1); /* never cooked: it leaves the queue */
	if (status != 0)
		app_error(503, res); /* cancelled: the kitchen closed */
	else if (o->dish == KITCHEN_COOK)
		rc = set_body(res, 200, text_plain, "cooked %d ms\n", o->ms);
	else
		rc = set_body(res, 200, text_plain, "%016llx\n",
		              (unsigned long long)o->digest);
	/* Built after app_handle() has returned: HEAD is ours to honour. */
	if (o->head_only)
		res->send_body = 0;
	return rc;
}

int kitchen_stats(const struct tp_stats *s, struct app_response *res)
{
	return set_body(res, 200, "application/json",
	                "{\"size\":%u,\"busy\":%u,\"queued\":%u,"
	                "\"completed\":%llu}\n",
	                s->size, s->busy, s->queued,
	                (unsigned long long)s->completed);
}

int kitchen_refuse(struct app_response *res)
{
	app_error(400, res);
	return 0;
}
