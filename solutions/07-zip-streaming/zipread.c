/* zipread.c - a streaming ZIP reader: a push parser (lab 7).
 *
 * zr_feed() hands each piece of input to the step of the current state.
 * A step takes what it can, moves the state on when its part is complete,
 * and says how much it took; the feed loop goes on until the piece is
 * used up. Headers are gathered whole into r->head first (step_header()),
 * so no step ever parses a field that is cut between two pieces.
 */
#include <string.h>

#include "zipfields.h"
#include "zipread.h"

static int dispatch(struct zip_reader *r);

/* --- gathering bytes --- */

/* Copies into head until it holds `need` bytes; returns what it took. */
static size_t gather(struct zip_reader *r, const unsigned char *p, size_t len)
{
	size_t n = r->need - r->have;

	if (n > len)
		n = len;
	memcpy(r->head + r->have, p, n);
	r->have += n;
	r->offset += n;
	return n;
}

/* The next record starts: its four signature bytes first. */
static void expect_signature(struct zip_reader *r)
{
	r->state = ZR_SIGNATURE;
	r->have = 0;
	r->need = 4;
}

/* The skipped bytes are behind us: the end record's comment was the
 * archive's last part; anything else is followed by another record. */
static int skip_done(struct zip_reader *r)
{
	if (r->after_skip == ZR_DONE) {
		r->state = ZR_DONE;
		return r->cb->on_end(r->arg, r->centrals);
	}
	expect_signature(r);
	return 0;
}

/* Skips n bytes (a comment, the rest of a record), then goes to next. */
static int skip_then(struct zip_reader *r, uint64_t n, enum zr_state next)
{
	r->state = ZR_SKIP;
	r->skip = n;
	r->after_skip = next;
	return n == 0 ? skip_done(r) : 0;
}

/* --- the name and the zip64 extra --- */

/* The entry's name in UTF-8, as its writer meant it. */
static int set_name(struct zip_entry *e, const struct zip_parts *p)
{
	size_t size;
	const unsigned char *u =
	    zip_find_extra(p->extra, p->extra_len, ZIP_EXTRA_UPATH, &size);

	/* The Unicode path holds only while its CRC-32 is the raw name's:
	 * otherwise a later tool renamed the entry and left it stale. */
	if (u && size >= 5 && u[0] == 1 &&
	    zip_le32(u + 1) == crc32(0, p->name, (uInt)p->name_len))
		return zip_name_utf8(e, u + 5, size - 5);
	if (e->flags & ZIP_FLAG_UTF8)
		return zip_name_utf8(e, p->name, p->name_len);
	return zip_name_cp437(e, p->name, p->name_len);
}

/* Replaces each 32-bit field that says 0xffffffff by the next 8 bytes of
 * the zip64 extra, in the order the fields are listed, and then a disk
 * number of 0xffff (if disk is given) by the next 4. */
static int apply_zip64(struct zip_entry *e, const unsigned char *extra,
                       size_t extra_len, uint64_t *fields[], int nfields,
                       uint32_t *disk)
{
	size_t size, at = 0;
	const unsigned char *z =
	    zip_find_extra(extra, extra_len, ZIP_EXTRA_ZIP64, &size);

	e->zip64 = z != NULL;
	for (int i = 0; i < nfields; i++) {
		if (*fields[i] != ZIP_32BIT_MAX)
			continue;
		if (z == NULL || at + 8 > size)
			return ZIP_ECORRUPT;
		*fields[i] = zip_le64(z + at);
		at += 8;
	}
	if (disk && *disk == 0xffff) {
		if (z == NULL || at + 4 > size)
			return ZIP_ECORRUPT;
		*disk = zip_le32(z + at);
	}
	return 0;
}

/* --- an entry's end --- */

static int end_entry(struct zip_reader *r);

/* The data is over: a descriptor follows if flag bit 3 said so. */
static int end_data(struct zip_reader *r)
{
	if (!(r->cur.flags & ZIP_FLAG_DESCRIPTOR))
		return end_entry(r);
	r->state = ZR_DESCRIPTOR;
	r->have = 0;
	r->need = 16; /* the shortest layout and a signature */
	return 0;
}

/* The data is over: check it against what was declared, then say so. */
static int end_entry(struct zip_reader *r)
{
	struct zip_entry *e = &r->cur;

	if (!(e->flags & ZIP_FLAG_DESCRIPTOR)) {
		if (e->in != e->csize || e->out != e->usize)
			return ZIP_ESIZE;
		if (r->crc != e->crc32)
			return ZIP_ECRC;
	}
	e->crc32 = r->crc;
	e->csize = e->in;
	e->usize = e->out;
	expect_signature(r);
	return r->cb->on_entry_end(r->arg, e);
}

/* Hands out len bytes of the entry's data, counting and checking them. */
static int emit(struct zip_reader *r, const unsigned char *p, size_t len)
{
	struct zip_entry *e = &r->cur;

	if (!(e->flags & ZIP_FLAG_DESCRIPTOR) && len > e->usize - e->out)
		return ZIP_ESIZE; /* more than declared: not one byte of it */
	r->crc = (uint32_t)crc32(r->crc, p, (uInt)len);
	e->out += len;
	return r->cb->on_data(r->arg, e, p, len);
}

/* --- the local header --- */

static int parse_local(struct zip_reader *r)
{
	struct zip_entry *e = &r->cur;
	struct zip_parts p;
	uint64_t *sizes[] = {&e->usize, &e->csize};
	int rc;

	memset(e, 0, sizeof(*e));
	e->offset = r->offset - r->have;
	zip_local_fields(r->head, e, &p);
	if (zip_encrypted(e->flags, e->method))
		return ZIP_EENCRYPTED;
	if (e->method != ZIP_STORED && e->method != ZIP_DEFLATED)
		return ZIP_EUNSUPPORTED;
	/* Stored, with its sizes after the data: only the header's guess
	 * (0 for an empty file) can say where the data ends, and the
	 * descriptor must confirm it (step_descriptor()). */
	if (e->method == ZIP_STORED && (e->flags & ZIP_FLAG_DESCRIPTOR) &&
	    e->csize != e->usize)
		return ZIP_ESTOREDDESC;
	if ((rc = set_name(e, &p)) < 0 ||
	    (rc = apply_zip64(e, p.extra, p.extra_len, sizes, 2, NULL)) < 0)
		return rc;
	if (!(e->flags & ZIP_FLAG_DESCRIPTOR) &&
	    (e->method == ZIP_STORED ? e->csize != e->usize : e->csize == 0))
		return ZIP_ESIZE;

	r->locals++;
	r->crc = 0;
	r->data_end = false;
	if (e->method == ZIP_DEFLATED && inflateReset(&r->z) != Z_OK)
		return ZIP_ECORRUPT;
	r->state = ZR_DATA;
	if ((rc = r->cb->on_entry(r->arg, e)) != 0)
		return rc;
	if (e->method == ZIP_STORED && e->csize == 0)
		return end_data(r); /* an empty file: no data step comes */
	return 0;
}

/* --- the data --- */

static int step_stored(struct zip_reader *r, const unsigned char *p, size_t len,
                       size_t *used)
{
	struct zip_entry *e = &r->cur;
	size_t n = e->csize - e->in < len ? (size_t)(e->csize - e->in) : len;
	int rc;

	if (n > ZR_OUT_SIZE) /* on_data's pieces are bounded, whatever came */
		n = ZR_OUT_SIZE;

	*used = n;
	r->offset += n;
	e->in += n;
	if ((rc = emit(r, p, n)) != 0)
		return rc;
	return e->in == e->csize ? end_data(r) : 0;
}

/* Inflates what is offered until zlib wants more input or the stream has
 * ended; every full output buffer goes out at once. */
static int step_deflated(struct zip_reader *r, const unsigned char *p,
                         size_t len, size_t *used)
{
	struct zip_entry *e = &r->cur;
	bool sized = !(e->flags & ZIP_FLAG_DESCRIPTOR);
	size_t offer = sized && e->csize - e->in < len ? e->csize - e->in : len;
	int rc;

	r->z.next_in = (unsigned char *)p;
	r->z.avail_in = (uInt)offer;
	do {
		r->z.next_out = r->out;
		r->z.avail_out = ZR_OUT_SIZE;
		int zrc = inflate(&r->z, Z_NO_FLUSH);
		size_t took = offer - r->z.avail_in - *used;
		size_t made = ZR_OUT_SIZE - r->z.avail_out;

		*used += took;
		r->offset += took;
		e->in += took;
		/* What came before a damaged spot goes out first: the first
		 * problem in the stream is the one reported, however the
		 * input was cut. */
		if (made > 0 && (rc = emit(r, r->out, made)) != 0)
			return rc;
		if (zrc == Z_STREAM_END)
			r->data_end = true;
		else if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			return ZIP_ECORRUPT;
	} while (r->z.avail_out == 0 && !r->data_end);

	if (!sized) /* the stream's end is the entry's */
		return r->data_end ? end_data(r) : 0;
	if (r->data_end || e->in == e->csize)
		return r->data_end && e->in == e->csize ? end_entry(r)
		                                        : ZIP_ESIZE;
	return 0;
}

/* --- the data descriptor --- */

/* The four layouts, shortest first: each is tried once the bytes after it
 * (the next record's signature) have arrived too. */
static const struct layout {
	size_t len;
	bool signature;
	bool wide; /* 64-bit sizes */
} layouts[] = {
    {12, false, false}, {16, true, false}, {20, false, true}, {24, true, true}};

/* Does layout l hold the data's sizes, with a record after it? */
static bool fits(const struct zip_reader *r, const struct layout *l)
{
	const unsigned char *d = r->head + (l->signature ? 4 : 0);
	uint64_t csize = l->wide ? zip_le64(d + 4) : zip_le32(d + 4);
	uint64_t usize = l->wide ? zip_le64(d + 12) : zip_le32(d + 8);

	if (l->signature && zip_le32(r->head) != ZIP_SIG_DESC)
		return false;
	return csize == r->cur.in && usize == r->cur.out &&
	       zip_is_signature(zip_le32(r->head + l->len));
}

static int step_descriptor(struct zip_reader *r, const unsigned char *p,
                           size_t len, size_t *used)
{
	*used = gather(r, p, len);
	if (r->have < r->need)
		return 0;
	for (const struct layout *l = layouts; l < layouts + 4; l++) {
		if (l->len + 4 != r->have || !fits(r, l))
			continue;
		uint32_t crc = zip_le32(r->head + (l->signature ? 4 : 0));
		if (crc != r->crc)
			return ZIP_ECRC;
		int rc = end_entry(r);
		if (rc != 0)
			return rc;
		/* The next record's signature is already here. */
		memmove(r->head, r->head + l->len, 4);
		r->have = 4;
		return dispatch(r);
	}
	/* No layout holds the data's sizes. For a stored entry, the
	 * header's guess of where its data ends was wrong. */
	if (r->need == ZR_LOOKAHEAD)
		return r->cur.method == ZIP_STORED ? ZIP_ESTOREDDESC
		                                   : ZIP_ECORRUPT;
	r->need += 4;
	return 0;
}

/* --- the central directory and the end --- */

static int parse_central(struct zip_reader *r)
{
	struct zip_entry c = {0};
	struct zip_parts p;
	uint64_t *fields[] = {&c.usize, &c.csize, &c.offset};
	uint32_t disk = zip_central_fields(r->head, &c, &p);
	int rc;

	if (zip_encrypted(c.flags, c.method))
		return ZIP_EENCRYPTED;
	if ((rc = set_name(&c, &p)) < 0 ||
	    (rc = apply_zip64(&c, p.extra, p.extra_len, fields, 3, &disk)) < 0)
		return rc;
	if (disk != 0)
		return ZIP_EUNSUPPORTED; /* an entry on another disk */
	r->centrals++;
	if ((rc = r->cb->on_central(r->arg, &c)) != 0)
		return rc;
	return skip_then(r, p.comment_len, ZR_SIGNATURE);
}

/* The zip64 end record, its locator or the end record, gathered whole
 * (their fixed parts; what follows them is skipped). Each count must be
 * the central records read. */
static int parse_end(struct zip_reader *r)
{
	struct zip_end end;
	int rc = zip_end_fields(r->head, &end);

	if (rc != 0)
		return rc;
	switch (end.sig) {
	case ZIP_SIG_END64:
		if (end.entries != r->centrals)
			return ZIP_EMISMATCH;
		return skip_then(r, end.skip, ZR_SIGNATURE);
	case ZIP_SIG_LOCATOR:
		expect_signature(r);
		return 0;
	default: /* ZIP_SIG_END; a count of 0xffff is the zip64 end's */
		if (end.entries != 0xffff && end.entries != r->centrals)
			return ZIP_EMISMATCH;
		return skip_then(r, end.skip, ZR_DONE); /* the comment */
	}
}

/* --- signatures --- */

/* Which record comes next, known from its first four bytes. */
static int dispatch(struct zip_reader *r)
{
	uint32_t sig = zip_le32(r->head);
	bool first = r->offset == 4;

	if (first && sig != ZIP_SIG_LOCAL && sig != ZIP_SIG_END) {
		r->state = ZR_PREFIX;
		r->window = sig;
		return 0;
	}
	switch (sig) {
	case ZIP_SIG_LOCAL:
		if (r->in_directory)
			return ZIP_ECORRUPT;
		r->state = ZR_LOCAL;
		r->need = ZIP_LOCAL_SIZE;
		return 0;
	case ZIP_SIG_CENTRAL:
		r->state = ZR_CENTRAL;
		r->need = ZIP_CENTRAL_SIZE;
		break;
	case ZIP_SIG_END64:
		r->state = ZR_END;
		r->need = 56;
		break;
	case ZIP_SIG_LOCATOR:
		r->state = ZR_END;
		r->need = 20;
		break;
	case ZIP_SIG_END:
		r->state = ZR_END;
		r->need = ZIP_END_SIZE;
		break;
	default:
		return ZIP_ECORRUPT;
	}
	r->in_directory = true;
	return 0;
}

/* No record at the start: is there one further on (a self-extractor), or
 * is this not a ZIP at all? Only zr_finish() can say the latter. */
static int step_prefix(struct zip_reader *r, const unsigned char *p, size_t len,
                       size_t *used)
{
	for (*used = 0; *used < len; (*used)++) {
		r->window = r->window >> 8 | (uint32_t)p[*used] << 24;
		r->offset++;
		if (r->window == ZIP_SIG_LOCAL || r->window == ZIP_SIG_END)
			return ZIP_EPREFIXED;
	}
	return 0;
}

static int step_skip(struct zip_reader *r, const unsigned char *p, size_t len,
                     size_t *used)
{
	(void)p;
	*used = r->skip < len ? (size_t)r->skip : len;
	r->skip -= *used;
	r->offset += *used;
	return r->skip > 0 ? 0 : skip_done(r);
}

/* --- the feed loop --- */

/* A header is gathered whole into r->head, then parsed: no parse ever
 * meets a field cut between two pieces. A local header or central record
 * says how long it is once its fixed part has come. */
static int step_header(struct zip_reader *r, const unsigned char *p, size_t len,
                       size_t *used)
{
	size_t whole = r->need;

	*used = gather(r, p, len);
	if (r->have < r->need)
		return 0;
	if (r->state == ZR_LOCAL)
		whole = zip_local_len(r->head);
	else if (r->state == ZR_CENTRAL)
		whole = zip_central_len(r->head);
	if (whole > r->need) {
		r->need = whole;
		return 0;
	}
	switch (r->state) {
	case ZR_SIGNATURE:
		return dispatch(r);
	case ZR_LOCAL:
		return parse_local(r);
	case ZR_CENTRAL:
		return parse_central(r);
	default: /* ZR_END */
		return parse_end(r);
	}
}

static int step(struct zip_reader *r, const unsigned char *p, size_t len,
                size_t *used)
{
	*used = 0;
	switch (r->state) {
	case ZR_SIGNATURE:
	case ZR_LOCAL:
	case ZR_CENTRAL:
	case ZR_END:
		return step_header(r, p, len, used);
	case ZR_PREFIX:
		return step_prefix(r, p, len, used);
	case ZR_DATA:
		return r->cur.method == ZIP_STORED
		           ? step_stored(r, p, len, used)
		           : step_deflated(r, p, len, used);
	case ZR_DESCRIPTOR:
		return step_descriptor(r, p, len, used);
	case ZR_SKIP:
		return step_skip(r, p, len, used);
	default: /* ZR_DONE: what follows the end is not ours */
		*used = len;
		return 0;
	}
}

static int fail(struct zip_reader *r, int err)
{
	r->state = ZR_FAILED;
	r->error = err;
	return err;
}

int zr_feed(struct zip_reader *r, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0 && r->state != ZR_FAILED) {
		size_t used;
		int rc = step(r, p, len, &used);

		if (rc != 0)
			return fail(r, rc);
		p += used;
		len -= used;
	}
	return r->state == ZR_FAILED ? r->error : 0;
}

int zr_finish(struct zip_reader *r)
{
	if (r->state == ZR_FAILED || r->state == ZR_DONE)
		return r->state == ZR_DONE ? 0 : r->error;
	if (r->state == ZR_PREFIX || r->offset < 4)
		return fail(r, ZIP_ENOTZIP);
	return fail(r, ZIP_ETRUNCATED);
}

int zr_init(struct zip_reader *r, const struct zr_callbacks *cb, void *arg)
{
	memset(r, 0, sizeof(*r));
	r->cb = cb;
	r->arg = arg;
	if (inflateInit2(&r->z, -15) != Z_OK)
		return ZIP_ENOMEM;
	r->z_ready = true;
	expect_signature(r);
	return 0;
}

void zr_free(struct zip_reader *r)
{
	if (r->z_ready)
		inflateEnd(&r->z);
	r->z_ready = false;
}
