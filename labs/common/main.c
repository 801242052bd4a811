/* main.c - starts any lab's server (given code). Every lab's server.h
 * declares the same five functions; the build puts the lab's own include/
 * first on the search path, so "server.h" is always the current lab's. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "server.h"

/* Descriptors 0, 1 and 2 open, on /dev/null if they were not: a server
 * started with one closed would get it back from its next open() -- a
 * socket, an upload's file -- and a later write to "stdout" or a test of
 * fd >= 0 would go wrong there. */
static void std_fds_open(void)
{
	int fd;

	while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
		;
	if (fd > 2)
		close(fd);
}

int main(int argc, char **argv)
{
	struct cli_options opt;
	int rc;

	std_fds_open();
	rc = cli_parse(argc, argv, &opt);

	if (rc != 0)
		return rc > 0 ? EXIT_SUCCESS : 2;
	if (server_signals() < 0) {
		perror("server_signals");
		return EXIT_FAILURE;
	}

	int fd = server_listen(opt.port);
	if (fd < 0) {
		fprintf(stderr, "server_listen(%d): %s\n", opt.port,
		        strerror(-fd));
		return EXIT_FAILURE;
	}
	/* Linux lets listen() be called again on a listening socket: it only
	 * sets the queue's new length. So --backlog works on any lab's
	 * server_listen(), yours included, without a change to it. */
	if (opt.backlog > 0 && listen(fd, opt.backlog) < 0) {
		perror("listen(--backlog)");
		close(fd);
		return EXIT_FAILURE;
	}
	int port = server_port(fd);
	if (port < 0) {
		fprintf(stderr, "server_port: %s\n", strerror(-port));
		close(fd);
		return EXIT_FAILURE;
	}
	cli_announce(port);

	struct app_config cfg = {.root = opt.root,
	                         .idle_timeout = opt.idle_timeout,
	                         .header_timeout = opt.header_timeout};
	rc = server_run(fd, &cfg);
	close(fd);
	if (rc < 0) {
		fprintf(stderr, "server_run: %s\n", strerror(-rc));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
