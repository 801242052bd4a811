/* zip.h - what every part of lab 7 shares: the ZIP format's numbers and
 * the one list of errors (PKWARE's APPNOTE 6.3.10 is the specification).
 *
 * An archive read front to back, as a stream arrives:
 *
 *   [local header 1][data 1][descriptor 1]? ... [local header N][data N]
 *   [central directory: one record per entry][zip64 end + locator]?[end]
 *
 * A local header says the entry's name, method and (unless flag bit 3 is
 * set) its CRC-32 and sizes. With bit 3 the writer did not know them yet:
 * they follow the data in a descriptor. The central directory at the end
 * repeats every header and adds what the local one lacks (the Unix mode,
 * so whether an entry is a symlink). Readers that can seek start there;
 * a stream cannot, so it reads the local headers and checks them against
 * the directory when it comes.
 *
 * Every function of the lab returns 0 or one of the negative ZIP_E* values
 * below; zip_errname() gives the one word the command-line tool prints.
 */
#ifndef ZIP_H
#define ZIP_H

#include <stdint.h>

#define ZIP_SIG_LOCAL   0x04034b50u /* PK\3\4 */
#define ZIP_SIG_DESC    0x08074b50u /* PK\7\8 (optional) */
#define ZIP_SIG_CENTRAL 0x02014b50u /* PK\1\2 */
#define ZIP_SIG_END     0x06054b50u /* PK\5\6 */
#define ZIP_SIG_END64   0x06064b50u /* PK\6\6 */
#define ZIP_SIG_LOCATOR 0x07064b50u /* PK\6\7 */

#define ZIP_LOCAL_SIZE   30 /* fixed part of a local header */
#define ZIP_CENTRAL_SIZE 46 /* fixed part of a central record */
#define ZIP_END_SIZE     22 /* fixed part of the end record */

#define ZIP_FLAG_ENCRYPTED  0x0001u /* bit 0 */
#define ZIP_FLAG_DESCRIPTOR 0x0008u /* bit 3: CRC and sizes after the data */
#define ZIP_FLAG_STRONG     0x0040u /* bit 6: strong encryption */
#define ZIP_FLAG_UTF8       0x0800u /* bit 11: the name is UTF-8 */
#define ZIP_FLAG_MASKED     0x2000u /* bit 13: encrypted central directory */

#define ZIP_STORED   0
#define ZIP_DEFLATED 8

#define ZIP_EXTRA_ZIP64 0x0001u     /* 64-bit sizes and offset */
#define ZIP_EXTRA_UPATH 0x7075u     /* Info-ZIP Unicode path */
#define ZIP_32BIT_MAX   0xffffffffu /* a 32-bit field saying "see zip64" */

#define ZIP_NAME_MAX 1024 /* bytes of a name, UTF-8, without the NUL */

enum zip_error {
	ZIP_OK = 0,
	ZIP_ENOTZIP = -1,    /* not-zip: no ZIP signature where one must be */
	ZIP_EPREFIXED = -2,  /* prefixed: bytes before the first header */
	ZIP_ETRUNCATED = -3, /* truncated: the input ended inside the archive */
	ZIP_EENCRYPTED = -4, /* encrypted: an encrypted entry or directory */
	ZIP_EUNSUPPORTED = -5, /* unsupported: a method other than 0 and 8 */
	ZIP_ESTOREDDESC = -6,  /* stored-descriptor: stored, sizes in a
	                        * descriptor: no end a stream can find */
	ZIP_ECORRUPT = -7,     /* corrupt: a bad signature, field or inflate */
	ZIP_ECRC = -8,         /* crc: the data's CRC-32 is not the one said */
	ZIP_ESIZE = -9,        /* size: the data's size is not the one said */
	ZIP_ESLIP = -10,       /* zip-slip: a name that leaves the folder */
	ZIP_ESYMLINK = -11,    /* symlink: an entry that is a symbolic link */
	ZIP_EBOMB = -12,       /* bomb: over the output or ratio limit */
	ZIP_ELIMIT = -13,      /* limit: too many entries, too long a name */
	ZIP_EDUPLICATE = -14,  /* duplicate: a name seen before, or a file
	                        * and a folder of the same name */
	ZIP_EMISMATCH = -15,   /* mismatch: the central directory disagrees
	                        * with the entries read */
	ZIP_ENESTED = -16,     /* nested: archives inside archives, deeper
	                        * than the limit (42.zip) */
	ZIP_EIO = -17,         /* io: reading or writing a file failed */
	ZIP_ENOMEM = -18,      /* nomem: out of memory */
};

/* "zip-slip", "crc", ...: the word the tool prints for err. */
const char *zip_errname(int err);
/* A sentence for a person: "an entry's name leaves the folder". */
const char *zip_strerror(int err);

/* Little-endian fields, as the format stores every number. */
static inline uint16_t zip_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t zip_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}
static inline uint64_t zip_le64(const unsigned char *p)
{
	return zip_le32(p) | (uint64_t)zip_le32(p + 4) << 32;
}
static inline void zip_put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}
static inline void zip_put32(unsigned char *p, uint32_t v)
{
	zip_put16(p, (uint16_t)v);
	zip_put16(p + 2, (uint16_t)(v >> 16));
}
static inline void zip_put64(unsigned char *p, uint64_t v)
{
	zip_put32(p, (uint32_t)v);
	zip_put32(p + 4, (uint32_t)(v >> 32));
}

#endif
