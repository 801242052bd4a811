/* body.c - where a request body ends (given code; body.h). */
#include "body.h"

#include <errno.h>

/* 15 hex digits: sizes up to 2^60, beyond any body a server would take,
 * and far from overflowing. */
enum { MAX_DIGITS = 15 };

void body_init(struct body *b, const struct http_request *req)
{
	*b = (struct body){.state = BODY_DONE};
	if (req->chunked)
		b->state = BODY_SIZE;
	else if (req->content_length > 0)
		*b = (struct body){.state = BODY_LENGTH,
		                   .left = req->content_length};
}

static int hex_value(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* The end of a framing line (its LF). */
static int line_end(struct body *b)
{
	switch (b->state) {
	case BODY_SIZE:
		if (b->digits == 0)
			return -EBADMSG;
		/* fall through */
	case BODY_EXT:
		/* Size 0 is the last chunk: trailer lines follow, then an
		 * empty line. */
		b->state = b->left > 0 ? BODY_DATA : BODY_TRAILER;
		b->line_empty = true;
		return 0;
	case BODY_DATA_LF:
		*b = (struct body){.state = BODY_SIZE};
		return 0;
	case BODY_TRAILER:
		if (b->line_empty)
			b->state = BODY_DONE;
		b->line_empty = true;
		return 0;
	default:
		return -EBADMSG;
	}
}

/* One byte of framing (anything but data). */
static int framing_byte(struct body *b, char ch)
{
	int v;

	if (b->cr) { /* CR must be followed by LF */
		b->cr = false;
		return ch == '\n' ? line_end(b) : -EBADMSG;
	}
	if (ch == '\r') {
		b->cr = true;
		return 0;
	}
	if (ch == '\n') /* a bare LF, as the head parser accepts */
		return line_end(b);
	switch (b->state) {
	case BODY_SIZE:
		v = hex_value(ch);
		if (v >= 0 && b->digits < MAX_DIGITS) {
			b->left = b->left * 16 + (unsigned)v;
			b->digits++;
			return 0;
		}
		if (v < 0 && b->digits > 0 &&
		    (ch == ';' || ch == ' ' || ch == '\t')) {
			b->state = BODY_EXT; /* ignored, as RFC 9112 allows */
			return 0;
		}
		return -EBADMSG;
	case BODY_EXT:
		return 0;
	case BODY_TRAILER:
		b->line_empty = false; /* trailer fields are ignored */
		return 0;
	default: /* BODY_DATA_LF: the data was longer than its size */
		return -EBADMSG;
	}
}

long body_next(struct body *b, const char *in, size_t len, const char **data,
               size_t *n)
{
	size_t i = 0;

	*data = in;
	*n = 0;
	while (i < len && b->state != BODY_DONE) {
		if (b->state == BODY_LENGTH || b->state == BODY_DATA) {
			size_t k = len - i;

			if (k > b->left)
				k = (size_t)b->left;
			*data = in + i;
			*n = k;
			b->left -= k;
			if (b->left == 0)
				b->state = b->state == BODY_LENGTH
				               ? BODY_DONE
				               : BODY_DATA_LF;
			return (long)(i + k);
		}
		int rc = framing_byte(b, in[i++]);
		if (rc < 0)
			return rc;
	}
	return (long)i;
}
