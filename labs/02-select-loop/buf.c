/* buf.c - a growable byte buffer with a read position (given code, lab 2).
 *
 * The capacity doubles when it runs out, so appending n bytes one at a time
 * costs O(n) in all. Consuming only moves "off"; the consumed prefix is given
 * back by sliding the pending bytes to the front, which is done only when it
 * pays: when the prefix is more than half the buffer (the bytes moved are
 * then fewer than the bytes consumed), or when room is needed anyway.
 */
#include "buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { BUF_MIN_CAP = 256 };

/* Moves the pending bytes to the front: the consumed prefix becomes room. */
static void compact(struct buf *b)
{
	size_t pending = buf_pending(b);

	if (b->off == 0)
		return;
	if (pending > 0)
		memmove(b->data, b->data + b->off, pending);
	b->off = 0;
	b->len = pending;
}

/* The capacity to hold need bytes: the old one doubled until it fits. */
static size_t grown(size_t cap, size_t need)
{
	if (cap < BUF_MIN_CAP)
		cap = BUF_MIN_CAP;
	while (cap < need) {
		if (cap > SIZE_MAX / 2)
			return need;
		cap *= 2;
	}
	return cap;
}

int buf_reserve(struct buf *b, size_t n)
{
	size_t pending = buf_pending(b);
	char *data;
	size_t cap;

	if (buf_room(b) >= n)
		return 0;
	if (n > SIZE_MAX - pending)
		return -ENOMEM;
	if (pending + n <= b->cap) {
		compact(b);
		return 0;
	}
	/* realloc() first: if it fails, b is exactly as it was. */
	cap = grown(b->cap, pending + n);
	data = realloc(b->data, cap);
	if (data == NULL)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	compact(b);
	return 0;
}

void buf_commit(struct buf *b, size_t n)
{
	b->len += n;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	int rc;

	if (n == 0)
		return 0;
	rc = buf_reserve(b, n);
	if (rc < 0)
		return rc;
	memcpy(buf_tail(b), p, n);
	buf_commit(b, n);
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	/* Empty: start again at the front, for free. */
	if (b->off == b->len) {
		b->off = 0;
		b->len = 0;
	} else if (b->off > b->cap / 2) {
		compact(b);
	}
}

void buf_free(struct buf *b)
{
	free(b->data);
	*b = (struct buf)BUF_INIT;
}
