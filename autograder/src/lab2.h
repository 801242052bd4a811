/* lab2.h - lab 2's checks, re-run by the tables of later labs. */
#ifndef LAB2_H
#define LAB2_H

#include "grader.h"

enum verdict lab2_keep_alive_curl(struct grader *g, const struct check *c,
                                  struct result *r);
enum verdict lab2_pipelined(struct grader *g, const struct check *c,
                            struct result *r);
enum verdict lab2_concurrent_keepalive(struct grader *g, const struct check *c,
                                       struct result *r);
enum verdict lab2_vanish_mid_request(struct grader *g, const struct check *c,
                                     struct result *r);
enum verdict lab2_fd_setsize_wall(struct grader *g, const struct check *c,
                                  struct result *r);
enum verdict lab2_trickle(struct grader *g, const struct check *c,
                          struct result *r);
enum verdict lab2_sleepers(struct grader *g, const struct check *c,
                           struct result *r);
enum verdict lab2_idle_cpu(struct grader *g, const struct check *c,
                           struct result *r);

/* Lab 1's leak scenario plus keep-alive, pipelining and connections left
 * open at SIGTERM; the cleanup closes those after the server stopped. */
void lab2_leak_scenario(struct grader *g, int port);
void lab2_leak_cleanup(struct grader *g);

#endif
