/* server.h - the select() server: one thread, many clients (lab 2). */
#ifndef SERVER_H
#define SERVER_H

#include "app.h"

/* As in lab 1, but the listening socket is non-blocking too. */
int server_listen(int port);
int server_port(int listen_fd);

/* SIGPIPE ignored; SIGINT/SIGTERM set the stop flag. They are also blocked
 * outside pselect(), which unblocks them atomically while it waits: no
 * signal can slip in between checking the flag and going to sleep. */
int server_signals(void);
int server_stopping(void);

/* The loop: select() on the listening socket and every connection, by
 * what each wants; accept until EAGAIN; a connection whose descriptor is at
 * or above FD_SETSIZE cannot go into an fd_set (undefined behaviour) and
 * gets "503 Service Unavailable" and is closed at once. Sleeping
 * connections are woken by the select() timeout, computed from the nearest
 * deadline and rounded up to whole milliseconds. Returns 0 after a stop
 * signal, with every connection closed and freed. */
int server_run(int listen_fd, const struct app_config *cfg);

#endif
