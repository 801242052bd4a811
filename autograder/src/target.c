#include "target.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"
#include "util.h"

const struct sbx_limits LIMITS_SERVER = {.cpu_s = 60,
                                         .mem_mb = 512,
                                         .nproc = 16,
                                         .fsize_mb = 16,
                                         .nofile = 64,
                                         .net = true};
/* valgrind reserves far more address space than it uses: no RLIMIT_AS. */
const struct sbx_limits LIMITS_VALGRIND = {.cpu_s = 300,
                                           .mem_mb = 0,
                                           .nproc = 16,
                                           .fsize_mb = 64,
                                           .nofile = 256,
                                           .net = true};

/* The server's output is its own to write: read it as untrusted, and no
 * more of it than a report could use. */
enum { OUTPUT_CAP = 1 << 20 };

static int find_port(const char *log)
{
	char *text = read_untrusted(log, OUTPUT_CAP, NULL);
	const char *p =
	    text ? strstr(text, "listening on http://127.0.0.1:") : NULL;
	int port = -1;

	if (p && strchr(p, '\n'))
		port = atoi(p + strlen("listening on http://127.0.0.1:"));
	free(text);
	return port > 0 && port < 65536 ? port : -1;
}

/* Explains a failed start in full the first time, then only points there:
 * a starter's server fails the same way in every check. */
static int start_failed(struct grader *g, struct target *t,
                        const struct target_opts *o, struct result *r,
                        int wait_ms)
{
	const char *tag = o->tag ? o->tag : "server";

	r->no_hint = true;
	if (g->start_failed[0] && !o->valgrind) {
		result_printf(r, "your server did not start (see %s above)\n",
		              g->start_failed);
		target_kill(t);
		return -1;
	}
	snprintf(g->start_failed, sizeof(g->start_failed), "%s", tag);
	if (!target_explain_death(t, r))
		result_printf(
		    r,
		    "the server did not print \"listening on "
		    "http://127.0.0.1:PORT\" within %d s: it must print "
		    "that line (and fflush stdout) once it is ready to "
		    "accept connections\n",
		    wait_ms / 1000);
	target_tail(t, r, 8);
	target_kill(t);
	return -1;
}

int target_start(struct grader *g, struct target *t,
                 const struct target_opts *o, struct result *r)
{
	char server[PATH_MAX];
	struct sbx_limits lim = o->valgrind ? LIMITS_VALGRIND : LIMITS_SERVER;
	const char *tag = o->tag ? o->tag : "server";
	int rc, wait_ms = o->valgrind ? 30000 : 5000;

	memset(t, 0, sizeof(*t));
	t->valgrind = o->valgrind;
	if (o->nofile)
		lim.nofile = o->nofile;
	if (o->fsize_mb)
		lim.fsize_mb = o->fsize_mb;
	path_join(server, g->bin, "server");
	snprintf(t->log, sizeof(t->log), "%s/%s.log", g->priv, tag);
	snprintf(t->vg_log, sizeof(t->vg_log), "%s/%s.valgrind", g->priv, tag);
	if (access(server, X_OK) != 0) {
		result_printf(r,
		              "there is no server program (%s did not build)\n",
		              "server");
		return -1;
	}
	char *argv[32];
	size_t n = 0;
	if (o->valgrind) {
		static char *const vg[] = {
		    "/usr/bin/valgrind", "--leak-check=full",
		    "--show-leak-kinds=definite,indirect",
		    "--errors-for-leak-kinds=definite,indirect",
		    "--error-exitcode=99", "--track-fds=yes",
		    /* An exec'd program is traced too, so that swapping
		     * the server for another program at exit shows. */
		    "--trace-children=yes", "--child-silent-after-fork=yes",
		    /* A pipe to the grader: the server can add to the
		     * log, never erase or replace it (valgrind.c). */
		    "--log-fd=3"};
		for (size_t i = 0; i < sizeof(vg) / sizeof(vg[0]); i++)
			argv[n++] = vg[i];
	}
	argv[n++] = server;
	argv[n++] = "--port";
	argv[n++] = "0";
	argv[n++] = "--root";
	argv[n++] = g->www;
	for (size_t i = 0; o->args && o->args[i] && n < 31; i++)
		argv[n++] = (char *)o->args[i];
	argv[n] = NULL;
	struct sbx_spec spec = {.argv = argv,
	                        .env = (char *const *)o->env,
	                        .cwd = g->run,
	                        .log = t->log,
	                        .fd3_log = o->valgrind ? t->vg_log : NULL,
	                        .lim = &lim};
	if ((rc = sbx_spawn(&t->proc, &spec)) < 0) {
		result_printf(r, "grader: cannot start the server: %s\n",
		              strerror(-rc));
		return -1;
	}
	/* Not past the check's own deadline. */
	if (probe_time_left_ms() < wait_ms)
		wait_ms =
		    probe_time_left_ms() > 0 ? (int)probe_time_left_ms() : 0;
	double deadline = probe_now_ms() + wait_ms;
	for (;;) {
		t->port = find_port(t->log);
		/* A server that announced itself and then exited at once
		 * (a stub server_run) did not start either. */
		if (t->port > 0) {
			probe_sleep_ms(20);
			if (target_alive(t))
				return 0;
		}
		if (t->port > 0 || !target_alive(t) ||
		    probe_now_ms() > deadline)
			return start_failed(g, t, o, r, wait_ms);
		probe_sleep_ms(5);
	}
}

bool target_serve(struct grader *g, const struct check *c, struct target *t,
                  const struct target_opts *o, struct result *r)
{
	struct target_opts opts = o ? *o : (struct target_opts){0};

	opts.tag = c->name;
	return target_start(g, t, &opts, r) == 0;
}

bool target_alive(struct target *t)
{
	if (t->proc.pid <= 0 || t->proc.exited)
		return false;
	return sbx_wait(&t->proc, 0) == -ETIMEDOUT;
}

static const char *death_hint(int status)
{
	if (!WIFSIGNALED(status))
		return "a server must keep running until it gets SIGINT or "
		       "SIGTERM";
	switch (WTERMSIG(status)) {
	case SIGPIPE:
		return "writing to a client that had gone away raised SIGPIPE, "
		       "whose default "
		       "action kills the process: ignore SIGPIPE "
		       "(signal(SIGPIPE, SIG_IGN)) and "
		       "handle EPIPE from write()";
	case SIGSEGV:
		return "a segmentation fault: an invalid pointer, or a buffer "
		       "overrun (run the "
		       "server under valgrind or build with -fsanitize=address "
		       "to find it)";
	case SIGABRT:
		return "abort(): often glibc detecting heap corruption (double "
		       "free, overrun) or "
		       "a failed assert";
	case SIGXCPU:
		return "it used more than its CPU time limit: a busy loop?";
	case SIGXFSZ:
		return "it wrote more output than allowed: printing on every "
		       "request?";
	case SIGKILL:
		return "it was killed, usually for running out of time or "
		       "memory";
	default:
		return "a signal you did not handle";
	}
}

bool target_explain_death(struct target *t, struct result *r)
{
	char how[96];

	if (target_alive(t))
		return false;
	result_printf(r, "your server %s: %s\n",
	              sbx_describe(t->proc.status, how, sizeof(how)),
	              death_hint(t->proc.status));
	return true;
}

/* SIGTERM, then wait; with nudge, a connection each second meanwhile. */
static int stop(struct target *t, int timeout_ms, bool nudge)
{
	double deadline = probe_now_ms() + timeout_ms;
	int rc = 0;

	if (!target_alive(t))
		return 0;
	/* To the server alone, not the group: valgrind must see it exit. */
	sbx_signal(&t->proc, SIGTERM);
	for (;;) {
		int left = (int)(deadline - probe_now_ms());

		rc = sbx_wait(&t->proc, nudge && left > 1000 ? 1000 : left);
		if (rc != -ETIMEDOUT || !nudge || left <= 1000)
			break;
		/* A blocking accept() that the signal just missed. */
		int fd = probe_connect(t->port, 500);
		if (fd >= 0)
			close(fd);
	}
	target_kill(t);
	return rc;
}

int target_stop(struct target *t, int timeout_ms)
{
	return stop(t, timeout_ms, false);
}

int target_stop_nudged(struct target *t, int timeout_ms)
{
	return stop(t, timeout_ms, true);
}

void target_kill(struct target *t)
{
	sbx_kill(&t->proc);
}

/* From the kernel's process CPU clock (every thread, in ns): the 10 ms
 * ticks of /proc/PID/stat were a quarter of a limit on a 400 ms window,
 * so a correct server could fail by one tick on a loaded machine. */
double target_cpu_ms(struct target *t)
{
	struct timespec ts;
	clockid_t clock;

	if (clock_getcpuclockid(t->proc.prog, &clock) != 0 ||
	    clock_gettime(clock, &ts) != 0)
		return -1;
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A number from the server's /proc/PID/status ("VmRSS: %ld"); -1 if absent. */
static long status_field(struct target *t, const char *format)
{
	char path[64], line[256];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)t->proc.prog);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, format, &value) == 1)
			break;
	fclose(f);
	return value;
}

long target_rss_kb(struct target *t)
{
	return status_field(t, "VmRSS: %ld kB");
}

int target_threads(struct target *t)
{
	return (int)status_field(t, "Threads: %ld");
}

long target_peak_rss_kb(struct target *t)
{
	return status_field(t, "VmHWM: %ld kB");
}

int target_fds(struct target *t)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)t->proc.prog);
	if (!(d = opendir(path)))
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

void target_tail(struct target *t, struct result *r, int lines)
{
	char *text = read_untrusted(t->log, OUTPUT_CAP, NULL);

	if (!text || !*text) {
		free(text);
		return;
	}
	const char *p = text + strlen(text);
	while (p > text && lines >= 0)
		if (*--p == '\n')
			lines--;
	result_printf(r, "last lines of the server's output:\n%.2000s%s",
	              p + (*p == '\n'),
	              text[strlen(text) - 1] == '\n' ? "" : "\n");
	free(text);
}
