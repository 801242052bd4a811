/* fuzz_zip.c - lab 7's streaming ZIP reader (zipread.c), fed any bytes in
 * any pieces.
 *
 *   byte 0      a seed for the piece sizes (1..300 bytes; 0: all at once)
 *   the rest    the archive
 *
 * The archive is read twice: all at once, and in the pieces the seed
 * gives. Checked, besides "no sanitizer error":
 *   - both readings give the same events: each callback but on_data,
 *     its entry's name, flags, method, offset and CRC-32 and sizes, the
 *     CRC-32 of the entry's data bytes (however on_data's pieces were
 *     cut), and the same result -- how the network cuts an upload may not
 *     change what it contains;
 *   - on_data's pieces are at most ZR_OUT_SIZE and not empty, e->out
 *     counts them, and no callback comes after an error;
 *   - an entry that ends without flag bit 3 produced exactly the size and
 *     CRC-32 its header declared.
 * The inflated output is capped (a callback says ZIP_EBOMB past 64 MiB),
 * as the extractor's limits would: a bomb is not a bug of the reader.
 */
#define FUZZ_NAME "fuzz_zip"
#include "fuzz.h"

#include <string.h>
#include <zlib.h>

#include "zipread.h"

enum { OUT_CAP = 64 << 20 };

struct log {
	uLong hash;     /* CRC-32 of every event, in order */
	uint64_t total; /* bytes inflated */
	size_t events;
	int failed;   /* an error was returned: no more callbacks */
	uint32_t crc; /* of the current entry's data */
};

static void event(struct log *l, const void *p, size_t n)
{
	if (l->failed)
		fuzz_fail("a callback after zr_feed() returned %d", l->failed);
	l->hash = crc32(l->hash, p, (uInt)n);
	l->events++;
}

static void entry_event(struct log *l, char kind, const struct zip_entry *e)
{
	/* Field by field: a struct's padding would hash as noise. */
	uint64_t f[] = {(uint64_t)kind, e->flags, e->method, e->crc32,
	                e->csize,       e->usize, e->offset};

	event(l, f, sizeof(f));
	event(l, e->name, strlen(e->name));
}

static int on_entry(void *arg, const struct zip_entry *e)
{
	struct log *l = arg;

	entry_event(l, 'E', e);
	l->crc = 0;
	return 0;
}

static int on_data(void *arg, const struct zip_entry *e, const void *buf,
                   size_t len)
{
	struct log *l = arg;

	if (len == 0 || len > ZR_OUT_SIZE)
		fuzz_fail("on_data got a piece of %zu bytes", len);
	if (l->failed)
		fuzz_fail("on_data after zr_feed() returned %d", l->failed);
	/* The bytes count, not how they were cut: an inflate call makes
	 * what the input it was given allows. */
	l->crc = (uint32_t)crc32(l->crc, buf, (uInt)len);
	l->total += len;
	(void)e;
	return l->total > OUT_CAP ? ZIP_EBOMB : 0;
}

static int on_entry_end(void *arg, const struct zip_entry *e)
{
	struct log *l = arg;

	entry_event(l, 'e', e);
	event(l, &l->crc, sizeof(l->crc));
	if (e->crc32 != l->crc)
		fuzz_fail("%s ended with CRC-32 %08x, its data's is %08x",
		          e->name, e->crc32, l->crc);
	if (e->usize != e->out)
		fuzz_fail("%s ended with usize %llu after %llu bytes", e->name,
		          (unsigned long long)e->usize,
		          (unsigned long long)e->out);
	return 0;
}

static int on_central(void *arg, const struct zip_entry *c)
{
	entry_event(arg, 'C', c);
	return 0;
}

static int on_end(void *arg, uint64_t entries)
{
	event(arg, &entries, sizeof(entries));
	return 0;
}

static const struct zr_callbacks callbacks = {on_entry, on_data, on_entry_end,
                                              on_central, on_end};

static struct zip_reader reader; /* 200 KiB: not on the stack */

/* Reads in[0..len) in the pieces the seed gives; the result of the last
 * call (an error stops it). */
static int read_all(const uint8_t *in, size_t len, unsigned seed, struct log *l)
{
	int rc;
	size_t at = 0;

	memset(l, 0, sizeof(*l));
	if (zr_init(&reader, &callbacks, l) != 0)
		fuzz_fail("zr_init failed");
	do {
		seed = seed * 1103515245u + 12345u;
		size_t piece =
		    seed == 12345u ? len - at : 1 + (seed >> 16) % 300;
		if (piece > len - at)
			piece = len - at;
		rc = zr_feed(&reader, in + at, piece);
		at += piece;
	} while (rc == 0 && at < len);
	if (rc == 0)
		rc = zr_finish(&reader);
	l->failed = rc;
	l->hash = crc32(l->hash, (const Bytef *)&rc, sizeof(rc));
	zr_free(&reader);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct log whole, pieces;

	if (size < 1)
		return 0;
	int a = read_all(data + 1, size - 1, 0, &whole);
	int b = read_all(data + 1, size - 1, data[0] + 1u, &pieces);
	if (a != b || whole.hash != pieces.hash ||
	    whole.events != pieces.events) {
		fuzz_show("input", data + 1, size - 1);
		fuzz_fail("all at once: %d events, result %d; in pieces (seed "
		          "%u): %d events, result %d",
		          (int)whole.events, a, data[0], (int)pieces.events, b);
	}
	return 0;
}
