/* test_zipwrite.c - public tests of lab 7's streaming ZIP writer.
 *
 * The writer's output goes to a sink that keeps it in memory and notes
 * the pieces it came in. A small parser of the test's own, written from
 * the APPNOTE and not from zipwrite.c, then reads the archive front to
 * back: each local header, the entry's data to where its deflate stream
 * ends (zlib inflates it), the data descriptor, the central directory,
 * the zip64 end record and locator if there are any, and the end record,
 * which must be the archive's last bytes. The tests compare what it found
 * with what was written:
 *
 *   writer_layout      every field of the headers, descriptors and end;
 *                      names of ZIP_NAME_MAX bytes, not one more
 *   writer_deflates    the data inflates back, at three levels; it streams
 *   writer_pieces      1-byte pieces, odd pieces and one piece: same data
 *   writer_folders     folders: stored, no bit 3, no descriptor, no data;
 *                      calls out of order
 *   writer_zip64       size_hint 0xffffffff or more: zip64 extra, 24-byte
 *                      descriptor; below it: none
 *   writer_zip64_end   65535 and 65536 entries need the zip64 end record;
 *                      65534 not
 *   writer_size_limit  an entry without zip64 cannot pass 0xffffffff bytes,
 *                      refused before they are read
 *   writer_sink_error  a sink failing at byte K: the error sticks, the
 *                      sink is never called again, nothing leaks
 *
 * Run them under valgrind (CK_FORK=no) to see that zw_free() frees all.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "testing.h"
#include "zipwrite.h"

#define SINK_ERROR ZIP_EIO /* what the failing sink says */

/* ck_assert_msg() records the place of every assertion that holds (a
 * write to Check's pipe or file): too slow for checks made millions of
 * times, as the parser's are. This calls Check only to fail. */
#define require(cond, ...)                                                     \
	do {                                                                   \
		if (!(cond))                                                   \
			ck_abort_msg(__VA_ARGS__);                             \
	} while (0)

/* --- test data --- */

static uint32_t next_random(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return *seed >> 16;
}

/* Bytes deflate cannot shrink. */
static unsigned char *random_bytes(size_t n, uint32_t seed)
{
	unsigned char *p = malloc(n + 1);

	ck_assert_ptr_nonnull(p);
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next_random(&seed);
	return p;
}

/* Words in a random order: text deflate shrinks to a fraction. */
static unsigned char *text_bytes(size_t n, uint32_t seed)
{
	static const char *const words[] = {"stream ", "zip ",    "deflate ",
	                                    "the ",    "of ",     "entry\n",
	                                    "header ", "central "};
	unsigned char *p = malloc(n + 1);
	size_t i = 0;

	ck_assert_ptr_nonnull(p);
	while (i < n)
		for (const char *w = words[next_random(&seed) % 8];
		     *w && i < n;)
			p[i++] = (unsigned char)*w++;
	return p;
}

/* A local time as time_t, and as MS-DOS date << 16 | time. */
static int64_t local_time(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {.tm_year = y - 1900,
	                .tm_mon = mo - 1,
	                .tm_mday = d,
	                .tm_hour = h,
	                .tm_min = mi,
	                .tm_sec = s,
	                .tm_isdst = -1};

	return (int64_t)mktime(&tm);
}

static uint32_t dos_time(int y, int mo, int d, int h, int mi, int s)
{
	return (uint32_t)(y - 1980) << 25 | (uint32_t)mo << 21 |
	       (uint32_t)d << 16 | (uint32_t)h << 11 | (uint32_t)mi << 5 |
	       (uint32_t)(s / 2);
}

/* --- the sink --- */

struct sink {
	unsigned char *buf;
	size_t len, cap;
	size_t pieces, max_piece;
	size_t fail_at;     /* the call that would take this byte fails */
	bool failed;        /* it has */
	size_t calls_after; /* calls after it failed */
};

static void sink_open(struct sink *s, size_t fail_at)
{
	memset(s, 0, sizeof(*s));
	s->fail_at = fail_at;
}

static int sink_write(void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;

	if (s->failed) {
		s->calls_after++;
		return SINK_ERROR;
	}
	if (len > s->fail_at - s->len) {
		s->failed = true;
		return SINK_ERROR;
	}
	if (s->len + len > s->cap) {
		s->cap = 2 * (s->len + len);
		s->buf = realloc(s->buf, s->cap);
		require(s->buf != NULL, "out of memory");
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	s->pieces++;
	if (len > s->max_piece)
		s->max_piece = len;
	return 0;
}

static void sink_close(struct sink *s)
{
	free(s->buf);
	s->buf = NULL;
}

/* --- writing an archive --- */

struct item {
	const char *name;
	uint32_t mode;
	int64_t mtime;
	uint64_t hint;
	const unsigned char *data;
	size_t len;
	size_t piece; /* zw_data() pieces of at most this (0: one piece) */
};

/* The size of the k-th piece: it->piece, or for ODD_PIECES 1 to 4999
 * bytes in a scrambled order, which never lines up with ZW_OUT_SIZE. */
#define ODD_PIECES SIZE_MAX
static size_t piece_size(const struct item *it, size_t k)
{
	if (it->piece == ODD_PIECES)
		return 1 + (k * 7919) % 4999;
	return it->piece > 0 ? it->piece : it->len;
}

static void write_item(struct zip_writer *w, const struct item *it)
{
	int rc = zw_begin(w, it->name, it->mode, it->mtime, it->hint);

	require(rc == 0, "zw_begin(\"%s\") said %d, expected 0", it->name, rc);
	for (size_t at = 0, k = 0; at < it->len; k++) {
		size_t n = piece_size(it, k);

		if (n > it->len - at)
			n = it->len - at;
		rc = zw_data(w, it->data + at, n);
		require(rc == 0,
		        "zw_data(\"%s\", %zu bytes at %zu) said %d, "
		        "expected 0",
		        it->name, n, at, rc);
		at += n;
	}
	rc = zw_end(w);
	require(rc == 0, "zw_end() of \"%s\" said %d, expected 0", it->name,
	        rc);
}

/* Writes the items into s as one archive: every call must say 0. */
static void write_archive(struct sink *s, int level, const struct item *it,
                          size_t n)
{
	struct zip_writer *w = malloc(sizeof(*w));
	int rc;

	ck_assert_ptr_nonnull(w);
	sink_open(s, SIZE_MAX);
	rc = zw_init(w, sink_write, s, level);
	ck_assert_msg(rc == 0, "zw_init(level %d) said %d", level, rc);
	for (size_t i = 0; i < n; i++)
		write_item(w, &it[i]);
	rc = zw_finish(w);
	ck_assert_msg(rc == 0, "zw_finish() said %d, expected 0", rc);
	zw_free(w);
	free(w);
	ck_assert_msg(s->max_piece <= ZW_OUT_SIZE,
	              "the sink got a piece of %zu bytes; the writer has one "
	              "buffer of ZW_OUT_SIZE (%d)",
	              s->max_piece, ZW_OUT_SIZE);
}

/* --- the test's own parser --- */

struct entry {
	/* The local header: */
	uint64_t offset;
	uint16_t version, flags, method;
	uint32_t dos_time, crc32, csize32, usize32;
	const char *name; /* in the archive: not NUL-terminated */
	size_t name_len;
	bool zip64;                /* it had a zip64 extra (0x0001) */
	size_t x_len;              /* of that extra's data */
	uint64_t x_usize, x_csize; /* its two sizes, if it had them */
	/* The data, inflated: */
	unsigned char *data;
	size_t size;
	uint64_t csize; /* the bytes its deflate stream took */
	/* The data descriptor: */
	size_t desc_len; /* 0 (none), 16 or 24 */
	uint32_t d_crc32;
	uint64_t d_csize, d_usize;
	/* The central record: */
	uint16_t c_made_by, c_version, c_flags, c_method;
	uint32_t c_dos_time, c_crc32, c_external;
	uint32_t c_csize32, c_usize32, c_offset32;
	uint64_t c_csize, c_usize, c_offset; /* with its zip64 extra read */
	size_t c_x_len; /* its zip64 extra's data: 0 if it has none */
};

struct archive {
	struct entry *e;
	size_t n, cap, centrals;
	uint64_t cd_start, cd_size; /* where the directory was, measured */
	/* The zip64 end record and locator, if any: */
	bool end64;
	uint64_t end64_at, e64_len, e64_n_disk, e64_n, e64_cd_size,
	    e64_cd_offset;
	uint16_t e64_made_by, e64_version;
	uint32_t e64_disk, e64_cd_disk, loc_disk, loc_disks;
	uint64_t loc_offset;
	/* The end record: */
	uint16_t disk, cd_disk, n_disk, n_total;
	uint32_t cd_size32, cd_offset32;
};

static void need(size_t len, size_t at, size_t n, const char *what)
{
	require(n <= len - at,
	        "the archive (%zu bytes) ends inside %s, at byte %zu", len,
	        what, at);
}

/* The data of the extra field tagged 0x0001 in x[0..len), or NULL. */
static const unsigned char *zip64_extra(const unsigned char *x, size_t len,
                                        size_t *n)
{
	while (len >= 4) {
		size_t size = zip_le16(x + 2);

		require(size <= len - 4,
		        "an extra field (tag 0x%04x) says %zu bytes, and "
		        "only %zu are left",
		        zip_le16(x), size, len - 4);
		if (zip_le16(x) == ZIP_EXTRA_ZIP64) {
			*n = size;
			return x + 4;
		}
		x += 4 + size;
		len -= 4 + size;
	}
	*n = 0;
	return NULL;
}

/* Inflates the raw deflate stream at z, which must end within len
 * bytes: its data, and how many bytes it took (e->csize). */
static void inflate_data(struct entry *e, const unsigned char *z, size_t len)
{
	z_stream s = {0};
	size_t cap = 4096;
	int zrc;

	require(inflateInit2(&s, -15) == Z_OK, "inflateInit2() failed");
	e->data = malloc(cap);
	s.next_in = (Bytef *)z;
	s.avail_in = (uInt)len;
	do {
		if (e->size == cap)
			e->data = realloc(e->data, cap *= 2);
		require(e->data != NULL, "out of memory");
		s.next_out = e->data + e->size;
		s.avail_out = (uInt)(cap - e->size);
		zrc = inflate(&s, Z_NO_FLUSH);
		e->size = cap - s.avail_out;
	} while (zrc == Z_OK);
	e->csize = s.total_in;
	inflateEnd(&s);
	require(zrc == Z_STREAM_END,
	        "\"%.*s\": inflate said %d before the end of its deflate "
	        "stream (%zu bytes inflated)",
	        (int)e->name_len, e->name, zrc, e->size);
}

static void read_descriptor(struct entry *e, const unsigned char *z, size_t len,
                            size_t at)
{
	e->desc_len = e->zip64 ? 24 : 16;
	need(len, at, e->desc_len, "a data descriptor");
	require(zip_le32(z + at) == ZIP_SIG_DESC,
	        "\"%.*s\": 0x%08x after its data, expected the "
	        "descriptor's signature 0x%08x",
	        (int)e->name_len, e->name, zip_le32(z + at), ZIP_SIG_DESC);
	e->d_crc32 = zip_le32(z + at + 4);
	e->d_csize = e->zip64 ? zip_le64(z + at + 8) : zip_le32(z + at + 8);
	e->d_usize = e->zip64 ? zip_le64(z + at + 16) : zip_le32(z + at + 12);
}

/* A local header, its data and its descriptor: where the next record is. */
static size_t parse_local(struct archive *a, const unsigned char *z, size_t len,
                          size_t at)
{
	struct entry *e;
	const unsigned char *x;
	size_t n, m;

	if (a->n == a->cap) {
		a->cap = a->cap ? 2 * a->cap : 16;
		a->e = realloc(a->e, a->cap * sizeof(*a->e));
		require(a->e != NULL, "out of memory");
	}
	e = memset(&a->e[a->n++], 0, sizeof(*e));
	need(len, at, ZIP_LOCAL_SIZE, "a local header");
	e->offset = at;
	e->version = zip_le16(z + at + 4);
	e->flags = zip_le16(z + at + 6);
	e->method = zip_le16(z + at + 8);
	e->dos_time = zip_le32(z + at + 10);
	e->crc32 = zip_le32(z + at + 14);
	e->csize32 = zip_le32(z + at + 18);
	e->usize32 = zip_le32(z + at + 22);
	n = zip_le16(z + at + 26);
	m = zip_le16(z + at + 28);
	need(len, at, ZIP_LOCAL_SIZE + n + m, "a local header's name");
	e->name = (const char *)z + at + ZIP_LOCAL_SIZE;
	e->name_len = n;
	x = zip64_extra(z + at + ZIP_LOCAL_SIZE + n, m, &e->x_len);
	e->zip64 = x != NULL;
	if (e->x_len >= 16) {
		e->x_usize = zip_le64(x);
		e->x_csize = zip_le64(x + 8);
	}
	at += ZIP_LOCAL_SIZE + n + m;
	if (e->method == ZIP_DEFLATED) {
		inflate_data(e, z + at, len - at);
		at += e->csize;
	} else { /* stored: csize32 bytes, as they are */
		require(e->method == ZIP_STORED,
		        "\"%.*s\": method %u, expected 0 or 8", (int)n, e->name,
		        e->method);
		need(len, at, e->csize32, "stored data");
		e->csize = e->size = e->csize32;
		at += e->csize;
	}
	if (e->flags & ZIP_FLAG_DESCRIPTOR) {
		read_descriptor(e, z, len, at);
		at += e->desc_len;
	}
	return at;
}

/* A 32-bit field, or if it says 0xffffffff, the next value of the zip64
 * extra (which has them in the order usize, csize, offset). */
static uint64_t wide(uint32_t v, const unsigned char **x, size_t *left,
                     const struct entry *e)
{
	uint64_t v64;

	if (v != ZIP_32BIT_MAX)
		return v;
	require(*x != NULL && *left >= 8,
	        "\"%.*s\": a central field says 0xffffffff, and its "
	        "zip64 extra has no value left for it",
	        (int)e->name_len, e->name);
	v64 = zip_le64(*x);
	*x += 8;
	*left -= 8;
	return v64;
}

/* The next central record: the k-th entry's. */
static size_t parse_central(struct archive *a, const unsigned char *z,
                            size_t len, size_t at)
{
	struct entry *e = &a->e[a->centrals];
	const unsigned char *h = z + at, *x;
	size_t n, m, k, left;

	require(a->centrals < a->n,
	        "central record %zu, and only %zu local entries",
	        a->centrals + 1, a->n);
	need(len, at, ZIP_CENTRAL_SIZE, "a central record");
	n = zip_le16(h + 28);
	m = zip_le16(h + 30);
	k = zip_le16(h + 32);
	need(len, at, ZIP_CENTRAL_SIZE + n + m + k, "a central record");
	require(n == e->name_len && memcmp(h + 46, e->name, n) == 0,
	        "central record %zu names \"%.*s\", and local entry "
	        "%zu \"%.*s\"",
	        a->centrals, (int)n, (const char *)h + 46, a->centrals,
	        (int)e->name_len, e->name);
	e->c_made_by = zip_le16(h + 4);
	e->c_version = zip_le16(h + 6);
	e->c_flags = zip_le16(h + 8);
	e->c_method = zip_le16(h + 10);
	e->c_dos_time = zip_le32(h + 12);
	e->c_crc32 = zip_le32(h + 16);
	e->c_csize32 = zip_le32(h + 20);
	e->c_usize32 = zip_le32(h + 24);
	e->c_external = zip_le32(h + 38);
	e->c_offset32 = zip_le32(h + 42);
	x = zip64_extra(h + 46 + n, m, &e->c_x_len);
	left = e->c_x_len;
	e->c_usize = wide(e->c_usize32, &x, &left, e);
	e->c_csize = wide(e->c_csize32, &x, &left, e);
	e->c_offset = wide(e->c_offset32, &x, &left, e);
	a->centrals++;
	return at + ZIP_CENTRAL_SIZE + n + m + k;
}

static size_t parse_end64(struct archive *a, const unsigned char *z, size_t len,
                          size_t at)
{
	const unsigned char *h = z + at;

	need(len, at, 56, "the zip64 end record");
	a->end64 = true;
	a->end64_at = at;
	a->e64_len = zip_le64(h + 4);
	a->e64_made_by = zip_le16(h + 12);
	a->e64_version = zip_le16(h + 14);
	a->e64_disk = zip_le32(h + 16);
	a->e64_cd_disk = zip_le32(h + 20);
	a->e64_n_disk = zip_le64(h + 24);
	a->e64_n = zip_le64(h + 32);
	a->e64_cd_size = zip_le64(h + 40);
	a->e64_cd_offset = zip_le64(h + 48);
	require(a->e64_len >= 44 && a->e64_len - 44 <= len - at - 56,
	        "the zip64 end record says it has %llu bytes after its "
	        "size field; expected 44",
	        (unsigned long long)a->e64_len);
	at += 12 + a->e64_len;
	need(len, at, 20, "the zip64 end locator");
	require(zip_le32(z + at) == ZIP_SIG_LOCATOR,
	        "0x%08x after the zip64 end record, expected the "
	        "locator's signature 0x%08x",
	        zip_le32(z + at), ZIP_SIG_LOCATOR);
	a->loc_disk = zip_le32(z + at + 4);
	a->loc_offset = zip_le64(z + at + 8);
	a->loc_disks = zip_le32(z + at + 16);
	return at + 20;
}

/* The end record: it and its comment must end the archive. */
static void parse_end(struct archive *a, const unsigned char *z, size_t len,
                      size_t at)
{
	const unsigned char *h = z + at;

	need(len, at, ZIP_END_SIZE, "the end record");
	require(zip_le32(h) == ZIP_SIG_END,
	        "0x%08x at byte %zu, expected the end record's "
	        "signature 0x%08x",
	        zip_le32(h), at, ZIP_SIG_END);
	a->disk = zip_le16(h + 4);
	a->cd_disk = zip_le16(h + 6);
	a->n_disk = zip_le16(h + 8);
	a->n_total = zip_le16(h + 10);
	a->cd_size32 = zip_le32(h + 12);
	a->cd_offset32 = zip_le32(h + 16);
	require(len - at == ZIP_END_SIZE + (size_t)zip_le16(h + 20),
	        "%zu bytes after the end record's start, expected %u "
	        "(22 and its comment)",
	        len - at, ZIP_END_SIZE + zip_le16(h + 20));
}

static uint32_t sig_at(const unsigned char *z, size_t len, size_t at)
{
	need(len, at, 4, "a signature");
	return zip_le32(z + at);
}

static void parse(struct archive *a, const struct sink *s)
{
	const unsigned char *z = s->buf;
	size_t len = s->len, at = 0;

	memset(a, 0, sizeof(*a));
	while (sig_at(z, len, at) == ZIP_SIG_LOCAL)
		at = parse_local(a, z, len, at);
	a->cd_start = at;
	while (sig_at(z, len, at) == ZIP_SIG_CENTRAL)
		at = parse_central(a, z, len, at);
	a->cd_size = at - a->cd_start;
	require(a->centrals == a->n,
	        "%zu central records for %zu local entries", a->centrals, a->n);
	if (sig_at(z, len, at) == ZIP_SIG_END64)
		at = parse_end64(a, z, len, at);
	parse_end(a, z, len, at);
}

static void archive_free(struct archive *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->e[i].data);
	free(a->e);
	a->e = NULL;
}

/* --- checks --- */

/* Field what of entry e is got; want was expected. */
static void expect(const struct entry *e, const char *what, uint64_t got,
                   uint64_t want)
{
	require(got == want,
	        "\"%.*s\": %s is %llu (0x%llx), expected %llu (0x%llx)",
	        (int)e->name_len, e->name, what, (unsigned long long)got,
	        (unsigned long long)got, (unsigned long long)want,
	        (unsigned long long)want);
}

/* The entry holds the item's data, and every place that gives its CRC-32
 * and sizes gives the right ones. */
static void check_data(const struct entry *e, const struct item *it)
{
	uint32_t crc = (uint32_t)crc32(0, it->data, (uInt)it->len);

	expect(e, "the inflated size", e->size, it->len);
	require(it->len == 0 || memcmp(e->data, it->data, it->len) == 0,
	        "\"%s\": the data inflates to other bytes than those "
	        "written",
	        it->name);
	expect(e, "the descriptor's CRC-32", e->d_crc32, crc);
	expect(e, "the descriptor's compressed size", e->d_csize, e->csize);
	expect(e, "the descriptor's uncompressed size", e->d_usize, it->len);
	expect(e, "the central CRC-32", e->c_crc32, crc);
	expect(e, "the central compressed size", e->c_csize, e->csize);
	expect(e, "the central uncompressed size", e->c_usize, it->len);
	expect(e, "the central offset", e->c_offset, e->offset);
}

/* The end record of an archive without zip64: n entries, and where and
 * how long the directory was. */
static void check_end(const struct archive *a, size_t n)
{
	require(!a->end64, "a zip64 end record, for %zu small entries", n);
	ck_assert_uint_eq(a->n, n);
	ck_assert_uint_eq(a->disk, 0);
	ck_assert_uint_eq(a->cd_disk, 0);
	ck_assert_uint_eq(a->n_disk, n);
	ck_assert_uint_eq(a->n_total, n);
	ck_assert_uint_eq(a->cd_size32, a->cd_size);
	ck_assert_uint_eq(a->cd_offset32, a->cd_start);
}

/* --- the tests --- */

/* Names: ZIP_NAME_MAX bytes go into both headers whole; one byte more
 * is ZIP_ELIMIT, and the error is kept. */
static void check_name_limit(int64_t t)
{
	char *name = malloc(ZIP_NAME_MAX + 2);
	struct zip_writer *w = malloc(sizeof(*w));
	struct sink s;
	struct archive a;
	int rc;

	ck_assert_ptr_nonnull(name);
	ck_assert_ptr_nonnull(w);
	memset(name, 'n', ZIP_NAME_MAX + 1);
	for (int i = 100; i < ZIP_NAME_MAX; i += 101)
		name[i] = '/'; /* components of 100 bytes */
	name[ZIP_NAME_MAX] = '\0';
	const struct item longest = {
	    name, S_IFREG | 0644, t, 4, (const unsigned char *)"long", 4, 0};

	write_archive(&s, Z_DEFAULT_COMPRESSION, &longest, 1);
	parse(&a, &s);
	check_end(&a, 1);
	require(a.e[0].name_len == ZIP_NAME_MAX &&
	            memcmp(a.e[0].name, name, ZIP_NAME_MAX) == 0,
	        "a name of ZIP_NAME_MAX (%d) bytes: the local header has "
	        "one of %zu bytes, expected the %d given",
	        ZIP_NAME_MAX, a.e[0].name_len, ZIP_NAME_MAX);
	check_data(&a.e[0], &longest);
	archive_free(&a);
	sink_close(&s);

	name[ZIP_NAME_MAX] = 'n';
	name[ZIP_NAME_MAX + 1] = '\0';
	sink_open(&s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, &s, Z_DEFAULT_COMPRESSION), 0);
	rc = zw_begin(w, name, S_IFREG | 0644, t, 4);
	ck_assert_msg(rc == ZIP_ELIMIT,
	              "zw_begin() of a name of %d bytes (ZIP_NAME_MAX + 1) "
	              "said %d, expected ZIP_ELIMIT (%d)",
	              ZIP_NAME_MAX + 1, rc, ZIP_ELIMIT);
	rc = zw_finish(w);
	ck_assert_msg(rc == ZIP_ELIMIT,
	              "zw_finish(), after zw_begin() had said ZIP_ELIMIT, "
	              "said %d, expected ZIP_ELIMIT (%d) again: errors are "
	              "kept",
	              rc, ZIP_ELIMIT);
	zw_free(w);
	free(w);
	sink_close(&s);
	free(name);
}

START_TEST(test_writer_layout)
{
	unsigned char *big = random_bytes(150000, 1),
	              *odd = random_bytes(999, 2);
	int64_t t = local_time(2024, 3, 5, 14, 7, 32);
	uint32_t dt = dos_time(2024, 3, 5, 14, 7, 32);
	const struct item items[] = {
	    {"hello.txt", S_IFREG | 0644, t, 13,
	     (const unsigned char *)"Hello, world\n", 13, 0},
	    {"empty", S_IFREG | 0600, t, 0, NULL, 0, 0},
	    {"na\xc3\xafve.bin", S_IFREG | 0644, 0, 150000, big, 150000, 0},
	    {"sub/odd.bin", S_IFREG | 0755, t, 999, odd, 999, 0},
	};
	size_t n = sizeof(items) / sizeof(items[0]);
	struct sink s;
	struct archive a;

	write_archive(&s, Z_DEFAULT_COMPRESSION, items, n);
	parse(&a, &s);
	check_end(&a, n);
	for (size_t i = 0; i < n; i++) {
		const struct entry *e = &a.e[i];
		uint16_t flags =
		    ZIP_FLAG_DESCRIPTOR | (i == 2 ? ZIP_FLAG_UTF8 : 0);
		uint32_t time = i == 2 ? dos_time(1980, 1, 1, 0, 0, 0) : dt;

		expect(e, "the local version needed", e->version, 20);
		expect(e, "the local flags", e->flags, flags);
		expect(e, "the local method", e->method, ZIP_DEFLATED);
		expect(e, "the local MS-DOS time", e->dos_time, time);
		expect(e, "the local CRC-32 (bit 3: 0)", e->crc32, 0);
		expect(e, "the local compressed size", e->csize32, 0);
		expect(e, "the local uncompressed size", e->usize32, 0);
		expect(e, "a local zip64 extra (bit 3, no hint)", e->zip64, 0);
		expect(e, "the descriptor's length", e->desc_len, 16);
		check_data(e, &items[i]);
		expect(e, "the central version made by", e->c_made_by,
		       3 << 8 | 20);
		expect(e, "the central version needed", e->c_version, 20);
		expect(e, "the central flags", e->c_flags, flags);
		expect(e, "the central method", e->c_method, ZIP_DEFLATED);
		expect(e, "the central MS-DOS time", e->c_dos_time, time);
		expect(e, "the central external attributes", e->c_external,
		       items[i].mode << 16);
		expect(e, "the central zip64 extra's length", e->c_x_len, 0);
	}
	archive_free(&a);
	sink_close(&s);
	free(big);
	free(odd);
	check_name_limit(t);
}
END_TEST

enum { TEXT_LEN = 512 * 1024, RANDOM_LEN = 256 * 1024, STREAM_LEN = 1 << 20 };

/* What a writer holds of an entry when zw_data() returns: no more than
 * its buffer and deflate's (a window, a block of symbols). */
static void check_streams(void)
{
	unsigned char *data = random_bytes(STREAM_LEN, 9);
	struct zip_writer *w = malloc(sizeof(*w));
	struct sink s;

	ck_assert_ptr_nonnull(w);
	sink_open(&s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, &s, Z_DEFAULT_COMPRESSION), 0);
	ck_assert_int_eq(zw_begin(w, "stream", S_IFREG | 0644, 0, STREAM_LEN),
	                 0);
	ck_assert_int_eq(zw_data(w, data, STREAM_LEN), 0);
	ck_assert_msg(s.len >= STREAM_LEN - 4 * ZW_OUT_SIZE,
	              "after zw_data() of %d random bytes, the sink had "
	              "%zu: the writer holds the entry instead of sending "
	              "each buffer on as it fills",
	              STREAM_LEN, s.len);
	ck_assert_int_eq(zw_end(w), 0);
	ck_assert_int_eq(zw_finish(w), 0);
	zw_free(w);
	free(w);
	sink_close(&s);
	free(data);
}

START_TEST(test_writer_deflates)
{
	static const int levels[] = {Z_DEFAULT_COMPRESSION, 9, 0};
	unsigned char *text = text_bytes(TEXT_LEN, 3);
	unsigned char *rnd = random_bytes(RANDOM_LEN, 4);
	const struct item items[] = {
	    {"text", S_IFREG | 0644, 0, TEXT_LEN, text, TEXT_LEN, 0},
	    {"random", S_IFREG | 0644, 0, RANDOM_LEN, rnd, RANDOM_LEN, 0},
	    {"empty", S_IFREG | 0644, 0, 0, NULL, 0, 0},
	    {"one", S_IFREG | 0644, 0, 1, (const unsigned char *)"!", 1, 0},
	};
	size_t n = sizeof(items) / sizeof(items[0]);

	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		struct sink s;
		struct archive a;

		write_archive(&s, levels[l], items, n);
		parse(&a, &s);
		check_end(&a, n);
		for (size_t i = 0; i < n; i++)
			check_data(&a.e[i], &items[i]);
		if (levels[l] != 0)
			ck_assert_msg(a.e[0].csize < TEXT_LEN / 3,
			              "level %d: %d bytes of text deflate to "
			              "%llu, expected less than a third",
			              levels[l], TEXT_LEN,
			              (unsigned long long)a.e[0].csize);
		else
			ck_assert_msg(a.e[0].csize >= TEXT_LEN,
			              "level 0: %d bytes of text deflate to "
			              "%llu: the level is not deflate's",
			              TEXT_LEN,
			              (unsigned long long)a.e[0].csize);
		ck_assert_msg(a.e[1].csize <= RANDOM_LEN + 1024,
		              "level %d: %d random bytes deflate to %llu",
		              levels[l], RANDOM_LEN,
		              (unsigned long long)a.e[1].csize);
		archive_free(&a);
		sink_close(&s);
	}
	free(text);
	free(rnd);
	check_streams();
}
END_TEST

enum { PIECES_LEN = 96 * 1024 };

/* A sink that keeps the count and the last 256 bytes: enough to read the
 * central directory of one entry too big to keep. */
struct tail_sink {
	unsigned char last[256];
	uint64_t total;
};

static int tail_write(void *arg, const void *buf, size_t len)
{
	struct tail_sink *t = arg;
	const unsigned char *p = buf;

	for (size_t i = len > 256 ? len - 256 : 0; i < len; i++) {
		memmove(t->last, t->last + 1, 255);
		t->last[255] = p[i];
	}
	t->total += len;
	return 0;
}

/* One zw_data() of more than zlib takes at once (avail_in is a uInt: the
 * writer hands it the bytes a gigabyte at a time): every byte counts, in
 * order. The gigabyte is untouched anonymous memory (zeros, no RSS); the
 * page after it is text, which a writer that re-read its first gigabyte
 * would never see. Level 0: only the bytes are under test. */
static void check_one_huge_piece(void)
{
	const size_t big = ((size_t)1 << 30) + 4096;
	unsigned char *m =
	    mmap(NULL, big, PROT_READ | PROT_WRITE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct zip_writer *w = malloc(sizeof(*w));
	struct tail_sink t = {{0}, 0};

	require(m != MAP_FAILED && w != NULL, "out of memory");
	for (size_t i = 0; i < 4096; i++)
		m[big - 4096 + i] = (unsigned char)("the tail, "[i % 10]);
	ck_assert_int_eq(zw_init(w, tail_write, &t, 0), 0);
	ck_assert_int_eq(zw_begin(w, "huge.bin", S_IFREG | 0644, 0, big), 0);
	ck_assert_int_eq(zw_data(w, m, big), 0);
	ck_assert_int_eq(zw_end(w), 0);
	ck_assert_int_eq(zw_finish(w), 0);
	uint32_t want = (uint32_t)crc32(0, m, (uInt)big);
	/* The end record's directory size, then the one record's CRC-32. */
	const unsigned char *end = t.last + 256 - 22;
	uint32_t cd = zip_le32(end + 12);
	require(cd <= 256 - 22, "a central directory of %u bytes", cd);
	uint32_t crc = zip_le32(end - cd + 16);
	ck_assert_msg(crc == want,
	              "one zw_data() of %zu bytes: the directory says CRC-32 "
	              "%08x, the bytes' is %08x (a gigabyte at a time: the "
	              "second must start where the first ended)",
	              big, crc, want);
	zw_free(w);
	free(w);
	munmap(m, big);
}

START_TEST(test_writer_pieces)
{
	static const size_t pieces[] = {0, 1, ODD_PIECES};
	static const char *const what[] = {"one piece", "1-byte pieces",
	                                   "pieces of 1 to 4999 bytes"};
	unsigned char *data = text_bytes(PIECES_LEN, 5);
	unsigned char *rnd = random_bytes(PIECES_LEN / 2, 6);

	/* Half text, half random: both kinds of deflate block. */
	memcpy(data + PIECES_LEN / 2, rnd, PIECES_LEN / 2);
	free(rnd);
	for (size_t p = 0; p < 3; p++) {
		const struct item items[] = {
		    {"a.bin", S_IFREG | 0644, 0, PIECES_LEN, data, PIECES_LEN,
		     pieces[p]},
		    {"b.bin", S_IFREG | 0644, 0, 0, data, PIECES_LEN / 3,
		     pieces[p]},
		};
		struct sink s;
		struct archive a;

		write_archive(&s, Z_DEFAULT_COMPRESSION, items, 2);
		parse(&a, &s);
		ck_assert_msg(a.n == 2, "%s: %zu entries, expected 2", what[p],
		              a.n);
		check_data(&a.e[0], &items[0]);
		check_data(&a.e[1], &items[1]);
		archive_free(&a);
		sink_close(&s);
	}
	free(data);
	check_one_huge_piece();
}
END_TEST

/* Calls out of order: zw_data() with no entry open is ZIP_ESIZE; an
 * entry still open when zw_begin() or zw_finish() comes is ended there,
 * whole, with its descriptor. */
static void check_out_of_order(int64_t t)
{
	unsigned char *text = text_bytes(3000, 10);
	const struct item items[] = {
	    {"open.txt", S_IFREG | 0644, t, 3000, text, 3000, 0},
	    {"open/", S_IFDIR | 0755, t, 0, NULL, 0, 0},
	    {"last.txt", S_IFREG | 0644, t, 1000, text + 2000, 1000, 0},
	};
	struct zip_writer *w = malloc(sizeof(*w));
	struct sink s;
	struct archive a;
	int rc;

	ck_assert_ptr_nonnull(w);
	/* No entry begun. */
	sink_open(&s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, &s, Z_DEFAULT_COMPRESSION), 0);
	rc = zw_data(w, "x", 1);
	ck_assert_msg(rc == ZIP_ESIZE,
	              "zw_data() of a byte right after zw_init(), no entry "
	              "begun, said %d, expected ZIP_ESIZE (%d)",
	              rc, ZIP_ESIZE);
	zw_free(w);
	sink_close(&s);
	/* The entry ended by zw_end(): none is open. */
	sink_open(&s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, &s, Z_DEFAULT_COMPRESSION), 0);
	ck_assert_int_eq(zw_begin(w, "a", S_IFREG | 0644, t, 1), 0);
	ck_assert_int_eq(zw_data(w, "a", 1), 0);
	ck_assert_int_eq(zw_end(w), 0);
	rc = zw_data(w, "x", 1);
	ck_assert_msg(rc == ZIP_ESIZE,
	              "zw_data() of a byte after zw_end(), no entry open, "
	              "said %d, expected ZIP_ESIZE (%d)",
	              rc, ZIP_ESIZE);
	zw_free(w);
	sink_close(&s);

	/* No zw_end() at all: zw_begin() ends "open.txt" and "open/",
	 * zw_finish() "last.txt". */
	sink_open(&s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, &s, Z_DEFAULT_COMPRESSION), 0);
	for (size_t i = 0; i < 3; i++) {
		rc =
		    zw_begin(w, items[i].name, items[i].mode, t, items[i].hint);
		require(rc == 0,
		        "zw_begin(\"%s\") with the entry before it still "
		        "open said %d, expected 0",
		        items[i].name, rc);
		rc = items[i].len ? zw_data(w, items[i].data, items[i].len) : 0;
		require(rc == 0,
		        "zw_data(\"%s\", %zu bytes) said %d, "
		        "expected 0",
		        items[i].name, items[i].len, rc);
	}
	rc = zw_finish(w);
	ck_assert_msg(rc == 0,
	              "zw_finish() with \"last.txt\" still open said %d, "
	              "expected 0",
	              rc);
	zw_free(w);
	free(w);
	parse(&a, &s);
	check_end(&a, 3);
	check_data(&a.e[0], &items[0]);
	expect(&a.e[0], "the local flags", a.e[0].flags, ZIP_FLAG_DESCRIPTOR);
	expect(&a.e[1], "the local method", a.e[1].method, ZIP_STORED);
	expect(&a.e[1], "the descriptor's length", a.e[1].desc_len, 0);
	expect(&a.e[1], "the central compressed size", a.e[1].c_csize, 0);
	check_data(&a.e[2], &items[2]);
	archive_free(&a);
	sink_close(&s);
	free(text);
}

START_TEST(test_writer_folders)
{
	int64_t t = local_time(2001, 9, 9, 3, 46, 40);
	const struct item items[] = {
	    {"docs/", S_IFDIR | 0755, t, 0, NULL, 0, 0},
	    {"docs/a.txt", S_IFREG | 0644, t, 2, (const unsigned char *)"a\n",
	     2, 0},
	    {"docs/empty/", S_IFDIR | 0700, t, 0, NULL, 0, 0},
	};
	struct zip_writer *w;
	struct sink s;
	struct archive a;
	int rc;

	write_archive(&s, Z_DEFAULT_COMPRESSION, items, 3);
	parse(&a, &s);
	check_end(&a, 3);
	for (size_t i = 0; i < 3; i += 2) {
		const struct entry *e = &a.e[i];

		expect(e, "the local version needed", e->version, 20);
		expect(e, "the local flags (no bit 3)", e->flags, 0);
		expect(e, "the local method", e->method, ZIP_STORED);
		expect(e, "the local MS-DOS time", e->dos_time,
		       dos_time(2001, 9, 9, 3, 46, 40));
		expect(e, "the local CRC-32", e->crc32, 0);
		expect(e, "the local compressed size", e->csize32, 0);
		expect(e, "the local uncompressed size", e->usize32, 0);
		expect(e, "the descriptor's length", e->desc_len, 0);
		expect(e, "the central flags", e->c_flags, 0);
		expect(e, "the central method", e->c_method, ZIP_STORED);
		expect(e, "the central CRC-32", e->c_crc32, 0);
		expect(e, "the central compressed size", e->c_csize, 0);
		expect(e, "the central uncompressed size", e->c_usize, 0);
		expect(e, "the central offset", e->c_offset, e->offset);
		expect(e, "the central external attributes", e->c_external,
		       items[i].mode << 16);
		expect(e, "the central version made by", e->c_made_by,
		       3 << 8 | 20);
	}
	check_data(&a.e[1], &items[1]);
	expect(&a.e[1], "the local flags", a.e[1].flags, ZIP_FLAG_DESCRIPTOR);
	archive_free(&a);
	sink_close(&s);

	/* A folder has no data to give. */
	w = malloc(sizeof(*w));
	ck_assert_ptr_nonnull(w);
	sink_open(&s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, &s, Z_DEFAULT_COMPRESSION), 0);
	ck_assert_int_eq(zw_begin(w, "dir/", S_IFDIR | 0755, t, 0), 0);
	rc = zw_data(w, "x", 1);
	ck_assert_msg(rc == ZIP_ESIZE,
	              "zw_data() of a byte into a folder said %d, "
	              "expected ZIP_ESIZE (%d)",
	              rc, ZIP_ESIZE);
	zw_free(w);
	free(w);
	sink_close(&s);
	check_out_of_order(t);
}
END_TEST

START_TEST(test_writer_zip64)
{
	unsigned char *text = text_bytes(5000, 7);
	const struct item items[] = {
	    {"unknown", S_IFREG | 0644, 0, ZW_SIZE_UNKNOWN, text, 5000, 0},
	    {"edge", S_IFREG | 0644, 0, 0xffffffffu, text, 10, 0},
	    {"below", S_IFREG | 0644, 0, 0xfffffffeu, text, 10, 0},
	};
	struct sink s;
	struct archive a;

	write_archive(&s, Z_DEFAULT_COMPRESSION, items, 3);
	parse(&a, &s);
	check_end(&a, 3);
	for (size_t i = 0; i < 2; i++) {
		const struct entry *e = &a.e[i];

		expect(e, "the local version needed", e->version, 45);
		expect(e, "a local zip64 extra", e->zip64, 1);
		expect(e, "the local zip64 extra's length", e->x_len, 16);
		expect(e, "the local zip64 extra's uncompressed size",
		       e->x_usize, 0);
		expect(e, "the local zip64 extra's compressed size", e->x_csize,
		       0);
		ck_assert_msg((e->csize32 == 0 && e->usize32 == 0) ||
		                  (e->csize32 == ZIP_32BIT_MAX &&
		                   e->usize32 == ZIP_32BIT_MAX),
		              "\"%s\": local sizes 0x%x and 0x%x, expected "
		              "both 0 or both 0xffffffff",
		              items[i].name, e->csize32, e->usize32);
		expect(e, "the descriptor's length", e->desc_len, 24);
		check_data(e, &items[i]);
		expect(e, "the central version made by", e->c_made_by,
		       3 << 8 | 45);
		expect(e, "the central version needed", e->c_version, 45);
		expect(e, "the central zip64 extra's length (all fits)",
		       e->c_x_len, 0);
	}
	expect(&a.e[2], "the local version needed", a.e[2].version, 20);
	expect(&a.e[2], "a local zip64 extra", a.e[2].zip64, 0);
	expect(&a.e[2], "the descriptor's length", a.e[2].desc_len, 16);
	check_data(&a.e[2], &items[2]);
	archive_free(&a);
	sink_close(&s);
	free(text);
}
END_TEST

/* n folders: their archive, parsed. */
static void write_folders(struct archive *a, struct sink *s, size_t n)
{
	struct zip_writer *w = malloc(sizeof(*w));
	char name[24];
	int rc = 0;

	ck_assert_ptr_nonnull(w);
	sink_open(s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, s, Z_DEFAULT_COMPRESSION), 0);
	for (size_t i = 0; i < n && rc == 0; i++) {
		snprintf(name, sizeof(name), "%05zu/", i);
		if ((rc = zw_begin(w, name, S_IFDIR | 0755, 0, 0)) == 0)
			rc = zw_end(w);
	}
	ck_assert_msg(rc == 0, "folder %s: %d", name, rc);
	ck_assert_int_eq(zw_finish(w), 0);
	zw_free(w);
	free(w);
	parse(a, s);
}

START_TEST(test_writer_zip64_end)
{
	struct sink s;
	struct archive a;

	write_folders(&a, &s, 65534);
	check_end(&a, 65534);
	archive_free(&a);
	sink_close(&s);

	/* 0xffff entries: the end record's count says 0xffff, which means
	 * "see the zip64 end record", so there must be one. */
	write_folders(&a, &s, 65535);
	ck_assert_msg(a.end64,
	              "65535 (0xffff) entries: no zip64 end record; expected "
	              "one at 0xffff entries or more");
	ck_assert_uint_eq(a.e64_n_disk, 65535);
	ck_assert_uint_eq(a.e64_n, 65535);
	ck_assert_uint_eq(a.e64_cd_size, a.cd_size);
	ck_assert_uint_eq(a.e64_cd_offset, a.cd_start);
	ck_assert_uint_eq(a.loc_offset, a.end64_at);
	ck_assert_uint_eq(a.n_disk, 0xffff);
	ck_assert_uint_eq(a.n_total, 0xffff);
	archive_free(&a);
	sink_close(&s);

	write_folders(&a, &s, 65536);
	ck_assert_msg(a.end64, "no zip64 end record for 65536 entries");
	ck_assert_uint_eq(a.e64_len, 44);
	ck_assert_uint_eq(a.e64_made_by & 0xff, 45);
	ck_assert_uint_eq(a.e64_version, 45);
	ck_assert_uint_eq(a.e64_disk, 0);
	ck_assert_uint_eq(a.e64_cd_disk, 0);
	ck_assert_uint_eq(a.e64_n_disk, 65536);
	ck_assert_uint_eq(a.e64_n, 65536);
	ck_assert_uint_eq(a.e64_cd_size, a.cd_size);
	ck_assert_uint_eq(a.e64_cd_offset, a.cd_start);
	ck_assert_uint_eq(a.loc_disk, 0);
	ck_assert_uint_eq(a.loc_offset, a.end64_at);
	ck_assert_uint_eq(a.loc_disks, 1);
	ck_assert_uint_eq(a.n_disk, 0xffff);
	ck_assert_uint_eq(a.n_total, 0xffff);
	ck_assert_msg(a.cd_size32 == a.cd_size || a.cd_size32 == ZIP_32BIT_MAX,
	              "the end record's directory size is %u; expected %llu "
	              "or 0xffffffff",
	              a.cd_size32, (unsigned long long)a.cd_size);
	ck_assert_msg(a.cd_offset32 == a.cd_start ||
	                  a.cd_offset32 == ZIP_32BIT_MAX,
	              "the end record's directory offset is %u; expected "
	              "%llu or 0xffffffff",
	              a.cd_offset32, (unsigned long long)a.cd_start);
	archive_free(&a);
	sink_close(&s);
}
END_TEST

/* Past 0xffffffff bytes without zip64: ZIP_ESIZE before those bytes are
 * taken. The 4 GiB are mapped PROT_NONE: a writer that reads (deflates,
 * sums) any of them before it refuses gets SIGSEGV, and the test fails
 * saying so. */
static sigjmp_buf fault_jump;

static void on_fault(int sig)
{
	(void)sig;
	siglongjmp(fault_jump, 1);
}

/* zw_data(w, buf, len); *faulted says whether it touched memory it
 * could not read (SIGSEGV or SIGBUS), which ends the call there. */
static int data_or_fault(struct zip_writer *w, const void *buf, size_t len,
                         bool *faulted)
{
	struct sigaction sa, old_segv, old_bus;
	volatile int rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	*faulted = false;
	if (sigsetjmp(fault_jump, 1) == 0)
		rc = zw_data(w, buf, len);
	else
		*faulted = true;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	return rc;
}

START_TEST(test_writer_size_limit)
{
	size_t big = (size_t)ZIP_32BIT_MAX - 9; /* 10 + this: 2^32 */
	unsigned char *zeros =
	    mmap(NULL, big, PROT_NONE,
	         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	struct zip_writer *w = malloc(sizeof(*w));
	struct sink s;
	bool faulted;
	int rc;

	ck_assert_msg(zeros != MAP_FAILED, "mmap() of 4 GiB failed");
	ck_assert_ptr_nonnull(w);
	sink_open(&s, SIZE_MAX);
	ck_assert_int_eq(zw_init(w, sink_write, &s, 1), 0);
	ck_assert_int_eq(zw_begin(w, "small", S_IFREG | 0644, 0, 100), 0);
	ck_assert_int_eq(zw_data(w, "0123456789", 10), 0);
	rc = data_or_fault(w, zeros, big, &faulted);
	ck_assert_msg(!faulted,
	              "zw_data() taking an entry of size_hint 100 to 2^32 "
	              "bytes read them (SIGSEGV: they are mapped PROT_NONE); "
	              "expected ZIP_ESIZE (%d) before any of them is read",
	              ZIP_ESIZE);
	ck_assert_msg(rc == ZIP_ESIZE,
	              "zw_data() taking an entry of size_hint 100 to 2^32 "
	              "bytes said %d, expected ZIP_ESIZE (%d), before "
	              "reading any of them",
	              rc, ZIP_ESIZE);
	ck_assert_int_eq(zw_end(w), ZIP_ESIZE);
	ck_assert_int_eq(zw_finish(w), ZIP_ESIZE);
	zw_free(w);
	free(w);
	sink_close(&s);
	munmap(zeros, big);
}
END_TEST

/* The calls of one archive, against a sink that fails at byte fail_at
 * (SIZE_MAX: never): each call's result in rc[], its name in what[]. */
enum { CALLS = 11, SAMPLE_LEN = 100000 };
static void sample_archive(struct sink *s, size_t fail_at,
                           const unsigned char *data, int rc[CALLS],
                           const char *what[CALLS])
{
	struct zip_writer *w = malloc(sizeof(*w));
	size_t k = 0;

	ck_assert_ptr_nonnull(w);
	sink_open(s, fail_at);
	rc[k] = zw_init(w, sink_write, s, Z_DEFAULT_COMPRESSION);
	what[k++] = "zw_init()";
	rc[k] = zw_begin(w, "a", S_IFREG | 0644, 0, SAMPLE_LEN);
	what[k++] = "zw_begin(\"a\")";
	rc[k] = zw_data(w, data, 60000);
	what[k++] = "zw_data(\"a\", 60000 bytes)";
	rc[k] = zw_data(w, data + 60000, SAMPLE_LEN - 60000);
	what[k++] = "zw_data(\"a\", 40000 bytes)";
	rc[k] = zw_end(w);
	what[k++] = "zw_end() of \"a\"";
	rc[k] = zw_begin(w, "d/", S_IFDIR | 0755, 0, 0);
	what[k++] = "zw_begin(\"d/\")";
	rc[k] = zw_end(w);
	what[k++] = "zw_end() of \"d/\"";
	rc[k] = zw_begin(w, "b", S_IFREG | 0644, 0, ZW_SIZE_UNKNOWN);
	what[k++] = "zw_begin(\"b\")";
	rc[k] = zw_data(w, data, 5000);
	what[k++] = "zw_data(\"b\", 5000 bytes)";
	rc[k] = zw_end(w);
	what[k++] = "zw_end() of \"b\"";
	rc[k] = zw_finish(w);
	what[k++] = "zw_finish()";
	zw_free(w); /* wherever the error left it: mid-entry, say */
	free(w);
}

/* The sample archive against a sink failing at byte at of its total: the
 * first error is the sink's, every call after it says it again, and the
 * sink is never called again. */
static void check_fails_at(size_t at, size_t total, const unsigned char *data)
{
	int rc[CALLS];
	const char *what[CALLS];
	size_t first = CALLS;
	struct sink s;

	sample_archive(&s, at, data, rc, what);
	for (size_t k = 0; k < CALLS; k++) {
		if (first == CALLS && rc[k] != 0)
			first = k;
		ck_assert_msg(first == CALLS || rc[k] == SINK_ERROR,
		              "sink failing at byte %zu: %s said %d, expected "
		              "the sink's error %d (%s)",
		              at, what[k], rc[k], SINK_ERROR,
		              k == first ? "the first error" : "errors stick");
	}
	ck_assert_msg(first < CALLS,
	              "the sink failed at byte %zu of %zu, and every call "
	              "said 0",
	              at, total);
	ck_assert_msg(s.calls_after == 0,
	              "sink failing at byte %zu: it was called %zu times after "
	              "it failed",
	              at, s.calls_after);
	sink_close(&s);
}

START_TEST(test_writer_sink_error)
{
	static const size_t at[] = {
	    0,               /* the first local header */
	    30,              /* its name */
	    ZW_OUT_SIZE - 1, /* the first buffer's last byte */
	    ZW_OUT_SIZE,     /* the second buffer's first */
	    SAMPLE_LEN,      /* the middle of "a"'s data */
	};
	unsigned char *data = random_bytes(SAMPLE_LEN, 8);
	int rc[CALLS];
	const char *what[CALLS];
	struct sink s;
	struct archive a;
	size_t total, cd;

	/* Once whole: its size, and where its directory starts. */
	sample_archive(&s, SIZE_MAX, data, rc, what);
	for (size_t k = 0; k < CALLS; k++)
		ck_assert_msg(rc[k] == 0,
		              "%s said %d with a sink that never fails",
		              what[k], rc[k]);
	parse(&a, &s);
	total = s.len;
	cd = a.cd_start;
	archive_free(&a);
	sink_close(&s);

	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		check_fails_at(at[i], total, data);
	check_fails_at(cd - 1, total, data);    /* the last entry's end */
	check_fails_at(cd + 50, total, data);   /* the directory */
	check_fails_at(total - 1, total, data); /* the end record */
	free(data);
}
END_TEST

static Suite *zipwrite_suite(void)
{
	Suite *s = suite_create("zipwrite");

	TEST_ADD(s, test_writer_layout, 10);
	TEST_ADD(s, test_writer_deflates, 10);
	TEST_ADD(s, test_writer_pieces, 10);
	TEST_ADD(s, test_writer_folders, 10);
	TEST_ADD(s, test_writer_zip64, 10);
	TEST_ADD(s, test_writer_zip64_end, 10);
	TEST_ADD(s, test_writer_size_limit, 10);
	TEST_ADD(s, test_writer_sink_error, 10);
	return s;
}

TEST_MAIN(zipwrite_suite)
