/* buffered.c - GET /files-buffered/NAME: the file read whole into memory,
 * then sent (lab 5, given code). Node's fs.readFile(), kept beside the
 * stream so that the two can be measured side by side.
 *
 * Like Node's readFile, it reads in 512 KiB pool requests (no pool thread
 * is held for the whole file): the cost is not a long job but the buffer,
 * the size of the file, per request, until the last byte has been sent.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "fs.h"

enum { PIECE = 512 << 10, MAX_NAME = 255 };

struct slurp {
	struct server_reply reply;
	struct fs_req req;
	struct tp_pool *pool;
	struct stat st;
	int fd;
	bool head, gone;
	char *data; /* the whole file, as it comes */
	size_t got;
	char name[MAX_NAME + 1];
};

static void closed(struct fs_req *r)
{
	struct slurp *s = r->data;

	if (r->result == -ECANCELED)
		close(s->fd);
	free(s->data);
	free(s);
}

/* Ends the request: an error status (0: none to send), then the file. */
static void end(struct slurp *s, int status)
{
	if (status != 0 && !s->gone) {
		struct app_response res;
		app_error(status, &res);
		server_answer(&s->reply, &res);
		app_response_free(&res);
	}
	if (s->fd >= 0 && fs_close(s->pool, &s->req, s->fd, closed) == 0)
		return;
	if (s->fd >= 0)
		close(s->fd);
	free(s->data);
	free(s);
}

static void send_all(struct slurp *s)
{
	struct app_response res = {.status = 200,
	                           .content_type = "application/octet-stream",
	                           .body = s->data,
	                           .body_len = s->got,
	                           .send_body = !s->head};

	server_answer(&s->reply, &res); /* copies it into the queue */
	end(s, 0);
}

static void on_read(struct fs_req *r)
{
	struct slurp *s = r->data;
	size_t size = (size_t)s->st.st_size;

	if (s->gone || r->result <= 0) {
		end(s, 500); /* an error, or the file shrank */
		return;
	}
	s->got += (size_t)r->result;
	if (s->got == size) {
		send_all(s);
		return;
	}
	size_t len = size - s->got < PIECE ? size - s->got : PIECE;
	if (fs_read(s->pool, &s->req, s->fd, s->data + s->got, len,
	            (off_t)s->got, on_read) < 0)
		end(s, 503);
}

static void on_stat(struct fs_req *r)
{
	struct slurp *s = r->data;
	size_t size = (size_t)s->st.st_size;

	if (s->gone || r->result < 0) {
		end(s, 500);
		return;
	}
	if (size > APP_MAX_FILE) {
		end(s, 413); /* lab 1's limit on a file read whole */
		return;
	}
	if ((s->data = malloc(size ? size : 1)) == NULL) {
		end(s, 500);
		return;
	}
	if (size == 0) {
		send_all(s);
		return;
	}
	if (fs_read(s->pool, &s->req, s->fd, s->data,
	            size < PIECE ? size : PIECE, 0, on_read) < 0)
		end(s, 503);
}

static void on_open(struct fs_req *r)
{
	struct slurp *s = r->data;

	if (r->result >= 0)
		s->fd = (int)r->result;
	if (s->gone || r->result < 0) {
		end(s, 404);
		return;
	}
	if (fs_fstat(s->pool, &s->req, s->fd, &s->st, on_stat) < 0)
		end(s, 503);
}

static void on_gone(struct server_reply *rp)
{
	struct slurp *s = rp->data;

	s->gone = true; /* the step in flight ends it */
}

int files_buffered(struct server_req *r, struct tp_pool *pool, int root_fd,
                   struct http_str name, struct app_response *res)
{
	struct slurp *s;
	int rc;

	if (name.n == 0 || name.n > MAX_NAME ||
	    memchr(name.p, '\0', name.n) != NULL)
		return SERVER_PASS;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	memcpy(s->name, name.p, name.n);
	s->pool = pool;
	s->fd = -1;
	s->head = r->http->method == HTTP_HEAD;
	s->reply.data = s;
	s->req.data = s;
	if ((rc = fs_open(pool, &s->req, root_fd, s->name, on_open)) < 0) {
		free(s);
		app_error(rc == -ENOSYS ? 501 : 503, res);
		return SERVER_ANSWERED;
	}
	server_take(r, &s->reply, on_gone);
	return SERVER_LATER;
}
