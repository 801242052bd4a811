/* lab6.c - the checks of lab 6, worker threads: ports and workers are
 * specified by their unit tests and by helgrind; the server is watched
 * from outside while its workers compute: GET / must stay fast, the queue
 * must hold what the workers cannot take yet, /stats and its lag must tell
 * the truth, and a /block on purpose must show what the workers spare us.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
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
	WORKERS = 2, /* EV_WORKERS for every server of this lab's checks */
	MAX_JOBS = 8,
};

static const char *const two_workers[] = {"EV_WORKERS=2", NULL};
static const struct target_opts opts = {.env = two_workers};

/* ---- jobs in flight --------------------------------------------------- */

struct jobs {
	int n;
	int fd[MAX_JOBS];
	double sent_ms;
	double ms[MAX_JOBS]; /* when its reply began, from sent_ms; -1: none */
	int status[MAX_JOBS];
};

static void send_jobs(struct jobs *j, int port, int n, const char *req)
{
	j->n = n;
	for (int i = 0; i < n; i++) {
		j->fd[i] = probe_connect(port, REPLY_MS);
		j->ms[i] = -1;
		j->status[i] = 0;
	}
	j->sent_ms = probe_now_ms();
	for (int i = 0; i < n; i++)
		probe_send(j->fd[i], req, strlen(req), 0, 0);
}

/* Waits up to timeout_ms for every reply's first bytes (its status). */
static void await_jobs(struct jobs *j, int timeout_ms)
{
	struct pollfd p[MAX_JOBS];
	char buf[64];
	int open = 0;

	for (int i = 0; i < j->n; i++) {
		p[i] = (struct pollfd){j->fd[i], POLLIN, 0};
		open += j->fd[i] >= 0;
	}
	while (open > 0 && probe_now_ms() - j->sent_ms < timeout_ms) {
		if (poll(p, (nfds_t)j->n, 50) <= 0)
			continue;
		for (int i = 0; i < j->n; i++) {
			if (p[i].revents == 0)
				continue;
			ssize_t k = recv(p[i].fd, buf, sizeof(buf) - 1, 0);
			if (k > 0 && j->status[i] == 0) {
				buf[k] = '\0';
				j->ms[i] = probe_now_ms() - j->sent_ms;
				if (sscanf(buf, "HTTP/1.1 %d", &j->status[i]) !=
				    1)
					j->status[i] = -1;
			}
			p[i].fd = -1;
			open--;
		}
	}
}

static void close_jobs(struct jobs *j)
{
	for (int i = 0; i < j->n; i++)
		if (j->fd[i] >= 0)
			close(j->fd[i]);
	j->n = 0;
}

/* ---- /stats ------------------------------------------------------------ */

static long json_field(const char *body, const char *key)
{
	char want[48];
	const char *at;

	snprintf(want, sizeof(want), "\"%s\":", key);
	at = body != NULL ? strstr(body, want) : NULL;
	return at == NULL ? -1 : strtol(at + strlen(want), NULL, 10);
}

struct compute_stats {
	long workers, busy, queued, completed, lag_ms;
};

static bool get_stats(int port, struct compute_stats *s, struct result *r)
{
	struct http_reply rep;
	bool ok;

	probe_request(port, REQ_CLOSE("GET /stats"),
	              strlen(REQ_CLOSE("GET /stats")), &rep, REPLY_MS);
	*s = (struct compute_stats){
	    json_field(rep.body, "workers"), json_field(rep.body, "busy"),
	    json_field(rep.body, "queued"), json_field(rep.body, "completed"),
	    json_field(rep.body, "lag_ms")};
	ok = rep.status == 200 && s->workers >= 0 && s->busy >= 0 &&
	     s->queued >= 0 && s->completed >= 0 && s->lag_ms >= 0;
	if (!ok)
		result_printf(
		    r,
		    "GET /stats: status %d, body \"%.200s\"; expected "
		    "200 and JSON with workers, busy, queued, "
		    "completed and lag_ms\n",
		    rep.status, rep.body ? rep.body : "");
	probe_reply_free(&rep);
	return ok;
}

/* ---- integration -------------------------------------------------------- */

static int by_id(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* A head of printable lines: no byte of garbage (an uninitialised
 * app_response's extra headers) before the blank line. */
static bool head_is_clean(const struct http_reply *rep, struct result *r)
{
	for (size_t i = 0; i < rep->head_len; i++) {
		unsigned char ch = (unsigned char)rep->raw[i];
		if ((ch < 0x20 && ch != '\r' && ch != '\n') || ch > 0x7e) {
			result_printf(
			    r,
			    "byte %zu of the response head is 0x%02x: a "
			    "head is printable text (an app_response not "
			    "cleared before it is filled?)\n",
			    i, ch);
			return false;
		}
	}
	return true;
}

/* A HEAD (Connection: close) gets a 200 head and not one byte after it. */
static bool head_has_no_body(int port, const char *line, struct result *r)
{
	char req[128];
	struct http_reply rep;
	bool ok;

	snprintf(req, sizeof(req), REQ_CLOSE("%s"), line);
	probe_request(port, req, strlen(req), &rep, REPLY_MS);
	ok = rep.status == 200 && rep.head_len > 0 &&
	     rep.raw_len == rep.head_len;
	if (!ok)
		result_printf(r,
		              "%s: status %d, %zu bytes after the head; "
		              "expected 200 and none (a HEAD's answer is its "
		              "head alone)\n",
		              line, rep.status,
		              rep.raw_len - (rep.head_len ? rep.head_len : 0));
	probe_reply_free(&rep);
	return ok;
}

static enum verdict compute(struct grader *g, const struct check *c,
                            struct result *r)
{
	struct target t;
	struct http_reply rep;
	bool ok;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	ok = lab1_expect(r, t.port, REQ_CLOSE("GET /compute?ms=100"),
	                 strlen(REQ_CLOSE("GET /compute?ms=100")), 200, &rep);
	if (ok && (rep.body == NULL ||
	           strncmp(rep.body, "computed 100 ms\n", rep.body_len) != 0 ||
	           rep.body_len != strlen("computed 100 ms\n"))) {
		result_printf(r, "expected the body \"computed 100 ms\\n\"\n");
		ok = false;
	}
	if (ok && rep.ms < 90) {
		result_printf(r,
		              "answered after %.1f ms: 100 ms of work cannot "
		              "be done sooner\n",
		              rep.ms);
		ok = false;
	}
	if (ok && !head_is_clean(&rep, r))
		ok = false;
	probe_reply_free(&rep);
	ok = ok && head_has_no_body(t.port, "HEAD /compute?ms=10", r);
	ok = ok && EXPECT(r, t.port, REQ_CLOSE("GET /compute?ms=x"), 400) &&
	     EXPECT(r, t.port, REQ_CLOSE("GET /compute"), 400) &&
	     EXPECT(r, t.port, REQ_CLOSE("GET /compute?ms=10001"), 400);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* With 2 workers, 4 jobs of 600 ms at once: two answered at ~600 ms, the
 * other two, which waited in the queue, at ~1200 ms; /stats says 2 busy, 2
 * queued meanwhile. */
static enum verdict queue_waits(struct grader *g, const struct check *c,
                                struct result *r)
{
	enum { N = 4, MS = 600 };
	struct target t;
	struct jobs j;
	struct compute_stats s;
	bool ok;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	send_jobs(&j, t.port, N, REQ_CLOSE("GET /compute?ms=600"));
	probe_sleep_ms(150);
	ok = get_stats(t.port, &s, r);
	await_jobs(&j, 4 * MS);
	close_jobs(&j);
	struct compute_stats after = {0};
	ok = ok && get_stats(t.port, &after, r);
	if (!ok)
		return lab1_done(&t, r, FAIL);
	double ms[N];
	for (int i = 0; i < N; i++)
		ms[i] = j.status[i] == 200 ? j.ms[i] : 1e9;
	qsort(ms, N, sizeof(ms[0]), by_value);
	result_printf(r,
	              "4 jobs of %d ms on %d workers: answered after %.0f, "
	              "%.0f, %.0f, %.0f ms; /stats meanwhile: workers %ld, "
	              "busy %ld, queued %ld\n",
	              MS, WORKERS, ms[0], ms[1], ms[2], ms[3], s.workers,
	              s.busy, s.queued);
	if (s.workers != WORKERS || s.busy != WORKERS ||
	    s.queued != N - WORKERS)
		result_printf(r,
		              "expected workers %d (EV_WORKERS), busy %d, "
		              "queued %d\n",
		              WORKERS, WORKERS, N - WORKERS);
	else if (ms[3] >= 1e9)
		result_printf(r, "expected all 4 answered (200) within %d ms\n",
		              4 * MS);
	else if (after.busy != 0 || after.queued != 0 || after.completed != N)
		result_printf(
		    r,
		    "after the 4 answers /stats said busy %ld, queued "
		    "%ld, completed %ld: expected 0, 0 and 4\n",
		    after.busy, after.queued, after.completed);
	else if (ms[1] > 1.5 * MS || ms[2] < 1.8 * MS)
		result_printf(r,
		              "expected two answers by %.0f ms and two after "
		              "%.0f ms: a job waits for a free worker (one job "
		              "a worker at a time), then runs at once\n",
		              1.5 * MS, 1.8 * MS);
	else
		return lab1_done(&t, r, PASS);
	return lab1_done(&t, r, FAIL);
}

/* A guest who leaves while its job waits in the queue: the job goes, and
 * the queue is empty once the running ones are done. */
static enum verdict leaves_queued(struct grader *g, const struct check *c,
                                  struct result *r)
{
	struct target t;
	struct jobs j;
	struct compute_stats s;
	bool ok;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	send_jobs(&j, t.port, 5, REQ_CLOSE("GET /compute?ms=500"));
	probe_sleep_ms(150);
	for (int i = 2; i < 5; i++) { /* the queued three leave */
		close(j.fd[i]);
		j.fd[i] = -1;
	}
	probe_sleep_ms(150);
	ok = get_stats(t.port, &s, r);
	await_jobs(&j, 1500);
	close_jobs(&j);
	if (!ok)
		return lab1_done(&t, r, FAIL);
	result_printf(r,
	              "5 jobs of 500 ms on 2 workers, the last 3 guests gone "
	              "while queued: /stats then said busy %ld, queued %ld\n",
	              s.busy, s.queued);
	if (s.queued != 0) {
		result_printf(r,
		              "expected queued 0: a guest who leaves takes its "
		              "job out of the queue (on_gone)\n");
		return lab1_done(&t, r, FAIL);
	}
	probe_sleep_ms(700); /* the running two end; nothing else starts */
	ok = get_stats(t.port, &s, r) && s.busy == 0 && s.completed == 2;
	if (!ok)
		result_printf(r,
		              "after the running two: busy %ld, completed %ld; "
		              "expected 0 and 2 (the dropped jobs never run)\n",
		              s.busy, s.completed);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* /block on purpose: 200 "blocked N ms" after N ms, and /stats' lag_ms,
 * about 0 before, shows the stall for a second after it. */
static enum verdict block_and_lag(struct grader *g, const struct check *c,
                                  struct result *r)
{
	static const char block[] = REQ_CLOSE("GET /block?ms=300");
	static const char want[] = "blocked 300 ms\n";
	struct target t;
	struct http_reply rep;
	struct compute_stats before, after;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	probe_sleep_ms(250); /* a few ticks of the lag timer */
	if (!get_stats(t.port, &before, r))
		return lab1_done(&t, r, FAIL);
	bool ok = lab1_expect(r, t.port, block, strlen(block), 200, &rep);
	if (ok && (rep.body_len != strlen(want) ||
	           memcmp(rep.body, want, rep.body_len) != 0 || rep.ms < 280)) {
		result_printf(r,
		              "expected \"blocked 300 ms\\n\" after at least "
		              "300 ms; got %zu bytes after %.0f ms\n",
		              rep.body_len, rep.ms);
		ok = false;
	}
	probe_reply_free(&rep);
	probe_sleep_ms(150); /* the timer's first tick after the stall */
	if (!ok || !get_stats(t.port, &after, r))
		return lab1_done(&t, r, FAIL);
	result_printf(r, "lag_ms %ld before /block?ms=300, %ld after\n",
	              before.lag_ms, after.lag_ms);
	if (before.lag_ms <= 50 && after.lag_ms >= 200)
		return lab1_done(&t, r, PASS);
	result_printf(r,
	              "expected at most 50 before and at least 200 after: "
	              "lag_ms is how late the lag timer fired, at worst, in "
	              "its last %d ticks\n",
	              10);
	return lab1_done(&t, r, FAIL);
}

/* ---- latency and the experiment ----------------------------------------- */

/* n GET / on one keep-alive connection, 25 ms apart, for at most budget
 * ms; their times into ms[]. Returns how many were answered. */
static int probe_root(int port, double *ms, int n, int budget)
{
	int fd = probe_connect(port, REPLY_MS), got = 0;
	double t0 = probe_now_ms();

	while (fd >= 0 && got < n && probe_now_ms() - t0 < budget) {
		struct http_reply rep;

		probe_send(fd, REQ("GET /"), strlen(REQ("GET /")), 0, 0);
		if (probe_recv(fd, &rep, false, budget) < 0 ||
		    rep.status != 200) {
			probe_reply_free(&rep);
			break;
		}
		ms[got++] = rep.ms;
		probe_reply_free(&rep);
		probe_sleep_ms(25);
	}
	if (fd >= 0)
		close(fd);
	return got;
}

/* GET / while two 2 s jobs run on the two workers: the waiter is free. */
static enum verdict loop_free(struct grader *g, const struct check *c,
                              struct result *r)
{
	enum { N = 40 };
	struct target t;
	struct jobs j;
	double ms[N];
	struct stats st;
	char text[160];

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	send_jobs(&j, t.port, WORKERS, REQ_CLOSE("GET /compute?ms=2000"));
	probe_sleep_ms(100);
	int n = probe_root(t.port, ms, N, 1800);
	await_jobs(&j, 3000);
	int done = (j.status[0] == 200) + (j.status[1] == 200);
	close_jobs(&j);
	stats_summarize(ms, (size_t)n, &st);
	result_printf(r, "GET / while 2 jobs of 2 s computed: %s\n",
	              stats_format(&st, text, sizeof(text)));
	/* A stalled loop first: it is what this check is about (and why the
	 * jobs may not have come back in time either). */
	if (n < N || st.p90 > 50 || st.max > 250)
		result_printf(r,
		              "expected %d answers, p90 under 50 ms and none "
		              "over 250 ms (a job is 2000): "
		              "the work runs on the workers, never on the "
		              "loop\n",
		              N);
	else if (done < WORKERS)
		result_printf(r,
		              "only %d of the 2 jobs came back 200: with no "
		              "work running there is nothing to measure\n",
		              done);
	else
		return lab1_done(&t, r, PASS);
	return lab1_done(&t, r, FAIL);
}

/* The seed's meter: GET / answered one after another on one keep-alive
 * connection, as fast as they come, for window_ms; how many a second. */
static double root_per_s(int port, int window_ms)
{
	int fd = probe_connect(port, REPLY_MS), n = 0;
	double t0 = probe_now_ms(), left;

	while (fd >= 0 && (left = window_ms - (probe_now_ms() - t0)) > 0) {
		struct http_reply rep;

		probe_send(fd, REQ("GET /"), strlen(REQ("GET /")), 0, 0);
		int rc = probe_recv(fd, &rep, false, (int)left);
		bool answered = rc >= 0 && rep.status == 200 &&
		                probe_now_ms() - t0 <= window_ms;
		probe_reply_free(&rep);
		if (!answered)
			break;
		n++;
	}
	if (fd >= 0)
		close(fd);
	return n * 1000.0 / window_ms;
}

/* /block on purpose, and /compute beside it: the stall, the meter and the
 * lag, side by side (no points: the stall is what /block is for). */
static enum verdict block_vs_compute(struct grader *g, const struct check *c,
                                     struct result *r)
{
	static const char *const paths[] = {"/compute?ms=1000",
	                                    "/block?ms=1000"};
	enum { N = 30 };

	for (int i = 0; i < 2; i++) {
		struct target t;
		struct jobs j;
		double ms[N];
		struct stats st;
		struct compute_stats s = {0};
		char req[96], text[160];

		if (!target_serve(g, c, &t, &opts, r))
			return SKIP;
		snprintf(req, sizeof(req), REQ_CLOSE("GET %s"), paths[i]);
		double idle = root_per_s(t.port, 300);
		send_jobs(&j, t.port, 1, req);
		probe_sleep_ms(50);
		double busy = root_per_s(t.port, 500);
		int n = probe_root(t.port, ms, N, 2500);
		await_jobs(&j, 3000);
		close_jobs(&j);
		probe_sleep_ms(150); /* the lag timer's next tick */
		get_stats(t.port, &s, r);
		stats_summarize(ms, (size_t)n, &st);
		result_printf(r,
		              "%s: GET / a second, one client: %.0f before, "
		              "%.0f in its first half second; GET / latency "
		              "meanwhile: %s; lag_ms after: %ld\n",
		              paths[i], idle, busy,
		              stats_format(&st, text, sizeof(text)), s.lag_ms);
		lab1_done(&t, r, PASS);
	}
	return PASS;
}

/* ---- leaks --------------------------------------------------------------- */

static struct jobs at_exit;

static void leak_scenario(struct grader *g, int port)
{
	struct jobs j;

	lab2_leak_scenario(g, port);
	send_jobs(&j, port, 3, REQ_CLOSE("GET /compute?ms=100"));
	await_jobs(&j, 10000);
	close_jobs(&j);
	/* Guests who leave while their jobs run or wait. */
	send_jobs(&j, port, 5, REQ_CLOSE("GET /compute?ms=300"));
	probe_sleep_ms(100);
	close_jobs(&j);
	probe_sleep_ms(1000);
	/* Jobs running and queued when SIGTERM comes. */
	send_jobs(&at_exit, port, 4, REQ_CLOSE("GET /compute?ms=3000"));
	probe_sleep_ms(300);
}

static void leak_cleanup(struct grader *g)
{
	lab2_leak_cleanup(g);
	close_jobs(&at_exit);
}

/* The server's threads, by id (sorted), from /proc/PID/task: n of them,
 * or -1. */
static int thread_ids(struct target *t, long *ids, int max)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)t->proc.prog);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)) && n < max)
		if (e->d_name[0] != '.')
			ids[n++] = strtol(e->d_name, NULL, 10);
	closedir(d);
	qsort(ids, (size_t)n, sizeof(ids[0]), by_id);
	return n;
}

/* The same threads before and after 20 jobs: 1 + the workers, started
 * once, not one per request (new ids would show it). */
static enum verdict threads(struct grader *g, const struct check *c,
                            struct result *r)
{
	enum { MAX = 64 };
	long before[MAX], after[MAX];
	struct target t;
	struct jobs j;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	int nb = thread_ids(&t, before, MAX);
	for (int round = 0; round < 5; round++) {
		send_jobs(&j, t.port, 4, REQ_CLOSE("GET /compute?ms=20"));
		await_jobs(&j, 3000);
		close_jobs(&j);
	}
	int na = thread_ids(&t, after, MAX);
	bool same =
	    na == nb && memcmp(before, after,
	                       sizeof(long) * (size_t)(na > 0 ? na : 0)) == 0;
	result_printf(r,
	              "threads in the server: %d at the start, %d after 20 "
	              "jobs, %s\n",
	              nb, na, same ? "the same ones" : "not the same ones");
	if (nb == 1 + WORKERS && same)
		return lab1_done(&t, r, PASS);
	result_printf(r,
	              "expected the same %d threads both times: the workers "
	              "start with the server and stay (a worker per request "
	              "costs a thread and a loop each time)\n",
	              1 + WORKERS);
	return lab1_done(&t, r, FAIL);
}

/* ---- the table --------------------------------------------------------- */

static const struct check checks[] = {
    {"build", STAGE_BUILD, 3, check_build,
     "read the first compiler error; fix it; rebuild with `make build LAB=6`",
     NULL, false},

    UNIT(port_order, 5,
         "every message arrives once, in its sender's order, from the "
         "receiver's loop, never inside port_post()"),
    UNIT(port_coalesce, 5,
         "posts made while the loop is away share one wake-up, and no "
         "message ever waits with no wake-up on its way"),
    UNIT(port_copy_and_transfer, 4,
         "port_post copies the bytes; port_post_owned clears the sender's "
         "pointer only when the post succeeded"),
    UNIT(port_close, 5,
         "close: posts fail with -EPIPE, what is queued is freed unread, "
         "on_closed comes from the loop"),
    UNIT(port_unref, 2, "an open port keeps its loop alive; unref lets go"),
    UNIT(worker_echo, 4,
         "on_message on the worker's thread, on_reply on the parent's; "
         "on_exit last, with the code"),
    UNIT(worker_main_and_init, 3,
         "main gets opts.init; on_stop closes what main started"),
    UNIT(worker_error, 4,
         "an error: on_error once, after the replies before it; then "
         "on_exit(1)"),
    UNIT(worker_terminate, 5,
         "after worker_terminate(), worker_stopping() is true at once, no "
         "queued message is handled, and on_exit comes soon, even for a "
         "worker whose loop was asleep"),
    UNIT(worker_transfer, 3, "the same buffer arrives, freed once"),
    UNIT(worker_many, 4, "every thread joined; the parent's loop ends"),
    HIDDEN(start_refused, 1,
           "worker_start() checks its arguments before it makes anything: "
           "-EINVAL, and no callback"),
    HIDDEN(terminate_long_job, 2,
           "a long job that watches worker_stopping() ends at once after "
           "worker_terminate()"),
    HIDDEN(exit_in_main, 2,
           "main runs before the loop; a worker_exit() there ends the "
           "worker as soon as the loop has closed the inbox"),

    {"races.port", STAGE_RACES, 5, check_races_helgrind,
     "the queue and `closed` are touched under the port's lock only",
     "test_port:test_port_races", false},
    {"races.worker", STAGE_RACES, 5, check_races_helgrind,
     "the threads share only the ports and `stopping` (an atomic)",
     "test_worker:test_worker_races", false},

    {"integration.compute", STAGE_INTEGRATION, 4, compute,
     "/compute?ms=N: N ms of work on a worker, then 200 \"computed N ms\"; "
     "a bad N is 400",
     NULL, false},
    {"integration.queue_waits", STAGE_INTEGRATION, 6, queue_waits,
     "a job takes a free worker or waits in the queue; a reply frees its "
     "worker for the next",
     NULL, false},
    {"integration.leaves_queued", STAGE_INTEGRATION, 4, leaves_queued,
     "on_gone of a queued job: out of the queue, freed, never run", NULL,
     false},
    {"integration.block_and_lag", STAGE_INTEGRATION, 3, block_and_lag,
     "/block runs on the loop on purpose; the lag timer records how late "
     "it fired",
     NULL, false},
    AGAIN(integration, 1, clean_exit, lab1_clean_exit, 2,
          "on SIGTERM terminate the workers; their on_exit ends the loop"),

    {"latency.loop_free", STAGE_LATENCY, 7, loop_free,
     "the work runs on the workers, never on the loop thread", NULL, false},
    {"experiment.block_vs_compute", STAGE_EXPERIMENT, 0, block_vs_compute, NULL,
     NULL, false},

    {"leaks.memory", STAGE_LEAKS, 4, check_leaks_memory,
     "free each job once: answered, dropped from the queue, or at close", NULL,
     false},
    {"leaks.invalid_access", STAGE_LEAKS, 3, check_leaks_invalid,
     "a job freed while its worker still had it? (stack above)", NULL, false},
    {"leaks.descriptors", STAGE_LEAKS, 2, check_leaks_fds,
     "each port's eventfd closed (its close callback), each worker's loop "
     "closed",
     NULL, false},
    {"leaks.threads", STAGE_LEAKS, 3, threads,
     "start the workers once, at open; never one per request", NULL, false},
    QUIZ(q1),
    QUIZ(q2),
    QUIZ(q3),
    QUIZ(q4),
};

static const struct lab lab6 = {
    .number = 6,
    .dir = "06-worker-threads",
    .title = "worker threads: never block the waiter",
    .checks = checks,
    .nchecks = sizeof(checks) / sizeof(checks[0]),
    .setup = lab1_setup,
    .leak_scenario = leak_scenario,
    .leak_cleanup = leak_cleanup,
};

GRADER_LAB(lab6)
