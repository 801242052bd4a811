/* probe.h - an HTTP client that measures from outside (grader core).
 *
 * Everything the integration, latency and memory checks know about a
 * student's server comes through here: bytes on a loopback socket and the
 * time they took. Every call has a deadline, so a server that never answers
 * costs a check, never the grader.
 */
#ifndef PROBE_H
#define PROBE_H

#include <stdbool.h>
#include <stddef.h>

struct http_reply {
	int status; /* 0 when no status line arrived */
	char *raw;  /* every byte received (NUL-terminated) */
	size_t raw_len;
	size_t head_len;     /* through the blank line, 0 if incomplete */
	long content_length; /* -1 when absent */
	const char *body;    /* raw + head_len */
	size_t body_len;
	bool closed;   /* the server closed the connection */
	double ms;     /* from the first byte sent to the last received */
	char err[160]; /* why the reply is incomplete, "" if complete */
};

/* Connects to 127.0.0.1:port. Returns a non-blocking fd or a negative errno. */
int probe_connect(int port, int timeout_ms);

/* Sends len bytes in pieces of at most chunk bytes (0: all at once), pausing
 * pause_ms between pieces. Returns 0 or a negative errno. */
int probe_send(int fd, const void *buf, size_t len, size_t chunk, int pause_ms);

/* Receives one response: its head, then Content-Length bytes of body (none
 * for a reply to HEAD), or everything until the server closes. Waits at most
 * timeout_ms. Returns 0 when a complete response arrived, else -1 with
 * r->err saying why; r holds what did arrive either way. */
int probe_recv(int fd, struct http_reply *r, bool is_head, int timeout_ms);

/* Receives n responses that arrive back to back on one connection (replies
 * to pipelined requests, none of them HEAD). Returns how many arrived
 * complete within timeout_ms; each r[i] owns its bytes. */
size_t probe_recv_many(int fd, struct http_reply *r, size_t n, int timeout_ms);

/* connect + send + recv + close. Returns 0 or -1 (r->err says why). */
int probe_request(int port, const char *req, size_t len, struct http_reply *r,
                  int timeout_ms);

/* A header's value in r (case-insensitive name), copied into buf; NULL when
 * absent. */
const char *probe_header(const struct http_reply *r, const char *name,
                         char *buf, size_t cap);

/* True once the server has closed fd (EOF or reset) within timeout_ms. */
bool probe_wait_closed(int fd, int timeout_ms);

void probe_reply_free(struct http_reply *r);

/* Sleeps ms milliseconds (EINTR resumed), but not past the deadline. */
void probe_sleep_ms(int ms);

/* The running check's deadline on probe_now_ms's clock (0: none): no wait
 * in this module lasts past it. Set by the driver around each check. */
void probe_set_deadline(double at_ms);

/* Milliseconds until that deadline (very many when there is none; 0 once
 * interrupted). */
double probe_time_left_ms(void);

/* Brings the running check's deadline, and every later one, to now: the
 * grader was told to stop (SIGINT, SIGTERM). It only sets a flag, so a
 * signal handler may call it. */
void probe_interrupt(void);

/* True once probe_interrupt has been called. */
bool probe_interrupted(void);

/* Milliseconds on the monotonic clock. */
double probe_now_ms(void);

/* Quotes up to max bytes of s for a message: "HTTP/1.1 200 OK\r\n..." */
const char *probe_quote(const char *s, size_t n, size_t max, char *buf,
                        size_t cap);

#endif
