/* dashboard.h - the server's live dashboard (given code, lab 4 on).
 *
 * Every server from lab 4 on serves two more routes, added by this given
 * file through the frame (server.h: server_extra), without a line in the
 * lab's own files:
 *
 *   GET /dashboard   one self-contained HTML page (no network but its own
 *                    server): the numbers below, live, and the last 30 s
 *                    of requests/s and loop lag as small graphs
 *   GET /events      the numbers, as Server-Sent Events: one
 *                    "data: {json}\n\n" every DASHBOARD_TICK_MS, on a
 *                    connection that stays open (EventSource('/events'))
 *
 *   {"t_ms":123456,"requests_per_s":8123,"lag_ms":0,"busy":4,"queued":6,
 *    "pool_size":4,"connections":3}
 *
 * requests_per_s: requests the server routed over the last second (the
 * frame calls this file's route first for each one: a counter, nothing
 * more); lag_ms: how late the dashboard's own 100 ms timer fired, by the
 * loop's clock -- a callback that blocks the loop for 1 s shows as a lag
 * of 1000 ms; busy, queued and pool_size: tp_stats() of the lab's pool
 * (null in a lab without one); connections: the frame's open clients
 * (server_stats()), this page's own included.
 *
 * Each /events client is an ordinary connection on the loop: a taken
 * request answered as a stream (server_stream(), then server_write()).
 * One that does not read is skipped while its queue is full (server_write()
 * said so), until on_drain: it costs SERVER_STREAM_HIGH bytes, never more.
 * The timer runs only while a client watches, and is unref'd: it never
 * keeps the loop alive, and an idle server is never woken for it.
 */
#ifndef DASHBOARD_H
#define DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DASHBOARD_TICK_MS = 100,
	/* requests_per_s is counted over this many ticks (1 s). */
	DASHBOARD_WINDOW = 10,
};

/* One update: what /events sends. */
struct dashboard_sample {
	uint64_t t_ms; /* the loop's clock */
	uint64_t requests_per_s;
	uint64_t lag_ms;
	bool has_pool; /* false: busy, queued and pool_size are null */
	unsigned busy, queued, pool_size;
	size_t connections;
};

/* Writes s as one Server-Sent Event, "data: {json}\n\n", into
 * out[0..cap). Its length, or -ENOSPC when it does not fit. */
long dashboard_event(const struct dashboard_sample *s, char *out, size_t cap);

/* Requests per second from two counts taken ms apart (0 when ms is 0). */
uint64_t dashboard_rate(uint64_t count_then, uint64_t count_now, uint64_t ms);

#endif
