/* upload.c - POST /upload: a zip extracted as it arrives, on a worker,
 * published whole or not at all (lab 7; zipserver.h).
 *
 *   the loop thread                          a worker's thread
 *   upload_route: take, read the body  --UP_BEGIN-->  stage_open, zx_init
 *   on_body(piece)                     --UP_DATA--->  zx_feed
 *     too much in flight? pause        <--UP_ACK----  (bytes, entries)
 *     (the ack brings it down: resume)
 *   on_body(end)                       --UP_END---->  zx_finish, publish
 *   answer 201 / 422 / 409             <--UP_DONE---  (or discard)
 *   on_gone (the client left)          --UP_ABORT-->  discard
 *
 * An upload lives on the loop until its UP_DONE (or its worker's end);
 * on the worker from UP_BEGIN to the message that ends it. Messages carry
 * the upload's id, never a pointer: either side may have ended it while
 * the other's messages were on their way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "staging.h"
#include "zipserver.h"

/* --- the loop thread's side --- */

struct upload {
	struct server_reply reply;
	struct list link;     /* in zw->up_jobs */
	struct zs_worker *zw; /* extracting it */
	uint64_t id;
	uint64_t inflight; /* bytes posted, not yet acknowledged */
	uint64_t entries;  /* extracted so far (the last UP_ACK's) */
	bool paused;       /* server_pause()d: too much in flight */
	bool gone;         /* the client left, or has been answered */
	char name[ZS_NAME_MAX + 1];
};

static void finish(struct upload *u)
{
	list_remove(&u->link);
	u->zw->transfers--;
	zs_stats.uploads--;
	free(u);
}

/* The answer to a finished upload: what the worker's UP_DONE says. */
static void answer(struct upload *u, const struct zs_msg *m)
{
	struct app_response res;

	if (m->err == 0)
		zs_text(&res, 201,
		        "{\"name\":\"%s\",\"entries\":%llu,\"bytes\":%llu}\n",
		        u->name, (unsigned long long)m->entries,
		        (unsigned long long)m->n);
	else if (m->err == ZS_ETAKEN)
		zs_text(&res, 409, "%s exists already\n", u->name);
	else if (m->err < 0 && m->err >= ZIP_ENESTED)
		/* The payload: the entry the refusal is about. */
		zs_text(&res, 422, "refused: %s %.*s\n", zip_errname(m->err),
		        (int)m->len, m->payload);
	else
		zs_text(&res, 500, "the upload failed on the server\n");
	server_answer(&u->reply, &res);
	app_response_free(&res);
	u->gone = true;
}

/* Fails the upload now (a message that could not be posted): the client
 * gets 500, and the worker, if it can still be told, discards. */
static void fail(struct upload *u)
{
	struct zs_msg m = {.err = ZS_ESERVER};

	answer(u, &m);
	zs_post(u->zw, ZS_UP_ABORT, u->id, NULL, 0);
}

static void on_body(struct server_reply *rp, const void *data, size_t len)
{
	struct upload *u = rp->data;

	if (len == 0) {
		if (zs_post(u->zw, ZS_UP_END, u->id, NULL, 0) < 0)
			fail(u);
		return;
	}
	if (zs_post(u->zw, ZS_UP_DATA, u->id, data, len) < 0) {
		fail(u);
		return;
	}
	u->inflight += len;
	if (u->inflight >= ZS_INFLIGHT_HIGH && !u->paused) {
		u->paused = true;
		server_pause(rp);
	}
}

static void on_gone(struct server_reply *rp)
{
	struct upload *u = rp->data;

	u->gone = true;
	zs_post(u->zw, ZS_UP_ABORT, u->id, NULL, 0);
}

void upload_reply(struct zs_worker *zw, const struct zs_msg *m)
{
	struct upload *u = zs_find(&zw->up_jobs, struct upload, m->id);

	if (u == NULL)
		return;
	if (m->kind == ZS_UP_ACK) {
		u->inflight -= m->n;
		zs_stats.bytes_in += m->n;
		zs_stats.entries_in += m->entries - u->entries;
		u->entries = m->entries;
		if (u->paused && u->inflight <= ZS_INFLIGHT_LOW && !u->gone) {
			u->paused = false;
			server_resume(&u->reply);
		}
		return;
	}
	if (!u->gone)
		answer(u, m);
	if (m->err == 0)
		zs_stats.published++;
	else if (m->err != ZS_ECANCELED)
		zs_stats.refused++;
	finish(u);
}

int upload_route(struct server_req *r, const char *name,
                 struct app_response *res)
{
	const struct http_request *req = r->http;
	struct zs_worker *zw = zs_pick();
	struct upload *u;

	if (req->content_length == 0 && !req->chunked)
		return zs_now(res, 400, "an upload is a zip, in the body\n");
	if (zw == NULL)
		return zs_now(res, 503, "no worker is running\n");
	if ((u = calloc(1, sizeof(*u))) == NULL)
		return -ENOMEM;
	u->zw = zw;
	u->id = zs_next_id();
	snprintf(u->name, sizeof(u->name), "%s", name);
	if (zs_post(zw, ZS_UP_BEGIN, u->id, name, strlen(name) + 1) < 0) {
		free(u);
		return -ENOMEM;
	}
	u->reply.data = u;
	list_append(&zw->up_jobs, &u->link);
	zw->transfers++;
	zs_stats.uploads++;
	server_take(r, &u->reply, on_gone);
	server_read_body(&u->reply, on_body);
	return SERVER_LATER;
}

void upload_exit(struct zs_worker *zw)
{
	while (!list_empty(&zw->up_jobs)) {
		struct upload *u =
		    container_of(zw->up_jobs.next, struct upload, link);
		if (!u->gone)
			answer(u, &(struct zs_msg){.err = ZS_ESERVER});
		finish(u);
	}
}

/* --- the worker's side --- */

struct up_work {
	struct list link; /* in zw->uploads */
	uint64_t id;
	struct staging st;
	struct zip_extract x;
};

/* Ends the upload on the worker: the staging folder published (err 0)
 * or thrown away, and the loop told why. */
static int end_work(struct zs_worker *zw, struct up_work *uw, int err)
{
	struct zs_msg done = {.kind = ZS_UP_DONE,
	                      .id = uw->id,
	                      .n = uw->x.total,
	                      .entries = uw->x.nseen};
	const char *where = zx_where(&uw->x);
	int rc;

	if (err == 0 && (err = stage_publish(&uw->st)) < 0)
		/* RENAME_NOREPLACE: someone published the name first. */
		err = err == -EEXIST || err == -ENOTEMPTY ? ZS_ETAKEN
		                                          : ZS_ESERVER;
	if (err != 0)
		stage_discard(&uw->st);
	done.err = err;
	rc = zs_reply(zw, &done, where, err != 0 ? strlen(where) : 0);
	zx_free(&uw->x);
	list_remove(&uw->link);
	free(uw);
	return rc;
}

static int begin_work(struct zs_worker *zw, const struct zs_msg *m)
{
	struct up_work *uw = calloc(1, sizeof(*uw));
	int rc = 0;

	struct zs_msg done = {.kind = ZS_UP_DONE, .id = m->id};

	if (uw == NULL ||
	    (rc = stage_open(&uw->st, zs_root(), m->payload)) < 0) {
		done.err = uw != NULL && rc == -EEXIST ? ZS_ETAKEN : ZS_ESERVER;
		free(uw);
		return zs_reply(zw, &done, NULL, 0);
	}
	uw->id = m->id;
	list_append(&zw->uploads, &uw->link);
	if ((rc = zx_init(&uw->x, uw->st.fd, &zs_limits)) < 0)
		return end_work(zw, uw, rc);
	return 0;
}

int upload_message(struct zs_worker *zw, const struct zs_msg *m)
{
	struct up_work *uw;
	int rc;

	if (m->kind == ZS_UP_BEGIN)
		return begin_work(zw, m);
	if ((uw = zs_find(&zw->uploads, struct up_work, m->id)) == NULL)
		return 0;
	switch (m->kind) {
	case ZS_UP_DATA:
		if ((rc = zx_feed(&uw->x, m->payload, m->len)) < 0)
			return end_work(zw, uw, rc);
		return zs_reply(zw,
		                &(struct zs_msg){.kind = ZS_UP_ACK,
		                                 .id = uw->id,
		                                 .n = m->len,
		                                 .entries = uw->x.nseen},
		                NULL, 0);
	case ZS_UP_END:
		return end_work(zw, uw, zx_finish(&uw->x));
	case ZS_UP_ABORT:
		return end_work(zw, uw, ZS_ECANCELED);
	default:
		return 0;
	}
}

void upload_stop(struct zs_worker *zw)
{
	/* No reply is needed: the loop ends these at the worker's exit. */
	while (!list_empty(&zw->uploads)) {
		struct up_work *uw =
		    container_of(zw->uploads.next, struct up_work, link);
		stage_discard(&uw->st);
		zx_free(&uw->x);
		list_remove(&uw->link);
		free(uw);
	}
}
