/* zipread.c - a streaming ZIP reader: a push parser (lab 7).
 *
 * Yours to finish: the TODO(lab 7) functions, which name an entry, read
 * its data and judge it. The rest -- gathering headers, the central
 * directory, the end, the feed loop -- is given; read it first, it is
 * how the state machine moves. What a record's bytes say (the fields at
 * their offsets, extra fields, names stored as UTF-8 or CP437) is
 * zipfields.h's, given too.
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

/* The entry's name in UTF-8, as its writer meant it, into e->name. */
static int set_name(struct zip_entry *e, const struct zip_parts *p)
{
	/* TODO(lab 7): the bytes of p->name are UTF-8 only if flag bit 11
	 * says so (e->flags is read already); without it they are CP437,
	 * the format's default -- and the extractor, the file system and
	 * the other tools want UTF-8. An Info-ZIP Unicode path extra
	 * (ZIP_EXTRA_UPATH: version 1, the CRC-32 of the raw name, then the
	 * name in UTF-8; Appendix A) names the entry instead, but only while
	 * that CRC-32 is the raw name's: otherwise a tool renamed the entry
	 * after the extra was written. The extra is the archive's, so
	 * hostile: trust none of its bytes you have not checked.
	 * zip_name_utf8() and zip_name_cp437() (zipfields.h) store a name,
	 * refusing one too long or hiding a NUL; what they return, return. */
	(void)e;
	(void)p;
	return 0;
}

/* Replaces each 32-bit field that says 0xffffffff by the next 8 bytes of
 * the zip64 extra, in the order the fields are listed, and then a disk
 * number of 0xffff (if disk is given) by the next 4. */
static int apply_zip64(struct zip_entry *e, const unsigned char *extra,
                       size_t extra_len, uint64_t *fields[], int nfields,
                       uint32_t *disk)
{
	/* TODO(lab 7): find the zip64 extra (zip_find_extra(),
	 * ZIP_EXTRA_ZIP64) and set e->zip64 to whether there is one. Then,
	 * for each of the nfields fields in order, only if *fields[i] is
	 * ZIP_32BIT_MAX: replace it by the next 8 bytes of the extra
	 * (zip_le64()); if there is no extra or it is too short,
	 * ZIP_ECORRUPT. Last, if disk is given and *disk is 0xffff, the next
	 * 4 bytes (zip_le32()) are the disk number. */
	(void)e;
	(void)extra;
	(void)extra_len;
	(void)fields;
	(void)nfields;
	(void)disk;
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

	/* TODO(lab 7): without flag bit 3 the header's numbers are the
	 * truth the data is checked against: in must be csize and out
	 * usize (else ZIP_ESIZE), the CRC-32 computed (r->crc) must be
	 * e->crc32 (else ZIP_ECRC). With bit 3, step_descriptor() has
	 * checked them already. */

	e->crc32 = r->crc;
	e->csize = e->in;
	e->usize = e->out;
	expect_signature(r);
	return r->cb->on_entry_end(r->arg, e);
}

/* Hands out len bytes of the entry's data, counting and checking them. */
static int emit(struct zip_reader *r, const unsigned char *p, size_t len)
{
	/* TODO(lab 7): without flag bit 3, more output than e->usize is
	 * ZIP_ESIZE -- before on_data sees a byte of it. Then add the bytes
	 * to the CRC-32 (zlib's crc32(), into r->crc), count them in
	 * e->out, and hand them to on_data; what it returns, return. */
	(void)r;
	(void)p;
	(void)len;
	return ZIP_EUNSUPPORTED;
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
	/* TODO(lab 7): refuse, in this order, before the name is read:
	 * - an encrypted entry (zip_encrypted()): ZIP_EENCRYPTED;
	 * - a method other than ZIP_STORED and ZIP_DEFLATED: ZIP_EUNSUPPORTED;
	 * - a stored entry with flag bit 3 whose header sizes disagree
	 *   (csize != usize): ZIP_ESTOREDDESC -- a stream cannot find its
	 *   end; when they agree (0 for an empty file) they are tried, and
	 *   the descriptor must confirm them. */
	if ((rc = set_name(e, &p)) < 0 ||
	    (rc = apply_zip64(e, p.extra, p.extra_len, sizes, 2, NULL)) < 0)
		return rc;
	/* TODO(lab 7): without flag bit 3 the sizes must be possible: a
	 * stored entry's csize is its usize, and a deflate stream is never
	 * empty (csize 0). Else ZIP_ESIZE. */

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
	/* TODO(lab 7): the data as it is. Take at most what is left of
	 * csize (e->csize - e->in) of the len bytes offered, and at most
	 * ZR_OUT_SIZE (on_data's pieces are bounded); *used says how
	 * many; count them in r->offset and e->in; emit() them. When e->in
	 * reaches csize, the data is over: end_data(). */
	(void)r;
	(void)p;
	(void)len;
	(void)used;
	(void)emit;
	return ZIP_EUNSUPPORTED;
}

/* Inflates what is offered until zlib wants more input or the stream has
 * ended; every full output buffer goes out at once. */
static int step_deflated(struct zip_reader *r, const unsigned char *p,
                         size_t len, size_t *used)
{
	/* TODO(lab 7): inflate what is offered into r->out (r->z is a raw
	 * inflate, reset for this entry by parse_local()).
	 * Contract: every byte inflate takes is counted (*used, r->offset,
	 * e->in); every byte it makes goes through emit(); with flag bit 3
	 * the stream's own end is the entry's (then end_data()), without it
	 * the stream must end exactly at csize (then end_entry(); one end
	 * without the other is ZIP_ESIZE); a zlib error is ZIP_ECORRUPT.
	 * Traps: inflate stops when its output buffer is full, with input
	 * left: go round until it is not full. And hand out what it made
	 * before you look at its result: the first problem in the stream
	 * must be the one reported, however the input was cut. */
	(void)r;
	(void)p;
	(void)len;
	(void)used;
	return ZIP_EUNSUPPORTED;
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
	/* TODO(lab 7): l's fields start after the signature if it has one
	 * (r->head must then begin with ZIP_SIG_DESC): the CRC-32, then
	 * csize and usize, 4 bytes each, or 8 if l->wide. It fits if the
	 * sizes are the data's (r->cur.in, r->cur.out) and the 4 bytes after
	 * it (r->head + l->len) are a record's signature
	 * (zip_is_signature()). The CRC-32 is not looked at here: a wrong
	 * one is ZIP_ECRC, not a layout that does not fit. */
	(void)r;
	(void)l;
	return false;
}

static int step_descriptor(struct zip_reader *r, const unsigned char *p,
                           size_t len, size_t *used)
{
	*used = gather(r, p, len);
	if (r->have < r->need)
		return 0;
	/* TODO(lab 7): r->head holds r->have bytes: 16, then 20, 24, 28 as
	 * they arrive, so the layout to try now is the one of r->have - 4
	 * bytes (layouts[]): the shortest first, each once the signature
	 * after it is here too. The one that fits() ends the entry, if its
	 * CRC-32 is the data's (ZIP_ECRC if not); the 4 bytes after it are
	 * the next record's signature, already gathered: keep them (the
	 * given dispatch() reads r->head[0..3]). At ZR_LOOKAHEAD bytes with
	 * none fitting: ZIP_ESTOREDDESC for a stored entry (the header's
	 * guess was wrong), else ZIP_ECORRUPT. */
	(void)layouts;
	(void)fits;
	return ZIP_EUNSUPPORTED;
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
