#include "probe.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

double probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The running check's deadline (0: none). Every wait here ends by it, so
 * that a check stuck on a server that stopped answering (say, 1100
 * connections that each wait a second) ends when its time is up. */
static double check_deadline;

/* Set from a signal handler, read by every thread: a lock-free atomic is
 * safe for both (C11 7.14.1.1). Never cleared. */
static atomic_int interrupted;

void probe_set_deadline(double at_ms)
{
	check_deadline = at_ms;
}

void probe_interrupt(void)
{
	interrupted = 1;
}

bool probe_interrupted(void)
{
	return interrupted;
}

double probe_time_left_ms(void)
{
	if (interrupted)
		return 0;
	return check_deadline ? check_deadline - probe_now_ms() : 1e12;
}

static double clamp(double deadline)
{
	if (interrupted)
		return probe_now_ms();
	return check_deadline && check_deadline < deadline ? check_deadline
	                                                   : deadline;
}

static int wait_fd(int fd, short events, double deadline)
{
	struct pollfd pfd = {fd, events, 0};

	if (fd < 0)
		return -EBADF; /* poll() would ignore it and wait it out */

	for (;;) {
		/* Again after EINTR: the signal may have been a stop. */
		deadline = clamp(deadline);
		int left = (int)(deadline - probe_now_ms());
		if (left < 0)
			return -ETIMEDOUT;
		int n = poll(&pfd, 1, left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

int probe_connect(int port, int timeout_ms)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
	                         .sin_port = htons((uint16_t)port),
	                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	double deadline = probe_now_ms() + timeout_ms;
	int one = 1, err = 0;
	socklen_t len = sizeof(err);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* Our requests must leave at once, piece by piece when we say so. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto fail;
		}
		if ((err = wait_fd(fd, POLLOUT, deadline)) < 0)
			goto fail;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			err = -err;
			goto fail;
		}
	}
	return fd;
fail:
	close(fd);
	return err;
}

void probe_sleep_ms(int ms)
{
	double left = probe_time_left_ms();

	if (left < ms)
		ms = left > 0 ? (int)left : 0;
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int probe_send(int fd, const void *buf, size_t len, size_t chunk, int pause_ms)
{
	const char *p = buf;
	double deadline = probe_now_ms() + 30000;

	if (chunk == 0)
		chunk = len;
	while (len > 0) {
		size_t want = len < chunk ? len : chunk;
		ssize_t n = send(fd, p, want, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			int rc = wait_fd(fd, POLLOUT, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		p += n;
		len -= (size_t)n;
		if (len > 0 && pause_ms > 0 && (size_t)n == want)
			probe_sleep_ms(pause_ms);
	}
	return 0;
}

static int grow(struct http_reply *r, size_t *cap, size_t need)
{
	if (need + 1 <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 4096;
	while (ncap < need + 1)
		ncap *= 2;
	char *p = realloc(r->raw, ncap);
	if (!p)
		return -ENOMEM;
	r->raw = p;
	*cap = ncap;
	return 0;
}

static size_t find_head_end(const char *s, size_t n)
{
	for (size_t i = 0; i + 3 < n; i++)
		if (memcmp(s + i, "\r\n\r\n", 4) == 0)
			return i + 4;
	return 0;
}

static void parse_head(struct http_reply *r)
{
	char val[32];

	if (sscanf(r->raw, "HTTP/1.%*1[01] %3d", &r->status) != 1)
		r->status = 0;
	r->content_length = -1;
	if (probe_header(r, "Content-Length", val, sizeof(val)))
		r->content_length = strtol(val, NULL, 10);
}

static bool reply_complete(struct http_reply *r, bool is_head)
{
	if (r->head_len == 0)
		return false;
	r->body = r->raw + r->head_len;
	r->body_len = r->raw_len - r->head_len;
	if (is_head || r->status == 204 || r->status == 304)
		return true;
	if (r->content_length >= 0)
		return r->body_len >= (size_t)r->content_length;
	return r->closed;
}

int probe_recv(int fd, struct http_reply *r, bool is_head, int timeout_ms)
{
	double start = probe_now_ms(), deadline = start + timeout_ms;
	size_t cap = 0;

	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	grow(r, &cap, 0);
	r->raw[0] = '\0';
	for (;;) {
		if (reply_complete(r, is_head))
			break;
		if (r->closed) {
			snprintf(r->err, sizeof(r->err), "%s",
			         r->raw_len == 0
			             ? "the server closed the connection "
			               "without answering"
			             : "response incomplete: the server closed "
			               "the connection early");
			goto out;
		}
		int rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0) {
			snprintf(r->err, sizeof(r->err),
			         "no complete response within %d ms (%zu bytes "
			         "received)",
			         timeout_ms, r->raw_len);
			goto out;
		}
		if (grow(r, &cap, r->raw_len + 65536) < 0) {
			snprintf(r->err, sizeof(r->err), "out of memory");
			goto out;
		}
		ssize_t n = recv(fd, r->raw + r->raw_len, 65536, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0 && errno != ECONNRESET) {
			snprintf(r->err, sizeof(r->err), "recv: %s",
			         strerror(errno));
			goto out;
		}
		if (n <= 0) {
			r->closed = true;
			continue;
		}
		r->raw_len += (size_t)n;
		r->raw[r->raw_len] = '\0';
		if (r->head_len == 0 &&
		    (r->head_len = find_head_end(r->raw, r->raw_len)))
			parse_head(r);
	}
	r->ms = probe_now_ms() - start;
	return 0;
out:
	r->ms = probe_now_ms() - start;
	if (r->head_len) {
		r->body = r->raw + r->head_len;
		r->body_len = r->raw_len - r->head_len;
	}
	return -1;
}

/* Splits one complete response off the front of buf[0..len) into r.
 * Returns its length, or 0 when it is not all there yet. */
static size_t take_reply(const char *buf, size_t len, struct http_reply *r)
{
	size_t head = find_head_end(buf, len), total;

	if (!head)
		return 0;
	memset(r, 0, sizeof(*r));
	if (!(r->raw = malloc(head + 1)))
		return 0;
	memcpy(r->raw, buf, head);
	r->raw[head] = '\0';
	r->raw_len = r->head_len = head;
	parse_head(r);
	total = head + (r->content_length > 0 ? (size_t)r->content_length : 0);
	if (total > len) {
		probe_reply_free(r);
		return 0;
	}
	char *all = realloc(r->raw, total + 1);
	if (!all) {
		probe_reply_free(r);
		return 0;
	}
	memcpy(all, buf, total);
	all[total] = '\0';
	r->raw = all;
	r->raw_len = total;
	r->body = all + head;
	r->body_len = total - head;
	return total;
}

size_t probe_recv_many(int fd, struct http_reply *r, size_t n, int timeout_ms)
{
	double start = probe_now_ms(), deadline = start + timeout_ms;
	struct http_reply acc = {0};
	size_t cap = 0, done = 0, used = 0;

	while (done < n) {
		size_t got = acc.raw ? take_reply(acc.raw + used,
		                                  acc.raw_len - used, &r[done])
		                     : 0;
		if (got) {
			r[done].ms = probe_now_ms() - start;
			used += got;
			done++;
			continue;
		}
		if (acc.closed || wait_fd(fd, POLLIN, deadline) < 0)
			break;
		if (grow(&acc, &cap, acc.raw_len + 65536) < 0)
			break;
		ssize_t k = recv(fd, acc.raw + acc.raw_len, 65536, 0);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k <= 0) {
			acc.closed = true;
			continue;
		}
		acc.raw_len += (size_t)k;
	}
	free(acc.raw);
	return done;
}

int probe_request(int port, const char *req, size_t len, struct http_reply *r,
                  int timeout_ms)
{
	double start = probe_now_ms();
	int fd = probe_connect(port, timeout_ms);

	if (fd < 0) {
		memset(r, 0, sizeof(*r));
		snprintf(r->err, sizeof(r->err),
		         "connect to port %d failed: %s%s", port, strerror(-fd),
		         fd == -ECONNREFUSED ? " (is your server running?)"
		                             : "");
		return -1;
	}
	int rc = probe_send(fd, req, len, 0, 0);
	if (rc < 0 && rc != -EPIPE && rc != -ECONNRESET) {
		memset(r, 0, sizeof(*r));
		snprintf(r->err, sizeof(r->err), "send failed: %s",
		         strerror(-rc));
		close(fd);
		return -1;
	}
	rc = probe_recv(fd, r, strncmp(req, "HEAD ", 5) == 0, timeout_ms);
	r->ms = probe_now_ms() - start;
	close(fd);
	return rc;
}

const char *probe_header(const struct http_reply *r, const char *name,
                         char *buf, size_t cap)
{
	size_t nlen = strlen(name);
	const char *line = r->raw ? strstr(r->raw, "\r\n") : NULL;
	const char *end = r->raw + r->head_len;

	while (line && line + 2 < end) {
		line += 2;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1, *e = strstr(v, "\r\n");
			while (*v == ' ' || *v == '\t')
				v++;
			size_t n = e ? (size_t)(e - v) : strlen(v);
			if (n >= cap)
				n = cap - 1;
			memcpy(buf, v, n);
			buf[n] = '\0';
			return buf;
		}
		line = strstr(line, "\r\n");
	}
	return NULL;
}

bool probe_wait_closed(int fd, int timeout_ms)
{
	double deadline = probe_now_ms() + timeout_ms;
	char buf[4096];

	for (;;) {
		if (wait_fd(fd, POLLIN, deadline) < 0)
			return false;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return true;
	}
}

void probe_reply_free(struct http_reply *r)
{
	free(r->raw);
	r->raw = NULL;
}

const char *probe_quote(const char *s, size_t n, size_t max, char *buf,
                        size_t cap)
{
	size_t o = 0;

	if (cap < 8)
		return "";
	buf[o++] = '"';
	for (size_t i = 0; i < n && i < max && o + 6 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r')
			o += (size_t)snprintf(buf + o, cap - o, "\\r");
		else if (c == '\n')
			o += (size_t)snprintf(buf + o, cap - o, "\\n");
		else if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, cap - o, "\\%c", c);
		else if (isprint(c))
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
	}
	if (n > max && o + 4 < cap)
		o += (size_t)snprintf(buf + o, cap - o, "...");
	if (o + 2 <= cap)
		buf[o++] = '"';
	buf[o < cap ? o : cap - 1] = '\0';
	return buf;
}
