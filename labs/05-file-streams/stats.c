/* stats.c - GET /stats for lab 5 (given code): what the server holds now.
 *
 *   {"clients":3,"taken":2,"streams_open":2,"bytes_buffered":131072,
 *    "pool":{"size":4,"busy":0,"queued":0,"completed":41}}
 *
 * streams_open counts the answers being streamed (a download between its
 * head and its last byte); bytes_buffered, the bytes waiting in the
 * clients' send queues. Each open stream also holds one chunk of its own
 * (RSTREAM_CHUNK), not counted here. With backpressure, bytes_buffered
 * stays near streams_open x SERVER_STREAM_HIGH however big the files and
 * however slow the clients; without it, it grows with the file.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "files.h"

int files_stats(struct server *srv, struct tp_pool *pool, bool head,
                struct app_response *res)
{
	struct server_stats s;
	struct tp_stats p;
	int n;

	server_stats(srv, &s);
	tp_stats(pool, &p);
	memset(res, 0, sizeof(*res));
	n = asprintf(&res->body,
	             "{\"clients\":%zu,\"taken\":%zu,\"streams_open\":%zu,"
	             "\"bytes_buffered\":%zu,\"pool\":{\"size\":%u,"
	             "\"busy\":%u,\"queued\":%u,\"completed\":%llu}}\n",
	             s.clients, s.taken, s.streaming, s.queued, p.size, p.busy,
	             p.queued, (unsigned long long)p.completed);
	if (n < 0) {
		res->body = NULL;
		return -ENOMEM; /* app_handle()'s caller answers 500 */
	}
	res->status = 200;
	res->content_type = "application/json";
	res->body_len = (size_t)n;
	res->send_body = !head;
	return 0;
}
