/* server.h - the HTTP server on the lab 3 event loop, with a kitchen (lab 4). */
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

/* Serves as lab 3's server does, plus the kitchen's routes (kitchen.h):
 * /cook and /hash are cooked on a tp_pool (EV_THREADPOOL_SIZE threads)
 * while the loop goes on serving everyone else; their connection holds a
 * placeholder response (sleep_ms = APP_HOLD_MS) until after_work swaps in
 * the real one. A client that leaves while its order is queued has the
 * order cancelled; one that leaves while it cooks has it thrown away when
 * it comes back. On a stop signal the pool is closed (queued orders
 * cancelled, cooks joined) before the loop. Returns 0 after closing every
 * connection, the pool and the loop. */
int server_run(int listen_fd, const struct app_config *cfg);

#endif
