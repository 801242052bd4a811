#include "vglog.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "util.h"

enum { VGLOG_CAP = 8 << 20 };

/* "==123== " at p: the length of the prefix, or 0. */
static size_t prefix_len(const char *p, int pid)
{
	char want[32];
	int n = snprintf(want, sizeof(want), "==%d==", pid);

	return strncmp(p, want, (size_t)n) == 0 ? (size_t)n : 0;
}

static bool is_own(const char *line, int pid)
{
	return pid > 0 && prefix_len(line, pid) > 0;
}

/* Calls fn on each of valgrind's lines (those with the prefix). */
static int each_line(const struct vglog *l, bool own_only,
                     bool (*fn)(const char *line, size_t n, void *arg),
                     void *arg)
{
	int count = 0;

	for (const char *p = l->text; p && *p;) {
		size_t n = strcspn(p, "\n");
		if (!own_only || is_own(p, l->pid)) {
			count++;
			if (fn && !fn(p, n, arg))
				break;
		}
		p += n + (p[n] == '\n');
	}
	return count;
}

static bool holds(const char *line, size_t n, void *needle)
{
	return memmem(line, n, needle, strlen(needle)) != NULL;
}

struct counter {
	const char *needle;
	int n;
};

static bool count_one(const char *line, size_t n, void *arg)
{
	struct counter *c = arg;

	c->n += holds(line, n, (void *)c->needle);
	return true;
}

int vglog_count(const struct vglog *l, const char *needle)
{
	struct counter c = {needle, 0};

	each_line(l, true, count_one, &c);
	return c.n;
}

long vglog_number(const struct vglog *l, const char *key)
{
	for (const char *p = l->text; p && *p;) {
		size_t n = strcspn(p, "\n");
		const char *k =
		    is_own(p, l->pid) ? memmem(p, n, key, strlen(key)) : NULL;
		if (k) {
			long v = 0;
			for (k += strlen(key); *k == ' '; k++)
				;
			for (; (*k >= '0' && *k <= '9') || *k == ','; k++)
				if (*k != ',')
					v = v * 10 + (*k - '0');
			return v;
		}
		p += n + (p[n] == '\n');
	}
	return 0;
}

/* The checks that make a forged log show. */
static void check_log(struct vglog *l, int status)
{
	static const char *const once[] = {
	    "ERROR SUMMARY: ", "definitely lost: ", "indirectly lost: "};
	int lines = each_line(l, false, NULL, NULL);
	int own = each_line(l, true, NULL, NULL);

	if (l->pid <= 0) {
		snprintf(l->tamper, sizeof(l->tamper),
		         "it does not begin with valgrind's banner");
		return;
	}
	if (own != lines) {
		snprintf(l->tamper, sizeof(l->tamper),
		         "%d of its lines did not come from valgrind (the "
		         "program wrote into descriptor 3, valgrind's log)",
		         lines - own);
		return;
	}
	if (vglog_count(l, "Command: ") != 1) {
		snprintf(l->tamper, sizeof(l->tamper),
		         "it names %d programs: the program replaced itself "
		         "with another one (exec)",
		         vglog_count(l, "Command: "));
		return;
	}
	for (size_t i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		if (vglog_count(l, once[i]) > 1) {
			snprintf(l->tamper, sizeof(l->tamper),
			         "it holds %d lines \"%s...\" where valgrind "
			         "writes one",
			         vglog_count(l, once[i]), once[i]);
			return;
		}
	if (status >= 0 && WIFEXITED(status) && l->errors >= 0 &&
	    (WEXITSTATUS(status) == VG_ERROR_EXIT) != (l->errors > 0))
		snprintf(l->tamper, sizeof(l->tamper),
		         "its summary says %ld errors, but valgrind exited "
		         "with status %d (%d means it found errors)",
		         l->errors, WEXITSTATUS(status), VG_ERROR_EXIT);
}

int vglog_read(struct vglog *l, const char *path, int wait_status)
{
	memset(l, 0, sizeof(*l));
	l->errors = -1;
	if (!(l->text = read_untrusted(path, VGLOG_CAP, NULL)) || !*l->text)
		return -1;
	/* valgrind's banner is written before the program runs at all. */
	if (sscanf(l->text, "==%d== ", &l->pid) != 1)
		l->pid = 0;
	if (vglog_count(l, "ERROR SUMMARY: ") > 0)
		l->errors = vglog_number(l, "ERROR SUMMARY: ");
	check_log(l, wait_status);
	return 0;
}

void vglog_free(struct vglog *l)
{
	free(l->text);
	l->text = NULL;
}

void vglog_quote(struct result *r, const struct vglog *l,
                 const char *const needles[], size_t n, int max_lines,
                 const char *who)
{
	const char *best = NULL;

	for (const char *p = l->text; p && *p && !best;) {
		size_t len = strcspn(p, "\n");
		for (size_t i = 0; i < n && is_own(p, l->pid); i++)
			if (memmem(p, len, needles[i], strlen(needles[i])))
				best = p;
		if (!best)
			p += len + (p[len] == '\n');
	}
	if (!best)
		return;
	result_printf(r, "%s says:\n", who);
	for (const char *p = best; *p && max_lines > 0;) {
		size_t len = strcspn(p, "\n");
		if (is_own(p, l->pid)) {
			/* Long lines are cut: a report is not a dump. */
			result_printf(r, "%.*s%s\n",
			              (int)(len > 200 ? 200 : len), p,
			              len > 200 ? "..." : "");
			max_lines--;
		}
		p += len + (p[len] == '\n');
	}
}
