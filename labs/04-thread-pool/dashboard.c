/* dashboard.c - the server's live dashboard (given code, lab 4 on;
 * dashboard.h says what it shows).
 *
 * It comes in through the frame as server_extra (server.h): its route
 * sees every request first, counts it and passes it on, but for its own
 * two paths. It finds the lab's pool without the lab's help: the build
 * wraps tp_init() and tp_close() (lab.mk: -Wl,--wrap), so the pool opened
 * on this server's loop is noted here on its way through, and forgotten
 * when it closes. Everything runs on the loop thread.
 */
#include "dashboard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "list.h"
#include "loop.h"
#include "pool.h"
#include "server.h"

/* One /events client: a taken request, answered as a stream for ever. */
struct watcher {
	struct server_reply reply;
	struct list link; /* in dash.watchers */
	bool streaming;   /* its head is sent */
	bool full;        /* its queue said full: no update until on_drain */
};

/* One server per program, as the kitchen's pool in orders.c. */
static struct {
	struct server *srv;   /* NULL: closed */
	struct tp_pool *pool; /* the lab's, NULL until tp_init() */
	struct ev_timer tick;
	struct list watchers;
	uint64_t requests; /* routed since the server opened */
	uint64_t due;      /* when the tick should fire next */
	/* The last DASHBOARD_WINDOW + 1 ticks' (time, requests), oldest at
	 * `next`: requests_per_s is counted over them. */
	uint64_t at[DASHBOARD_WINDOW + 1], count[DASHBOARD_WINDOW + 1];
	unsigned next;
} dash;

/* --- the numbers --- */

uint64_t dashboard_rate(uint64_t count_then, uint64_t count_now, uint64_t ms)
{
	return ms == 0 ? 0 : (count_now - count_then) * 1000 / ms;
}

/* A number, or null: "%s" of this. */
static const char *or_null(bool known, unsigned v, char *buf, size_t cap)
{
	if (!known)
		return "null";
	snprintf(buf, cap, "%u", v);
	return buf;
}

long dashboard_event(const struct dashboard_sample *s, char *out, size_t cap)
{
	char busy[16], queued[16], size[16];
	int n =
	    snprintf(out, cap,
	             "data: {\"t_ms\":%" PRIu64 ",\"requests_per_s\":%" PRIu64
	             ",\"lag_ms\":%" PRIu64 ",\"busy\":%s,\"queued\":%s,"
	             "\"pool_size\":%s,\"connections\":%zu}\n\n",
	             s->t_ms, s->requests_per_s, s->lag_ms,
	             or_null(s->has_pool, s->busy, busy, sizeof(busy)),
	             or_null(s->has_pool, s->queued, queued, sizeof(queued)),
	             or_null(s->has_pool, s->pool_size, size, sizeof(size)),
	             s->connections);

	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

/* Forgets the window: counting starts again from now (a first watcher
 * after none: the ticks before were not taken). */
static void window_reset(uint64_t now)
{
	for (unsigned i = 0; i <= DASHBOARD_WINDOW; i++) {
		dash.at[i] = now;
		dash.count[i] = dash.requests;
	}
	dash.next = 0;
}

/* This tick's numbers; the window moves on by one. */
static void take_sample(struct dashboard_sample *s)
{
	uint64_t now = ev_now(server_loop(dash.srv));
	unsigned oldest = dash.next;
	struct server_stats st;

	dash.at[oldest] = now; /* the oldest slot becomes the newest */
	dash.count[oldest] = dash.requests;
	dash.next = (oldest + 1) % (DASHBOARD_WINDOW + 1);
	*s = (struct dashboard_sample){
	    .t_ms = now,
	    .requests_per_s = dashboard_rate(
	        dash.count[dash.next], dash.requests, now - dash.at[dash.next]),
	    .lag_ms = now > dash.due ? now - dash.due : 0,
	};
	/* The loop restarts a repeating timer from when it fired, not from
	 * when it was due: the next one is due a tick from now. */
	dash.due = now + DASHBOARD_TICK_MS;
	server_stats(dash.srv, &st);
	s->connections = st.clients;
	if (dash.pool != NULL) {
		struct tp_stats p;

		tp_stats(dash.pool, &p);
		s->has_pool = true;
		s->busy = p.busy;
		s->queued = p.queued;
		s->pool_size = p.size;
	}
}

/* --- the watchers --- */

/* The client left (or its connection failed): the watcher goes. The
 * timer stops with the last one. */
static void on_gone(struct server_reply *rp)
{
	struct watcher *w = rp->data;

	list_remove(&w->link);
	free(w);
	if (list_empty(&dash.watchers))
		ev_timer_stop(&dash.tick);
}

static void on_drain(struct server_reply *rp)
{
	struct watcher *w = rp->data;

	w->full = false;
}

/* The head, once: an event stream of unknown length (chunked). */
static int begin(struct watcher *w)
{
	struct app_response head = {.status = 200,
	                            .content_type = "text/event-stream",
	                            .extra = "Cache-Control: no-store\r\n",
	                            .body_len = HTTP_CHUNKED,
	                            .send_body = 1};
	int rc = server_stream(&w->reply, &head, on_drain);

	w->streaming = rc == 0;
	return rc;
}

/* One update to one watcher, unless its queue is full: a client that does
 * not read misses updates, and costs no more memory. Any error means the
 * frame has closed the client and on_gone has freed w. */
static void send_to(struct watcher *w, const char *event, size_t len)
{
	int rc;

	if (!w->streaming && begin(w) < 0)
		return;
	if (w->full)
		return;
	rc = server_write(&w->reply, event, len);
	if (rc == 1)
		w->full = true;
}

static void on_tick(struct ev_timer *t)
{
	struct dashboard_sample s;
	char event[256];
	long len;

	(void)t;
	take_sample(&s);
	len = dashboard_event(&s, event, sizeof(event));
	if (len < 0)
		return;
	/* send_to() may free the watcher it is given (on_gone): take the
	 * next one first. */
	for (struct list *l = dash.watchers.next, *next; l != &dash.watchers;
	     l = next) {
		next = l->next;
		send_to(container_of(l, struct watcher, link), event,
		        (size_t)len);
	}
}

/* GET /events: the request is taken, and answered by the ticks. */
static int watch(struct server_req *r, struct app_response *res)
{
	struct ev_loop *loop = server_loop(dash.srv);
	struct watcher *w;

	if (r->http->method == HTTP_HEAD) {
		*res = (struct app_response){
		    .status = 200,
		    .content_type = "text/event-stream",
		    .extra = "Cache-Control: no-store\r\n"};
		return SERVER_ANSWERED;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	/* The first watcher starts the ticks, before anything is taken: a
	 * timer that cannot start leaves nothing to undo but w. */
	if (list_empty(&dash.watchers)) {
		window_reset(ev_now(loop));
		dash.due = ev_now(loop) + DASHBOARD_TICK_MS;
		if (ev_timer_start(&dash.tick, DASHBOARD_TICK_MS,
		                   DASHBOARD_TICK_MS) < 0) {
			free(w);
			return -ENOMEM;
		}
	}
	w->reply.data = w;
	list_append(&dash.watchers, &w->link);
	server_take(r, &w->reply, on_gone);
	return SERVER_LATER;
}

/* --- the page --- */

/* Self-contained: styles and script inline, nothing fetched but
 * /events. */
static const char page_html[] =
    "<!doctype html>\n"
    "<html lang='en'><head><meta charset='utf-8'>\n"
    "<title>The kitchen, live</title>\n"
    "<style>\n"
    "body{font:15px system-ui,sans-serif;margin:24px;background:#fafaf7;"
    "color:#222}\n"
    "h1{font-size:20px;margin:0 0 4px}\n"
    "#state{color:#888;font-size:13px}\n"
    ".tiles{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}\n"
    ".tile{background:#fff;border:1px solid #ddd;border-radius:8px;"
    "padding:10px 14px;min-width:150px}\n"
    ".tile b{display:block;font-size:28px;font-variant-numeric:tabular-nums}"
    "\n"
    ".tile span,.chart span{color:#666;font-size:13px}\n"
    ".cooks{display:flex;flex-wrap:wrap;gap:3px;margin-top:6px;"
    "max-width:150px}\n"
    ".cooks i{width:12px;height:12px;border-radius:2px;background:#e3e3e3}\n"
    ".cooks i.on{background:#d9822b}\n"
    ".chart{margin:12px 0}\n"
    "svg{display:block;background:#fff;border:1px solid #ddd;"
    "border-radius:8px}\n"
    "</style></head><body>\n"
    "<h1>The kitchen, live</h1>\n"
    "<div id='state'>connecting to /events...</div>\n"
    "<div class='tiles'>\n"
    "<div class='tile'><b id='rps'>-</b><span>requests/s</span></div>\n"
    "<div class='tile'><b id='lag'>-</b><span>loop lag, ms</span></div>\n"
    "<div class='tile'><b id='busy'>-</b><span>cooks busy, of "
    "<span id='size'>-</span></span><div class='cooks' id='cooks'></div>"
    "</div>\n"
    "<div class='tile'><b id='queued'>-</b><span>orders queued</span></div>\n"
    "<div class='tile'><b id='conns'>-</b><span>connections open (this page's"
    " too)</span></div>\n"
    "</div>\n"
    "<div class='chart'><span>requests/s, last 30 s (top: "
    "<span id='rps-top'>0</span>)</span>\n"
    "<svg id='rps-chart' width='600' height='60' viewBox='0 0 300 60' "
    "preserveAspectRatio='none'><polyline fill='none' stroke='#2b6cd9' "
    "stroke-width='1.5' vector-effect='non-scaling-stroke'/></svg></div>\n"
    "<div class='chart'><span>loop lag, ms, last 30 s (top: "
    "<span id='lag-top'>0</span>)</span>\n"
    "<svg id='lag-chart' width='600' height='60' viewBox='0 0 300 60' "
    "preserveAspectRatio='none'><polyline fill='none' stroke='#c0392b' "
    "stroke-width='1.5' vector-effect='non-scaling-stroke'/></svg></div>\n"
    "<script>\n"
    "'use strict';\n"
    "const N = 300, hist = {rps: [], lag: []};\n"
    "const $ = (id) => document.getElementById(id);\n"
    "// The value is kept in data-value too: what a test reads.\n"
    "function show(id, v) {\n"
    "  const e = $(id);\n"
    "  e.textContent = v === null ? '-' : v;\n"
    "  e.dataset.value = v === null ? '' : v;\n"
    "}\n"
    "function draw(k, v) {\n"
    "  const h = hist[k], top = Math.max(1, ...h);\n"
    "  h.push(v);\n"
    "  if (h.length > N) h.shift();\n"
    "  const pts = h.map((y, i) => (N - h.length + i) + ',' +\n"
    "                   (58 - 56 * y / Math.max(top, y)).toFixed(1));\n"
    "  $(k + '-chart').firstElementChild.setAttribute('points', pts.join("
    "' '));\n"
    "  $(k + '-top').textContent = Math.max(...h);\n"
    "}\n"
    "function cooks(busy, size) {\n"
    "  const c = $('cooks');\n"
    "  size = Math.min(size, 64);\n"
    "  while (c.children.length < size) "
    "c.appendChild(document.createElement('i'));\n"
    "  while (c.children.length > size) c.lastChild.remove();\n"
    "  [...c.children].forEach((e, i) => e.className = i < busy ? 'on' : "
    "'');\n"
    "}\n"
    "let samples = 0;\n"
    "const es = new EventSource('/events');\n"
    "es.onopen = () => $('state').textContent = 'live: an update every 100 "
    "ms';\n"
    "es.onerror = () => $('state').textContent = 'disconnected: retrying...';"
    "\n"
    "es.onmessage = (e) => {\n"
    "  const d = JSON.parse(e.data);\n"
    "  document.body.dataset.samples = ++samples;\n"
    "  show('rps', d.requests_per_s);\n"
    "  show('lag', d.lag_ms);\n"
    "  show('busy', d.busy);\n"
    "  show('size', d.pool_size);\n"
    "  show('queued', d.queued);\n"
    "  show('conns', d.connections);\n"
    "  if (d.pool_size !== null) cooks(d.busy, d.pool_size);\n"
    "  draw('rps', d.requests_per_s);\n"
    "  draw('lag', d.lag_ms);\n"
    "};\n"
    "</script></body></html>\n";

static int page(const struct http_request *req, struct app_response *res)
{
	char *body = malloc(sizeof(page_html) - 1);

	if (body == NULL)
		return -ENOMEM;
	memcpy(body, page_html, sizeof(page_html) - 1);
	*res = (struct app_response){.status = 200,
	                             .content_type = "text/html; charset=utf-8",
	                             .body = body,
	                             .body_len = sizeof(page_html) - 1,
	                             .send_body = req->method == HTTP_GET};
	return SERVER_ANSWERED;
}

/* --- the frame's part --- */

/* path == lit, lit a string literal: the length first, so that the
 * usual request costs a comparison of two numbers. */
#define PATH_IS(path, lit)                                                     \
	((path).n == sizeof(lit) - 1 && memcmp((path).p, lit, (path).n) == 0)

static int dashboard_route(struct server_req *r, struct app_response *res)
{
	const struct http_request *req = r->http;

	dash.requests++;
	if (req->method == HTTP_OTHER)
		return SERVER_PASS; /* app_handle()'s 405 */
	if (PATH_IS(req->path, "/events"))
		return watch(r, res);
	if (PATH_IS(req->path, "/dashboard"))
		return page(req, res);
	return SERVER_PASS;
}

/* Opens nothing the kernel counts (no descriptor): a server short of
 * them fails where it did before. */
static int dashboard_open(struct server *srv)
{
	int rc;

	dash.srv = srv;
	dash.pool = NULL;
	dash.requests = 0;
	list_init(&dash.watchers);
	if ((rc = ev_timer_init(server_loop(srv), &dash.tick, on_tick)) < 0)
		return rc;
	/* While clients watch, their connections keep the loop alive; the
	 * timer itself never does. */
	ev_unref(&dash.tick.h);
	return 0;
}

/* After every client has gone (each watcher's on_gone has run). */
static void dashboard_close(struct server *srv)
{
	(void)srv;
	ev_close(&dash.tick.h, NULL);
	dash.srv = NULL;
	dash.pool = NULL;
}

const struct server_lab server_extra = {
    .open = dashboard_open,
    .close = dashboard_close,
    .route = dashboard_route,
};

/* --- the lab's pool, noted on its way through (lab.mk's --wrap) --- */

int __real_tp_init(struct tp_pool *p, struct ev_loop *loop);
int __real_tp_close(struct tp_pool *p);
int __wrap_tp_init(struct tp_pool *p, struct ev_loop *loop);
int __wrap_tp_close(struct tp_pool *p);

int __wrap_tp_init(struct tp_pool *p, struct ev_loop *loop)
{
	int rc = __real_tp_init(p, loop);

	/* The first pool on the dashboard's loop; a test's own pools (no
	 * server open) are none of its business. */
	if (rc == 0 && dash.srv != NULL && dash.pool == NULL &&
	    loop == server_loop(dash.srv))
		dash.pool = p;
	return rc;
}

int __wrap_tp_close(struct tp_pool *p)
{
	if (p == dash.pool)
		dash.pool = NULL;
	return __real_tp_close(p);
}
