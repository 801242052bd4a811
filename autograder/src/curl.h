/* curl.h - real requests from curl(1), the client students use themselves. */
#ifndef CURL_H
#define CURL_H

#include <stddef.h>

#include "grader.h"

struct curl_reply {
	int status; /* 0 when curl got no response */
	char *head; /* the response head as received */
	char *body;
	size_t body_len;
	char cmd[512]; /* the command line, for the student to re-run */
	char err[256]; /* curl's own error message, if any */
};

/* Runs curl against http://127.0.0.1:port<path> with extra options (e.g.
 * "--head"), at most timeout_s seconds. Returns 0 when curl got a response. */
int curl_fetch(struct grader *g, int port, const char *path,
               const char *const extra[], int timeout_s, struct curl_reply *c);

void curl_reply_free(struct curl_reply *c);

#endif
