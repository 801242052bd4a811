/* server.c - the select() server: one thread, many clients (lab 2).
 *
 * "The smart waiter": he never stands at one table. He walks the room,
 * asks select() which tables are ready, does at each what can be done at
 * once, and goes round again. Each connection remembers where it got to
 * (conn.c); this file only decides whom to visit and when.
 *
 * You write server_run() and finish server_signals(). The rest is given:
 * server_listen() is lab 1's with one change (SOCK_NONBLOCK), and a few
 * helpers for your loop are below.
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

enum { BACKLOG = 128 };

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

int server_signals(void)
{
	struct sigaction sa = {.sa_handler = SIG_IGN};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGPIPE, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = on_stop_signal;
	if (sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	/* TODO(lab 2): block SIGINT and SIGTERM with sigprocmask(SIG_BLOCK,
	 * ...) (a sigset_t built with sigemptyset() and sigaddset()); return
	 * -errno if it fails.
	 *
	 * Why: the loop checks server_stopping(), then goes to sleep in
	 * select(). A signal landing between the two sets the flag too late:
	 * the loop sleeps on, perhaps for ever. Blocked, the signal waits
	 * (pending) until pselect() unblocks it, atomically, while it sleeps:
	 * pselect() then fails with EINTR and the loop sees the flag.
	 */
	return 0;
}

int server_stopping(void)
{
	return stopping != 0;
}

/* Milliseconds on a clock that never jumps (the wall clock can), rounded
 * down: a deadline minus now_ms() is the time left rounded up. */
static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
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

/* Errors of accept4() that say the listening socket itself is unusable.
 * Others are about one client (ECONNABORTED) or a shortage (EMFILE,
 * ENFILE, ENOBUFS, ENOMEM). */
static bool accept_fatal(int err)
{
	return err == EBADF || err == EFAULT || err == EINVAL ||
	       err == ENOTSOCK;
}

int server_run(int listen_fd, const struct app_config *cfg)
{
	/* TODO(lab 2): the loop. Split it into small functions (one to
	 * build the sets, one to accept, one to visit a connection, ...).
	 *
	 * State: struct conn *conns[FD_SETSIZE], indexed by descriptor,
	 * NULL where there is none (all NULL at first). A connection is
	 * malloc'ed, conn_init()'ed, and on the way out conn_free()'d (that
	 * closes its socket), free()'d and its slot set back to NULL.
	 *
	 * Before the loop: the signal mask pselect() waits with, that is the
	 * current one (sigprocmask(SIG_BLOCK, NULL, &mask)) with SIGINT and
	 * SIGTERM removed (sigdelset()).
	 *
	 * While !server_stopping():
	 * 1. now = now_ms(). FD_ZERO() a read set and a write set. Put the
	 *    listening socket in the read set, and each connection's socket
	 *    in the sets conn_wants_read() and conn_wants_write() say.
	 *    maxfd: the highest descriptor of them all, watched or not (a
	 *    sleeper is in neither set, and step 4 must still reach it).
	 * 2. The timeout: the earliest wake_at_ms among CONN_SLEEPING
	 *    connections minus now (0 if already past), as a struct timespec
	 *    -- or NULL (wait for ever) when none sleeps. Never a zero
	 *    timeout when nothing is due: that is a busy loop. Round up: a
	 *    deadline 0.3 ms away is a 1 ms timeout, not 0 (now_ms() rounds
	 *    down, so deadline - now is already rounded up).
	 * 3. pselect(maxfd + 1, &rd, &wr, NULL, timeout, &mask). -1 with
	 *    EINTR: a signal; go round (the loop condition checks the flag).
	 *    Another error: leave the loop and return -errno.
	 * 4. now = now_ms() again (the wait took time). For every
	 *    connection up to maxfd: FD_ISSET in rd: conn_on_readable(); in wr:
	 *    conn_on_writable(); CONN_SLEEPING with wake_at_ms <= now:
	 *    conn_on_deadline(). If a call returns < 0 or the state is
	 *    CONN_CLOSED, drop the connection (that client only: carry on).
	 * 5. Listening socket in rd: accept4(listen_fd, NULL, NULL,
	 *    SOCK_NONBLOCK | SOCK_CLOEXEC) until it fails with EAGAIN --
	 *    several clients may be waiting, and select() said so only once.
	 *    - fd >= FD_SETSIZE: refuse_busy(fd). FD_SET() on it would write
	 *      past the fd_set (undefined behaviour: memory corruption).
	 *    - EINTR, ECONNABORTED: go on accepting.
	 *    - accept_fatal(errno): return -errno.
	 *    - EMFILE, ENFILE (out of descriptors), ENOBUFS, ENOMEM: print
	 *      one line to stderr and stop accepting for now. Trap: the
	 *      client that could not be accepted is still queued, so the
	 *      listening socket stays readable and select() returns at once
	 *      every time: a busy loop. Better: leave the listening socket
	 *      out of the read set for ~100 ms (and let that deadline count
	 *      in the timeout).
	 *    Accepting after visiting (not before) means no descriptor just
	 *    closed can come back as a new client while its bits are still
	 *    set in rd and wr.
	 *
	 * After the loop: drop every connection (main() closes listen_fd)
	 * and return 0 -- valgrind must find no leak and no open socket.
	 */
	(void)listen_fd;
	(void)cfg;
	(void)now_ms; /* given helpers, for your loop */
	(void)refuse_busy;
	(void)accept_fatal;
	return -ENOSYS;
}
