/* app.h - what the server says, separated from how it talks (given code).
 *
 * app_handle() turns one parsed request into one response in memory. It does
 * no network I/O, so every server in the course (blocking, select, epoll, ...)
 * shares it and only changes how the bytes travel.
 */
#ifndef APP_H
#define APP_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

enum {
	APP_MAX_SLEEP_MS = 10000,
	APP_MAX_FILE = 256 << 20,
};

struct app_response;

struct app_config {
	const char *root;   /* directory served under /files/, NULL: none */
	int idle_timeout;   /* ms, from --idle-timeout; 0: default (lab 3 on) */
	int header_timeout; /* ms, from --header-timeout; 0: default (lab 3 on)
	                     */
	/* The server's way in, from lab 3 on (the routes a later lab adds,
	 * server.h), or NULL: tried before app_handle()'s own routes, for
	 * every method (a route answers 405 itself if it must).
	 * Returns 1 when it answered into res, 0 to let app_handle() route
	 * the request, or -ENOMEM. */
	int (*route)(void *arg, const struct http_request *req,
	             struct app_response *res);
	/* Whether the server reads this request's body (a route then takes
	 * the request and reads it, server.h), with route_arg; NULL: no body
	 * is ever read (labs 1-6). */
	bool (*reads_body)(void *arg, const struct http_request *req);
	void *route_arg;
};

struct app_response {
	int status;
	const char *content_type; /* static string or NULL */
	char extra[128]; /* extra header lines, e.g. "Allow: GET, HEAD\r\n" */
	char *body;      /* malloc'ed (free with app_response_free) */
	size_t body_len; /* Content-Length (also for HEAD) */
	int send_body;   /* 0 for HEAD: the head promises body_len bytes,
	                    none follow */
	int sleep_ms;    /* > 0: wait this long before answering (/sleep) */
	int held;        /* the server answers later (lab 4 on): this
	                    response only keeps the request's place, a
	                    sleep that conn_release() ends */
};

/* Routes:
 *   GET|HEAD /              a short greeting
 *   GET|HEAD /sleep?ms=N    the same after N ms (0..APP_MAX_SLEEP_MS); the
 *                           app only asks for the delay: the server does it
 *   GET|HEAD /files/NAME    the file root/NAME, read whole into memory
 *   anything else           404; a method other than GET/HEAD: 405
 * Returns 0, or -ENOMEM (res is then a 500 with no body). */
int app_handle(const struct app_config *cfg, const struct http_request *req,
               struct app_response *res);

/* A request with a body that the server will not read: its bytes would be
 * taken for the next request (request smuggling), so it gets 413 and its
 * connection closes. Until a lab reads bodies (cfg->reads_body), that is
 * every request with a body. */
bool app_refuses_body(const struct app_config *cfg,
                      const struct http_request *req);

/* The rules of /files/NAME, for a later lab's own file routes (lab 5):
 * whether NAME may be asked for at all (no "..", absolute path or empty
 * part; no '\\', '%' or control character: 403 otherwise), and the
 * Content-Type its suffix gives it (a static string). */
bool app_file_name_ok(struct http_str name);
const char *app_file_type(struct http_str name);

/* A response for a request that could not be parsed (status 400..505). */
void app_error(int status, struct app_response *res);

void app_response_free(struct app_response *res);

#endif
