/* io.h - blocking socket I/O that copes with partial reads and writes (lab 1).
 *
 * read() may return fewer bytes than asked for, and write() may accept fewer
 * bytes than offered: a request arrives in as many pieces as the network
 * likes, and a large response leaves in as many pieces as the kernel's send
 * buffer can take. These helpers hide that from the rest of the server.
 * Both retry EINTR. Neither prints; they return 0/length or a negative errno.
 */
#ifndef IO_H
#define IO_H

#include <stddef.h>
#include <sys/types.h>

#include "http.h"

/* Reads from fd into buf[0..cap) until buf holds a complete request head,
 * parsing what has arrived after every read().
 *
 * Returns the head's length (> 0) with *req filled and *received set to the
 * number of bytes read (which may be more than the head). Otherwise:
 *   a negative HTTP status (-400, -414, -431, -501, -505) for a bad request,
 *   -ECONNRESET when the peer closed before sending a whole head,
 *   another negative errno when read() failed. */
long io_read_request(int fd, char *buf, size_t cap, size_t *received,
                     struct http_request *req);

/* Writes all len bytes of buf to fd, however many write() calls it takes.
 * Returns 0, or a negative errno (-EPIPE when the peer has gone away: the
 * caller must have SIGPIPE ignored or use MSG_NOSIGNAL, or it is killed). */
int io_write_all(int fd, const void *buf, size_t len);

#endif
