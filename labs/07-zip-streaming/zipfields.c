/* zipfields.c - what a ZIP record's bytes say (given, lab 7).
 *
 * Offsets are APPNOTE 6.3.10's (section 4.3); every number is little-
 * endian (zip_le16() and friends, zip.h).
 */
#include <string.h>

#include "cp437.h"
#include "zipfields.h"

bool zip_is_signature(uint32_t sig)
{
	return sig == ZIP_SIG_LOCAL || sig == ZIP_SIG_CENTRAL ||
	       sig == ZIP_SIG_END || sig == ZIP_SIG_END64;
}

bool zip_encrypted(uint16_t flags, uint16_t method)
{
	return (flags &
	        (ZIP_FLAG_ENCRYPTED | ZIP_FLAG_STRONG | ZIP_FLAG_MASKED)) ||
	       method == 99;
}

const unsigned char *zip_find_extra(const unsigned char *x, size_t len,
                                    uint16_t id, size_t *size)
{
	while (len >= 4) {
		size_t n = zip_le16(x + 2);

		if (n > len - 4)
			return NULL;
		if (zip_le16(x) == id) {
			*size = n;
			return x + 4;
		}
		x += 4 + n;
		len -= 4 + n;
	}
	return NULL;
}

/* --- names --- */

int zip_name_utf8(struct zip_entry *e, const unsigned char *name, size_t n)
{
	if (n > ZIP_NAME_MAX)
		return ZIP_ELIMIT;
	if (memchr(name, '\0', n) != NULL)
		return ZIP_ESLIP;
	memcpy(e->name, name, n);
	e->name[n] = '\0';
	return 0;
}

int zip_name_cp437(struct zip_entry *e, const unsigned char *raw, size_t n)
{
	long len;

	/* CP437's 0x00 is U+0000: it would come out as a NUL too. */
	if (memchr(raw, '\0', n) != NULL)
		return ZIP_ESLIP;
	len = cp437_to_utf8(raw, n, e->name, ZIP_NAME_MAX);
	if (len < 0)
		return ZIP_ELIMIT;
	e->name[len] = '\0';
	return 0;
}

/* --- local headers and central records --- */

size_t zip_local_len(const unsigned char *h)
{
	return ZIP_LOCAL_SIZE + (size_t)zip_le16(h + 26) + zip_le16(h + 28);
}

size_t zip_central_len(const unsigned char *h)
{
	return ZIP_CENTRAL_SIZE + (size_t)zip_le16(h + 28) + zip_le16(h + 30);
}

/* The parts after a fixed part of `fixed` bytes, whose name and extra
 * lengths are at h + at and h + at + 2. */
static void parts_at(const unsigned char *h, size_t fixed, size_t at,
                     struct zip_parts *p)
{
	p->name = h + fixed;
	p->name_len = zip_le16(h + at);
	p->extra = p->name + p->name_len;
	p->extra_len = zip_le16(h + at + 2);
	p->comment_len = 0;
}

/* The fields both headers share, in the same order: from the flags to
 * the uncompressed size (at 6 in a local header, at 8 in a central one). */
static void shared_fields(const unsigned char *p, struct zip_entry *e)
{
	e->flags = zip_le16(p);
	e->method = zip_le16(p + 2);
	e->dos_time = (uint32_t)zip_le16(p + 6) << 16 | zip_le16(p + 4);
	e->crc32 = zip_le32(p + 8);
	e->csize = zip_le32(p + 12);
	e->usize = zip_le32(p + 16);
}

void zip_local_fields(const unsigned char *h, struct zip_entry *e,
                      struct zip_parts *parts)
{
	shared_fields(h + 6, e);
	parts_at(h, ZIP_LOCAL_SIZE, 26, parts);
}

uint32_t zip_central_fields(const unsigned char *h, struct zip_entry *c,
                            struct zip_parts *parts)
{
	c->made_by = zip_le16(h + 4);
	shared_fields(h + 8, c);
	c->external = zip_le32(h + 38);
	c->offset = zip_le32(h + 42);
	parts_at(h, ZIP_CENTRAL_SIZE, 28, parts);
	parts->comment_len = zip_le16(h + 32);
	return zip_le16(h + 34);
}

/* --- the end records --- */

int zip_end_fields(const unsigned char *h, struct zip_end *end)
{
	end->sig = zip_le32(h);
	end->entries = 0;
	end->skip = 0;
	switch (end->sig) {
	case ZIP_SIG_END64:
		/* Its size field counts the bytes after itself: 44 fixed. */
		if (zip_le64(h + 4) < 44)
			return ZIP_ECORRUPT;
		if (zip_le32(h + 16) != 0 || zip_le32(h + 20) != 0)
			return ZIP_EUNSUPPORTED; /* a multi-disk archive */
		end->entries = zip_le64(h + 32);
		end->skip = zip_le64(h + 4) - 44;
		return 0;
	case ZIP_SIG_LOCATOR:
		return zip_le32(h + 16) > 1 ? ZIP_EUNSUPPORTED : 0;
	default: /* ZIP_SIG_END; 0xffff: the zip64 end record has it */
		if ((zip_le16(h + 4) != 0 && zip_le16(h + 4) != 0xffff) ||
		    (zip_le16(h + 6) != 0 && zip_le16(h + 6) != 0xffff))
			return ZIP_EUNSUPPORTED;
		end->entries = zip_le16(h + 10);
		end->skip = zip_le16(h + 20);
		return 0;
	}
}
