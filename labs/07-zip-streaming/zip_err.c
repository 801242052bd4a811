/* zip_err.c - the names and sentences of lab 7's errors (given). */
#include <stddef.h>

#include "zip.h"

struct zip_error_text {
	int err;
	const char *name;
	const char *text;
};

static const struct zip_error_text texts[] = {
    {ZIP_OK, "ok", "no error"},
    {ZIP_ENOTZIP, "not-zip", "not a ZIP archive"},
    {ZIP_EPREFIXED, "prefixed",
     "bytes before the first header (a self-extractor?)"},
    {ZIP_ETRUNCATED, "truncated", "the archive ends too soon"},
    {ZIP_EENCRYPTED, "encrypted", "an entry is encrypted"},
    {ZIP_EUNSUPPORTED, "unsupported",
     "a compression method or layout this reader does not do"},
    {ZIP_ESTOREDDESC, "stored-descriptor",
     "a stored entry with its size after the data: no end a stream "
     "can find"},
    {ZIP_ECORRUPT, "corrupt", "a damaged header or deflate stream"},
    {ZIP_ECRC, "crc", "an entry's CRC-32 is not its data's"},
    {ZIP_ESIZE, "size", "an entry's size is not its data's"},
    {ZIP_ESLIP, "zip-slip", "a name that is not a safe relative path"},
    {ZIP_ESYMLINK, "symlink", "an entry is a symbolic link"},
    {ZIP_EBOMB, "bomb", "over the output or ratio limit"},
    {ZIP_ELIMIT, "limit", "too many entries or too long a name"},
    {ZIP_EDUPLICATE, "duplicate", "a name that is already taken"},
    {ZIP_EMISMATCH, "mismatch",
     "the central directory disagrees with the entries"},
    {ZIP_ENESTED, "nested", "archives inside archives, deeper than the limit"},
    {ZIP_EIO, "io", "reading or writing a file failed"},
    {ZIP_ENOMEM, "nomem", "out of memory"},
};

static const struct zip_error_text *find(int err)
{
	for (unsigned i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		if (texts[i].err == err)
			return &texts[i];
	return NULL;
}

const char *zip_errname(int err)
{
	const struct zip_error_text *t = find(err);

	return t ? t->name : "unknown";
}

const char *zip_strerror(int err)
{
	const struct zip_error_text *t = find(err);

	return t ? t->text : "an unknown error";
}
