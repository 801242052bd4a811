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

/* Sends GET / on fd and reads its answer within ms: the time it took, or
 * -1 without a 200. */
double lab2_get_root_on(int fd, int ms);
/* CPU time the server uses in the next ms milliseconds; -1 if unknown. */
double lab2_cpu_during(struct target *t, int ms);

/* integration.emfile_pause, in the words of a lab's loop: the server runs
 * out of descriptors with a client waiting to be accepted. */
struct emfile_words {
	int cpu_ms;            /* how long CPU is measured while it is out */
	const char *not_fatal; /* after "... not a fatal error" */
	const char *spin;      /* after "keeps the listening socket readable, " */
	const char *waits;     /* after "the loop itself waits" */
	const char *freed;     /* when: after "a descriptor was freed ... " */
	const char *no_resume; /* after "no answer within 1.5 s (why)" */
};
enum verdict lab2_emfile_pause_in(struct grader *g, const struct check *c,
                                  struct result *r,
                                  const struct emfile_words *w);

/* Lab 1's leak scenario plus keep-alive, pipelining and connections left
 * open at SIGTERM; the cleanup closes those after the server stopped. */
void lab2_leak_scenario(struct grader *g, int port);
void lab2_leak_cleanup(struct grader *g);

#endif
