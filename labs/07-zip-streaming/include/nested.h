/* nested.h - archives inside archives (lab 7, given).
 *
 * A zip holding a zip is common and harmless: a .docx, a .jar, a photo
 * album zipped twice. An extractor that does not recurse writes the inner
 * zip as the file it is. But the file is on its way to someone who may
 * open it -- a virus scanner, an indexer, the next upload handler -- and
 * 42.zip is 42 KB that becomes 4.5 PB that way: 16 zips, each of 16 zips,
 * five levels down, each last one a 4.3 GB file of zeros.
 *
 * So each entry's first bytes are looked at as they are extracted. An
 * entry that starts like a zip (PK\3\4) is read as one, alongside, by a
 * second reader that writes nothing: its entries are looked at the same
 * way, one level deeper, and so on. An archive at a depth past max_depth
 * is refused, ZIP_ENESTED; an entry at any depth that inflates past the
 * ratio limit is ZIP_EBOMB, as at the top. Anything that turns out not to
 * be a readable zip is only a file: no error, and no more looking.
 *
 * Cost: a reader (about 430 KiB) per level while an entry at that level
 * is an archive, and the inflating of what is inside it (once, as it
 * passes). None at all for entries that are not zips.
 */
#ifndef NESTED_H
#define NESTED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct zip_entry;
struct zip_reader;

struct zip_nest {
	unsigned depth;     /* of the archive whose entries this looks at + 1 */
	unsigned max_depth; /* archives deeper than this: ZIP_ENESTED */
	uint64_t max_ratio, ratio_floor; /* extract.h's, for inner entries */
	/* Private, for the entry being extracted: */
	unsigned char head[4]; /* its first bytes */
	size_t nhead;
	bool done;              /* it is not an archive (or no longer read) */
	struct zip_reader *rd;  /* reading it as an archive, or NULL */
	struct zip_nest *inner; /* looking at that archive's entries */
};

/* Looks at the entries of an archive at depth-1 (the upload: depth 1). */
void nest_init(struct zip_nest *n, unsigned depth, unsigned max_depth,
               uint64_t max_ratio, uint64_t ratio_floor);
/* The entry's next bytes, as extracted: 0, ZIP_ENESTED or ZIP_EBOMB. */
int nest_data(struct zip_nest *n, const void *buf, size_t len);
/* The ratio rule, the same at every depth (extract.c's on_data() for the
 * archive's own entries, inner_data() here for those inside): past
 * ratio_floor bytes of output, an entry whose output is more than
 * max_ratio times its input so far is a bomb (ZIP_EBOMB). */
bool nest_over_ratio(const struct zip_entry *e, uint64_t max_ratio,
                     uint64_t ratio_floor);
/* The entry has ended: ready for the next one. */
void nest_end(struct zip_nest *n);
void nest_free(struct zip_nest *n);

#endif
