/* zipwrite.c - a streaming ZIP writer (lab 7; zipwrite.h).
 *
 * Every byte of the archive passes through one buffer, w->out, and its
 * cursor is deflate's own: z.next_out and z.avail_out. put() copies
 * headers in, deflate() writes its output straight there, and the moment
 * the buffer is full, flush() hands it to the sink. So the sink gets
 * pieces of ZW_OUT_SIZE bytes whatever the caller's pieces were, and no
 * more than one buffer of an entry is ever held.
 *
 * w->offset counts the bytes already sent; here() adds those waiting in
 * the buffer, which gives the position in the archive that the central
 * directory records for each local header.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zipwrite.h"

#define MADE_BY_UNIX  (3 << 8)   /* system 3: external holds st_mode */
#define LOCAL64_EXTRA 20         /* tag, length, usize, csize */
#define END64_SIZE    56         /* the zip64 end record, fixed part */
#define LOCATOR_SIZE  20         /* the zip64 end locator */
#define CHUNK         (1u << 30) /* at most this to zlib: avail_in is a uInt */

/* Makes an error stick: every later call returns it. */
static int fail(struct zip_writer *w, int rc)
{
	if (rc < 0 && w->error == 0)
		w->error = rc;
	return rc;
}

/* The version a reader needs: 4.5 for zip64 fields, else 2.0 (deflate,
 * folders). */
static uint16_t version(bool zip64)
{
	return zip64 ? 45 : 20;
}

/* MS-DOS local time, date << 16 | time, in two-second steps. It cannot
 * say a year before 1980 or after 2107: those become the nearest it can. */
static uint32_t dos_time(int64_t mtime)
{
	time_t t = (time_t)mtime;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || tm.tm_year < 80)
		return (1 << 5 | 1) << 16; /* 1980-01-01 00:00:00 */
	if (tm.tm_year > 207)
		tm.tm_year = 207;
	return (uint32_t)(tm.tm_year - 80) << 25 |
	       (uint32_t)(tm.tm_mon + 1) << 21 | (uint32_t)tm.tm_mday << 16 |
	       (uint32_t)tm.tm_hour << 11 | (uint32_t)tm.tm_min << 5 |
	       (uint32_t)(tm.tm_sec / 2);
}

/* Bit 3 on every file: its CRC-32 and sizes follow the data. Bit 11 when
 * the name is not ASCII: names are given as UTF-8, and without the bit a
 * reader would take them for CP437. */
static uint16_t flags(const struct zw_record *r)
{
	uint16_t f = r->method == ZIP_DEFLATED ? ZIP_FLAG_DESCRIPTOR : 0;

	for (const unsigned char *p = (const unsigned char *)r->name; *p; p++)
		if (*p >= 0x80)
			return f | ZIP_FLAG_UTF8;
	return f;
}

/* A 32-bit field's value: v, or 0xffffffff for "see the zip64 extra". */
static uint32_t field32(uint64_t v)
{
	return v < ZIP_32BIT_MAX ? (uint32_t)v : ZIP_32BIT_MAX;
}

/* --- the output buffer --- */

/* Where the archive is up to: bytes sent, plus bytes waiting in w->out. */
static uint64_t here(const struct zip_writer *w)
{
	return w->offset + (ZW_OUT_SIZE - w->z.avail_out);
}

/* Hands what w->out holds to the sink, and empties it. */
static int flush(struct zip_writer *w)
{
	size_t len = ZW_OUT_SIZE - w->z.avail_out;
	int rc = len > 0 ? w->sink(w->arg, w->out, len) : 0;

	w->offset += len;
	w->z.next_out = w->out;
	w->z.avail_out = ZW_OUT_SIZE;
	return rc;
}

/* Copies len bytes into w->out, flushing it whenever it fills: between
 * calls there is always room, which deflate() needs. */
static int put(struct zip_writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int rc;

	while (len > 0) {
		size_t n = len < w->z.avail_out ? len : w->z.avail_out;

		memcpy(w->z.next_out, p, n);
		w->z.next_out += n;
		w->z.avail_out -= (uInt)n;
		p += n;
		len -= n;
		if (w->z.avail_out == 0 && (rc = flush(w)) < 0)
			return rc;
	}
	return 0;
}

/* Room for one more record. Doubling makes n entries cost O(n) copies. */
static int grow(struct zip_writer *w)
{
	size_t cap = w->cap > 0 ? 2 * w->cap : 16;
	struct zw_record *recs;

	if (w->n < w->cap)
		return 0;
	recs = realloc(w->recs, cap * sizeof(*recs));
	if (recs == NULL)
		return ZIP_ENOMEM;
	w->recs = recs;
	w->cap = cap;
	return 0;
}

/* --- an entry --- */

/* The local header. Its CRC-32 and sizes are not known yet: 0, or with a
 * zip64 extra, 0xffffffff saying "see the extra", which holds zeros. */
static int put_local(struct zip_writer *w, const struct zw_record *r)
{
	unsigned char h[ZIP_LOCAL_SIZE + LOCAL64_EXTRA];
	unsigned char *x = h + ZIP_LOCAL_SIZE;
	size_t len = strlen(r->name);
	size_t extra = r->zip64 ? LOCAL64_EXTRA : 0;
	uint32_t size = r->zip64 ? ZIP_32BIT_MAX : 0;
	int rc;

	zip_put32(h, ZIP_SIG_LOCAL);
	zip_put16(h + 4, version(r->zip64));
	zip_put16(h + 6, flags(r));
	zip_put16(h + 8, r->method);
	zip_put32(h + 10, r->dos_time);
	zip_put32(h + 14, 0);    /* CRC-32 */
	zip_put32(h + 18, size); /* compressed size */
	zip_put32(h + 22, size); /* uncompressed size */
	zip_put16(h + 26, (uint16_t)len);
	zip_put16(h + 28, (uint16_t)extra);
	zip_put16(x, ZIP_EXTRA_ZIP64);
	zip_put16(x + 2, 16);
	zip_put64(x + 4, 0);  /* uncompressed size */
	zip_put64(x + 12, 0); /* compressed size */
	if ((rc = put(w, h, ZIP_LOCAL_SIZE)) < 0 ||
	    (rc = put(w, r->name, len)) < 0)
		return rc;
	return put(w, x, extra);
}

/* The data descriptor, with its signature: a reader can then tell it
 * from data. 64-bit sizes if the local header had a zip64 extra, which
 * is how a reader knows which of the two it is. */
static int put_descriptor(struct zip_writer *w, const struct zw_record *r)
{
	unsigned char d[24];

	zip_put32(d, ZIP_SIG_DESC);
	zip_put32(d + 4, r->crc32);
	if (!r->zip64) {
		zip_put32(d + 8, (uint32_t)r->csize);
		zip_put32(d + 12, (uint32_t)r->usize);
		return put(w, d, 16);
	}
	zip_put64(d + 8, r->csize);
	zip_put64(d + 16, r->usize);
	return put(w, d, 24);
}

/* Deflates z's avail_in bytes into w->out (with Z_FINISH, to the end of
 * the stream), sending the buffer on each time it fills. */
static int deflate_out(struct zip_writer *w, struct zw_record *r, int mode)
{
	int zrc, rc;

	do {
		uInt room = w->z.avail_out;

		zrc = deflate(&w->z, mode);
		if (zrc == Z_STREAM_ERROR)
			return ZIP_ECORRUPT; /* our z_stream is broken */
		r->csize += room - w->z.avail_out;
		if (!r->zip64 && r->csize >= ZIP_32BIT_MAX)
			return ZIP_ESIZE;
		if (w->z.avail_out == 0 && (rc = flush(w)) < 0)
			return rc;
	} while (mode == Z_FINISH ? zrc != Z_STREAM_END : w->z.avail_in > 0);
	return 0;
}

/* --- the central directory --- */

/* Appends v to the zip64 extra being built at *x, if it needs 64 bits. */
static void extra64(unsigned char **x, uint64_t v)
{
	if (v >= ZIP_32BIT_MAX) {
		zip_put64(*x, v);
		*x += 8;
	}
}

/* One central record: the local header again, now with the CRC-32 and
 * sizes, plus the Unix mode and where the local header is. */
static int put_central(struct zip_writer *w, const struct zw_record *r)
{
	unsigned char h[ZIP_CENTRAL_SIZE + 4 + 24];
	unsigned char *data = h + ZIP_CENTRAL_SIZE + 4, *x = data;
	size_t len = strlen(r->name), extra;
	bool zip64;
	int rc;

	extra64(&x, r->usize); /* in this order, only those that overflow */
	extra64(&x, r->csize);
	extra64(&x, r->offset);
	extra = x > data ? (size_t)(x - data) + 4 : 0;
	zip64 = r->zip64 || extra > 0;

	memset(h, 0, ZIP_CENTRAL_SIZE);
	zip_put32(h, ZIP_SIG_CENTRAL);
	zip_put16(h + 4, MADE_BY_UNIX | version(zip64));
	zip_put16(h + 6, version(zip64));
	zip_put16(h + 8, flags(r));
	zip_put16(h + 10, r->method);
	zip_put32(h + 12, r->dos_time);
	zip_put32(h + 16, r->crc32);
	zip_put32(h + 20, field32(r->csize));
	zip_put32(h + 24, field32(r->usize));
	zip_put16(h + 28, (uint16_t)len);
	zip_put16(h + 30, (uint16_t)extra);
	/* 32: comment length, 34: disk, 36: internal attributes: all 0 */
	zip_put32(h + 38, r->mode << 16);
	zip_put32(h + 42, field32(r->offset));
	zip_put16(h + ZIP_CENTRAL_SIZE, ZIP_EXTRA_ZIP64);
	zip_put16(h + ZIP_CENTRAL_SIZE + 2, (uint16_t)(x - data));

	if ((rc = put(w, h, ZIP_CENTRAL_SIZE)) < 0 ||
	    (rc = put(w, r->name, len)) < 0)
		return rc;
	return put(w, h + ZIP_CENTRAL_SIZE, extra);
}

/* The zip64 end record, then the locator that says where it is. */
static int put_end64(struct zip_writer *w, uint64_t size, uint64_t start)
{
	unsigned char h[END64_SIZE + LOCATOR_SIZE];
	unsigned char *loc = h + END64_SIZE;

	zip_put32(h, ZIP_SIG_END64);
	zip_put64(h + 4, END64_SIZE - 12); /* the size of what follows */
	zip_put16(h + 12, MADE_BY_UNIX | version(true));
	zip_put16(h + 14, version(true));
	zip_put32(h + 16, 0);    /* this disk */
	zip_put32(h + 20, 0);    /* the directory's disk */
	zip_put64(h + 24, w->n); /* entries on this disk */
	zip_put64(h + 32, w->n); /* entries in all */
	zip_put64(h + 40, size);
	zip_put64(h + 48, start);
	zip_put32(loc, ZIP_SIG_LOCATOR);
	zip_put32(loc + 4, 0); /* the zip64 end record's disk */
	zip_put64(loc + 8, here(w));
	zip_put32(loc + 16, 1); /* disks in all */
	return put(w, h, sizeof(h));
}

/* The end record. What does not fit says 0xffff or 0xffffffff: "see the
 * zip64 end record". */
static int put_end(struct zip_writer *w, uint64_t size, uint64_t start)
{
	unsigned char h[ZIP_END_SIZE];
	uint16_t n = w->n < 0xffff ? (uint16_t)w->n : 0xffff;

	zip_put32(h, ZIP_SIG_END);
	zip_put16(h + 4, 0);  /* this disk */
	zip_put16(h + 6, 0);  /* the directory's disk */
	zip_put16(h + 8, n);  /* entries on this disk */
	zip_put16(h + 10, n); /* entries in all */
	zip_put32(h + 12, field32(size));
	zip_put32(h + 16, field32(start));
	zip_put16(h + 20, 0); /* comment length */
	return put(w, h, sizeof(h));
}

/* --- the interface --- */

int zw_init(struct zip_writer *w, zw_sink_fn sink, void *arg, int level)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->sink = sink;
	w->arg = arg;
	w->level = level;
	/* Raw deflate (windowBits -15): ZIP has its own headers and CRC. */
	rc = deflateInit2(&w->z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
	if (rc != Z_OK) /* out of memory, or a level outside -1..9 */
		return fail(w,
		            rc == Z_MEM_ERROR ? ZIP_ENOMEM : ZIP_EUNSUPPORTED);
	w->z_ready = true;
	w->z.next_out = w->out;
	w->z.avail_out = ZW_OUT_SIZE;
	return 0;
}

int zw_begin(struct zip_writer *w, const char *name, uint32_t mode,
             int64_t mtime, uint64_t size_hint)
{
	size_t len = strlen(name);
	bool folder = len > 0 && name[len - 1] == '/';
	struct zw_record *r;
	int rc;

	if ((rc = zw_end(w)) < 0) /* an entry still open ends here */
		return rc;
	if (len > ZIP_NAME_MAX)
		return fail(w, ZIP_ELIMIT);
	if ((rc = grow(w)) < 0)
		return fail(w, rc);
	r = &w->recs[w->n];
	memset(r, 0, sizeof(*r));
	if ((r->name = strdup(name)) == NULL)
		return fail(w, ZIP_ENOMEM);
	w->n++;
	r->method = folder ? ZIP_STORED : ZIP_DEFLATED;
	r->dos_time = dos_time(mtime);
	r->mode = mode;
	r->offset = here(w);
	r->zip64 = !folder && size_hint >= ZIP_32BIT_MAX;
	w->in_entry = true;
	return fail(w, put_local(w, r));
}

int zw_data(struct zip_writer *w, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	struct zw_record *r;
	int rc = 0;

	if (w->error || len == 0)
		return w->error;
	if (!w->in_entry || w->recs[w->n - 1].method == ZIP_STORED)
		return fail(w, ZIP_ESIZE); /* no entry, or a folder */
	r = &w->recs[w->n - 1];
	/* Refused before any of it is read: the header cannot be changed. */
	if (!r->zip64 && len >= ZIP_32BIT_MAX - r->usize)
		return fail(w, ZIP_ESIZE);
	r->usize += len;
	while (len > 0 && rc == 0) {
		size_t n = len < CHUNK ? len : CHUNK;

		r->crc32 = (uint32_t)crc32(r->crc32, p, (uInt)n);
		w->z.next_in = (Bytef *)p;
		w->z.avail_in = (uInt)n;
		rc = deflate_out(w, r, Z_NO_FLUSH);
		p += n;
		len -= n;
	}
	return fail(w, rc);
}

int zw_end(struct zip_writer *w)
{
	struct zw_record *r;
	int rc;

	if (w->error || !w->in_entry)
		return w->error;
	w->in_entry = false;
	r = &w->recs[w->n - 1];
	if (r->method == ZIP_STORED)
		return 0; /* a folder: its header was all of it */
	w->z.avail_in = 0;
	if ((rc = deflate_out(w, r, Z_FINISH)) == 0 &&
	    (rc = put_descriptor(w, r)) == 0)
		deflateReset(&w->z); /* a new stream for the next entry */
	return fail(w, rc);
}

int zw_finish(struct zip_writer *w)
{
	uint64_t start, size;
	int rc;

	if ((rc = zw_end(w)) < 0)
		return rc;
	start = here(w);
	for (size_t i = 0; i < w->n && rc == 0; i++)
		rc = put_central(w, &w->recs[i]);
	size = here(w) - start;
	if (rc == 0 &&
	    (w->n >= 0xffff || size >= ZIP_32BIT_MAX || start >= ZIP_32BIT_MAX))
		rc = put_end64(w, size, start);
	if (rc == 0)
		rc = put_end(w, size, start);
	if (rc == 0)
		rc = flush(w);
	return fail(w, rc);
}

void zw_free(struct zip_writer *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->recs[i].name);
	free(w->recs);
	w->recs = NULL;
	w->n = w->cap = 0;
	if (w->z_ready)
		deflateEnd(&w->z);
	w->z_ready = false;
}
