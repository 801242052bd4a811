/* zipserver.c - lab 7's server: its routes, /stats and its workers
 * (given code; zipserver.h).
 *
 * Everything a transfer does is in upload.c and download.c; this file
 * starts the workers, hands each message to the file it is for, and
 * answers what needs no worker.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "zipserver.h"

struct zs_stats zs_stats;

const struct zx_limits zs_limits = ZX_LIMITS_DEFAULT;

static struct {
	struct zs_worker workers[ZS_MAX_WORKERS];
	unsigned size;
	int root; /* --root, open; -1 without */
	uint64_t last_id;
} zs = {.root = -1};

/* --- small helpers for upload.c and download.c --- */

struct zs_worker *zs_pick(void)
{
	struct zs_worker *best = NULL;

	for (unsigned i = 0; i < zs.size; i++) {
		struct zs_worker *zw = &zs.workers[i];
		if (!zw->gone &&
		    (best == NULL || zw->transfers < best->transfers))
			best = zw;
	}
	return best;
}

static struct zs_msg *make(enum zs_kind kind, uint64_t id, const void *payload,
                           size_t len)
{
	struct zs_msg *m = malloc(sizeof(*m) + len);

	if (m == NULL)
		return NULL;
	*m = (struct zs_msg){.kind = kind, .id = id, .len = len};
	if (len > 0)
		memcpy(m->payload, payload, len);
	return m;
}

int zs_post(struct zs_worker *zw, enum zs_kind kind, uint64_t id,
            const void *payload, size_t len)
{
	void *m = make(kind, id, payload, len);
	int rc;

	if (m == NULL)
		return -ENOMEM;
	if ((rc = worker_post_owned(&zw->w, &m, sizeof(struct zs_msg) + len)) <
	    0)
		free(m);
	return rc;
}

int zs_reply(struct zs_worker *zw, const struct zs_msg *head,
             const void *payload, size_t len)
{
	struct zs_msg *m = make(head->kind, head->id, payload, len);
	void *p = m;
	int rc;

	if (m == NULL)
		return -ENOMEM;
	m->err = head->err;
	m->n = head->n;
	m->entries = head->entries;
	if ((rc = worker_reply_owned(&zw->w, &p, sizeof(*m) + len)) < 0)
		free(m);
	return rc;
}

uint64_t zs_next_id(void)
{
	return ++zs.last_id;
}

void *zs_find_at(struct list *jobs, uint64_t want, size_t link_at, size_t id_at)
{
	for (struct list *l = jobs->next; l != jobs; l = l->next) {
		char *job = (char *)l - link_at;
		if (*(const uint64_t *)(job + id_at) == want)
			return job;
	}
	return NULL;
}

int zs_root(void)
{
	return zs.root;
}

bool zs_name(struct http_str q, const char *key, char *out)
{
	size_t klen = strlen(key);

	/* "key=NAME", alone or among others joined by '&'. */
	for (size_t i = 0; i < q.n;) {
		size_t end = i;
		while (end < q.n && q.p[end] != '&')
			end++;
		if (end - i > klen && memcmp(q.p + i, key, klen) == 0 &&
		    q.p[i + klen] == '=') {
			const char *v = q.p + i + klen + 1;
			size_t n = end - (i + klen + 1);
			if (n == 0 || n > ZS_NAME_MAX || v[0] == '.')
				return false;
			for (size_t k = 0; k < n; k++)
				if (!strchr("abcdefghijklmnopqrstuvwxyz"
				            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				            "0123456789._-",
				            v[k]) ||
				    v[k] == '\0')
					return false;
			memcpy(out, v, n);
			out[n] = '\0';
			return true;
		}
		i = end + 1;
	}
	return false;
}

int zs_text(struct app_response *res, int status, const char *fmt, ...)
{
	va_list ap;
	int n;

	memset(res, 0, sizeof(*res));
	va_start(ap, fmt);
	n = vasprintf(&res->body, fmt, ap);
	va_end(ap);
	if (n < 0) {
		res->body = NULL;
		res->status = 500; /* still an answer: a head alone */
		return -ENOMEM;
	}
	res->status = status;
	res->content_type = res->body[0] == '{' ? "application/json"
	                                        : "text/plain; charset=utf-8";
	res->body_len = (size_t)n;
	res->send_body = 1;
	return 0;
}

int zs_now(struct app_response *res, int status, const char *text)
{
	return zs_text(res, status, "%s", text) < 0 ? -ENOMEM : SERVER_ANSWERED;
}

/* --- messages: each to the file it is for --- */

static int on_message(struct worker *w, struct port_msg *pm)
{
	struct zs_worker *zw = w->data;
	const struct zs_msg *m = pm->data;
	int rc = m->kind <= ZS_UP_ABORT ? upload_message(zw, m)
	                                : download_message(zw, m);

	port_msg_free(pm);
	return rc;
}

static int worker_main(struct worker *w, void *init)
{
	struct zs_worker *zw = w->data;

	(void)init;
	list_init(&zw->uploads);
	list_init(&zw->downloads);
	return 0;
}

static void worker_stop(struct worker *w)
{
	upload_stop(w->data);
	download_stop(w->data);
}

static void on_reply(struct worker *w, struct port_msg *pm)
{
	const struct zs_msg *m = pm->data;

	if (m->kind == ZS_UP_ACK || m->kind == ZS_UP_DONE)
		upload_reply(w->data, m);
	else
		download_reply(w->data, m);
	port_msg_free(pm);
}

static void on_error(struct worker *w, int err)
{
	(void)w;
	fprintf(stderr, "zipserver: a worker failed: %s%s\n", strerror(-err),
	        err == -ENOSYS ? " (a TODO(lab 7) still to write)" : "");
}

static void on_exit_(struct worker *w, int code)
{
	struct zs_worker *zw = w->data;

	(void)code;
	zw->gone = true;
	upload_exit(zw);
	download_exit(zw);
}

/* --- the routes --- */

static int stats(struct app_response *res)
{
	return zs_text(res, 200,
	               "{\"workers\":%u,\"uploads\":%llu,\"downloads\":%llu,"
	               "\"bytes_in\":%llu,\"entries_in\":%llu,"
	               "\"bytes_out\":%llu,\"published\":%llu,"
	               "\"refused\":%llu}\n",
	               zs.size, (unsigned long long)zs_stats.uploads,
	               (unsigned long long)zs_stats.downloads,
	               (unsigned long long)zs_stats.bytes_in,
	               (unsigned long long)zs_stats.entries_in,
	               (unsigned long long)zs_stats.bytes_out,
	               (unsigned long long)zs_stats.published,
	               (unsigned long long)zs_stats.refused);
}

static bool is_post(const struct http_request *req)
{
	return req->method == HTTP_OTHER &&
	       http_str_eq(req->method_name, "POST");
}

static bool reads_body(const struct http_request *req)
{
	return is_post(req) && http_str_eq(req->path, "/upload");
}

static int route(struct server_req *r, struct app_response *res)
{
	const struct http_request *req = r->http;
	char name[ZS_NAME_MAX + 1];
	int rc;

	if (http_str_eq(req->path, "/upload")) {
		if (!is_post(req))
			rc = zs_text(res, 405,
			             "POST a zip to /upload?name=NAME\n");
		else if (!zs_name(req->query, "name", name))
			rc = zs_text(
			    res, 400,
			    "name= must be 1 to %d of A-Z a-z 0-9 . _ - "
			    "(not starting with .)\n",
			    ZS_NAME_MAX);
		else if (zs.root < 0)
			rc = zs_text(res, 503, "the server has no --root\n");
		else
			return upload_route(r, name, res);
	} else if (http_str_eq(req->path, "/download.zip")) {
		if (req->method != HTTP_GET)
			rc = zs_text(res, 405, "GET /download.zip?dir=NAME\n");
		else if (!zs_name(req->query, "dir", name))
			rc =
			    zs_text(res, 400,
			            "dir= must be 1 to %d of A-Z a-z 0-9 . _ - "
			            "(not starting with .)\n",
			            ZS_NAME_MAX);
		else if (zs.root < 0)
			rc = zs_text(res, 503, "the server has no --root\n");
		else
			return download_route(r, name, res);
	} else if (http_str_eq(req->path, "/stats") &&
	           req->method != HTTP_OTHER) {
		rc = stats(res);
		res->send_body = req->method == HTTP_GET;
	} else {
		return SERVER_PASS;
	}
	if (rc == 0 && (res->status == 405))
		snprintf(res->extra, sizeof(res->extra), "Allow: %s\r\n",
		         http_str_eq(req->path, "/upload") ? "POST" : "GET");
	return rc < 0 ? -ENOMEM : SERVER_ANSWERED;
}

/* --- the pool --- */

static int zs_open(struct server *srv)
{
	const struct worker_opts opts = {.main = worker_main,
	                                 .on_message = on_message,
	                                 .on_stop = worker_stop,
	                                 .on_reply = on_reply,
	                                 .on_error = on_error,
	                                 .on_exit = on_exit_};
	const char *root = server_config(srv)->root;
	unsigned want = cli_workers(getenv(ZS_WORKERS_ENV), ZS_MAX_WORKERS);
	int rc;

	if (root != NULL &&
	    (zs.root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -errno;
	for (zs.size = 0; zs.size < want; zs.size++) {
		struct zs_worker *zw = &zs.workers[zs.size];
		zw->w.data = zw;
		list_init(&zw->up_jobs);
		list_init(&zw->dl_jobs);
		if ((rc = worker_start(&zw->w, server_loop(srv), &opts)) < 0)
			return rc; /* those started are ended at close */
	}
	return 0;
}

static void zs_close(struct server *srv)
{
	(void)srv;
	/* Every client is closed by now: each transfer has had its on_gone
	 * and told its worker. A worker that has not read that yet discards
	 * what it holds as it stops (upload_stop, download_stop). */
	for (unsigned i = 0; i < zs.size; i++)
		if (!zs.workers[i].gone)
			worker_terminate(&zs.workers[i].w);
	if (zs.root >= 0)
		close(zs.root);
	zs.root = -1;
}

const struct server_lab server_lab = {
    .open = zs_open,
    .close = zs_close,
    .route = route,
    .reads_body = reads_body,
};
