/* zipfix.h - test archives of lab 7, built in memory byte by byte.
 *
 * The tests do not trust a ZIP writer to make the archives they read: a
 * writer makes only good archives, and most tests are about bad ones.
 * Each archive is written here field by field, as APPNOTE 6.3.10 lays it
 * out, so a test shows exactly what it feeds the reader:
 *
 *   struct zf_archive a;
 *   zf_init(&a);
 *   zf_add(&a, "hello.txt", ZIP_DEFLATED, 0, "hello", 5);  local + data
 *   zf_add_desc(&a, "d.txt", "x", 1, ZF_DESC32_SIG);        bit 3 + desc
 *   zf_directory(&a);           a central record per entry, the end record
 *   ... feed a.b.p, a.b.len ...
 *   zf_free(&a);
 *
 * zf_add() and friends remember what the central directory needs of each
 * entry in a.recs[] (a struct zf_rec each). A test can change a record
 * (a CRC-32, a mode, a name) before zf_directory() to make the directory
 * lie; or it writes the pieces itself with the lower-level functions:
 *
 *   zf_local()       a local header, any flags/method/sizes/name/extra
 *   zf_deflate()     raw deflate data (zlib, windowBits -15)
 *   zf_descriptor()  a data descriptor, in one of the four layouts
 *   zf_x_zip64()     a zip64 extra field (0x0001) with the values given
 *   zf_x_upath()     an Info-ZIP Unicode Path extra field (0x7075)
 *   zf_central()     a central record (made_by, external attributes...)
 *   zf_end64()       a zip64 end record and its locator
 *   zf_end()         the end record, with a comment
 *
 * Every function is static: each test program gets its own copy. Memory
 * that cannot be had aborts the test (it is not what is being tested).
 */
#ifndef ZIPFIX_H
#define ZIPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "zip.h"

/* 2024-05-17 12:34:56, as MS-DOS writes it: date << 16 | time. */
#define ZF_DOS_TIME                                                            \
	((uint32_t)((2024 - 1980) << 9 | 5 << 5 | 17) << 16 |                  \
	 (uint32_t)(12 << 11 | 34 << 5 | 56 / 2))

/* --- a growable buffer --- */

struct zbuf {
	unsigned char *p;
	size_t len, cap;
};

static inline void zb_reserve(struct zbuf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	unsigned char *p = realloc(b->p, cap);
	if (p == NULL) {
		fprintf(stderr, "zipfix: out of memory\n");
		abort();
	}
	b->p = p;
	b->cap = cap;
}

static inline void zb_put(struct zbuf *b, const void *data, size_t n)
{
	zb_reserve(b, n);
	if (n > 0)
		memcpy(b->p + b->len, data, n);
	b->len += n;
}

static inline void zb_u8(struct zbuf *b, uint8_t v)
{
	zb_put(b, &v, 1);
}

static inline void zb_u16(struct zbuf *b, uint16_t v)
{
	zb_reserve(b, 2);
	zip_put16(b->p + b->len, v);
	b->len += 2;
}

static inline void zb_u32(struct zbuf *b, uint32_t v)
{
	zb_reserve(b, 4);
	zip_put32(b->p + b->len, v);
	b->len += 4;
}

static inline void zb_u64(struct zbuf *b, uint64_t v)
{
	zb_reserve(b, 8);
	zip_put64(b->p + b->len, v);
	b->len += 8;
}

static inline void zb_str(struct zbuf *b, const char *s)
{
	zb_put(b, s, strlen(s));
}

static inline void zb_free(struct zbuf *b)
{
	free(b->p);
	*b = (struct zbuf){0};
}

/* --- data --- */

static inline uint32_t zf_crc(const void *data, size_t n)
{
	uint32_t crc = (uint32_t)crc32(0L, Z_NULL, 0);
	const unsigned char *p = data;

	/* crc32() takes a uInt length: feed it in pieces. */
	while (n > 0) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;
		crc = (uint32_t)crc32(crc, p, k);
		p += k;
		n -= k;
	}
	return crc;
}

/* Appends data as one raw deflate stream (no zlib header or trailer, as
 * ZIP stores it); returns its length in bytes, the entry's csize. */
static inline size_t zf_deflate(struct zbuf *b, const void *data, size_t n,
                                int level)
{
	z_stream z;
	size_t start = b->len;
	int rc;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK) {
		fprintf(stderr, "zipfix: deflateInit2 failed\n");
		abort();
	}
	z.next_in = (Bytef *)(uintptr_t)data;
	z.avail_in = (uInt)n;
	do {
		zb_reserve(b, 65536);
		z.next_out = b->p + b->len;
		z.avail_out = 65536;
		rc = deflate(&z, Z_FINISH);
		b->len += 65536 - z.avail_out;
	} while (rc == Z_OK || rc == Z_BUF_ERROR);
	if (rc != Z_STREAM_END) {
		fprintf(stderr, "zipfix: deflate said %d\n", rc);
		abort();
	}
	deflateEnd(&z);
	return b->len - start;
}

/* n bytes of a pattern that deflate shrinks only a little: text made of
 * pseudo-random words (seeded, so every run makes the same bytes). */
static inline unsigned char *zf_text(size_t n, uint32_t seed)
{
	static const char *words[] = {
	    "lorem ",  "ipsum ", "zip ", "stream ", "deflate ", "crc ",
	    "entry\n", "the ",   "of ",  "a ",      "header ",  "data "};
	unsigned char *p = malloc(n ? n : 1);
	size_t at = 0;

	if (p == NULL)
		abort();
	while (at < n) {
		seed = seed * 1103515245u + 12345u;
		const char *w = words[(seed >> 16) % 12];
		for (size_t i = 0; w[i] && at < n; i++)
			p[at++] = (unsigned char)w[i];
		if (at < n && ((seed >> 8) & 7) == 0)
			p[at++] = (unsigned char)('0' + (seed >> 20) % 10);
	}
	return p;
}

/* n bytes that deflate cannot shrink (an LCG's high bytes). */
static inline unsigned char *zf_noise(size_t n, uint32_t seed)
{
	unsigned char *p = malloc(n ? n : 1);

	if (p == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525u + 1013904223u;
		p[i] = (unsigned char)(seed >> 24);
	}
	return p;
}

/* --- extra fields (built into a zbuf, then passed to a header) --- */

/* A zip64 extra field: tag 0x0001, then n 64-bit values in the order the
 * header's 0xffffffff fields call for them (usize, csize, offset). */
static inline void zf_x_zip64(struct zbuf *x, const uint64_t *v, int n)
{
	zb_u16(x, ZIP_EXTRA_ZIP64);
	zb_u16(x, (uint16_t)(8 * n));
	for (int i = 0; i < n; i++)
		zb_u64(x, v[i]);
}

/* The same, then a 4-byte disk number (for a central record whose disk
 * number start says 0xffff). */
static inline void zf_x_zip64_disk(struct zbuf *x, const uint64_t *v, int n,
                                   uint32_t disk)
{
	zb_u16(x, ZIP_EXTRA_ZIP64);
	zb_u16(x, (uint16_t)(8 * n + 4));
	for (int i = 0; i < n; i++)
		zb_u64(x, v[i]);
	zb_u32(x, disk);
}

/* An Info-ZIP Unicode Path extra field (0x7075): version 1, the CRC-32 of
 * the raw name it stands for, then the name in UTF-8 (no NUL). */
static inline void zf_x_upath_crc(struct zbuf *x, uint32_t name_crc,
                                  const char *utf8)
{
	zb_u16(x, ZIP_EXTRA_UPATH);
	zb_u16(x, (uint16_t)(1 + 4 + strlen(utf8)));
	zb_u8(x, 1);
	zb_u32(x, name_crc);
	zb_str(x, utf8);
}

/* The usual one: its CRC-32 is raw_name's, so a reader believes it. */
static inline void zf_x_upath(struct zbuf *x, const char *raw_name,
                              const char *utf8)
{
	zf_x_upath_crc(x, zf_crc(raw_name, strlen(raw_name)), utf8);
}

/* Any other extra field: tag, then len bytes of value. */
static inline void zf_x_other(struct zbuf *x, uint16_t tag, const void *v,
                              uint16_t len)
{
	zb_u16(x, tag);
	zb_u16(x, len);
	zb_put(x, v, len);
}

/* --- local headers and descriptors --- */

/* A local header's fields; what is left 0 is written 0. */
struct zf_hdr {
	uint16_t version; /* needed to extract: 0 means 20 */
	uint16_t flags;
	uint16_t method;
	uint32_t dos_time; /* 0 means ZF_DOS_TIME */
	uint32_t crc;
	uint32_t csize, usize; /* as written: 0xffffffff for zip64 */
	const char *name;
	size_t name_len;          /* 0: strlen(name) (a name with a NUL) */
	const struct zbuf *extra; /* NULL: none */
};

/* Appends a local header; returns its offset. */
static inline size_t zf_local(struct zbuf *b, const struct zf_hdr *h)
{
	size_t at = b->len;
	size_t nlen = h->name_len ? h->name_len : strlen(h->name);

	zb_u32(b, ZIP_SIG_LOCAL);
	zb_u16(b, h->version ? h->version : 20);
	zb_u16(b, h->flags);
	zb_u16(b, h->method);
	zb_u32(b, h->dos_time ? h->dos_time : ZF_DOS_TIME);
	zb_u32(b, h->crc);
	zb_u32(b, h->csize);
	zb_u32(b, h->usize);
	zb_u16(b, (uint16_t)nlen);
	zb_u16(b, (uint16_t)(h->extra ? h->extra->len : 0));
	zb_put(b, h->name, nlen);
	if (h->extra)
		zb_put(b, h->extra->p, h->extra->len);
	return at;
}

/* The four layouts of a data descriptor (flag bit 3). */
enum zf_layout {
	ZF_DESC32,     /* crc, csize, usize: 12 bytes */
	ZF_DESC32_SIG, /* PK\7\8, crc, csize, usize: 16 bytes */
	ZF_DESC64,     /* crc, 64-bit csize and usize: 20 bytes */
	ZF_DESC64_SIG, /* PK\7\8, crc, 64-bit sizes: 24 bytes */
};

static const char *const zf_layout_name[] = {
    "12-byte (no signature, 32-bit sizes)",
    "16-byte (PK\\7\\8, 32-bit sizes)",
    "20-byte (no signature, 64-bit sizes)",
    "24-byte (PK\\7\\8, 64-bit sizes)",
};

static inline void zf_descriptor(struct zbuf *b, enum zf_layout layout,
                                 uint32_t crc, uint64_t csize, uint64_t usize)
{
	if (layout == ZF_DESC32_SIG || layout == ZF_DESC64_SIG)
		zb_u32(b, ZIP_SIG_DESC);
	zb_u32(b, crc);
	if (layout == ZF_DESC32 || layout == ZF_DESC32_SIG) {
		zb_u32(b, (uint32_t)csize);
		zb_u32(b, (uint32_t)usize);
	} else {
		zb_u64(b, csize);
		zb_u64(b, usize);
	}
}

/* --- central records and the end --- */

/* A central record's fields. The sizes and offset are written as given
 * (a test puts 0xffffffff there and the real values in extra). */
struct zf_rec {
	char *name;       /* owned by the archive when made by zf_add() */
	uint16_t made_by; /* 0 means 20: MS-DOS, version 2.0 */
	uint16_t version; /* needed to extract: 0 means 20 */
	uint16_t flags;
	uint16_t method;
	uint32_t dos_time; /* 0 means ZF_DOS_TIME */
	uint32_t crc;
	uint32_t csize, usize;
	uint16_t disk; /* disk number start */
	uint16_t internal;
	uint32_t external;        /* Unix: st_mode << 16 */
	uint32_t offset;          /* of the local header */
	const struct zbuf *extra; /* NULL: none */
	const char *comment;      /* NULL: none */
};

static inline void zf_central(struct zbuf *b, const struct zf_rec *r)
{
	size_t nlen = strlen(r->name);
	size_t clen = r->comment ? strlen(r->comment) : 0;

	zb_u32(b, ZIP_SIG_CENTRAL);
	zb_u16(b, r->made_by ? r->made_by : 20);
	zb_u16(b, r->version ? r->version : 20);
	zb_u16(b, r->flags);
	zb_u16(b, r->method);
	zb_u32(b, r->dos_time ? r->dos_time : ZF_DOS_TIME);
	zb_u32(b, r->crc);
	zb_u32(b, r->csize);
	zb_u32(b, r->usize);
	zb_u16(b, (uint16_t)nlen);
	zb_u16(b, (uint16_t)(r->extra ? r->extra->len : 0));
	zb_u16(b, (uint16_t)clen);
	zb_u16(b, r->disk);
	zb_u16(b, r->internal);
	zb_u32(b, r->external);
	zb_u32(b, r->offset);
	zb_put(b, r->name, nlen);
	if (r->extra)
		zb_put(b, r->extra->p, r->extra->len);
	if (clen)
		zb_put(b, r->comment, clen);
}

/* The end record: disk numbers 0 unless disk says otherwise, entries on
 * this disk and in all, the directory's size and offset, a comment of
 * comment_len bytes (which may hold anything, signatures too). */
static inline void zf_end_disk(struct zbuf *b, uint16_t disk, uint16_t entries,
                               uint32_t cd_size, uint32_t cd_offset,
                               const void *comment, uint16_t comment_len)
{
	zb_u32(b, ZIP_SIG_END);
	zb_u16(b, disk);
	zb_u16(b, disk);
	zb_u16(b, entries);
	zb_u16(b, entries);
	zb_u32(b, cd_size);
	zb_u32(b, cd_offset);
	zb_u16(b, comment_len);
	zb_put(b, comment, comment_len);
}

static inline void zf_end(struct zbuf *b, uint16_t entries, uint32_t cd_size,
                          uint32_t cd_offset, const char *comment)
{
	zf_end_disk(b, 0, entries, cd_size, cd_offset, comment,
	            (uint16_t)(comment ? strlen(comment) : 0));
}

/* A zip64 end record (version 1: 56 bytes, no extensible data) and the
 * locator that points at it; the end record proper comes after them. */
static inline void zf_end64(struct zbuf *b, uint64_t entries, uint64_t cd_size,
                            uint64_t cd_offset)
{
	uint64_t at = b->len;

	zb_u32(b, ZIP_SIG_END64);
	zb_u64(b, 44); /* the size of what follows this field */
	zb_u16(b, 45); /* made by: 4.5 */
	zb_u16(b, 45); /* needed: 4.5 */
	zb_u32(b, 0);  /* this disk */
	zb_u32(b, 0);  /* the directory's disk */
	zb_u64(b, entries);
	zb_u64(b, entries);
	zb_u64(b, cd_size);
	zb_u64(b, cd_offset);

	zb_u32(b, ZIP_SIG_LOCATOR);
	zb_u32(b, 0);  /* the zip64 end record's disk */
	zb_u64(b, at); /* its offset */
	zb_u32(b, 1);  /* disks in all */
}

/* --- whole archives --- */

struct zf_archive {
	struct zbuf b;       /* the archive's bytes so far */
	struct zf_rec *recs; /* one per entry added, for the directory */
	size_t n, cap;
	size_t cd_offset, cd_size; /* set by zf_directory() */
};

static inline void zf_init(struct zf_archive *a)
{
	memset(a, 0, sizeof(*a));
}

static inline void zf_free(struct zf_archive *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->recs[i].name);
	free(a->recs);
	zb_free(&a->b);
	memset(a, 0, sizeof(*a));
}

/* Remembers an entry for the directory; returns its record. */
static inline struct zf_rec *zf_remember(struct zf_archive *a, const char *name,
                                         uint16_t flags, uint16_t method,
                                         uint32_t crc, uint64_t csize,
                                         uint64_t usize, size_t offset)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		struct zf_rec *r = realloc(a->recs, cap * sizeof(*r));
		if (r == NULL)
			abort();
		a->recs = r;
		a->cap = cap;
	}
	struct zf_rec *r = &a->recs[a->n++];
	*r = (struct zf_rec){
	    .name = strdup(name),
	    .flags = flags,
	    .method = method,
	    .crc = crc,
	    .csize = (uint32_t)csize,
	    .usize = (uint32_t)usize,
	    .offset = (uint32_t)offset,
	};
	if (r->name == NULL)
		abort();
	/* A folder made by Unix carries its mode, as zip(1) writes it. */
	size_t nlen = strlen(name);
	if (nlen > 0 && name[nlen - 1] == '/') {
		r->made_by = 3 << 8 | 20;
		r->external = (040755u << 16) | 0x10;
	}
	return r;
}

/* An entry with its sizes in the local header: the header, the data
 * (stored, or deflated at the default level), no descriptor. method may
 * be any number: anything but 8 is written as is. flags go in as given
 * (bit 3 would be a lie here: use zf_add_desc()). */
static inline struct zf_rec *zf_add(struct zf_archive *a, const char *name,
                                    uint16_t method, uint16_t flags,
                                    const void *data, size_t n)
{
	struct zbuf d = {0};
	uint32_t crc = zf_crc(data, n);

	if (method == ZIP_DEFLATED)
		zf_deflate(&d, data, n, Z_DEFAULT_COMPRESSION);
	else
		zb_put(&d, data, n);
	size_t at = zf_local(&a->b, &(struct zf_hdr){.flags = flags,
	                                             .method = method,
	                                             .crc = crc,
	                                             .csize = (uint32_t)d.len,
	                                             .usize = (uint32_t)n,
	                                             .name = name});
	zb_put(&a->b, d.p, d.len);
	struct zf_rec *r =
	    zf_remember(a, name, flags, method, crc, d.len, n, at);
	zb_free(&d);
	return r;
}

/* A deflated entry streamed the way a writer that cannot seek does it:
 * flag bit 3, CRC-32 and sizes 0 in the header, the data, then a
 * descriptor in the layout given. */
static inline struct zf_rec *zf_add_desc(struct zf_archive *a, const char *name,
                                         const void *data, size_t n,
                                         enum zf_layout layout)
{
	struct zbuf d = {0};
	uint32_t crc = zf_crc(data, n);

	zf_deflate(&d, data, n, Z_DEFAULT_COMPRESSION);
	size_t at =
	    zf_local(&a->b, &(struct zf_hdr){.flags = ZIP_FLAG_DESCRIPTOR,
	                                     .method = ZIP_DEFLATED,
	                                     .name = name});
	zb_put(&a->b, d.p, d.len);
	zf_descriptor(&a->b, layout, crc, d.len, n);
	struct zf_rec *r = zf_remember(a, name, ZIP_FLAG_DESCRIPTOR,
	                               ZIP_DEFLATED, crc, d.len, n, at);
	zb_free(&d);
	return r;
}

/* A folder: stored, no data, its name ending in '/'. */
static inline struct zf_rec *zf_add_dir(struct zf_archive *a, const char *name)
{
	return zf_add(a, name, ZIP_STORED, 0, "", 0);
}

/* The central directory: a.recs[] as they are now, then the end record
 * (count a->n, no comment). */
static inline void zf_directory(struct zf_archive *a)
{
	a->cd_offset = a->b.len;
	for (size_t i = 0; i < a->n; i++)
		zf_central(&a->b, &a->recs[i]);
	a->cd_size = a->b.len - a->cd_offset;
	zf_end(&a->b, (uint16_t)a->n, (uint32_t)a->cd_size,
	       (uint32_t)a->cd_offset, NULL);
}

/* Only the central records (the test writes its own end). */
static inline void zf_centrals(struct zf_archive *a)
{
	a->cd_offset = a->b.len;
	for (size_t i = 0; i < a->n; i++)
		zf_central(&a->b, &a->recs[i]);
	a->cd_size = a->b.len - a->cd_offset;
}

#endif
