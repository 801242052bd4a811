#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "grader.h"

const char *path_join(char *buf, const char *a, const char *b)
{
	snprintf(buf, PATH_MAX, "%s/%s", a, b);
	return buf;
}

char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		return -errno;
	size_t n = fwrite(data, 1, len, f);
	if (fclose(f) != 0 || n != len)
		return -EIO;
	return 0;
}

int copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = read_file(from, &len);

	if (!data)
		return -errno;
	int rc = write_file(to, data, len);
	free(data);
	return rc;
}

char *read_untrusted(const char *path, size_t cap, size_t *len)
{
	/* O_NONBLOCK: opening a FIFO planted in its place must not hang. */
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (!(buf = malloc(cap + 1)))
		goto out;
	while (n < cap) {
		ssize_t got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
out:
	close(fd);
	return buf;
}

int run_trusted(char *const argv[], const char *log)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(log ? log : "/dev/null",
		              O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		close_range(3, ~0U, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int copy_tree(const char *from, const char *into, const char *log)
{
	char *argv[] = {"cp", "-R", "--", (char *)from, (char *)into, NULL};

	return run_trusted(argv, log) == 0 ? 0 : -EIO;
}

char *read_tail(const char *path, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	ssize_t n = -1;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && (buf = malloc(cap + 1))) {
		off_t from =
		    st.st_size > (off_t)cap ? st.st_size - (off_t)cap : 0;
		n = pread(fd, buf, cap, from);
	}
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	/* A first line cut in the middle says nothing. */
	char *nl = st.st_size > (off_t)cap ? strchr(buf, '\n') : NULL;
	if (nl)
		memmove(buf, nl + 1, strlen(nl + 1) + 1);
	return buf;
}

int remove_tree(const char *path)
{
	char *argv[] = {"rm", "-rf", "--", (char *)path, NULL};

	return run_trusted(argv, NULL) == 0 ? 0 : -EIO;
}

static const struct {
	const char *ent;
	char c;
} entities[] = {{"&lt;", '<'},
                {"&gt;", '>'},
                {"&amp;", '&'},
                {"&quot;", '"'},
                {"&apos;", '\''}};

void xml_field(const char *p, const char *end, const char *tag, char *buf,
               size_t cap)
{
	char open[32], close[32];
	size_t o = 0;

	buf[0] = '\0';
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	const char *s = strstr(p, open), *e;
	if (!s || s > end)
		return;
	s += strlen(open);
	if (!(e = strstr(s, close)) || e > end)
		return;
	while (s < e && o + 4 < cap) {
		size_t i, n = sizeof(entities) / sizeof(entities[0]);
		if (s[0] == '&' && s[1] == '#') {
			/* &#xD; or &#13;: shown escaped, as C would write it.
			 */
			char *semi;
			long c = s[2] == 'x' ? strtol(s + 3, &semi, 16)
			                     : strtol(s + 2, &semi, 10);
			if (*semi == ';') {
				o += (size_t)snprintf(buf + o, cap - o,
				                      c == '\r'   ? "\\r"
				                      : c == '\n' ? "\\n"
				                      : c == '\t' ? "\\t"
				                      : (c < 32 || c > 126)
				                          ? "\\x%02x"
				                          : "%c",
				                      (int)c);
				s = semi + 1;
				continue;
			}
		}
		for (i = 0; i < n; i++) {
			size_t el = strlen(entities[i].ent);
			if ((size_t)(e - s) >= el &&
			    !strncmp(s, entities[i].ent, el)) {
				buf[o++] = entities[i].c;
				s += el;
				break;
			}
		}
		if (i == n)
			buf[o++] = *s++;
	}
	buf[o] = '\0';
}
