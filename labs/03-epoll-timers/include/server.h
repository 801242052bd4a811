/* server.h - the HTTP server on the lab 3 event loop. */
#ifndef SERVER_H
#define SERVER_H

#include "app.h"

/* Defaults; --idle-timeout and --header-timeout (struct app_config's
 * idle_timeout and header_timeout, 0 when not given) override them. */
enum {
	/* A keep-alive connection that sends nothing for this long is closed
	 * (Node's server.keepAliveTimeout is 5 s too). */
	SERVER_IDLE_TIMEOUT_MS = 5000,
	/* A request head must be complete this long after its first byte, or
	 * the client gets 408 and is closed (slowloris: trickling headers to
	 * hold connections open for ever). */
	SERVER_HEADER_TIMEOUT_MS = 10000,
};

/* As in lab 2 (non-blocking, close-on-exec listening socket). */
int server_listen(int port);
int server_port(int listen_fd);
/* SIGPIPE ignored; SIGINT and SIGTERM end the loop cleanly (a signalfd or
 * self-pipe watched by the loop: no race, no flag polling). */
int server_signals(void);
int server_stopping(void);

/* Serves until a stop signal: an ev_io per connection (read interest while
 * reading, write interest only while output is pending), an ev_timer per
 * connection for its sleep, idle and header deadlines, no limit at
 * FD_SETSIZE. Returns 0 after closing every connection and the loop. */
int server_run(int listen_fd, const struct app_config *cfg);

#endif
