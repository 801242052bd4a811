/* download.c - GET /download.zip?dir=NAME: a folder zipped on a worker
 * as it is sent, one piece per request for more (lab 7; zipserver.h).
 *
 *   the loop thread                           a worker's thread
 *   download_route: take         --DL_BEGIN-->  open the folder, list it
 *                                --DL_MORE--->  (ZS_WINDOW of them)
 *   on DL_DATA: the head first                  each DL_MORE: about
 *     (chunked), then             <--DL_DATA--  ZS_PIECE bytes of zip
 *     server_write(): room left?
 *     ask for one more; full?    --DL_MORE--->
 *     ask again at on_drain
 *   server_end() (or abort)      <--DL_DONE--   the end record, or why not
 *   on_gone                      --DL_ABORT-->  stop, free
 *
 * The worker makes nothing it was not asked for, so a slow client costs
 * ZS_WINDOW pieces in flight plus the socket's queue, whatever the
 * folder's size; and it asks a worker for nothing while its socket is
 * full, so it holds no worker while it reads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zipserver.h"
#include "zipwrite.h"

/* --- the loop thread's side --- */

struct download {
	struct server_reply reply;
	struct list link;     /* in zw->dl_jobs */
	struct zs_worker *zw; /* zipping it */
	uint64_t id;
	unsigned asked; /* DL_MORE sent, their DL_DATA not yet come */
	bool streaming; /* the head has been sent */
	bool full;      /* server_write() said so: wait for on_drain */
	bool gone;      /* the client left, or has had its answer */
	char name[ZS_NAME_MAX + 1];
};

static void finish(struct download *d)
{
	list_remove(&d->link);
	d->zw->transfers--;
	zs_stats.downloads--;
	free(d);
}

/* Ends the answer: the last chunk, or, when the zip could not be made,
 * an error status if nothing was sent yet, else a cut connection (a
 * client must never take half a zip for a whole one). */
static void end_answer(struct download *d, int err)
{
	bool missing = err == ZS_ENOTFOUND;
	struct app_response res;

	if (d->streaming && err == 0) {
		server_end(&d->reply);
	} else if (d->streaming) {
		server_abort(&d->reply);
	} else {
		zs_text(&res, missing ? 404 : 500, "%s\n",
		        missing ? "no such folder"
		                : "the zip could not be made");
		server_answer(&d->reply, &res);
		app_response_free(&res);
	}
	d->gone = true;
}

/* One more piece, please. */
static void ask(struct download *d)
{
	if (zs_post(d->zw, ZS_DL_MORE, d->id, NULL, 0) == 0)
		d->asked++;
	else
		end_answer(d, ZS_ESERVER); /* its DL_DONE or exit frees it */
}

static void on_drain(struct server_reply *rp)
{
	struct download *d = rp->data;

	d->full = false;
	while (!d->gone && d->asked < ZS_WINDOW)
		ask(d);
}

static void on_gone(struct server_reply *rp)
{
	struct download *d = rp->data;

	d->gone = true;
	zs_post(d->zw, ZS_DL_ABORT, d->id, NULL, 0);
}

static int begin_answer(struct download *d)
{
	struct app_response head = {.status = 200,
	                            .content_type = "application/zip",
	                            .body_len = HTTP_CHUNKED,
	                            .send_body = 1};

	snprintf(head.extra, sizeof(head.extra),
	         "Content-Disposition: attachment; filename=\"%s.zip\"\r\n",
	         d->name);
	d->streaming = true;
	return server_stream(&d->reply, &head, on_drain);
}

void download_reply(struct zs_worker *zw, const struct zs_msg *m)
{
	struct download *d = zs_find(&zw->dl_jobs, struct download, m->id);
	int rc;

	if (d == NULL)
		return;
	if (m->kind == ZS_DL_DONE) {
		if (!d->gone)
			end_answer(d, m->err);
		finish(d);
		return;
	}
	d->asked--;
	if (d->gone)
		return;
	if (!d->streaming && begin_answer(d) < 0)
		return; /* the client has gone: on_gone has been called */
	if ((rc = server_write(&d->reply, m->payload, m->len)) < 0)
		return;
	zs_stats.bytes_out += m->len;
	if (rc == 1)
		d->full = true;
	else if (!d->full)
		ask(d);
}

int download_route(struct server_req *r, const char *name,
                   struct app_response *res)
{
	struct zs_worker *zw = zs_pick();
	struct download *d;

	if (zw == NULL)
		return zs_now(res, 503, "no worker is running\n");
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->zw = zw;
	d->id = zs_next_id();
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (zs_post(zw, ZS_DL_BEGIN, d->id, name, strlen(name) + 1) < 0) {
		free(d);
		return -ENOMEM;
	}
	d->reply.data = d;
	list_append(&zw->dl_jobs, &d->link);
	zw->transfers++;
	zs_stats.downloads++;
	server_take(r, &d->reply, on_gone);
	while (!d->gone && d->asked < ZS_WINDOW)
		ask(d); /* the first pieces */
	return SERVER_LATER;
}

void download_exit(struct zs_worker *zw)
{
	while (!list_empty(&zw->dl_jobs)) {
		struct download *d =
		    container_of(zw->dl_jobs.next, struct download, link);
		if (!d->gone)
			end_answer(d, ZS_ESERVER);
		finish(d);
	}
}

/* --- the worker's side --- */

struct dl_work {
	struct list link; /* in zw->downloads */
	uint64_t id;
	int dir;        /* the folder being zipped */
	char **names;   /* what is in it: "a/", "a/b.txt", ... */
	size_t n, next; /* how many; the next to begin */
	int fd;         /* the file being read, or -1 */
	char *piece;    /* the zip's bytes for the next DL_DATA */
	size_t len, cap;
	bool finished; /* zw_finish() done */
	struct zip_writer zip;
	char buf[ZS_PIECE]; /* a file's bytes on their way to zw_data */
};

/* The writer's sink: bytes collect in the piece. */
static int collect(void *arg, const void *buf, size_t len)
{
	struct dl_work *dw = arg;

	if (dw->len + len > dw->cap) {
		size_t cap =
		    dw->cap * 2 > dw->len + len ? dw->cap * 2 : dw->len + len;
		char *p = realloc(dw->piece, cap);
		if (p == NULL)
			return ZIP_ENOMEM;
		dw->piece = p;
		dw->cap = cap;
	}
	memcpy(dw->piece + dw->len, buf, len);
	dw->len += len;
	return 0;
}

static int add_name(struct dl_work *dw, const char *name)
{
	char **names = realloc(dw->names, (dw->n + 1) * sizeof(*names));

	if (names == NULL)
		return -ENOMEM;
	dw->names = names;
	if ((names[dw->n] = strdup(name)) == NULL)
		return -ENOMEM;
	dw->n++;
	return 0;
}

/* Lists the folder at fd (whose path below the root is prefix) into
 * dw->names: folders as "name/", regular files; anything else (a link,
 * a socket) is left out. Closes fd. */
static int list_tree(struct dl_work *dw, int fd, const char *prefix)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = 0;

	if (d == NULL) {
		close(fd);
		return -errno;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		char path[PATH_MAX];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		if (snprintf(path, sizeof(path), "%s%s%s", prefix, e->d_name,
		             S_ISDIR(st.st_mode) ? "/" : "") >=
		    (int)sizeof(path))
			rc = -ENAMETOOLONG;
		else if (S_ISREG(st.st_mode))
			rc = add_name(dw, path);
		else if (S_ISDIR(st.st_mode) &&
		         (rc = add_name(dw, path)) == 0) {
			int sub = openat(dirfd(d), e->d_name,
			                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			                     O_CLOEXEC);
			rc = sub < 0 ? -errno : list_tree(dw, sub, path);
		}
	}
	closedir(d);
	return rc;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_work(struct dl_work *dw)
{
	for (size_t i = 0; i < dw->n; i++)
		free(dw->names[i]);
	free(dw->names);
	free(dw->piece);
	if (dw->fd >= 0)
		close(dw->fd);
	if (dw->dir >= 0)
		close(dw->dir);
	zw_free(&dw->zip);
	list_remove(&dw->link);
	free(dw);
}

static int done(struct zs_worker *zw, struct dl_work *dw, int err)
{
	struct zs_msg m = {.kind = ZS_DL_DONE, .id = dw->id, .err = err};

	free_work(dw);
	return zs_reply(zw, &m, NULL, 0);
}

static int begin_work(struct zs_worker *zw, const struct zs_msg *m)
{
	struct dl_work *dw = calloc(1, sizeof(*dw));
	int fd, rc;

	if (dw == NULL)
		return zs_reply(zw,
		                &(struct zs_msg){.kind = ZS_DL_DONE,
		                                 .id = m->id,
		                                 .err = ZS_ESERVER},
		                NULL, 0);
	dw->id = m->id;
	dw->fd = dw->dir = -1;
	list_append(&zw->downloads, &dw->link);
	if (zw_init(&dw->zip, collect, dw, Z_DEFAULT_COMPRESSION) < 0)
		return done(zw, dw, ZS_ESERVER);
	dw->dir = openat(zs_root(), m->payload,
	                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dw->dir < 0)
		return done(zw, dw, ZS_ENOTFOUND);
	if ((fd = dup(dw->dir)) < 0 || (rc = list_tree(dw, fd, "")) < 0)
		return done(zw, dw, ZS_ESERVER);
	qsort(dw->names, dw->n, sizeof(*dw->names), by_name);
	return 0;
}

/* One step of the zip: the next entry begun, a file's next bytes added,
 * or the end. 0 or an error. */
static int step(struct dl_work *dw)
{
	struct stat st;
	ssize_t n;

	if (dw->fd >= 0) {
		while ((n = read(dw->fd, dw->buf, sizeof(dw->buf))) < 0 &&
		       errno == EINTR)
			;
		if (n < 0)
			return ZIP_EIO;
		if (n > 0)
			return zw_data(&dw->zip, dw->buf, (size_t)n);
		close(dw->fd);
		dw->fd = -1;
		return zw_end(&dw->zip);
	}
	if (dw->next == dw->n) {
		dw->finished = true;
		return zw_finish(&dw->zip);
	}
	const char *name = dw->names[dw->next++];
	bool folder = name[strlen(name) - 1] == '/';
	if (!folder) {
		dw->fd =
		    openat(dw->dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (dw->fd < 0)
			return ZIP_EIO;
	}
	if ((folder ? fstatat(dw->dir, name, &st, AT_SYMLINK_NOFOLLOW)
	            : fstat(dw->fd, &st)) < 0)
		return ZIP_EIO;
	return zw_begin(&dw->zip, name, st.st_mode, st.st_mtime,
	                folder ? 0 : (uint64_t)st.st_size);
}

/* Makes the next piece: about ZS_PIECE bytes of zip, or the last. */
static int produce(struct zs_worker *zw, struct dl_work *dw)
{
	struct zs_msg data = {.kind = ZS_DL_DATA, .id = dw->id};
	int rc = 0;

	while (rc == 0 && dw->len < ZS_PIECE && !dw->finished)
		rc = step(dw);
	if (rc < 0)
		return done(zw, dw, rc == ZIP_ENOMEM ? ZS_ESERVER : rc);
	if (dw->len > 0 && (rc = zs_reply(zw, &data, dw->piece, dw->len)) < 0)
		return rc;
	dw->len = 0;
	return dw->finished ? done(zw, dw, 0) : 0;
}

int download_message(struct zs_worker *zw, const struct zs_msg *m)
{
	struct dl_work *dw = NULL;

	if (m->kind == ZS_DL_BEGIN)
		return begin_work(zw, m);
	if ((dw = zs_find(&zw->downloads, struct dl_work, m->id)) == NULL)
		return 0; /* ended already */
	if (m->kind == ZS_DL_ABORT)
		return done(zw, dw, ZS_ECANCELED);
	return produce(zw, dw);
}

void download_stop(struct zs_worker *zw)
{
	while (!list_empty(&zw->downloads))
		free_work(
		    container_of(zw->downloads.next, struct dl_work, link));
}
