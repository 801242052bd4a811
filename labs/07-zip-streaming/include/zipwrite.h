/* zipwrite.h - a streaming ZIP writer, archiver-style (lab 7).
 *
 * Entries go out one after another, each deflated as its bytes are added,
 * to a sink (a socket, a pipe, a file) that is never asked to seek: the
 * local header cannot hold a CRC-32 or sizes nobody knows yet, so flag
 * bit 3 is set and a data descriptor (with its signature) follows each
 * entry's data. The central directory, built from what each entry turned
 * out to be, and the end record come last, at zw_finish().
 *
 * ZIP64 when the sizes demand it: an entry whose size_hint is 0xffffffff
 * or more (or unknown: ZW_SIZE_UNKNOWN) gets a zip64 extra in its local
 * header (both 32-bit sizes 0xffffffff, "see the extra", which holds
 * zeros) and a 24-byte descriptor; an entry without one whose input or
 * output would reach 0xffffffff bytes is ZIP_ESIZE, before those bytes
 * are taken (its header cannot be taken back). The central directory uses
 * zip64 extras for the fields that do not fit 32 bits, and a zip64 end
 * record and locator are written when there are 0xffff entries or more,
 * or the directory's size or offset does not fit the end record.
 *
 * Calls out of order: zw_data() with no entry begun, or into a folder, is
 * ZIP_ESIZE; zw_begin() and zw_finish() end an entry still open. A name
 * longer than ZIP_NAME_MAX is ZIP_ELIMIT. Errors (the sink's first) are
 * kept: every later call returns the same one.
 *
 * The archives are read by unzip, bsdtar, Python's zipfile and this lab's
 * reader. Memory: one output buffer, deflate's state, and one small
 * record per entry for the central directory.
 */
#ifndef ZIPWRITE_H
#define ZIPWRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "zip.h"

#define ZW_OUT_SIZE     (64 * 1024)
#define ZW_SIZE_UNKNOWN UINT64_MAX

/* Where the archive's bytes go: 0, or a negative value that zw_* return. */
typedef int (*zw_sink_fn)(void *arg, const void *buf, size_t len);

/* What the central directory needs of each entry. */
struct zw_record {
	char *name;
	uint16_t method;
	uint32_t dos_time;
	uint32_t mode; /* st_mode: the type and permission bits */
	uint32_t crc32;
	uint64_t csize, usize;
	uint64_t offset; /* of its local header */
	bool zip64;      /* its local header had a zip64 extra */
};

struct zip_writer {
	zw_sink_fn sink;
	void *arg;
	int level; /* deflate level, 0-9 (Z_DEFAULT_COMPRESSION: -1) */
	/* Private: */
	uint64_t offset;        /* bytes written so far */
	struct zw_record *recs; /* every entry begun */
	size_t n, cap;
	bool in_entry; /* between zw_begin() and zw_end() */
	int error;     /* once set, every call returns it */
	z_stream z;
	bool z_ready;
	unsigned char out[ZW_OUT_SIZE];
};

int zw_init(struct zip_writer *w, zw_sink_fn sink, void *arg, int level);
/* Starts an entry. A name ending in '/' is a folder: stored, no data.
 * mode: st_mode (S_IFREG | 0644, S_IFDIR | 0755); mtime: seconds since
 * 1970, written as MS-DOS local time. */
int zw_begin(struct zip_writer *w, const char *name, uint32_t mode,
             int64_t mtime, uint64_t size_hint);
int zw_data(struct zip_writer *w, const void *buf, size_t len);
/* Ends the entry: the rest of the deflate stream, then the descriptor. */
int zw_end(struct zip_writer *w);
/* The central directory and the end record. */
int zw_finish(struct zip_writer *w);
void zw_free(struct zip_writer *w);

#endif
