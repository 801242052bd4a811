/* io.c - blocking socket I/O that copes with partial reads and writes (lab 1).
 */
#include "io.h"

#include <errno.h>
#include <unistd.h>

long io_read_request(int fd, char *buf, size_t cap, size_t *received,
                     struct http_request *req)
{
	size_t len = 0;

	*received = 0;
	for (;;) {
		/* The parser said "more", but there is no room for more. */
		if (len == cap)
			return -431;

		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		len += (size_t)n;
		*received = len;

		/* However the bytes were split, parse all of them again. */
		long rc = http_parse_request(buf, len, req);
		if (rc != 0)
			return rc;
	}
}

int io_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		/* A short write is not an error: the rest goes next time. */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
