/* files.h - GET /files/NAME as a stream (lab 5).
 *
 * Lab 1's /files/NAME reads the whole file into memory, then sends it
 * (fs.readFile()). From lab 5 on the server streams it instead (files.c):
 * it opens the file (fs_open(), beneath --root), learns its size
 * (fs_fstat()), sends the head at once -- Content-Length from the size --
 * and pipes the file into the answer a chunk at a time. The first byte
 * leaves before the file has been read; memory is a chunk per download.
 *
 *   GET|HEAD /files/NAME            200, the whole file
 *   ... with "Range: bytes=A-B"     206, bytes A..B (B included; past the
 *                                   end: up to the end)
 *           "Range: bytes=A-"       206, from A to the end
 *           "Range: bytes=-N"       206, the last N bytes
 *   a range that starts at or past the end (or -0): 416, with
 *   "Content-Range: bytes *" "/SIZE"; a Range that is not one of these
 *   forms (several ranges, not bytes, junk) is ignored: 200, whole.
 *   a missing file, one outside --root, a directory, a device: 404
 *
 * Each 200 and 206 says "Accept-Ranges: bytes"; a 206 says
 * "Content-Range: bytes A-B/SIZE".
 *
 *   GET|HEAD /files-buffered/NAME   the old way, for the experiment: the
 *                                   whole file read into memory, then sent
 *                                   (buffered.c, given; no Range)
 *   GET|HEAD /stats                 what the server holds now, as JSON
 *                                   (stats.c, given): open streams, bytes
 *                                   buffered, the pool
 */
#ifndef FILES_H
#define FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pool.h"
#include "server.h"

/* What files_range() found. */
enum files_range {
	FILES_WHOLE = 0,         /* no usable Range: the whole file, 200 */
	FILES_PART = 1,          /* [*start, *end): 206 */
	FILES_UNSATISFIABLE = 2, /* 416 */
};

/* Reads a Range header's value (v[0..n), NULL for none) for a file of
 * size bytes. */
enum files_range files_range(const char *v, size_t n, off_t size, off_t *start,
                             off_t *end);

/* The buffered route (buffered.c, given): takes the request for NAME,
 * beneath root_fd, on pool. A SERVER_* value, or -ENOMEM. */
int files_buffered(struct server_req *r, struct tp_pool *pool, int root_fd,
                   struct http_str name, struct app_response *res);

/* The /stats answer (stats.c, given): the frame's numbers and pool's.
 * 0 or -ENOMEM. */
int files_stats(struct server *srv, struct tp_pool *pool, bool head,
                struct app_response *res);

#endif
