/* compute_req.c - lab 6's routes read from a request (given code;
 * compute.h). */

#include "cli.h"
#include "compute.h"

/* "ms=N" with N in 0..COMPUTE_MAX_MS, in decimal; -1 otherwise. */
static int parse_ms(struct http_str q)
{
	int v = 0;

	if (q.n <= 3 || q.p[0] != 'm' || q.p[1] != 's' || q.p[2] != '=')
		return -1;
	for (size_t i = 3; i < q.n; i++) {
		if (q.p[i] < '0' || q.p[i] > '9')
			return -1;
		v = v * 10 + (q.p[i] - '0');
		if (v > COMPUTE_MAX_MS)
			return -1;
	}
	return v;
}

enum compute_kind compute_parse(const struct http_request *req, int *ms)
{
	enum compute_kind kind;

	if (req->method != HTTP_GET && req->method != HTTP_HEAD)
		return COMPUTE_NONE; /* app_handle() says 405 */
	if (http_str_eq(req->path, "/stats"))
		return req->query.n == 0 ? COMPUTE_STATS : COMPUTE_BAD;
	if (http_str_eq(req->path, "/compute"))
		kind = COMPUTE_WORK;
	else if (http_str_eq(req->path, "/block"))
		kind = COMPUTE_BLOCK;
	else
		return COMPUTE_NONE;
	*ms = parse_ms(req->query);
	return *ms < 0 ? COMPUTE_BAD : kind;
}

unsigned compute_workers_from(const char *value)
{
	return cli_workers(value, COMPUTE_MAX_WORKERS); /* lab 7's rule too */
}
