/* lab4.c - the checks of lab 4, the kitchen: a thread pool wired to the
 * loop. The pool is specified by its unit tests (exactly once, thread
 * identity, wake-ups, cancel, close) and by helgrind; the server is watched
 * from outside while its kitchen is full: orders must come back in waves
 * of the pool's size, /stats must tell the truth, and the waiter must keep
 * answering GET / in the meantime.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grader.h"
#include "lab1.h"
#include "lab2.h"
#include "lab3.h"
#include "probe.h"
#include "stats.h"
#include "target.h"
#include "util.h"

enum {
	REPLY_MS = 3000,
	COOK_MS = 1000, /* one order in the wave checks */
	POOL_SIZE = 4,  /* the default size the lab asks for */
	ORDERS = 10,    /* 4 cook, 6 wait: the scene of the lab */
	SLACK_MS = 80,  /* a reply before its wave, by this much, is early */
	LATE_MS = 700,  /* a reply after its wave, by this much, is late */
};

/* The server's kitchen_hash(), computed here to check /hash. */
static uint64_t hash_of(const char *text, uint64_t rounds)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const char *p = text; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	while (rounds-- > 0) {
		h ^= h >> 33;
		h *= 0xff51afd7ed558ccdULL;
		h ^= h >> 33;
	}
	return h;
}

/* ---- many orders at once ----------------------------------------------- */

struct orders {
	int n;
	int fd[16];
	double sent_ms;
	double ms[16];  /* when its reply began, from sent_ms; -1: none */
	int status[16]; /* 0: no reply */
};

/* Opens n connections and sends each the request, as one burst. */
static void place(struct orders *o, int port, int n, const char *req)
{
	o->n = n;
	for (int i = 0; i < n; i++) {
		o->fd[i] = probe_connect(port, REPLY_MS);
		o->ms[i] = -1;
		o->status[i] = 0;
	}
	o->sent_ms = probe_now_ms();
	for (int i = 0; i < n; i++)
		probe_send(o->fd[i], req, strlen(req), 0, 0);
}

/* Waits until every order has its reply (Connection: close) or until
 * timeout_ms after they were sent; records when each reply began. */
static void collect(struct orders *o, int timeout_ms)
{
	struct pollfd pfd[16];
	char buf[4096];
	int open = 0;

	for (int i = 0; i < o->n; i++) {
		pfd[i] = (struct pollfd){.fd = o->fd[i], .events = POLLIN};
		open += o->fd[i] >= 0;
	}
	while (open > 0) {
		int left = timeout_ms - (int)(probe_now_ms() - o->sent_ms);
		if (left <= 0 || poll(pfd, (nfds_t)o->n, left) <= 0)
			break;
		for (int i = 0; i < o->n; i++) {
			if (pfd[i].fd < 0 ||
			    !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t k = read(pfd[i].fd, buf, sizeof(buf) - 1);
			if (k > 0 && o->ms[i] < 0) {
				buf[k] = '\0';
				o->ms[i] = probe_now_ms() - o->sent_ms;
				sscanf(buf, "HTTP/1.%*d %d", &o->status[i]);
			}
			if (k <= 0) {
				pfd[i].fd = -1;
				open--;
			}
		}
	}
}

static void close_orders(struct orders *o)
{
	for (int i = 0; i < o->n; i++)
		if (o->fd[i] >= 0)
			close(o->fd[i]);
	o->n = 0;
}

static int answered(const struct orders *o)
{
	int n = 0;

	for (int i = 0; i < o->n; i++)
		n += o->status[i] == 200;
	return n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Where a timing check fails, the trace of the student's own run shows
 * why: say how to get it and what to look for. */
static void see_trace(struct result *r, const char *look_for)
{
	result_printf(r,
	              "see it: `make trace LAB=4` runs 10 orders on your "
	              "server and draws every thread's timeline "
	              "(build/trace-lab4.html); %s\n",
	              look_for);
}

/* The replies, sorted, must come in waves of `size` orders, one every
 * COOK_MS: reply k (from 0) in wave k / size + 1. */
static bool in_waves(struct orders *o, int size, struct result *r)
{
	double t[16];
	bool ok = true;

	for (int i = 0; i < o->n; i++)
		t[i] = o->ms[i] < 0 || o->status[i] != 200 ? 1e9 : o->ms[i];
	qsort(t, (size_t)o->n, sizeof(t[0]), cmp_double);
	result_printf(r, "%d × /cook?ms=%d on a pool of %d; replies at (ms):",
	              o->n, COOK_MS, size);
	for (int i = 0; i < o->n; i++)
		result_printf(r, t[i] < 1e9 ? " %.0f" : " none", t[i]);
	result_printf(r, "\n");
	for (int i = 0; i < o->n && ok; i++) {
		int wave = i / size + 1;
		double due = wave * COOK_MS;

		if (t[i] < due - SLACK_MS) {
			result_printf(r,
			              "reply %d came at %.0f ms, in wave %d's "
			              "place it should be about %.0f ms: more "
			              "than %d orders cooked at once (a thread "
			              "per order? the pool's size ignored?)\n",
			              i + 1, t[i], wave, due, size);
			ok = false;
			see_trace(r, "more jobs overlap on the cook lanes "
			             "than there are cooks");
		} else if (t[i] > due + LATE_MS) {
			result_printf(
			    r,
			    "reply %d came %s, expected about %.0f ms "
			    "(wave %d): fewer than %d cooks at once, or "
			    "work done on the loop thread\n",
			    i + 1, t[i] < 1e9 ? "late" : "never", due, wave,
			    size);
			ok = false;
			see_trace(r, "a long slice on the loop lane is work "
			             "done on the loop; a cook lane idle while "
			             "the queue counter is above 0 is a lost "
			             "wake-up");
		}
	}
	return ok;
}

/* ---- /stats ------------------------------------------------------------ */

struct pool_stats {
	long size, busy, queued, completed;
};

static long json_field(const char *body, const char *key)
{
	char pat[32];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = body ? strstr(body, pat) : NULL;
	return p ? strtol(p + strlen(pat), NULL, 10) : -1;
}

/* GET /stats on a connection of its own; false (r says why) on failure.
 * Quiet: says nothing when it worked. */
static bool read_stats(struct result *r, int port, struct pool_stats *s)
{
	struct http_reply rep;
	static const char req[] = REQ_CLOSE("GET /stats");

	if (!lab1_expect(r, port, req, strlen(req), 200, &rep))
		return false;
	*s = (struct pool_stats){
	    json_field(rep.body, "size"), json_field(rep.body, "busy"),
	    json_field(rep.body, "queued"), json_field(rep.body, "completed")};
	probe_reply_free(&rep);
	return true;
}

static void print_stats(struct result *r, const struct pool_stats *s)
{
	result_printf(r,
	              "GET /stats: {\"size\":%ld,\"busy\":%ld,\"queued\":%ld,"
	              "\"completed\":%ld}\n",
	              s->size, s->busy, s->queued, s->completed);
}

/* The same, and says what it read. */
static bool get_stats(struct result *r, int port, struct pool_stats *s)
{
	if (!read_stats(r, port, s))
		return false;
	print_stats(r, s);
	return true;
}

/* Asks /stats every 20 ms until busy and queued are as given or ms have
 * passed; says what it read last. */
static bool await_stats(struct result *r, int port, struct pool_stats *s,
                        long busy, long queued, int ms)
{
	double until = probe_now_ms() + ms;
	bool ok;

	while ((ok = read_stats(r, port, s)) &&
	       (s->busy != busy || s->queued != queued) &&
	       probe_now_ms() < until)
		probe_sleep_ms(20);
	if (ok)
		print_stats(r, s);
	return ok && s->busy == busy && s->queued == queued;
}

static bool stats_are(struct result *r, const struct pool_stats *s, long size,
                      long busy, long queued, long completed)
{
	if (s->size == size && s->busy == busy && s->queued == queued &&
	    (completed < 0 || s->completed == completed))
		return true;
	result_printf(r,
	              "expected size %ld, busy %ld, queued %ld, completed "
	              "%ld; got %ld, %ld, %ld, %ld\n",
	              size, busy, queued, completed, s->size, s->busy,
	              s->queued, s->completed);
	return false;
}

/* ---- integration ------------------------------------------------------- */

/* HEAD /cook: the head GET would get (Content-Length 13, for "cooked 50
 * ms\n") and no body. The reply is read to the end of the connection:
 * any byte after the head is a body. */
static bool cook_head(struct result *r, int port)
{
	static const char req[] = REQ_CLOSE("HEAD /cook?ms=50");
	struct http_reply rep;
	char len[32] = "", a[200];
	int fd = probe_connect(port, REPLY_MS);
	bool ok;

	if (fd < 0) {
		result_printf(r, "HEAD /cook?ms=50: could not connect: %s\n",
		              strerror(-fd));
		return false;
	}
	probe_send(fd, req, strlen(req), 0, 0);
	probe_recv(fd, &rep, false, REPLY_MS);
	close(fd);
	probe_header(&rep, "Content-Length", len, sizeof(len));
	ok = rep.status == 200 && strcmp(len, "13") == 0 && rep.body_len == 0;
	if (ok)
		result_printf(r, "HEAD /cook?ms=50: 200, Content-Length 13, "
		                 "no body\n");
	else
		result_printf(
		    r,
		    "HEAD /cook?ms=50: status %d, Content-Length %s, "
		    "%zu body bytes%s%s; expected 200, 13 (GET's "
		    "\"cooked 50 ms\\n\") and no body: the order must "
		    "keep the head_only that kitchen_take_order() set "
		    "(copy the whole order)\n",
		    rep.status, len[0] ? len : "(none)", rep.body_len,
		    rep.body_len ? ": " : "",
		    rep.body_len
		        ? probe_quote(rep.body, rep.body_len, 40, a, sizeof(a))
		        : "");
	probe_reply_free(&rep);
	return ok;
}

static enum verdict cook(struct grader *g, const struct check *c,
                         struct result *r)
{
	static const char req[] = REQ_CLOSE("GET /cook?ms=300");
	struct http_reply rep;
	struct target t;
	char a[200];
	bool ok = false;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (lab1_expect(r, t.port, req, strlen(req), 200, &rep)) {
		result_printf(
		    r, "GET /cook?ms=300: 200 after %.0f ms, body %s\n", rep.ms,
		    probe_quote(rep.body, rep.body_len, 40, a, sizeof(a)));
		ok = rep.ms >= 295 && rep.ms < 2000 && rep.body_len == 14 &&
		     memcmp(rep.body, "cooked 300 ms\n", 14) == 0;
		if (!ok)
			result_printf(r, "expected \"cooked 300 ms\\n\" after "
			                 "at least 300 ms\n");
		probe_reply_free(&rep);
	}
	if (ok)
		ok = cook_head(r, t.port);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

static enum verdict hash(struct grader *g, const struct check *c,
                         struct result *r)
{
	char text[32], req[160], want[32];
	struct http_reply rep;
	struct target t;
	bool ok = false;
	uint64_t rounds = 1000000 + (uint64_t)getpid() % 1000;

	/* A text and a round count of this run: the answer cannot be
	 * remembered, only computed. */
	snprintf(text, sizeof(text), "grader-%ld", (long)probe_now_ms());
	snprintf(req, sizeof(req), REQ_CLOSE("GET /hash?rounds=%llu&text=%s"),
	         (unsigned long long)rounds, text);
	snprintf(want, sizeof(want), "%016llx\n",
	         (unsigned long long)hash_of(text, rounds));
	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (lab1_expect(r, t.port, req, strlen(req), 200, &rep)) {
		ok = rep.body_len == 17 && memcmp(rep.body, want, 17) == 0;
		if (!ok)
			result_printf(
			    r,
			    "/hash?rounds=%llu&text=%s: expected "
			    "body %.16s, got %.*s\n",
			    (unsigned long long)rounds, text, want,
			    (int)(rep.body_len > 40 ? 40 : rep.body_len),
			    rep.body);
		probe_reply_free(&rep);
	}
	static const char bad[] = REQ_CLOSE("GET /hash?rounds=ten&text=x");
	if (ok && !lab1_expect(r, t.port, bad, strlen(bad), 400, NULL))
		ok = false;
	if (ok)
		result_printf(r, "the digest matches; bad arguments get 400\n");
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

static enum verdict fifth_order_waits(struct grader *g, const struct check *c,
                                      struct result *r)
{
	struct orders o;
	struct target t;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	place(&o, t.port, ORDERS, REQ_CLOSE("GET /cook?ms=1000"));
	collect(&o, 3 * COOK_MS + 1500);
	bool ok = in_waves(&o, POOL_SIZE, r);
	close_orders(&o);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

static enum verdict pool_size_env(struct grader *g, const struct check *c,
                                  struct result *r)
{
	static const char *const eight[] = {"EV_THREADPOOL_SIZE=8", NULL};
	static const char *const zero[] = {"EV_THREADPOOL_SIZE=0", NULL};
	static const char *const huge[] = {"EV_THREADPOOL_SIZE=5000", NULL};
	static const struct target_opts pool8 = {.env = eight};
	static const struct target_opts clamped[] = {{.env = zero},
	                                             {.env = huge}};
	struct orders o;
	struct target t;
	struct pool_stats s;
	bool ok;

	if (!target_serve(g, c, &t, &pool8, r))
		return FAIL;
	result_printf(r, "EV_THREADPOOL_SIZE=8: ");
	place(&o, t.port, 9, REQ_CLOSE("GET /cook?ms=1000"));
	collect(&o, 2 * COOK_MS + 1500);
	ok = in_waves(&o, 8, r);
	close_orders(&o);
	if (lab1_done(&t, r, ok ? PASS : FAIL) != PASS)
		return FAIL;

	long sizes[] = {1, 1024};
	for (int i = 0; i < 2 && ok; i++) {
		if (!target_serve(g, c, &t, &clamped[i], r))
			return FAIL;
		result_printf(r, "%s: ", clamped[i].env[0]);
		ok = get_stats(r, t.port, &s);
		if (ok && s.size != sizes[i]) {
			result_printf(r, "expected size %ld\n", sizes[i]);
			ok = false;
		}
		if (lab1_done(&t, r, ok ? PASS : FAIL) != PASS)
			ok = false;
	}
	return ok ? PASS : FAIL;
}

static enum verdict stats_scene(struct grader *g, const struct check *c,
                                struct result *r)
{
	struct orders o;
	struct target t;
	struct pool_stats s;
	bool ok;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	ok = get_stats(r, t.port, &s) && stats_are(r, &s, POOL_SIZE, 0, 0, 0);
	if (ok) {
		place(&o, t.port, ORDERS, REQ_CLOSE("GET /cook?ms=1000"));
		probe_sleep_ms(400);
		result_printf(r, "with 10 orders placed 400 ms ago: ");
		ok = get_stats(r, t.port, &s) &&
		     stats_are(r, &s, POOL_SIZE, POOL_SIZE, ORDERS - POOL_SIZE,
		               0);
		collect(&o, 3 * COOK_MS + 1500);
		close_orders(&o);
	}
	if (ok) {
		result_printf(r, "once all were answered: ");
		ok = get_stats(r, t.port, &s) &&
		     stats_are(r, &s, POOL_SIZE, 0, 0, ORDERS);
	}
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* Closes with a reset (RST), the way a client that crashed leaves. */
static void hang_up(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static enum verdict client_leaves_order(struct grader *g, const struct check *c,
                                        struct result *r)
{
	struct orders gone, stay;
	struct target t;
	struct pool_stats s;
	bool ok;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	/* Six orders of a second: four cook, two wait. Then their clients
	 * hang up. */
	place(&gone, t.port, 6, REQ_CLOSE("GET /cook?ms=1000"));
	result_printf(r, "6 × /cook?ms=1000, placed: ");
	ok = await_stats(r, t.port, &s, POOL_SIZE, 2, 800);
	if (!ok)
		result_printf(r, "expected busy 4, queued 2 within 800 ms\n");
	for (int i = 0; i < gone.n; i++)
		hang_up(gone.fd[i]);
	gone.n = 0;
	if (ok) {
		/* The two that wait are taken back at once (on_gone), long
		 * before a cook is free. */
		result_printf(r, "their 6 clients hung up (a reset): ");
		ok = await_stats(r, t.port, &s, POOL_SIZE, 0, 400);
		if (!ok)
			result_printf(
			    r, "expected queued 0 within 400 ms, while "
			       "the cooks were still busy: an order left "
			       "queued is cooked for nobody\n");
	}
	if (ok) {
		place(&stay, t.port, 4, REQ_CLOSE("GET /cook?ms=300"));
		collect(&stay, 3000);
		int served = answered(&stay);
		close_orders(&stay);
		result_printf(r,
		              "of 4 clients who ordered /cook?ms=300 next, %d "
		              "were answered\n",
		              served);
		ok = served == 4;
	}
	if (ok) {
		/* Cooked: the four the cooks had started, and the four
		 * served; never the two taken back. */
		result_printf(r, "once they were: ");
		ok = get_stats(r, t.port, &s) &&
		     stats_are(r, &s, POOL_SIZE, 0, 0, 8);
		if (!ok && s.completed > 8)
			result_printf(r, "completed counts work that ran; the "
			                 "2 orders taken back never cooked\n");
	}
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* ---- latency ----------------------------------------------------------- */

/* GET / while four orders cook and six wait: the waiter does not cook. */
static enum verdict loop_free_while_cooking(struct grader *g,
                                            const struct check *c,
                                            struct result *r)
{
	enum { N = 40 };
	struct orders o;
	struct target t;
	double ms[N];
	int n = 0;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	place(&o, t.port, ORDERS, REQ_CLOSE("GET /cook?ms=1500"));
	probe_sleep_ms(100);
	int fd = probe_connect(t.port, REPLY_MS);
	double t0 = probe_now_ms();
	while (n < N && probe_now_ms() - t0 < 3000) {
		struct http_reply rep;

		probe_send(fd, REQ("GET /"), strlen(REQ("GET /")), 0, 0);
		if (probe_recv(fd, &rep, false, 3000) < 0 ||
		    rep.status != 200) {
			probe_reply_free(&rep);
			break;
		}
		ms[n++] = rep.ms;
		probe_reply_free(&rep);
		probe_sleep_ms(10);
	}
	close(fd);
	collect(&o, 1500 + LATE_MS); /* the first wave */
	int cooked = answered(&o);
	close_orders(&o);
	if (n < N) {
		result_printf(r,
		              "only %d of %d GET / were answered within 3 s "
		              "while 10 orders of 1.5 s were in the kitchen: "
		              "the loop is cooking, not serving\n",
		              n, N);
		see_trace(r, "the long slice on the loop lane is the cooking "
		             "your loop did instead of serving");
		return lab1_done(&t, r, FAIL);
	}
	if (cooked < POOL_SIZE) {
		result_printf(r,
		              "%d of the first 4 orders came back 200 in time: "
		              "with no kitchen working there is nothing to "
		              "measure\n",
		              cooked);
		return lab1_done(&t, r, FAIL);
	}
	double p90 = stats_percentile(ms, N, 90);
	result_printf(r,
	              "%d × GET / while the pool is saturated: median %.2f "
	              "ms, p90 %.2f ms\n",
	              N, stats_percentile(ms, N, 50), p90);
	if (p90 < 50)
		return lab1_done(&t, r, PASS);
	result_printf(r, "expected p90 under 50 ms\n");
	see_trace(r, "long slices on the loop lane are what kept GET / "
	             "waiting");
	return lab1_done(&t, r, FAIL);
}

static enum verdict idle_cpu_after_work(struct grader *g, const struct check *c,
                                        struct result *r)
{
	struct orders o;
	struct target t;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	place(&o, t.port, 6, REQ_CLOSE("GET /cook?ms=100"));
	collect(&o, 3000);
	int cooked = answered(&o);
	close_orders(&o);
	if (cooked < 6) {
		result_printf(r,
		              "only %d of 6 orders came back 200: the kitchen "
		              "must work before its idle CPU can be measured\n",
		              cooked);
		return lab1_done(&t, r, FAIL);
	}
	probe_sleep_ms(200);
	double before = target_cpu_ms(&t);
	probe_sleep_ms(1000);
	double used = target_cpu_ms(&t) - before;
	result_printf(r, "CPU time in 1 s of idling after 6 orders: %.0f ms\n",
	              used);
	if (before >= 0 && used <= 50)
		return lab1_done(&t, r, PASS);
	result_printf(r, "expected at most 50 ms: the loop spins\n");
	return lab1_done(&t, r, FAIL);
}

/* ---- the experiment: the waiter who cooks ------------------------------ */

enum { HASH_MS = 1000, ROOT_MAX = 80 };

/* Rounds of kitchen_hash() that take about ms of one core here, timed on
 * the grader's own copy: the same loop of multiplies the server runs. */
static uint64_t rounds_for(int ms)
{
	enum { TRY = 20000000 };
	double t0 = probe_now_ms();
	volatile uint64_t sink = hash_of("calibrate", TRY);
	double took = probe_now_ms() - t0;

	(void)sink;
	if (took <= 0)
		took = 1;
	double rounds = TRY * (ms / took);
	return rounds > 1e9 ? 1000000000ULL : (uint64_t)rounds;
}

/* GET / on one keep-alive connection every 25 ms while the /hash on hfd
 * cooks, for at most budget ms: their times into ms[]. Returns how many;
 * *hash_ms is when the /hash reply began (-1: not within budget). */
static int root_while_hashing(int port, int hfd, double sent, int budget,
                              double *ms, double *hash_ms)
{
	int fd = probe_connect(port, REPLY_MS), n = 0;
	struct pollfd p = {hfd, POLLIN, 0};

	*hash_ms = -1;
	while (fd >= 0 && n < ROOT_MAX && probe_now_ms() - sent < budget) {
		struct http_reply rep;

		probe_send(fd, REQ("GET /"), strlen(REQ("GET /")), 0, 0);
		int rc = probe_recv(fd, &rep, false, budget);
		bool ok = rc >= 0 && rep.status == 200;
		if (ok)
			ms[n++] = rep.ms;
		probe_reply_free(&rep);
		if (!ok || poll(&p, 1, 25) != 0)
			break; /* the dish is out (or the server is gone) */
	}
	if (fd >= 0)
		close(fd);
	int left = budget - (int)(probe_now_ms() - sent);
	if (poll(&p, 1, left > 0 ? left : 0) == 1)
		*hash_ms = probe_now_ms() - sent;
	return n;
}

/* /hash of about a second, with GET / beside it: cooked on the pool,
 * then by the waiter himself (KITCHEN_ON_LOOP=1, kitchen.c). */
static enum verdict hash_on_loop(struct grader *g, const struct check *c,
                                 struct result *r)
{
	static const char *const on_loop[] = {"KITCHEN_ON_LOOP=1", NULL};
	static const struct target_opts opts[] = {{.env = NULL},
	                                          {.env = on_loop}};
	static const char *const who[] = {"on the pool (as you wrote it)",
	                                  "on the loop (KITCHEN_ON_LOOP=1)"};
	uint64_t rounds = rounds_for(HASH_MS);
	char req[128];

	snprintf(req, sizeof(req), REQ_CLOSE("GET /hash?rounds=%llu&text=aha"),
	         (unsigned long long)rounds);
	result_printf(r,
	              "GET / every 25 ms while one /hash?rounds=%llu (about "
	              "%d ms of CPU) cooks:\n",
	              (unsigned long long)rounds, HASH_MS);
	for (int i = 0; i < 2; i++) {
		struct target t;
		double ms[ROOT_MAX], hash_ms;
		struct stats st;

		if (!target_serve(g, c, &t, &opts[i], r))
			return SKIP;
		int hfd = probe_connect(t.port, REPLY_MS);
		if (hfd < 0 || probe_send(hfd, req, strlen(req), 0, 0) < 0) {
			result_printf(r, "  %s: could not place the order\n",
			              who[i]);
			if (hfd >= 0)
				close(hfd);
			return lab1_done(&t, r, SKIP);
		}
		double sent = probe_now_ms();
		probe_sleep_ms(50); /* the order is in the kitchen */
		int n = root_while_hashing(t.port, hfd, sent, 4 * HASH_MS, ms,
		                           &hash_ms);
		struct http_reply hr = {0};
		if (hash_ms >= 0)
			probe_recv(hfd, &hr, false, REPLY_MS);
		int status = hr.status;
		probe_reply_free(&hr);
		close(hfd);
		stats_summarize(ms, (size_t)n, &st);
		if (hash_ms >= 0 && status != 200)
			result_printf(r,
			              "  %s: /hash answered %d after %.0f ms, "
			              "not 200: no numbers (is the kitchen "
			              "cooking yet?)\n",
			              who[i], status, hash_ms);
		else if (n == 0 || hash_ms < 0)
			result_printf(
			    r,
			    "  %s: %d GET / answered, /hash %s within "
			    "%d s: no numbers (gave up waiting)\n",
			    who[i], n,
			    hash_ms < 0 ? "not answered" : "answered",
			    4 * HASH_MS / 1000);
		else
			result_printf(r,
			              "  %s: /hash took %.0f ms; %zu GET / "
			              "answered meanwhile, median %.1f ms, max "
			              "%.1f ms\n",
			              who[i], hash_ms, st.n, st.p50, st.max);
		if (lab1_done(&t, r, PASS) != PASS)
			return SKIP;
	}
	result_printf(r,
	              "The same second of work either way; what changes is "
	              "who waits for it. On the pool only the /hash client "
	              "waits. On the loop thread every client waits: the GET "
	              "/ sent just after the order is answered only when the "
	              "dish is done. Lab 6 makes this its subject.\n");
	return PASS;
}

/* ---- leaks ------------------------------------------------------------- */

static enum verdict threads(struct grader *g, const struct check *c,
                            struct result *r)
{
	struct orders o;
	struct target t;
	int before, during, after;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	before = target_threads(&t);
	place(&o, t.port, 8, REQ_CLOSE("GET /cook?ms=200"));
	probe_sleep_ms(100);
	during = target_threads(&t);
	collect(&o, 3000);
	close_orders(&o);
	for (int round = 0; round < 5; round++) {
		place(&o, t.port, 8, REQ_CLOSE("GET /cook?ms=10"));
		collect(&o, 3000);
		close_orders(&o);
	}
	after = target_threads(&t);
	result_printf(r,
	              "threads in the server: %d before any order, %d while "
	              "cooking, %d after 48 orders\n",
	              before, during, after);
	if (before == 1 && during == 1 + POOL_SIZE && after == during)
		return lab1_done(&t, r, PASS);
	result_printf(r, "expected 1, then %d, then %d\n", 1 + POOL_SIZE,
	              1 + POOL_SIZE);
	return lab1_done(&t, r, FAIL);
}

/* Lab 2's scenario, then orders: some cooked, some cooking and some queued
 * when SIGTERM comes (the pool must cancel, join and free them all). */
static struct orders at_exit;

static void leak_scenario(struct grader *g, int port)
{
	struct orders o;

	lab2_leak_scenario(g, port);
	place(&o, port, 2, REQ_CLOSE("GET /cook?ms=100"));
	collect(&o, 10000);
	close_orders(&o);
	/* Clients that hang up while their orders cook or wait: the
	 * orders come back (or are cancelled) with nobody to serve. */
	place(&o, port, 6, REQ_CLOSE("GET /cook?ms=300"));
	probe_sleep_ms(100);
	for (int i = 0; i < o.n; i++)
		hang_up(o.fd[i]);
	o.n = 0;
	probe_sleep_ms(1500);
	place(&at_exit, port, 6, REQ_CLOSE("GET /cook?ms=2000"));
	probe_sleep_ms(500);
}

static void leak_cleanup(struct grader *g)
{
	lab2_leak_cleanup(g);
	close_orders(&at_exit);
}

/* ---- the table --------------------------------------------------------- */

static const struct check checks[] = {
    {"build", STAGE_BUILD, 3, check_build,
     "read the first compiler error; fix it; rebuild with `make build LAB=4`",
     NULL, false},

    UNIT(size_from_env, 2,
         "unset, not starting with a digit (\" 8\", \"+8\") or not all "
         "digits: 4; 0: 1; above 1024: 1024, whatever errno was before"),
    UNIT(threads_start_on_first_submit, 2,
         "no thread before the first tp_submit, all of them after it, none "
         "after tp_close"),
    UNIT(thread_start_fails, 2,
         "no thread started: tp_submit returns minus pthread_create's "
         "error and a retry leaks nothing; a partial start: size is the "
         "number of threads that run"),
    UNIT(work_runs_once, 2,
         "each order's work runs exactly once, and its after_work once"),
    UNIT(oldest_first, 1,
         "orders are cooked oldest first, and dishes served oldest first"),
    UNIT(thread_identity, 3,
         "work runs on a pool thread, never the loop's; after_work only on "
         "the loop thread"),
    UNIT(many_jobs, 2,
         "100,000 orders from 4 cooks: none lost, none twice, no crash"),
    UNIT(ping_pong, 3,
         "one order at a time, 20,000 times: no order may wait while a cook "
         "sleeps, no dish while the loop sleeps"),
    UNIT(coalesced_wakeups, 4,
         "dishes finished while the loop is away share one wake-up, and "
         "none is left behind, whenever it arrives"),
    UNIT(loop_alive_while_in_flight, 2,
         "ev_run(EV_RUN_DEFAULT) returns only once no after_work is owed, "
         "and at once when none is"),
    UNIT(cancel_queued, 3,
         "a cancelled queued order never cooks; its after_work comes from "
         "the loop, later, with -ECANCELED, even while every cook is busy"),
    UNIT(cancel_running, 2,
         "a RUNNING or DONE order cannot be cancelled: "
         "-EBUSY; an idle one: -EINVAL"),
    UNIT(stats, 1,
         "tp_stats: busy, queued and completed are exact at every moment"),
    UNIT(close_cancels_queued, 2,
         "when tp_close returns, queued orders were cancelled, running "
         "ones finished, and every after_work has run, on this thread"),
    UNIT(close_waits_running, 2,
         "tp_close returns only once every thread has ended: a running "
         "order finishes first"),
    UNIT(submit_after_close, 1, "after tp_close, tp_submit says -ESHUTDOWN"),
    UNIT(after_work_can_submit, 2,
         "an after_work may submit the next order, a thousand times over"),
    HIDDEN(sizes_concurrency, 1,
           "a pool of N runs N orders at once, whatever N"),
    HIDDEN(cancel_all_then_close, 1,
           "cancelled orders get after_work once, with -ECANCELED, and are "
           "not counted as completed"),
    HIDDEN(close_unused_pool, 1, "a pool never used starts no thread"),
    HIDDEN(submit_during_close, 1,
           "an after_work run by tp_close that submits gets -ESHUTDOWN; "
           "tp_close's cancels leave queued at 0"),
    HIDDEN(reinit_no_leak, 1,
           "init, submit, close 40 times: no thread, descriptor or byte "
           "left"),
    HIDDEN(no_malloc_per_order, 1,
           "the pool allocates nothing per order (pool.h)"),
    HIDDEN(kitchen_full_503, 1,
           "when tp_submit fails, the order is answered 503 at once, and "
           "nothing of it is left"),
    HIDDEN(kitchen_open_fails, 1,
           "kitchen_open returns tp_init's error: the server stops instead of "
           "serving a kitchen without a bell"),

    {"races.helgrind", STAGE_RACES, 8, check_races_helgrind,
     "helgrind saw a variable that a cook and the loop share touched "
     "by both with no lock between them",
     "test_pool:test_races", false},

    AGAIN(integration, 1, get_root, lab1_get_root, 1,
          "answer GET / with 200 and a Content-Length"),
    AGAIN(integration, 2, pipelined, lab2_pipelined, 1,
          "answer pipelined requests in order"),
    AGAIN(integration, 1, clean_exit, lab1_clean_exit, 1,
          "on SIGINT/SIGTERM close the pool (tp_close), then every handle, "
          "and exit 0"),
    AGAIN(integration, 3, idle_timeout, lab3_idle_timeout, 1,
          "keep-alive connections still time out"),
    {"integration.cook", STAGE_INTEGRATION, 3, cook,
     "place_order submits a copy of the whole order (head_only too) and "
     "takes the request (server_take); on_cooked answers it with "
     "kitchen_respond's response (server_answer)",
     NULL, false},
    {"integration.hash", STAGE_INTEGRATION, 3, hash,
     "/hash is cooked like /cook: kitchen_work computes the digest on the "
     "pool",
     NULL, false},
    {"integration.fifth_order_waits", STAGE_INTEGRATION, 6, fifth_order_waits,
     "four cooks by default: the fifth order waits on the queue until one "
     "is free",
     NULL, false},
    {"integration.pool_size_env", STAGE_INTEGRATION, 4, pool_size_env,
     "read EV_THREADPOOL_SIZE in tp_init with tp_size_from", NULL, false},
    {"integration.stats_scene", STAGE_INTEGRATION, 4, stats_scene,
     "/stats is tp_stats: busy and queued as the cooks change them", NULL,
     false},
    {"integration.client_leaves_order", STAGE_INTEGRATION, 3,
     client_leaves_order,
     "on_gone takes a queued order back (tp_cancel); its on_cooked still "
     "comes (-ECANCELED) and is where the order is freed, once",
     NULL, false},

    {"leaks.memory", STAGE_LEAKS, 3, check_leaks_memory,
     "free every order in its after_work, cancelled ones too; tp_close "
     "before the loop closes",
     NULL, false},
    {"leaks.invalid_access", STAGE_LEAKS, 2, check_leaks_invalid,
     "an order freed while the pool still had it? (stack above)", NULL, false},
    {"leaks.descriptors", STAGE_LEAKS, 1, check_leaks_fds,
     "close the eventfd in tp_close", NULL, false},
    {"leaks.threads", STAGE_LEAKS, 1, threads,
     "start the pool's threads once, on the first order, and reuse them", NULL,
     false},

    {"latency.loop_free_while_cooking", STAGE_LATENCY, 6,
     loop_free_while_cooking,
     "the loop thread only submits; the work runs on the pool", NULL, false},
    {"latency.idle_cpu_after_work", STAGE_LATENCY, 3, idle_cpu_after_work,
     "an idle server after its orders: the loop sleeps in epoll_wait", NULL,
     false},
    AGAIN(latency, 3, sleep_1000, lab3_sleep_1000, 2,
          "/sleep is still a timer, not a kitchen order"),
    {"experiment.hash_on_loop", STAGE_EXPERIMENT, 0, hash_on_loop, NULL, NULL,
     false},
    QUIZ(q1),
    QUIZ(q2),
    QUIZ(q3),
    QUIZ(q4),
};

static const struct lab lab4 = {
    .number = 4,
    .dir = "04-thread-pool",
    .title = "the kitchen: a thread pool wired to the loop",
    .checks = checks,
    .nchecks = sizeof(checks) / sizeof(checks[0]),
    .setup = lab1_setup,
    .leak_scenario = leak_scenario,
    .leak_cleanup = leak_cleanup,
};

GRADER_LAB(lab4)
