/* extract.h - extracting a streamed archive safely (lab 7).
 *
 * The reader (zipread.h) says what an archive contains; this decides
 * whether to believe it. Files are written beneath one folder, the
 * staging folder (staging.h): if anything is refused, the caller throws
 * the whole folder away, so no partial file is ever left, and only an
 * archive that was whole and safe is published (renamed into place).
 *
 * What is refused, while the data streams (before any CRC-32 arrives):
 * - ZIP_ESLIP: a name that is not a plain relative path: empty, starting
 *   with '/', with a '..' component, a backslash, a drive letter ("C:"),
 *   or a control character. Checked on the name as it is, component by
 *   component: the name is never joined to a path and cleaned first;
 * - ZIP_ELIMIT: more than max_entries entries, a name longer than
 *   max_name bytes;
 * - ZIP_EBOMB: more than max_total bytes written in all (a declared usize
 *   that says so is refused at the header), or an entry past ratio_floor
 *   bytes whose output is more than max_ratio times its input so far;
 * - ZIP_ENESTED: an entry that is itself a zip, holding a zip, and so on
 *   deeper than max_depth levels (nested.h: 42.zip); inside, an entry
 *   past the ratio limit is ZIP_EBOMB too;
 * - ZIP_EDUPLICATE: a name that exists already -- a second "a.txt", or a
 *   file "a/b" and a folder "a/b/" (a folder listed twice is fine);
 * then, when the central directory comes (the only place a forward
 * reader learns an entry's Unix mode):
 * - ZIP_ESYMLINK: a record whose mode is a symbolic link (made by Unix
 *   or OS X, 3 or 19 in made_by's high byte, and S_IFLNK in the high
 *   half of external); nothing here ever makes one;
 * - ZIP_ESLIP: a record's name that is unsafe, as above;
 * - ZIP_EMISMATCH: a record that is not the local entry at its place (the
 *   k-th record must have the k-th entry's offset, name, method, CRC-32
 *   and sizes), or more or fewer records than entries -- how an
 *   overlapping-entry bomb, whose directory points many times into one
 *   entry's data, is caught.
 *
 * Files are created with O_CREAT | O_EXCL | O_NOFOLLOW, mode 0644 (0755
 * for folders), whatever the archive says. The reader's errors (CRC,
 * sizes, truncation, ...) pass through unchanged. After an error, every
 * later call returns it again; zx_free() is still needed.
 */
#ifndef EXTRACT_H
#define EXTRACT_H

#include <stddef.h>
#include <stdint.h>

#include "nested.h"
#include "zipread.h"

struct zx_limits {
	uint64_t max_total;   /* bytes written in all */
	uint64_t max_ratio;   /* output per input byte, per entry */
	uint64_t ratio_floor; /* an entry's output before the ratio counts */
	uint64_t max_entries;
	size_t max_name; /* bytes, at most ZIP_NAME_MAX */
	/* Archives inside archives, levels (0: none). 3 lets a .jar in a .war
	 * in an .ear through, not 42.zip's five. */
	unsigned max_depth;
};

/* 8 GiB, 200:1 past 1 MiB, 100,000 entries, names of 1024 bytes, archives
 * 3 deep. */
#define ZX_LIMITS_DEFAULT                                                      \
	{                                                                      \
		.max_total = 8ull << 30, .max_ratio = 200,                     \
		.ratio_floor = 1 << 20, .max_entries = 100000,                 \
		.max_name = ZIP_NAME_MAX, .max_depth = 3                       \
	}

/* What is remembered of each local entry, for the central directory. */
struct zx_seen {
	uint64_t offset;
	uint64_t name_hash; /* FNV-1a of the name */
	uint64_t csize;
	uint64_t usize;
	uint32_t crc32;
	uint16_t method;
};

struct zip_extract {
	struct zip_reader rd; /* what zx_feed() feeds */
	int dirfd;            /* the staging folder: nothing goes above it */
	struct zx_limits lim;
	/* Private: */
	int fd;               /* the file being written, or -1 */
	uint64_t total;       /* bytes written in all */
	struct zx_seen *seen; /* one per local entry, in order */
	size_t nseen, cap;
	size_t ncentral;              /* central records checked */
	char where[ZIP_NAME_MAX + 1]; /* the entry an error is about */
	struct zip_nest nest;         /* is the entry an archive? (nested.h) */
};

/* Ready to extract into dirfd (not closed here); lim NULL: defaults. */
int zx_init(struct zip_extract *x, int dirfd, const struct zx_limits *lim);
int zx_feed(struct zip_extract *x, const void *buf, size_t len);
/* The input has ended: 0 if the archive was whole and every rule held. */
int zx_finish(struct zip_extract *x);
/* The name of the entry the last error was about ("" if none). */
const char *zx_where(const struct zip_extract *x);
void zx_free(struct zip_extract *x);

/* 0 if name is a safe relative path of at most max bytes, ZIP_ESLIP or
 * ZIP_ELIMIT if not (a trailing '/' marks a folder and is allowed). */
int zx_check_name(const char *name, size_t max);

#endif
