/* test_http.c - public tests of the request parser (lab 1). */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "testing.h"

/* Asserts that a parsed view holds exactly the C string want. */
#define ck_assert_view(s, want)                                                \
	ck_assert_msg((s).n == strlen(want) &&                                 \
	                  ((s).n == 0 || memcmp((s).p, (want), (s).n) == 0),   \
	              "expected \"%s\", got \"%.*s\"", (want), (int)(s).n,     \
	              (s).n > 0 ? (s).p : "")

static long parse(const char *s, struct http_request *req)
{
	return http_parse_request(s, strlen(s), req);
}

START_TEST(test_parse_simple_get)
{
	const char *s = "GET /hello HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct http_request req;

	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_int_eq(req.method, HTTP_GET);
	ck_assert_view(req.method_name, "GET");
	ck_assert_view(req.target, "/hello");
	ck_assert_view(req.path, "/hello");
	ck_assert_uint_eq(req.query.n, 0);
	ck_assert_int_eq(req.version_minor, 1);
	ck_assert_uint_eq(req.nheaders, 1);
	ck_assert_view(req.headers[0].name, "Host");
	ck_assert_view(req.headers[0].value, "localhost");
	ck_assert_uint_eq(req.content_length, 0);
	ck_assert(req.keep_alive);
	/* The views point into buf itself: the parser copies nothing. */
	ck_assert_ptr_eq(req.method_name.p, s);
	ck_assert_ptr_eq(req.target.p, s + 4);
	ck_assert_ptr_eq(req.path.p, s + 4);
	ck_assert_ptr_eq(req.headers[0].name.p, s + 21);
	ck_assert_ptr_eq(req.headers[0].value.p, s + 27);

	s = "HEAD / HTTP/1.1\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_int_eq(req.method, HTTP_HEAD);
	ck_assert_uint_eq(req.nheaders, 0);

	/* Methods are case-sensitive: "get" is some other method. */
	s = "get /x?a=1 HTTP/1.0\r\n\r\n";
	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_int_eq(req.method, HTTP_OTHER);
	ck_assert_view(req.method_name, "get");
	ck_assert_view(req.path, "/x");
	ck_assert_view(req.query, "a=1");
	ck_assert_int_eq(req.version_minor, 0);
}
END_TEST

START_TEST(test_parse_headers)
{
	const char *s = "GET / HTTP/1.1\r\n"
	                "Host: example.com\r\n"
	                "X-Padded: \t  spaced  out \t \r\n"
	                "X-Empty:\r\n"
	                "content-length: 12\r\n"
	                "\r\n";
	struct http_request req;
	const struct http_str *v;

	ck_assert_int_eq(parse(s, &req), (long)strlen(s));
	ck_assert_uint_eq(req.nheaders, 4);
	ck_assert_view(req.headers[1].name, "X-Padded");
	ck_assert_view(req.headers[1].value, "spaced  out");
	ck_assert_view(req.headers[2].value, "");

	v = http_header_get(&req, "HOST");
	ck_assert_ptr_nonnull(v);
	ck_assert_view(*v, "example.com");
	v = http_header_get(&req, "x-padded");
	ck_assert_ptr_nonnull(v);
	ck_assert_view(*v, "spaced  out");
	ck_assert_ptr_null(http_header_get(&req, "Accept"));
	ck_assert_uint_eq(req.content_length, 12);

	static const struct {
		const char *head;
		bool keep_alive;
	} cases[] = {
	    {"GET / HTTP/1.1\r\n\r\n", true},
	    {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false},
	    {"GET / HTTP/1.1\r\nConnection: CLOSE\r\n\r\n", false},
	    {"GET / HTTP/1.1\r\nConnection: Upgrade, Close\r\n\r\n", false},
	    {"GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", true},
	    {"GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", true},
	    {"GET / HTTP/1.0\r\n\r\n", false},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", true},
	    {"GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", true},
	    {"GET / HTTP/1.0\r\nConnection: close\r\n\r\n", false},
	    /* Spaces and tabs around each element of the list. */
	    {"GET / HTTP/1.1\r\nConnection: close , upgrade\r\n\r\n", false},
	    {"GET / HTTP/1.0\r\nConnection: keep-alive\t,x\r\n\r\n", true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = parse(cases[i].head, &req);

		ck_assert_msg(n == (long)strlen(cases[i].head),
		              "parsing %s: got %ld", cases[i].head, n);
		ck_assert_msg(req.keep_alive == cases[i].keep_alive,
		              "keep_alive for %s: expected %d, got %d",
		              cases[i].head, cases[i].keep_alive,
		              req.keep_alive);
	}
}
END_TEST

START_TEST(test_parse_incomplete)
{
	const char *s = "GET /files/a.txt?x=1 HTTP/1.1\r\n"
	                "Host: localhost:8080\r\n"
	                "User-Agent: test\r\n"
	                "Accept: text/plain\r\n"
	                "\r\n";
	size_t len = strlen(s);
	struct http_request req;
	char buf[512];

	for (size_t i = 0; i < len; i++) {
		long n = http_parse_request(s, i, &req);

		ck_assert_msg(n == 0, "the first %zu bytes gave %ld, not 0", i,
		              n);
	}
	ck_assert_int_eq(http_parse_request(s, len, &req), (long)len);
	ck_assert_view(req.path, "/files/a.txt");
	ck_assert_uint_eq(req.nheaders, 3);

	/* A second, pipelined request: the first one's length, no more. */
	snprintf(buf, sizeof(buf), "%sGET /next HTTP/1.1\r\n", s);
	ck_assert_int_eq(http_parse_request(buf, strlen(buf), &req), (long)len);
	ck_assert_uint_eq(req.nheaders, 3);
	snprintf(buf, sizeof(buf), "%s%s", s, s);
	ck_assert_int_eq(http_parse_request(buf, strlen(buf), &req), (long)len);
}
END_TEST

START_TEST(test_parse_malformed)
{
	static const char *const cases[] = {
	    "G(T / HTTP/1.1\r\n\r\n",               /* not a method name */
	    " GET / HTTP/1.1\r\n\r\n",              /* leading space */
	    "GET  / HTTP/1.1\r\n\r\n",              /* two spaces */
	    "GET\t/ HTTP/1.1\r\n\r\n",              /* tab instead of space */
	    "GET /\r\n\r\n",                        /* no version */
	    "GET / \r\n\r\n",                       /* empty version */
	    "GET x HTTP/1.1\r\n\r\n",               /* target without '/' */
	    "GET /a b HTTP/1.1\r\n\r\n",            /* space in the target */
	    "GET / HTTP/1.1 \r\n\r\n",              /* trailing space */
	    "GET / http/1.1\r\n\r\n",               /* lowercase protocol */
	    "GET / HTTP/1\r\n\r\n",                 /* no minor version */
	    "GET / HTTP/1.1\r\nHost\r\n\r\n",       /* no colon */
	    "GET / HTTP/1.1\r\nHost : x\r\n\r\n",   /* space before ':' */
	    "GET / HTTP/1.1\r\n: x\r\n\r\n",        /* empty name */
	    "GET / HTTP/1.1\r\n folded: x\r\n\r\n", /* continuation */
	    "GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n",  /* control char */
	    "GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", /* no digits */
	    "GET /a\x01z HTTP/1.1\r\n\r\n",              /* control char */
	    "GET /a\x7f HTTP/1.1\r\n\r\n",               /* DEL in the target */
	    "GET /a\tHTTP/1.1\r\n\r\n",            /* tab ends the target */
	    "GET / HTTP/1.1\r\nX: a\x7fz\r\n\r\n", /* DEL in a value */
	};
	struct http_request req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long n = parse(cases[i], &req);

		ck_assert_msg(n == -400,
		              "case %zu (%s): expected -400, got %ld", i,
		              cases[i], n);
	}

	/* A bad line is refused once it is there, not at the end of the head,
	 * or the server would wait for the rest of a hopeless request. */
	ck_assert_int_eq(parse("GET / HTTP/1.1\r\nBad Header\r\n", &req), -400);

	/* The same Content-Length twice is harmless. */
	const char *ok = "GET / HTTP/1.1\r\nContent-Length: 7\r\n"
	                 "Content-Length: 7\r\n\r\n";
	ck_assert_int_eq(parse(ok, &req), (long)strlen(ok));
	ck_assert_uint_eq(req.content_length, 7);

	/* A tab inside a value is fine: only other control characters are
	 * refused. */
	ok = "GET / HTTP/1.1\r\nX-Tab: a\tb\r\n\r\n";
	ck_assert_int_eq(parse(ok, &req), (long)strlen(ok));
}
END_TEST

/* Fills buf[0..n) with "GET /aaa...", no line end. */
static void long_line(char *buf, size_t n)
{
	memset(buf, 'a', n);
	memcpy(buf, "GET /", 5);
}

START_TEST(test_parse_limits)
{
	static char buf[2 * HTTP_MAX_HEAD];
	struct http_request req;
	size_t n;

	/* A request line of exactly the limit, CRLF included, is fine. */
	n = HTTP_MAX_REQUEST_LINE;
	long_line(buf, n);
	memcpy(buf + n - 11, " HTTP/1.1\r\n", 11);
	memcpy(buf + n, "\r\n", 2);
	ck_assert_int_eq(http_parse_request(buf, n + 2, &req), (long)n + 2);

	/* One more byte is too long, and is known to be before the line end
	 * arrives: a client must not make the server wait forever. */
	long_line(buf, HTTP_MAX_REQUEST_LINE + 1);
	ck_assert_int_eq(
	    http_parse_request(buf, HTTP_MAX_REQUEST_LINE - 1, &req), 0);
	ck_assert_int_eq(http_parse_request(buf, HTTP_MAX_REQUEST_LINE, &req),
	                 -414);
	ck_assert_int_eq(
	    http_parse_request(buf, HTTP_MAX_REQUEST_LINE + 1, &req), -414);

	/* A head over HTTP_MAX_HEAD in a few long headers, complete... */
	n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < 20; i++) {
		n += (size_t)sprintf(buf + n, "X-%02d: ", i);
		memset(buf + n, 'v', 1000);
		n += 1000;
		n += (size_t)sprintf(buf + n, "\r\n");
	}
	n += (size_t)sprintf(buf + n, "\r\n");
	ck_assert_uint_gt(n, HTTP_MAX_HEAD);
	ck_assert_int_eq(http_parse_request(buf, n, &req), -431);
	/* ...and still incomplete. */
	ck_assert_int_eq(http_parse_request(buf, HTTP_MAX_HEAD, &req), -431);

	/* A head of exactly HTTP_MAX_HEAD bytes is fine; one more is not. */
	n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nX-Pad: ");
	memset(buf + n, 'v', HTTP_MAX_HEAD - n - 4);
	memcpy(buf + HTTP_MAX_HEAD - 4, "\r\n\r\n", 4);
	ck_assert_int_eq(http_parse_request(buf, HTTP_MAX_HEAD, &req),
	                 HTTP_MAX_HEAD);
	memset(buf + n, 'v', HTTP_MAX_HEAD - n - 3);
	memcpy(buf + HTTP_MAX_HEAD - 3, "\r\n\r\n", 4);
	ck_assert_int_eq(http_parse_request(buf, HTTP_MAX_HEAD + 1, &req),
	                 -431);

	/* The limits are on the head, not on what arrived: a short head
	 * followed by many bytes of the next request is a short head. */
	n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n\r\n");
	memset(buf + n, 'a', sizeof(buf) - n);
	ck_assert_int_eq(http_parse_request(buf, sizeof(buf), &req), (long)n);

	/* Too many small headers. */
	n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n");
	for (int i = 0; i < HTTP_MAX_HEADERS + 1; i++)
		n += (size_t)sprintf(buf + n, "X-%d: %d\r\n", i, i);
	n += (size_t)sprintf(buf + n, "\r\n");
	ck_assert_int_eq(http_parse_request(buf, n, &req), -431);
}
END_TEST

static Suite *http_suite(void)
{
	Suite *s = suite_create("http");

	TEST_ADD(s, test_parse_simple_get, 5);
	TEST_ADD(s, test_parse_headers, 5);
	TEST_ADD(s, test_parse_incomplete, 5);
	TEST_ADD(s, test_parse_malformed, 5);
	TEST_ADD(s, test_parse_limits, 5);
	return s;
}

TEST_MAIN(http_suite)
