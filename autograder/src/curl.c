#include "curl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

int curl_fetch(struct grader *g, int port, const char *path,
               const char *const extra[], int timeout_s, struct curl_reply *c)
{
	char url[256], timeout[16], body[PATH_MAX], head[PATH_MAX],
	    log[PATH_MAX];
	char *argv[32];
	size_t n = 0, o;

	memset(c, 0, sizeof(*c));
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	snprintf(timeout, sizeof(timeout), "%d", timeout_s);
	path_join(body, g->priv, "curl.body");
	path_join(head, g->priv, "curl.head");
	path_join(log, g->priv, "curl.log");
	unlink(body);
	unlink(head);
	unlink(log);
	argv[n++] = "curl";
	argv[n++] = "-sS";
	argv[n++] = "--path-as-is";
	argv[n++] = "--max-time";
	argv[n++] = timeout;
	for (size_t i = 0; extra && extra[i] && n < 24; i++)
		argv[n++] = (char *)extra[i];
	argv[n++] = "-D";
	argv[n++] = head;
	argv[n++] = "-o";
	argv[n++] = body;
	argv[n++] = url;
	argv[n] = NULL;

	o = (size_t)snprintf(c->cmd, sizeof(c->cmd), "curl -i --path-as-is");
	for (size_t i = 0; extra && extra[i] && o < sizeof(c->cmd); i++)
		o += (size_t)snprintf(c->cmd + o, sizeof(c->cmd) - o, " %s",
		                      extra[i]);
	if (o < sizeof(c->cmd))
		snprintf(c->cmd + o, sizeof(c->cmd) - o,
		         " 'http://127.0.0.1:PORT%s'", path);

	int rc = run_trusted(argv, log);
	char *err = read_file(log, NULL);
	if (err) {
		snprintf(c->err, sizeof(c->err), "%s", err);
		c->err[strcspn(c->err, "\n")] = '\0';
		free(err);
	}
	c->head = read_file(head, NULL);
	c->body = read_file(body, &c->body_len);
	if (!c->body)
		c->body_len = 0;
	if (c->head)
		sscanf(c->head, "HTTP/%*s %d", &c->status);
	return rc == 0 && c->status > 0 ? 0 : -1;
}

void curl_reply_free(struct curl_reply *c)
{
	free(c->head);
	free(c->body);
	c->head = c->body = NULL;
}
