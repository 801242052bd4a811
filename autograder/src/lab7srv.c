/* lab7srv.c - the checks of lab 7's server: POST /upload and
 * GET /download.zip, watched from outside.
 *
 * Each check starts a fresh server whose --root is an empty folder of the
 * run folder, sends it archives the grader made or keeps (never the
 * submission's), and reads back what the server left there without
 * following a link. The folder the uploads carry is the writer checks'
 * (lab7_make_source), zipped by Python's zipfile. Memory is the server's
 * peak resident size (VmHWM) from /proc; latency, GET / on a second
 * connection while the transfer runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "curl.h"
#include "grader.h"
#include "lab1.h"
#include "lab7.h"
#include "probe.h"
#include "sandbox.h"
#include "stats.h"
#include "target.h"
#include "util.h"
#include "vglog.h"

enum {
	REPLY_MS = 20000,
	/* The memory checks' bound (the issue's): a server that streams
	 * holds buffers, not the transfer. */
	RSS_LIMIT_KB = 16 << 10,
	BIG_USIZE = 96 << 20, /* the big upload, expanded */
	BIG_FILE = 32 << 20,  /* the big download's file */
};

static const char *const two_workers[] = {"EV_WORKERS=2", NULL};
static const char *const one_worker[] = {"EV_WORKERS=1", NULL};

#define ZIPS "autograder/zips"

/* ---- the archive every upload check sends ------------------------------ */

static struct {
	bool done;
	char zip[PATH_MAX]; /* the grader's private copy */
	char *bytes;
	size_t len;
	struct node want[16]; /* "x/..." */
	int nwant;
	char err[300];
} src;

static bool source_zip(struct grader *g, struct result *r)
{
	struct tree t = {.n = calloc(64, sizeof(struct node))};
	char log[PATH_MAX], dir[PATH_MAX];

	if (src.done)
		goto out;
	src.done = true;
	lab7_clear_run(g);
	path_join(src.zip, g->priv, "upload-src.zip");
	path_join(log, g->priv, "upload-src.log");
	snprintf(dir, sizeof(dir), "%s/src", g->run);
	char *python[] = {"/usr/bin/python3",
	                  "-c",
	                  "import os, sys, zipfile\n"
	                  "src, out = sys.argv[1], sys.argv[2]\n"
	                  "with zipfile.ZipFile(out, 'w', "
	                  "zipfile.ZIP_DEFLATED) as z:\n"
	                  "    for top, dirs, files in sorted(os.walk(src)):\n"
	                  "        rel = os.path.relpath(top, src)\n"
	                  "        if rel != '.':\n"
	                  "            z.write(top, rel + '/')\n"
	                  "        for f in sorted(files):\n"
	                  "            p = os.path.join(top, f)\n"
	                  "            z.write(p, os.path.relpath(p, src))\n",
	                  dir,
	                  src.zip,
	                  NULL};
	if (!t.n || lab7_make_source(g, &t) < 0 || t.len > 16)
		snprintf(src.err, sizeof(src.err),
		         "grader: cannot make the folder to upload");
	else if (run_trusted(python, log) != 0)
		snprintf(src.err, sizeof(src.err),
		         "grader: python3 could not zip it (see %s)", log);
	else if (!(src.bytes = read_file(src.zip, &src.len)))
		snprintf(src.err, sizeof(src.err), "grader: cannot read %s",
		         src.zip);
	for (int i = 0; i < t.len && !src.err[0]; i++) {
		src.want[i] = t.n[i];
		src.want[i].name[0] = 'x'; /* uploaded as name=x */
		src.nwant = i + 1;
	}
	lab7_clear_run(g);
out:
	free(t.n);
	if (src.err[0])
		result_printf(r, "%s\n", src.err);
	return !src.err[0];
}

/* ---- a server with an empty root --------------------------------------- */

struct srv {
	struct target t;
	char root[PATH_MAX];
	const char *args[3];
};

static bool serve(struct grader *g, const struct check *c, struct srv *s,
                  const char *const *env, struct result *r)
{
	lab7_clear_run(g);
	path_join(s->root, g->run, "srv");
	int rc = sbx_mkdir(s->root);
	if (rc < 0) {
		result_printf(r, "grader: cannot make %s: %s\n", s->root,
		              strerror(-rc));
		return false;
	}
	s->args[0] = "--root";
	s->args[1] = s->root;
	s->args[2] = NULL;
	/* Room for the big upload's one file (LIMITS_SERVER says 16 MiB). */
	struct target_opts o = {.args = s->args, .env = env, .fsize_mb = 128};
	return target_serve(g, c, &s->t, &o, r);
}

static enum verdict done(struct grader *g, struct srv *s, struct result *r,
                         enum verdict v)
{
	v = lab1_done(&s->t, r, v);
	lab7_clear_run(g);
	return v;
}

/* What the root holds compared with want ("" when the same). */
static void root_diff(struct srv *s, const struct node *want, int n, char *diff,
                      size_t cap)
{
	struct tree t = {.n = calloc(MAX_NODES, sizeof(struct node))};

	if (!t.n) {
		snprintf(diff, cap, "grader: out of memory");
		return;
	}
	lab7_survey_dir(s->root, &t);
	lab7_compare(&t, want, n, diff, cap);
	free(t.n);
}

/* ---- requests ---------------------------------------------------------- */

/* POST /upload?name=NAME with body: whole, with a Content-Length (piece
 * 0), or chunked in pieces of that size. 0 or -1 (rep->err says why). */
static int upload(int port, const char *name, const char *body, size_t len,
                  size_t piece, struct http_reply *rep)
{
	char head[256], *wire = NULL;
	size_t n = 0;
	int fd, rc;

	memset(rep, 0, sizeof(*rep));
	if ((fd = probe_connect(port, REPLY_MS)) < 0) {
		snprintf(rep->err, sizeof(rep->err), "cannot connect: %s",
		         strerror(-fd));
		return -1;
	}
	if (piece == 0) {
		n = (size_t)snprintf(head, sizeof(head),
		                     "POST /upload?name=%s HTTP/1.1\r\nHost: "
		                     "grader\r\nContent-Length: %zu\r\n\r\n",
		                     name, len);
		rc = probe_send(fd, head, n, 0, 0);
		if (rc == 0)
			rc = probe_send(fd, body, len, 0, 0);
	} else {
		n = (size_t)snprintf(head, sizeof(head),
		                     "POST /upload?name=%s HTTP/1.1\r\nHost: "
		                     "grader\r\nTransfer-Encoding: "
		                     "chunked\r\n\r\n",
		                     name);
		wire = malloc(n + len + (len / piece + 2) * 24);
		rc = wire ? 0 : -ENOMEM;
		if (wire) {
			size_t w = 0;
			memcpy(wire, head, n);
			w = n;
			for (size_t off = 0; off < len; off += piece) {
				size_t k =
				    len - off < piece ? len - off : piece;
				w += (size_t)sprintf(wire + w, "%zx\r\n", k);
				memcpy(wire + w, body + off, k);
				w += k;
				memcpy(wire + w, "\r\n", 2);
				w += 2;
			}
			memcpy(wire + w, "0\r\n\r\n", 5);
			rc = probe_send(fd, wire, w + 5, 0, 0);
		}
	}
	/* A refusal may come before the whole body went: read it anyway. */
	rc = probe_recv(fd, rep, false, REPLY_MS);
	free(wire);
	close(fd);
	return rc;
}

static long json_field(const char *body, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (!body || !(p = strstr(body, pat)))
		return -1;
	return strtol(p + strlen(pat), NULL, 10);
}

struct zs_stats {
	long uploads, bytes_in, entries_in, published, refused, downloads,
	    bytes_out;
};

static bool get_stats(int port, struct zs_stats *st, struct result *r)
{
	struct http_reply rep;
	char q[300];
	bool ok;

	probe_request(port, REQ_CLOSE("GET /stats"),
	              strlen(REQ_CLOSE("GET /stats")), &rep, 3000);
	st->uploads = json_field(rep.body, "uploads");
	st->bytes_in = json_field(rep.body, "bytes_in");
	st->entries_in = json_field(rep.body, "entries_in");
	st->published = json_field(rep.body, "published");
	st->refused = json_field(rep.body, "refused");
	st->downloads = json_field(rep.body, "downloads");
	st->bytes_out = json_field(rep.body, "bytes_out");
	ok = rep.status == 200 && st->uploads >= 0 && st->bytes_in >= 0 &&
	     st->published >= 0;
	if (!ok)
		result_printf(r, "GET /stats: %s\n",
		              rep.status ? probe_quote(rep.raw, rep.raw_len,
		                                       200, q, sizeof(q))
		                         : rep.err);
	probe_reply_free(&rep);
	return ok;
}

static void said(struct result *r, const char *what,
                 const struct http_reply *rep)
{
	char q[400];

	if (rep->status)
		result_printf(
		    r, "%s: %d %s\n", what, rep->status,
		    probe_quote(rep->body, rep->body_len, 160, q, sizeof(q)));
	else
		result_printf(r, "%s: no answer (%s)\n", what, rep->err);
}

/* POST /upload?name=NAME: the head and half of body (len bytes in all):
 * the fd, or a negative errno. */
static int half_of(int port, const char *name, const char *body, size_t len)
{
	char head[256];
	int fd = probe_connect(port, REPLY_MS);
	int n = snprintf(head, sizeof(head),
	                 "POST /upload?name=%s HTTP/1.1\r\nHost: grader\r\n"
	                 "Content-Length: %zu\r\n\r\n",
	                 name, len);

	if (fd >= 0 && (probe_send(fd, head, (size_t)n, 0, 0) < 0 ||
	                probe_send(fd, body, len / 2, 0, 0) < 0)) {
		close(fd);
		return -EPIPE;
	}
	return fd;
}

/* An upload begun and left hanging: head and half the body sent. */
static int half_upload(int port, const char *name)
{
	return half_of(port, name, src.bytes, src.len);
}

/* ---- uploads ----------------------------------------------------------- */

static enum verdict upload_whole(struct grader *g, const struct check *c,
                                 struct result *r, size_t piece)
{
	struct srv s;
	struct http_reply rep;
	char diff[800];
	enum verdict v = FAIL;

	if (!source_zip(g, r) || !serve(g, c, &s, two_workers, r))
		return FAIL;
	upload(s.t.port, "x", src.bytes, src.len, piece, &rep);
	said(r,
	     piece ? "POST /upload?name=x (chunked, 997-byte chunks)"
	           : "POST /upload?name=x (Content-Length)",
	     &rep);
	root_diff(&s, src.want, src.nwant, diff, sizeof(diff));
	if (rep.status != 201)
		result_printf(r, "expected 201 and the folder x published\n");
	else if (json_field(rep.body, "entries") != src.nwant)
		result_printf(r, "expected \"entries\":%d in the answer\n",
		              src.nwant);
	else if (diff[0])
		result_printf(r, "the root folder: %s\n", diff);
	else
		v = PASS;
	probe_reply_free(&rep);
	return done(g, &s, r, v);
}

enum verdict lab7_upload(struct grader *g, const struct check *c,
                         struct result *r)
{
	return upload_whole(g, c, r, 0);
}

enum verdict lab7_upload_chunked(struct grader *g, const struct check *c,
                                 struct result *r)
{
	return upload_whole(g, c, r, 997);
}

enum verdict lab7_upload_refused(struct grader *g, const struct check *c,
                                 struct result *r)
{
	static const struct {
		const char *file, *word;
	} bad[] = {
	    {"slip-dotdot.zip", "zip-slip"}, {"symlink.zip", "symlink"},
	    {"ratio-bomb.zip", "bomb"},      {"late-crc.zip", "crc"},
	    {"truncated.zip", "truncated"},  {"nested-bomb.zip", "nested"}};
	struct srv s;
	struct http_reply rep;
	char path[PATH_MAX], diff[800], want[64];
	enum verdict v = PASS;

	if (!source_zip(g, r) || !serve(g, c, &s, two_workers, r))
		return FAIL;
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad) && v == PASS; i++) {
		size_t len;
		snprintf(path, sizeof(path), "%s/%s/%s", g->repo, ZIPS,
		         bad[i].file);
		char *zip = read_file(path, &len);
		if (!zip) {
			result_printf(r, "grader: cannot read %s\n", path);
			return done(g, &s, r, FAIL);
		}
		upload(s.t.port, "x", zip, len, 0, &rep);
		free(zip);
		snprintf(path, sizeof(path), "POST %s", bad[i].file);
		said(r, path, &rep);
		snprintf(want, sizeof(want), "refused: %s", bad[i].word);
		root_diff(&s, NULL, 0, diff, sizeof(diff));
		if (rep.status != 422 || !rep.body || !strstr(rep.body, want)) {
			result_printf(r, "expected 422 \"%s ...\"\n", want);
			v = FAIL;
		} else if (diff[0]) {
			result_printf(r, "refused, but the root folder: %s\n",
			              diff);
			v = FAIL;
		}
		probe_reply_free(&rep);
	}
	if (v == FAIL)
		return done(g, &s, r, v);
	/* Two uploads of one name at once: both begin before either ends,
	 * so both staging folders exist; the first to finish publishes,
	 * the other finds the name taken when it renames. */
	int a = half_upload(s.t.port, "x");
	int b = half_upload(s.t.port, "x");
	struct http_reply ra = {0}, rb = {0};
	probe_sleep_ms(300);
	if (a >= 0 && probe_send(a, src.bytes + src.len / 2,
	                         src.len - src.len / 2, 0, 0) == 0)
		probe_recv(a, &ra, false, REPLY_MS);
	if (b >= 0 && probe_send(b, src.bytes + src.len / 2,
	                         src.len - src.len / 2, 0, 0) == 0)
		probe_recv(b, &rb, false, REPLY_MS);
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
	said(r, "two uploads named x at once: the first", &ra);
	said(r, "the second", &rb);
	root_diff(&s, src.want, src.nwant, diff, sizeof(diff));
	bool race_ok = ra.status == 201 && rb.status == 409 && !diff[0];
	if (!race_ok)
		result_printf(r,
		              "expected 201, then 409 (the name taken when it "
		              "renames: RENAME_NOREPLACE), and only x in the "
		              "root%s%s\n",
		              diff[0] ? ": " : "", diff);
	probe_reply_free(&ra);
	probe_reply_free(&rb);
	if (!race_ok)
		return done(g, &s, r, FAIL);
	/* A name taken: 409, and the first upload untouched. */
	upload(s.t.port, "x", src.bytes, src.len, 0, &rep);
	said(r, "the folder again, as x", &rep);
	root_diff(&s, src.want, src.nwant, diff, sizeof(diff));
	if (rep.status != 409)
		result_printf(r, "expected 409: x exists already\n");
	else if (diff[0])
		result_printf(r, "after the 409, the root folder: %s\n", diff);
	else
		v = PASS;
	if (rep.status != 409 || diff[0])
		v = FAIL;
	probe_reply_free(&rep);
	return done(g, &s, r, v);
}

/* Polls /stats until uploads is want (or ms pass). */
static bool await_uploads(int port, long want, int ms, struct zs_stats *st,
                          struct result *r)
{
	double end = probe_now_ms() + ms;

	do {
		if (!get_stats(port, st, r))
			return false;
		if (st->uploads == want)
			return true;
		probe_sleep_ms(50);
	} while (probe_now_ms() < end);
	return false;
}

enum verdict lab7_client_leaves(struct grader *g, const struct check *c,
                                struct result *r)
{
	struct srv s;
	struct zs_stats st;
	char diff[800];
	enum verdict v = FAIL;

	if (!source_zip(g, r) || !serve(g, c, &s, two_workers, r))
		return FAIL;
	int fd = half_upload(s.t.port, "x");
	if (fd < 0) {
		result_printf(r, "could not send half an upload: %s\n",
		              strerror(-fd));
		return done(g, &s, r, FAIL);
	}
	probe_sleep_ms(300);
	close(fd);
	result_printf(r,
	              "sent half of a %zu-byte upload, then closed the "
	              "connection\n",
	              src.len);
	bool ended = await_uploads(s.t.port, 0, 3000, &st, r);
	root_diff(&s, NULL, 0, diff, sizeof(diff));
	if (!ended)
		result_printf(
		    r,
		    "3 s later /stats still says \"uploads\":%ld: "
		    "on_gone must tell the worker (UP_ABORT), and its "
		    "UP_DONE end the upload\n",
		    st.uploads);
	else if (diff[0])
		result_printf(r, "3 s later, the root folder: %s\n", diff);
	else
		v = PASS;
	return done(g, &s, r, v);
}

enum verdict lab7_stats(struct grader *g, const struct check *c,
                        struct result *r)
{
	struct srv s;
	struct zs_stats mid = {0}, end = {0};
	struct http_reply rep;
	enum verdict v = FAIL;

	if (!source_zip(g, r) || !serve(g, c, &s, two_workers, r))
		return FAIL;
	int fd = half_upload(s.t.port, "y");
	bool seen = fd >= 0 && await_uploads(s.t.port, 1, 2000, &mid, r);
	/* The acknowledgements may still be on their way: give them time. */
	for (int i = 0; seen && i < 20 && mid.bytes_in < (long)src.len / 4;
	     i++) {
		probe_sleep_ms(50);
		get_stats(s.t.port, &mid, r);
	}
	if (fd >= 0)
		close(fd);
	await_uploads(s.t.port, 0, 3000, &end, r);
	upload(s.t.port, "x", src.bytes, src.len, 0, &rep);
	probe_reply_free(&rep);
	/* Two refusals: refused counts them, and nothing else. */
	static const char *const refusals[] = {"slip-dotdot.zip",
	                                       "symlink.zip"};
	for (int i = 0; i < 2; i++) {
		char path[PATH_MAX];
		size_t blen;
		snprintf(path, sizeof(path), "%s/%s/%s", g->repo, ZIPS,
		         refusals[i]);
		char *bad = read_file(path, &blen);
		if (bad) {
			upload(s.t.port, "z", bad, blen, 0, &rep);
			probe_reply_free(&rep);
		}
		free(bad);
	}
	get_stats(s.t.port, &end, r);
	result_printf(r,
	              "during half an upload (%zu of %zu bytes sent): "
	              "uploads %ld, bytes_in %ld\n",
	              src.len / 2, src.len, mid.uploads, mid.bytes_in);
	result_printf(r,
	              "after it left, a whole one was published and two "
	              "refused: uploads %ld, bytes_in %ld, entries_in "
	              "%ld, published %ld, refused %ld\n",
	              end.uploads, end.bytes_in, end.entries_in, end.published,
	              end.refused);
	if (!seen || mid.bytes_in <= 0 || mid.bytes_in > (long)src.len / 2)
		result_printf(r, "expected uploads 1 and bytes_in between 1 "
		                 "and the bytes sent, while it ran: bytes_in "
		                 "counts what the worker acknowledged\n");
	else if (end.refused != 2)
		result_printf(r, "expected refused 2: the zip-slip and the "
		                 "symlink (a client who left is no refusal)\n");
	else if (end.uploads != 0 || end.published != 1 ||
	         end.bytes_in < (long)src.len ||
	         end.bytes_in > (long)(src.len + src.len / 2) ||
	         end.entries_in < src.nwant || end.entries_in > 2 * src.nwant)
		result_printf(
		    r,
		    "expected uploads 0, published 1, bytes_in "
		    "between %zu and %zu, entries_in between %d and %d "
		    "(the whole upload's, and what the one that left "
		    "got through)\n",
		    src.len, src.len + src.len / 2, src.nwant, 2 * src.nwant);
	else
		v = PASS;
	return done(g, &s, r, v);
}

/* ---- downloads --------------------------------------------------------- */

enum verdict lab7_download(struct grader *g, const struct check *c,
                           struct result *r)
{
	struct srv s;
	struct http_reply rep;
	struct curl_reply cr = {0};
	char zip[PATH_MAX], out[PATH_MAX], log[PATH_MAX], diff[800];
	enum verdict v = FAIL;

	if (!source_zip(g, r) || !serve(g, c, &s, two_workers, r))
		return FAIL;
	upload(s.t.port, "x", src.bytes, src.len, 0, &rep);
	bool up = rep.status == 201;
	said(r, "POST /upload?name=x", &rep);
	probe_reply_free(&rep);
	if (!up)
		return done(g, &s, r, FAIL);
	probe_request(s.t.port, REQ_CLOSE("GET /download.zip?dir=nope"),
	              strlen(REQ_CLOSE("GET /download.zip?dir=nope")), &rep,
	              5000);
	int missing = rep.status;
	probe_reply_free(&rep);
	int fetched =
	    curl_fetch(g, s.t.port, "/download.zip?dir=x", NULL, 20, &cr);
	result_printf(r, "%s: %d, %zu bytes\n", cr.cmd, cr.status, cr.body_len);
	/* Read back by bsdtar into private/dl/x, compared with the source. */
	path_join(zip, g->priv, "download.zip");
	path_join(out, g->priv, "dl");
	path_join(log, g->priv, "download-bsdtar.log");
	remove_tree(out);
	mkdir(out, 0700);
	snprintf(out, sizeof(out), "%s/dl/x", g->priv);
	mkdir(out, 0700);
	char *bsdtar[] = {"/usr/bin/bsdtar", "-xf", zip, "-C", out, NULL};
	char *unzip[] = {"/usr/bin/unzip", "-tq", zip, NULL};
	int untar = -1, tested = -1;
	if (cr.status == 200 && write_file(zip, cr.body, cr.body_len) == 0) {
		tested = run_trusted(unzip, log);
		untar = run_trusted(bsdtar, log);
	}
	path_join(out, g->priv, "dl");
	struct tree t = {.n = calloc(MAX_NODES, sizeof(struct node))};
	diff[0] = '\0';
	if (t.n && untar == 0) {
		lab7_survey_dir(out, &t);
		lab7_compare(&t, src.want, src.nwant, diff, sizeof(diff));
	}
	free(t.n);
	bool chunked =
	    cr.head &&
	    strcasestr(cr.head, "Transfer-Encoding: chunked") != NULL;
	if (cr.status != 200)
		result_printf(r, "expected 200 and the zip (%s)\n",
		              cr.err[0] ? cr.err : "no answer");
	else if (fetched < 0)
		result_printf(r,
		              "curl: %s (every chunk must come, the last, "
		              "empty one too: server_end())\n",
		              cr.err[0] ? cr.err : "it failed");
	else if (!chunked)
		result_printf(r, "expected Transfer-Encoding: chunked (the "
		                 "zip's length is known only at its end)\n");
	else if (tested != 0)
		result_printf(r, "unzip -t does not accept the zip\n");
	else if (untar != 0 || diff[0])
		result_printf(r, "extracted by bsdtar: %s\n",
		              diff[0] ? diff : "bsdtar failed");
	else if (missing != 404)
		result_printf(r,
		              "GET /download.zip?dir=nope: expected 404, "
		              "got %d\n",
		              missing);
	else {
		result_printf(r, "unzip -t accepts it; bsdtar extracts the "
		                 "folder byte for byte; a missing folder is "
		                 "404\n");
		v = PASS;
	}
	curl_reply_free(&cr);
	return done(g, &s, r, v);
}

/* ---- memory and latency ------------------------------------------------ */

/* A zip of one entry, big.txt: BIG_USIZE bytes of text, deflated with a
 * data descriptor (as a streaming writer makes it). Made once. */
static struct {
	bool done;
	unsigned char *bytes;
	size_t len;
} big;

static void put16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
	put16(p, v & 0xffff), put16(p + 2, v >> 16);
}

static bool make_big(void)
{
	enum { IN = 1 << 20 };
	static const char name[] = "big.txt";
	unsigned char *in = malloc(IN), *out;
	size_t cap = BIG_USIZE / 2 + (1 << 20), n = 0;
	z_stream z = {0};
	uLong crc = crc32(0, NULL, 0);

	if (big.done)
		return big.bytes != NULL;
	big.done = true;
	out = malloc(cap);
	if (!in || !out ||
	    deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto fail;
	/* Local header: deflate, bit 3, sizes and CRC in the descriptor. */
	memset(out, 0, 30);
	put32(out, 0x04034b50), put16(out + 4, 20), put16(out + 6, 8);
	put16(out + 8, 8), put16(out + 26, sizeof(name) - 1);
	memcpy(out + 30, name, sizeof(name) - 1);
	n = 30 + sizeof(name) - 1;
	size_t data_at = n;
	for (uint32_t i = 0; i < BIG_USIZE / IN; i++) {
		lab7_fill(in, IN, 0, i * 2654435761u + 7);
		crc = crc32(crc, in, IN);
		z.next_in = in, z.avail_in = IN;
		int flush = i + 1 == BIG_USIZE / IN ? Z_FINISH : Z_NO_FLUSH;
		do {
			if (cap - n < 65536)
				goto fail;
			z.next_out = out + n, z.avail_out = 65536;
			deflate(&z, flush);
			n += 65536 - z.avail_out;
		} while (z.avail_out == 0 || z.avail_in > 0);
	}
	deflateEnd(&z);
	uint32_t csize = (uint32_t)(n - data_at);
	unsigned char *p = out + n;
	put32(p, 0x08074b50), put32(p + 4, (uint32_t)crc), put32(p + 8, csize);
	put32(p + 12, BIG_USIZE);
	n += 16;
	/* The central directory's one record, and the end record. */
	p = out + n;
	memset(p, 0, 46);
	put32(p, 0x02014b50), put16(p + 4, 20), put16(p + 6, 20);
	put16(p + 8, 8), put16(p + 10, 8), put32(p + 16, (uint32_t)crc);
	put32(p + 20, csize), put32(p + 24, BIG_USIZE);
	put16(p + 28, sizeof(name) - 1);
	memcpy(p + 46, name, sizeof(name) - 1);
	size_t cd = 46 + sizeof(name) - 1;
	n += cd;
	p = out + n;
	memset(p, 0, 22);
	put32(p, 0x06054b50), put16(p + 8, 1), put16(p + 10, 1);
	put32(p + 12, (uint32_t)cd), put32(p + 16, (uint32_t)(n - cd));
	n += 22;
	free(in);
	big.bytes = out;
	big.len = n;
	return true;
fail:
	deflateEnd(&z);
	free(in);
	free(out);
	return false;
}

enum verdict lab7_upload_memory(struct grader *g, const struct check *c,
                                struct result *r)
{
	enum { PIECE = 256 << 10, PROBE_EVERY_MS = 25 };
	struct srv s;
	struct http_reply rep = {0};
	struct stats st;
	double ms[4096];
	char head[256], text[160], path[PATH_MAX];
	int got = 0;
	enum verdict v = FAIL;

	if (!make_big()) {
		result_printf(r, "grader: cannot make the big archive\n");
		return FAIL;
	}
	if (!serve(g, c, &s, two_workers, r))
		return FAIL;
	int fd = probe_connect(s.t.port, REPLY_MS);
	int root = probe_connect(s.t.port, REPLY_MS);
	int n = snprintf(head, sizeof(head),
	                 "POST /upload?name=big HTTP/1.1\r\nHost: grader\r\n"
	                 "Content-Length: %zu\r\n\r\n",
	                 big.len);
	int rc = fd < 0 || root < 0 ? -ECONNREFUSED
	                            : probe_send(fd, head, (size_t)n, 0, 0);
	double last = 0, t0 = probe_now_ms();
	/* The body a piece at a time; between pieces, GET / on the other
	 * connection every 25 ms. */
	for (size_t off = 0; rc == 0 && off < big.len; off += PIECE) {
		size_t k = big.len - off < PIECE ? big.len - off : PIECE;
		rc = probe_send(fd, big.bytes + off, k, 0, 0);
		if (probe_now_ms() - last >= PROBE_EVERY_MS && got < 4096) {
			struct http_reply a;
			probe_send(root, REQ("GET /"), strlen(REQ("GET /")), 0,
			           0);
			if (probe_recv(root, &a, false, 3000) == 0 &&
			    a.status == 200)
				ms[got++] = a.ms;
			probe_reply_free(&a);
			last = probe_now_ms();
		}
	}
	if (rc == 0)
		probe_recv(fd, &rep, false, REPLY_MS);
	double took = probe_now_ms() - t0;
	long peak = target_peak_rss_kb(&s.t);
	stats_summarize(ms, (size_t)got, &st);
	struct stat sb;
	bool whole = stat(path_join(path, s.root, "big/big.txt"), &sb) == 0 &&
	             sb.st_size == BIG_USIZE;
	result_printf(r,
	              "a %zu-byte upload expanding to %d MiB: %d in %.0f ms; "
	              "the server's peak RSS %ld KiB\n",
	              big.len, BIG_USIZE >> 20, rep.status, took, peak);
	result_printf(r, "GET / meanwhile: %s\n",
	              stats_format(&st, text, sizeof(text)));
	if (rep.status != 201 || !whole)
		result_printf(r,
		              "expected 201 and big/big.txt of %d bytes%s%s\n",
		              BIG_USIZE, rc < 0 ? ": sending failed: " : "",
		              rc < 0 ? strerror(-rc) : "");
	else if (peak < 0 || peak >= RSS_LIMIT_KB)
		result_printf(
		    r,
		    "expected a peak under %d KiB: pause the body while "
		    "ZS_INFLIGHT_HIGH bytes wait for the worker, resume "
		    "at ZS_INFLIGHT_LOW\n",
		    RSS_LIMIT_KB);
	else if (got < 5 || st.p90 > 50 || st.max > 250)
		result_printf(r,
		              "expected GET / answered throughout, p90 under "
		              "50 ms and none over 250 ms: the loop only moves "
		              "bytes; a worker inflates and writes\n");
	else
		v = PASS;
	probe_reply_free(&rep);
	if (fd >= 0)
		close(fd);
	if (root >= 0)
		close(root);
	return done(g, &s, r, v);
}

enum verdict lab7_slow_uploader(struct grader *g, const struct check *c,
                                struct result *r)
{
	struct srv s;
	struct http_reply rep;
	enum verdict v = FAIL;

	if (!source_zip(g, r) || !serve(g, c, &s, one_worker, r))
		return FAIL;
	int slow = half_upload(s.t.port, "slow");
	probe_sleep_ms(300);
	double t0 = probe_now_ms();
	upload(s.t.port, "x", src.bytes, src.len, 0, &rep);
	double took = probe_now_ms() - t0;
	result_printf(r,
	              "with 1 worker, an upload stalled half way; another "
	              "beside it: %d in %.0f ms\n",
	              rep.status, took);
	if (rep.status != 201 || took > 3000)
		result_printf(r,
		              "expected 201 within 3 s: a worker serves every "
		              "transfer given to it, a message at a time; a "
		              "slow client must not hold it\n");
	else
		v = PASS;
	probe_reply_free(&rep);
	if (slow >= 0)
		close(slow);
	return done(g, &s, r, v);
}

/* Reads a chunked body off fd until its last chunk (or ms pass): its
 * decoded length, or -1; the last 22 bytes (the end record) into tail. */
static long read_chunked(int fd, int ms, unsigned char tail[22])
{
	static char buf[1 << 16];
	size_t have = 0, left = 0; /* bytes in buf; of the current chunk */
	long total = 0;
	bool in_head = true, sized = false;
	double end = probe_now_ms() + ms;

	for (;;) {
		/* Parse what is there. */
		size_t at = 0;
		for (;;) {
			if (in_head) {
				char *e = memmem(buf, have, "\r\n\r\n", 4);
				if (!e)
					break;
				at = (size_t)(e - buf) + 4, in_head = false;
			} else if (left > 0) {
				size_t k = have - at < left ? have - at : left;
				if (k == 0)
					break;
				for (size_t i = 0; i < k; i++) {
					memmove(tail, tail + 1, 21);
					tail[21] = (unsigned char)buf[at + i];
				}
				at += k, left -= k, total += (long)k;
				if (left == 0)
					sized = false;
			} else {
				char *e =
				    memmem(buf + at, have - at, "\r\n", 2);
				if (!e)
					break;
				if (e == buf + at && !sized) {
					at += 2; /* the CRLF after a chunk */
					continue;
				}
				unsigned long k = strtoul(buf + at, NULL, 16);
				at = (size_t)(e - buf) + 2;
				if (k == 0)
					return total;
				left = k, sized = true;
			}
		}
		memmove(buf, buf + at, have - at);
		have -= at;
		if (have == sizeof(buf) || probe_now_ms() > end)
			return -1;
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 100) < 0)
			return -1;
		ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
		if (n == 0)
			return -1;
		if (n > 0)
			have += (size_t)n;
	}
}

enum verdict lab7_download_memory(struct grader *g, const struct check *c,
                                  struct result *r)
{
	struct srv s;
	char path[PATH_MAX];
	unsigned char tail[22] = {0};
	enum verdict v = FAIL;

	if (!serve(g, c, &s, two_workers, r))
		return FAIL;
	/* ROOT/big/random.bin: random bytes do not deflate, so the zip is
	 * as big as the file. */
	unsigned char *data = malloc(BIG_FILE);
	snprintf(path, sizeof(path), "%s/big", s.root);
	if (!data || mkdir(path, 0755) < 0) {
		free(data);
		result_printf(r, "grader: cannot make %s\n", path);
		return done(g, &s, r, FAIL);
	}
	lab7_fill(data, BIG_FILE, 1, 99);
	snprintf(path, sizeof(path), "%s/big/random.bin", s.root);
	int wrc = write_file(path, data, BIG_FILE);
	free(data);
	if (wrc < 0) {
		result_printf(r, "grader: cannot write %s\n", path);
		return done(g, &s, r, FAIL);
	}
	int fd = probe_connect(s.t.port, REPLY_MS);
	if (fd < 0 || probe_send(fd, REQ_CLOSE("GET /download.zip?dir=big"),
	                         strlen(REQ_CLOSE("GET /download.zip?dir=big")),
	                         0, 0) < 0) {
		result_printf(r, "cannot send the request\n");
		if (fd >= 0)
			close(fd);
		return done(g, &s, r, FAIL);
	}
	/* A client that reads nothing for 2 s. */
	probe_sleep_ms(2000);
	long rss = target_rss_kb(&s.t);
	long total = read_chunked(fd, 20000, tail);
	close(fd);
	bool end_record =
	    tail[0] == 0x50 && tail[1] == 0x4b && tail[2] == 5 && tail[3] == 6;
	result_printf(r,
	              "GET /download.zip?dir=big (a %d MiB random file), not "
	              "read for 2 s: the server's RSS then %ld KiB; read "
	              "after: %ld bytes%s\n",
	              BIG_FILE >> 20, rss, total,
	              end_record ? ", ending in an end record" : "");
	if (total < BIG_FILE || !end_record)
		result_printf(r,
		              "expected the whole zip in chunks (at least %d "
		              "bytes, the end record last)\n",
		              BIG_FILE);
	else if (rss < 0 || rss >= RSS_LIMIT_KB)
		result_printf(r,
		              "expected under %d KiB while the client did not "
		              "read: ask the worker for a piece only while the "
		              "socket keeps up (server_write() said 0), and "
		              "again at on_drain\n",
		              RSS_LIMIT_KB);
	else
		v = PASS;
	return done(g, &s, r, v);
}

/* ---- the server under valgrind (lab7.c's leak checks) ------------------- */

int lab7_server_leaks(struct grader *g, const char *good, const char *bad,
                      struct vglog *l, char *why, size_t cap)
{
	struct srv s;
	struct http_reply rep;
	struct result scratch = {0};
	size_t glen, blen;
	char *gz = read_file(good, &glen), *bz = read_file(bad, &blen);
	char how[96];
	int rc = -1;

	lab7_clear_run(g);
	path_join(s.root, g->run, "srv");
	s.args[0] = "--root", s.args[1] = s.root, s.args[2] = NULL;
	struct target_opts o = {.valgrind = true,
	                        .tag = "server-vg",
	                        .args = s.args,
	                        .env = two_workers,
	                        .fsize_mb = 128};
	if (!gz || !bz || sbx_mkdir(s.root) < 0) {
		snprintf(why, cap, "grader: cannot prepare the server's run");
		goto out;
	}
	if (target_start(g, &s.t, &o, &scratch) < 0) {
		snprintf(why, cap, "the server did not start under valgrind");
		goto out;
	}
	/* Published, refused, abandoned half way; downloaded whole, and
	 * abandoned at once. */
	upload(s.t.port, "a", gz, glen, 0, &rep);
	int published = rep.status;
	probe_reply_free(&rep);
	upload(s.t.port, "b", bz, blen, 0, &rep);
	int refused = rep.status;
	probe_reply_free(&rep);
	int fd = half_of(s.t.port, "c", gz, glen);
	probe_sleep_ms(500);
	if (fd >= 0)
		close(fd);
	probe_request(s.t.port, REQ_CLOSE("GET /download.zip?dir=a"),
	              strlen(REQ_CLOSE("GET /download.zip?dir=a")), &rep,
	              REPLY_MS);
	int downloaded = rep.status;
	probe_reply_free(&rep);
	fd = probe_connect(s.t.port, REPLY_MS);
	if (fd >= 0) {
		probe_send(fd, REQ_CLOSE("GET /download.zip?dir=a"),
		           strlen(REQ_CLOSE("GET /download.zip?dir=a")), 0, 0);
		close(fd);
	}
	/* And when SIGTERM comes: an upload half way, a download unread. */
	int up = half_of(s.t.port, "d", gz, glen);
	int down = probe_connect(s.t.port, REPLY_MS);
	if (down >= 0)
		probe_send(down, REQ("GET /download.zip?dir=a"),
		           strlen(REQ("GET /download.zip?dir=a")), 0, 0);
	probe_sleep_ms(1000);
	if (published != 201 || refused != 422 || downloaded != 200)
		snprintf(why, cap,
		         "the server under valgrind answered %d to an upload "
		         "(201 expected), %d to a zip-slip (422), %d to a "
		         "download (200): what it leaks on those paths cannot "
		         "be judged",
		         published, refused, downloaded);
	else if (target_explain_death(&s.t, &scratch))
		snprintf(why, cap, "the server died under valgrind");
	else if (target_stop_nudged(&s.t, 15000) < 0)
		snprintf(why, cap,
		         "the server did not exit within 15 s of SIGTERM (with "
		         "an upload and a download in flight)");
	else if (!WIFEXITED(s.t.proc.status))
		snprintf(why, cap, "after SIGTERM the server %s",
		         sbx_describe(s.t.proc.status, how, sizeof(how)));
	else if (vglog_read(l, s.t.vg_log, s.t.proc.status) < 0)
		snprintf(why, cap, "valgrind wrote no report for the server");
	else if (l->tamper[0] || l->errors < 0)
		snprintf(why, cap,
		         "the server's valgrind log cannot be "
		         "believed");
	else
		rc = 0;
	if (up >= 0)
		close(up);
	if (down >= 0)
		close(down);
	target_kill(&s.t);
out:
	free(scratch.out);
	free(gz);
	free(bz);
	lab7_clear_run(g);
	return rc;
}
