/* body.h - where a request body ends (given code, the frame's).
 *
 * A request's head says how its body is framed: Content-Length bytes, or
 * chunked (RFC 9112, 7.1): pieces each led by its size in hex, the last
 * of size zero, then optional trailer lines and an empty line:
 *
 *     5\r\n hello \r\n  6;ext=1\r\n  world! \r\n  0\r\n  \r\n
 *
 * The decoder is a push parser: body_next() takes whatever bytes have
 * arrived, however they were split, and says which of them are body.
 * It keeps no bytes of its own, so a body costs its connection a few
 * words whatever its size.
 */
#ifndef BODY_H
#define BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http.h"

enum body_state {
	BODY_DONE,    /* no body, or all of it read */
	BODY_LENGTH,  /* Content-Length: "left" bytes to come */
	BODY_SIZE,    /* chunked: in a chunk-size line */
	BODY_EXT,     /* chunked: in its extension, up to the line end */
	BODY_DATA,    /* chunked: "left" bytes of chunk data */
	BODY_DATA_LF, /* chunked: the CRLF after a chunk's data */
	BODY_TRAILER, /* chunked: a trailer line, or the final empty line */
};

struct body {
	enum body_state state;
	uint64_t left;   /* BODY_LENGTH, BODY_DATA: bytes to come;
	                    BODY_SIZE: the size so far */
	uint8_t digits;  /* BODY_SIZE: hex digits seen */
	bool cr;         /* a CR seen, its LF due */
	bool line_empty; /* BODY_TRAILER: nothing yet on this line */
};

/* The body of req, as its head frames it (none: BODY_DONE at once). */
void body_init(struct body *b, const struct http_request *req);

static inline bool body_done(const struct body *b)
{
	return b->state == BODY_DONE;
}

/* Reads the framing at the start of in[0..len): the next piece of body is
 * then (*data, *n) -- inside in, n may be 0 -- and the return value is how
 * many bytes of in were used (framing and data: consume them). 0 with n 0
 * means more bytes are needed. -EBADMSG when the chunked framing is
 * malformed (the connection cannot go on). body_done() says when the body
 * has ended. */
long body_next(struct body *b, const char *in, size_t len, const char **data,
               size_t *n);

#endif
