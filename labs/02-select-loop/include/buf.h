/* buf.h - a growable byte buffer with a read position (given code, lab 2).
 *
 * A connection keeps two: "in" holds what the client sent and the parser has
 * not consumed yet; "out" holds what we must still send. Bytes are appended
 * at the end and consumed from the front; the consumed prefix is reclaimed
 * lazily, so consuming is O(1).
 *
 *     data: [ consumed | pending ................ | free ]
 *             0        off                         len   cap
 */
#ifndef BUF_H
#define BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t off; /* first pending byte */
	size_t len; /* end of pending bytes */
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0, 0 }

/* Appends n bytes. Returns 0 or -ENOMEM (b unchanged). */
int buf_append(struct buf *b, const void *p, size_t n);

/* Makes room for at least n more bytes at buf_tail(); returns 0 or -ENOMEM.
 * Use with buf_commit() to read() straight into the buffer. */
int buf_reserve(struct buf *b, size_t n);

/* Marks n bytes written at buf_tail() as pending. */
void buf_commit(struct buf *b, size_t n);

/* Drops the first n pending bytes (n <= buf_pending()). */
void buf_consume(struct buf *b, size_t n);

static inline size_t buf_pending(const struct buf *b)
{
	return b->len - b->off;
}

static inline const char *buf_head(const struct buf *b)
{
	return b->data + b->off;
}

static inline char *buf_tail(struct buf *b)
{
	return b->data + b->len;
}

static inline size_t buf_room(const struct buf *b)
{
	return b->cap - b->len;
}

void buf_free(struct buf *b);

#endif
