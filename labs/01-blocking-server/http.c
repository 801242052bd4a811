/* http.c - HTTP/1.1 request parsing and response heads (lab 1).
 *
 * You write http_parse_request(); the helpers below it are given.
 */
#include "http.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static bool str_case_eq(struct http_str s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

long http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	/* TODO(lab 1): parse the request head at the start of buf[0..len).
	 *
	 * A request head looks like this; every line ends in "\r\n":
	 *
	 *     GET /files/a.txt?x=1 HTTP/1.1\r\n     the request line
	 *     Host: localhost:8080\r\n              header lines,
	 *     Accept: text/plain\r\n                "Name: value"
	 *     \r\n                                  the empty line: the end
	 *
	 * You are called again every time more bytes arrive, each time with
	 * everything received so far, and the bytes may stop anywhere: in
	 * the middle of a word, or between a '\r' and its '\n'. Return
	 *   0          while what has arrived is fine but the empty line has
	 *              not (zero everything in *req first, and keep no state
	 *              between calls: parsing again from the start is cheap);
	 *   the length of the head, through the empty line's '\n', once it
	 *              is all there and valid (bytes after it belong to the
	 *              next request: leave them alone);
	 *   -STATUS    as soon as the request can never be valid.
	 *
	 * Suggested steps (small static helpers make each one short):
	 *
	 * 1. Find the end of the request line with memchr(buf, '\n', ...).
	 *    Lines end in "\r\n", or a bare "\n": drop the '\r' if present.
	 *    If no '\n' is among the first HTTP_MAX_REQUEST_LINE bytes and len
	 *    has reached that, return -414. Check this before the '\n' comes,
	 *    or a client that never sends one makes you buffer forever --
	 *    and before step 2: too long and malformed is -414.
	 *
	 * 2. Split the line at single spaces into METHOD TARGET VERSION.
	 *    METHOD is one or more "token" characters: letters, digits and
	 *    !#$%&'*+-.^_`|~ . Set method_name, and method to HTTP_GET,
	 *    HTTP_HEAD or HTTP_OTHER (case matters: "get" is HTTP_OTHER).
	 *    TARGET starts with '/' and holds visible ASCII only (0x21..0x7e);
	 *    it splits at its first '?' into path and query.
	 *    VERSION is exactly "HTTP/" digit '.' digit: HTTP/1.0 and HTTP/1.1
	 *    set version_minor; any other version of that shape is -505;
	 *    anything else (and any missing or extra space) is -400.
	 *
	 * 3. Every following line up to the empty one is a header: a name of
	 *    one or more token characters, ':', then the value. Nothing may
	 *    come between name and ':' ("Host : x" is -400). Remove spaces and
	 *    tabs around the value; control characters in it (below 0x20 but
	 *    tab, and 0x7f) are -400. More than HTTP_MAX_HEADERS headers is
	 *    -431 (as soon as the extra line's first byte, not a lone '\r',
	 *    is there), and so is a head longer than HTTP_MAX_HEAD bytes --
	 *    again check that before the end of the head arrives.
	 *
	 * 4. Once the empty line is there: a Transfer-Encoding header sets
	 *    chunked if its value is "chunked" (any case; lab 7 reads such
	 *    bodies), and is -501 with any other value (a coding we cannot
	 *    undo); a second one is -400. Content-Length must be digits only
	 *    (mind overflow), and a second one must agree with the first:
	 *    -400 otherwise. Both chunked and a Content-Length: -400 (which
	 *    one frames the body? request smuggling lives in that doubt).
	 * keep_alive is true for HTTP/1.1 unless a Connection header lists
	 * "close", and for HTTP/1.0 only if one lists "keep-alive" (a
	 * comma-separated list; compare ignoring case).
	 *
	 * Pitfalls:
	 * - buf is not a C string: no '\0' ends it, and a client can send
	 *   '\0' bytes. Use lengths and memchr(), never strlen()/strchr().
	 * - The http_str fields point into buf; copy nothing.
	 * - Test every prefix of a valid request: each must return 0.
	 * - Reporting a bad line as soon as it is complete, without waiting
	 *   for the empty line, is what makes the server answer garbage
	 *   promptly (test_read_request_bad).
	 */
	(void)buf;
	(void)len;
	(void)req;
	return -501; /* "Not Implemented", literally */
}

const struct http_str *http_header_get(const struct http_request *req,
                                       const char *name)
{
	for (size_t i = 0; i < req->nheaders; i++) {
		if (str_case_eq(req->headers[i].name, name))
			return &req->headers[i].value;
	}
	return NULL;
}

bool http_str_eq(struct http_str s, const char *lit)
{
	/* memcmp() wants a valid pointer even for 0 bytes; s.p may be NULL. */
	return s.n == strlen(lit) && (s.n == 0 || memcmp(s.p, lit, s.n) == 0);
}

const char *http_reason(int status)
{
	static const struct {
		int status;
		const char *reason;
	} reasons[] = {
	    {200, "OK"},
	    {201, "Created"},
	    {206, "Partial Content"},
	    {400, "Bad Request"},
	    {403, "Forbidden"},
	    {404, "Not Found"},
	    {405, "Method Not Allowed"},
	    {408, "Request Timeout"},
	    {409, "Conflict"},
	    {413, "Content Too Large"},
	    {416, "Range Not Satisfiable"},
	    {422, "Unprocessable Content"},
	    {414, "URI Too Long"},
	    {431, "Request Header Fields Too Large"},
	    {500, "Internal Server Error"},
	    {501, "Not Implemented"},
	    {503, "Service Unavailable"},
	    {505, "HTTP Version Not Supported"},
	};

	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (reasons[i].status == status)
			return reasons[i].reason;
	}
	return "Unknown";
}

long http_format_head(char *out, size_t cap, int status,
                      const char *content_type, size_t content_length,
                      const char *extra, bool keep_alive)
{
	bool typed = content_type != NULL;
	char length[48];
	int n;

	if (content_length == HTTP_CHUNKED)
		snprintf(length, sizeof(length), "Transfer-Encoding: chunked");
	else
		snprintf(length, sizeof(length), "Content-Length: %zu",
		         content_length);
	n = snprintf(out, cap,
	             "HTTP/1.1 %d %s\r\n"
	             "%s\r\n"
	             "%s%s%s"
	             "%s"
	             "Connection: %s\r\n"
	             "\r\n",
	             status, http_reason(status), length,
	             typed ? "Content-Type: " : "", typed ? content_type : "",
	             typed ? "\r\n" : "", extra != NULL ? extra : "",
	             keep_alive ? "keep-alive" : "close");

	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
