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
	 *
	 * - B is the last byte wanted, so the end (one past it) is B + 1;
	 *   a B past the file means up to its end.
	 * - -N is the last N bytes (all of them when N is bigger).
	 * - A at or past the size, or -0, cannot be satisfied; neither can
	 *   any range of an empty file.
	 * - Anything else (no "bytes=", B before A, several ranges, junk,
	 *   a number too big for an off_t) is no usable Range: FILES_WHOLE.
	 *
	 * v may be NULL (no Range header) and is not NUL-terminated.
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
	/* TODO(lab 5): the descriptor has been closed -- unless the pool
	 * shut before a thread took the order (-ECANCELED): then close it
	 * here. Then the download's memory goes. */
	(void)r;
}

/* The last step, from every path: the descriptor goes back, then the
 * download. */
static void finish(struct download *d)
{
	/* TODO(lab 5): a file that was opened is closed on the pool
	 * (fs_close(), then on_closed); if that cannot be submitted (the
	 * pool is shut), here. A download with no file just goes. */
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
	/* TODO(lab 5): whatever happened, the download ends. */
	(void)pp;
	(void)err;
}

/* The size is known: the head goes out now, then the file, piped. */
static void stream_file(struct download *d)
{
	/* TODO(lab 5): files.h's answers, from d->st.st_size and d->range.
	 *
	 * - 416: its Content-Range says "bytes " "*" "/SIZE"; no body
	 *   (answer()), and the download ends.
	 * - HEAD: the head the GET would get (200 or 206, its length), and
	 *   no body (answer() with body false).
	 * - Else server_stream() a head of 200 (Accept-Ranges) or 206
	 *   (Content-Range: bytes A-B/SIZE, B the last byte sent), whose
	 *   body_len is what the pipe will send; with on_drain, so that the
	 *   pipe hears when the queue has emptied. Then the stream of
	 *   [start, end) on the pool, piped into the answer (on_piped).
	 * - Every way out ends the download (finish), once.
	 */
	(void)d;
	(void)on_piped;
	(void)on_drain;
}

/* fs_fstat()'s callback. */
static void on_stat(struct fs_req *r)
{
	/* TODO(lab 5): gone: end. Failed: 500, end. Else the file goes
	 * out (stream_file). */
	(void)r;
	(void)stream_file;
}

/* fs_open()'s callback: the first step after the route. */
static void on_open(struct fs_req *r)
{
	struct download *d = r->data;

	/* TODO(lab 5): the file is open (r->result, its descriptor) or not
	 * (-errno: missing, outside the root, not a regular file: 404; out
	 * of memory: 500). If the guest has gone meanwhile, no answer: the
	 * download just ends. Else its size comes next (fs_fstat(), then
	 * on_stat). A descriptor, once had, is the download's to close.
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

	/* TODO(lab 5): the guest has left. Remember it (the step in flight
	 * will see it when it lands); a pipe running must stop (pipe_gone()),
	 * and its done ends the download; an fs order still queued may be
	 * taken back (fs_cancel()): its callback then comes sooner. */
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
