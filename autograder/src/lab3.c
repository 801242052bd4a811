/* lab3.c - the checks of lab 3, the epoll loop with timers. The loop
 * library is specified by its unit tests (phase order, timers, the heap);
 * the server is re-run through labs 1-2 and then asked to hold ten thousand
 * idle connections, sleep a thousand requests at once and enforce its
 * timeouts. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "grader.h"
#include "lab1.h"
#include "lab2.h"
#include "lab3.h"
#include "probe.h"
#include "stats.h"
#include "target.h"
#include "util.h"

enum { REPLY_MS = 3000 };

/* Opens n connections into fds (-1 where one failed); returns how many
 * opened. Stops early when the server stops accepting. */
static int open_many(int port, int *fds, int n)
{
	int opened = 0;

	for (int i = 0; i < n; i++)
		fds[i] = -1;
	for (int i = 0; i < n && (i == 0 || fds[i - 1] >= 0); i++)
		if ((fds[i] = probe_connect(port, REPLY_MS)) >= 0)
			opened++;
	return opened;
}

static void close_many(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Waits up to timeout_ms for the server to close fd; *bytes says how many
 * it sent before closing (or before the time ran out). */
static bool wait_closed_counting(int fd, int timeout_ms, size_t *bytes)
{
	double deadline = probe_now_ms() + timeout_ms;
	char buf[4096];

	*bytes = 0;
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};
		int left = (int)(deadline - probe_now_ms());

		if (left <= 0 || poll(&p, 1, left) <= 0)
			return false;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n > 0)
			*bytes += (size_t)n;
		else if (errno != EINTR && errno != EAGAIN)
			return true;
	}
}

/* True while fd is open with nothing to read: the server has neither
 * answered nor closed it. */
static bool open_and_silent(int fd)
{
	char byte;

	return fd >= 0 && recv(fd, &byte, 1, MSG_DONTWAIT) < 0 &&
	       (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* ---- integration ------------------------------------------------------------
 */

/* A keep-alive connection left idle is closed, without a word, after
 * --idle-timeout. */
enum verdict lab3_idle_timeout(struct grader *g, const struct check *c,
                               struct result *r)
{
	enum { BUSY_REQUESTS = 5 };
	static const char *const args[] = {"--idle-timeout", "1000", NULL};
	static const struct target_opts opts = {.args = args};
	struct target t;
	struct http_reply rep = {0};
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	int fd = probe_connect(t.port, REPLY_MS);
	int answered = 0;
	/* Busy first: a request every 600 ms for 2.4 s. The timeout counts
	 * from the last answer; one counted from the first would cut this
	 * conversation at 1 s. */
	for (int i = 0; i < BUSY_REQUESTS; i++) {
		if (i > 0)
			probe_sleep_ms(600);
		probe_reply_free(&rep);
		probe_send(fd, REQ("GET /"), strlen(REQ("GET /")), 0, 0);
		if (probe_recv(fd, &rep, false, REPLY_MS) < 0 ||
		    rep.status != 200)
			break;
		answered++;
	}
	if (answered < BUSY_REQUESTS) {
		result_printf(r,
		              "with --idle-timeout 1000, a keep-alive client "
		              "sending GET / every 600 ms got %d answers, then "
		              "%s: the idle timeout must count from the last "
		              "answer, not from the first\n",
		              answered, rep.err[0] ? rep.err : "no 200");
	} else {
		double t0 = probe_now_ms();
		size_t said = 0;
		bool closed = wait_closed_counting(fd, 4000, &said);
		double ms = probe_now_ms() - t0;
		if (!closed)
			result_printf(
			    r, "with --idle-timeout 1000, an idle keep-alive "
			       "connection "
			       "was still open 4 s after its last response\n");
		else if (said > 0)
			result_printf(
			    r,
			    "with --idle-timeout 1000, the idle "
			    "connection got %zu more bytes before it "
			    "was closed %.0f ms after its last "
			    "response: an idle keep-alive connection is "
			    "closed without a word (no request is in "
			    "progress to answer, so no 408)\n",
			    said, ms);
		else if (ms < 900 || ms > 1600)
			result_printf(r,
			              "with --idle-timeout 1000, the idle "
			              "connection was closed "
			              "%.0f ms after its last response; "
			              "expected 1000-1600\n",
			              ms);
		else {
			result_printf(r,
			              "idle connection closed %.0f ms after "
			              "its last response "
			              "(--idle-timeout 1000)\n",
			              ms);
			v = PASS;
		}
	}
	probe_reply_free(&rep);
	if (fd >= 0)
		close(fd);
	return lab1_done(&t, r, v);
}

/* Slowloris: a head that never ends gets 408 after --header-timeout,
 * counted from its first byte, then the connection is closed. Two at once:
 * on a new connection, and on a keep-alive one after its first answer,
 * where the wait for the next head is a new wait. */
static enum verdict header_timeout(struct grader *g, const struct check *c,
                                   struct result *r)
{
	enum { CONNS = 2, LINES = 16 };
	static const char *const args[] = {"--header-timeout", "1500", NULL};
	static const struct target_opts opts = {.args = args};
	static const char *const who[CONNS] = {
	    "on a new connection",
	    "on a keep-alive connection, after its first answer"};
	struct http_reply rep[CONNS] = {{0}};
	int fd[CONNS], passed = 0;
	double ms[CONNS] = {0}, t0;
	bool done[CONNS] = {false}, closed[CONNS] = {false};
	struct target t;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	for (int k = 0; k < CONNS; k++)
		fd[k] = probe_connect(t.port, REPLY_MS);
	if (lab2_get_root_on(fd[1], REPLY_MS) < 0) {
		result_printf(r, "GET / on a keep-alive connection got no 200 "
		                 "within 3 s\n");
		close_many(fd, CONNS);
		return lab1_done(&t, r, FAIL);
	}
	t0 = probe_now_ms();
	for (int k = 0; k < CONNS; k++)
		probe_send(fd[k], "GET / HTTP/1.1\r\n", 16, 0, 0);
	/* One more header line every 250 ms: always busy, never done. */
	for (int i = 0; i < LINES && !(done[0] && done[1]); i++) {
		probe_sleep_ms(250);
		for (int k = 0; k < CONNS; k++) {
			if (done[k])
				continue;
			/* Look for the 408 before sending more: bytes that
			 * reach a socket the server has closed draw a reset,
			 * which can discard the 408 before it is read. */
			if (probe_recv(fd[k], &rep[k], false, 1) == 0 ||
			    rep[k].raw_len > 0 || rep[k].closed ||
			    probe_send(fd[k], "X-Slow: yes\r\n", 13, 0, 0) <
			        0) {
				done[k] = true;
				ms[k] = probe_now_ms() - t0;
				continue;
			}
			probe_reply_free(&rep[k]);
		}
	}
	for (int k = 0; k < CONNS; k++) {
		if (!done[k]) {
			probe_reply_free(&rep[k]);
			probe_recv(fd[k], &rep[k], false, 1000);
			ms[k] = probe_now_ms() - t0;
		}
		/* Connection: close, and then a close. */
		closed[k] = rep[k].closed || probe_wait_closed(fd[k], 1000);
		if (rep[k].status == 408 && ms[k] >= 1400 && ms[k] <= 2600 &&
		    closed[k]) {
			passed++;
			result_printf(
			    r,
			    "a head trickled one line per 250 ms %s got "
			    "408 after %.0f ms (--header-timeout 1500), "
			    "then the close\n",
			    who[k], ms[k]);
		} else if (rep[k].status == 408 && ms[k] >= 1400 &&
		           ms[k] <= 2600) {
			result_printf(
			    r,
			    "a head trickled %s got 408 after %.0f ms, "
			    "but the connection was still open 1 s "
			    "later: a 408 says Connection: close, and "
			    "the server must close\n",
			    who[k], ms[k]);
		} else {
			result_printf(
			    r,
			    "a head trickled one line every 250 ms %s, "
			    "never finished: expected 408 Request "
			    "Timeout 1500-2600 ms after its first byte; "
			    "got status %d after %.0f ms%s\n",
			    who[k], rep[k].status, ms[k],
			    k == 1 && rep[0].status == 408
			        ? ". Only the keep-alive connection "
			          "missed it: after an answer, the wait "
			          "for the next head is a new wait that "
			          "begins once, at its first byte, and "
			          "not again with each line"
			        : "");
		}
		probe_reply_free(&rep[k]);
	}
	close_many(fd, CONNS);
	return lab1_done(&t, r, passed == CONNS ? PASS : FAIL);
}

/* epoll has no FD_SETSIZE wall: 1100 connections are all served. */
static enum verdict beyond_fd_setsize(struct grader *g, const struct check *c,
                                      struct result *r)
{
	enum { N = 1100 };
	static const struct target_opts opts = {.nofile = 2048};
	static int fds[N];
	struct target t;
	int ok = 0;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	int opened = open_many(t.port, fds, N);
	for (int i = 0; i < N && target_alive(&t); i++) {
		struct http_reply rep;
		if (fds[i] < 0)
			continue;
		probe_send(fds[i], REQ_CLOSE("GET /"),
		           strlen(REQ_CLOSE("GET /")), 0, 0);
		probe_recv(fds[i], &rep, false, 2000);
		ok += rep.status == 200;
		probe_reply_free(&rep);
	}
	close_many(fds, N);
	result_printf(r, "%d connections open at once; %d answered 200\n",
	              opened, ok);
	return lab1_done(&t, r, opened == N && ok == N ? PASS : FAIL);
}

/* The timer follows what each connection waits for (2.3): one that owes
 * the server nothing is never timed out. With both timeouts short, a new
 * connection that has sent nothing, a client reading a 16 MiB answer
 * slowly, and a keep-alive connection asleep on /sleep?ms=1200 all
 * outlive them. */
static enum verdict timeout_by_state(struct grader *g, const struct check *c,
                                     struct result *r)
{
	enum { SILENT, SLOW, SLEEPER, CONNS };
	enum { SILENT_MS = 2500 }; /* how long the silent one is watched */
	static const char *const args[] = {"--idle-timeout", "500",
	                                   "--header-timeout", "800", NULL};
	static const struct target_opts opts = {.args = args};
	int fd[CONNS];
	struct http_reply rep;
	enum verdict v = FAIL;
	struct target t;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	for (int k = 0; k < CONNS; k++)
		fd[k] = probe_connect(t.port, REPLY_MS);
	double connected = probe_now_ms();
	if (lab2_get_root_on(fd[SLEEPER], REPLY_MS) < 0) {
		result_printf(r, "GET / on a keep-alive connection got no 200 "
		                 "within 3 s\n");
		goto out;
	}
	probe_send(fd[SLEEPER], REQ("GET /sleep?ms=1200"),
	           strlen(REQ("GET /sleep?ms=1200")), 0, 0);
	probe_send(fd[SLOW], REQ_CLOSE("GET /files/big.bin"),
	           strlen(REQ_CLOSE("GET /files/big.bin")), 0, 0);
	/* Past both timeouts before anything is read. */
	probe_sleep_ms(1000);
	if (probe_recv(fd[SLEEPER], &rep, false, 1000) != 0 ||
	    rep.status != 200) {
		result_printf(r,
		              "a keep-alive connection asleep on "
		              "/sleep?ms=1200 (--idle-timeout 500) got %s: its "
		              "timer is set for its wake-up, not for the idle "
		              "timeout (WAIT_WAKE comes first)\n",
		              rep.err[0] ? rep.err : "no 200");
		probe_reply_free(&rep);
		goto out;
	}
	probe_reply_free(&rep);
	if (probe_recv(fd[SLOW], &rep, false, 5000) != 0 || rep.status != 200) {
		result_printf(
		    r,
		    "a client that read nothing of its 16 MiB answer "
		    "for over 1 s (--idle-timeout 500) got %zu bytes of "
		    "it: %s. While the server owes the client "
		    "(CONN_WRITING), no timer runs: the client is not "
		    "idle, the server is busy\n",
		    rep.raw_len, rep.err[0] ? rep.err : "no 200");
		probe_reply_free(&rep);
		goto out;
	}
	probe_reply_free(&rep);
	/* Looked at last, SILENT_MS after the connect: five idle timeouts,
	 * so that a server that times it out has done so even on a loaded
	 * machine. */
	double left = connected + SILENT_MS - probe_now_ms();
	if (left > 0)
		probe_sleep_ms((int)left);
	if (!open_and_silent(fd[SILENT])) {
		char byte;
		bool said = recv(fd[SILENT], &byte, 1, MSG_DONTWAIT) > 0;

		result_printf(
		    r,
		    "a connection that had sent nothing was %s within "
		    "%.1f s of connecting (--idle-timeout 500, "
		    "--header-timeout 800): a new connection is left "
		    "alone; it is not keep-alive before its first "
		    "answer (waiting_for() checks conn.requests), and "
		    "it has begun no head\n",
		    said ? "sent an answer" : "closed",
		    (probe_now_ms() - connected) / 1000);
		goto out;
	}
	result_printf(
	    r, "with --idle-timeout 500 and --header-timeout 800: a "
	       "silent new connection left alone for 2.5 s, a /sleep?ms=1200 "
	       "answered, a slow reader's 16 MiB delivered whole\n");
	v = PASS;
out:
	close_many(fd, CONNS);
	return lab1_done(&t, r, v);
}

/* The loop must neither spin on a listening socket it cannot accept from
 * (level-triggered epoll reports it at once, for ever) nor stop, nor stop
 * serving the clients it has; once a descriptor is free again, the
 * pause's timer lets the waiting client in. */
static enum verdict emfile_pause(struct grader *g, const struct check *c,
                                 struct result *r)
{
	static const struct emfile_words epoll_loop = {
	    .cpu_ms = 500,
	    .not_fatal = "; after the pause, the accept-pause timer "
	                 "(initialised in server_run(), its data the server) "
	                 "starts the listener again",
	    .spin = "and level-triggered epoll reports it on every poll: stop "
	            "watching it for ~100 ms after EMFILE (pause_accepting())",
	    .waits = "",
	    .freed = "while accepting was paused after EMFILE",
	    .no_resume = ": the pause's timer must start the listener's "
	                 "watcher again",
	};

	return lab2_emfile_pause_in(g, c, r, &epoll_loop);
}

/* ---- latency and memory
 * -------------------------------------------------------- */

/* 1000 requests that each sleep 200 ms, all at once: about one sleep. */
enum verdict lab3_sleep_1000(struct grader *g, const struct check *c,
                             struct result *r)
{
	enum { N = 1000 };
	static const struct target_opts opts = {.nofile = 2048};
	static const char req[] = REQ_CLOSE("GET /sleep?ms=200");
	static int fds[N];
	struct target t;
	int ok = 0;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	int opened = open_many(t.port, fds, N);
	double t0 = probe_now_ms();
	for (int i = 0; i < N; i++)
		probe_send(fds[i], req, strlen(req), 0, 0);
	for (int i = 0; i < N; i++) {
		struct http_reply rep;
		if (fds[i] < 0)
			continue;
		probe_recv(fds[i], &rep, false,
		           5000 - (int)(probe_now_ms() - t0));
		ok += rep.status == 200;
		probe_reply_free(&rep);
		if (probe_now_ms() - t0 > 5000)
			break;
	}
	double ms = probe_now_ms() - t0;
	close_many(fds, N);
	result_printf(r,
	              "%d concurrent /sleep?ms=200: %d answered, the last "
	              "after %.0f ms\n",
	              opened, ok, ms);
	if (opened == N && ok == N && ms < 1500)
		return lab1_done(&t, r, PASS);
	result_printf(
	    r,
	    "expected all %d answered within 1500 ms: a thousand sleeps are a "
	    "thousand timers, not a thousand waits\n",
	    N);
	return lab1_done(&t, r, FAIL);
}

/* /sleep?ms=20 never answers early and not much late. */
static enum verdict timers_on_time(struct grader *g, const struct check *c,
                                   struct result *r)
{
	enum { N = 60 };
	double ms[N];
	struct target t;
	struct stats s;
	char text[160];
	size_t n = 0;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (int i = 0; i < N; i++) {
		struct http_reply rep;
		probe_request(t.port, REQ_CLOSE("GET /sleep?ms=20"),
		              strlen(REQ_CLOSE("GET /sleep?ms=20")), &rep,
		              2000);
		if (rep.status == 200)
			ms[n++] = rep.ms;
		probe_reply_free(&rep);
	}
	stats_summarize(ms, n, &s);
	result_printf(r, "60 x /sleep?ms=20, measured by the client: %s\n",
	              stats_format(&s, text, sizeof(text)));
	/* The client's clock starts before the server's and stops after it,
	 * so even a perfect timer measures >= 20 ms here. */
	if (n == N && s.min >= 20.0 && s.p90 < 35)
		return lab1_done(&t, r, PASS);
	result_printf(
	    r,
	    "expected all answered, none under 20 ms (a timer must never fire "
	    "early: compare with due <= now, now rounded down) and p90 under "
	    "35 ms\n");
	return lab1_done(&t, r, FAIL);
}

/* With no connection and no timer, epoll_wait() must block (timeout -1). */
static enum verdict idle_no_timers(struct grader *g, const struct check *c,
                                   struct result *r)
{
	struct target t;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	probe_sleep_ms(200);
	double before = target_cpu_ms(&t);
	probe_sleep_ms(1000);
	double used = target_cpu_ms(&t) - before;
	result_printf(
	    r,
	    "CPU time used in 1 s by a server with no connections: %.0f ms\n",
	    used);
	if (before >= 0 && used <= 50)
		return lab1_done(&t, r, PASS);
	result_printf(r, "expected at most 50 ms: with no timer, the poll "
	                 "timeout is -1 (block), "
	                 "not 0\n");
	return lab1_done(&t, r, FAIL);
}

/* Many short sleeps on one keep-alive connection: the loop should sleep in
 * epoll_wait between them, not spin through the last fraction of each
 * millisecond (a timeout truncated to 0). */
static enum verdict short_timers_cpu(struct grader *g, const struct check *c,
                                     struct result *r)
{
	/* About 0.7 s of sleeps. Measured on a loaded 2-core machine: the
	 * reference 15-17% of CPU, a loop spinning through the last
	 * fraction of each ms 61-76%, and once 36% (a spinner gets only
	 * its share of a busy machine). The limit sits between. */
	enum { N = 500, LIMIT_PCT = 30 };
	static const char req[] = REQ("GET /sleep?ms=1");
	struct target t;
	int ok = 0;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	int fd = probe_connect(t.port, REPLY_MS);
	double before = target_cpu_ms(&t), t0 = probe_now_ms();
	for (int i = 0; i < N && fd >= 0; i++) {
		struct http_reply rep;
		probe_send(fd, req, strlen(req), 0, 0);
		bool good = probe_recv(fd, &rep, false, REPLY_MS) == 0 &&
		            rep.status == 200;
		probe_reply_free(&rep);
		if (!good)
			break;
		ok++;
	}
	double wall = probe_now_ms() - t0, used = target_cpu_ms(&t) - before;
	if (fd >= 0)
		close(fd);
	result_printf(r,
	              "%d x /sleep?ms=1 back to back took %.0f ms; the server "
	              "used %.0f ms "
	              "of CPU (%.0f%%)\n",
	              ok, wall, used, wall > 0 ? 100 * used / wall : 0);
	if (ok == N && before >= 0 && used < LIMIT_PCT / 100.0 * wall)
		return lab1_done(&t, r, PASS);
	result_printf(r,
	              "expected all answered with under %d%% CPU: the loop "
	              "should block in epoll_wait until each timer is due. A "
	              "poll timeout rounded down to 0 spins through the last "
	              "fraction of every millisecond\n",
	              LIMIT_PCT);
	return lab1_done(&t, r, FAIL);
}

/* A connection that sleeps (or writes) wants nothing read: its socket is
 * not watched for reading. Here it is readable the whole time: the client
 * pipelines GET / behind its /sleep?ms=1000 and then half-closes, and
 * level-triggered epoll would report those bytes, and the end of stream,
 * on every poll. Both answers must still come, in order. */
static enum verdict asleep_cpu(struct grader *g, const struct check *c,
                               struct result *r)
{
	static const char sleep_req[] = REQ("GET /sleep?ms=1000");
	struct http_reply rep[2] = {{0}};
	struct target t;
	enum verdict v = FAIL;
	double used;
	size_t got;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	int fd = probe_connect(t.port, REPLY_MS);
	probe_send(fd, sleep_req, strlen(sleep_req), 0, 0);
	probe_sleep_ms(100); /* read, and held: the next bytes stay queued */
	probe_send(fd, REQ("GET /"), strlen(REQ("GET /")), 0, 0);
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
	probe_sleep_ms(100);
	used = lab2_cpu_during(&t, 600);
	got = fd >= 0 ? probe_recv_many(fd, rep, 2, 2000) : 0;
	if (fd >= 0)
		close(fd);
	if (!target_alive(&t))
		return lab1_done(&t, r, FAIL); /* says how it died */
	result_printf(r,
	              "CPU time used in 0.6 s while a /sleep?ms=1000 was held "
	              "and the client's next request and end of stream waited "
	              "in the socket: %.0f ms; %zu of 2 answers came\n",
	              used, got);
	if (used >= 0 && used <= 50 && got == 2 && rep[0].status == 200 &&
	    rep[1].status == 200 && rep[0].body != NULL &&
	    strncmp(rep[0].body, "slept", 5) == 0)
		v = PASS;
	else if (used < 0 || used > 50)
		result_printf(
		    r, "expected at most 50 ms: a sleeping connection "
		       "wants nothing read (conn_wants_read() is false), "
		       "so watch() must not ask for EV_READABLE; bytes "
		       "left unread wake a level-triggered poll at once, "
		       "every time\n");
	else
		result_printf(r,
		              "expected the /sleep answer, then GET /'s (the "
		              "request behind it), both 200%s\n",
		              got == 2 ? ", in that order" : "");
	for (size_t i = 0; i < got; i++)
		probe_reply_free(&rep[i]);
	return lab1_done(&t, r, v);
}

/* 10,000 idle connections: held, cheap, and not in anyone's way. */
static enum verdict idle_10k(struct grader *g, const struct check *c,
                             struct result *r)
{
	enum { N = 10000, FAST = 100, PER_CONN = 1024 };
	static const char *const args[] = {"--idle-timeout", "60000", NULL};
	static const struct target_opts opts = {.nofile = N + 512,
	                                        .args = args};
	static int fds[N];
	double ms[FAST];
	struct target t;
	struct stats s;
	char text[160];
	size_t n = 0;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	long base_kb = target_rss_kb(&t);
	int opened = open_many(t.port, fds, N);
	probe_sleep_ms(300);
	for (int i = 0; i < FAST; i++) {
		struct http_reply rep;
		probe_request(t.port, REQ_CLOSE("GET /"),
		              strlen(REQ_CLOSE("GET /")), &rep, 2000);
		ms[n++] = rep.status == 200 ? rep.ms : 2000;
		probe_reply_free(&rep);
		if (ms[n - 1] >= 2000)
			break;
	}
	long kb = target_rss_kb(&t);
	bool alive = target_alive(&t);
	close_many(fds, N);
	stats_summarize(ms, n, &s);
	result_printf(r,
	              "%d idle connections: RSS %.1f MiB (%.1f MiB at start, "
	              "%.0f bytes per "
	              "connection); GET / meanwhile: %s\n",
	              opened, kb / 1024.0, base_kb / 1024.0,
	              opened ? (kb - base_kb) * 1024.0 / opened : 0,
	              stats_format(&s, text, sizeof(text)));
	/* The reference: about 470 bytes each. A buffer kept per idle
	 * connection costs at least the page it touches, 4 KiB. */
	if (alive && opened == N && kb > 0 && kb < 64 * 1024 &&
	    (kb - base_kb) * 1024 <= (long)N * PER_CONN && n == FAST &&
	    s.p90 < 50)
		return lab1_done(&t, r, PASS);
	result_printf(
	    r,
	    "expected all %d held, at most %d bytes each (RSS under 64 MiB "
	    "in all), and GET / p90 under 50 ms. An idle connection should "
	    "cost a struct and a descriptor, not buffers: allocate them when "
	    "data arrives, free them when it is sent\n",
	    N, PER_CONN);
	return lab1_done(&t, r, FAIL);
}

/* ---- the experiment: a crowd at a short door --------------------------- */

enum {
	CROWD = 200,           /* clients who connect at once */
	DOOR = 16,             /* the server's listen backlog (--backlog) */
	FROZEN_MS = 100,       /* the waiter is away while they knock */
	CROWD_WAIT_MS = 12000, /* past the retries at 1, 3 and 7 s */
};

struct guest {
	int fd;
	double connected; /* ms after the crowd came, -1 until then */
	double answered;  /* first byte of the reply, -1 until then */
	bool failed;      /* refused or reset: no reply will come */
};

/* A sysctl's number, -1 if it cannot be read. */
static long sysctl_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* Every guest's connect() at once: non-blocking, so none waits for the
 * handshake and the SYNs leave back to back. */
static void crowd_knocks(struct guest *g, struct pollfd *p, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	for (int i = 0; i < CROWD; i++) {
		g[i] =
		    (struct guest){.fd = -1, .connected = -1, .answered = -1};
		p[i] = (struct pollfd){.fd = -1, .events = POLLOUT};
		int fd = socket(AF_INET,
		                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0 ||
		    (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
		     errno != EINPROGRESS)) {
			g[i].failed = true;
			if (fd >= 0)
				close(fd);
			continue;
		}
		g[i].fd = p[i].fd = fd;
	}
}

/* One event of guest i, t ms after the crowd came: connected (send the
 * request), the reply's first byte, or an error. Returns true when the
 * guest is done. */
static bool guest_event(struct guest *g, struct pollfd *p, double t)
{
	static const char req[] = REQ_CLOSE("GET /");
	int err = 0;
	socklen_t len = sizeof(err);
	char buf[256];

	if (g->connected < 0) {
		getsockopt(g->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err || send(g->fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
			g->failed = true;
			return true;
		}
		g->connected = t;
		p->events = POLLIN;
		return false;
	}
	if (read(g->fd, buf, sizeof(buf)) > 0)
		g->answered = t;
	else
		g->failed = true;
	return true;
}

/* Waits for the crowd's replies until they are all in or CROWD_WAIT_MS
 * have passed since t0 (or the check's deadline comes first). */
static void crowd_waits(struct guest *g, struct pollfd *p, double t0)
{
	int left = 0;

	for (int i = 0; i < CROWD; i++)
		left += g[i].fd >= 0;
	while (left > 0) {
		double wait = t0 + CROWD_WAIT_MS - probe_now_ms();
		if (wait > probe_time_left_ms())
			wait = probe_time_left_ms();
		if (wait <= 0 || poll(p, CROWD, (int)wait + 1) < 0)
			break;
		double t = probe_now_ms() - t0;
		for (int i = 0; i < CROWD; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			if (guest_event(&g[i], &p[i], t)) {
				p[i].fd = -1;
				left--;
			}
		}
	}
	for (int i = 0; i < CROWD; i++)
		if (g[i].fd >= 0)
			close(g[i].fd);
}

/* The crowd's replies by when they came, in the rounds of the client's
 * SYN timer: before its first retry, then around 1, 3 and 7 s. */
static void crowd_report(const struct guest *g, double cpu_ms, struct result *r)
{
	static const double edge[] = {500, 2000, 5000};
	long retries = sysctl_long("/proc/sys/net/ipv4/tcp_syn_retries");
	long abort = sysctl_long("/proc/sys/net/ipv4/tcp_abort_on_overflow");
	int n[6] = {0}, late_but_in = 0, answered = 0;
	double last = 0;

	for (int i = 0; i < CROWD; i++) {
		double t = g[i].answered;
		int k = 0;

		if (g[i].failed || t < 0) {
			n[g[i].failed ? 5 : 4]++;
			continue;
		}
		while (k < 3 && t >= edge[k])
			k++;
		n[k]++;
		answered++;
		last = t > last ? t : last;
		late_but_in += t >= edge[0] && g[i].connected < edge[0];
	}
	result_printf(r,
	              "%d clients connected at once; your server's listen "
	              "backlog was %d (--backlog %d) and it was frozen "
	              "(SIGSTOP) for their first %d ms, as a busy waiter "
	              "would be. Their replies came:\n"
	              "  under 0.5 s: %d   about 1 s: %d   about 3 s: %d   "
	              "7 s or later: %d   none by %d s: %d   refused or "
	              "reset: %d\n",
	              CROWD, DOOR, DOOR, FROZEN_MS, n[0], n[1], n[2], n[3],
	              CROWD_WAIT_MS / 1000, n[4], n[5]);
	result_printf(
	    r,
	    "The kernel queues at most backlog + 1 = %d finished handshakes "
	    "for accept(); a SYN that finds the queue full is dropped without "
	    "a word, and the client's kernel sends it again 1 s later, then "
	    "2 s and 4 s after that (at 1, 3, 7, 15 s; tcp_syn_retries = %ld "
	    "tries before it gives up). A crowd's retries come back together, "
	    "on the same timer tick, to the same short queue (how many get "
	    "in each round varies from run to run: it depends on whether your "
	    "server has a core free when they land). %d connected at "
	    "once but were answered late: their last ACK met a full queue and "
	    "was dropped too (tcp_abort_on_overflow = %ld: %s).\n",
	    DOOR + 1, retries, late_but_in, abort,
	    abort == 1 ? "a reset instead, the 'refused or reset' above"
	               : "the server's kernel resends its SYN-ACK later");
	if (answered > 0 && cpu_ms >= 0)
		result_printf(
		    r,
		    "The work: %.1f ms of your server's CPU for %d requests, "
		    "%.0f µs each; %d × that is %.0f ms, yet the last reply "
		    "came after %.1f s%s. \"N requests at once: the last waits "
		    "N × the cost of one\" holds only for those the door lets "
		    "in; past it, the SYN timer's seconds decide. That is why "
		    "lab 3's server_listen() asks for 4096.\n",
		    cpu_ms, answered, 1000 * cpu_ms / answered, CROWD,
		    cpu_ms / answered * CROWD, last / 1000,
		    n[4] ? " and some were still knocking (their next SYN "
		           "goes at 15 s)"
		         : "");
}

static enum verdict crowd_at_the_door(struct grader *g, const struct check *c,
                                      struct result *r)
{
	char door[16];
	const char *const args[] = {"--backlog", door, NULL};
	const struct target_opts opts = {.nofile = 512, .args = args};
	static const char hello[] = REQ_CLOSE("GET /");
	static struct guest guests[CROWD];
	static struct pollfd pfd[CROWD];
	struct http_reply rep;
	struct target t;

	snprintf(door, sizeof(door), "%d", DOOR);
	if (!target_serve(g, c, &t, &opts, r))
		return SKIP;
	probe_request(t.port, hello, strlen(hello), &rep, REPLY_MS);
	int status = rep.status;
	probe_reply_free(&rep);
	if (status != 200) {
		result_printf(r,
		              "no numbers: GET / got %s, so a crowd would "
		              "measure nothing\n",
		              status ? "a status other than 200"
		                     : "no answer within 3 s");
		return lab1_done(&t, r, SKIP);
	}
	double cpu = target_cpu_ms(&t);
	sbx_signal(&t.proc, SIGSTOP);
	double t0 = probe_now_ms();
	crowd_knocks(guests, pfd, t.port);
	probe_sleep_ms(FROZEN_MS);
	sbx_signal(&t.proc, SIGCONT);
	crowd_waits(guests, pfd, t0);
	crowd_report(guests, cpu < 0 ? -1 : target_cpu_ms(&t) - cpu, r);
	return lab1_done(&t, r, PASS);
}

/* ---- the table
 * -------------------------------------------------------------------- */

static const struct check checks[] = {
    {"build", STAGE_BUILD, 3, check_build,
     "read the first compiler error; fix it; rebuild with `make build LAB=3`",
     NULL, false},

    UNIT(heap_order, 1,
         "heap_min() is always the timer due first, and among those due "
         "together, the one started first"),
    UNIT(heap_remove_middle, 1,
         "after removing any timer, the rest still come out in (due, seq) "
         "order, and each knows its slot"),
    UNIT(heap_random_100k, 2,
         "100,000 random pushes and removals agree with a simple model"),
    UNIT(phase_order, 3,
         "ev_run: pending, idle, prepare, poll, check, closing, then timers "
         "(and due timers once before the first iteration); the test prints "
         "the first iteration that differs"),
    UNIT(run_modes, 2,
         "NOWAIT polls with timeout 0; ONCE runs one iteration; DEFAULT until "
         "nothing is alive"),
    UNIT(liveness_ref, 2,
         "alive = active referenced handles, or closing handles still to call "
         "back; ref and unref are flags; poll_timeout() is 0 once no active, "
         "referenced handle is left"),
    UNIT(close_in_callback, 2,
         "ev_close stops the handle at once; its close callback runs in the "
         "closing phase"),
    UNIT(fd_reuse, 2,
         "an event reaches only the watcher it was for, and only while that "
         "watcher still watches: never a stopped one, never a new one on a "
         "reused descriptor"),
    UNIT(io_start_errors, 1,
         "ev_io_start: -EINVAL for unknown bits or a closing watcher, -EEXIST "
         "for a second watcher on a descriptor, epoll_ctl()'s -errno with "
         "nothing changed (start the handle only once epoll said yes)"),
    UNIT(io_interest, 2,
         "level-triggered; a new interest replaces the old; a callback gets "
         "only the events it asked for; a stopped watcher's socket never "
         "wakes poll"),
    UNIT(immediate_vs_timeout, 1,
         "after poll comes check: inside an I/O callback, setImmediate beats "
         "setTimeout(0)"),
    UNIT(timer_not_early, 2, "a timer fires when due <= now, never before"),
    UNIT(timer_repeat_again, 1,
         "a repeating timer re-arms itself; ev_timer_again restarts it with "
         "its repeat"),
    UNIT(timer_equal_deadlines_stable, 1,
         "equal deadlines fire in start order: break ties with seq"),
    UNIT(timer_restart_in_callback, 2,
         "a callback may stop or restart its own timer, or others"),
    UNIT(timer_stop_all_running, 1,
         "stopping every timer while the loop runs leaves the loop with "
         "nothing to do"),
    UNIT(poll_timeout, 2,
         "poll timeout: 0 with idle work, due - now with a timer, -1 with "
         "none; never 0 before a deadline"),
    UNIT(now_cached, 2,
         "every callback of an iteration sees one now, the time after its "
         "poll returned"),
    UNIT(handle_lifetime, 2,
         "the loop counts a handle from its init to its close callback: "
         "ev_loop_close() is -EBUSY before, 0 after"),
    UNIT(poll_error_aborts, 2,
         "epoll_wait() failing with anything but EINTR is a broken epoll "
         "descriptor: call poll_failed(errno), do not go round again; EINTR "
         "is only no events"),
    /* The server as later labs use it (server.h; frame.c is given). */
    UNIT(frame_answer_later, 1,
         "server_run() must call frame_open() once the listener is ready: "
         "that is how a later lab's routes get in"),
    UNIT(frame_later_behind_big, 1,
         "call server_settle() after every event, the timer's too: it hands "
         "a request a route has taken to its connection"),
    UNIT(frame_guest_leaves, 1,
         "a client waiting for a taken request is watched for leaving by "
         "the given frame code: keep server_settle() and on_client_io() as "
         "given"),
    UNIT(frame_stream_backpressure, 1,
         "server_settle() ends with frame_flow(), as given: a streamed "
         "body that filled its queue goes on only when told it drained"),
    UNIT(frame_stream_head_and_short, 1,
         "a HEAD's answer is its head alone; an error from the connection "
         "closes it (server_settle())"),
    UNIT(frame_open_fails, 1,
         "when frame_open() fails, server_run() returns its error after "
         "undoing what it did: ev_close() the handles, one "
         "ev_run(EV_RUN_NOWAIT), close the signalfd, ev_loop_close()"),
    /* Request bodies (lab 7's uploads) are the given frame's work alone:
     * shown to a student whose server breaks them, worth no points. */
    UNIT(frame_request_body, 0,
         "the given frame reads a body in pieces, pausing and resuming: keep "
         "on_client_io() and server_settle() as given"),
    UNIT(frame_body_refused, 0,
         "a body nobody reads never becomes a request: the given frame "
         "answers and closes"),
    UNIT(frame_expect_continue, 0,
         "the given frame answers \"Expect: 100-continue\" when a route "
         "reads the body: keep server_settle() as given"),
    UNIT(frame_stream_http10, 0,
         "the given frame sends a body of unknown length to an HTTP/1.0 "
         "client as it is, closing at its end: keep server_settle() as "
         "given"),
    HIDDEN(heap_sift, 1,
           "heap_min() is the timer due first, whichever child it came from"),
    HIDDEN(nowait_no_block, 1,
           "EV_RUN_NOWAIT never blocks in epoll_wait; EV_RUN_ONCE does not "
           "either once a pending or idle callback ran before poll"),
    HIDDEN(many_timers, 1, "ten thousand timers, each fired once, in order"),
    HIDDEN(close_reuse_memory, 1,
           "after its close callback a handle's memory is the caller's: never "
           "touch it again"),
    HIDDEN(stop_flag, 1, "ev_stop ends ev_run after the current iteration"),
    HIDDEN(feed, 1,
           "ev_io_feed: events add up until the pending phase, which works on "
           "a copy of its queue and clears what it delivers; ev_close cancels "
           "a feed"),
    HIDDEN(handle_corners, 1,
           "each phase works on what was queued when it began (the closing "
           "phase too); starting an active handle or closing a closing one "
           "changes nothing"),

    AGAIN(integration, 1, get_root, lab1_get_root, 1,
          "answer GET / with 200 and a Content-Length"),
    AGAIN(integration, 1, large_file, lab1_large_file, 1,
          "keep unsent output and send it when writable"),
    AGAIN(integration, 1, malformed_400, lab1_malformed_400, 1,
          "malformed requests get 400 and close"),
    AGAIN(integration, 1, byte_at_a_time, lab1_byte_at_a_time, 1,
          "keep partial requests across events"),
    AGAIN(integration, 1, client_vanishes, lab1_client_vanishes, 1,
          "EPIPE/ECONNRESET end one connection, never the server"),
    AGAIN(integration, 1, clean_exit, lab1_clean_exit, 1,
          "on SIGINT/SIGTERM close every handle, run the loop until closed, "
          "exit 0"),
    AGAIN(integration, 2, keep_alive, lab2_keep_alive_curl, 1,
          "keep connections open after a response"),
    AGAIN(integration, 2, pipelined, lab2_pipelined, 1,
          "answer pipelined requests in order"),
    AGAIN(integration, 2, concurrent_keepalive, lab2_concurrent_keepalive, 1,
          "serve every connection while the others stay open"),
    AGAIN(integration, 2, vanish_mid_request, lab2_vanish_mid_request, 1,
          "free a connection that leaves mid-request"),
    {"integration.idle_timeout", STAGE_INTEGRATION, 3, lab3_idle_timeout,
     "a keep-alive connection idle for the idle timeout after its last "
     "answer is closed, without a word",
     NULL, false},
    {"integration.header_timeout", STAGE_INTEGRATION, 3, header_timeout,
     "a head not complete within the header timeout of its first byte (not "
     "its last) gets 408 and a close, on a new connection and after an "
     "answer alike",
     NULL, false},
    {"integration.timeout_by_state", STAGE_INTEGRATION, 2, timeout_by_state,
     "waiting_for(): SLEEPING waits for its wake-up; anything but READING "
     "waits for nothing; READING with bytes waits for the head; READING "
     "empty waits idle only once a request was answered",
     NULL, false},
    {"integration.beyond_fd_setsize", STAGE_INTEGRATION, 1, beyond_fd_setsize,
     "epoll has no FD_SETSIZE: no descriptor limit but the process's own", NULL,
     false},
    {"integration.emfile_pause", STAGE_INTEGRATION, 2, emfile_pause,
     "accept4() failing with EMFILE: stop the listener's watcher, start the "
     "accept-pause timer (initialised in server_run(), its data the server), "
     "keep serving the others; never exit, spin or sleep",
     NULL, false},

    {"leaks.memory", STAGE_LEAKS, 3, check_leaks_memory,
     "close every handle at stop and free connections in their close callbacks",
     NULL, false},
    {"leaks.invalid_access", STAGE_LEAKS, 3, check_leaks_invalid,
     "a handle touched after its close callback freed it? (stack above)", NULL,
     false},
    {"leaks.descriptors", STAGE_LEAKS, 2, check_leaks_fds,
     "close the epoll descriptor (ev_loop_close), the signalfd and every "
     "socket",
     NULL, false},

    {"latency.sleep_1000", STAGE_LATENCY, 6, lab3_sleep_1000,
     "/sleep is a timer: a thousand of them cost one sleep", NULL, false},
    AGAIN(latency, 2, trickle, lab2_trickle, 1,
          "a slow client must not block the loop"),
    {"latency.idle_no_timers", STAGE_LATENCY, 2, idle_no_timers,
     "no timer, no idle handle: epoll_wait with timeout -1, block until "
     "something happens",
     NULL, false},
    AGAIN(latency, 2, idle_cpu, lab2_idle_cpu, 2,
          "an idle loop sleeps in epoll_wait: timeout -1 with no timer, never "
          "0 before a deadline, no write interest without output"),
    {"latency.asleep_cpu", STAGE_LATENCY, 1, asleep_cpu,
     "read interest only when conn_wants_read(): a sleeping or writing "
     "connection's unread bytes would wake every poll",
     NULL, false},
    {"latency.short_timers_cpu", STAGE_LATENCY, 2, short_timers_cpu,
     "many short timers: the loop sleeps until each is due, it does not "
     "spin",
     NULL, false},
    {"latency.timers_on_time", STAGE_LATENCY, 2, timers_on_time,
     "a /sleep?ms=N is answered after N ms or a little more, never "
     "before",
     NULL, false},

    {"memory.idle_10k", STAGE_MEMORY, 5, idle_10k,
     "an idle connection should cost a struct and a descriptor (at most "
     "1 KiB): no buffers until data comes",
     NULL, false},

    AGAIN(experiment, 1, bad_waiter, lab1_bad_waiter, 0, NULL),
    {"experiment.crowd_at_the_door", STAGE_EXPERIMENT, 0, crowd_at_the_door,
     NULL, NULL, false},
    QUIZ(q1),
    QUIZ(q2),
    QUIZ(q3),
    QUIZ(q4),
};

static const struct lab lab3 = {
    .number = 3,
    .dir = "03-epoll-timers",
    .title = "an epoll event loop with timers and libuv's phases",
    .checks = checks,
    .nchecks = sizeof(checks) / sizeof(checks[0]),
    .setup = lab1_setup,
    .leak_scenario = lab2_leak_scenario,
    .leak_cleanup = lab2_leak_cleanup,
};

GRADER_LAB(lab3)
