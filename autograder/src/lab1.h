/* lab1.h - lab 1's probes, reused by the tables of later labs, whose servers
 * must still pass everything lab 1 checked. */
#ifndef LAB1_H
#define LAB1_H

#include <stdbool.h>
#include <string.h>

#include "grader.h"
#include "probe.h"
#include "target.h"

/* A request line made a whole request, kept alive (REQ) or asking the
 * server to close after its answer (REQ_CLOSE): REQ("GET /"). */
#define REQ(line) line " HTTP/1.1\r\nHost: grader\r\n\r\n"
#define REQ_CLOSE(line)                                                        \
	line " HTTP/1.1\r\nHost: grader\r\nConnection: close\r\n\r\n"

/* Creates the --root folder every lab's server serves. */
int lab1_setup(struct grader *g);

/* The requests lab 1's server runs through under valgrind. */
void lab1_leak_scenario(struct grader *g, int port);

/* Explains a dead server, kills it; returns v (FAIL if it had died). */
enum verdict lab1_done(struct target *t, struct result *r, enum verdict v);

/* One raw request; true when the status is want (else r explains). */
bool lab1_expect(struct result *r, int port, const char *req, size_t len,
                 int want, struct http_reply *out);

/* lab1_expect() of a C string, its reply not kept. */
#define EXPECT(r, port, req, want)                                             \
	lab1_expect((r), (port), (req), strlen(req), (want), NULL)

/* A client that asks for a big file and resets the connection mid-way. */
int lab1_vanish(int port);

/* Lab 1's checks, listed again (re-run) in the tables of later labs. */
enum verdict lab1_get_root(struct grader *g, const struct check *c,
                           struct result *r);
enum verdict lab1_head_root(struct grader *g, const struct check *c,
                            struct result *r);
enum verdict lab1_large_file(struct grader *g, const struct check *c,
                             struct result *r);
enum verdict lab1_traversal(struct grader *g, const struct check *c,
                            struct result *r);
enum verdict lab1_not_found(struct grader *g, const struct check *c,
                            struct result *r);
enum verdict lab1_method_405(struct grader *g, const struct check *c,
                             struct result *r);
enum verdict lab1_malformed_400(struct grader *g, const struct check *c,
                                struct result *r);
enum verdict lab1_uri_414(struct grader *g, const struct check *c,
                          struct result *r);
enum verdict lab1_headers_431(struct grader *g, const struct check *c,
                              struct result *r);
enum verdict lab1_byte_at_a_time(struct grader *g, const struct check *c,
                                 struct result *r);
enum verdict lab1_client_vanishes(struct grader *g, const struct check *c,
                                  struct result *r);
enum verdict lab1_many_connections(struct grader *g, const struct check *c,
                                   struct result *r);
enum verdict lab1_sleep_route(struct grader *g, const struct check *c,
                              struct result *r);
enum verdict lab1_clean_exit(struct grader *g, const struct check *c,
                             struct result *r);
enum verdict lab1_sequential(struct grader *g, const struct check *c,
                             struct result *r);
enum verdict lab1_bad_waiter(struct grader *g, const struct check *c,
                             struct result *r);

#endif
