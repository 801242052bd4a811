/* files.c - GET /files/NAME streamed from the disk to the client, with
 * Range (lab 5; files.h).
 *
 * A download is a chain of callbacks, each step an order for the pool:
 *
 *   route --fs_open--> on_open --fs_fstat--> on_stat --server_stream-->
 *   pipe (rstream --server_write--> client) --> on_piped --fs_close--> free
 *
 * A guest who leaves at any step sets `gone`; the step in flight lands,
 * sees it, and goes straight to the close. Everything here runs on the
 * loop thread.
 *
 * You write the functions marked TODO(lab 5): files_range() (files.h), and
 * the download's steps from on_open to the free, with on_gone. Given: the
 * route (files_route), answer(), on_drain, and opening and closing the
 * pool and the root folder. Until you write them, /files/NAME answers 501.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "stream.h"

enum { MAX_NAME = 255, MAX_RANGE = 64 };

struct download {
	struct server_reply reply;
	struct fs_req req; /* open, fstat, close: one at a time */
	struct stat st;
	struct rstream stream;
	struct pipe pipe;
	int fd;
	bool head;        /* HEAD: the head alone */
	bool gone;        /* the guest has left */
	bool piping;      /* the pipe has it: the pipe's done ends it */
	const char *type; /* its Content-Type, by its suffix */
	char range[MAX_RANGE + 1]; /* the Range header, "" if none */
	char name[MAX_NAME + 1];
};

static struct tp_pool pool;
static int root_fd = -1;

/* --- Range --- */

enum files_range files_range(const char *v, size_t n, off_t size, off_t *start,
                             off_t *end)
{
	/* TODO(lab 5): files.h's Range rules, for the one form this server
	 * serves: "bytes=" then A-B, A- or -N, digits only, nothing after.
	 * Returns FILES_PART with [*start, *end) the bytes to send (*end is
	 * one past the last), FILES_UNSATISFIABLE (416), or FILES_WHOLE
	 * (200: no usable Range; *start and *end untouched).
	 *
	 * - B is the last byte wanted, included; a B past the file means up
	 *   to its end.
	 * - -N is the last N bytes (all of them when N is bigger).
	 * - A at or past the size, or -0, cannot be satisfied; neither can
	 *   any range of an empty file.
	 * - Anything else (no "bytes=", B before A, several ranges, junk,
	 *   a number too big for an off_t) is no usable Range: FILES_WHOLE.
	 *
	 * Traps (test_range_forms): v may be NULL (no Range header) and is
	 * not NUL-terminated; a number too big must be junk, not wrap
	 * around into a small one.
	 */
	(void)v;
	(void)n;
	(void)size;
	(void)start;
	(void)end;
	return FILES_WHOLE;
}

/* --- a download's steps --- */

/* fs_close()'s callback: the download's last. */
static void on_closed(struct fs_req *r)
{
	/* TODO(lab 5): fs_close()'s callback, the download's last step.
	 * Afterwards its descriptor is closed and its memory freed. Fact: a
	 * close the pool cancelled when it shut (-ECANCELED) never ran: the
	 * descriptor is still open (leaks.descriptors, after SIGTERM). */
	(void)r;
}

/* The last step, from every path: the descriptor goes back, then the
 * download. */
static void finish(struct download *d)
{
	/* TODO(lab 5): every way out of a download ends here, exactly once
	 * (2.2 of the handout lists them). Afterwards a file it opened is
	 * being closed on the pool (fs_close(): close() may wait for a disk
	 * too), and the download is freed when that close lands
	 * (on_closed()). When the close cannot be submitted (the pool has
	 * shut), both happen here; a download with no file is freed here.
	 *
	 * Trap (leaks.invalid_access): the download holds the fs_req a cook
	 * writes its result into; freed before that order lands, it is
	 * written after the free. */
	(void)d;
	(void)on_closed;
}

/* An answer with no body to stream (errors, 416, HEAD). */
static void answer(struct download *d, int status, off_t len, bool body,
                   const char *extra)
{
	struct app_response res;

	app_error(status, &res);
	if (!body) {
		free(res.body);
		res.body = NULL;
		res.body_len = (size_t)len;
		res.content_type = d->type;
	}
	/* A HEAD gets the head alone, an error's too: a body after it
	 * would be read as the start of the next answer. */
	res.send_body = body && !d->head;
	snprintf(res.extra, sizeof(res.extra), "%s", extra);
	server_answer(&d->reply, &res);
	app_response_free(&res);
}

static void on_drain(struct server_reply *rp);

/* The pipe's done: the file has gone out, the guest left, or a read
 * failed. */
static void on_piped(struct pipe *pp, int err)
{
	/* TODO(lab 5): the pipe's done (pp->data is yours to set): the
	 * stream is closed. Whatever err says -- the client has it all, has
	 * gone, or was closed by the frame -- afterwards the download has
	 * ended. */
	(void)pp;
	(void)err;
}

/* The size is known: the head goes out now, then the file, piped. */
static void stream_file(struct download *d)
{
	/* TODO(lab 5): the file's size is known (d->st); d->range holds
	 * the Range header ("" if none). Afterwards the guest has files.h's
	 * answer, or it is on its way:
	 * - 416: "Content-Range: bytes " "*" "/SIZE", no body, and the
	 *   download has ended;
	 * - HEAD: the head the GET would get (its status, headers and
	 *   Content-Length), no body, and the download has ended; answer()
	 *   sends such heads (body false: len is the Content-Length);
	 * - else a 200 or 206 head has gone out at once, before any read
	 *   (server_stream(): its body_len is the Content-Length, the bytes
	 *   the pipe will send), with "Accept-Ranges: bytes", and for a 206
	 *   "Content-Range: bytes A-B/SIZE", B the last byte sent; and the
	 *   bytes [start, end) of the file are being piped into the answer
	 *   on the pool; the pipe's done (on_piped) ends the download.
	 * Every way out ends the download (finish()) once; the frame has
	 * closed the client when server_stream() fails.
	 *
	 * Fact: the frame tells the pipe its queue has drained only through
	 * the on_drain given to server_stream() (given below). Without it
	 * the first full queue pauses the pipe for ever
	 * (integration.lab1.large_file).
	 */
	(void)d;
	(void)on_piped;
	(void)on_drain;
}

/* fs_fstat()'s callback. */
static void on_stat(struct fs_req *r)
{
	/* TODO(lab 5): fs_fstat()'s callback. Afterwards the file is on
	 * its way (stream_file()), or the download has ended: with no answer
	 * when the guest has gone meanwhile, with a 500 when fstat()
	 * failed. */
	(void)r;
	(void)stream_file;
}

/* fs_open()'s callback: the first step after the route. */
static void on_open(struct fs_req *r)
{
	struct download *d = r->data;

	/* TODO(lab 5): fs_open()'s callback: r->result is the file's
	 * descriptor, or -errno (missing, outside the root, not a regular
	 * file: 404; -ENOMEM: 500). Afterwards the file's size is being
	 * asked for (fs_fstat(), then on_stat()), or the download has ended:
	 * with that answer, or with none when the guest has gone meanwhile.
	 * A descriptor, once had, is the download's to close, whatever
	 * happens next (d->fd).
	 *
	 * Until you write it: 501, and the download ends here. */
	(void)on_stat;
	(void)finish;
	if (r->result >= 0)
		close((int)r->result);
	if (!d->gone)
		answer(d, 501, 0, true, "");
	free(d);
}

/* The frame's callbacks: the guest left; the client's queue drained. */
static void on_gone(struct server_reply *rp)
{
	struct download *d = rp->data;

	/* TODO(lab 5): the frame's on_gone: the guest has left, at any
	 * step. Afterwards the download knows it (the step in flight sees
	 * it when it lands and answers nothing); a pipe running is stopping
	 * (pipe_gone()), and its done ends the download; an fs order still
	 * queued may be taken back (fs_cancel()): its callback comes sooner,
	 * with -ECANCELED.
	 *
	 * Trap: the download is NOT freed here. Something of the pool's
	 * may still refer to it, and its last step frees it. */
	d->gone = true;
}

static void on_drain(struct server_reply *rp)
{
	struct download *d = rp->data;

	pipe_drain(&d->pipe);
}

/* --- the route --- */

static int files_route(struct server_req *r, struct app_response *res)
{
	const struct http_request *req = r->http;
	const struct http_str *range = http_header_get(req, "Range");
	struct http_str name = {req->path.p + 7, req->path.n - 7};
	struct download *d;
	int rc;

	if (req->method == HTTP_OTHER)
		return SERVER_PASS;
	if (http_str_eq(req->path, "/stats") && req->query.n == 0) {
		rc = files_stats(r->srv, &pool, req->method == HTTP_HEAD, res);
		return rc < 0 ? rc : SERVER_ANSWERED;
	}
	if (root_fd < 0)
		return SERVER_PASS;
	if (req->path.n > 16 &&
	    memcmp(req->path.p, "/files-buffered/", 16) == 0)
		return files_buffered(
		    r, &pool, root_fd,
		    (struct http_str){req->path.p + 16, req->path.n - 16}, res);
	if (req->path.n < 7 || memcmp(req->path.p, "/files/", 7) != 0)
		return SERVER_PASS;
	if (!app_file_name_ok(name))
		return SERVER_PASS; /* app_handle() says 403, as in lab 1 */
	if (name.n > MAX_NAME) {
		app_error(404, res); /* no file has such a name */
		return SERVER_ANSWERED;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->type = app_file_type(name);
	memcpy(d->name, name.p, name.n);
	if (range != NULL && range->n <= MAX_RANGE)
		memcpy(d->range, range->p, range->n);
	d->fd = -1;
	d->head = req->method == HTTP_HEAD;
	d->reply.data = d;
	d->req.data = d;
	if ((rc = fs_open(&pool, &d->req, root_fd, d->name, on_open)) < 0) {
		/* No fs_open() yet (the starter), or no pool to run it. */
		free(d);
		app_error(rc == -ENOSYS ? 501 : 503, res);
		return SERVER_ANSWERED;
	}
	server_take(r, &d->reply, on_gone);
	return SERVER_LATER;
}

/* --- opening and closing --- */

static int files_open(struct server *srv)
{
	const char *root = server_config(srv)->root;
	int rc = tp_init(&pool, server_loop(srv));

	if (rc < 0 || root == NULL)
		return rc;
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return root_fd < 0 ? -errno : 0;
}

static void files_close(struct server *srv)
{
	(void)srv;
	tp_close(&pool); /* the downloads still in the pool end here */
	if (root_fd >= 0)
		close(root_fd);
	root_fd = -1;
}

const struct server_lab server_lab = {
    .open = files_open,
    .close = files_close,
    .route = files_route,
};
