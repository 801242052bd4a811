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
 *
 * You write the functions marked TODO(lab 7): on_body(), on_gone() and
 * upload_reply() on the loop's side; upload_message() on the worker's.
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
	/* TODO(lab 7): the frame's on_body, on the loop thread: the next
	 * piece of the upload's body (data is valid during the call only),
	 * or its end (len 0). Afterwards the worker has been told (zs_post():
	 * UP_DATA with the piece, or UP_END), and the bytes posted but not
	 * yet acknowledged (u->inflight) include this piece. Memory stays
	 * flat however fast the client sends (memory.upload): at
	 * ZS_INFLIGHT_HIGH bytes in flight the body is paused
	 * (server_pause()) until the worker catches up. A post that fails
	 * fails the upload (fail(), given: a 500, and the worker told to
	 * discard). */
	struct upload *u = rp->data;

	(void)u;
	(void)data;
	(void)len;
	(void)fail;
}

static void on_gone(struct server_reply *rp)
{
	/* TODO(lab 7): the frame's on_gone: nobody waits for the answer
	 * now. Afterwards the upload knows it (no answer will be sent) and
	 * the worker has been told to throw it away (UP_ABORT: nothing of it
	 * is published). The upload is NOT freed here: it ends at its
	 * UP_DONE (upload_reply()), which always comes. */
	(void)rp;
}

void upload_reply(struct zs_worker *zw, const struct zs_msg *m)
{
	/* TODO(lab 7): a message from the worker about upload m->id, on
	 * the loop thread. No such upload (zs_find(), given, says NULL): it
	 * has ended already, and the message is ignored. Afterwards:
	 * - UP_ACK (m->n bytes extracted, m->entries entries so far): those
	 *   bytes are no longer in flight; a paused body whose bytes in
	 *   flight fell to ZS_INFLIGHT_LOW or less reads on (server_resume()),
	 *   unless the client has gone; /stats counts the bytes and the new
	 *   entries (zs_stats.bytes_in, entries_in);
	 * - UP_DONE (m->err: 0, a refusal, ZS_ETAKEN, ZS_ECANCELED...): the
	 *   client has its answer (answer(), given) unless it has gone or
	 *   been answered; zs_stats counts a publish (0) or, for any other
	 *   error but ZS_ECANCELED, a refusal; and the upload has ended
	 *   (finish()).
	 *
	 * Trap: an upload already answered (fail() answered it) must not be
	 * answered again. */
	(void)zw;
	(void)m;
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
	/* TODO(lab 7): on the worker's thread, a message from the loop;
	 * returns 0 or an error that fails the worker. UP_BEGIN makes the
	 * upload's staging folder and extractor (begin_work(), given). Any
	 * other message is about an upload that may have ended already
	 * (zs_find(), given, says NULL): it is ignored. Afterwards:
	 * - UP_DATA: its bytes have been fed to the extractor, and the loop
	 *   has an UP_ACK of them (the bytes, and the entries seen so far);
	 *   or the extractor refused, and the upload has ended with that
	 *   refusal (end_work(), given: it discards or publishes, and sends
	 *   UP_DONE);
	 * - UP_END: the archive is complete (zx_finish()) and the upload has
	 *   ended with what that says;
	 * - UP_ABORT: the upload has ended with ZS_ECANCELED. */
	(void)zw;
	(void)m;
	(void)begin_work;
	return -ENOSYS;
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
