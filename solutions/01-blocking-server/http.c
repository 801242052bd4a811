/* http.c - HTTP/1.1 request parsing and response heads (lab 1).
 *
 * The parser keeps no state between calls: it parses the whole buffer again
 * each time more bytes arrive. A head is at most HTTP_MAX_HEAD bytes, so that
 * costs little, and it means there is no half-finished state to get wrong.
 *
 * Each line is checked as far as it has arrived, so "can never be valid" is
 * noticed at the first bad byte, not when the line or the head ends.
 */
#include "http.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* One line of the head: buf[start..end) without its CRLF or LF, and the
 * offset of the line after it. complete is false while its LF is missing. */
struct line {
	size_t start, end, next;
	bool complete;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The characters of a method or header name (RFC 9110 "tchar"). */
static bool is_tchar(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* The characters of a request target: visible ASCII, no spaces. */
static bool is_vchar(char c)
{
	return c > 0x20 && c < 0x7f;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* The characters of a header value: anything but control characters (tab
 * is fine). Bytes >= 0x80 pass, as old clients send Latin-1. */
static bool is_field_char(char c)
{
	unsigned char u = (unsigned char)c;

	return u == '\t' || (u >= 0x20 && u != 0x7f);
}

/* The offset of the first byte of s[i..n) that is not ok, or n. */
static size_t span(const char *s, size_t n, size_t i, bool (*ok)(char))
{
	while (i < n && ok(s[i]))
		i++;
	return i;
}

static bool str_case_eq(struct http_str s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

/* What it means that a line ended where an element should have continued:
 * malformed if that was the whole line, else the rest is still coming. */
static int ran_out(bool complete)
{
	return complete ? -400 : 0;
}

/* Finds the line starting at buf[start] among the bytes buf[0..lim). */
static struct line next_line(const char *buf, size_t start, size_t lim)
{
	struct line l = {start, lim, lim, false};
	const char *lf = memchr(buf + start, '\n', lim - start);

	if (lf != NULL) {
		l.end = (size_t)(lf - buf);
		l.next = l.end + 1;
		l.complete = true;
	}
	/* Before an LF, a CR ends the line; at the end of an incomplete line
	 * it may be the first half of a CRLF. Either way it is not content. */
	if (l.end > start && buf[l.end - 1] == '\r')
		l.end--;
	return l;
}

static void split_target(struct http_request *req, const char *s, size_t n)
{
	const char *q = memchr(s, '?', n);
	size_t path_len = q != NULL ? (size_t)(q - s) : n;

	req->target = (struct http_str){s, n};
	req->path = (struct http_str){s, path_len};
	if (q != NULL)
		req->query = (struct http_str){q + 1, n - path_len - 1};
	else
		req->query = (struct http_str){s + n, 0};
}

/* "HTTP/" DIGIT "." DIGIT, of which the first n bytes have arrived. */
static int parse_version(const char *s, size_t n, bool complete, int *minor)
{
	static const char pattern[] = "HTTP/#.#"; /* '#': any digit */
	size_t want = sizeof(pattern) - 1;

	if (n > want)
		return -400;
	for (size_t i = 0; i < n; i++) {
		if (pattern[i] == '#' ? !is_digit(s[i]) : s[i] != pattern[i])
			return -400;
	}
	if (n < want)
		return ran_out(complete);
	/* Well-formed, but a version we do not speak: a different error. */
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return -505;
	*minor = s[7] - '0';
	return 0;
}

/* "METHOD SP TARGET SP VERSION", of which s[0..n) has arrived. */
static int parse_request_line(const char *s, size_t n, bool complete,
                              struct http_request *req)
{
	size_t i = span(s, n, 0, is_tchar);

	if (i == n)
		return ran_out(complete);
	if (i == 0 || s[i] != ' ')
		return -400;
	req->method_name = (struct http_str){s, i};
	if (http_str_eq(req->method_name, "GET"))
		req->method = HTTP_GET;
	else if (http_str_eq(req->method_name, "HEAD"))
		req->method = HTTP_HEAD;
	else
		req->method = HTTP_OTHER;

	size_t t = i + 1;
	if (t < n && s[t] != '/')
		return -400;
	i = span(s, n, t, is_vchar);
	if (i == n)
		return ran_out(complete);
	if (i == t || s[i] != ' ')
		return -400;
	split_target(req, s + t, i - t);

	return parse_version(s + i + 1, n - i - 1, complete,
	                     &req->version_minor);
}

/* "NAME:" OWS VALUE OWS, of which s[0..n) has arrived. */
static int parse_header(const char *s, size_t n, bool complete,
                        struct http_header *h)
{
	size_t i = span(s, n, 0, is_tchar);

	if (i == n)
		return ran_out(complete);
	/* A space before the colon is refused, not trimmed: proxies disagree
	 * on what it means, and that disagreement is an attack (RFC 9112). */
	if (i == 0 || s[i] != ':')
		return -400;

	size_t a = span(s, n, i + 1, is_ows);
	size_t b = n;
	while (b > a && is_ows(s[b - 1]))
		b--;
	if (span(s, b, a, is_field_char) != b)
		return -400;
	h->name = (struct http_str){s, i};
	h->value = (struct http_str){s + a, b - a};
	return 0;
}

/* Content-Length is 1*DIGIT. A repeat must agree with the first, or two
 * servers on the path could disagree on where the body ends. */
static int parse_length(struct http_request *req, struct http_str v, bool *seen)
{
	size_t n = 0;

	if (v.n == 0)
		return -400;
	for (size_t i = 0; i < v.n; i++) {
		size_t d = (size_t)(v.p[i] - '0');

		if (!is_digit(v.p[i]) || n > (SIZE_MAX - d) / 10)
			return -400;
		n = n * 10 + d;
	}
	if (*seen && n != req->content_length)
		return -400;
	*seen = true;
	req->content_length = n;
	return 0;
}

/* True when the comma-separated list v holds tok, ignoring case. */
static bool has_token(struct http_str v, const char *tok)
{
	size_t i = 0;

	while (i < v.n) {
		size_t a = span(v.p, v.n, i, is_ows);
		const char *comma = memchr(v.p + a, ',', v.n - a);
		size_t b = comma != NULL ? (size_t)(comma - v.p) : v.n;

		i = b + 1;
		while (b > a && is_ows(v.p[b - 1]))
			b--;
		if (str_case_eq((struct http_str){v.p + a, b - a}, tok))
			return true;
	}
	return false;
}

/* Transfer-Encoding: the chunked framing alone, once (lab 7 reads such
 * bodies); any other coding is one this server cannot undo. */
static int transfer_encoding(struct http_request *req, struct http_str value)
{
	if (!str_case_eq(value, "chunked"))
		return -501;
	if (req->chunked)
		return -400; /* chunked twice */
	req->chunked = true;
	return 0;
}

/* The headers that change how the request is read or answered. */
static int check_headers(struct http_request *req)
{
	bool seen_length = false, want_close = false, want_keep = false;
	int rc;

	for (size_t i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (str_case_eq(h->name, "Transfer-Encoding") &&
		    (rc = transfer_encoding(req, h->value)) < 0)
			return rc;
		if (str_case_eq(h->name, "Content-Length") &&
		    parse_length(req, h->value, &seen_length) < 0)
			return -400;
		if (str_case_eq(h->name, "Connection")) {
			want_close |= has_token(h->value, "close");
			want_keep |= has_token(h->value, "keep-alive");
		}
	}
	/* Two framings for one body: two servers on the path could each
	 * believe a different one (request smuggling, RFC 9112 6.3). */
	if (req->chunked && seen_length)
		return -400;
	/* HTTP/1.1 keeps a connection open unless told not to; 1.0 closes
	 * it unless told not to. */
	req->keep_alive = !want_close && (req->version_minor == 1 || want_keep);
	return 0;
}

/* The header lines from buf[pos] up to and including the empty line. */
static long parse_headers(const char *buf, size_t len, size_t pos,
                          struct http_request *req)
{
	size_t lim = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;

	for (;;) {
		struct line l = next_line(buf, pos, lim);
		size_t n = l.end - l.start;
		int rc;

		if (!l.complete && len >= HTTP_MAX_HEAD)
			return -431;
		if (n == 0) {
			if (!l.complete)
				return 0; /* perhaps the empty line, arriving */
			rc = check_headers(req);
			return rc < 0 ? rc : (long)l.next;
		}
		if (req->nheaders == HTTP_MAX_HEADERS)
			return -431;
		rc = parse_header(buf + l.start, n, l.complete,
		                  &req->headers[req->nheaders]);
		if (rc < 0 || !l.complete)
			return rc;
		req->nheaders++;
		pos = l.next;
	}
}

long http_parse_request(const char *buf, size_t len, struct http_request *req)
{
	size_t lim = len < HTTP_MAX_REQUEST_LINE ? len : HTTP_MAX_REQUEST_LINE;
	struct line l = next_line(buf, 0, lim);
	int rc;

	memset(req, 0, sizeof(*req));
	if (!l.complete && len >= HTTP_MAX_REQUEST_LINE)
		return -414;
	rc = parse_request_line(buf, l.end, l.complete, req);
	if (rc < 0 || !l.complete)
		return rc;
	return parse_headers(buf, len, l.next, req);
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

/* Appends n bytes of s to the head at *p; false once they would not fit
 * before end. */
static bool put(char **p, const char *end, const char *s, size_t n)
{
	if ((size_t)(end - *p) < n)
		return false;
	memcpy(*p, s, n);
	*p += n;
	return true;
}

static bool put_str(char **p, const char *end, const char *s)
{
	return put(p, end, s, strlen(s));
}

static bool put_num(char **p, const char *end, size_t v)
{
	char digits[24];
	size_t i = sizeof(digits);

	do
		digits[--i] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	return put(p, end, digits + i, sizeof(digits) - i);
}

long http_format_head(char *out, size_t cap, int status,
                      const char *content_type, size_t content_length,
                      const char *extra, bool keep_alive)
{
	/* By hand, not with snprintf(): this runs for every response, and
	 * printf's format machinery was a third of the server's CPU under
	 * load (make bench). */
	char *p = out, *end = out + cap;
	bool ok = put_str(&p, end, "HTTP/1.1 ") &&
	          put_num(&p, end, (size_t)status) && put(&p, end, " ", 1) &&
	          put_str(&p, end, http_reason(status)) &&
	          put_str(&p, end, "\r\n");

	if (ok && content_length == HTTP_CHUNKED)
		ok = put_str(&p, end, "Transfer-Encoding: chunked\r\n");
	else if (ok)
		ok = put_str(&p, end, "Content-Length: ") &&
		     put_num(&p, end, content_length) &&
		     put_str(&p, end, "\r\n");

	if (ok && content_type != NULL)
		ok = put_str(&p, end, "Content-Type: ") &&
		     put_str(&p, end, content_type) && put_str(&p, end, "\r\n");
	if (ok && extra != NULL)
		ok = put_str(&p, end, extra);
	if (ok)
		ok = put_str(&p, end,
		             keep_alive ? "Connection: keep-alive\r\n\r\n"
		                        : "Connection: close\r\n\r\n");
	/* Room for the NUL too, as snprintf() would want. */
	if (!ok || p == end)
		return -ENOSPC;
	*p = '\0';
	return p - out;
}
