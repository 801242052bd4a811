/* nested.c - archives inside archives (lab 7, given; nested.h). */
#include <stdlib.h>
#include <string.h>

#include "nested.h"
#include "zip.h"
#include "zipread.h"

static const unsigned char local_sig[4] = {'P', 'K', 3, 4};

void nest_init(struct zip_nest *n, unsigned depth, unsigned max_depth,
               uint64_t max_ratio, uint64_t ratio_floor)
{
	memset(n, 0, sizeof(*n));
	n->depth = depth;
	n->max_depth = max_depth;
	n->max_ratio = max_ratio;
	n->ratio_floor = ratio_floor;
}

bool nest_over_ratio(const struct zip_entry *e, uint64_t max_ratio,
                     uint64_t ratio_floor)
{
	/* No input counted yet (a stored entry's first piece): as 1 byte,
	 * so the rule still holds and nothing divides by zero. */
	uint64_t in = e->in ? e->in : 1;

	return e->out > ratio_floor && e->out / in > max_ratio;
}

/* What the inner reader finds: its entries are looked at one level down. */
static int inner_entry(void *arg, const struct zip_entry *e)
{
	(void)e;
	nest_end(((struct zip_nest *)arg)->inner);
	return 0;
}

static int inner_data(void *arg, const struct zip_entry *e, const void *buf,
                      size_t len)
{
	struct zip_nest *n = arg;

	if (nest_over_ratio(e, n->max_ratio, n->ratio_floor))
		return ZIP_EBOMB;
	return nest_data(n->inner, buf, len);
}

static int inner_end(void *arg, const struct zip_entry *e)
{
	(void)e;
	nest_end(((struct zip_nest *)arg)->inner);
	return 0;
}

/* The directory: only the extractor of the top archive judges it. */
static int inner_central(void *arg, const struct zip_entry *c)
{
	(void)arg, (void)c;
	return 0;
}

static int inner_done(void *arg, uint64_t entries)
{
	(void)arg, (void)entries;
	return 0;
}

static const struct zr_callbacks inner = {
    .on_entry = inner_entry,
    .on_data = inner_data,
    .on_entry_end = inner_end,
    .on_central = inner_central,
    .on_end = inner_done,
};

/* The entry starts like a zip: read it as one. */
static int open_inner(struct zip_nest *n)
{
	if (n->depth > n->max_depth)
		return ZIP_ENESTED;
	if (!n->inner && !(n->inner = malloc(sizeof(*n->inner))))
		return ZIP_ENOMEM;
	nest_init(n->inner, n->depth + 1, n->max_depth, n->max_ratio,
	          n->ratio_floor);
	if (!(n->rd = malloc(sizeof(*n->rd))))
		return ZIP_ENOMEM;
	if (zr_init(n->rd, &inner, n) < 0) {
		free(n->rd);
		n->rd = NULL;
		return ZIP_ENOMEM;
	}
	return zr_feed(n->rd, n->head, sizeof(n->head));
}

/* An inner error is the outer archive's only if it is about nesting or
 * a bomb; anything else means this entry was never a zip to worry about. */
static int judge(struct zip_nest *n, int rc)
{
	if (rc == 0 || rc == ZIP_ENESTED || rc == ZIP_EBOMB || rc == ZIP_ENOMEM)
		return rc;
	nest_end(n);
	n->done = true;
	return 0;
}

int nest_data(struct zip_nest *n, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	int rc;

	if (n->done || len == 0)
		return 0;
	if (n->nhead < sizeof(n->head)) {
		size_t k = sizeof(n->head) - n->nhead;
		if (k > len)
			k = len;
		memcpy(n->head + n->nhead, p, k);
		n->nhead += k, p += k, len -= k;
		if (n->nhead < sizeof(n->head))
			return 0;
		if (memcmp(n->head, local_sig, sizeof(local_sig)) != 0) {
			n->done = true;
			return 0;
		}
		if ((rc = judge(n, open_inner(n))) < 0 || n->done)
			return rc;
	}
	return len > 0 ? judge(n, zr_feed(n->rd, p, len)) : 0;
}

void nest_end(struct zip_nest *n)
{
	if (n->rd) {
		zr_free(n->rd);
		free(n->rd);
		n->rd = NULL;
	}
	if (n->inner)
		nest_end(n->inner);
	n->nhead = 0;
	n->done = false;
}

void nest_free(struct zip_nest *n)
{
	nest_end(n);
	if (n->inner) {
		nest_free(n->inner);
		free(n->inner);
		n->inner = NULL;
	}
}
