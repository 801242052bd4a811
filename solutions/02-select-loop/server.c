/* server.c - the select() server: one thread, many clients (lab 2).
 *
 * "The smart waiter": he never stands at one table. He walks the room,
 * asks select() which tables are ready, does at each what can be done at
 * once, and goes round again. Each connection remembers where it got to
 * (conn.c); this file only decides whom to visit and when.
 *
 * One iteration of the loop:
 *   1. build the fd_sets from what each connection wants, and the timeout
 *      from the nearest /sleep deadline;
 *   2. pselect(): sleep until a descriptor is ready, the timeout passes or
 *      a stop signal arrives;
 *   3. visit the ready and the due connections, dropping those that end;
 *   4. accept every waiting client.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "conn.h"

enum {
	BACKLOG = 128,
	ACCEPT_PAUSE_MS = 100, /* after running out of descriptors */
};

static volatile sig_atomic_t stopping;

static void on_stop_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

int server_listen(int port)
{
	struct sockaddr_in addr = {
	    .sin_family = AF_INET,
	    .sin_port = htons((uint16_t)port),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	int one = 1;
	int fd, err;

	if (port < 0 || port > 65535)
		return -EINVAL;
	/* Non-blocking: when select() says a client is waiting, it may have
	 * given up (and been dropped by the kernel) before accept4(), which
	 * must then fail with EAGAIN rather than wait for the next one. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto close_fd;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		goto close_fd;
	if (listen(fd, BACKLOG) < 0)
		goto close_fd;
	return fd;

close_fd:
	err = errno;
	close(fd);
	return -err;
}

int server_port(int listen_fd)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);

	if (getsockname(listen_fd, (struct sockaddr *)&addr, &len) < 0)
		return -errno;
	return ntohs(addr.sin_port);
}

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

int server_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};
	sigset_t stop;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = on_stop_signal;
	if (sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	/* Blocked, a stop signal waits until pselect() unblocks it. Were it
	 * not, it could land after the loop checked the flag and before it
	 * went to sleep, and the server would sleep on regardless. */
	stop_signals(&stop);
	if (sigprocmask(SIG_BLOCK, &stop, NULL) < 0)
		return -errno;
	return 0;
}

int server_stopping(void)
{
	return stopping != 0;
}

struct loop {
	int listen_fd;
	const struct app_config *cfg;
	int64_t now_ms;       /* the clock, read before and after waiting */
	int64_t accept_at_ms; /* accept no one before then */
	bool starved;         /* out of descriptors, and said so */
	struct conn *conns[FD_SETSIZE]; /* by descriptor; NULL: none */
};

/* Milliseconds on a clock that never jumps (the wall clock can), rounded
 * down: see wait_time(). */
static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* What pselect() waits with: the mask we run with, stop signals allowed. */
static int wait_mask(sigset_t *mask)
{
	if (sigprocmask(SIG_BLOCK, NULL, mask) < 0)
		return -errno;
	sigdelset(mask, SIGINT);
	sigdelset(mask, SIGTERM);
	return 0;
}

/* Fills the sets with what each connection wants and *deadline with the
 * earliest time something is due (INT64_MAX: nothing). Returns the highest
 * descriptor in use, watched or not: the visit loop must reach sleepers,
 * which are in neither set. */
static int watch(struct loop *l, fd_set *rd, fd_set *wr, int64_t *deadline)
{
	int maxfd = -1;

	FD_ZERO(rd);
	FD_ZERO(wr);
	*deadline = INT64_MAX;
	if (l->now_ms >= l->accept_at_ms) {
		FD_SET(l->listen_fd, rd);
		maxfd = l->listen_fd;
	} else {
		*deadline = l->accept_at_ms;
	}
	for (int fd = 0; fd < FD_SETSIZE; fd++) {
		const struct conn *c = l->conns[fd];

		if (c == NULL)
			continue;
		if (conn_wants_read(c))
			FD_SET(fd, rd);
		if (conn_wants_write(c))
			FD_SET(fd, wr);
		if (c->state == CONN_SLEEPING && c->wake_at_ms < *deadline)
			*deadline = c->wake_at_ms;
		maxfd = fd;
	}
	return maxfd;
}

/* The select() timeout for a deadline: NULL (wait for ever) when none.
 * now_ms is rounded down, so this is the time left rounded up: a deadline
 * 0.3 ms away is a 1 ms timeout, not a 0 one that returns at once. */
static struct timespec *wait_time(int64_t deadline, const struct loop *l,
                                  struct timespec *ts)
{
	int64_t ms = deadline - l->now_ms;

	if (deadline == INT64_MAX)
		return NULL;
	if (ms < 0)
		ms = 0;
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000;
	return ts;
}

static void drop(struct loop *l, struct conn *c)
{
	l->conns[c->fd] = NULL;
	conn_free(c);
	free(c);
}

/* Does for c what its readiness and the clock allow. */
static void visit(struct loop *l, struct conn *c, const fd_set *rd,
                  const fd_set *wr)
{
	int rc = 0;

	if (FD_ISSET(c->fd, rd))
		rc = conn_on_readable(c, l->cfg, l->now_ms);
	if (rc == 0 && FD_ISSET(c->fd, wr))
		rc = conn_on_writable(c, l->cfg, l->now_ms);
	if (rc == 0 && c->state == CONN_SLEEPING && c->wake_at_ms <= l->now_ms)
		rc = conn_on_deadline(c, l->cfg, l->now_ms);
	/* An error is one client's (gone, reset, out of memory): drop it
	 * and serve the rest. */
	if (rc < 0 || c->state == CONN_CLOSED)
		drop(l, c);
}

/* A descriptor select() cannot watch: FD_SET() on it would write past the
 * end of the fd_set. One try at saying so, then hang up. */
static void refuse_busy(int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	                           "Content-Length: 0\r\n"
	                           "Connection: close\r\n"
	                           "\r\n";

	send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static int add_conn(struct loop *l, int fd)
{
	struct conn *c;

	if (fd >= FD_SETSIZE) {
		refuse_busy(fd);
		return 0;
	}
	c = malloc(sizeof(*c));
	if (c == NULL) {
		close(fd);
		return -ENOMEM;
	}
	conn_init(c, fd);
	l->conns[fd] = c;
	return 0;
}

/* Errors that say the listening socket itself is unusable. */
static bool accept_fatal(int err)
{
	return err == EBADF || err == EFAULT || err == EINVAL ||
	       err == ENOTSOCK;
}

/* A shortage does not go away by asking again at once: the client that
 * could not be accepted is still queued and keeps the listening socket
 * readable, so select() would return at once, for ever, a busy loop.
 * Stop watching the listening socket for a while instead. */
static void accept_pause(struct loop *l, int err)
{
	if (!l->starved)
		fprintf(stderr, "accept: %s (pausing)\n", strerror(err));
	l->starved = true;
	l->accept_at_ms = l->now_ms + ACCEPT_PAUSE_MS;
}

/* Accepts every waiting client. Returns 0 or a negative errno when the
 * listening socket is broken. */
static int accept_all(struct loop *l)
{
	for (;;) {
		int fd = accept4(l->listen_fd, NULL, NULL,
		                 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd >= 0) {
			l->starved = false;
			if (add_conn(l, fd) < 0) {
				accept_pause(l, ENOMEM);
				return 0;
			}
			continue;
		}
		/* EINTR: a signal; ECONNABORTED: a client that left
		 * while queued. Either way, on to the next one. */
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (accept_fatal(errno))
			return -errno;
		/* EMFILE, ENFILE, ENOBUFS, ENOMEM; or something rarer
		 * that might repeat just as well. */
		accept_pause(l, errno);
		return 0;
	}
}

/* One turn round the room. Returns 0 or a negative errno (fatal). */
static int iterate(struct loop *l, const sigset_t *mask)
{
	struct timespec ts;
	fd_set rd, wr;
	int64_t deadline;
	int maxfd, n;

	l->now_ms = now_ms();
	maxfd = watch(l, &rd, &wr, &deadline);
	n = pselect(maxfd + 1, &rd, &wr, NULL, wait_time(deadline, l, &ts),
	            mask);
	if (n < 0)
		return errno == EINTR ? 0 : -errno; /* EINTR: a stop signal */
	/* The wait took time: deadlines are judged by the clock after it. */
	l->now_ms = now_ms();
	for (int fd = 0; fd <= maxfd; fd++) {
		if (l->conns[fd] != NULL)
			visit(l, l->conns[fd], &rd, &wr);
	}
	/* Last, so that no descriptor closed above can come back as a new
	 * client while its old bits are still in the sets. */
	if (FD_ISSET(l->listen_fd, &rd))
		return accept_all(l);
	return 0;
}

int server_run(int listen_fd, const struct app_config *cfg)
{
	struct loop l = {.listen_fd = listen_fd, .cfg = cfg};
	sigset_t mask;
	int rc;

	if (listen_fd < 0 || listen_fd >= FD_SETSIZE)
		return -EINVAL;
	rc = wait_mask(&mask);
	while (rc == 0 && !server_stopping())
		rc = iterate(&l, &mask);
	for (int fd = 0; fd < FD_SETSIZE; fd++) {
		if (l.conns[fd] != NULL)
			drop(&l, l.conns[fd]);
	}
	return rc;
}
