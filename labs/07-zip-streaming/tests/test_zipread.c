/* test_zipread.c - public tests of lab 7's streaming ZIP reader.
 *
 * Every archive is built in memory, field by field (zipfix.h), so each
 * test shows the bytes it feeds. A recorder's callbacks write each event
 * as a line of text: the entry as on_entry gave it, then at on_entry_end
 * its numbers and the length and CRC-32 of the bytes on_data received,
 * each central record, the end. They also check the rules that hold at
 * every event: on_data only inside an entry and in pieces of at most
 * ZR_OUT_SIZE, never a byte past a declared usize, e->out and e->in
 * counting the piece handed over; on_entry_end's numbers are those of
 * the bytes received; nothing after a callback said stop.
 *
 * A test feeds an archive in several cuttings -- all at once, one byte at
 * a time, random pieces (fixed seeds, and some pieces empty) -- and
 * compares the logs, whose last line is the first error any zr_feed() or
 * zr_finish() returned: the reader must say the same, whatever the
 * cutting. Every call after an error must return that error again. For an
 * archive made by zf_add(), want_log() writes the log its records call
 * for, and the reader's must be that, line for line.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "zipfix.h"
#include "zipread.h"

/* "ZIP_ECRC (-8)": the tests' own names, whatever zip_errname() says. */
static const char *err_str(int err)
{
	static const char *const names[] = {
	    "0",
	    "ZIP_ENOTZIP",
	    "ZIP_EPREFIXED",
	    "ZIP_ETRUNCATED",
	    "ZIP_EENCRYPTED",
	    "ZIP_EUNSUPPORTED",
	    "ZIP_ESTOREDDESC",
	    "ZIP_ECORRUPT",
	    "ZIP_ECRC",
	    "ZIP_ESIZE",
	    "ZIP_ESLIP",
	    "ZIP_ESYMLINK",
	    "ZIP_EBOMB",
	    "ZIP_ELIMIT",
	    "ZIP_EDUPLICATE",
	    "ZIP_EMISMATCH",
	    "ZIP_ENESTED",
	    "ZIP_EIO",
	    "ZIP_ENOMEM",
	};
	static char other[4][32];
	static int next;

	if (err <= 0 && -err < (int)(sizeof(names) / sizeof(names[0])))
		return names[-err];
	next = (next + 1) % 4;
	snprintf(other[next], sizeof(other[next]), "%d (no ZIP_E* value)", err);
	return other[next];
}

/* --- the recorder --- */

enum ev { EV_ENTRY, EV_DATA, EV_ENTRY_END, EV_CENTRAL, EV_END, EV_NONE };

static const char *const ev_name[] = {"on_entry", "on_data", "on_entry_end",
                                      "on_central", "on_end"};

enum { KEEP = 24 }; /* entries and central records kept whole */

struct got_entry {
	struct zip_entry head; /* as on_entry gave it */
	struct zip_entry tail; /* as on_entry_end gave it */
	struct zbuf data;      /* every byte on_data got */
	size_t pieces;         /* on_data calls */
	bool ended;
};

static struct rec {
	struct zbuf log;          /* one line per event, NUL-terminated */
	struct got_entry e[KEEP]; /* the first KEEP entries */
	struct zip_entry c[KEEP]; /* the first KEEP central records */
	unsigned n[EV_NONE];      /* calls of each callback */
	uint64_t end_entries;     /* what on_end said */
	bool in_entry;            /* between on_entry and on_entry_end */
	struct zip_entry cur;     /* that entry, as on_entry gave it */
	struct zbuf data;         /* its bytes so far */
	size_t pieces;
	uint64_t in; /* its e->in at the last on_data */
	/* A callback that stops the reader: the stop_at-th call of stop_ev
	 * returns stop_with. */
	enum ev stop_ev;
	unsigned stop_at;
	int stop_with;
	bool stopped;
	char wrong[512]; /* the first rule a callback saw broken */
} rec;

static void wrong(const char *fmt, ...)
{
	va_list ap;

	if (rec.wrong[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(rec.wrong, sizeof(rec.wrong), fmt, ap);
	va_end(ap);
}

static void logf_(const char *fmt, ...)
{
	char line[ZIP_NAME_MAX + 512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 1)
		n = (int)sizeof(line) - 1;
	if (rec.log.len > 0)
		rec.log.len--; /* over the NUL */
	zb_put(&rec.log, line, (size_t)n);
	zb_u8(&rec.log, 0);
}

static const char *log_text(void)
{
	return rec.log.len ? (const char *)rec.log.p : "";
}

static void rec_reset(void)
{
	zb_free(&rec.log);
	zb_free(&rec.data);
	for (int i = 0; i < KEEP; i++)
		zb_free(&rec.e[i].data);
	memset(&rec, 0, sizeof(rec));
	rec.stop_ev = EV_NONE;
}

/* A callback's first words: nothing may come after a stop. */
static bool after_stop(enum ev ev)
{
	if (!rec.stopped)
		return false;
	wrong("%s was called after %s returned %s: a callback that returns "
	      "non-zero stops the reader",
	      ev_name[ev], ev_name[rec.stop_ev], err_str(rec.stop_with));
	return true;
}

/* A callback's last: count the call, and stop if this is the one. */
static int go_on(enum ev ev)
{
	rec.n[ev]++;
	if (ev == rec.stop_ev && rec.n[ev] == rec.stop_at) {
		rec.stopped = true;
		logf_("stop %s\n", ev_name[ev]);
		return rec.stop_with;
	}
	return 0;
}

static int on_entry(void *arg, const struct zip_entry *e)
{
	if (after_stop(EV_ENTRY))
		return rec.stop_with;
	if (arg != &rec)
		wrong("on_entry got arg %p, not the one given to zr_init() "
		      "(%p)",
		      arg, (void *)&rec);
	if (rec.in_entry)
		wrong("on_entry for \"%s\" came before on_entry_end of \"%s\"",
		      e->name, rec.cur.name);
	logf_("entry %s flags=%#x method=%u time=%08x crc=%08x csize=%llu "
	      "usize=%llu offset=%llu zip64=%d\n",
	      e->name, e->flags, e->method, (unsigned)e->dos_time,
	      (unsigned)e->crc32, (unsigned long long)e->csize,
	      (unsigned long long)e->usize, (unsigned long long)e->offset,
	      (int)e->zip64);
	rec.cur = *e;
	rec.in_entry = true;
	rec.data.len = 0;
	rec.pieces = 0;
	rec.in = 0;
	if (rec.n[EV_ENTRY] < KEEP)
		rec.e[rec.n[EV_ENTRY]].head = *e;
	return go_on(EV_ENTRY);
}

static int on_data(void *arg, const struct zip_entry *e, const void *buf,
                   size_t len)
{
	if (after_stop(EV_DATA))
		return rec.stop_with;
	(void)arg;
	if (!rec.in_entry)
		wrong("on_data (%zu bytes of \"%s\") came outside an entry "
		      "(not between on_entry and on_entry_end)",
		      len, e->name);
	else if (strcmp(e->name, rec.cur.name) != 0)
		wrong("on_data's entry is \"%s\", on_entry's was \"%s\"",
		      e->name, rec.cur.name);
	if (len > ZR_OUT_SIZE)
		wrong("on_data got %zu bytes at once: at most ZR_OUT_SIZE "
		      "(%d)",
		      len, ZR_OUT_SIZE);
	if (rec.in_entry && !(rec.cur.flags & ZIP_FLAG_DESCRIPTOR) &&
	    rec.data.len + len > rec.cur.usize)
		wrong("on_data got bytes up to %zu of \"%s\", whose header "
		      "says usize %llu: output past usize is ZIP_ESIZE before "
		      "on_data sees it",
		      rec.data.len + len, rec.cur.name,
		      (unsigned long long)rec.cur.usize);
	zb_put(&rec.data, buf, len);
	rec.pieces++;
	/* e->in and e->out count the piece being handed over. */
	if (e->out != rec.data.len)
		wrong("on_data of \"%s\": e->out is %llu with this piece of "
		      "%zu, but %zu bytes have come in all: it counts the "
		      "piece being handed",
		      e->name, (unsigned long long)e->out, len, rec.data.len);
	else if (e->in < rec.in)
		wrong("on_data of \"%s\": e->in went down from %llu to %llu",
		      e->name, (unsigned long long)rec.in,
		      (unsigned long long)e->in);
	else if (e->method == ZIP_STORED && e->in != e->out)
		wrong("on_data of stored \"%s\": e->in %llu, e->out %llu: "
		      "stored bytes are consumed as they are handed",
		      e->name, (unsigned long long)e->in,
		      (unsigned long long)e->out);
	else if (!(rec.cur.flags & ZIP_FLAG_DESCRIPTOR) &&
	         e->in > rec.cur.csize)
		wrong("on_data of \"%s\": e->in %llu, past its csize %llu",
		      e->name, (unsigned long long)e->in,
		      (unsigned long long)rec.cur.csize);
	rec.in = e->in;
	return go_on(EV_DATA);
}

static int on_entry_end(void *arg, const struct zip_entry *e)
{
	uint32_t crc = zf_crc(rec.data.p, rec.data.len);
	unsigned i = rec.n[EV_ENTRY_END];

	if (after_stop(EV_ENTRY_END))
		return rec.stop_with;
	(void)arg;
	if (!rec.in_entry)
		wrong("on_entry_end for \"%s\" came without its on_entry",
		      e->name);
	if (e->usize != rec.data.len || e->out != rec.data.len)
		wrong("on_entry_end of \"%s\": e->usize %llu and e->out %llu, "
		      "but on_data got %zu bytes",
		      e->name, (unsigned long long)e->usize,
		      (unsigned long long)e->out, rec.data.len);
	else if (e->crc32 != crc)
		wrong("on_entry_end of \"%s\": e->crc32 %08x, but the bytes "
		      "on_data got have CRC-32 %08x",
		      e->name, (unsigned)e->crc32, (unsigned)crc);
	else if (e->in != e->csize)
		wrong("on_entry_end of \"%s\": e->in %llu, e->csize %llu: "
		      "both are the compressed bytes read",
		      e->name, (unsigned long long)e->in,
		      (unsigned long long)e->csize);
	logf_("entry-end %s crc=%08x csize=%llu usize=%llu in=%llu out=%llu "
	      "data=%zu/%08x\n",
	      e->name, (unsigned)e->crc32, (unsigned long long)e->csize,
	      (unsigned long long)e->usize, (unsigned long long)e->in,
	      (unsigned long long)e->out, rec.data.len, (unsigned)crc);
	if (i < KEEP) {
		struct got_entry *g = &rec.e[i];
		g->tail = *e;
		g->ended = true;
		g->pieces = rec.pieces;
		zb_free(&g->data);
		g->data = rec.data; /* the bytes move to the entry */
		rec.data = (struct zbuf){0};
	}
	rec.in_entry = false;
	rec.data.len = 0;
	return go_on(EV_ENTRY_END);
}

static int on_central(void *arg, const struct zip_entry *c)
{
	if (after_stop(EV_CENTRAL))
		return rec.stop_with;
	(void)arg;
	if (rec.in_entry)
		wrong("on_central for \"%s\" came before on_entry_end of "
		      "\"%s\"",
		      c->name, rec.cur.name);
	logf_("central %s flags=%#x method=%u time=%08x crc=%08x csize=%llu "
	      "usize=%llu offset=%llu zip64=%d made_by=%#x external=%#x\n",
	      c->name, c->flags, c->method, (unsigned)c->dos_time,
	      (unsigned)c->crc32, (unsigned long long)c->csize,
	      (unsigned long long)c->usize, (unsigned long long)c->offset,
	      (int)c->zip64, c->made_by, (unsigned)c->external);
	if (rec.n[EV_CENTRAL] < KEEP)
		rec.c[rec.n[EV_CENTRAL]] = *c;
	return go_on(EV_CENTRAL);
}

static int on_end(void *arg, uint64_t entries)
{
	if (after_stop(EV_END))
		return rec.stop_with;
	(void)arg;
	if (rec.n[EV_END] > 0)
		wrong("on_end came a second time");
	logf_("end entries=%llu\n", (unsigned long long)entries);
	rec.end_entries = entries;
	return go_on(EV_END);
}

static const struct zr_callbacks callbacks = {
    .on_entry = on_entry,
    .on_data = on_data,
    .on_entry_end = on_entry_end,
    .on_central = on_central,
    .on_end = on_end,
};

/* --- feeding --- */

enum cut { ALL, BYTES, RANDOM };

/* The next random piece: often empty or small, now and then large. */
static size_t next_piece(uint32_t *s, size_t left)
{
	size_t n;

	*s = *s * 1103515245u + 12345u;
	uint32_t v = *s >> 8;
	switch (v % 8) {
	case 0:
		n = 0;
		break;
	case 1:
	case 2:
	case 3:
		n = 1 + (v >> 3) % 16;
		break;
	case 4:
	case 5:
		n = 1 + (v >> 3) % 700;
		break;
	default:
		n = 1 + (v >> 3) % 90000;
	}
	return n > left ? left : n;
}

static const char *cut_name(enum cut how, uint32_t seed)
{
	static char s[64];

	if (how == ALL)
		return "all at once";
	if (how == BYTES)
		return "one byte at a time";
	snprintf(s, sizeof(s), "in random pieces (seed %u)", (unsigned)seed);
	return s;
}

/* Reads an archive: zr_init(), len bytes cut as said, zr_finish(),
 * zr_free(). Returns the first non-zero value any call returned (0 if
 * none); every call after it must have returned it again. rec holds the
 * events; the log's last line is "result ...". The limit (or SIZE_MAX)
 * stops the feeding early, before zr_finish(), which is then not called:
 * its result is the first error of the feeds. */
static int read_upto(const void *buf, size_t len, size_t limit, enum cut how,
                     uint32_t seed, const char *what)
{
	struct zip_reader *r = malloc(sizeof(*r));
	const unsigned char *p = buf;
	int first = 0, rc;
	size_t at = 0;
	bool finish = limit >= len;
	uint32_t seed0 = seed; /* for the messages */

	if (!finish)
		len = limit;
	ck_assert_ptr_nonnull(r);
	/* Like memory from malloc(): zr_init() must set what it uses. */
	memset(r, 0xa5, sizeof(*r));
	enum ev stop_ev = rec.stop_ev;
	unsigned stop_at = rec.stop_at;
	int stop_with = rec.stop_with;
	rec_reset();
	rec.stop_ev = stop_ev;
	rec.stop_at = stop_at;
	rec.stop_with = stop_with;
	rc = zr_init(r, &callbacks, &rec);
	ck_assert_msg(rc == 0, "zr_init() returned %s", err_str(rc));
	while (at < len) {
		size_t n = how == ALL     ? len - at
		           : how == BYTES ? 1
		                          : next_piece(&seed, len - at);
		rc = zr_feed(r, p + at, n);
		if (first == 0)
			first = rc;
		else if (rc != first)
			wrong("zr_feed() returned %s after it had returned %s "
			      "(at byte %zu): after an error, every call "
			      "returns it again",
			      err_str(rc), err_str(first), at);
		at += n;
	}
	if (finish) {
		rc = zr_finish(r);
		if (first == 0)
			first = rc;
		else if (rc != first)
			wrong("zr_finish() returned %s after zr_feed() had "
			      "returned %s: after an error, every call returns "
			      "it again",
			      err_str(rc), err_str(first));
	}
	zr_free(r);
	free(r);
	logf_("result %s\n", err_str(first));
	ck_assert_msg(rec.wrong[0] == '\0', "reading %s %s: %s", what,
	              cut_name(how, seed0), rec.wrong);
	return first;
}

static int read_archive(const void *buf, size_t len, enum cut how,
                        uint32_t seed, const char *what)
{
	return read_upto(buf, len, SIZE_MAX, how, seed, what);
}

/* Fails with the first line where two logs differ. */
static void same_log(const char *want, const char *got, const char *what)
{
	const char *start = want;
	int line = 1;

	while (*want && *want == *got) {
		if (*want == '\n')
			line++;
		want++;
		got++;
	}
	if (*want == *got)
		return;
	while (want > start && want[-1] != '\n') { /* to the line's start */
		want--;
		got--;
	}
	if (*got == '\0')
		got = "(no more events)";
	if (*want == '\0')
		want = "(no more events)";
	ck_assert_msg(0, "%s: event %d: expected\n  %.*s\ngot\n  %.*s", what,
	              line, (int)strcspn(want, "\n"), want,
	              (int)strcspn(got, "\n"), got);
}

/* Reads the archive all at once, then one byte at a time (unless
 * bytes_too is false: large archives), then in random pieces with three
 * seeds: each log must be the first's. Ends with a read all at once, so
 * rec holds its events; returns its result. */
static int read_every_way(const struct zbuf *b, bool bytes_too,
                          const char *what)
{
	static const uint32_t seeds[] = {1, 7, 2024};
	char *want, msg[256];
	int first;

	first = read_archive(b->p, b->len, ALL, 0, what);
	want = strdup(log_text());
	ck_assert_ptr_nonnull(want);
	if (bytes_too) {
		read_archive(b->p, b->len, BYTES, 0, what);
		snprintf(msg, sizeof(msg),
		         "%s, one byte at a time, compared with all at once",
		         what);
		same_log(want, log_text(), msg);
	}
	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		read_archive(b->p, b->len, RANDOM, seeds[i], what);
		snprintf(msg, sizeof(msg), "%s, %s, compared with all at once",
		         what, cut_name(RANDOM, seeds[i]));
		same_log(want, log_text(), msg);
	}
	free(want);
	read_archive(b->p, b->len, ALL, 0, what);
	return first;
}

/* The log an archive made of zf_add*() entries and zf_directory() calls
 * for (ASCII names, no extras, no comment), ending in result. */
static char *want_log(const struct zf_archive *a, int result)
{
	struct rec saved = rec;
	char *s;

	memset(&rec, 0, sizeof(rec));
	for (size_t i = 0; i < a->n; i++) {
		const struct zf_rec *r = &a->recs[i];
		bool desc = r->flags & ZIP_FLAG_DESCRIPTOR;

		logf_("entry %s flags=%#x method=%u time=%08x crc=%08x "
		      "csize=%llu usize=%llu offset=%llu zip64=0\n",
		      r->name, r->flags, r->method, (unsigned)ZF_DOS_TIME,
		      desc ? 0u : (unsigned)r->crc,
		      desc ? 0ull : (unsigned long long)r->csize,
		      desc ? 0ull : (unsigned long long)r->usize,
		      (unsigned long long)r->offset);
		logf_("entry-end %s crc=%08x csize=%llu usize=%llu in=%llu "
		      "out=%llu data=%llu/%08x\n",
		      r->name, (unsigned)r->crc, (unsigned long long)r->csize,
		      (unsigned long long)r->usize,
		      (unsigned long long)r->csize,
		      (unsigned long long)r->usize,
		      (unsigned long long)r->usize, (unsigned)r->crc);
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct zf_rec *r = &a->recs[i];
		logf_("central %s flags=%#x method=%u time=%08x crc=%08x "
		      "csize=%llu usize=%llu offset=%llu zip64=0 made_by=%#x "
		      "external=%#x\n",
		      r->name, r->flags, r->method, (unsigned)ZF_DOS_TIME,
		      (unsigned)r->crc, (unsigned long long)r->csize,
		      (unsigned long long)r->usize,
		      (unsigned long long)r->offset,
		      r->made_by ? r->made_by : 20u, (unsigned)r->external);
	}
	logf_("end entries=%zu\n", a->n);
	logf_("result %s\n", err_str(result));
	s = strdup(log_text());
	zb_free(&rec.log);
	rec = saved;
	ck_assert_ptr_nonnull(s);
	return s;
}

/* The reader's log must be the one the archive's records call for. */
static void check_log(const struct zf_archive *a, const char *what)
{
	char *want = want_log(a, 0);

	same_log(want, log_text(), what);
	free(want);
}

/* Every cutting gives want; rec then holds the all-at-once run. */
static void read_expect(const struct zbuf *b, int want, const char *what)
{
	int got = read_every_way(b, true, what);

	ck_assert_msg(got == want, "%s: expected %s, got %s", what,
	              err_str(want), err_str(got));
}

/* Every cutting reads the archive without an error (one byte at a time
 * too, unless bytes_too is false); rec then holds the all-at-once run. */
static void read_fine(const struct zbuf *b, bool bytes_too, const char *what)
{
	int got = read_every_way(b, bytes_too, what);

	ck_assert_msg(got == 0, "%s: expected 0, got %s", what, err_str(got));
}

/* The data of kept entry i is exactly want. */
static void check_data(unsigned i, const void *want, size_t n)
{
	const struct got_entry *g = &rec.e[i];

	ck_assert_msg(g->ended, "entry %u (\"%s\") never had its on_entry_end",
	              i, g->head.name);
	ck_assert_msg(g->data.len == n,
	              "entry %u (\"%s\"): on_data got %zu bytes, expected %zu",
	              i, g->head.name, g->data.len, n);
	for (size_t k = 0; k < n; k++)
		if (g->data.p[k] != ((const unsigned char *)want)[k])
			ck_assert_msg(0,
			              "entry %u (\"%s\"): byte %zu is %#x, "
			              "expected %#x",
			              i, g->head.name, k, g->data.p[k],
			              ((const unsigned char *)want)[k]);
}

/* n bytes of text repeating every 1000: deflate shrinks it a lot. */
static unsigned char *repeated_text(size_t n)
{
	unsigned char *unit = zf_text(1000, 42), *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = unit[i % 1000];
	free(unit);
	return p;
}

/* --- test_read_chunkings ---
 * The same events, the same bytes and the same result for every way of
 * cutting the input: one byte at a time, random pieces (some empty), all
 * at once. The archive mixes stored and deflated entries, a folder, empty
 * entries, entries with descriptors of two layouts, data larger than
 * ZR_OUT_SIZE, and an end record with a comment. */

START_TEST(test_read_chunkings)
{
	struct zf_archive a;
	unsigned char *big = repeated_text(1000000), *noise = zf_noise(3000, 5);
	unsigned char *text = zf_text(5000, 9);
	const char *readme = "Read me first.\n";

	zf_init(&a);
	zf_add(&a, "readme.txt", ZIP_STORED, 0, readme, strlen(readme));
	zf_add_dir(&a, "dir/");
	zf_add(&a, "dir/big.txt", ZIP_DEFLATED, 0, big, 1000000);
	zf_add_desc(&a, "dir/noise.bin", noise, 3000, ZF_DESC32_SIG);
	zf_add(&a, "empty.txt", ZIP_DEFLATED, 0, "", 0);
	zf_add_desc(&a, "dir/text.txt", text, 5000, ZF_DESC64);
	zf_add(&a, "z.bin", ZIP_STORED, 0, noise, 2000);
	zf_centrals(&a);
	zf_end(&a.b, (uint16_t)a.n, (uint32_t)a.cd_size, (uint32_t)a.cd_offset,
	       "made by zipfix.h, for lab 7");

	read_fine(&a.b, true, "a 7-entry archive");
	check_log(&a, "a 7-entry archive");
	check_data(0, readme, strlen(readme));
	check_data(2, big, 1000000);
	check_data(3, noise, 3000);
	check_data(5, text, 5000);
	check_data(6, noise, 2000);
	ck_assert_msg(rec.e[2].pieces >=
	                  (1000000 + ZR_OUT_SIZE - 1) / ZR_OUT_SIZE,
	              "1,000,000 bytes came in %zu on_data calls: at most "
	              "ZR_OUT_SIZE (%d) each",
	              rec.e[2].pieces, ZR_OUT_SIZE);
	free(big);
	free(noise);
	free(text);
	zf_free(&a);
	rec_reset(); /* what the last read kept */
}
END_TEST

/* --- test_read_stored_deflate ---
 * Stored and deflated entries, small, empty and larger than several
 * output buffers, text and incompressible noise (deflate's stored
 * blocks): each entry's bytes exactly, its numbers at on_entry and at
 * on_entry_end, its offset. */

START_TEST(test_read_stored_deflate)
{
	struct zf_archive a;
	unsigned char *text = repeated_text(300000),
	              *noise = zf_noise(600000, 3);
	struct zbuf d = {0};

	zf_init(&a);
	zf_add(&a, "tiny.txt", ZIP_STORED, 0, "abc", 3);
	zf_add(&a, "text.txt", ZIP_DEFLATED, 0, text, 300000);
	zf_add(&a, "noise.bin", ZIP_STORED, 0, noise, 600000);
	zf_add(&a, "noise.deflated", ZIP_DEFLATED, 0, noise, 600000);
	zf_add(&a, "empty.stored", ZIP_STORED, 0, "", 0);
	zf_add(&a, "empty.deflated", ZIP_DEFLATED, 0, "", 0);
	/* Level 1: another deflate than the default level's. */
	zf_deflate(&d, text, 70000, 1);
	size_t at = zf_local(&a.b, &(struct zf_hdr){.method = ZIP_DEFLATED,
	                                            .crc = zf_crc(text, 70000),
	                                            .csize = (uint32_t)d.len,
	                                            .usize = 70000,
	                                            .name = "level1.txt"});
	zb_put(&a.b, d.p, d.len);
	zf_remember(&a, "level1.txt", 0, ZIP_DEFLATED, zf_crc(text, 70000),
	            d.len, 70000, at);
	zf_directory(&a);

	/* Too large to feed a byte at a time under valgrind. */
	read_archive(a.b.p, a.b.len, RANDOM, 99, "7 entries");
	check_log(&a, "7 entries in random pieces (seed 99)");
	read_archive(a.b.p, a.b.len, ALL, 0, "7 entries");
	check_log(&a, "7 entries all at once");
	check_data(0, "abc", 3);
	check_data(1, text, 300000);
	check_data(2, noise, 600000);
	check_data(3, noise, 600000);
	check_data(4, "", 0);
	check_data(5, "", 0);
	check_data(6, text, 70000);
	for (unsigned i = 0; i < 7; i++) {
		const struct zip_entry *h = &rec.e[i].head;
		ck_assert_msg(h->in == 0 && h->out == 0,
		              "on_entry of \"%s\": e->in %llu, e->out %llu: "
		              "nothing is read of its data yet",
		              h->name, (unsigned long long)h->in,
		              (unsigned long long)h->out);
	}
	ck_assert_msg(rec.n[EV_ENTRY] == 7 && rec.n[EV_ENTRY_END] == 7 &&
	                  rec.n[EV_CENTRAL] == 7 && rec.n[EV_END] == 1,
	              "%u on_entry, %u on_entry_end, %u on_central, %u on_end "
	              "for 7 entries",
	              rec.n[EV_ENTRY], rec.n[EV_ENTRY_END], rec.n[EV_CENTRAL],
	              rec.n[EV_END]);
	ck_assert_msg(rec.end_entries == 7, "on_end said %llu entries, not 7",
	              (unsigned long long)rec.end_entries);
	zb_free(&d);
	free(text);
	free(noise);
	zf_free(&a);
	rec_reset(); /* what the last read kept */
}
END_TEST

/* --- test_read_descriptor_layouts ---
 * Flag bit 3: the header's CRC-32 and sizes are 0, or lies; the deflate
 * stream ends where it ends, and a descriptor follows in one of four
 * layouts. Each layout is tried with another entry after it and with the
 * central directory after it; its CRC-32 and sizes are checked: a wrong
 * CRC-32 is ZIP_ECRC, sizes that are not the data's are an error. */

/* "first" (text) and "second" (noise), both with descriptors of layout
 * l, then the directory: the first is followed by a local header, the
 * second by a central record. */
static void two_with_desc(struct zf_archive *a, enum zf_layout l,
                          const unsigned char *text, const unsigned char *noise)
{
	zf_init(a);
	zf_add_desc(a, "first.txt", text, 3000, l);
	zf_add_desc(a, "second.bin", noise, 700, l);
	zf_directory(a);
}

START_TEST(test_read_descriptor_layouts)
{
	unsigned char *text = zf_text(3000, 11), *noise = zf_noise(700, 12);
	char what[160];

	for (int l = ZF_DESC32; l <= ZF_DESC64_SIG; l++) {
		struct zf_archive a;

		two_with_desc(&a, (enum zf_layout)l, text, noise);
		snprintf(what, sizeof(what),
		         "2 entries with %s descriptors, then the directory",
		         zf_layout_name[l]);
		read_fine(&a.b, true, what);
		check_log(&a, what);
		check_data(0, text, 3000);
		check_data(1, noise, 700);
		zf_free(&a);

		/* The descriptor's CRC-32 is checked. */
		zf_init(&a);
		struct zbuf d = {0};
		zf_deflate(&d, text, 3000, 6);
		zf_local(&a.b, &(struct zf_hdr){.flags = ZIP_FLAG_DESCRIPTOR,
		                                .method = ZIP_DEFLATED,
		                                .name = "badcrc.txt"});
		zb_put(&a.b, d.p, d.len);
		zf_descriptor(&a.b, (enum zf_layout)l,
		              zf_crc(text, 3000) ^ 0x10, d.len, 3000);
		zf_add(&a, "after.txt", ZIP_STORED, 0, "x", 1);
		zf_directory(&a);
		snprintf(what, sizeof(what),
		         "a %s descriptor whose CRC-32 is not the data's",
		         zf_layout_name[l]);
		read_expect(&a.b, ZIP_ECRC, what);
		ck_assert_msg(rec.n[EV_ENTRY_END] == 0,
		              "%s: on_entry_end came for it", what);

		/* Its sizes are checked: no layout fits, so it is not the
		 * end of the entry. */
		a.b.len = 0;
		zf_local(&a.b, &(struct zf_hdr){.flags = ZIP_FLAG_DESCRIPTOR,
		                                .method = ZIP_DEFLATED,
		                                .name = "badsize.txt"});
		zb_put(&a.b, d.p, d.len);
		zf_descriptor(&a.b, (enum zf_layout)l, zf_crc(text, 3000),
		              d.len, 3001);
		zf_local(&a.b, &(struct zf_hdr){.name = "after.txt"});
		zf_end(&a.b, 0, 0, (uint32_t)a.b.len, NULL);
		snprintf(
		    what, sizeof(what),
		    "a %s descriptor whose usize is 1 more than the data's",
		    zf_layout_name[l]);
		int got = read_every_way(&a.b, true, what);
		ck_assert_msg(got == ZIP_ECORRUPT || got == ZIP_ESIZE,
		              "%s: expected ZIP_ECORRUPT or ZIP_ESIZE (no "
		              "descriptor fits the data), got %s",
		              what, err_str(got));
		ck_assert_msg(rec.n[EV_ENTRY_END] == 0,
		              "%s: on_entry_end came for it", what);
		zb_free(&d);
		zf_free(&a);
	}

	/* Bit 3 with a header that lies: its numbers are never trusted. */
	struct zf_archive a;
	struct zbuf d = {0};
	zf_init(&a);
	zf_deflate(&d, text, 3000, 6);
	size_t at =
	    zf_local(&a.b, &(struct zf_hdr){.flags = ZIP_FLAG_DESCRIPTOR,
	                                    .method = ZIP_DEFLATED,
	                                    .crc = 0x12345678,
	                                    .csize = 5,
	                                    .usize = 7,
	                                    .name = "liar.txt"});
	zb_put(&a.b, d.p, d.len);
	zf_descriptor(&a.b, ZF_DESC32_SIG, zf_crc(text, 3000), d.len, 3000);
	zf_remember(&a, "liar.txt", ZIP_FLAG_DESCRIPTOR, ZIP_DEFLATED,
	            zf_crc(text, 3000), d.len, 3000, at);
	/* And an empty entry with a descriptor: 2 bytes of deflate. */
	zf_add_desc(&a, "empty.txt", "", 0, ZF_DESC32);
	zf_directory(&a);
	read_fine(&a.b, true,
	          "bit 3 with a header saying CRC "
	          "12345678, csize 5, usize 7");
	check_data(0, text, 3000);
	check_data(1, "", 0);
	ck_assert_msg(rec.e[0].tail.crc32 == zf_crc(text, 3000) &&
	                  rec.e[0].tail.csize == d.len &&
	                  rec.e[0].tail.usize == 3000,
	              "on_entry_end of a bit-3 entry whose header lies: "
	              "crc %08x csize %llu usize %llu, expected %08x %zu 3000",
	              (unsigned)rec.e[0].tail.crc32,
	              (unsigned long long)rec.e[0].tail.csize,
	              (unsigned long long)rec.e[0].tail.usize,
	              (unsigned)zf_crc(text, 3000), d.len);
	zb_free(&d);
	zf_free(&a);

	/* Stored with bit 3: only the header's sizes, if they agree, can be
	 * tried, and the descriptor right after must confirm them. Go
	 * writes an empty file so (sizes 0); some give the real sizes. */
	uint32_t ncrc = zf_crc(noise, 700);
	zf_init(&a);
	at = zf_local(&a.b, &(struct zf_hdr){.flags = ZIP_FLAG_DESCRIPTOR,
	                                     .name = "go-empty.txt"});
	zf_descriptor(&a.b, ZF_DESC32_SIG, 0, 0, 0);
	zf_remember(&a, "go-empty.txt", ZIP_FLAG_DESCRIPTOR, ZIP_STORED, 0, 0,
	            0, at);
	at = zf_local(&a.b, &(struct zf_hdr){.flags = ZIP_FLAG_DESCRIPTOR,
	                                     .crc = ncrc,
	                                     .csize = 700,
	                                     .usize = 700,
	                                     .name = "sized.bin"});
	zb_put(&a.b, noise, 700);
	zf_descriptor(&a.b, ZF_DESC32, ncrc, 700, 700);
	zf_remember(&a, "sized.bin", ZIP_FLAG_DESCRIPTOR, ZIP_STORED, ncrc, 700,
	            700, at);
	zf_directory(&a);
	read_fine(&a.b, true,
	          "stored with bit 3: an empty one (sizes "
	          "0), one with its sizes in the header");
	check_data(0, "", 0);
	check_data(1, noise, 700);
	zf_free(&a);
	/* The descriptor does not confirm the header's sizes. */
	zf_init(&a);
	zf_local(&a.b, &(struct zf_hdr){.flags = ZIP_FLAG_DESCRIPTOR,
	                                .crc = ncrc,
	                                .csize = 700,
	                                .usize = 700,
	                                .name = "unconfirmed.bin"});
	zb_put(&a.b, noise, 700);
	zf_descriptor(&a.b, ZF_DESC32_SIG, ncrc, 690, 690);
	zf_add(&a, "after.txt", ZIP_STORED, 0, "x", 1);
	zf_directory(&a);
	read_expect(&a.b, ZIP_ESTOREDDESC,
	            "stored with bit 3, header sizes 700, a descriptor saying "
	            "690");
	ck_assert_uint_eq(rec.n[EV_ENTRY_END], 0);
	zf_free(&a);
	free(text);
	free(noise);
	rec_reset(); /* what the last read kept */
}
END_TEST

/* --- test_read_zip64 ---
 * A field of 0xffffffff is in the zip64 extra (0x0001): 8 bytes for each
 * such field, only those, in the order usize, csize, (central only)
 * offset, then 4 for a disk number of 0xffff. A value the extra lacks is
 * ZIP_ECORRUPT. The zip64 end record and its locator are read past. */

START_TEST(test_read_zip64)
{
	struct zf_archive a;
	struct zbuf lx1 = {0}, lx4 = {0}, lx5 = {0}, cx[6] = {{0}}, d4 = {0};
	unsigned char *t = zf_text(1000, 21);
	const uint8_t stamp[5] = {1, 0x10, 0x20, 0x30, 0x40};
	uint32_t crc = zf_crc(t, 1000);
	size_t off[6];

	zf_init(&a);
	/* 0: stored, local zip64 extra with both sizes. */
	zf_x_zip64(&lx1, (uint64_t[]){1000, 1000}, 2);
	off[0] = zf_local(&a.b, &(struct zf_hdr){.version = 45,
	                                         .crc = crc,
	                                         .csize = ZIP_32BIT_MAX,
	                                         .usize = ZIP_32BIT_MAX,
	                                         .name = "local64.txt",
	                                         .extra = &lx1});
	zb_put(&a.b, t, 1000);
	zf_remember(&a, "local64.txt", 0, ZIP_STORED, crc, 1000, 1000, off[0]);
	/* 1: plain local; central says csize 0xffffffff only. */
	zf_add(&a, "csize64.txt", ZIP_DEFLATED, 0, t, 1000);
	off[1] = a.recs[1].offset;
	/* 2: plain local; central says offset 0xffffffff only. */
	zf_add(&a, "offset64.txt", ZIP_STORED, 0, t, 500);
	off[2] = a.recs[2].offset;
	/* 3: deflated, local zip64 extra after a timestamp extra; central
	 * has all three. */
	zf_deflate(&d4, t, 1000, 9);
	zf_x_other(&lx4, 0x5455, stamp, 5);
	zf_x_zip64(&lx4, (uint64_t[]){1000, d4.len}, 2);
	off[3] = zf_local(&a.b, &(struct zf_hdr){.version = 45,
	                                         .method = ZIP_DEFLATED,
	                                         .crc = crc,
	                                         .csize = ZIP_32BIT_MAX,
	                                         .usize = ZIP_32BIT_MAX,
	                                         .name = "all64.txt",
	                                         .extra = &lx4});
	zb_put(&a.b, d4.p, d4.len);
	zf_remember(&a, "all64.txt", 0, ZIP_DEFLATED, crc, d4.len, 1000,
	            off[3]);
	/* 4: plain local; central says usize 0xffffffff only. */
	zf_add(&a, "usize64.txt", ZIP_DEFLATED, 0, t, 1000);
	off[4] = a.recs[4].offset;
	/* 5: a local header marking only usize: its extra holds only that
	 * (APPNOTE asks for both; writers differ). */
	zf_x_zip64(&lx5, (uint64_t[]){100}, 1);
	off[5] = zf_local(&a.b, &(struct zf_hdr){.version = 45,
	                                         .crc = zf_crc(t, 100),
	                                         .csize = 100,
	                                         .usize = ZIP_32BIT_MAX,
	                                         .name = "onlyusize.txt",
	                                         .extra = &lx5});
	zb_put(&a.b, t, 100);
	zf_remember(&a, "onlyusize.txt", 0, ZIP_STORED, zf_crc(t, 100), 100,
	            100, off[5]);
	size_t csize1 = a.recs[1].csize, csize4 = a.recs[4].csize;

	zf_x_zip64(&cx[0], (uint64_t[]){1000, 1000}, 2);
	a.recs[0].usize = a.recs[0].csize = ZIP_32BIT_MAX;
	zf_x_zip64(&cx[1], (uint64_t[]){csize1}, 1);
	a.recs[1].csize = ZIP_32BIT_MAX;
	/* Offset and disk number start marked: 8 bytes, then 4. */
	zf_x_zip64_disk(&cx[2], (uint64_t[]){off[2]}, 1, 0);
	a.recs[2].offset = ZIP_32BIT_MAX;
	a.recs[2].disk = 0xffff;
	zf_x_zip64(&cx[3], (uint64_t[]){1000, d4.len, off[3]}, 3);
	a.recs[3].usize = a.recs[3].csize = a.recs[3].offset = ZIP_32BIT_MAX;
	zf_x_zip64(&cx[4], (uint64_t[]){1000}, 1);
	a.recs[4].usize = ZIP_32BIT_MAX;
	zf_x_zip64(&cx[5], (uint64_t[]){100, 100}, 2);
	a.recs[5].usize = a.recs[5].csize = ZIP_32BIT_MAX;
	for (int i = 0; i < 6; i++) {
		a.recs[i].extra = &cx[i];
		a.recs[i].version = 45;
	}
	zf_centrals(&a);
	zf_end64(&a.b, 6, a.cd_size, a.cd_offset);
	zf_end(&a.b, 6, (uint32_t)a.cd_size, (uint32_t)a.cd_offset, NULL);

	read_fine(&a.b, true, "6 zip64 entries");
	check_data(0, t, 1000);
	check_data(1, t, 1000);
	check_data(2, t, 500);
	check_data(3, t, 1000);
	check_data(4, t, 1000);
	check_data(5, t, 100);
	const struct zip_entry *e0 = &rec.e[0].head, *e3 = &rec.e[3].head;
	ck_assert_msg(e0->csize == 1000 && e0->usize == 1000 && e0->zip64,
	              "on_entry of a local header with sizes 0xffffffff and "
	              "a zip64 extra of 1000, 1000: csize %llu usize %llu "
	              "zip64 %d",
	              (unsigned long long)e0->csize,
	              (unsigned long long)e0->usize, (int)e0->zip64);
	ck_assert_msg(e3->csize == d4.len && e3->usize == 1000 && e3->zip64,
	              "on_entry of \"all64.txt\" (zip64 extra after another): "
	              "csize %llu usize %llu zip64 %d, expected %zu 1000 1",
	              (unsigned long long)e3->csize,
	              (unsigned long long)e3->usize, (int)e3->zip64, d4.len);
	ck_assert_msg(!rec.e[1].head.zip64,
	              "on_entry of a header without a zip64 extra says zip64");
	const struct zip_entry *e5 = &rec.e[5].head;
	ck_assert_msg(e5->csize == 100 && e5->usize == 100 && e5->zip64,
	              "on_entry of a local header with usize 0xffffffff, "
	              "csize 100 and a zip64 extra of 100: csize %llu usize "
	              "%llu zip64 %d",
	              (unsigned long long)e5->csize,
	              (unsigned long long)e5->usize, (int)e5->zip64);
	const uint64_t want[6][3] = {
	    {1000, 1000, off[0]},   {1000, csize1, off[1]}, {500, 500, off[2]},
	    {1000, d4.len, off[3]}, {1000, csize4, off[4]}, {100, 100, off[5]}};
	ck_assert_uint_eq(rec.n[EV_CENTRAL], 6);
	for (int i = 0; i < 6; i++) {
		const struct zip_entry *c = &rec.c[i];
		ck_assert_msg(
		    c->usize == want[i][0] && c->csize == want[i][1] &&
		        c->offset == want[i][2] && c->zip64,
		    "central record \"%s\": usize %llu csize %llu "
		    "offset %llu zip64 %d, expected %llu %llu %llu 1",
		    c->name, (unsigned long long)c->usize,
		    (unsigned long long)c->csize, (unsigned long long)c->offset,
		    (int)c->zip64, (unsigned long long)want[i][0],
		    (unsigned long long)want[i][1],
		    (unsigned long long)want[i][2]);
	}
	ck_assert_msg(rec.end_entries == 6, "on_end said %llu entries, not 6",
	              (unsigned long long)rec.end_entries);
	zf_free(&a);

	/* Missing values: ZIP_ECORRUPT. */
	struct zbuf x = {0};
	/* A local header with sizes 0xffffffff and no extra. */
	zf_init(&a);
	zf_local(&a.b, &(struct zf_hdr){.crc = zf_crc(t, 10),
	                                .csize = ZIP_32BIT_MAX,
	                                .usize = ZIP_32BIT_MAX,
	                                .name = "noextra.txt"});
	zb_put(&a.b, t, 10);
	zf_end(&a.b, 0, 0, (uint32_t)a.b.len, NULL);
	read_expect(&a.b, ZIP_ECORRUPT,
	            "a local header with sizes 0xffffffff and no zip64 extra");
	ck_assert_uint_eq(rec.n[EV_DATA], 0);
	/* A local zip64 extra with one size of the two. */
	a.b.len = 0;
	zf_x_zip64(&x, (uint64_t[]){10}, 1);
	zf_local(&a.b, &(struct zf_hdr){.crc = zf_crc(t, 10),
	                                .csize = ZIP_32BIT_MAX,
	                                .usize = ZIP_32BIT_MAX,
	                                .name = "oneof2.txt",
	                                .extra = &x});
	zb_put(&a.b, t, 10);
	zf_end(&a.b, 0, 0, (uint32_t)a.b.len, NULL);
	read_expect(&a.b, ZIP_ECORRUPT,
	            "a local header with sizes 0xffffffff and a zip64 extra "
	            "holding only one of them");
	ck_assert_uint_eq(rec.n[EV_DATA], 0);
	zf_free(&a);
	/* A central record with three 0xffffffff fields, two in its extra. */
	zf_init(&a);
	zf_add(&a, "short.txt", ZIP_STORED, 0, t, 10);
	x.len = 0;
	zf_x_zip64(&x, (uint64_t[]){10, 10}, 2);
	a.recs[0].usize = a.recs[0].csize = a.recs[0].offset = ZIP_32BIT_MAX;
	a.recs[0].extra = &x;
	zf_directory(&a);
	read_expect(&a.b, ZIP_ECORRUPT,
	            "a central record with usize, csize and offset "
	            "0xffffffff and a zip64 extra of 2 values");
	ck_assert_uint_eq(rec.n[EV_CENTRAL], 0);
	zf_free(&a);
	/* A central record with csize 0xffffffff and no extra. */
	zf_init(&a);
	zf_add(&a, "none.txt", ZIP_STORED, 0, t, 10);
	a.recs[0].csize = ZIP_32BIT_MAX;
	zf_directory(&a);
	read_expect(&a.b, ZIP_ECORRUPT,
	            "a central record with csize 0xffffffff and no extra");
	ck_assert_uint_eq(rec.n[EV_CENTRAL], 0);
	zf_free(&a);

	zb_free(&x);
	zb_free(&lx1);
	zb_free(&lx4);
	zb_free(&lx5);
	zb_free(&d4);
	for (int i = 0; i < 6; i++)
		zb_free(&cx[i]);
	free(t);
	rec_reset(); /* what the last read kept */
}
END_TEST

/* --- test_read_names ---
 * Flag bit 11: the name is UTF-8, as it is. Without it, CP437, converted
 * to UTF-8 (0x82 is "é", 0xe1 "ß", 0xb0 "░"...). An Info-ZIP Unicode Path
 * extra (0x7075) gives the name instead, if its CRC-32 is the raw name's.
 * The same for central records. Longer than ZIP_NAME_MAX bytes of UTF-8:
 * ZIP_ELIMIT; a NUL byte in it: ZIP_ESLIP. */

struct named {
	const char *raw;
	uint16_t flags;
	const struct zbuf *extra;
	const char *want;
};

/* An archive of one 1-byte stored entry per name, its central records
 * with the same name and extra. */
static void names_archive(struct zf_archive *a, const struct named *n,
                          size_t count)
{
	zf_init(a);
	for (size_t i = 0; i < count; i++) {
		size_t at =
		    zf_local(&a->b, &(struct zf_hdr){.flags = n[i].flags,
		                                     .crc = zf_crc("n", 1),
		                                     .csize = 1,
		                                     .usize = 1,
		                                     .name = n[i].raw,
		                                     .extra = n[i].extra});
		zb_str(&a->b, "n");
		struct zf_rec *r =
		    zf_remember(a, n[i].raw, n[i].flags, ZIP_STORED,
		                zf_crc("n", 1), 1, 1, at);
		r->extra = n[i].extra;
	}
	zf_directory(a);
}

START_TEST(test_read_names)
{
	struct zbuf up = {0}, bad = {0}, two = {0};
	const uint8_t stamp[5] = {1, 0, 0, 0, 0};

	zf_x_upath(&up, "caf\x82.txt", "unicode-caf\xc3\xa9.txt");
	zf_x_upath_crc(&bad, zf_crc("old\x82.txt", 9) ^ 1, "ignored.txt");
	zf_x_other(&two, 0x5455, stamp, 5);
	zf_x_upath(&two, "x\xe1.txt", "second-extra.txt");
	const struct named n[] = {
	    {"plain.txt", 0, NULL, "plain.txt"},
	    {"utf8-\xc3\xa9\xe2\x96\x91.txt", ZIP_FLAG_UTF8, NULL,
	     "utf8-\xc3\xa9\xe2\x96\x91.txt"},
	    {"caf\x82-stra\xe1"
	     "e.txt",
	     0, NULL,
	     "caf\xc3\xa9-stra\xc3\x9f"
	     "e.txt"},
	    {"\x80\x81\x9c\xa4\xb0\xe4\xff", 0, NULL,
	     "\xc3\x87\xc3\xbc\xc2\xa3\xc3\xb1\xe2\x96\x91\xce\xa3\xc2\xa0"},
	    {"caf\x82.txt", 0, &up, "unicode-caf\xc3\xa9.txt"},
	    {"old\x82.txt", 0, &bad, "old\xc3\xa9.txt"},
	    {"x\xe1.txt", 0, &two, "second-extra.txt"},
	    /* Empty: passed on as it is (the extractor refuses it). */
	    {"", 0, NULL, ""},
	};
	const size_t count = sizeof(n) / sizeof(n[0]);
	struct zf_archive a;

	names_archive(&a, n, count);
	read_fine(&a.b, true, "8 names");
	ck_assert_uint_eq(rec.n[EV_ENTRY], count);
	ck_assert_uint_eq(rec.n[EV_CENTRAL], count);
	for (size_t i = 0; i < count; i++) {
		ck_assert_msg(strcmp(rec.e[i].head.name, n[i].want) == 0,
		              "on_entry of entry %zu (flags %#x%s): name "
		              "\"%s\", expected \"%s\"",
		              i, n[i].flags,
		              n[i].extra ? ", a 0x7075 extra" : "",
		              rec.e[i].head.name, n[i].want);
		ck_assert_msg(strcmp(rec.c[i].name, n[i].want) == 0,
		              "on_central of record %zu (flags %#x%s): name "
		              "\"%s\", expected \"%s\"",
		              i, n[i].flags,
		              n[i].extra ? ", a 0x7075 extra" : "",
		              rec.c[i].name, n[i].want);
	}
	zf_free(&a);

	/* ZIP_NAME_MAX bytes are fine; one more is ZIP_ELIMIT, and so is
	 * a CP437 name that UTF-8 makes longer than that. */
	char *longest = malloc(ZIP_NAME_MAX + 2);
	ck_assert_ptr_nonnull(longest);
	memset(longest, 'n', ZIP_NAME_MAX);
	longest[ZIP_NAME_MAX] = '\0';
	struct named one = {longest, 0, NULL, longest};
	names_archive(&a, &one, 1);
	read_fine(&a.b, false, "a name of 1024 bytes");
	ck_assert_str_eq(rec.e[0].head.name, longest);
	zf_free(&a);
	strcat(longest, "n");
	names_archive(&a, &one, 1);
	read_expect(&a.b, ZIP_ELIMIT, "a name of 1025 bytes");
	ck_assert_uint_eq(rec.n[EV_ENTRY], 0);
	zf_free(&a);
	/* A NUL byte in a name: a C string would end there. */
	zf_init(&a);
	zf_local(&a.b, &(struct zf_hdr){.crc = zf_crc("n", 1),
	                                .csize = 1,
	                                .usize = 1,
	                                .name = "a\0../../x",
	                                .name_len = 10});
	zb_str(&a.b, "n");
	zf_end(&a.b, 0, 0, (uint32_t)a.b.len, NULL);
	read_expect(&a.b, ZIP_ESLIP, "a name of 10 bytes, \"a\\0../../x\"");
	ck_assert_uint_eq(rec.n[EV_ENTRY], 0);
	zf_free(&a);
	memset(longest, 0x82, 600);
	longest[600] = '\0';
	names_archive(&a, &one, 1);
	read_expect(&a.b, ZIP_ELIMIT,
	            "a CP437 name of 600 bytes 0x82: 1200 bytes of UTF-8");
	ck_assert_uint_eq(rec.n[EV_ENTRY], 0);
	zf_free(&a);
	free(longest);
	zb_free(&up);
	zb_free(&bad);
	zb_free(&two);
	rec_reset(); /* what the last read kept */
}
END_TEST

/* --- test_read_refusals ---
 * What the reader refuses, each after a good entry ("first.txt") that
 * must come whole: encrypted entries (bit 0, bit 6, bit 13, method 99)
 * before any of their data, methods other than 0 and 8, stored data with
 * a descriptor, a wrong CRC-32 (no on_entry_end), output past the
 * declared usize (on_data never sees it), a deflate stream that does not
 * end at csize, sizes that disagree or are impossible (a deflated csize
 * of 0: at the header), a stream inflate rejects. */

struct bad {
	const char *what;
	struct zf_hdr h;  /* the bad entry's header */
	const void *data; /* and the bytes after it */
	size_t len;
	int want;
};

static void check_refused(const struct bad *b)
{
	struct zf_archive a;
	const char *first = "first entry, fine\n";

	zf_init(&a);
	zf_add(&a, "first.txt", ZIP_STORED, 0, first, strlen(first));
	zf_local(&a.b, &b->h);
	zb_put(&a.b, b->data, b->len);
	zf_add(&a, "last.txt", ZIP_STORED, 0, "z", 1);
	zf_directory(&a);
	read_expect(&a.b, b->want, b->what);
	check_data(0, first, strlen(first));
	ck_assert_msg(rec.n[EV_ENTRY_END] == 1,
	              "%s: %u on_entry_end calls, expected 1 (first.txt's)",
	              b->what, rec.n[EV_ENTRY_END]);
	zf_free(&a);
}

START_TEST(test_read_refusals)
{
	unsigned char *text = repeated_text(100000), *noise = zf_noise(64, 8);
	uint32_t tcrc = zf_crc(text, 100000), ncrc = zf_crc(noise, 64);
	struct zbuf d = {0}, t = {0};
	const unsigned char inflate_rejects[] = {0xff, 0xff, 0xff, 0xff};

	zf_deflate(&d, noise, 64, 6);
	zf_deflate(&t, text, 100000, 6);
	uint32_t dl = (uint32_t)d.len, tl = (uint32_t)t.len;
	/* Refused at the header: the bytes after it (noise) are never
	 * handed to on_data. */
	struct bad enc[] = {
	    {"flag bit 0 (encrypted)",
	     {.flags = ZIP_FLAG_ENCRYPTED,
	      .method = ZIP_DEFLATED,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 64,
	      .name = "secret.bin"},
	     noise,
	     64,
	     ZIP_EENCRYPTED},
	    {"flag bit 6 (strong encryption)",
	     {.flags = ZIP_FLAG_STRONG,
	      .method = ZIP_STORED,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 64,
	      .name = "strong.bin"},
	     noise,
	     64,
	     ZIP_EENCRYPTED},
	    {"flag bits 0 and 6",
	     {.flags = ZIP_FLAG_STRONG | ZIP_FLAG_ENCRYPTED,
	      .method = ZIP_DEFLATED,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 64,
	      .name = "strong.bin"},
	     noise,
	     64,
	     ZIP_EENCRYPTED},
	    {"flag bit 13 (masked header)",
	     {.flags = ZIP_FLAG_MASKED,
	      .method = ZIP_STORED,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 64,
	      .name = "masked.bin"},
	     noise,
	     64,
	     ZIP_EENCRYPTED},
	    {"method 99 (AES) with flag bit 0",
	     {.flags = ZIP_FLAG_ENCRYPTED,
	      .method = 99,
	      .crc = 0,
	      .csize = 64,
	      .usize = 64,
	      .name = "aes.bin"},
	     noise,
	     64,
	     ZIP_EENCRYPTED},
	    {"method 99 (AES) alone",
	     {.method = 99,
	      .crc = 0,
	      .csize = 64,
	      .usize = 64,
	      .name = "aes.bin"},
	     noise,
	     64,
	     ZIP_EENCRYPTED},
	    {"method 12 (bzip2)",
	     {.method = 12,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 64,
	      .name = "b.bz2"},
	     noise,
	     64,
	     ZIP_EUNSUPPORTED},
	    {"method 14 (LZMA)",
	     {.method = 14,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 64,
	      .name = "b.lzma"},
	     noise,
	     64,
	     ZIP_EUNSUPPORTED},
	    {"method 1 (shrunk)",
	     {.method = 1,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 64,
	      .name = "b.shr"},
	     noise,
	     64,
	     ZIP_EUNSUPPORTED},
	    {"stored with flag bit 3, header sizes 0, 64 bytes of data",
	     {.flags = ZIP_FLAG_DESCRIPTOR,
	      .method = ZIP_STORED,
	      .name = "stored-desc.bin"},
	     noise,
	     64,
	     ZIP_ESTOREDDESC},
	    {"stored with flag bit 3, header csize 64 and usize 0",
	     {.flags = ZIP_FLAG_DESCRIPTOR,
	      .method = ZIP_STORED,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 0,
	      .name = "stored-desc.bin"},
	     noise,
	     64,
	     ZIP_ESTOREDDESC},
	    {"stored, csize 64 and usize 66",
	     {.method = ZIP_STORED,
	      .crc = ncrc,
	      .csize = 64,
	      .usize = 66,
	      .name = "sizes.bin"},
	     noise,
	     64,
	     ZIP_ESIZE},
	};
	for (size_t i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		check_refused(&enc[i]);
		ck_assert_msg(
		    rec.n[EV_DATA] == rec.e[0].pieces,
		    "%s: on_data came %u times after first.txt's "
		    "end: the entry is refused before any of its data",
		    enc[i].what, rec.n[EV_DATA] - (unsigned)rec.e[0].pieces);
	}
	/* Deflated without bit 3, declaring csize 0: no deflate stream is
	 * 0 bytes long, so the header alone says the sizes are impossible
	 * and the entry is refused there, as stored 64/66 is. */
	const struct bad no_csize = {
	    "deflated, no bit 3, the header saying csize 0 (usize 64)",
	    {.method = ZIP_DEFLATED,
	     .crc = ncrc,
	     .csize = 0,
	     .usize = 64,
	     .name = "csize0.bin"},
	    d.p,
	    d.len,
	    ZIP_ESIZE};
	check_refused(&no_csize);
	ck_assert_msg(rec.n[EV_ENTRY] == 1,
	              "%s: %u on_entry calls, expected 1 (first.txt's): an "
	              "entry whose header declares impossible sizes is "
	              "refused at its header",
	              no_csize.what, rec.n[EV_ENTRY]);

	struct bad wrong_data[] = {
	    {"deflated, the header's CRC-32 not the data's",
	     {.method = ZIP_DEFLATED,
	      .crc = ncrc ^ 0x80000000u,
	      .csize = dl,
	      .usize = 64,
	      .name = "crc.bin"},
	     d.p,
	     d.len,
	     ZIP_ECRC},
	    {"stored, the header's CRC-32 not the data's",
	     {.method = ZIP_STORED,
	      .crc = ncrc + 1,
	      .csize = 64,
	      .usize = 64,
	      .name = "crc.txt"},
	     noise,
	     64,
	     ZIP_ECRC},
	    {"deflated 100,000 bytes, the header saying usize 1000",
	     {.method = ZIP_DEFLATED,
	      .crc = tcrc,
	      .csize = tl,
	      .usize = 1000,
	      .name = "longer.txt"},
	     t.p,
	     t.len,
	     ZIP_ESIZE},
	    {"deflated 100,000 bytes, the header saying usize 70,000",
	     {.method = ZIP_DEFLATED,
	      .crc = tcrc,
	      .csize = tl,
	      .usize = 70000,
	      .name = "longer.txt"},
	     t.p,
	     t.len,
	     ZIP_ESIZE},
	    {"deflated 64 bytes, the header saying usize 65",
	     {.method = ZIP_DEFLATED,
	      .crc = ncrc,
	      .csize = dl,
	      .usize = 65,
	      .name = "shorter.bin"},
	     d.p,
	     d.len,
	     ZIP_ESIZE},
	    {"a deflate stream that ends 3 bytes before csize",
	     {.method = ZIP_DEFLATED,
	      .crc = ncrc,
	      .csize = dl + 3,
	      .usize = 64,
	      .name = "early.bin"},
	     d.p,
	     d.len + 3 /* and 3 bytes of what follows */,
	     ZIP_ESIZE},
	    {"a deflate stream that goes on past csize",
	     {.method = ZIP_DEFLATED,
	      .crc = ncrc,
	      .csize = dl - 3,
	      .usize = 64,
	      .name = "late.bin"},
	     d.p,
	     d.len,
	     ZIP_ESIZE},
	    {"data that inflate rejects (block type 3)",
	     {.method = ZIP_DEFLATED,
	      .crc = 0,
	      .csize = 4,
	      .usize = 4,
	      .name = "garbage.bin"},
	     inflate_rejects,
	     4,
	     ZIP_ECORRUPT},
	};
	/* "early.bin"'s 3 extra bytes must be in the buffer: pad d. */
	zb_put(&d, "PK\x01", 3);
	wrong_data[0].data = wrong_data[4].data = wrong_data[5].data =
	    wrong_data[6].data = d.p;
	for (size_t i = 0; i < sizeof(wrong_data) / sizeof(wrong_data[0]); i++)
		check_refused(&wrong_data[i]);
	zb_free(&d);
	zb_free(&t);
	free(text);
	free(noise);
	rec_reset(); /* what the last read kept */
}
END_TEST

/* --- test_read_framing ---
 * Where an archive starts and ends: bytes before the first header (a
 * script, a self-extractor) are ZIP_EPREFIXED, input with no signature at
 * all ZIP_ENOTZIP (so is empty input, at zr_finish()); input cut anywhere
 * is ZIP_ETRUNCATED at zr_finish(), never a crash, never success; a bad
 * signature inside, or a local header after a central record, is
 * ZIP_ECORRUPT; after the end record and its comment
 * the rest is ignored; the end record's count must be the central
 * records'; another disk is ZIP_EUNSUPPORTED. */

static void small_archive(struct zf_archive *a)
{
	unsigned char *t = zf_text(400, 3);

	zf_init(a);
	zf_add(a, "s.txt", ZIP_STORED, 0, "stored\n", 7);
	zf_add(a, "d.txt", ZIP_DEFLATED, 0, t, 400);
	zf_add_dir(a, "f/");
	zf_add_desc(a, "f/b3.txt", t, 300, ZF_DESC32);
	zf_add_desc(a, "f/b3sig.txt", t, 200, ZF_DESC64_SIG);
	free(t);
}

START_TEST(test_read_framing)
{
	struct zf_archive a;
	struct zbuf b = {0};
	char what[128];

	/* A script with a zip after it. */
	small_archive(&a);
	zf_directory(&a);
	zb_str(&b, "#!/bin/sh\nexec unzip -o \"$0\"\nexit 0\n");
	zb_put(&b, a.b.p, a.b.len);
	read_expect(&b, ZIP_EPREFIXED, "a shell script, then an archive");
	/* "PK" in the prefix is not yet a signature. */
	b.len = 0;
	zb_str(&b, "PKZIP self-extractor: PK\x03, PK\x05\x07, PK\x01.\n");
	zb_put(&b, a.b.p, a.b.len);
	read_expect(&b, ZIP_EPREFIXED,
	            "a prefix with \"PK\" in it, then an "
	            "archive");

	/* No signature at all. */
	b.len = 0;
	zb_str(&b, "This is not a zip file. PKZIP PK PK\x03");
	read_expect(&b, ZIP_ENOTZIP, "text with \"PK\" but no signature");
	/* Only a local header or an end record ends a prefix. */
	b.len = 0;
	zb_str(&b, "junk PK\x01\x02 PK\x06\x06 PK\x06\x07 PK\x07\x08 junk");
	read_expect(&b, ZIP_ENOTZIP,
	            "junk with central, zip64 end, locator and descriptor "
	            "signatures in it");
	int empty = read_archive("", 0, ALL, 0, "empty input");
	ck_assert_msg(empty == ZIP_ENOTZIP,
	              "empty input: expected ZIP_ENOTZIP from zr_finish(), "
	              "got %s",
	              err_str(empty));

	/* Cut anywhere: ZIP_ETRUNCATED at zr_finish(), every feed 0. */
	for (size_t cut = 1; cut < a.b.len; cut++) {
		snprintf(what, sizeof(what), "the first %zu of %zu bytes", cut,
		         a.b.len);
		int got = read_archive(a.b.p, cut, ALL, 0, what);
		int want = cut < 4 ? ZIP_ENOTZIP : ZIP_ETRUNCATED;
		ck_assert_msg(got == want,
		              "%s of an archive: expected %s, got %s", what,
		              err_str(want), err_str(got));
		ck_assert_msg(rec.n[EV_END] == 0, "%s: on_end came", what);
		if (cut % 17 == 0) { /* in pieces too, now and then */
			got = read_archive(a.b.p, cut, RANDOM, (uint32_t)cut,
			                   what);
			ck_assert_msg(got == want,
			              "%s of an archive, in random pieces: "
			              "expected %s, got %s",
			              what, err_str(want), err_str(got));
		}
	}
	/* Feeding stops short: no error yet, whatever was fed. */
	ck_assert_int_eq(read_upto(a.b.p, a.b.len, a.b.len - 1, BYTES, 0,
	                           "all but the last byte, unfinished"),
	                 0);

	/* Trailing junk, signatures and all, after the end record. */
	b.len = 0;
	zb_put(&b, a.b.p, a.b.len);
	zb_str(&b, "PK\x03\x04 junk PK\x01\x02 more junk PK\x05\x06");
	read_expect(&b, 0, "an archive and 50 bytes of junk after it");
	check_log(&a, "an archive and junk after it");
	zf_free(&a);

	/* An end record's comment, consumed across pieces. */
	small_archive(&a);
	zf_centrals(&a);
	char comment[300];
	for (size_t i = 0; i < sizeof(comment) - 1; i++)
		comment[i] = "PK\x05\x06 comment "[i % 14];
	comment[sizeof(comment) - 1] = '\0';
	zf_end(&a.b, (uint16_t)a.n, (uint32_t)a.cd_size, (uint32_t)a.cd_offset,
	       comment);
	zb_str(&a.b, "PK\x03\x04 and junk");
	read_expect(&a.b, 0,
	            "an archive whose end record has a 299-byte "
	            "comment full of PK\\5\\6");
	check_log(&a, "an archive whose end record has a comment");
	zf_free(&a);

	/* An empty archive: just an end record. */
	b.len = 0;
	zf_end(&b, 0, 0, 0, NULL);
	read_expect(&b, 0, "an empty archive (an end record alone)");
	ck_assert_msg(rec.n[EV_END] == 1 && rec.end_entries == 0 &&
	                  rec.n[EV_ENTRY] == 0 && rec.n[EV_CENTRAL] == 0,
	              "an empty archive: %u on_end (expected 1) saying %llu "
	              "entries, %u on_entry, %u on_central",
	              rec.n[EV_END], (unsigned long long)rec.end_entries,
	              rec.n[EV_ENTRY], rec.n[EV_CENTRAL]);
	b.len = 0;
	zf_end(&b, 0, 0, 0, "an empty archive with a comment");
	read_expect(&b, 0, "an empty archive with a comment");

	/* The end record's count is not the central records'. */
	for (int delta = -1; delta <= 1; delta += 2) {
		small_archive(&a);
		zf_centrals(&a);
		zf_end(&a.b, (uint16_t)(a.n + delta), (uint32_t)a.cd_size,
		       (uint32_t)a.cd_offset, NULL);
		snprintf(what, sizeof(what),
		         "5 central records, the end record saying %d",
		         (int)a.n + delta);
		read_expect(&a.b, ZIP_EMISMATCH, what);
		zf_free(&a);
	}
	/* Another disk. */
	small_archive(&a);
	zf_centrals(&a);
	zf_end_disk(&a.b, 1, (uint16_t)a.n, (uint32_t)a.cd_size,
	            (uint32_t)a.cd_offset, NULL, 0);
	read_expect(&a.b, ZIP_EUNSUPPORTED,
	            "an end record saying disk 1 (a split archive)");
	zf_free(&a);

	/* A bad signature after an entry's data. */
	zf_init(&a);
	zf_add(&a, "one.txt", ZIP_STORED, 0, "one", 3);
	zb_str(&a.b, "JUNK");
	zf_add(&a, "two.txt", ZIP_STORED, 0, "two", 3);
	zf_directory(&a);
	read_expect(&a.b, ZIP_ECORRUPT, "\"JUNK\" where a signature must be");
	check_data(0, "one", 3);
	ck_assert_uint_eq(rec.n[EV_ENTRY], 1);
	zf_free(&a);
	/* A local header after a central record. */
	zf_init(&a);
	zf_add(&a, "one.txt", ZIP_STORED, 0, "one", 3);
	zf_centrals(&a);
	zf_add(&a, "two.txt", ZIP_STORED, 0, "two", 3);
	zf_directory(&a);
	read_expect(&a.b, ZIP_ECORRUPT,
	            "a local header after the first central record");
	ck_assert_uint_eq(rec.n[EV_ENTRY], 1);
	ck_assert_uint_eq(rec.n[EV_CENTRAL], 1);
	zf_free(&a);
	zb_free(&b);
	rec_reset(); /* what the last read kept */
}
END_TEST

/* --- test_read_callback_stops ---
 * A callback that returns non-zero stops the reader: zr_feed() returns
 * that value, and returns it again on every later call, zr_finish() too;
 * no callback comes after it (read_upto() checks the calls, the recorder
 * the callbacks). */

START_TEST(test_read_callback_stops)
{
	static const struct {
		enum ev ev;
		unsigned at;
		int with;
	} stops[] = {
	    {EV_ENTRY, 1, ZIP_EBOMB},       {EV_ENTRY, 3, ZIP_ESLIP},
	    {EV_DATA, 1, ZIP_EIO},          {EV_DATA, 4, ZIP_EBOMB},
	    {EV_ENTRY_END, 2, ZIP_ELIMIT},  {EV_CENTRAL, 1, ZIP_ESYMLINK},
	    {EV_CENTRAL, 5, ZIP_EMISMATCH}, {EV_END, 1, ZIP_EDUPLICATE},
	};
	struct zf_archive a;
	unsigned char *big = repeated_text(200000);
	char what[128];

	small_archive(&a);
	zf_add(&a, "big.txt", ZIP_DEFLATED, 0, big, 200000);
	zf_directory(&a);
	for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++) {
		for (int how = ALL; how <= RANDOM; how++) {
			snprintf(what, sizeof(what),
			         "an archive, call %u of %s returning %s",
			         stops[i].at, ev_name[stops[i].ev],
			         err_str(stops[i].with));
			rec.stop_ev = stops[i].ev;
			rec.stop_at = stops[i].at;
			rec.stop_with = stops[i].with;
			int got = read_archive(a.b.p, a.b.len, (enum cut)how, 5,
			                       what);
			ck_assert_msg(got == stops[i].with,
			              "%s %s: zr_feed() returned %s", what,
			              cut_name((enum cut)how, 5), err_str(got));
			ck_assert_msg(rec.stopped, "%s: it never came", what);
		}
	}
	/* All at once: that very zr_feed() returns it (the 4th on_data
	 * comes with most of the archive still unread). */
	struct zip_reader *r = malloc(sizeof(*r));
	ck_assert_ptr_nonnull(r);
	rec_reset();
	rec.stop_ev = EV_DATA;
	rec.stop_at = 4;
	rec.stop_with = ZIP_EBOMB;
	ck_assert_int_eq(zr_init(r, &callbacks, &rec), 0);
	ck_assert_int_eq(zr_feed(r, a.b.p, a.b.len), ZIP_EBOMB);
	ck_assert_int_eq(zr_feed(r, a.b.p, 10), ZIP_EBOMB);
	ck_assert_int_eq(zr_feed(r, a.b.p, 0), ZIP_EBOMB);
	ck_assert_int_eq(zr_finish(r), ZIP_EBOMB);
	ck_assert_int_eq(zr_finish(r), ZIP_EBOMB);
	zr_free(r);
	free(r);
	ck_assert_msg(rec.wrong[0] == '\0', "%s", rec.wrong);
	free(big);
	zf_free(&a);
	rec_reset(); /* what the last read kept */
}
END_TEST

static Suite *zipread_suite(void)
{
	Suite *s = suite_create("zipread");

	TEST_ADD(s, test_read_chunkings, 20);
	TEST_ADD(s, test_read_stored_deflate, 20);
	TEST_ADD(s, test_read_descriptor_layouts, 20);
	TEST_ADD(s, test_read_zip64, 20);
	TEST_ADD(s, test_read_names, 20);
	TEST_ADD(s, test_read_refusals, 20);
	TEST_ADD(s, test_read_framing, 20);
	TEST_ADD(s, test_read_callback_stops, 20);
	return s;
}

TEST_MAIN(zipread_suite)
