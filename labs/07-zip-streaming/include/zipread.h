/* zipread.h - a streaming ZIP reader: a push parser (lab 7).
 *
 * The archive comes in pieces of any size -- a socket's reads, a pipe's,
 * one byte at a time -- and the reader never seeks and never holds more
 * than one header: zr_feed() takes what has arrived and calls back as
 * each part completes:
 *
 *   on_entry      a local header, parsed: name, method, flags, and the
 *                 declared CRC-32 and sizes (all 0 with flag bit 3)
 *   on_data       the entry's bytes, inflated, in pieces of at most
 *                 ZR_OUT_SIZE
 *   on_entry_end  the entry's data is over and verified: e->crc32,
 *                 e->csize and e->usize are now what the data really was
 *   on_central    one record of the central directory
 *   on_end        the end record: the archive is whole
 *
 * Rules the tests check:
 * - the same events, with the same bytes, for every way of cutting the
 *   input (one byte at a time, random pieces, all at once);
 * - stored (method 0) and deflated (method 8: zlib's raw inflate) data;
 *   another method is ZIP_EUNSUPPORTED, an encrypted entry (flag bit 0,
 *   bit 6, bit 13 or method 99) ZIP_EENCRYPTED, before any of its data;
 * - without flag bit 3, the header's sizes bound the data: output past
 *   usize is ZIP_ESIZE before on_data sees it; a deflate stream that ends
 *   before csize bytes or not at csize is ZIP_ESIZE; a CRC-32 that
 *   differs is ZIP_ECRC, at on_entry_end's place;
 * - with flag bit 3 the header's sizes are 0 (or lies): never trust them.
 *   A deflated entry ends where its deflate stream ends; the descriptor
 *   after it has one of four layouts -- with or without the signature
 *   PK\7\8, 32- or 64-bit sizes -- and the one whose sizes are the data's
 *   and which is followed by a signature is it. Its CRC-32 must match.
 *   A stored entry with bit 3 has no end a stream can find: only the
 *   header's sizes, if they agree (0 for an empty file, as Go writes
 *   them), can be tried, and the descriptor right after must confirm
 *   them; if they disagree or no descriptor fits: ZIP_ESTOREDDESC;
 * - ZIP64: a field of 0xffffffff is in the 0x0001 extra field: 8 bytes
 *   for each such field, in the order usize, csize, (central only)
 *   offset, then 4 for a disk number of 0xffff. APPNOTE asks a local
 *   header for both sizes; writers differ, so read only what is marked.
 *   A missing one is ZIP_ECORRUPT;
 * - names: UTF-8 with flag bit 11, else CP437, converted to UTF-8; an
 *   Info-ZIP Unicode path extra (0x7075) whose CRC-32 is the raw name's
 *   gives the name instead; longer than ZIP_NAME_MAX: ZIP_ELIMIT; a
 *   NUL byte in it: ZIP_ESLIP (a C string would end there);
 * - the first four bytes must be a local header or an end record (an
 *   empty archive). Anything else is ZIP_EPREFIXED if a local header or
 *   end record comes later (a self-extractor, a script with a zip after
 *   it), ZIP_ENOTZIP if none ever does;
 * - after an entry comes a local header, a central record, a zip64 end
 *   record or the end record; after the first central record, no local
 *   header. Anything else is ZIP_ECORRUPT;
 * - after the end record and its comment, the rest of the input is
 *   ignored; the end record's entry count must be the central records'
 *   (ZIP_EMISMATCH); a disk number other than 0 is ZIP_EUNSUPPORTED;
 * - zr_finish() before the end record is ZIP_ETRUNCATED (ZIP_ENOTZIP if
 *   no signature ever came);
 * - a callback that returns non-zero stops the reader: that value is
 *   what zr_feed() returns, now and on every later call.
 *
 * Memory: one header buffer, one output buffer and zlib's inflate state,
 * whatever the archive's size.
 */
#ifndef ZIPREAD_H
#define ZIPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "zip.h"

#define ZR_OUT_SIZE (256 * 1024) /* the largest piece on_data gets */
/* The longest header kept whole: a central record's fixed part, a name
 * and an extra field (a comment is skipped, never kept). */
#define ZR_HEAD_MAX  (ZIP_CENTRAL_SIZE + 65535 + 65535)
#define ZR_LOOKAHEAD 28 /* a 24-byte descriptor and the next signature */

/* A local entry or a central record. */
struct zip_entry {
	char name[ZIP_NAME_MAX + 1]; /* UTF-8, NUL-terminated */
	uint16_t flags;
	uint16_t method;
	uint32_t dos_time; /* MS-DOS date << 16 | time */
	/* Declared (with flag bit 3: usually 0, never trusted); at
	 * on_entry_end, what the data really was: */
	uint32_t crc32;
	uint64_t csize;  /* compressed size */
	uint64_t usize;  /* size once inflated */
	uint64_t offset; /* of its local header, from the archive's start */
	bool zip64;      /* a zip64 extra field was present */
	/* Central records only: */
	uint16_t made_by;  /* the high byte is the system: 3 is Unix */
	uint32_t external; /* for Unix, the mode (st_mode) in the high half */
	/* Local entries, while the data goes by (counting the piece that
	 * on_data is being handed): */
	uint64_t in;  /* compressed bytes consumed */
	uint64_t out; /* bytes handed to on_data */
};

/* Each returns 0 to go on, or non-zero (a ZIP_E* value) to stop. */
struct zr_callbacks {
	int (*on_entry)(void *arg, const struct zip_entry *e);
	int (*on_data)(void *arg, const struct zip_entry *e, const void *buf,
	               size_t len);
	int (*on_entry_end)(void *arg, const struct zip_entry *e);
	int (*on_central)(void *arg, const struct zip_entry *c);
	int (*on_end)(void *arg, uint64_t entries);
};

enum zr_state {
	ZR_SIGNATURE,  /* the next record's four bytes */
	ZR_PREFIX,     /* no signature at the start: looking for one */
	ZR_LOCAL,      /* a local header, name and extra */
	ZR_DATA,       /* an entry's data */
	ZR_DESCRIPTOR, /* the data descriptor and a signature after it */
	ZR_CENTRAL,    /* a central record, name and extra */
	ZR_SKIP,       /* bytes that are not kept: comments, zip64 end */
	ZR_END,        /* the end record */
	ZR_DONE,       /* the end record and its comment are read */
	ZR_FAILED,     /* an error was returned; it is returned again */
};

struct zip_reader {
	const struct zr_callbacks *cb;
	void *arg;
	/* Private: */
	enum zr_state state;
	enum zr_state after_skip; /* where ZR_SKIP goes once done */
	int error;                /* ZR_FAILED's error */
	uint32_t window;          /* ZR_PREFIX: the last four bytes seen */
	bool in_directory;        /* past the entries: no local header now */
	unsigned char head[ZR_HEAD_MAX]; /* the header being gathered */
	size_t have;                     /* bytes of it so far */
	size_t need;   /* bytes it has in all (known once its fixed part is) */
	uint64_t skip; /* ZR_SKIP: bytes still to skip */
	uint64_t offset;      /* bytes consumed since the start */
	struct zip_entry cur; /* the local entry being read */
	uint32_t crc;         /* CRC-32 of cur's data so far */
	bool data_end;        /* cur's deflate stream has ended */
	z_stream z;           /* inflate state, reset for each entry */
	bool z_ready;      /* inflateInit2() done: inflateEnd() at zr_free() */
	uint64_t locals;   /* local entries read */
	uint64_t centrals; /* central records read */
	unsigned char out[ZR_OUT_SIZE]; /* inflate's output */
};

/* Ready to read an archive from its first byte. 0 or ZIP_ENOMEM. */
int zr_init(struct zip_reader *r, const struct zr_callbacks *cb, void *arg);
/* The next len bytes of the archive; callbacks run inside. 0 or an error
 * (the reader's or a callback's). */
int zr_feed(struct zip_reader *r, const void *buf, size_t len);
/* The input has ended: 0 if the end record was read, else an error. */
int zr_finish(struct zip_reader *r);
/* Frees what zr_init() took. The reader may be mid-archive. */
void zr_free(struct zip_reader *r);

#endif
