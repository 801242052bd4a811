/* sendloop.c - the raw read-and-send throughput of a minimal C loop, for
 * lab 5's part of `make bench` (bench/files.sh): the ceiling for the
 * reference's /files/, which is to reach at least 0.9x the loop's MB/s.
 *
 *   sendloop [--root DIR] [--port N] [other options, ignored]
 *
 * Blocking, one connection at a time: read the request head, open
 * DIR/NAME for GET /files/NAME, send a head with its Content-Length, then
 * read() 64 KiB (RSTREAM_CHUNK, as the reference) and write() it all, until
 * the end of the file; close. No threads, no event loop, no parsing beyond
 * the request line. No sendfile() either: the reference copies every chunk
 * through a buffer of its own (pread() on a pool thread, then a write to
 * the socket), so the loop does the same to stay a fair ceiling for it; and
 * the socket's options are the reference's (no TCP_NODELAY, default buffers).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

enum { CHUNK = 64 << 10, HEAD_MAX = 8192 };

static char buf[CHUNK];

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Reads up to the blank line that ends the head; 0, or -1 if the client
 * left or the head is too long. */
static int read_head(int c, char *head, size_t max)
{
	size_t n = 0;

	while (n < max - 1) {
		ssize_t r = read(c, head + n, max - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		n += (size_t)r;
		head[n] = '\0';
		if (strstr(head, "\r\n\r\n") != NULL)
			return 0;
	}
	return -1;
}

static void reply(int c, const char *status)
{
	char h[128];
	int n = snprintf(h, sizeof(h),
	                 "HTTP/1.1 %s\r\nContent-Length: 0\r\n"
	                 "Connection: close\r\n\r\n",
	                 status);
	write_all(c, h, (size_t)n);
}

/* One request on connection c: GET /files/NAME, NAME a plain name. */
static void serve(int c, int root)
{
	char head[HEAD_MAX], name[256], h[256];
	struct stat st;
	int fd, n;

	if (read_head(c, head, sizeof(head)) < 0)
		return;
	if (sscanf(head, "GET /files/%255[^ /] HTTP/1.", name) != 1 ||
	    name[0] == '.') {
		reply(c, "404 Not Found");
		return;
	}
	fd = openat(root, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		reply(c, "404 Not Found");
		if (fd >= 0)
			close(fd);
		return;
	}
	n = snprintf(h, sizeof(h),
	             "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\n"
	             "Content-Type: application/octet-stream\r\n"
	             "Connection: close\r\n\r\n",
	             (long long)st.st_size);
	if (write_all(c, h, (size_t)n) == 0) {
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0 &&
		       write_all(c, buf, (size_t)r) == 0)
			;
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const char *root = ".";
	int port = 0, one = 1, s, dir;
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--root") == 0)
			root = argv[i + 1];
		else if (strcmp(argv[i], "--port") == 0)
			port = atoi(argv[i + 1]);
	}
	signal(SIGPIPE, SIG_IGN); /* a client that leaves is a failed write */
	if ((dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		perror(root);
		return 1;
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((unsigned short)port);
	if ((s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s, 64) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		perror("sendloop");
		return 1;
	}
	printf("listening on http://127.0.0.1:%d\n", ntohs(a.sin_port));
	fflush(stdout);
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		serve(c, dir);
		close(c);
	}
}
