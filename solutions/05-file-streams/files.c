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

/* Digits at *p (before end) as an off_t; false when none or too many. */
static bool number(const char **p, const char *end, off_t *v)
{
	const char *start = *p;

	*v = 0;
	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++) {
		if (*v > (INT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (**p - '0');
	}
	return *p > start;
}

enum files_range files_range(const char *v, size_t n, off_t size, off_t *start,
                             off_t *end)
{
	const char *p = v, *e = v + n;
	off_t a = 0, b = 0;
	bool has_a, has_b;

	if (v == NULL || n < 6 || memcmp(v, "bytes=", 6) != 0)
		return FILES_WHOLE;
	p += 6;
	has_a = number(&p, e, &a);
	if (p == e || *p++ != '-')
		return FILES_WHOLE;
	has_b = number(&p, e, &b);
	if (p != e || (!has_a && !has_b) || (has_a && has_b && b < a))
		return FILES_WHOLE; /* junk, several ranges, or B before A */
	if (!has_a) {               /* the last b bytes */
		if (b == 0 || size == 0)
			return FILES_UNSATISFIABLE;
		a = b > size ? 0 : size - b;
		b = size - 1;
	} else if (a >= size) {
		return FILES_UNSATISFIABLE;
	} else if (!has_b || b >= size) {
		b = size - 1;
	}
	*start = a;
	*end = b + 1; /* B is the last byte sent: the end is past it */
	return FILES_PART;
}

/* --- a download's steps --- */

static void on_closed(struct fs_req *r)
{
	struct download *d = r->data;

	if (r->result == -ECANCELED)
		close(d->fd); /* the pool shut before a thread took it */
	free(d);
}

/* The last step: the descriptor goes back, then the download. */
static void finish(struct download *d)
{
	if (d->fd >= 0 && fs_close(&pool, &d->req, d->fd, on_closed) == 0)
		return;
	if (d->fd >= 0)
		close(d->fd); /* the pool is shut: on this thread, then */
	free(d);
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

static void on_piped(struct pipe *pp, int err)
{
	(void)err; /* the client has it all, has gone, or was closed */
	finish(pp->data);
}

/* The size is known: the head goes out now, then the file, piped. */
static void stream_file(struct download *d)
{
	off_t size = d->st.st_size, start = 0, end = size;
	enum files_range kind =
	    files_range(d->range[0] ? d->range : NULL, strlen(d->range), size,
	                &start, &end);
	struct app_response head = {
	    .status = 200, .content_type = d->type, .send_body = !d->head};
	char extra[128];

	if (kind == FILES_UNSATISFIABLE) {
		snprintf(extra, sizeof(extra),
		         "Content-Range: bytes */%lld\r\n", (long long)size);
		answer(d, 416, 0, true, extra);
		finish(d);
		return;
	}
	if (kind == FILES_PART) {
		head.status = 206;
		snprintf(head.extra, sizeof(head.extra),
		         "Accept-Ranges: bytes\r\nContent-Range: bytes "
		         "%lld-%lld/%lld\r\n",
		         (long long)start, (long long)end - 1, (long long)size);
	} else {
		snprintf(head.extra, sizeof(head.extra),
		         "Accept-Ranges: bytes\r\n");
	}
	head.body_len = (size_t)(end - start);
	if (d->head) {
		answer(d, head.status, end - start, false, head.extra);
		finish(d);
		return;
	}
	if (server_stream(&d->reply, &head, on_drain) < 0) {
		finish(d); /* gone, or out of memory: the frame closed it */
		return;
	}
	d->piping = true;
	d->pipe.data = d;
	rstream_init(&d->stream, &pool, d->fd, start, end, NULL, NULL);
	pipe_start(&d->pipe, &d->stream, &d->reply, on_piped);
}

static void on_stat(struct fs_req *r)
{
	struct download *d = r->data;

	if (d->gone) {
		finish(d);
	} else if (r->result < 0) {
		answer(d, 500, 0, true, "");
		finish(d);
	} else {
		stream_file(d);
	}
}

static void on_open(struct fs_req *r)
{
	struct download *d = r->data;

	if (r->result >= 0)
		d->fd = (int)r->result;
	if (d->gone || r->result < 0) {
		/* Not there, outside the root, not a regular file: 404. */
		if (!d->gone)
			answer(d, r->result == -ENOMEM ? 500 : 404, 0, true,
			       "");
		finish(d);
		return;
	}
	if (fs_fstat(&pool, &d->req, d->fd, &d->st, on_stat) < 0) {
		answer(d, 500, 0, true, "");
		finish(d);
	}
}

/* The frame's callbacks: the guest left; the client's queue drained. */
static void on_gone(struct server_reply *rp)
{
	struct download *d = rp->data;

	d->gone = true;
	if (d->piping)
		pipe_gone(&d->pipe); /* its done finishes d */
	else
		fs_cancel(&d->req); /* its callback sees `gone` */
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
