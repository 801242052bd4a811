/* cp437.h - CP437 names to UTF-8 (given, lab 7). */
#ifndef CP437_H
#define CP437_H

#include <stddef.h>

/* Converts n bytes of CP437 into out (cap bytes, no NUL written): the
 * length of the UTF-8, or -1 if it does not fit. */
long cp437_to_utf8(const unsigned char *in, size_t n, char *out, size_t cap);

#endif
