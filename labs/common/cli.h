/* cli.h - the command line every lab server shares (given code).
 *
 *   server [--port N] [--root DIR] [--idle-timeout MS] [--header-timeout MS]
 *          [--backlog N]
 *
 * --port 0 (the default) lets the kernel pick a free port; the server then
 * prints "listening on http://127.0.0.1:PORT" as its first line, which is how
 * the grader and your scripts learn the port without racing for one.
 * Settings that come from the environment instead (EV_WORKERS) are read
 * here too.
 */
#ifndef CLI_H
#define CLI_H

struct cli_options {
	int port;           /* 0..65535 */
	const char *root;   /* directory for /files/, NULL when not given */
	int idle_timeout;   /* ms; 0: the server's default (lab 3 on) */
	int header_timeout; /* ms; 0: the server's default (lab 3 on) */
	int backlog;        /* the listen queue's length; 0: server_listen's */
};

/* Parses argv. Returns 0, 1 after printing --help, or -1 after printing an
 * error to stderr. */
int cli_parse(int argc, char **argv, struct cli_options *opt);

/* Prints the "listening on" line and flushes it (stdout may be a pipe). */
void cli_announce(int port);

/* The size of a pool of threads that EV_WORKERS sets (lab 6's compute
 * workers, lab 7's zip workers), from its value (NULL: unset): a positive
 * number as it is, anything else the number of cores; at most max. */
unsigned cli_workers(const char *value, unsigned max);

#endif
