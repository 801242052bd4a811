/* server.h - the blocking, one-client-at-a-time HTTP server (lab 1). */
#ifndef SERVER_H
#define SERVER_H

#include "app.h"

/* Creates a TCP socket listening on 127.0.0.1:port (0: the kernel picks a
 * free port), with SO_REUSEADDR, close-on-exec. Returns the descriptor or a
 * negative errno: -EINVAL for a port outside 0..65535, which htons() would
 * otherwise silently wrap into another port. */
int server_listen(int port);

/* The port a listening socket is bound to, or a negative errno. */
int server_port(int listen_fd);

/* Installs the signal handling a server needs: SIGPIPE ignored (a client
 * that vanishes mid-response must not kill us), SIGINT and SIGTERM set a
 * flag (without SA_RESTART) so that a blocked accept() returns EINTR and the
 * server can shut down cleanly. Returns 0 or a negative errno. */
int server_signals(void);

/* True once SIGINT or SIGTERM has arrived. */
int server_stopping(void);

/* Accepts and serves clients one at a time until server_stopping().
 * Returns 0 on a clean stop, or a negative errno on a fatal error. */
int server_run(int listen_fd, const struct app_config *cfg);

/* Serves the one request on an accepted connection, then closes it. */
void server_handle_client(int client_fd, const struct app_config *cfg);

#endif
