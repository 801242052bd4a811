/* zipserver.h - uploads extracted and folders zipped, on workers (lab 7's
 * server, on the frame of lab 3 and the workers of lab 6).
 *
 *   POST /upload?name=NAME   the body is a zip (Content-Length or chunked).
 *                            Extracted as it arrives, on a worker, into
 *                            ROOT/.NAME.partial-XXXXXX, then published as
 *                            ROOT/NAME in one rename:
 *                            201 {"name":"NAME","entries":E,"bytes":B}
 *                            refused: 422 "refused: WORD ENTRY" (zip.h's
 *                            words), and nothing is left behind;
 *                            NAME taken: 409; a bad NAME: 400;
 *                            no --root: 503
 *   GET /download.zip?dir=NAME  a zip of the folder ROOT/NAME, made on a
 *                            worker as it is sent (chunked: nobody knows
 *                            its length before the end; to an HTTP/1.0
 *                            client, which has no chunks, the frame sends
 *                            it as it is and closes); 404 if none
 *   GET /stats               {"workers":W,"uploads":U,"downloads":D,
 *                             "bytes_in":I,"entries_in":E,"bytes_out":O,
 *                             "published":P,"refused":R}
 *
 * The loop thread never inflates, deflates or writes a file: it moves
 * bytes between sockets and workers (upload.c, download.c), and a worker
 * does the rest. Either way the bytes in flight are bounded:
 *
 *   upload:   socket --on_body--> loop --UP_DATA--> worker: zx_feed()
 *             at ZS_INFLIGHT_HIGH bytes posted and not yet acknowledged
 *             (UP_ACK), the body is paused: the client's TCP window
 *             closes; it resumes when they fall to ZS_INFLIGHT_LOW.
 *   download: worker --DL_DATA--> loop --server_write()--> socket
 *             the worker makes one piece per DL_MORE it is sent, and the
 *             loop sends DL_MORE only while the socket keeps up.
 *
 * A slow client holds no worker: a worker serves every transfer given to
 * it, a message at a time, as Node's worker would serve many requests on
 * its own loop.
 */
#ifndef ZIPSERVER_H
#define ZIPSERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extract.h"
#include "list.h"
#include "server.h"
#include "worker.h"

enum {
	ZS_MAX_WORKERS = 64,
	ZS_NAME_MAX = 64,             /* NAME in ?name= and ?dir= */
	ZS_INFLIGHT_HIGH = 256 << 10, /* an upload's bytes at a worker */
	ZS_INFLIGHT_LOW = 64 << 10,
	ZS_PIECE = 64 << 10, /* a download's piece, about */
	ZS_WINDOW = 4,       /* a download's pieces in flight */
};
#define ZS_WORKERS_ENV "EV_WORKERS"

/* What the loop and a worker say to each other. Every message is one
 * struct zs_msg and its payload, handed over (worker_post_owned()). */
enum zs_kind {
	/* loop -> worker */
	ZS_UP_BEGIN, /* payload: NAME */
	ZS_UP_DATA,  /* payload: the body's next bytes */
	ZS_UP_END,   /* the body is complete */
	ZS_UP_ABORT, /* the client has gone: throw it all away */
	ZS_DL_BEGIN, /* payload: NAME */
	ZS_DL_MORE,  /* one more piece, please */
	ZS_DL_ABORT, /* the client has gone */
	/* worker -> loop */
	ZS_UP_ACK,  /* n bytes of UP_DATA consumed; entries done so far */
	ZS_UP_DONE, /* err 0: published; else the refusal (and where) */
	ZS_DL_DATA, /* payload: the zip's next bytes */
	ZS_DL_DONE, /* err 0: the zip is complete; else why not */
};

struct zs_msg {
	enum zs_kind kind;
	uint64_t id;      /* the transfer's, given by the loop: never reused */
	int err;          /* UP_DONE, DL_DONE: 0, a ZIP_E* or a -errno */
	uint64_t n;       /* UP_ACK: bytes consumed; UP_DONE: bytes written */
	uint64_t entries; /* UP_ACK, UP_DONE: entries extracted so far */
	size_t len;       /* the payload's length */
	char payload[];
};

/* zs_msg.err besides 0 and zip.h's errors (ZIP_E*, -1 to -18). */
enum {
	ZS_ETAKEN = -100,    /* NAME exists already: 409 */
	ZS_ENOTFOUND = -101, /* no folder NAME to download: 404 */
	ZS_ECANCELED = -102, /* the client left: nobody to answer */
	ZS_ESERVER = -103,   /* the server's own failure (disk, memory): 500 */
};

/* One worker of the server's pool, as both threads see it. */
struct zs_worker {
	struct worker w;
	/* The loop thread's: */
	struct list up_jobs; /* uploads given to it, until their end */
	struct list dl_jobs; /* downloads, the same */
	unsigned transfers;  /* how many of both */
	bool gone;           /* on_exit has come */
	/* The worker thread's own: */
	struct list uploads;   /* what it is extracting */
	struct list downloads; /* what it is zipping */
};

/* What /stats adds up (the loop thread's). */
struct zs_stats {
	uint64_t uploads, downloads; /* in progress */
	uint64_t bytes_in, entries_in;
	uint64_t bytes_out;
	uint64_t published, refused;
};
extern struct zs_stats zs_stats;

/* Given (zipserver.c): */
/* The least busy worker, or NULL when none is running. */
struct zs_worker *zs_pick(void);
/* A message with a copy of payload[0..len), handed to the worker or to
 * the loop. 0, -ENOMEM or -EPIPE. */
int zs_post(struct zs_worker *zw, enum zs_kind kind, uint64_t id,
            const void *payload, size_t len);
int zs_reply(struct zs_worker *zw, const struct zs_msg *head,
             const void *payload, size_t len);
/* A fresh transfer id. */
uint64_t zs_next_id(void);
/* The transfer whose id is want in the list jobs, or NULL: it has ended
 * already (a message for it was on its way). type is upload.c's or
 * download.c's struct, on either thread: any with a struct list link and
 * a uint64_t id. */
#define zs_find(jobs, type, want)                                              \
	((type *)zs_find_at((jobs), (want), offsetof(type, link),              \
	                    offsetof(type, id)))
void *zs_find_at(struct list *jobs, uint64_t want, size_t link_at,
                 size_t id_at);
/* ROOT, opened (O_PATH-like, for the *at() calls), or -1 without --root. */
int zs_root(void);
/* Whether NAME (from the query, not NUL-terminated) is one plain file
 * name: [A-Za-z0-9._-], not starting with '.', 1 to ZS_NAME_MAX bytes.
 * Copies it into out (ZS_NAME_MAX + 1 bytes) when it is. */
bool zs_name(struct http_str q, const char *key, char *out);
/* A short answer: status, a text/plain or JSON body. 0, or -ENOMEM: res
 * is then a 500 without a body, which can still be sent. */
int zs_text(struct app_response *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A route's answer now: zs_text(res, status, "%s", text), then
 * SERVER_ANSWERED, or -ENOMEM. */
int zs_now(struct app_response *res, int status, const char *text);
/* The limits an upload is extracted with. */
extern const struct zx_limits zs_limits;

/* upload.c (yours): */
int upload_route(struct server_req *r, const char *name,
                 struct app_response *res);
void upload_reply(struct zs_worker *zw, const struct zs_msg *m);
int upload_message(struct zs_worker *zw, const struct zs_msg *m);
/* The worker's thread, as it ends: discard everything it holds. */
void upload_stop(struct zs_worker *zw);
/* The loop thread, at the worker's on_exit: no reply will come any more,
 * so end every upload still given to it. */
void upload_exit(struct zs_worker *zw);

/* download.c (yours): */
int download_route(struct server_req *r, const char *name,
                   struct app_response *res);
void download_reply(struct zs_worker *zw, const struct zs_msg *m);
int download_message(struct zs_worker *zw, const struct zs_msg *m);
void download_stop(struct zs_worker *zw);
void download_exit(struct zs_worker *zw);

#endif
