/* limit.c - the bench's "limit" row: about the least work an epoll server can
 * do per keep-alive request, to show how close the course's servers come.
 *
 * One thread, level-triggered EPOLLIN only, no timers. It parses nothing: it
 * counts request heads (each ends in "\r\n\r\n") and answers each read with
 * ONE write() of as many canned responses as heads were completed. Command
 * line: the course servers' "--name value" pairs; all but --port are ignored.
 * Built by bench/run with -D_GNU_SOURCE (for memmem and accept4).
 */
#include <arpa/inet.h>
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Byte for byte the reference's answer to GET / (127 bytes), so that both
 * push the same bytes through the kernel. */
static const char response[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Length: 23\r\n"
                               "Content-Type: text/plain; charset=utf-8\r\n"
                               "Connection: keep-alive\r\n"
                               "\r\n"
                               "Hello from the waiter!\n";
#define RESPONSE_LEN (sizeof(response) - 1)

enum {
	READ_SIZE = 4096,
	/* A head is at least 4 bytes, and 3 may be left from the last read. */
	MAX_HEADS = (READ_SIZE + 3) / 4,
};

/* MAX_HEADS responses back to back: answering k heads writes the first
 * k * RESPONSE_LEN bytes, and nothing is copied per request. */
static char responses[MAX_HEADS * RESPONSE_LEN];

/* tail: the end of the last read, for a "\r\n\r\n" split across reads. */
struct conn {
	int fd, tail_len;
	char tail[3];
};

/* Heads completed by data[0..n); data[-3..0) is free for the tail. */
static int count_heads(struct conn *c, char *data, size_t n)
{
	char *p = data - c->tail_len, *end = data + n, *q;
	int heads = 0;

	memcpy(p, c->tail, c->tail_len);
	while ((q = memmem(p, end - p, "\r\n\r\n", 4)) != NULL) {
		heads++;
		p = q + 4;
	}
	/* Only bytes after the last head, which must not count twice. */
	c->tail_len = end - p < 3 ? end - p : 3;
	memcpy(c->tail, end - c->tail_len, c->tail_len);
	return heads;
}

static void drop(struct conn *c)
{
	close(c->fd); /* which also takes it out of the epoll set */
	free(c);
}

/* One read, one write; level-triggered, so whatever is left comes back. */
static void serve(struct conn *c)
{
	static char buf[3 + READ_SIZE];
	ssize_t n = read(c->fd, buf + 3, READ_SIZE);
	size_t len;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop(c);
		return;
	}
	len = count_heads(c, buf + 3, n) * RESPONSE_LEN;
	/* Finishing a short write would need a buffer and EPOLLOUT. With at
	 * most 130 KB for a client that reads its answers it does not happen
	 * here, so such a client is simply dropped. */
	if (len > 0 && write(c->fd, responses, len) != (ssize_t)len)
		drop(c);
}

static void accept_all(int ep, int lfd)
{
	struct epoll_event ev = {.events = EPOLLIN};
	int flags = SOCK_NONBLOCK | SOCK_CLOEXEC, fd;
	struct conn *c;

	/* Any error (EAGAIN; EMFILE, which the bench never reaches) ends the
	 * batch: level-triggered epoll reports again what is still waiting. */
	while ((fd = accept4(lfd, NULL, NULL, flags)) >= 0) {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			err(1, "calloc");
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			err(1, "epoll_ctl");
	}
}

static int listen_on(int port)
{
	struct sockaddr_in addr = {
	    .sin_family = AF_INET,
	    .sin_port = htons(port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t len = sizeof(addr);
	int one = 1;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
		err(1, "listen on 127.0.0.1");
	printf("listening on http://127.0.0.1:%d\n", ntohs(addr.sin_port));
	fflush(stdout); /* a file or pipe, which bench/run reads right away */
	return fd;
}

int main(int argc, char **argv)
{
	struct epoll_event evs[64], ev = {.events = EPOLLIN}; /* ptr NULL */
	int port = 0, ep, lfd, n;

	for (int i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
	if (argc % 2 == 0 || port < 0 || port > 65535) {
		fprintf(stderr, "usage: %s [--port N] [--name value]...\n",
		        argv[0]);
		return 2;
	}
	for (n = 0; n < MAX_HEADS; n++)
		memcpy(responses + n * RESPONSE_LEN, response, RESPONSE_LEN);
	/* A client gone mid-write must be an EPIPE, not the end of us.
	 * SIGINT and SIGTERM keep their default: nothing to flush or free. */
	signal(SIGPIPE, SIG_IGN);
	lfd = listen_on(port);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		err(1, "epoll");
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		if (n < 0 && errno != EINTR)
			err(1, "epoll_wait");
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all(ep, lfd);
			else
				serve(evs[i].data.ptr);
		}
	}
}
