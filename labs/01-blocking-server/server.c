/* server.c - the blocking, one-client-at-a-time HTTP server (lab 1).
 *
 * "The bad waiter": it takes one order, stands by the kitchen until it is
 * ready, serves it, and only then looks at the next table. Every client waits
 * for every client before it, however slow that one is.
 *
 * You write everything here but server_port(). Read server.h first.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

int server_listen(int port)
{
	/* TODO(lab 1): create the listening socket and return it.
	 *
	 * 0. A port outside 0..65535 is -EINVAL (server.h says why).
	 * 1. socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0). SOCK_CLOEXEC
	 *    keeps the descriptor from leaking into programs we might exec.
	 * 2. setsockopt(SO_REUSEADDR, 1): without it, restarting the server
	 *    fails with EADDRINUSE for a minute or so after it served clients
	 *    (their connections linger in TIME_WAIT).
	 * 3. bind() to a struct sockaddr_in: family AF_INET, port
	 *    htons(port), address htonl(INADDR_LOOPBACK) (127.0.0.1 only: a
	 *    lab server has no business listening to the whole network).
	 *    Byte order matters: the network wants big-endian numbers.
	 * 4. listen(fd, 128): the kernel queues up to that many connections
	 *    that we have not accepted yet.
	 *
	 * If any step fails, save errno, close the socket, and return -errno
	 * (a goto to one cleanup label at the end keeps this tidy).
	 */
	(void)port;
	return -ENOSYS;
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
	/* TODO(lab 1): install the signal handling, with sigaction().
	 *
	 * - SIGPIPE: SIG_IGN. Writing to a client that has hung up raises
	 *   SIGPIPE, and its default action kills the whole server. Ignored,
	 *   the write just fails with EPIPE.
	 * - SIGINT and SIGTERM: a handler that only sets a flag, a file-scope
	 *   "static volatile sig_atomic_t" (the only kind of variable a handler
	 *   may safely write). Do not print or exit in the handler.
	 * - Leave SA_RESTART out of sa_flags: then a signal makes the blocked
	 *   accept() fail with EINTR, and server_run() gets to check the flag.
	 *   With SA_RESTART, accept() would quietly go on waiting.
	 *
	 * Return 0, or -errno if sigaction() fails.
	 */
	return 0;
}

int server_stopping(void)
{
	/* TODO(lab 1): return whether the flag set by the handler is set. */
	return 0;
}

int server_run(int listen_fd, const struct app_config *cfg)
{
	/* TODO(lab 1): accept clients one at a time until server_stopping().
	 *
	 * Loop while !server_stopping():
	 *   fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	 *   on success, server_handle_client(fd, cfg) (which closes fd).
	 * When accept4() fails:
	 *   EINTR: a signal arrived; go round the loop, which checks the flag.
	 *   ECONNABORTED, EMFILE, ENFILE, ENOBUFS, ENOMEM and the like are
	 *   about one connection or a passing shortage: print one short line
	 *   to stderr and carry on (for a shortage, pause ~100 ms first, or
	 *   you spin: the failed connection is still waiting in the queue).
	 *   Save errno before you print: fprintf() may change it.
	 *   EBADF, EINVAL, ENOTSOCK, EFAULT: the listening socket itself is
	 *   broken; return -errno.
	 * Return 0 once the loop ends: main() closes listen_fd and exits 0.
	 */
	(void)listen_fd;
	(void)cfg;
	return -ENOSYS;
}

void server_handle_client(int client_fd, const struct app_config *cfg)
{
	/* TODO(lab 1): serve one request, then close the connection.
	 *
	 * 1. io_read_request() into a buffer of HTTP_MAX_HEAD bytes (a local
	 *    array is fine).
	 *    - A length > 0: app_handle(cfg, &req, &res) builds the response.
	 *      (If it fails, res is still a 500 worth sending.)
	 *    - A negative HTTP status (-400 and below): app_error(-n, &res).
	 *    - Anything else (-ECONNRESET, another -errno): the client is
	 *      gone; just close.
	 * 2. If res.sleep_ms > 0, sleep that long with nanosleep() (and if a
	 *    signal interrupts it, sleep the remaining time). This blocks the
	 *    whole server -- that is the point of lab 1, the bad waiter.
	 * 3. http_format_head() into a small buffer (512 bytes is plenty),
	 *    with keep_alive false: lab 1 closes every connection after one
	 *    response, and says so with "Connection: close".
	 * 4. io_write_all() the head, then the body if res.send_body (HEAD
	 *    responses promise a body length but send no body). If a write
	 *    fails, the client has gone: stop writing.
	 * 5. app_response_free(&res), then close(client_fd) -- on every path,
	 *    or the server leaks memory and descriptors one client at a time.
	 */
	(void)cfg;
	close(client_fd); /* for now, hang up without a word */
}
