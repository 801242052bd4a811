/* server.c - the blocking, one-client-at-a-time HTTP server (lab 1).
 *
 * "The bad waiter": it takes one order, stands by the kitchen until it is
 * ready, serves it, and only then looks at the next table. Every client waits
 * for every client before it, however slow that one is.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

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
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Lets a restarted server bind at once while connections of the old
	 * one are still in TIME_WAIT. */
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

	/* No SA_RESTART: accept() must fail with EINTR rather than resume
	 * waiting, or the server would only notice the signal when the next
	 * client happens to arrive. */
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = 0;
	if (sigaction(SIGINT, &sa, NULL) < 0 ||
	    sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	return 0;
}

int server_stopping(void)
{
	return stopping != 0;
}

static void sleep_ms(int ms)
{
	struct timespec left = {ms / 1000, (long)(ms % 1000) * 1000000};

	/* A stop signal does not cut an order short: finish it, then stop. */
	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
}

/* Errors that say the listening socket itself is unusable. Any other error
 * is about one connection or a passing shortage (of descriptors, of memory),
 * and the next accept() may well succeed. */
static bool accept_fatal(int err)
{
	return err == EBADF || err == EFAULT || err == EINVAL ||
	       err == ENOTSOCK;
}

/* A shortage does not go away by asking again at once: the connection that
 * could not be accepted is still queued, and accept() would fail in a loop. */
static bool accept_shortage(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOBUFS ||
	       err == ENOMEM;
}

int server_run(int listen_fd, const struct app_config *cfg)
{
	/* A signal landing between this check and accept4() is only seen
	 * after the next client; closing that window takes ppoll() or a
	 * self-pipe, which a blocking server does not have. */
	while (!server_stopping()) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		int err;

		if (fd >= 0) {
			server_handle_client(fd, cfg);
			continue;
		}
		/* Saved at once: fprintf() may change errno (a stderr whose
		 * reader has gone fails with EPIPE), and then a shortage
		 * would be retried without a pause, in a tight loop. */
		err = errno;
		if (err == EINTR)
			continue;
		if (accept_fatal(err))
			return -err;
		fprintf(stderr, "accept: %s\n", strerror(err));
		if (accept_shortage(err))
			sleep_ms(100);
	}
	return 0;
}

static void send_response(int fd, const struct app_response *res)
{
	char head[512];
	long n =
	    http_format_head(head, sizeof(head), res->status, res->content_type,
	                     res->body_len, res->extra, false);

	/* A failed write means the client has gone: nobody to tell. */
	if (n < 0 || io_write_all(fd, head, (size_t)n) < 0)
		return;
	if (res->send_body)
		io_write_all(fd, res->body, res->body_len);
}

void server_handle_client(int client_fd, const struct app_config *cfg)
{
	char buf[HTTP_MAX_HEAD];
	size_t received;
	struct http_request req;
	struct app_response res;
	long n = io_read_request(client_fd, buf, sizeof(buf), &received, &req);

	/* Negative HTTP statuses start at -400, errno values end far above. */
	if (n > 0)
		app_handle(cfg, &req, &res); /* on failure res is a 500 */
	else if (n <= -400)
		app_error((int)-n, &res);
	else
		goto close_fd; /* the client left: nobody to answer */

	/* The bad waiter: while this order cooks, no other client is even
	 * accepted. Lab 2 learns to wait on many clients at once. */
	if (res.sleep_ms > 0)
		sleep_ms(res.sleep_ms);
	send_response(client_fd, &res);
	app_response_free(&res);
close_fd:
	close(client_fd);
}
