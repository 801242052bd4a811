/* lab7.h - what lab7.c (the tool's checks) shares with lab7srv.c (the
 * server's): reading back a folder a student's program wrote, and the
 * folder the grader archives. */
#ifndef LAB7_H
#define LAB7_H

#include <stdbool.h>
#include <stdint.h>

#include "grader.h"

enum { MAX_NODES = 4096 };

struct node {
	char type; /* f, d; l (a symbolic link), x (anything else) */
	char name[1100];
	uint64_t size;
	uint32_t crc;
};

struct tree {
	struct node *n;
	int len;
	bool overflow; /* more than MAX_NODES: not all seen */
};

/* Everything below dir, "a/b" for b in a, read without following a link. */
void lab7_survey_dir(const char *dir, struct tree *t);
/* Empties the run folder. */
void lab7_clear_run(struct grader *g);
/* t holds x/ exactly as wanted (names "x/..."), and nothing else. The first
 * difference in buf, or "" when there is none. */
void lab7_compare(const struct tree *t, const struct node *want, int n,
                  char *buf, size_t cap);
/* n bytes of text (kind 0), random bytes (1) or runs (2). */
void lab7_fill(unsigned char *p, size_t n, int kind, uint32_t seed);
/* The run folder's src/: six files and four folders, every kind the
 * writer must handle; want gets them as "y/...". 0 or -errno. */
int lab7_make_source(struct grader *g, struct tree *want);

/* lab7srv.c's checks: the server. */
enum verdict lab7_upload(struct grader *g, const struct check *c,
                         struct result *r);
enum verdict lab7_upload_chunked(struct grader *g, const struct check *c,
                                 struct result *r);
enum verdict lab7_upload_refused(struct grader *g, const struct check *c,
                                 struct result *r);
enum verdict lab7_client_leaves(struct grader *g, const struct check *c,
                                struct result *r);
enum verdict lab7_download(struct grader *g, const struct check *c,
                           struct result *r);
enum verdict lab7_stats(struct grader *g, const struct check *c,
                        struct result *r);
enum verdict lab7_upload_memory(struct grader *g, const struct check *c,
                                struct result *r);
enum verdict lab7_slow_uploader(struct grader *g, const struct check *c,
                                struct result *r);
enum verdict lab7_download_memory(struct grader *g, const struct check *c,
                                  struct result *r);

/* The server under valgrind: good (a zip) published, bad refused, uploads
 * and downloads abandoned, and some in flight at SIGTERM. 0 and its log in
 * l, or -1 and why. */
struct vglog;
int lab7_server_leaks(struct grader *g, const char *good, const char *bad,
                      struct vglog *l, char *why, size_t cap);

#endif
