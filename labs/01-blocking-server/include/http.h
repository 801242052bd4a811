/* http.h - HTTP/1.1 request parsing and response heads (lab 1).
 *
 * The parser never reads from a socket. It looks at the bytes received so far
 * and says one of three things: "a complete request head is here, it is N
 * bytes long", "not yet, read more", or "this can never become a valid
 * request, answer with status S". Because it only ever looks at a buffer, the
 * same parser serves the blocking server of lab 1 and the event loops of
 * labs 2 and 3, where a request arrives in as many pieces as the network likes.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stdbool.h>
#include <stddef.h>

/* Limits. Going past one is the client's fault and gets a 4xx, never a crash.
 */
enum {
	HTTP_MAX_REQUEST_LINE = 8192, /* "GET /path HTTP/1.1\r\n" longer: 414 */
	HTTP_MAX_HEAD = 16384, /* whole head (line + headers) longer: 431 */
	HTTP_MAX_HEADERS = 32, /* more header lines than this: 431 */
};

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_OTHER };

/* A view into the caller's buffer: not NUL-terminated, valid while it is. */
struct http_str {
	const char *p;
	size_t n;
};

struct http_header {
	struct http_str name;
	struct http_str value; /* leading and trailing spaces/tabs removed */
};

struct http_request {
	enum http_method method;
	struct http_str method_name; /* as sent, e.g. "DELETE" */
	struct http_str target;      /* "/files/a.txt?x=1" */
	struct http_str path;        /* "/files/a.txt" */
	struct http_str query;       /* "x=1" (n == 0 when absent) */
	int version_minor;           /* 0 for HTTP/1.0, 1 for HTTP/1.1 */
	size_t nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t content_length; /* 0 when absent */
	bool chunked;          /* Transfer-Encoding: chunked (lab 7 reads it) */
	bool keep_alive;       /* what the client asked for (used from lab 2) */
};

/* Parses the request head at the start of buf[0..len).
 *
 * Returns the length of the head (through the blank line) when it is
 * complete and valid; 0 when the bytes so far are a valid beginning and more
 * are needed; or a negative HTTP status when they can never be valid:
 *   -400 malformed (also: chunked together with Content-Length), -414
 *   request line too long, -431 head too large or too many headers, -501 a
 *   Transfer-Encoding other than chunked, -505 a well-formed version other
 *   than HTTP/1.0 and HTTP/1.1.
 * Limits are enforced while incomplete too, so a client cannot make the
 * server buffer without bound by never finishing its request. Lines end in
 * CRLF; a bare LF is accepted, as most servers do. */
long http_parse_request(const char *buf, size_t len, struct http_request *req);

/* Looks up a header by name, ignoring case. Returns NULL when absent. */
const struct http_str *http_header_get(const struct http_request *req,
                                       const char *name);

/* True when s equals the C string lit exactly. */
bool http_str_eq(struct http_str s, const char *lit);

/* The reason phrase of a status code ("Not Found"), "Unknown" if unlisted. */
const char *http_reason(int status);

/* content_length for a body whose length nobody knows yet (lab 7's
 * downloads): the head says "Transfer-Encoding: chunked" instead, and the
 * body goes in chunks, each led by its size (RFC 9112, 7.1). */
#define HTTP_CHUNKED ((size_t)-1)

/* Writes a response head into out[0..cap):
 *   HTTP/1.1 <status> <reason>\r\n
 *   Content-Length: <content_length>\r\n  (or, for HTTP_CHUNKED,
 *                                          Transfer-Encoding: chunked\r\n)
 *   Content-Type: <content_type>\r\n      (omitted when content_type is NULL)
 *   <extra>                               (each line ending in \r\n; may be
 *                                          NULL)
 *   Connection: keep-alive | close\r\n
 *   \r\n
 * Returns its length, or -ENOSPC when it does not fit. */
long http_format_head(char *out, size_t cap, int status,
                      const char *content_type, size_t content_length,
                      const char *extra, bool keep_alive);

#endif
