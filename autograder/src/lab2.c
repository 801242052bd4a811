/* lab2.c - the checks of lab 2, the select() loop. Everything lab 1 checked
 * is re-run (a faster waiter must still be a correct one); then keep-alive,
 * pipelining, slow clients, the FD_SETSIZE wall and an idle loop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "grader.h"
#include "lab1.h"
#include "lab2.h"
#include "probe.h"
#include "stats.h"
#include "target.h"
#include "util.h"

enum { REPLY_MS = 3000 };

static void free_replies(struct http_reply *rep, size_t n)
{
	for (size_t i = 0; i < n; i++)
		probe_reply_free(&rep[i]);
}

/* ---- integration ------------------------------------------------------------
 */

/* curl with three URLs reuses one connection when the server keeps it open. */
enum verdict lab2_keep_alive_curl(struct grader *g, const struct check *c,
                                  struct result *r)
{
	struct target t;
	char u1[64], u2[80], u3[64], out[PATH_MAX], *text;
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	snprintf(u1, sizeof(u1), "http://127.0.0.1:%d/", t.port);
	snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/files/hello.txt", t.port);
	snprintf(u3, sizeof(u3), "http://127.0.0.1:%d/nope", t.port);
	path_join(out, g->priv, "curl.keepalive");
	unlink(out);
	char *argv[] = {
	    "curl",      "-sS",       "--max-time",
	    "5",         "-w",        "%{num_connects} %{http_code}\\n",
	    "-o",        "/dev/null", "-o",
	    "/dev/null", "-o",        "/dev/null",
	    u1,          u2,          u3,
	    NULL};
	run_trusted(argv, out);
	text = read_file(out, NULL);
	int n1 = -1, n2 = -1, n3 = -1, s1 = 0, s2 = 0, s3 = 0;
	if (text)
		sscanf(text, "%d %d %d %d %d %d", &n1, &s1, &n2, &s2, &n3, &s3);
	if (s1 != 200 || s2 != 200 || s3 != 404)
		result_printf(
		    r,
		    "curl -w '%%{num_connects} %%{http_code}\\n' URL/ "
		    "URL/files/hello.txt "
		    "URL/nope\nexpected statuses 200 200 404, curl said:\n%s\n",
		    text ? text : "(nothing)");
	else if (n1 + n2 + n3 != 1)
		result_printf(r,
		              "curl needed %d connections for 3 requests: the "
		              "server closed a "
		              "keep-alive connection (HTTP/1.1 keeps it open "
		              "unless the client "
		              "says \"Connection: close\")\n",
		              n1 + n2 + n3);
	else
		v = PASS;
	if (v == PASS)
		result_printf(r, "curl sent 3 requests over 1 connection\n");
	free(text);
	return lab1_done(&t, r, v);
}

/* Sends one request with a body, framed as `framing` says; true when it
 * got one answer, 413, and the connection closed. */
static bool refused(int port, const char *req, const char *framing,
                    struct result *r)
{
	struct http_reply rep[2];
	char a[300];
	bool ok = false;
	int fd = probe_connect(port, REPLY_MS);

	probe_send(fd, req, strlen(req), 0, 0);
	size_t n = probe_recv_many(fd, rep, 2, 1500);
	bool closed = n == 1 && (rep[0].closed || probe_wait_closed(fd, 1500));
	if (fd >= 0)
		close(fd);
	if (n == 0)
		result_printf(r, "POST with a body (%s): no answer (%s)\n",
		              framing, rep[0].err);
	else if (n > 1)
		result_printf(
		    r,
		    "POST with a body (%s) that reads as a request "
		    "got 2 answers (%d, then %d): the body was parsed "
		    "as the next request. Request smuggling: refuse a "
		    "body with 413 and close (app_refuses_body())\n",
		    framing, rep[0].status, rep[1].status);
	else if (rep[0].status != 413 || !closed)
		result_printf(
		    r,
		    "POST with a body (%s): expected 413 and the "
		    "connection closed, got %s%s\n",
		    framing,
		    probe_quote(rep[0].raw, rep[0].raw_len, 60, a, sizeof(a)),
		    closed ? "" : ", and it stayed open");
	else
		ok = true;
	for (size_t i = 0; i < n; i++)
		probe_reply_free(&rep[i]);
	return ok;
}

/* Lab 2 reads no request bodies: a body would be parsed as the next
 * request. Here it *is* one: a server that does not refuse it answers two
 * requests where the client sent one (request smuggling). */
static enum verdict body_refused(struct grader *g, const struct check *c,
                                 struct result *r)
{
	static const char by_length[] =
	    "POST /x HTTP/1.1\r\nHost: grader\r\n"
	    "Content-Length: 35\r\n\r\n"
	    "GET /smuggled HTTP/1.1\r\nHost: g\r\n\r\n";
	static const char by_chunks[] =
	    "POST /x HTTP/1.1\r\nHost: grader\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"
	    "GET /smuggled HTTP/1.1\r\nHost: g\r\n\r\n";
	struct target t;
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (refused(t.port, by_length, "Content-Length: 35", r) &&
	    refused(t.port, by_chunks, "Transfer-Encoding: chunked", r)) {
		result_printf(r, "a request with a body, by Content-Length or "
		                 "chunked: 413, then closed\n");
		v = PASS;
	}
	return lab1_done(&t, r, v);
}

/* Three requests in one write(); the first sleeps, so a server that answers
 * in completion order instead of request order is caught. */
enum verdict lab2_pipelined(struct grader *g, const struct check *c,
                            struct result *r)
{
	static const char reqs[] = REQ("GET /sleep?ms=100") REQ("GET /nope")
	    REQ_CLOSE("GET /files/hello.txt");
	static const int want[3] = {200, 404, 200};
	struct target t;
	struct http_reply rep[3];
	enum verdict v = PASS;
	char a[300];

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	int fd = probe_connect(t.port, REPLY_MS);
	probe_send(fd, reqs, strlen(reqs), 0, 0);
	size_t n = probe_recv_many(fd, rep, 3, REPLY_MS);
	close(fd);
	for (size_t i = 0; i < n; i++)
		if (rep[i].status != want[i]) {
			result_printf(r,
			              "response %zu of 3 has status %d, "
			              "expected %d: %s\n",
			              i + 1, rep[i].status, want[i],
			              probe_quote(rep[i].raw, rep[i].raw_len,
			                          120, a, sizeof(a)));
			v = FAIL;
		}
	if (n < 3) {
		result_printf(
		    r,
		    "sent 3 pipelined requests in one write (/sleep?ms=100, "
		    "/nope, "
		    "/files/hello.txt); %zu complete responses came back\n",
		    n);
		v = FAIL;
	} else if (v == FAIL) {
		result_printf(r, "pipelined requests must be answered in the "
		                 "order they were sent\n");
	} else {
		result_printf(r, "3 pipelined requests answered in order\n");
	}
	free_replies(rep, n);
	return lab1_done(&t, r, v);
}

/* 200 clients hold keep-alive connections and send 5 requests each, all
 * interleaved: only a server that serves everyone at once can answer. */
enum verdict lab2_concurrent_keepalive(struct grader *g, const struct check *c,
                                       struct result *r)
{
	enum { CLIENTS = 200, ROUNDS = 5 };
	static const struct target_opts opts = {.nofile = 512};
	static int fds[CLIENTS];
	struct target t;
	int served = 0, opened = 0;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	for (int i = 0; i < CLIENTS; i++)
		if ((fds[i] = probe_connect(t.port, REPLY_MS)) >= 0)
			opened++;
	for (int round = 0; round < ROUNDS && opened == CLIENTS; round++) {
		for (int i = 0; i < CLIENTS; i++)
			probe_send(fds[i], REQ("GET /"), strlen(REQ("GET /")),
			           0, 0);
		for (int i = 0; i < CLIENTS; i++) {
			struct http_reply rep;
			bool ok =
			    probe_recv(fds[i], &rep, false, REPLY_MS) == 0 &&
			    rep.status == 200;
			probe_reply_free(&rep);
			if (!ok)
				break; /* a stalled server: no need to wait 200
				          times */
			served++;
		}
		if (served != (round + 1) * CLIENTS)
			break;
	}
	for (int i = 0; i < CLIENTS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (served == CLIENTS * ROUNDS) {
		result_printf(
		    r, "%d keep-alive clients x %d requests: all answered\n",
		    CLIENTS, ROUNDS);
		return lab1_done(&t, r, PASS);
	}
	result_printf(r,
	              "%d clients connected (of %d); %d of %d requests "
	              "answered. Each round "
	              "sends one request on every connection, then reads every "
	              "reply: every "
	              "connection must be served while the others stay open\n",
	              opened, CLIENTS, served, CLIENTS * ROUNDS);
	return lab1_done(&t, r, FAIL);
}

/* Clients that leave mid-request, politely or with a reset. */
enum verdict lab2_vanish_mid_request(struct grader *g, const struct check *c,
                                     struct result *r)
{
	struct target t;
	struct linger lg = {1, 0};

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (int i = 0; i < 20; i++) {
		int fd = probe_connect(t.port, REPLY_MS);
		if (fd < 0)
			continue;
		probe_send(fd, "GET /files/hel", 14, 0, 0);
		if (i % 2)
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
	}
	probe_sleep_ms(100);
	bool ok = lab1_expect(r, t.port, REQ_CLOSE("GET /"),
	                      strlen(REQ_CLOSE("GET /")), 200, NULL);
	if (ok)
		result_printf(r, "20 clients left mid-request (10 with a "
		                 "reset); the server kept serving\n");
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* 1100 connections: those past FD_SETSIZE cannot go into an fd_set and must
 * be refused cleanly; the others are served. */
enum verdict lab2_fd_setsize_wall(struct grader *g, const struct check *c,
                                  struct result *r)
{
	enum { N = 1100 };
	static const struct target_opts opts = {.nofile = 2048};
	static int fds[N];
	struct target t;
	int opened = 0, ok200 = 0, refused = 0, hung = 0;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	for (int i = 0; i < N; i++)
		fds[i] = -1;
	/* A server that stopped accepting would cost a timeout per connect. */
	for (int i = 0; i < N && (i == 0 || fds[i - 1] >= 0); i++)
		if ((fds[i] = probe_connect(t.port, REPLY_MS)) >= 0)
			opened++;
	probe_sleep_ms(200);
	for (int i = 0; i < N; i++) {
		struct http_reply rep;
		if (fds[i] < 0)
			continue;
		probe_send(fds[i], REQ_CLOSE("GET /"),
		           strlen(REQ_CLOSE("GET /")), 0, 0);
		probe_recv(fds[i], &rep, false, 1000);
		if (rep.status == 200)
			ok200++;
		else if (rep.status == 503 || rep.closed)
			refused++;
		else
			hung++;
		probe_reply_free(&rep);
		close(fds[i]);
		if (!target_alive(&t))
			break;
	}
	bool alive = target_alive(&t);
	result_printf(r,
	              "%d connections opened at once; %d answered 200, %d "
	              "refused (503 or closed), %d neither (no answer within "
	              "1 s: stuck?)\n",
	              opened, ok200, refused, hung);
	if (!alive) {
		result_printf(
		    r,
		    "the server died with %d connections open. A descriptor >= "
		    "FD_SETSIZE "
		    "(1024) passed to FD_SET writes past the fd_set: check the "
		    "bound "
		    "before FD_SET and refuse such a connection (503, close)\n",
		    opened);
		return lab1_done(&t, r, FAIL);
	}
	if (opened < N || ok200 < 900 || hung > 0 || refused == 0) {
		result_printf(
		    r,
		    "expected every connection answered (200) or refused "
		    "(503/closed), "
		    "at least 900 answered, and some refused past the wall\n");
		return lab1_done(&t, r, FAIL);
	}
	bool after = lab1_expect(r, t.port, REQ_CLOSE("GET /"),
	                         strlen(REQ_CLOSE("GET /")), 200, NULL);
	return lab1_done(&t, r, after ? PASS : FAIL);
}

/* Reads one answer to GET / on fd within ms; its time in ms, or -1. */
double lab2_get_root_on(int fd, int ms)
{
	struct http_reply rep;
	double took = -1;

	probe_send(fd, REQ("GET /"), strlen(REQ("GET /")), 0, 0);
	if (probe_recv(fd, &rep, false, ms) == 0 && rep.status == 200)
		took = rep.ms;
	probe_reply_free(&rep);
	return took;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* With 16 descriptors the server runs out: accept4() fails with EMFILE
 * while a client waits in the backlog, which keeps the listening socket
 * readable. The loop must neither spin on it nor stop, nor stop serving
 * the clients it has; once a descriptor is free again, the waiting client
 * is served. W says it in the words of the lab's loop (lab2.h). */
enum verdict lab2_emfile_pause_in(struct grader *g, const struct check *c,
                                  struct result *r,
                                  const struct emfile_words *w)
{
	enum { NOFILE = 16, SLOW_MS = 100, TRIES = 5 };
	static const struct target_opts opts = {.nofile = NOFILE};
	int held[NOFILE], nheld = 0, queued = -1;
	double ms[TRIES], used;
	struct http_reply rep = {0};
	struct target t;
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	/* Keep-alive clients, each answered (so accepted), until one is
	 * not: that one waits in the backlog. */
	while (queued < 0 && nheld < NOFILE) {
		int fd = probe_connect(t.port, REPLY_MS);

		if (fd < 0)
			break;
		if (lab2_get_root_on(fd, 300) >= 0)
			held[nheld++] = fd;
		else
			queued = fd;
	}
	if (queued < 0 || nheld < 2) {
		result_printf(r,
		              "with %d descriptors, %d keep-alive clients were "
		              "answered and %s\n",
		              NOFILE, nheld,
		              queued < 0
		                  ? "none was left waiting: expected the "
		                    "server to run out"
		                  : "the next one was not");
		goto out;
	}
	used = lab2_cpu_during(&t, w->cpu_ms);
	if (!target_alive(&t)) {
		result_printf(
		    r,
		    "the server stopped while accept4() failed with "
		    "EMFILE (%d clients open, 1 waiting): running out "
		    "of descriptors is a shortage, not a fatal "
		    "error%s\n",
		    nheld, w->not_fatal);
		goto out;
	}
	if (used < 0 || used > 50) {
		result_printf(r,
		              "%d clients open, 1 waiting to be accepted, no "
		              "descriptor left: the server used %.0f ms of CPU "
		              "in %g s. The waiting client keeps the listening "
		              "socket readable, %s\n",
		              nheld, used, w->cpu_ms / 1000.0, w->spin);
		goto out;
	}
	/* The clients it has are still served, at once: the pause is the
	 * listening socket's, not the loop's. */
	for (int i = 0; i < TRIES; i++)
		if ((ms[i] = lab2_get_root_on(held[0], 2000)) < 0) {
			result_printf(r,
			              "while out of descriptors, GET / on an "
			              "open connection got no answer within "
			              "2 s\n");
			goto out;
		}
	qsort(ms, TRIES, sizeof(ms[0]), cmp_double);
	if (ms[TRIES / 2] > SLOW_MS) {
		result_printf(r,
		              "while out of descriptors, GET / on an open "
		              "connection took %.0f ms (the median of %d): the "
		              "loop itself waits%s where only accepting should "
		              "pause\n",
		              ms[TRIES / 2], TRIES, w->waits);
		goto out;
	}
	/* The last GET / made the loop try accept4() again: a fresh pause.
	 * A descriptor frees up within it; the waiting client must then be
	 * served when the pause ends, with nothing else to wake the loop. */
	close(held[--nheld]);
	if (probe_recv(queued, &rep, false, 1500) != 0 || rep.status != 200) {
		result_printf(
		    r,
		    "a descriptor was freed (a client left) %s; the "
		    "client waiting in the backlog then got no answer "
		    "within 1.5 s (%s)%s\n",
		    w->freed, rep.err[0] ? rep.err : "wrong status",
		    w->no_resume);
	} else {
		result_printf(r,
		              "out of descriptors with %d clients: %.0f ms of "
		              "CPU in %g s, open connections answered in %.1f "
		              "ms, the waiting client served once one left\n",
		              nheld + 1, used, w->cpu_ms / 1000.0,
		              ms[TRIES / 2]);
		v = PASS;
	}
	probe_reply_free(&rep);
out:
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	if (queued >= 0)
		close(queued);
	return lab1_done(&t, r, v);
}

static enum verdict emfile_pause(struct grader *g, const struct check *c,
                                 struct result *r)
{
	static const struct emfile_words select_loop = {
	    .cpu_ms = 1000,
	    .not_fatal = "",
	    .spin = "so select() returns at once, for ever: leave it out of "
	            "the read set for ~100 ms after EMFILE",
	    .waits = " (a sleep after EMFILE?)",
	    .freed = "during the pause after EMFILE",
	    .no_resume = ". The pause's end must count in the select() "
	                 "timeout, like a deadline, or nothing wakes the loop "
	                 "to accept again",
	};

	return lab2_emfile_pause_in(g, c, r, &select_loop);
}

/* ---- latency
 * -------------------------------------------------------------------- */

/* 50 clients trickle a request one byte every 100 ms for 2 s while another
 * client's GET / is measured. A server that blocks in read() on one of them
 * answers nobody. */
enum verdict lab2_trickle(struct grader *g, const struct check *c,
                          struct result *r)
{
	enum { SLOW = 50, FAST = 100 };
	static const struct target_opts opts = {.nofile = 256};
	static const char req[] = REQ_CLOSE("GET /files/hello.txt");
	const double limit = 50; /* ms at p90; the reference needs ~1 */
	static int fds[SLOW];
	double ms[FAST], start = probe_now_ms(), next_tick = start;
	size_t sent = 0, n = 0;
	struct target t;
	struct stats s;
	char text[160];

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	for (int i = 0; i < SLOW; i++)
		fds[i] = probe_connect(t.port, REPLY_MS);
	/* And a slow reader: it asks for the big file and reads none of
	 * it, so the server's writes fill the socket and must stop at
	 * EAGAIN rather than wait for it. */
	int reader = probe_connect(t.port, REPLY_MS);
	probe_send(reader, REQ_CLOSE("GET /files/big.bin"),
	           strlen(REQ_CLOSE("GET /files/big.bin")), 0, 0);
	while (n < FAST && probe_now_ms() - start < 15000) {
		if (probe_now_ms() >= next_tick && sent < strlen(req) - 1) {
			for (int i = 0; i < SLOW; i++)
				if (fds[i] >= 0)
					send(fds[i], req + sent, 1,
					     MSG_NOSIGNAL);
			sent++;
			next_tick += 100;
		}
		struct http_reply rep;
		probe_request(t.port, REQ_CLOSE("GET /"),
		              strlen(REQ_CLOSE("GET /")), &rep, 2000);
		ms[n++] = rep.status == 200 ? rep.ms : 2000;
		probe_reply_free(&rep);
		if (ms[n - 1] >= 2000)
			break; /* a blocked server: no need to wait 100 times */
		probe_sleep_ms(20);
	}
	for (int i = 0; i < SLOW; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (reader >= 0)
		close(reader);
	stats_summarize(ms, n, &s);
	result_printf(r,
	              "GET / while 50 clients trickled a request (1 byte / "
	              "100 ms) and one read nothing of the 16 MiB file it "
	              "asked for: %s\n",
	              stats_format(&s, text, sizeof(text)));
	if (n == FAST && s.p90 < limit)
		return lab1_done(&t, r, PASS);
	result_printf(r, "expected %d answers with p90 under %.0f ms\n", FAST,
	              limit);
	return lab1_done(&t, r, FAIL);
}

/* Ten /sleep?ms=1000 in progress must not delay anyone, and must all end
 * after about one second, not ten. */
enum verdict lab2_sleepers(struct grader *g, const struct check *c,
                           struct result *r)
{
	enum { SLEEPERS = 10, FAST = 50 };
	static const char req[] = REQ_CLOSE("GET /sleep?ms=1000");
	int fds[SLEEPERS];
	double ms[FAST], start = probe_now_ms(), last = 0;
	struct target t;
	struct stats s;
	char text[160];
	int woke = 0;
	size_t n = 0;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (int i = 0; i < SLEEPERS; i++)
		if ((fds[i] = probe_connect(t.port, REPLY_MS)) >= 0)
			probe_send(fds[i], req, strlen(req), 0, 0);
	probe_sleep_ms(20);
	while (n < FAST) {
		struct http_reply rep;
		probe_request(t.port, REQ_CLOSE("GET /"),
		              strlen(REQ_CLOSE("GET /")), &rep, 2000);
		ms[n++] = rep.status == 200 ? rep.ms : 2000;
		probe_reply_free(&rep);
		if (ms[n - 1] >= 2000)
			break;
		probe_sleep_ms(10);
	}
	/* One deadline for all ten: a sleeper never woken costs 3 s, not
	 * 3 s each. */
	for (int i = 0; i < SLEEPERS; i++) {
		struct http_reply rep;
		int left = (int)(start + 3000 - probe_now_ms());
		if (fds[i] < 0)
			continue;
		if (probe_recv(fds[i], &rep, false, left > 0 ? left : 0) == 0 &&
		    rep.status == 200) {
			woke++;
			last = probe_now_ms() - start;
		}
		probe_reply_free(&rep);
		close(fds[i]);
	}
	stats_summarize(ms, n, &s);
	result_printf(r,
	              "GET / while 10 clients wait on /sleep?ms=1000: %s\n"
	              "%d of the 10 sleepers answered within 3 s, the last "
	              "after %.0f ms\n",
	              stats_format(&s, text, sizeof(text)), woke, last);
	/* p90, not p99: of 50 samples p99 is the maximum, one hiccup of a
	 * noisy machine. A server that blocks fails by seconds either way. */
	if (n == FAST && s.p90 < 50 && woke == SLEEPERS && last < 1800)
		return lab1_done(&t, r, PASS);
	result_printf(
	    r, "expected p90 under 50 ms, and all 10 sleepers answered "
	       "within 1.8 s (they sleep at the same time, not one after "
	       "another)\n");
	return lab1_done(&t, r, FAIL);
}

/* CPU time the server uses in ms milliseconds; -1 if unknown. */
double lab2_cpu_during(struct target *t, int ms)
{
	double before = target_cpu_ms(t), after;

	probe_sleep_ms(ms);
	after = target_cpu_ms(t);
	return before < 0 || after < 0 ? -1 : after - before;
}

/* An idle loop must sleep in select(), not spin: with nothing due (no
 * timeout at all), and with a deadline seconds away. */
enum verdict lab2_idle_cpu(struct grader *g, const struct check *c,
                           struct result *r)
{
	enum { CLIENTS = 5 };
	int fds[CLIENTS];
	struct target t;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	/* Keep-alive connections that got their answer and now say nothing,
	 * then one request sleeping: the states that tempt busy loops. */
	for (int i = 0; i < CLIENTS; i++) {
		struct http_reply rep;
		fds[i] = probe_connect(t.port, REPLY_MS);
		probe_send(fds[i], REQ("GET /"), strlen(REQ("GET /")), 0, 0);
		probe_recv(fds[i], &rep, false, REPLY_MS);
		probe_reply_free(&rep);
	}
	probe_sleep_ms(100);
	double idle = lab2_cpu_during(&t, 500);
	probe_send(fds[0], REQ("GET /sleep?ms=5000"),
	           strlen(REQ("GET /sleep?ms=5000")), 0, 0);
	probe_sleep_ms(200);
	double asleep = lab2_cpu_during(&t, 1000);
	for (int i = 0; i < CLIENTS; i++)
		close(fds[i]);
	if (!target_alive(&t))
		return lab1_done(&t, r, FAIL); /* says how it died */
	result_printf(r,
	              "CPU time used with 5 open connections: %.0f ms in 0.5 s "
	              "with nothing due, %.0f ms in 1 s while one of them "
	              "waits on /sleep?ms=5000\n",
	              idle, asleep);
	if (idle >= 0 && idle <= 25 && asleep >= 0 && asleep <= 50)
		return lab1_done(&t, r, PASS);
	result_printf(r,
	              "expected at most 25 ms and 50 ms: the loop spins %s. Is "
	              "write interest requested with nothing to write, or is "
	              "the select() timeout 0%s?\n",
	              idle > 25 ? "with nothing due" : "while a /sleep waits",
	              idle > 25 ? " (it must be NULL: wait for ever)"
	                        : " before the deadline");
	return lab1_done(&t, r, FAIL);
}

/* ---- leaks
 * ------------------------------------------------------------------------ */

/* Lab 1's scenario, then keep-alive, pipelining, and connections still open
 * (idle, half a request, sleeping) when SIGTERM arrives: the loop must free
 * them all on the way out. */
static int open_at_exit[4] = {-1, -1, -1, -1};

void lab2_leak_scenario(struct grader *g, int port)
{
	static const char pipe3[] =
	    REQ("GET /") REQ("GET /nope") REQ("GET /files/hello.txt");
	static const char sleep9[] = REQ("GET /sleep?ms=9000");
	struct http_reply rep[3];
	int *fd = open_at_exit;

	lab1_leak_scenario(g, port);
	for (int i = 0; i < 4; i++)
		fd[i] = probe_connect(port, 10000);
	if (fd[0] >= 0) { /* pipelined, then idle keep-alive */
		probe_send(fd[0], pipe3, strlen(pipe3), 0, 0);
		free_replies(rep, probe_recv_many(fd[0], rep, 3, 10000));
	}
	if (fd[1] >= 0) /* half a request */
		probe_send(fd[1], "GET /files/he", 13, 0, 0);
	if (fd[2] >= 0) /* sleeping */
		probe_send(fd[2], sleep9, strlen(sleep9), 0, 0);
	probe_sleep_ms(300); /* fd[3]: connected, silent */
}

/* After the server has stopped: the connections it had to free. */
void lab2_leak_cleanup(struct grader *g)
{
	(void)g;
	for (int i = 0; i < 4; i++)
		if (open_at_exit[i] >= 0)
			close(open_at_exit[i]);
}

/* ---- the table
 * ---------------------------------------------------------------------- */

static const struct check checks[] = {
    {"build", STAGE_BUILD, 4, check_build,
     "read the first compiler error; fix it; rebuild with `make build LAB=2`",
     NULL, false},

    /* test_buf tests the given buf.c, which the build never takes from a
     * submission: no points for code nobody wrote (students run it). */
    UNIT(conn_single_request, 2,
         "conn_process: a complete request in \"in\" becomes one response in "
         "\"out\""),
    UNIT(conn_partial_request, 3,
         "an incomplete head is not an error: leave it in \"in\" and wait for "
         "more"),
    UNIT(conn_pipelined_order, 3,
         "answer requests in the order they came; hold the later ones while "
         "one sleeps"),
    UNIT(conn_close_after, 2,
         "\"Connection: close\" (and HTTP/1.0, and errors) close after the "
         "response is sent; what was pipelined behind it is dropped"),
    UNIT(conn_partial_write, 3,
         "on EAGAIN keep the unsent rest in \"out\" and wait until writable"),
    UNIT(conn_interest, 2,
         "want write only while \"out\" has bytes; want read only while "
         "reading"),
    UNIT(conn_deadline, 1,
         "release \"held\" only when now_ms >= wake_at_ms, after what "
         "\"out\" still holds, and close after it if it said so "
         "(held_close)"),
    UNIT(conn_spurious_wakeup, 1,
         "read() == -1 with EAGAIN is \"nothing right now\": return 0 and "
         "keep the connection as it was; only read() == 0 is EOF"),
    UNIT(conn_peer_gone, 1,
         "send() failing (EPIPE: the client left) is an error to return, so "
         "that the loop drops the connection; send with MSG_NOSIGNAL, so "
         "that it is an error and not a SIGPIPE"),
    UNIT(server_signals, 1,
         "server_signals(): block SIGINT and SIGTERM with "
         "sigprocmask(SIG_BLOCK, ...); pselect() unblocks them while it "
         "waits"),
    HIDDEN(pipeline_many, 1,
           "a hundred pipelined requests: every one answered, in order; "
           "consume a head only after app_handle() used req (consuming may "
           "move the bytes)"),
    HIDDEN(out_high, 2,
           "stop parsing while \"out\" is above CONN_OUT_HIGH; resume once it "
           "drains"),
    HIDDEN(eof_mid_request, 1,
           "EOF in the middle of a request: close without answering"),
    HIDDEN(head_limit, 1, "a head longer than HTTP_MAX_HEAD gets 431"),
    HIDDEN(eof_after_pipeline, 1,
           "a client that sends and then shuts down its side still gets every "
           "answer, each head saying what its request asked for"),
    HIDDEN(eintr, 1,
           "read() or send() failing with EINTR (a signal): try again, never "
           "drop the client; a send() that takes all but one byte: send the "
           "last one too"),
    HIDDEN(out_of_memory, 1,
           "when appending an answer fails (ENOMEM), return the error so "
           "that the loop drops the client: never lose a request in "
           "silence"),
    HIDDEN(listen_errors, 1,
           "server_listen(): descriptor 0 is a valid socket (only a negative "
           "result is an error), and socket()'s EMFILE is returned at once; "
           "server_port() of a bad descriptor: -EBADF"),
    HIDDEN(loop_clock, 1,
           "deadlines on CLOCK_MONOTONIC in whole ms (the given now_ms()), "
           "read again after every wait; the timeout is the nearest "
           "wake_at_ms - now_ms(), 0 once past (never negative), never "
           "truncated from a finer clock"),

    AGAIN(integration, 1, get_root, lab1_get_root, 2,
          "answer GET / with 200, a Content-Length and that many body bytes"),
    AGAIN(integration, 1, head_root, lab1_head_root, 1,
          "HEAD gets the same head as GET and no body"),
    AGAIN(integration, 1, large_file, lab1_large_file, 4,
          "a non-blocking write() takes what fits: keep the rest in \"out\" "
          "and send it when writable"),
    AGAIN(integration, 1, path_traversal, lab1_traversal, 1,
          "never serve a file outside --root"),
    AGAIN(integration, 1, not_found, lab1_not_found, 1,
          "unknown paths and missing files are 404"),
    AGAIN(integration, 1, method_405, lab1_method_405, 1,
          "methods other than GET and HEAD get 405 with an Allow header"),
    AGAIN(integration, 1, malformed_400, lab1_malformed_400, 2,
          "answer malformed requests with 400 and close"),
    AGAIN(integration, 1, uri_too_long_414, lab1_uri_414, 1,
          "a request line longer than HTTP_MAX_REQUEST_LINE gets 414"),
    AGAIN(integration, 1, headers_too_large_431, lab1_headers_431, 1,
          "a head over HTTP_MAX_HEAD gets 431"),
    AGAIN(integration, 1, byte_at_a_time, lab1_byte_at_a_time, 2,
          "keep partial requests in \"in\" across readiness events"),
    AGAIN(integration, 1, client_vanishes, lab1_client_vanishes, 2,
          "EPIPE/ECONNRESET end one connection, never the server"),
    AGAIN(integration, 1, many_connections, lab1_many_connections, 2,
          "close and free a connection on every path"),
    AGAIN(integration, 1, sleep, lab1_sleep_route, 1,
          "/sleep?ms=N answers after N ms; a bad N is 400"),
    AGAIN(integration, 1, clean_exit, lab1_clean_exit, 2,
          "on SIGINT/SIGTERM leave the loop, free every connection, exit 0"),
    {"integration.keep_alive", STAGE_INTEGRATION, 4, lab2_keep_alive_curl,
     "HTTP/1.1 keeps the connection open after a response unless the client "
     "said \"Connection: close\"",
     NULL, false},
    {"integration.pipelined", STAGE_INTEGRATION, 4, lab2_pipelined,
     "parse every complete request in \"in\", in order; a sleeping one holds "
     "back those behind it",
     NULL, false},
    {"integration.concurrent_keepalive", STAGE_INTEGRATION, 4,
     lab2_concurrent_keepalive,
     "every connection gets served while the others stay open: one blocking "
     "call stalls them all",
     NULL, false},
    {"integration.vanish_mid_request", STAGE_INTEGRATION, 3,
     lab2_vanish_mid_request,
     "read() == 0 or ECONNRESET mid-request: free that connection, carry on",
     NULL, false},
    {"integration.body_refused", STAGE_INTEGRATION, 1, body_refused,
     "a request with a body (app_refuses_body(): Content-Length > 0 or "
     "chunked): answer 413, drop the rest of \"in\" and close; its body "
     "must never be read as a request",
     NULL, false},
    {"integration.fd_setsize_wall", STAGE_INTEGRATION, 3, lab2_fd_setsize_wall,
     "never FD_SET a descriptor >= FD_SETSIZE: answer 503 and close it", NULL,
     false},
    {"integration.emfile_pause", STAGE_INTEGRATION, 2, emfile_pause,
     "accept4() failing with EMFILE (out of descriptors): print a line, "
     "leave the listening socket out of the read set for ~100 ms (its end "
     "in the select() timeout), keep serving the others, never sleep",
     NULL, false},

    {"leaks.memory", STAGE_LEAKS, 3, check_leaks_memory,
     "free every connection's buffers, on close and when the server stops",
     NULL, false},
    {"leaks.invalid_access", STAGE_LEAKS, 3, check_leaks_invalid,
     "valgrind saw a read or write outside a block, or uninitialised memory "
     "(stack above)",
     NULL, false},
    {"leaks.descriptors", STAGE_LEAKS, 2, check_leaks_fds,
     "close every connection's socket when the server stops", NULL, false},

    AGAIN(latency, 1, sequential, lab1_sequential, 2,
          "each request should take well under a millisecond"),
    {"latency.trickle", STAGE_LATENCY, 5, lab2_trickle,
     "a slow client must not block the loop: non-blocking sockets, read and "
     "write only what select() says is ready, and never wait for the rest",
     NULL, false},
    {"latency.sleepers", STAGE_LATENCY, 4, lab2_sleepers,
     "/sleep must not block: park the connection with a deadline and let "
     "select()'s timeout wake it",
     NULL, false},
    {"latency.idle_cpu", STAGE_LATENCY, 4, lab2_idle_cpu,
     "an idle server sleeps in select(): no write interest without pending "
     "output, no zero timeout",
     NULL, false},

    AGAIN(experiment, 1, bad_waiter, lab1_bad_waiter, 0, NULL),
    QUIZ(q1),
    QUIZ(q2),
    QUIZ(q3),
    QUIZ(q4),
};

static const struct lab lab2 = {
    .number = 2,
    .dir = "02-select-loop",
    .title = "the select() loop (one waiter, many tables)",
    .checks = checks,
    .nchecks = sizeof(checks) / sizeof(checks[0]),
    .setup = lab1_setup,
    .leak_scenario = lab2_leak_scenario,
    .leak_cleanup = lab2_leak_cleanup,
};

GRADER_LAB(lab2)
