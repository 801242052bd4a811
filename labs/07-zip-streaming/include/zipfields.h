/* zipfields.h - what a ZIP record's bytes say (given, lab 7).
 *
 * The reader (zipread.c) decides when a record has arrived whole and what
 * comes after it; these functions only read a whole record's fields, at
 * the offsets APPNOTE gives (Appendix A of the handout). None keeps state.
 * Each takes the record as gathered, from its signature on.
 */
#ifndef ZIPFIELDS_H
#define ZIPFIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zipread.h"

/* A record that may come after an entry's data (or its descriptor): a
 * local header, a central record, a zip64 end record or the end record. */
bool zip_is_signature(uint32_t sig);

/* Whether flags and method say the entry is encrypted: flag bit 0, 6 or
 * 13, or method 99 (WinZip's AES). */
bool zip_encrypted(uint16_t flags, uint16_t method);

/* The data of extra field `id` in the extra area x (len bytes) and its
 * size in *size, or NULL if there is none. A field cut short by the end
 * of the area ends the search: some writers pad it with zeros. */
const unsigned char *zip_find_extra(const unsigned char *x, size_t len,
                                    uint16_t id, size_t *size);

/* e->name = the n bytes of a UTF-8 name, as they are, NUL-terminated.
 * ZIP_ELIMIT if longer than ZIP_NAME_MAX; ZIP_ESLIP if one is a NUL (a C
 * string would end there: "a\0../x" would be judged as "a"). */
int zip_name_utf8(struct zip_entry *e, const unsigned char *name, size_t n);
/* e->name = the n bytes of a CP437 name, converted to UTF-8 (cp437.h).
 * ZIP_ESLIP for a NUL; ZIP_ELIMIT if the UTF-8 is longer than
 * ZIP_NAME_MAX (each byte past 0x7f takes 2 or 3). */
int zip_name_cp437(struct zip_entry *e, const unsigned char *raw, size_t n);

/* Where the variable parts of a local header or central record are (they
 * follow its fixed part, in the gathered record). */
struct zip_parts {
	const unsigned char *name;
	size_t name_len;
	const unsigned char *extra;
	size_t extra_len;
	size_t comment_len; /* a central record's comment; 0 for a local */
};

/* The length of a local header (fixed part, name, extra) or a central
 * record (the same, its comment not counted), from its fixed part. */
size_t zip_local_len(const unsigned char *h);
size_t zip_central_len(const unsigned char *h);

/* A local header's fields into e: flags, method, dos_time, and the
 * CRC-32 and sizes as declared. The other fields are left as they were. */
void zip_local_fields(const unsigned char *h, struct zip_entry *e,
                      struct zip_parts *parts);
/* A central record's fields into c: those of a local header, and
 * made_by, external and offset. Returns the number of the disk its entry
 * is on (0xffff: in the zip64 extra). */
uint32_t zip_central_fields(const unsigned char *h, struct zip_entry *c,
                            struct zip_parts *parts);

/* The zip64 end record, its locator or the end record. */
struct zip_end {
	uint32_t sig;     /* ZIP_SIG_END64, ZIP_SIG_LOCATOR or ZIP_SIG_END */
	uint64_t entries; /* the count of central records it states (the end
	                   * record's 0xffff: see the zip64 end record) */
	uint64_t skip;    /* bytes after its fixed part: the end record's
	                   * comment, the zip64 end's extensible data */
};

/* The fixed part of an end record (h: ZIP_SIG_END64, ZIP_SIG_LOCATOR or
 * ZIP_SIG_END, and 56, 20 or ZIP_END_SIZE bytes) into *end. 0, or
 * ZIP_EUNSUPPORTED for an archive on several disks, ZIP_ECORRUPT for a
 * zip64 end record shorter than its fixed part. The counts are the
 * reader's to compare. */
int zip_end_fields(const unsigned char *h, struct zip_end *end);

#endif
