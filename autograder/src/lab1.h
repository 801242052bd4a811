/* lab1.h - lab 1's probes, reused by the tables of later labs, whose servers
 * must still pass everything lab 1 checked. */
#ifndef LAB1_H
#define LAB1_H

#include <stdbool.h>

#include "grader.h"
#include "probe.h"
#include "target.h"

/* Starts a fresh server for check c. */
bool lab1_serve(struct grader *g, const struct check *c, struct target *t,
                struct result *r);

/* Explains a dead server, kills it; returns v (FAIL if it had died). */
enum verdict lab1_done(struct target *t, struct result *r, enum verdict v);

/* One raw request; true when the status is want (else r explains). */
bool lab1_expect(struct result *r, int port, const char *req, size_t len,
                 int want, struct http_reply *out);

/* A client that asks for a big file and resets the connection mid-way. */
int lab1_vanish(int port);

#endif
