/* util.h - small file and process helpers of the grader (trusted code only). */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>

/* The whole file, NUL-terminated (malloc'ed), length in *len; NULL on error. */
char *read_file(const char *path, size_t *len);

int write_file(const char *path, const void *data, size_t len);
int copy_file(const char *from, const char *to);

/* A file student code could have made or replaced (a log it wrote, a
 * submitted file): read only if it is a regular file and not a link, and
 * at most cap bytes of it. NUL-terminated, malloc'ed; NULL with errno set
 * (ELOOP for a link, EINVAL for a device, FIFO or folder). */
char *read_untrusted(const char *path, size_t cap, size_t *len);

/* cp -R FROM INTO/ (FROM's last component appears inside INTO); cp's
 * messages are appended to log (NULL: dropped). */
int copy_tree(const char *from, const char *into, const char *log);

/* The last cap bytes of a file of the grader's (all of it if smaller),
 * from the first whole line in them; NUL-terminated, malloc'ed; NULL on
 * error. */
char *read_tail(const char *path, size_t cap);

/* rm -rf PATH. */
int remove_tree(const char *path);

/* Runs argv (trusted programs only), waits; returns the exit status or a
 * negative errno. Output goes to /dev/null unless log is given. */
int run_trusted(char *const argv[], const char *log);

/* Copies the text of <tag>...</tag> between p and end into buf, decoding
 * the XML entities Check writes. */
void xml_field(const char *p, const char *end, const char *tag, char *buf,
               size_t cap);

#endif
