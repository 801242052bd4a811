#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
	        "usage: %s [--port N] [--root DIR] [--idle-timeout MS] "
	        "[--header-timeout MS] [--backlog N]\n"
	        "  --port N              TCP port on 127.0.0.1 (0, the "
	        "default: any free port)\n"
	        "  --root DIR            directory served under /files/\n"
	        "  --idle-timeout MS     close keep-alive connections idle "
	        "this long (lab 3 on)\n"
	        "  --header-timeout MS   408 for a request head not complete "
	        "in time (lab 3 on)\n"
	        "  --backlog N           length of the queue of connections "
	        "not yet accepted\n"
	        "                        (default: server_listen's; the "
	        "kernel caps it at\n"
	        "                        net.core.somaxconn)\n",
	        prog);
}

/* A decimal in [lo, hi] into *out; -1 if s is anything else. */
static int parse_int(const char *s, long lo, long hi, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *opt)
{
	*opt = (struct cli_options){0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout, argv[0]);
			return 1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr,
			        "%s: unknown or incomplete option '%s'\n",
			        argv[0], a);
			usage(stderr, argv[0]);
			return -1;
		}
		int *num = NULL;
		long hi = 3600 * 1000;

		if (strcmp(a, "--root") == 0) {
			opt->root = argv[++i];
			continue;
		}
		if (strcmp(a, "--port") == 0) {
			num = &opt->port;
			hi = 65535;
		} else if (strcmp(a, "--idle-timeout") == 0) {
			num = &opt->idle_timeout;
		} else if (strcmp(a, "--header-timeout") == 0) {
			num = &opt->header_timeout;
		} else if (strcmp(a, "--backlog") == 0) {
			num = &opt->backlog;
			hi = 65535;
		}
		if (num && parse_int(argv[++i], 0, hi, num) < 0) {
			fprintf(stderr, "%s: bad value '%s' for %s\n", argv[0],
			        argv[i], a);
			return -1;
		}
		if (!num) {
			fprintf(stderr, "%s: unknown option '%s'\n", argv[0],
			        a);
			usage(stderr, argv[0]);
			return -1;
		}
	}
	return 0;
}

void cli_announce(int port)
{
	printf("listening on http://127.0.0.1:%d\n", port);
	fflush(stdout);
}

unsigned cli_workers(const char *value, unsigned max)
{
	long n = value != NULL ? strtol(value, NULL, 10) : 0;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n <= 0)
		n = 1; /* the count is unknown: one still works */
	return (unsigned long)n > max ? max : (unsigned)n;
}
