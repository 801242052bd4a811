/* fuzz.h - what both harnesses share: failing loudly, showing bytes.
 *
 * A broken property is a crash to libFuzzer: the harness prints what broke
 * and aborts, libFuzzer catches SIGABRT, writes the input to a crash-* file
 * and stops. The message comes first, so the selftest can quote it.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Prints "HARNESS: PROPERTY BROKEN: what" and aborts. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void
fuzz_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: PROPERTY BROKEN: ", FUZZ_NAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* Prints up to 80 bytes of p[0..n) as a C string literal, to stderr: the
 * bytes around a failure, readable in a terminal whatever they are. Before
 * fuzz_fail(), so each line starts with the harness's name too. */
static inline void fuzz_show(const char *label, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t shown = n < 80 ? n : 80;

	fprintf(stderr, "%s:   %s (%zu bytes): \"", FUZZ_NAME, label, n);
	for (size_t i = 0; i < shown; i++) {
		if (s[i] == '\r')
			fputs("\\r", stderr);
		else if (s[i] == '\n')
			fputs("\\n", stderr);
		else if (s[i] == '"' || s[i] == '\\')
			fprintf(stderr, "\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			fprintf(stderr, "\\x%02x", s[i]);
		else
			fputc(s[i], stderr);
	}
	fprintf(stderr, "\"%s\n", shown < n ? "..." : "");
}

#endif
