/* fuzz_http.c - lab 1's request parser, http_parse_request(), fuzzed.
 *
 * "It did not crash" is the least of it. The event loops of labs 2 on call
 * the parser again each time a few more bytes arrive, so what matters most
 * is how its answers for the prefixes of one input fit together:
 *   - each answer is 0, a head length n <= len (and <= HTTP_MAX_HEAD, the
 *     head ending in LF), or one of the negative statuses http.h lists;
 *   - the every-split rule: prefixes shorter than the head give 0, prefix n
 *     gives n, and every longer one n again; once an answer is an error, the
 *     answer for every longer prefix is an error too ("can never be valid");
 *   - parsing exactly the head gives the same request as the whole input;
 *   - a parsed request's fields point inside its head and agree with each
 *     other and with its headers (http.h's comments);
 *   - 0 for no bytes at all; and limits hold while incomplete: never 0 for
 *     HTTP_MAX_HEAD bytes, nor for a request line that has no LF within
 *     HTTP_MAX_REQUEST_LINE bytes.
 * Every prefix is parsed from bytes that end where an allocation ends, so
 * ASan catches a read of a byte that has not arrived yet.
 */
#define FUZZ_NAME "fuzz_http"
#include "fuzz.h"

#include <string.h>
#include <strings.h>

#include "http.h"

/* Inputs up to EVERY_PREFIX bytes have every prefix parsed. Parsing is
 * linear, so all prefixes is quadratic: of a longer input (the limits sit at
 * 8 and 16 KiB) SAMPLES prefixes evenly apart are parsed, and where the
 * answer changes from 0 between two of them, a binary search finds the
 * exact prefix. */
enum { EVERY_PREFIX = 512, SAMPLES = 64 };

/* One parse, from a copy of exactly len bytes: req points into buf. */
struct parse {
	char *buf;
	size_t len;
	long rc;
	struct http_request req;
};

static void parse_copy(struct parse *p, const uint8_t *data, size_t len)
{
	/* malloc(0) under ASan is a valid pointer to no bytes at all. */
	p->buf = malloc(len);
	if (p->buf == NULL)
		abort();
	if (len > 0)
		memcpy(p->buf, data, len);
	p->len = len;
	p->rc = http_parse_request(p->buf, len, &p->req);
}

static bool is_status(long rc)
{
	return rc == -400 || rc == -414 || rc == -431 || rc == -501 ||
	       rc == -505;
}

/* What any one answer must be, whatever came before it. */
static void check_answer(const uint8_t *data, size_t len, long rc)
{
	size_t line = len < HTTP_MAX_REQUEST_LINE ? len : HTTP_MAX_REQUEST_LINE;
	const void *lf = line > 0 ? memchr(data, '\n', line) : NULL;

	if (rc > 0 && (size_t)rc > len)
		fuzz_fail("head length %ld from %zu bytes", rc, len);
	if (rc > HTTP_MAX_HEAD)
		fuzz_fail("head length %ld > HTTP_MAX_HEAD", rc);
	if (rc > 0 && data[rc - 1] != '\n')
		fuzz_fail("a head of %ld bytes that does not end in LF", rc);
	if (rc < 0 && !is_status(rc))
		fuzz_fail("%ld from %zu bytes: not a status http.h lists", rc,
		          len);
	if (len == 0 && rc != 0)
		fuzz_fail("%ld for 0 bytes, the start of any request", rc);
	/* 0 means "keep buffering": the limits say when to stop. */
	if (rc == 0 && len >= HTTP_MAX_HEAD)
		fuzz_fail("0 (need more) for %zu bytes >= HTTP_MAX_HEAD", len);
	if (rc == 0 && len >= HTTP_MAX_REQUEST_LINE && lf == NULL)
		fuzz_fail("0 (need more) for a request line of %zu bytes "
		          "without LF",
		          len);
}

/* The every-split rule, one prefix at a time, in increasing length:
 * decided is the first answer that was not 0, at prefix decided_at. */
struct split {
	long decided;
	size_t decided_at;
	size_t last_zero; /* the longest prefix known to give 0 */
};

static void check_split(struct split *s, const uint8_t *data, size_t k, long rc)
{
	check_answer(data, k, rc);
	if (s->decided == 0 && rc == 0) {
		s->last_zero = k;
		return;
	}
	if (s->decided == 0) {
		/* A head is complete exactly when its last byte arrives. */
		if (rc > 0 && (size_t)rc != k) {
			fuzz_show("prefix", data, k);
			fuzz_fail("prefix of %zu bytes gives %ld, shorter "
			          "ones 0: a head ends at its last byte",
			          k, rc);
		}
		s->decided = rc;
		s->decided_at = k;
		return;
	}
	if ((s->decided > 0 && rc != s->decided) ||
	    (s->decided < 0 && rc >= 0)) {
		fuzz_show("input", data, k);
		fuzz_fail("prefix of %zu bytes gives %ld, but %zu bytes "
		          "already gave %ld",
		          k, rc, s->decided_at, s->decided);
	}
}

/* The prefixes of one input, each parsed from the end of one allocation
 * of the input's length: a read past a prefix is a read past the block. */
struct prefixes {
	const uint8_t *data;
	size_t len;
	char *block;
};

static long parse_at(const struct prefixes *p, size_t k)
{
	struct http_request req;
	char *at = p->block + p->len - k;

	if (k > 0)
		memcpy(at, p->data, k);
	return http_parse_request(at, k, &req);
}

/* The answer changes from 0 somewhere in (s->last_zero, hi]: a binary
 * search finds where, and every prefix it parses goes through check_split()
 * in increasing length (the caller's hi comes last). */
static void find_decision(struct split *s, const struct prefixes *p, size_t hi)
{
	struct {
		size_t k;
		long rc;
	} decided[64]; /* each step halves hi - lo: 64 steps at most */
	size_t n = 0, lo = s->last_zero;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		long r = parse_at(p, mid);

		if (r == 0) {
			check_split(s, p->data, mid, r);
			lo = mid;
		} else {
			decided[n].k = mid;
			decided[n++].rc = r;
			hi = mid;
		}
	}
	while (n > 0) {
		n--;
		check_split(s, p->data, decided[n].k, decided[n].rc);
	}
}

/* Every prefix (a sample of them for long inputs), and the prefix where
 * the answer changes from 0. */
static void check_prefixes(const uint8_t *data, size_t len)
{
	struct prefixes p = {data, len, malloc(len)};
	struct split s = {0, 0, 0};
	size_t stride = len <= EVERY_PREFIX ? 1 : len / SAMPLES;

	if (p.block == NULL)
		abort();
	for (size_t k = 0;; k = k + stride < len ? k + stride : len) {
		long rc = parse_at(&p, k);

		if (s.decided == 0 && rc != 0)
			find_decision(&s, &p, k);
		check_split(&s, data, k, rc);
		if (k == len)
			break;
	}
	free(p.block);
}

/* s lies within buf[0..n) (an empty s may sit at its very end). */
static bool inside(const char *buf, size_t n, struct http_str s)
{
	uintptr_t b = (uintptr_t)buf, p = (uintptr_t)s.p;

	return s.p != NULL && p >= b && s.n <= n && p - b <= n - s.n;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static bool names(struct http_str s, const char *lit)
{
	return s.n == strlen(lit) && strncasecmp(s.p, lit, s.n) == 0;
}

/* The first header called name, or NULL. */
static const struct http_header *header(const struct http_request *req,
                                        const char *name)
{
	for (size_t i = 0; i < req->nheaders && i < HTTP_MAX_HEADERS; i++) {
		if (names(req->headers[i].name, name))
			return &req->headers[i];
	}
	return NULL;
}

static void check_fields_inside(const char *buf, size_t n,
                                const struct http_request *req)
{
	if (!inside(buf, n, req->method_name) || !inside(buf, n, req->target) ||
	    !inside(buf, n, req->path) || !inside(buf, n, req->query))
		fuzz_fail("the request line's fields are not inside the head");
	if (req->nheaders > HTTP_MAX_HEADERS)
		fuzz_fail("nheaders %zu > HTTP_MAX_HEADERS", req->nheaders);
	for (size_t i = 0; i < req->nheaders; i++) {
		const struct http_header *h = &req->headers[i];

		if (!inside(buf, n, h->name) || !inside(buf, n, h->value))
			fuzz_fail("header %zu is not inside the head", i);
	}
}

static void check_request_line(const struct http_request *req)
{
	enum http_method m = HTTP_OTHER;
	struct http_str t = req->target, p = req->path, q = req->query;

	if (http_str_eq(req->method_name, "GET"))
		m = HTTP_GET;
	else if (http_str_eq(req->method_name, "HEAD"))
		m = HTTP_HEAD;
	if (req->method_name.n == 0 || req->method != m)
		fuzz_fail("method %d for method name \"%.*s\"", req->method,
		          (int)req->method_name.n, req->method_name.p);
	if (t.n == 0 || t.p[0] != '/')
		fuzz_fail("a target that does not start with '/'");
	/* path is the target up to its first '?', query the rest after it. */
	if (p.p != t.p || p.n > t.n || memchr(p.p, '?', p.n) != NULL)
		fuzz_fail("path is not the target up to its '?'");
	if (p.n < t.n &&
	    (t.p[p.n] != '?' || q.p != t.p + p.n + 1 || q.n != t.n - p.n - 1))
		fuzz_fail("query is not the target after its '?'");
	if (p.n == t.n && q.n != 0)
		fuzz_fail("a query without a '?'");
	if (req->version_minor != 0 && req->version_minor != 1)
		fuzz_fail("version_minor %d", req->version_minor);
}

/* Content-Length's value, all digits since the parse succeeded. */
static size_t decimal(struct http_str v)
{
	size_t n = 0;

	for (size_t i = 0; i < v.n; i++)
		n = n * 10 + (size_t)(v.p[i] - '0');
	return n;
}

static void check_headers(const struct http_request *req)
{
	const struct http_header *h;

	for (size_t i = 0; i < req->nheaders; i++) {
		struct http_str v = req->headers[i].value;

		if (req->headers[i].name.n == 0)
			fuzz_fail("header %zu has an empty name", i);
		if (v.n > 0 && (is_ows(v.p[0]) || is_ows(v.p[v.n - 1])))
			fuzz_fail("header %zu's value is not trimmed", i);
	}
	if (header(req, "Transfer-Encoding") != NULL)
		fuzz_fail("a request with Transfer-Encoding, not -501");
	h = header(req, "Content-Length");
	if (h == NULL && req->content_length != 0)
		fuzz_fail("content_length %zu without Content-Length",
		          req->content_length);
	if (h != NULL && req->content_length != decimal(h->value))
		fuzz_fail("content_length %zu, Content-Length \"%.*s\"",
		          req->content_length, (int)h->value.n, h->value.p);
	/* Without a Connection header the version decides. */
	if (header(req, "Connection") == NULL &&
	    req->keep_alive != (req->version_minor == 1))
		fuzz_fail("keep_alive %d for HTTP/1.%d without Connection",
		          req->keep_alive, req->version_minor);
}

/* a (in a's buffer) and b (in b's) are the same bytes at the same offset. */
static bool same_str(const char *abuf, struct http_str a, const char *bbuf,
                     struct http_str b)
{
	return a.n == b.n && a.p - abuf == b.p - bbuf;
}

/* Parsing the head alone must give what the whole input gave. */
static void check_same_request(const struct parse *whole,
                               const struct parse *head)
{
	const struct http_request *a = &whole->req, *b = &head->req;
	bool same =
	    a->method == b->method && a->version_minor == b->version_minor &&
	    a->nheaders == b->nheaders &&
	    a->content_length == b->content_length &&
	    a->keep_alive == b->keep_alive &&
	    same_str(whole->buf, a->method_name, head->buf, b->method_name) &&
	    same_str(whole->buf, a->target, head->buf, b->target) &&
	    same_str(whole->buf, a->path, head->buf, b->path) &&
	    same_str(whole->buf, a->query, head->buf, b->query);

	for (size_t i = 0; same && i < a->nheaders; i++) {
		same = same_str(whole->buf, a->headers[i].name, head->buf,
		                b->headers[i].name) &&
		       same_str(whole->buf, a->headers[i].value, head->buf,
		                b->headers[i].value);
	}
	if (!same)
		fuzz_fail("the head alone (%zu bytes) parses into another "
		          "request than the whole input (%zu bytes)",
		          head->len, whole->len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct parse whole, head;

	parse_copy(&whole, data, size);
	check_answer(data, size, whole.rc);
	if (whole.rc > 0) {
		size_t n = (size_t)whole.rc;

		check_fields_inside(whole.buf, n, &whole.req);
		check_request_line(&whole.req);
		check_headers(&whole.req);
		parse_copy(&head, data, n);
		check_same_request(&whole, &head);
		free(head.buf);
	}
	free(whole.buf);
	check_prefixes(data, size);
	return 0;
}
