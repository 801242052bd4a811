/* fuzz_body.c - the frame's body decoder (body.c), fed any bytes in any
 * pieces.
 *
 *   byte 0        bit 0: chunked, else Content-Length; bits 1-7: a seed for
 *                 the piece sizes (1..64 bytes, or whole for seed 0)
 *   bytes 1..2    the Content-Length (big-endian; chunked: unused)
 *   the rest      what the client sends after the head
 *
 * The bytes are decoded twice, as the frame does it: once all at once, and
 * once arriving in pieces, the bytes not yet consumed kept in front of the
 * next piece. Checked, besides "no sanitizer error":
 *   - both ways give the same body bytes and the same end (done, or a
 *     framing error), and consume the same number of bytes unless it is an
 *     error: where a body ends may not depend on how the network cut it;
 *   - body_next() never uses more bytes than it was given, and a piece of
 *     body lies inside them;
 *   - a Content-Length body is exactly the first Content-Length bytes (or
 *     all there are), and ends there.
 */
#define FUZZ_NAME "fuzz_body"
#include "fuzz.h"

#include <errno.h>
#include <string.h>

#include "body.h"

struct outcome {
	unsigned char *data; /* the body bytes, in order */
	size_t n;
	size_t used; /* input bytes consumed */
	int end;     /* 1: done, 0: more needed, -EBADMSG */
};

/* Decodes in[0..len) arriving in pieces of the sizes the seed gives (all
 * at once for seed 0). */
static void decode(const struct http_request *req, const uint8_t *in,
                   size_t len, unsigned seed, struct outcome *o)
{
	struct body b;
	size_t arrived = 0;

	body_init(&b, req);
	*o = (struct outcome){.data = malloc(len + 1)};
	while (o->end == 0 && !body_done(&b)) {
		const char *data;
		size_t n, have = arrived - o->used;
		long used =
		    body_next(&b, (const char *)in + o->used, have, &data, &n);

		if (used < 0) {
			o->end = (int)used;
			break;
		}
		if ((size_t)used > have ||
		    (n > 0 &&
		     (data < (const char *)in + o->used ||
		      data + n > (const char *)in + o->used + (size_t)used)))
			fuzz_fail(
			    "body_next() used %ld of %zu bytes, its piece "
			    "of %zu outside them",
			    used, have, n);
		memcpy(o->data + o->n, data, n);
		o->n += n;
		o->used += (size_t)used;
		if (used == 0) { /* more must come */
			if (arrived == len)
				return;
			seed = seed * 1103515245u + 12345u;
			size_t piece =
			    seed == 12345u ? len : 1 + (seed >> 16) % 64;
			arrived = arrived + piece > len ? len : arrived + piece;
		}
	}
	if (o->end == 0)
		o->end = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request req = {0};
	struct outcome whole, pieces;

	if (size < 3)
		return 0;
	req.chunked = data[0] & 1;
	if (!req.chunked)
		req.content_length = (size_t)data[1] << 8 | data[2];
	data += 3;
	size -= 3;
	decode(&req, data, size, 0, &whole);
	decode(&req, data, size, (data[-3] >> 1) + 1u, &pieces);
	/* After a framing error nothing more is read: where it was found
	 * within the failing call does not matter. */
	if (whole.end != pieces.end ||
	    (whole.end >= 0 && whole.used != pieces.used) ||
	    whole.n != pieces.n || memcmp(whole.data, pieces.data, whole.n)) {
		fuzz_show("input", data, size);
		fuzz_show("body, all at once", whole.data, whole.n);
		fuzz_show("body, in pieces", pieces.data, pieces.n);
		fuzz_fail("decoded whole: end %d after %zu bytes; in pieces: "
		          "end %d after %zu bytes",
		          whole.end, whole.used, pieces.end, pieces.used);
	}
	if (!req.chunked) {
		size_t want =
		    size < req.content_length ? size : req.content_length;
		if (whole.n != want || memcmp(whole.data, data, want) != 0 ||
		    (whole.end == 1) != (size >= req.content_length))
			fuzz_fail("Content-Length %zu, %zu bytes sent: a body "
			          "of %zu bytes, end %d",
			          req.content_length, size, whole.n, whole.end);
	}
	free(whole.data);
	free(pieces.data);
	return 0;
}
