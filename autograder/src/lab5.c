/* lab5.c - the checks of lab 5, streams: a file to a client one chunk at a
 * time, with backpressure. The stream is specified by its unit tests
 * (chunks in order, pause, close at any time, errors, Range); the server is
 * watched from outside: downloads byte for byte at the sizes around a
 * chunk, every Range form, descriptors given back when clients leave, and
 * memory that stays flat however big the file and however slow the client.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "curl.h"
#include "grader.h"
#include "lab1.h"
#include "lab2.h"
#include "probe.h"
#include "stats.h"
#include "target.h"
#include "util.h"

enum {
	REPLY_MS = 3000,
	HUGE_MIB = 64,   /* huge.bin: bigger than anything a stream may hold */
	GIANT_MIB = 256, /* giant.bin: four times that, for "flat" */
	CHUNK = 64 << 10,
	/* What one download may hold: a chunk, and a queue that said full
	 * (SERVER_STREAM_HIGH) with one more chunk on top. */
	HELD = 3 * CHUNK,
	CROWD = 50, /* "50 users": the seed's quiz */
};

/* The bytes of every file this lab adds: known here without reading. */
static unsigned char pattern(long i)
{
	return (unsigned char)(i * 131 + i / 65521);
}

static const long sizes[] = {0, 1, CHUNK - 1, CHUNK, CHUNK + 1};

static int write_pattern(const char *path, long n)
{
	enum { BLOCK = 1 << 20 };
	unsigned char *b = malloc(BLOCK);
	FILE *f = fopen(path, "we");
	int rc = 0;

	if (b == NULL || f == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (long at = 0; at < n && rc == 0; at += BLOCK) {
		long len = n - at < BLOCK ? n - at : BLOCK;
		for (long i = 0; i < len; i++)
			b[i] = pattern(at + i);
		if (fwrite(b, 1, (size_t)len, f) != (size_t)len)
			rc = -EIO;
	}
out:
	if (f != NULL && fclose(f) != 0 && rc == 0)
		rc = -EIO;
	free(b);
	return rc;
}

/* Lab 1's folder, plus files of the sizes around a chunk and a huge one. */
static int setup(struct grader *g)
{
	char path[PATH_MAX], name[32];
	int rc = lab1_setup(g);

	for (size_t i = 0; rc == 0 && i < sizeof(sizes) / sizeof(sizes[0]);
	     i++) {
		snprintf(name, sizeof(name), "s%ld.bin", sizes[i]);
		rc = write_pattern(path_join(path, g->www, name), sizes[i]);
	}
	if (rc == 0)
		rc = write_pattern(path_join(path, g->www, "huge.bin"),
		                   (long)HUGE_MIB << 20);
	if (rc == 0)
		rc = write_pattern(path_join(path, g->www, "giant.bin"),
		                   (long)GIANT_MIB << 20);
	/* Names lab 1's rules let through, that lead out of the root or to
	 * what is not a file: a link out to lab 1's secret, a FIFO. And a
	 * link that stays inside, which is served. */
	if (rc == 0 &&
	    (symlink("../secret.txt", path_join(path, g->www, "out.txt")) < 0 ||
	     symlink("hello.txt", path_join(path, g->www, "in.txt")) < 0 ||
	     mkfifo(path_join(path, g->www, "pipe"), 0644) < 0))
		rc = -errno;
	return rc;
}

/* Where got differs from the pattern at offset `from`; n if nowhere. */
static size_t first_wrong(const char *got, size_t n, long from)
{
	size_t i = 0;

	while (i < n && (unsigned char)got[i] == pattern(from + (long)i))
		i++;
	return i;
}

/* ---- downloads --------------------------------------------------------- */

/* GET route + name by curl: the whole pattern file of size bytes. */
static bool fetch_from(struct grader *g, int port, const char *route,
                       const char *name, long size, struct result *r)
{
	char path[64];
	struct curl_reply cr;
	bool ok = false;

	snprintf(path, sizeof(path), "%s%s", route, name);
	if (curl_fetch(g, port, path, NULL, 20, &cr) < 0 || cr.status != 200)
		result_printf(r,
		              "%s\nexpected 200 and %ld bytes; got status "
		              "%d (%s)\n",
		              cr.cmd, size, cr.status, cr.err);
	else if (cr.body_len != (size_t)size ||
	         first_wrong(cr.body, cr.body_len, 0) != cr.body_len)
		result_printf(r,
		              "%s\nthe %ld-byte file arrived as %zu bytes, the "
		              "first wrong one at byte %zu: a chunk lost, "
		              "repeated or out of order, or the end missed by "
		              "one?\n",
		              cr.cmd, size, cr.body_len,
		              first_wrong(cr.body, cr.body_len, 0));
	else
		ok = true;
	curl_reply_free(&cr);
	return ok;
}

static bool fetch_whole(struct grader *g, int port, const char *name, long size,
                        struct result *r)
{
	return fetch_from(g, port, "/files/", name, size, r);
}

static enum verdict download_sizes(struct grader *g, const struct check *c,
                                   struct result *r)
{
	struct target t;
	char name[32];
	bool ok = true;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	/* Missing files first: each leaves errno set on a pool thread,
	 * which a later success must not read as an error. */
	for (int i = 0; ok && i < 8; i++)
		ok =
		    EXPECT(r, t.port, REQ_CLOSE("GET /files/missing.bin"), 404);
	for (size_t i = 0; ok && i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		snprintf(name, sizeof(name), "s%ld.bin", sizes[i]);
		ok = fetch_whole(g, t.port, name, sizes[i], r);
	}
	ok =
	    ok && fetch_whole(g, t.port, "giant.bin", (long)GIANT_MIB << 20, r);
	/* And the buffered route, which the route hands on (given). */
	ok = ok &&
	     fetch_from(g, t.port, "/files-buffered/", "s65537.bin", 65537, r);
	if (ok)
		result_printf(
		    r,
		    "0, 1, 65535, 65536, 65537 bytes and %d MiB, after "
		    "8 missing files: each byte for byte; and 65537 "
		    "bytes from /files-buffered/\n",
		    GIANT_MIB);
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* ---- Range -------------------------------------------------------------- */

struct range_case {
	const char *method, *range;
	int status;
	const char *content_range; /* NULL: none expected */
	long from, len; /* the body: pattern bytes [from, from+len) */
};

static bool range_ok(int port, const struct range_case *k, struct result *r)
{
	char req[256], got_cr[128], a[300];
	struct http_reply rep;
	bool head = strcmp(k->method, "HEAD") == 0;
	bool ok = false;

	snprintf(req, sizeof(req),
	         "%s /files/s65537.bin HTTP/1.1\r\nHost: grader\r\n"
	         "Range: %s\r\nConnection: close\r\n\r\n",
	         k->method, k->range);
	int fd = probe_connect(port, REPLY_MS);
	probe_send(fd, req, strlen(req), 0, 0);
	probe_recv(fd, &rep, head, REPLY_MS);
	if (fd >= 0)
		close(fd);
	const char *cr =
	    probe_header(&rep, "Content-Range", got_cr, sizeof(got_cr));
	if (rep.status != k->status)
		result_printf(r, "%s with Range: %s: expected %d, got %s\n",
		              k->method, k->range, k->status,
		              rep.raw_len ? probe_quote(rep.raw, rep.raw_len,
		                                        80, a, sizeof(a))
		                          : rep.err);
	else if (k->content_range != NULL &&
	         (cr == NULL || strcmp(cr, k->content_range) != 0))
		result_printf(r,
		              "%s with Range: %s: expected \"Content-Range: "
		              "%s\", got %s%s%s\n",
		              k->method, k->range, k->content_range,
		              cr ? "\"" : "none", cr ? cr : "", cr ? "\"" : "");
	else if (k->status != 416 && rep.content_length != k->len)
		result_printf(r,
		              "%s with Range: %s: expected Content-Length %ld, "
		              "got %ld\n",
		              k->method, k->range, k->len, rep.content_length);
	else if (k->status != 416 && !head &&
	         (rep.body_len != (size_t)k->len ||
	          first_wrong(rep.body, rep.body_len, k->from) != rep.body_len))
		result_printf(
		    r,
		    "GET with Range: %s: expected bytes %ld..%ld of "
		    "the file; %zu came, the first wrong one at %zu\n",
		    k->range, k->from, k->from + k->len - 1, rep.body_len,
		    first_wrong(rep.body, rep.body_len, k->from));
	else
		ok = true;
	probe_reply_free(&rep);
	return ok;
}

/* A HEAD whose answer is an error (416, 404) is a head alone too: sent
 * with a request pipelined behind it, the next answer must begin right
 * after that head. */
static bool head_errors_ok(int port, struct result *r)
{
	static const char *const heads[] = {
	    "HEAD /files/s65537.bin HTTP/1.1\r\nHost: grader\r\n"
	    "Range: bytes=70000-\r\n\r\n",
	    "HEAD /files/missing.bin HTTP/1.1\r\nHost: grader\r\n\r\n",
	};
	const char *next = REQ_CLOSE("GET /files/s1.bin");
	char a[300], qh[300], qn[300];
	bool ok = true;

	for (size_t i = 0; ok && i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct http_reply h, g;
		int fd = probe_connect(port, REPLY_MS);
		probe_send(fd, heads[i], strlen(heads[i]), 0, 0);
		probe_send(fd, next, strlen(next), 0, 0);
		probe_recv(fd, &h, true, REPLY_MS);
		probe_recv(fd, &g, false, REPLY_MS);
		if (fd >= 0)
			close(fd);
		/* What followed the HEAD's head: the GET's answer, whether
		 * the HEAD's read took it with the head or the GET's read got
		 * it. */
		const char *after = h.body_len > 0 ? h.body : g.raw;
		size_t after_len = h.body_len > 0 ? h.body_len : g.raw_len;
		ok = h.status >= 400 && after_len >= 12 &&
		     memcmp(after, "HTTP/1.1 200", 12) == 0;
		if (!ok)
			result_printf(r,
			              "sent a HEAD whose answer is an error, "
			              "then a GET, on one connection: %s, then "
			              "%s; "
			              "the HEAD got %d; after its head came "
			              "%s: a HEAD's answer is a head alone, an "
			              "error's too\n",
			              probe_quote(heads[i], strlen(heads[i]),
			                          120, qh, sizeof(qh)),
			              probe_quote(next, strlen(next), 120, qn,
			                          sizeof(qn)),
			              h.status,
			              after_len ? probe_quote(after, after_len,
			                                      60, a, sizeof(a))
			                        : "nothing");
		probe_reply_free(&h);
		probe_reply_free(&g);
	}
	return ok;
}

static enum verdict range_requests(struct grader *g, const struct check *c,
                                   struct result *r)
{
	static const struct range_case cases[] = {
	    {"GET", "bytes=0-99", 206, "bytes 0-99/65537", 0, 100},
	    {"GET", "bytes=65530-", 206, "bytes 65530-65536/65537", 65530, 7},
	    {"GET", "bytes=-10", 206, "bytes 65527-65536/65537", 65527, 10},
	    {"GET", "bytes=100-999999", 206, "bytes 100-65536/65537", 100,
	     65437},
	    {"GET", "bytes=65536-65536", 206, "bytes 65536-65536/65537", 65536,
	     1},
	    {"HEAD", "bytes=0-9", 206, "bytes 0-9/65537", 0, 10},
	    {"GET", "bytes=65537-", 416, "bytes */65537", 0, 0},
	    {"GET", "bytes=9-5", 200, NULL, 0, 65537},
	    /* 64 bytes, the longest the route keeps (files.c, MAX_RANGE). */
	    {"GET",
	     "bytes=0000000000000000000000000100-00000000000000000000000000199",
	     206, "bytes 100-199/65537", 100, 100},
	};
	struct target t;
	bool ok = true;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (size_t i = 0; ok && i < sizeof(cases) / sizeof(cases[0]); i++)
		ok = range_ok(t.port, &cases[i], r);
	ok = ok && head_errors_ok(t.port, r);
	if (ok)
		result_printf(r,
		              "a-b, a-, -n, past the end, the last byte, "
		              "HEAD, 416 and an invalid range: each right; a "
		              "HEAD's 416 and 404 are heads alone\n");
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* ---- outside the root ---------------------------------------------------- */

/* What lab 1's name rules cannot see: a symbolic link out of the root, a
 * folder, a FIFO -- five of them, one more than the pool has threads: an
 * open that waits for a FIFO's writer holds its thread for good. */
static enum verdict outside_root(struct grader *g, const struct check *c,
                                 struct result *r)
{
	static const struct {
		const char *req;
		int status;
	} cases[] = {
	    {REQ_CLOSE("GET /files/out.txt"), 404},
	    {REQ_CLOSE("GET /files/sub"), 404},
	    {REQ_CLOSE("GET /files/in.txt"), 200},
	    {REQ_CLOSE("GET /files/pipe"), 404},
	    {REQ_CLOSE("GET /files/pipe"), 404},
	    {REQ_CLOSE("GET /files/pipe"), 404},
	    {REQ_CLOSE("GET /files/pipe"), 404},
	    {REQ_CLOSE("GET /files/pipe"), 404},
	    {REQ_CLOSE("GET /files/s1.bin"), 200},
	};
	struct target t;
	bool ok = true;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (size_t i = 0; ok && i < sizeof(cases) / sizeof(cases[0]); i++)
		ok = EXPECT(r, t.port, cases[i].req, cases[i].status);
	if (ok)
		result_printf(r, "a link out of the root, a folder and a FIFO "
		                 "(5 times): 404 each, at once; a link inside "
		                 "the root: 200\n");
	else
		result_printf(r,
		              "(out.txt is a symbolic link to ../secret.txt, "
		              "in.txt one to hello.txt, pipe a FIFO)\n");
	return lab1_done(&t, r, ok ? PASS : FAIL);
}

/* ---- clients who leave -------------------------------------------------- */

/* Asks for huge.bin, reads a little of it, then leaves: a reset when
 * `reset`, else an orderly close. */
static void leave_mid_download(int port, bool reset)
{
	const char *req = REQ_CLOSE("GET /files/huge.bin");
	struct linger lg = {1, 0};
	struct http_reply rep;
	int small = 16384;
	int fd = probe_connect(port, REPLY_MS);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	probe_send(fd, req, strlen(req), 0, 0);
	probe_recv(fd, &rep, false, 200); /* the head and a little body */
	probe_reply_free(&rep);
	if (reset)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* Waits up to ms for the server's descriptors to come down to want. */
static int fds_settle(struct target *t, int want, int ms)
{
	int n = target_fds(t);

	for (double end = probe_now_ms() + ms; n > want && probe_now_ms() < end;
	     n = target_fds(t))
		probe_sleep_ms(20);
	return n;
}

static enum verdict abort_frees(struct grader *g, const struct check *c,
                                struct result *r)
{
	struct target t;
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (!EXPECT(r, t.port, REQ_CLOSE("GET /files/s1.bin"), 200))
		return lab1_done(&t, r, FAIL);
	int before = fds_settle(&t, 0, 200);
	for (int i = 0; i < 6; i++)
		leave_mid_download(t.port, i % 2 == 0);
	int after = fds_settle(&t, before, 2000);
	if (before < 0 || after < 0)
		result_printf(r, "grader: cannot count the server's "
		                 "descriptors in /proc\n");
	else if (after > before)
		result_printf(r,
		              "6 clients left in the middle of a download (3 "
		              "by a reset, 3 by a close): the server had %d "
		              "descriptors before, %d two seconds after. When "
		              "the guest leaves (on_gone), stop the stream and "
		              "close its file: every aborted download leaks "
		              "one\n",
		              before, after);
	else if (EXPECT(r, t.port, REQ_CLOSE("GET /files/s65537.bin"), 200)) {
		result_printf(r,
		              "6 clients left mid-download; the server went "
		              "back to %d descriptors, and serves on\n",
		              after);
		v = PASS;
	}
	return lab1_done(&t, r, v);
}

/* ---- /stats ----------------------------------------------------------- */

/* The number after "key": in a /stats answer; -1 when it has none. */
static long stats_field(const struct http_reply *rep, const char *key)
{
	char want[48];
	const char *at;

	if (rep->status != 200 || rep->body == NULL)
		return -1;
	snprintf(want, sizeof(want), "\"%s\":", key);
	at = strstr(rep->body, want);
	return at == NULL ? -1 : strtol(at + strlen(want), NULL, 10);
}

/* GET /stats: streams_open and bytes_buffered, into v[0] and v[1]. */
static bool get_stats(int port, long v[2], struct http_reply *rep)
{
	probe_request(port, REQ_CLOSE("GET /stats"),
	              strlen(REQ_CLOSE("GET /stats")), rep, REPLY_MS);
	v[0] = stats_field(rep, "streams_open");
	v[1] = stats_field(rep, "bytes_buffered");
	return v[0] >= 0 && v[1] >= 0;
}

/* Three clients ask for the 256 MiB file and read nothing: /stats shows
 * three open streams, each holding about a queue (backpressure), and none
 * once they have left. The frame counts (stats.c is given): what this
 * checks is the stream's behaviour, seen from the server's own numbers. */
static enum verdict stats_streams(struct grader *g, const struct check *c,
                                  struct result *r)
{
	enum { N = 3 };
	const char *req = REQ_CLOSE("GET /files/giant.bin");
	struct target t;
	struct http_reply rep;
	int fds[N], small = CHUNK;
	long busy[2], idle[2] = {-1, -1};
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (int i = 0; i < N; i++) {
		fds[i] = probe_connect(t.port, REPLY_MS);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small,
		           sizeof(small));
		probe_send(fds[i], req, strlen(req), 0, 0);
	}
	probe_sleep_ms(500); /* the kernel's buffers fill; the queues too */
	bool said = get_stats(t.port, busy, &rep);
	if (!said)
		result_printf(r,
		              "GET /stats: status %d, body \"%.200s\"; "
		              "expected 200 and JSON with streams_open and "
		              "bytes_buffered\n",
		              rep.status, rep.body ? rep.body : "");
	probe_reply_free(&rep);
	for (int i = 0; i < N; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* They have left: the streams must close (on_gone, pipe_gone). */
	for (double end = probe_now_ms() + 2000;
	     said && probe_now_ms() < end && idle[0] != 0; probe_sleep_ms(50)) {
		get_stats(t.port, idle, &rep);
		probe_reply_free(&rep);
	}
	if (!said)
		return lab1_done(&t, r, FAIL);
	result_printf(r,
	              "%d clients downloading the %d MiB file, reading "
	              "nothing: streams_open %ld, bytes_buffered %ld; after "
	              "they left: streams_open %ld, bytes_buffered %ld\n",
	              N, GIANT_MIB, busy[0], busy[1], idle[0], idle[1]);
	if (busy[0] != N)
		result_printf(
		    r,
		    "expected %d streams open: each download streams "
		    "its file (server_stream(), then server_write())\n",
		    N);
	else if (busy[1] > N * 2L * CHUNK)
		result_printf(r,
		              "expected at most %d bytes buffered (%d x a full "
		              "queue and a chunk): when server_write() says "
		              "full, pause the stream until on_drain\n",
		              N * 2 * CHUNK, N);
	else if (idle[0] != 0 || idle[1] != 0)
		result_printf(r, "expected 0 and 0 within 2 s of the clients "
		                 "leaving: on_gone must stop the pipe\n");
	else
		v = PASS;
	return lab1_done(&t, r, v);
}

/* ---- latency ------------------------------------------------------------ */

/* Milliseconds from sending a request for path to the first byte of the
 * file itself (the first after a 200's head); -1 when none came within
 * REPLY_MS, or the answer was not a 200. */
static double first_byte_ms(int port, const char *path)
{
	char req[128], buf[4096];
	size_t got = 0;
	double t0, ms = -1;
	int fd = probe_connect(port, REPLY_MS);

	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), REQ_CLOSE("GET %s"), path);
	t0 = probe_now_ms();
	probe_send(fd, req, strlen(req), 0, 0);
	while (probe_now_ms() - t0 < REPLY_MS && got < sizeof(buf) - 1) {
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) != 1)
			continue;
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
		buf[got] = '\0';
		char *end = strstr(buf, "\r\n\r\n");
		if (end != NULL && strncmp(buf, "HTTP/1.1 200", 12) != 0)
			break; /* not the file */
		if (end != NULL && (size_t)(end + 4 - buf) < got) {
			ms = probe_now_ms() - t0;
			break;
		}
	}
	close(fd);
	return ms;
}

/* A file's first bytes go out as soon as they are read, before the rest
 * is: the 256 MiB file's first byte comes about as soon as the 64 KiB
 * file's. A server that reads the file first makes its guest wait for all
 * of it. */
static enum verdict first_byte(struct grader *g, const struct check *c,
                               struct result *r)
{
	enum { N = 7 };
	double small[N], big[N];
	struct stats ss, sb;
	struct target t;
	enum verdict v = FAIL;
	char a[160], b[160];

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	for (int i = 0; i < N; i++) {
		small[i] = first_byte_ms(t.port, "/files/s65537.bin");
		big[i] = first_byte_ms(t.port, "/files/giant.bin");
	}
	stats_summarize(small, N, &ss);
	stats_summarize(big, N, &sb);
	double limit = 5 * ss.p50 + 5;
	result_printf(r, "first byte of the 64 KiB file: %s\n",
	              stats_format(&ss, a, sizeof(a)));
	result_printf(r, "first byte of the %d MiB file: %s\n", GIANT_MIB,
	              stats_format(&sb, b, sizeof(b)));
	if (ss.min < 0 || sb.min < 0)
		result_printf(r,
		              "a download sent no file within %d ms (a 200 "
		              "and its first bytes)\n",
		              REPLY_MS);
	else if (sb.p50 > limit)
		result_printf(r,
		              "expected the big file's first byte within 5 x "
		              "the small one's + 5 ms (%.1f ms, at the "
		              "median): a chunk goes out as soon as it is "
		              "read; a guest must not wait for the whole file "
		              "to be read\n",
		              limit);
	else
		v = PASS;
	return lab1_done(&t, r, v);
}

/* A child of the grader's that reads the n downloads on fds as fast as
 * they come, so that the server is busy streaming while the parent
 * measures; it stops when the parent closes the write end of the pipe
 * stop[] (it reads the other), or after ms. Its exit status: how many downloads
 * were a 200 that had brought at least MIN_MB MiB by then. Its pid, or -1. */
enum { MIN_MB = 1 };
static pid_t drain_in_child(const int *fds, int n, const int stop[2], int ms)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	close(stop[1]); /* the parent's: its close is the signal */
	static char buf[CHUNK];
	static long got[CROWD];
	static bool ok[CROWD];
	struct pollfd p[CROWD + 1];
	int good = 0;

	for (int i = 0; i < n; i++)
		p[i] = (struct pollfd){fds[i], POLLIN, 0};
	p[n] = (struct pollfd){stop[0], POLLIN, 0};
	for (double end = probe_now_ms() + ms; probe_now_ms() < end;) {
		if (poll(p, (nfds_t)n + 1, 100) <= 0)
			continue;
		if (p[n].revents != 0)
			break; /* the parent has measured */
		for (int i = 0; i < n; i++) {
			if (p[i].revents == 0)
				continue;
			ssize_t k =
			    recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (k <= 0) {
				p[i].fd =
				    -1; /* done (or failed): poll skips it */
				continue;
			}
			if (got[i] == 0)
				ok[i] = k >= 12 &&
				        memcmp(buf, "HTTP/1.1 200", 12) == 0;
			got[i] += k;
		}
	}
	for (int i = 0; i < n; i++)
		good += ok[i] && got[i] >= MIN_MB << 20;
	_exit(good);
}

/* GET / while 50 clients download the 64 MiB file as fast as they can
 * read: the loop streams 50 files and must still answer at once. A server
 * that sends a file before it looks at the next client (or reads it on
 * the loop thread, or copies it whole) keeps GET / waiting. */
static enum verdict during_downloads(struct grader *g, const struct check *c,
                                     struct result *r)
{
	enum { PROBES = 40 };
	static const struct target_opts opts = {.nofile = 4 * CROWD};
	const char *req = REQ_CLOSE("GET /files/huge.bin");
	const double limit = 50; /* ms at p90; the reference needs a few */
	double ms[PROBES];
	int fds[CROWD], stop[2], n = 0, status = 0, good = -1;
	struct target t;
	struct stats st;
	char text[160];
	enum verdict v = FAIL;

	if (!target_serve(g, c, &t, &opts, r))
		return FAIL;
	if (!EXPECT(r, t.port, REQ_CLOSE("GET /"), 200))
		return lab1_done(&t, r, FAIL);
	if (pipe2(stop, O_CLOEXEC) < 0) {
		result_printf(r, "grader: pipe2: %s\n", strerror(errno));
		return lab1_done(&t, r, FAIL);
	}
	for (int i = 0; i < CROWD; i++) {
		fds[i] = probe_connect(t.port, REPLY_MS);
		probe_send(fds[i], req, strlen(req), 0, 0);
	}
	pid_t child = drain_in_child(fds, CROWD, stop, 10000);
	close(stop[0]);
	for (int i = 0; i < CROWD; i++)
		if (fds[i] >= 0)
			close(fds[i]); /* the child has its own */
	probe_sleep_ms(100);           /* every download under way */
	while (child > 0 && n < PROBES) {
		struct http_reply rep;
		probe_request(t.port, REQ_CLOSE("GET /"),
		              strlen(REQ_CLOSE("GET /")), &rep, 2000);
		ms[n++] = rep.status == 200 ? rep.ms : 2000;
		probe_reply_free(&rep);
		if (ms[n - 1] >= 2000)
			break; /* a blocked server: no need to wait 40 times */
		probe_sleep_ms(25);
	}
	close(stop[1]); /* the child counts, and exits */
	if (child > 0 && waitpid(child, &status, 0) == child &&
	    WIFEXITED(status))
		good = WEXITSTATUS(status);
	stats_summarize(ms, (size_t)n, &st);
	result_printf(r,
	              "GET / while %d clients downloaded the %d MiB file (%d "
	              "of them had had a 200 and %d MiB or more by the "
	              "end): %s\n",
	              CROWD, HUGE_MIB, good, MIN_MB,
	              stats_format(&st, text, sizeof(text)));
	if (child < 0 || good < 0)
		result_printf(r, "grader: the downloading clients (a child "
		                 "process) failed\n");
	else if (n < PROBES || st.p90 > limit || st.max > 10 * limit)
		result_printf(r,
		              "expected %d answers, p90 under %.0f ms and none "
		              "over %.0f: between two chunks of a download the "
		              "loop serves everyone else\n",
		              PROBES, limit, 10 * limit);
	else if (good < CROWD)
		result_printf(r,
		              "expected all %d downloads running (a 200, and "
		              "at least %d MiB each during the measurement): "
		              "GET / is measured while the files stream\n",
		              CROWD, MIN_MB);
	else
		v = PASS;
	return lab1_done(&t, r, v);
}

/* ---- memory -------------------------------------------------------------- */

/* The server's resident memory now, in KiB, sampled every 20 ms for ms;
 * returns the highest sample. */
static long rss_max_over(struct target *t, int ms)
{
	long max = target_rss_kb(t);

	for (double end = probe_now_ms() + ms; probe_now_ms() < end;) {
		long now = target_rss_kb(t);
		if (now > max)
			max = now;
		probe_sleep_ms(20);
	}
	return max;
}

/* A client on a slow line: it reads 64 KiB every 100 ms of a 64 MiB file.
 * Without backpressure the server reads the disk at the disk's speed and
 * queues what the client cannot take: the file ends up in memory. */
static enum verdict slow_reader(struct grader *g, const struct check *c,
                                struct result *r)
{
	const char *req = REQ_CLOSE("GET /files/huge.bin");
	const long limit_kb = 8 << 10;
	int small = CHUNK;
	struct target t;
	enum verdict v = FAIL;
	static char buf[CHUNK];
	long got = 0;

	if (!target_serve(g, c, &t, NULL, r))
		return FAIL;
	if (!EXPECT(r, t.port, REQ_CLOSE("GET /files/s65537.bin"), 200))
		return lab1_done(&t, r, FAIL);
	long base = target_rss_kb(&t), max = base;
	int fd = probe_connect(t.port, REPLY_MS);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	probe_send(fd, req, strlen(req), 0, 0);
	for (int i = 0; i < 20 && fd >= 0; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (i == 0 && n > 0 && strncmp(buf, "HTTP/1.1 200", 12) != 0)
			break; /* not the file */
		got += n > 0 ? n : 0;
		long now = rss_max_over(&t, 100);
		if (now > max)
			max = now;
	}
	if (fd >= 0)
		close(fd);
	result_printf(r,
	              "a client read %ld KiB of the %d MiB file in 2 s (64 KiB "
	              "every 100 ms): the server's memory went from %ld to at "
	              "most %ld KiB (+%ld KiB)\n",
	              got >> 10, HUGE_MIB, base, max, max - base);
	if (got < 256 << 10)
		result_printf(r, "expected the file (200) to come at the "
		                 "client's pace: at least 256 KiB in 2 s\n");
	else if (max - base > limit_kb)
		result_printf(
		    r,
		    "expected at most +%ld KiB: a slow client must "
		    "cost a chunk and a queue, not the file. When "
		    "server_write() says the queue is full, pause the "
		    "stream until on_drain\n",
		    limit_kb);
	else
		v = PASS;
	return lab1_done(&t, r, v);
}

/* `clients` clients ask for path (huge.bin) at once and read nothing for
 * ms: how much the server's memory grew (KiB), at its highest. heads
 * counts the downloads that began (a 200 head arrived). */
static long downloads_growth(struct target *t, const char *path, int clients,
                             int ms, int *heads)
{
	char req[128];
	int fds[CROWD], small = CHUNK;
	long base = target_rss_kb(t);

	snprintf(req, sizeof(req), REQ_CLOSE("GET %s"), path);
	for (int i = 0; i < clients; i++) {
		fds[i] = probe_connect(t->port, REPLY_MS);
		setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small,
		           sizeof(small));
		probe_send(fds[i], req, strlen(req), 0, 0);
	}
	long max = rss_max_over(t, ms);
	*heads = 0;
	for (int i = 0; i < clients; i++) {
		char head[12];
		*heads +=
		    fds[i] >= 0 &&
		    recv(fds[i], head, sizeof(head), MSG_PEEK | MSG_DONTWAIT) ==
		        (ssize_t)sizeof(head) &&
		    memcmp(head, "HTTP/1.1 200", 12) == 0;
		if (fds[i] >= 0)
			close(fds[i]);
	}
	return max - base;
}

/* 50 clients download a file at once and read nothing for a second, on a
 * fresh server: how much it grew (KiB), or -1 when not every download began
 * (said in r). */
static long crowd_growth(struct grader *g, const struct check *c,
                         const char *path, struct result *r)
{
	static const struct target_opts opts = {.nofile = 4 * CROWD};
	struct target t;
	int heads;

	if (!target_serve(g, c, &t, &opts, r))
		return -1;
	if (!EXPECT(r, t.port, REQ_CLOSE("GET /files/s65537.bin"), 200)) {
		lab1_done(&t, r, FAIL);
		return -1;
	}
	long grew = downloads_growth(&t, path, CROWD, 1000, &heads);
	bool alive = EXPECT(r, t.port, REQ_CLOSE("GET /"), 200);
	lab1_done(&t, r, PASS);
	if (heads < CROWD)
		result_printf(r,
		              "%s: only %d of the %d downloads began (a 200 "
		              "head within the second)\n",
		              path, heads, CROWD);
	return heads < CROWD || !alive ? -1 : grew;
}

/* The seed's 50 users, at two sizes of file: each download may cost the
 * server a chunk and a queue, whatever the file's size -- not the file. */
static enum verdict many_downloads(struct grader *g, const struct check *c,
                                   struct result *r)
{
	const long limit_kb = CROWD * (HELD >> 10) + (8 << 10);
	long small = crowd_growth(g, c, "/files/huge.bin", r);
	long big = small < 0 ? -1 : crowd_growth(g, c, "/files/giant.bin", r);

	if (big < 0)
		return FAIL;
	result_printf(r,
	              "%d clients asked for a file and read nothing for 1 s: "
	              "the server grew by %ld KiB for the %d MiB file, by "
	              "%ld KiB for the %d MiB one (%ld and %ld KiB a "
	              "download)\n",
	              CROWD, small, HUGE_MIB, big, GIANT_MIB, small / CROWD,
	              big / CROWD);
	if (small > limit_kb || big > limit_kb) {
		result_printf(r,
		              "expected at most +%ld KiB at each size: a "
		              "download holds one chunk (RSTREAM_CHUNK) and "
		              "one queue (SERVER_STREAM_HIGH), never the "
		              "file\n",
		              limit_kb);
		return FAIL;
	}
	if (big - small > (8 << 10)) {
		result_printf(r,
		              "expected the same at both sizes (within 8 MiB): "
		              "what a download holds must not grow with the "
		              "file\n");
		return FAIL;
	}
	return PASS;
}

/* ---- the experiment: the seed's quiz, on this machine ------------------- */

/* The same three downloads, streamed and buffered (fs.readFile()'s way,
 * /files-buffered/), each on a fresh server; and what 50 users of a 1 GB
 * file would cost each way, scaled from what one download cost here. */
static enum verdict
buffered_vs_streamed(struct grader *g, const struct check *c, struct result *r)
{
	/* lab 1's 16 MiB big.bin: two buffered downloads of huge.bin (64 MiB
	 * each, and a queue as big) already pass the 512 MiB of address
	 * space the sandbox allows a server -- the lesson, but no number. */
	enum { CLIENTS = 3, MIB = 16 };
	static const char *const paths[] = {"/files/big.bin",
	                                    "/files-buffered/big.bin"};
	long grew[2];
	int heads[2];

	for (int i = 0; i < 2; i++) {
		struct target t;
		if (!target_serve(g, c, &t, NULL, r))
			return SKIP;
		EXPECT(r, t.port, REQ_CLOSE("GET /"), 200);
		grew[i] =
		    downloads_growth(&t, paths[i], CLIENTS, 2000, &heads[i]);
		lab1_done(&t, r, PASS);
	}
	if (heads[0] < CLIENTS || heads[1] < CLIENTS) {
		result_printf(r,
		              "the downloads did not all begin (%d of %d "
		              "streamed, %d buffered): nothing to compare\n",
		              heads[0], CLIENTS, heads[1]);
		return SKIP;
	}
	double per[2] = {grew[0] / (double)CLIENTS, grew[1] / (double)CLIENTS};
	result_printf(r,
	              "%d clients, a %d MiB file, two seconds of reading "
	              "nothing: streamed +%ld KiB (%.0f KiB each), buffered "
	              "+%ld KiB (%.0f KiB each)\n",
	              CLIENTS, MIB, grew[0], per[0], grew[1], per[1]);
	result_printf(r,
	              "50 users of a 1 GB file, scaled: streamed about %.1f "
	              "MiB (it does not grow with the file), buffered about "
	              "%.0f GiB (%.1f x the file per user)\n",
	              50 * per[0] / 1024,
	              50 * per[1] / (MIB << 10) * 1000 / 1024.0,
	              per[1] / (MIB << 10));
	return PASS;
}

/* ---- leaks --------------------------------------------------------------- */

static int at_exit = -1;
/* The scenario's first download, as it came: a server whose downloads do
 * not work has leaked nothing because it has done nothing. */
static char scenario_said[160];

static void leak_scenario(struct grader *g, int port)
{
	static const char *const reqs[] = {
	    REQ_CLOSE("GET /files/s65537.bin"),
	    REQ_CLOSE("HEAD /files/s65537.bin"),
	    REQ_CLOSE("GET /files/s0.bin"),
	    REQ_CLOSE("GET /files/missing.bin"),
	    "GET /files/s65537.bin HTTP/1.1\r\nRange: bytes=10-20\r\n"
	    "Connection: close\r\n\r\n",
	    "GET /files/s65537.bin HTTP/1.1\r\nRange: bytes=70000-\r\n"
	    "Connection: close\r\n\r\n",
	    /* A name longer than any file's (NAME_MAX): 404, no copy. */
	    REQ_CLOSE(
	        "GET /files/"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
	};
	struct http_reply rep;

	lab2_leak_scenario(g, port);
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		probe_request(port, reqs[i], strlen(reqs[i]), &rep, 10000);
		if (i == 0 && (rep.status != 200 || rep.body_len != 65537))
			snprintf(scenario_said, sizeof(scenario_said),
			         "GET /files/s65537.bin got status %d and %zu "
			         "bytes of body",
			         rep.status, rep.body_len);
		probe_reply_free(&rep);
	}
	leave_mid_download(port, true);
	leave_mid_download(port, false);
	/* One still downloading when the server is stopped. */
	at_exit = probe_connect(port, REPLY_MS);
	probe_send(at_exit, REQ_CLOSE("GET /files/big.bin"),
	           strlen(REQ_CLOSE("GET /files/big.bin")), 0, 0);
	probe_sleep_ms(500);
}

static void leak_cleanup(struct grader *g)
{
	lab2_leak_cleanup(g);
	if (at_exit >= 0)
		close(at_exit);
	at_exit = -1;
}

/* The leak checks, once the scenario's downloads are known to work. */
static enum verdict scenario_worked(struct result *r, enum verdict v)
{
	if (v != PASS || scenario_said[0] == '\0')
		return v;
	result_printf(r,
	              "but the scenario's downloads did not work (%s): "
	              "nothing was there to leak yet\n",
	              scenario_said);
	return FAIL;
}

static enum verdict leaks_memory(struct grader *g, const struct check *c,
                                 struct result *r)
{
	return scenario_worked(r, check_leaks_memory(g, c, r));
}

static enum verdict leaks_fds(struct grader *g, const struct check *c,
                              struct result *r)
{
	return scenario_worked(r, check_leaks_fds(g, c, r));
}

static enum verdict leaks_invalid(struct grader *g, const struct check *c,
                                  struct result *r)
{
	return scenario_worked(r, check_leaks_invalid(g, c, r));
}

/* ---- the table --------------------------------------------------------- */

static const struct check checks[] = {
    {"build", STAGE_BUILD, 3, check_build,
     "read the first compiler error; fix it; rebuild with `make build LAB=5`",
     NULL, false},

    UNIT(fs_operations, 4,
         "each operation runs its system call on a pool thread (pread at "
         "the offset: never read()), and calls cb once, on the loop thread"),
    UNIT(fs_open_refuses, 5,
         "refuse a name that climbs before opening, and a file the kernel "
         "resolved outside the folder after (beneath()); a directory is "
         "-EISDIR"),
    UNIT(stream_chunks, 6,
         "one read in flight, at the offset where the last stopped; the "
         "last chunk is what is left before `end`; on_end(0) once"),
    UNIT(stream_pause_resume, 5,
         "no read starts while paused; resume starts the next one"),
    UNIT(stream_close_in_data, 4,
         "rstream_close() inside on_data: finish the close only after "
         "on_data returns (the `delivering` flag)"),
    UNIT(stream_read_error, 4,
         "a read that returns 0 before `end` is -EIO: the file shrank"),
    UNIT(pipe_teardown, 3,
         "a write that fails (the client gone) closes the stream; "
         "pipe_gone() too; done once, after the close, with the first "
         "error"),
    UNIT(range_forms, 4,
         "a-b includes b (end = b + 1); -n is the last n; a start at or "
         "past the size is 416; anything else is ignored (200)"),
    HIDDEN(fifo_refused, 2,
           "a FIFO is not a regular file (-EACCES), and opening one for "
           "reading waits for a writer unless O_NONBLOCK"),
    HIDDEN(fs_cancel, 1,
           "an order taken back before it ran: its callback once, with "
           "the pool's -ECANCELED as the result"),
    HIDDEN(close_while_reading, 1,
           "closed with a read in flight: on_closed once the read has "
           "landed, and no chunk or on_end"),

    {"integration.download_sizes", STAGE_INTEGRATION, 6, download_sizes,
     "files of 0, 1, 65535, 65536, 65537 bytes and 256 MiB, byte for byte: "
     "mind the last chunk and the empty file",
     NULL, false},
    {"integration.range_requests", STAGE_INTEGRATION, 7, range_requests,
     "206 with \"Content-Range: bytes A-B/SIZE\" (B the last byte sent), "
     "416 with \"bytes */SIZE\"; a HEAD gets the head alone, an error's "
     "too",
     NULL, false},
    {"integration.abort_frees", STAGE_INTEGRATION, 6, abort_frees,
     "a guest who leaves mid-download: on_gone stops the pipe, and its "
     "done closes the file",
     NULL, false},
    {"integration.outside_root", STAGE_INTEGRATION, 3, outside_root,
     "a symbolic link out of the root (beneath()), a folder, a FIFO "
     "(O_NONBLOCK): 404, at once",
     NULL, false},
    {"integration.stats", STAGE_INTEGRATION, 3, stats_streams,
     "a download streams its file; when server_write() says full, the "
     "stream pauses; when the guest leaves, the pipe stops",
     NULL, false},
    AGAIN(integration, 1, large_file, lab1_large_file, 3,
          "16 MiB to curl and to a client that waits before reading"),

    {"latency.first_byte", STAGE_LATENCY, 3, first_byte,
     "read the file a chunk at a time, and send each as it comes: the "
     "first byte must not wait for the whole file",
     NULL, false},
    {"latency.during_downloads", STAGE_LATENCY, 3, during_downloads,
     "the loop hands each chunk on and returns: reads on the pool, one "
     "chunk at a time, never a whole file",
     NULL, false},

    {"memory.slow_reader", STAGE_MEMORY, 7, slow_reader,
     "when server_write() says the queue is full, pause the stream; "
     "resume in on_drain",
     NULL, false},
    {"memory.many_downloads", STAGE_MEMORY, 6, many_downloads,
     "a download holds one chunk, never the whole file", NULL, false},

    {"experiment.buffered_vs_streamed", STAGE_EXPERIMENT, 0,
     buffered_vs_streamed, NULL, NULL, false},

    {"leaks.memory", STAGE_LEAKS, 4, leaks_memory,
     "free each download once its file is closed, on every path: done, "
     "416, HEAD, error, guest gone",
     NULL, false},
    {"leaks.descriptors", STAGE_LEAKS, 4, leaks_fds,
     "every download's file closed (fs_close), and the root folder at "
     "close",
     NULL, false},
    {"leaks.invalid_access", STAGE_LEAKS, 3, leaks_invalid,
     "a stream freed while a read was in flight, or twice? (stack above)", NULL,
     false},
    QUIZ(q1),
    QUIZ(q2),
    QUIZ(q3),
    QUIZ(q4),
};

static const struct lab lab5 = {
    .number = 5,
    .dir = "05-file-streams",
    .title = "streams: a file to a slow client, with backpressure",
    .checks = checks,
    .nchecks = sizeof(checks) / sizeof(checks[0]),
    .setup = setup,
    .leak_scenario = leak_scenario,
    .leak_cleanup = leak_cleanup,
};

GRADER_LAB(lab5)
