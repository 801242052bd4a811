#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out, const char *prog)
{
	fprintf(out,
	        "usage: %s [--port N] [--root DIR]\n"
	        "  --port N    TCP port on 127.0.0.1 (0, the default: any free port)\n"
	        "  --root DIR  directory served under /files/\n",
	        prog);
}

static int parse_port(const char *s, int *port)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*port = (int)v;
	return 0;
}

int cli_parse(int argc, char **argv, struct cli_options *opt)
{
	opt->port = 0;
	opt->root = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout, argv[0]);
			return 1;
		}
		if (i + 1 >= argc) {
			fprintf(stderr, "%s: unknown or incomplete option '%s'\n", argv[0], a);
			usage(stderr, argv[0]);
			return -1;
		}
		if (strcmp(a, "--port") == 0) {
			if (parse_port(argv[++i], &opt->port) < 0) {
				fprintf(stderr, "%s: bad port '%s'\n", argv[0], argv[i]);
				return -1;
			}
		} else if (strcmp(a, "--root") == 0) {
			opt->root = argv[++i];
		} else {
			fprintf(stderr, "%s: unknown option '%s'\n", argv[0], a);
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
