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
 *
 * You write the functions marked TODO(lab 7): put_local(),
 * put_descriptor() and deflate_out() (an entry's bytes), put_central(),
 * put_end64() and put_end() (the directory and the end), and zw_begin(),
 * zw_data(), zw_end() and the rest of zw_finish(), which use them. Given:
 * the output buffer (here(), flush(), put()), grow(), dos_time(), flags(),
 * version(), field32(), extra64(), fail(), zw_init() and zw_free(). Until
 * you write them, every call after zw_init() says ZIP_EUNSUPPORTED.
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
	/* TODO(lab 7): afterwards r's local header is in the output, and
	 * here(w) is past it; returns 0 or the sink's first error (put()
	 * reports it).
	 *
	 * The fact you need, the layout: 30 bytes, little-endian
	 * (zip_put16(), zip_put32(); offsets on the left), then the name
	 * (without its NUL), then the extra:
	 *    0  signature ZIP_SIG_LOCAL                            4
	 *    4  version needed: version(r->zip64)                  2
	 *    6  flags(r)                                           2
	 *    8  r->method                                          2
	 *   10  r->dos_time                                        4
	 *   14  CRC-32: 0 (flag bit 3: the descriptor has it)      4
	 *   18  compressed size: 0; 0xffffffff if r->zip64         4
	 *   22  uncompressed size: the same                        4
	 *   26  the name's length                                  2
	 *   28  the extra's length: LOCAL64_EXTRA or 0             2
	 * (0xffffffff says "see the zip64 extra").
	 * The zip64 extra, only if r->zip64: tag ZIP_EXTRA_ZIP64 (2 bytes),
	 * its data's length 16 (2), then the uncompressed and the compressed
	 * size, 8 bytes each: 0, as they are not known yet either.
	 */
	(void)w;
	(void)r;
	(void)version;
	(void)flags;
	(void)put;
	return ZIP_EUNSUPPORTED;
}

/* The data descriptor, with its signature: a reader can then tell it
 * from data. 64-bit sizes if the local header had a zip64 extra, which
 * is how a reader knows which of the two it is. */
static int put_descriptor(struct zip_writer *w, const struct zw_record *r)
{
	/* TODO(lab 7): afterwards r's data descriptor is in the output;
	 * 0 or the sink's first error. Its layout (a reader knows which of
	 * the two sizes it is only from the local header's zip64 extra):
	 *    0  signature ZIP_SIG_DESC   4
	 *    4  r->crc32                 4
	 *    8  r->csize                 4, or 8 if r->zip64
	 *       r->usize                 4, or 8 if r->zip64
	 * 16 bytes in all, or 24 with zip64.
	 */
	(void)w;
	(void)r;
	return ZIP_EUNSUPPORTED;
}

/* Deflates z's avail_in bytes into w->out (with Z_FINISH, to the end of
 * the stream), sending the buffer on each time it fills. */
static int deflate_out(struct zip_writer *w, struct zw_record *r, int mode)
{
	/* TODO(lab 7): afterwards deflate has taken all of z's avail_in
	 * (mode Z_NO_FLUSH) or, with Z_FINISH, ended the stream (every
	 * byte of it made); each byte it made is counted in r->csize and
	 * sits in w->out or has gone to the sink. Returns 0, or:
	 * - ZIP_ECORRUPT when deflate() says Z_STREAM_ERROR (its z_stream is
	 *   broken);
	 * - ZIP_ESIZE when an entry without zip64 reaches ZIP_32BIT_MAX
	 *   compressed bytes (random data grows a little when deflated);
	 * - the sink's error.
	 *
	 * zlib facts: deflate() writes at z.next_out, for z.avail_out bytes:
	 * here that is the free part of w->out, which put() and flush()
	 * keep so (flush() sends a full buffer and makes room). It makes no
	 * promise to take all its input, or to finish, in one call -- it
	 * stops when its output is full. Z_BUF_ERROR only says no progress
	 * was possible this call: not an error.
	 */
	(void)w;
	(void)r;
	(void)mode;
	(void)flush;
	return ZIP_EUNSUPPORTED;
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
	/* TODO(lab 7): afterwards r's central record is in the output;
	 * 0 or the sink's first error.
	 *
	 * The facts you need. A zip64 extra (tag ZIP_EXTRA_ZIP64, 2 bytes;
	 * its data's length, 2; the data) holds, in this order, the 64-bit
	 * value of each of r->usize, r->csize and r->offset that does not
	 * fit 32 bits (extra64() appends one if so), and is present only if
	 * one did not. The entry "uses zip64" if r->zip64 or it has that
	 * extra. The record: the fixed 46 bytes, then the name, then the
	 * extra:
	 *    0  signature ZIP_SIG_CENTRAL                          4
	 *    4  made by: MADE_BY_UNIX | version(uses zip64)        2
	 *    6  version needed: version(uses zip64)                2
	 *    8  flags(r)                                           2
	 *   10  r->method                                          2
	 *   12  r->dos_time                                        4
	 *   16  r->crc32                                           4
	 *   20  compressed size: field32(r->csize)                 4
	 *   24  uncompressed size: field32(r->usize)               4
	 *   28  the name's length                                  2
	 *   30  the extra's length, tag and length included, or 0 2
	 *   32  comment length: 0                                  2
	 *   34  disk number: 0                                     2
	 *   36  internal attributes: 0                             2
	 *   38  external attributes: r->mode << 16                 4
	 *   42  the local header's offset: field32(r->offset)      4
	 */
	(void)w;
	(void)r;
	(void)extra64;
	(void)field32;
	return ZIP_EUNSUPPORTED;
}

/* The zip64 end record, then the locator that says where it is. */
static int put_end64(struct zip_writer *w, uint64_t size, uint64_t start)
{
	/* TODO(lab 7): afterwards the zip64 end record and its locator
	 * are in the output; 0 or the sink's first error. Their layouts:
	 * the record, 56 bytes:
	 *    0  signature ZIP_SIG_END64                            4
	 *    4  the size of the rest of the record: 56 - 12 = 44   8
	 *   12  made by: MADE_BY_UNIX | version(true)              2
	 *   14  version needed: version(true)                      2
	 *   16  this disk's number: 0                              4
	 *   20  the directory's disk: 0                            4
	 *   24  entries on this disk: w->n                         8
	 *   32  entries in all: w->n                               8
	 *   40  the directory's size: size                        8
	 *   48  the directory's offset: start                      8
	 * then the locator, 20 bytes, which says where the record is:
	 *    0  signature ZIP_SIG_LOCATOR                          4
	 *    4  the zip64 end record's disk: 0                     4
	 *    8  the record's offset in the archive                 8
	 *   16  disks in all: 1                                    4
	 */
	(void)w;
	(void)size;
	(void)start;
	return ZIP_EUNSUPPORTED;
}

/* The end record. What does not fit says 0xffff or 0xffffffff: "see the
 * zip64 end record". */
static int put_end(struct zip_writer *w, uint64_t size, uint64_t start)
{
	/* TODO(lab 7): afterwards the end record is in the output; 0 or
	 * the sink's first error. Its layout, 22 bytes, n being w->n, or
	 * 0xffff if it is 0xffff or more:
	 *    0  signature ZIP_SIG_END                              4
	 *    4  this disk's number: 0                              2
	 *    6  the directory's disk: 0                            2
	 *    8  entries on this disk: n                            2
	 *   10  entries in all: n                                  2
	 *   12  the directory's size: field32(size)                4
	 *   16  the directory's offset: field32(start)             4
	 *   20  comment length: 0                                  2
	 */
	(void)w;
	(void)size;
	(void)start;
	return ZIP_EUNSUPPORTED;
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
	/* TODO(lab 7): zipwrite.h's zw_begin(). Returns 0, and then:
	 * - an entry that was still open has ended (zw_end());
	 * - a new entry is open (w->in_entry), and w->recs[w->n - 1] is its
	 *   record: its own copy of name; ZIP_STORED for a folder (a name
	 *   ending in '/'), else ZIP_DEFLATED; dos_time(mtime); mode; the
	 *   offset of its local header; zip64 when size_hint is
	 *   ZIP_32BIT_MAX or more (ZW_SIZE_UNKNOWN is); the rest 0;
	 * - its local header is in the output (put_local()).
	 * Or returns, and keeps for every later call (fail()): the error of
	 * the entry it ended; ZIP_ELIMIT for a name longer than ZIP_NAME_MAX
	 * bytes; ZIP_ENOMEM; the sink's error.
	 *
	 * Trap (valgrind): zw_free() frees the names of the first w->n
	 * records, even after a failure here -- a record counted whose name
	 * is not there is a free of garbage.
	 */
	(void)w;
	(void)name;
	(void)mode;
	(void)mtime;
	(void)size_hint;
	(void)grow;
	(void)dos_time;
	(void)put_local;
	return ZIP_EUNSUPPORTED;
}

int zw_data(struct zip_writer *w, const void *buf, size_t len)
{
	/* TODO(lab 7): zipwrite.h's zw_data(), for the open entry r (the
	 * newest record). Returns 0, and then buf's len bytes are counted in
	 * r->usize and in r->crc32 (zlib's crc32(), running over the whole
	 * entry), and deflated into the output (deflate_out(), Z_NO_FLUSH);
	 * len 0 changes nothing. Or, kept for every later call (fail()):
	 * - an error already kept, returned as it is;
	 * - ZIP_ESIZE with no entry open, or into a folder;
	 * - ZIP_ESIZE when an entry without zip64 would reach ZIP_32BIT_MAX
	 *   bytes -- decided before a byte of buf is taken: its header cannot
	 *   be taken back;
	 * - deflate_out()'s error.
	 *
	 * Traps: test_writer_size_limit hands it 4 GiB that fault when read:
	 * the refusal must come before any of them is touched; and
	 * r->usize + len can overflow. zlib counts in uInt (32 bits):
	 * z.avail_in and crc32()'s length cannot take more than CHUNK at a
	 * time, whatever len is (test_writer_pieces hands it one piece of
	 * 1 GiB and 4 KiB; CHUNK is 1 GiB).
	 */
	(void)w;
	(void)buf;
	(void)len;
	return ZIP_EUNSUPPORTED;
}

int zw_end(struct zip_writer *w)
{
	/* TODO(lab 7): zipwrite.h's zw_end(). Returns 0 when no entry is
	 * open (zw_begin() and zw_finish() call it to end one that may be).
	 * Else, afterwards, the entry is over (no longer in_entry): a
	 * folder's header was all of it; a file's deflate stream has ended
	 * (every byte made, deflate_out() with Z_FINISH), its descriptor
	 * follows (put_descriptor()), and deflate is ready for the next
	 * entry's data as a stream of its own (deflateReset()). A kept error
	 * is returned as it is; a new one is kept (fail()).
	 */
	(void)w;
	(void)deflate_out;
	(void)put_descriptor;
	return ZIP_EUNSUPPORTED;
}

int zw_finish(struct zip_writer *w)
{
	uint64_t start, size;
	int rc;

	if ((rc = zw_end(w)) < 0)
		return rc;
	start = here(w);
	/* TODO(lab 7): the rest of zw_finish(). Returns 0, and then the
	 * sink has had the whole archive: after the entries, a central record
	 * for each, in the order they were written (put_central()); then, if
	 * the end record cannot hold the numbers -- w->n is 0xffff or more,
	 * or the directory's size or its offset (start) is ZIP_32BIT_MAX or
	 * more -- the zip64 end record and its locator (put_end64()); then
	 * the end record (put_end()); nothing left in w->out. Or the first
	 * error, kept (fail()), with nothing written after it.
	 */
	(void)start;
	(void)size;
	(void)put_central;
	(void)put_end64;
	(void)put_end;
	return ZIP_EUNSUPPORTED;
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
