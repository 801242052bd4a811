/* app.c - what the server says, separated from how it talks (given code).
 *
 * Every response is built whole in memory before a byte of it is sent; a
 * file is read whole too ("the readFile way"). That is simple, and it is
 * fine until files get big or clients get many.
 */
#include "app.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char text_plain[] = "text/plain; charset=utf-8";

static bool has_prefix(struct http_str s, const char *prefix)
{
	size_t n = strlen(prefix);

	return s.n >= n && memcmp(s.p, prefix, n) == 0;
}

static bool has_suffix(struct http_str s, const char *suffix)
{
	size_t n = strlen(suffix);

	return s.n >= n && memcmp(s.p + s.n - n, suffix, n) == 0;
}

/* All that can be said without memory: a 500 with no body. */
static int out_of_memory(struct app_response *res)
{
	res->status = 500;
	res->content_type = NULL;
	res->body = NULL;
	res->body_len = 0;
	return -ENOMEM;
}

/* Makes res a text/plain response whose body is printf(fmt, ...). */
/* A fixed text: copied, without printf's machinery (GET / is the route
 * every benchmark asks for). */
static int set_body(struct app_response *res, int status, const char *text)
{
	char *body = strdup(text);

	if (body == NULL)
		return out_of_memory(res);
	res->status = status;
	res->content_type = text_plain;
	res->body = body;
	res->body_len = strlen(text);
	res->send_body = 1;
	return 0;
}

static int set_text(struct app_response *res, int status, const char *fmt, ...)
{
	va_list ap;
	char *body;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (n < 0)
		return out_of_memory(res);
	res->status = status;
	res->content_type = text_plain;
	res->body = body;
	res->body_len = (size_t)n;
	res->send_body = 1;
	return 0;
}

static int set_error(struct app_response *res, int status)
{
	return set_text(res, status, "%d %s\n", status, http_reason(status));
}

/* ms=N with N in 0..APP_MAX_SLEEP_MS, in decimal. */
static int parse_ms(struct http_str query, int *ms)
{
	int v = 0;

	if (query.n <= 3 || !has_prefix(query, "ms="))
		return -EINVAL;
	for (size_t i = 3; i < query.n; i++) {
		if (query.p[i] < '0' || query.p[i] > '9')
			return -EINVAL;
		v = v * 10 + (query.p[i] - '0');
		if (v > APP_MAX_SLEEP_MS)
			return -EINVAL;
	}
	*ms = v;
	return 0;
}

static int sleep_route(struct http_str query, struct app_response *res)
{
	int ms;

	if (parse_ms(query, &ms) < 0)
		return set_error(res, 400);
	res->sleep_ms = ms;
	return set_text(res, 200, "slept %d ms\n", ms);
}

/* A name must stay inside root however the OS resolves it: no "..", no
 * absolute path, no empty component. Backslashes, '%' (we decode nothing)
 * and control characters are refused too, so that no name means one thing
 * here and another to a log reader or a different filesystem. */
bool app_file_name_ok(struct http_str name)
{
	size_t start = 0;

	for (size_t i = 0; i <= name.n; i++) {
		if (i == name.n || name.p[i] == '/') {
			struct http_str part = {name.p + start, i - start};

			if (part.n == 0 || http_str_eq(part, ".."))
				return false;
			start = i + 1;
			continue;
		}
		unsigned char c = (unsigned char)name.p[i];
		if (c < 0x20 || c == 0x7f || c == '\\' || c == '%')
			return false;
	}
	return true;
}

/* Reads up to len bytes, fewer only at end of file. */
static ssize_t read_full(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* The whole of an open file into a new buffer. */
static int read_whole(int fd, char **body, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int err;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* Only regular files exist for the client: directories, devices and
	 * FIFOs look like nothing at all. */
	if (!S_ISREG(st.st_mode))
		return -ENOENT;
	if (st.st_size > APP_MAX_FILE)
		return -EFBIG;
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL)
		return -ENOMEM;
	/* The file may shrink while we read: send what is there. */
	n = read_full(fd, buf, (size_t)st.st_size);
	if (n < 0) {
		err = (int)n;
		goto free_buf;
	}
	*body = buf;
	*len = (size_t)n;
	return 0;

free_buf:
	free(buf);
	return err;
}

static int read_file(const char *root, struct http_str name, char **body,
                     size_t *len)
{
	char path[PATH_MAX];
	int n, fd, err;

	n = snprintf(path, sizeof(path), "%s/%.*s", root, (int)name.n, name.p);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	/* O_NOFOLLOW: a symlink could lead out of root. O_NONBLOCK: opening
	 * a FIFO would wait for a writer; regular files ignore the flag. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	err = read_whole(fd, body, len);
	close(fd);
	return err;
}

static int file_status(int err)
{
	switch (err) {
	case ENOENT:
	case ENOTDIR:
	case ENAMETOOLONG:
		return 404;
	case EACCES:
	case EPERM:
	case ELOOP: /* the name is a symlink */
		return 403;
	default:
		return 500;
	}
}

const char *app_file_type(struct http_str name)
{
	if (has_suffix(name, ".txt"))
		return text_plain;
	if (has_suffix(name, ".html"))
		return "text/html; charset=utf-8";
	return "application/octet-stream";
}

static int file_route(const struct app_config *cfg, struct http_str name,
                      struct app_response *res)
{
	int err;

	if (!app_file_name_ok(name))
		return set_error(res, 403);
	if (cfg->root == NULL)
		return set_error(res, 404);
	err = read_file(cfg->root, name, &res->body, &res->body_len);
	if (err == -ENOMEM)
		return out_of_memory(res);
	if (err < 0)
		return set_error(res, file_status(-err));
	res->status = 200;
	res->content_type = app_file_type(name);
	res->send_body = 1;
	return 0;
}

static int route(const struct app_config *cfg, const struct http_request *req,
                 struct app_response *res)
{
	struct http_str path = req->path;

	if (http_str_eq(path, "/"))
		return set_body(res, 200, "Hello from the waiter!\n");
	if (http_str_eq(path, "/sleep"))
		return sleep_route(req->query, res);
	if (has_prefix(path, "/files/")) {
		struct http_str name = {path.p + 7, path.n - 7};

		return file_route(cfg, name, res);
	}
	return set_error(res, 404);
}

static int method_not_allowed(struct app_response *res)
{
	snprintf(res->extra, sizeof(res->extra), "Allow: GET, HEAD\r\n");
	return set_error(res, 405);
}

int app_handle(const struct app_config *cfg, const struct http_request *req,
               struct app_response *res)
{
	int rc;

	memset(res, 0, sizeof(*res));
	/* A lab's own routes first, whatever the method (lab 7's POST). */
	if (cfg->route != NULL && (rc = cfg->route(cfg->route_arg, req, res))) {
		if (rc < 0) { /* out of memory: a 500, as app.h promises */
			app_response_free(res);
			app_error(500, res);
		}
		rc = rc < 0 ? rc : 0;
	} else if (req->method == HTTP_OTHER)
		rc = method_not_allowed(res);
	else
		rc = route(cfg, req, res);
	/* HEAD gets the head GET would get, Content-Length included. */
	if (req->method == HTTP_HEAD)
		res->send_body = 0;
	return rc;
}

bool app_refuses_body(const struct app_config *cfg,
                      const struct http_request *req)
{
	if (req->content_length == 0 && !req->chunked)
		return false;
	return cfg->reads_body == NULL || !cfg->reads_body(cfg->route_arg, req);
}

void app_error(int status, struct app_response *res)
{
	memset(res, 0, sizeof(*res));
	set_error(res, status);
}

void app_response_free(struct app_response *res)
{
	free(res->body);
	res->body = NULL;
	res->body_len = 0;
}
