/* test_stream.c - public tests of lab 5: file operations on the pool, the
 * readable stream, and Range.
 *
 * Each test owns a loop and a pool, and a scratch folder of files whose
 * bytes it knows. Every ev_run() has a watchdog (an unreferenced timer)
 * that stops the loop if the callbacks it waits for never come, so a
 * broken stream fails a test with a message instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "fs.h"
#include "loop.h"
#include "pool.h"
#include "stream.h"
#include "testing.h"

/* --- the scratch folder, the loop and the pool --- */

static char dir[] = "/tmp/test-stream-XXXXXX";
static int dir_fd = -1;
static struct ev_loop loop;
static struct tp_pool pool;
static struct ev_timer watchdog;
static bool timed_out;

static unsigned char byte_at(off_t i)
{
	return (unsigned char)(i * 7 + i / 251);
}

/* A file of n known bytes in the scratch folder. */
static void make_file(const char *name, off_t n)
{
	char path[128];
	static unsigned char block[65536];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	for (off_t at = 0; at < n;) {
		size_t len = n - at < (off_t)sizeof(block) ? (size_t)(n - at)
		                                           : sizeof(block);
		for (size_t i = 0; i < len; i++)
			block[i] = byte_at(at + (off_t)i);
		ck_assert_int_eq(write(fd, block, len), (ssize_t)len);
		at += (off_t)len;
	}
	close(fd);
}

static void on_watchdog(struct ev_timer *t)
{
	timed_out = true;
	ev_stop(t->h.loop);
}

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dir_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dir_fd, 0);
	ck_assert_int_eq(ev_loop_init(&loop), 0);
	ck_assert_int_eq(tp_init(&pool, &loop), 0);
	ev_timer_init(&loop, &watchdog, on_watchdog);
	ev_unref(&watchdog.h);
	timed_out = false;
}

static void teardown(void)
{
	char cmd[64];

	tp_close(&pool);
	ev_close(&watchdog.h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	ev_loop_close(&loop);
	close(dir_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	strcpy(dir, "/tmp/test-stream-XXXXXX");
}

/* Runs the loop until nothing is left to do, or ms have passed. */
static void run_for(unsigned ms, const char *waiting_for)
{
	ev_timer_start(&watchdog, ms, 0);
	ev_run(&loop, EV_RUN_DEFAULT);
	ev_timer_stop(&watchdog);
	ck_assert_msg(!timed_out, "after %u ms still waiting for %s", ms,
	              waiting_for);
}

/* --- file operations --- */

static struct fs_req req;
static int calls;

static void count_call(struct fs_req *r)
{
	(void)r;
	calls++;
}

/* Runs one operation to its callback; returns its result. */
static long wait_result(int rc, const char *what)
{
	ck_assert_msg(rc == 0, "%s returned %d", what, rc);
	calls = 0;
	run_for(2000, what);
	ck_assert_msg(calls == 1, "%s: its callback came %d times, not once",
	              what, calls);
	return req.result;
}

START_TEST(test_fs_operations)
{
	char buf[100];
	struct stat st;

	make_file("a.bin", 1000);
	long fd = wait_result(fs_open(&pool, &req, dir_fd, "a.bin", count_call),
	                      "fs_open(\"a.bin\")");
	ck_assert_msg(fd >= 0, "fs_open(\"a.bin\") said %ld", fd);
	ck_assert_msg(fcntl((int)fd, F_GETFD) & FD_CLOEXEC,
	              "the descriptor is not close-on-exec");
	ck_assert_int_eq(
	    wait_result(fs_fstat(&pool, &req, (int)fd, &st, count_call),
	                "fs_fstat"),
	    0);
	ck_assert_int_eq(st.st_size, 1000);
	ck_assert_int_eq(wait_result(fs_read(&pool, &req, (int)fd, buf,
	                                     sizeof(buf), 950, count_call),
	                             "fs_read(100 bytes at 950)"),
	                 50);
	for (int i = 0; i < 50; i++)
		ck_assert_msg((unsigned char)buf[i] == byte_at(950 + i),
		              "byte %d of the read at offset 950 is wrong", i);
	ck_assert_int_eq(wait_result(fs_read(&pool, &req, (int)fd, buf,
	                                     sizeof(buf), 1000, count_call),
	                             "fs_read at the end"),
	                 0);
	ck_assert_int_eq(
	    wait_result(fs_close(&pool, &req, (int)fd, count_call), "fs_close"),
	    0);
	ck_assert_msg(fcntl((int)fd, F_GETFD) < 0,
	              "fs_close's callback came, and the descriptor is still "
	              "open");
}
END_TEST

/* What fs_open() refuses: not there, out of the folder, not a file. */
START_TEST(test_fs_open_refuses)
{
	static const struct {
		const char *name;
		long want;
	} cases[] = {
	    {"missing.bin", -ENOENT}, {"../x", -EXDEV}, {"/etc/passwd", -EXDEV},
	    /* Refused as written, before any lookup: not -ENOENT. */
	    {"sub/../../nothing", -EXDEV},
	    {"sub", -EISDIR},         {"out", -EXDEV},
	};
	char path[128], target[128];

	snprintf(path, sizeof(path), "%s/sub", dir);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(target, sizeof(target), "/etc/hostname");
	ck_assert_int_eq(symlink(target, path), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char what[64];
		snprintf(what, sizeof(what), "fs_open(\"%s\")", cases[i].name);
		long got = wait_result(
		    fs_open(&pool, &req, dir_fd, cases[i].name, count_call),
		    what);
		if (got >= 0)
			close((int)got);
		ck_assert_msg(got == cases[i].want,
		              "fs_open(\"%s\"): expected %ld (%s), got %ld",
		              cases[i].name, cases[i].want,
		              strerror((int)-cases[i].want), got);
	}
}
END_TEST

/* --- the readable stream --- */

struct reader {
	struct rstream s;
	unsigned char *got;
	off_t n, want;
	size_t biggest;
	int chunks, ends, end_err, closed;
	int pause_after; /* pause after this many chunks (0: never) */
	int close_after; /* rstream_close() in the chunk that makes it so */
	unsigned extra_in_flight; /* reads in the pool during on_data */
	bool in_data;             /* on_data is running */
	bool resume_in_data;      /* rstream_resume() from inside on_data */
};

static void on_closed(struct rstream *s);

static void on_data(struct rstream *s, const char *data, size_t n)
{
	struct reader *r = s->data;

	ck_assert_msg(r->ends == 0, "a chunk came after on_end");
	ck_assert_msg(r->n + (off_t)n <= r->want,
	              "%zu bytes more after %lld: past the end", n,
	              (long long)r->n);
	r->in_data = true;
	memcpy(r->got + r->n, data, n);
	r->n += (off_t)n;
	r->chunks++;
	if (n > r->biggest)
		r->biggest = n;
	/* The read that brought this chunk has left the pool: anything
	 * still there is a second read in flight. */
	r->extra_in_flight += pool.in_flight;
	if (r->chunks == r->pause_after)
		rstream_pause(s);
	if (r->resume_in_data) { /* a read now would overwrite `data` */
		/* Nothing to do yet is no error: 0 (stream.h). */
		ck_assert_int_eq(rstream_resume(s), 0);
		r->extra_in_flight += pool.in_flight;
	}
	if (r->chunks == r->close_after) {
		rstream_close(s, on_closed);
		rstream_close(s, on_closed); /* twice: nothing more */
		/* The chunk is still ours until we return. */
		ck_assert_msg(r->closed == 0,
		              "on_closed came from inside rstream_close(), "
		              "called in on_data: the stream's memory (the "
		              "chunk we are reading) would go with it");
	}
	r->in_data = false;
}

static void on_end(struct rstream *s, int err)
{
	struct reader *r = s->data;

	r->ends++;
	r->end_err = err;
}

static void on_closed(struct rstream *s)
{
	struct reader *r = s->data;

	r->closed++;
}

/* Opens name and streams [start, end) of it in chunks of `chunk`. */
static int open_reader(struct reader *r, const char *name, off_t start,
                       off_t end, size_t chunk)
{
	char what[64];

	snprintf(what, sizeof(what), "fs_open(\"%s\")", name);
	long fd =
	    wait_result(fs_open(&pool, &req, dir_fd, name, count_call), what);

	ck_assert_msg(fd >= 0, "fs_open(\"%s\"): %ld", name, fd);
	*r = (struct reader){.got = malloc((size_t)(end - start) + 1),
	                     .want = end - start};
	rstream_init(&r->s, &pool, (int)fd, start, end, on_data, on_end);
	r->s.data = r;
	if (chunk > 0)
		r->s.chunk = chunk;
	return (int)fd;
}

static void check_bytes(const struct reader *r, off_t start, const char *what)
{
	ck_assert_msg(r->n == r->want, "%s: %lld bytes came, not %lld", what,
	              (long long)r->n, (long long)r->want);
	for (off_t i = 0; i < r->n; i++)
		ck_assert_msg(r->got[i] == byte_at(start + i),
		              "%s: byte %lld is wrong (chunks out of order, or "
		              "read at the wrong offset?)",
		              what, (long long)i);
}

/* Files at and around the chunk size, whole and from an offset: the
 * bytes in order, each chunk at most the chunk size, on_end(0) once. */
START_TEST(test_stream_chunks)
{
	static const off_t sizes[] = {0, 1, 999, 1000, 1001, 3005};
	char name[32], what[96];

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (off_t start = 0; start <= 1 && start <= sizes[i];
		     start++) {
			struct reader r;
			snprintf(name, sizeof(name), "f%zu", i);
			make_file(name, sizes[i]);
			int fd = open_reader(&r, name, start, sizes[i], 1000);
			snprintf(what, sizeof(what),
			         "a %lld-byte file from byte %lld in chunks of "
			         "1000",
			         (long long)sizes[i], (long long)start);
			ck_assert_int_eq(rstream_resume(&r.s), 0);
			run_for(2000, what);
			check_bytes(&r, start, what);
			ck_assert_msg(r.ends == 1 && r.end_err == 0,
			              "%s: on_end came %d times, last with %d; "
			              "expected once, with 0",
			              what, r.ends, r.end_err);
			ck_assert_msg(r.biggest <= 1000, "%s: a chunk of %zu",
			              what, r.biggest);
			ck_assert_msg(
			    r.extra_in_flight == 0,
			    "%s: another read was in the pool while a "
			    "chunk was handed on: one read at a time",
			    what);
			rstream_close(&r.s, NULL);
			run_for(1000, "the close");
			free(r.got);
			close(fd);
		}
	}
}
END_TEST

/* Paused, it reads nothing; resumed, it goes on where it stopped. */
START_TEST(test_stream_pause_resume)
{
	struct reader r;
	int fd;

	make_file("p.bin", 10000);
	fd = open_reader(&r, "p.bin", 0, 10000, 1000);
	r.pause_after = 3;
	ck_assert_int_eq(rstream_resume(&r.s), 0);
	run_for(2000, "3 chunks");
	ck_assert_msg(r.chunks == 3,
	              "paused after 3 chunks, %d came (a read must not start "
	              "while paused)",
	              r.chunks);
	ck_assert_int_eq(rstream_resume(&r.s), 0);
	run_for(2000, "the rest");
	check_bytes(&r, 0, "paused after 3 chunks, then resumed");
	ck_assert_int_eq(r.ends, 1);
	rstream_close(&r.s, on_closed);
	run_for(1000, "the close");
	ck_assert_int_eq(r.closed, 1);
	free(r.got);
	close(fd);

	/* Resumed from inside on_data: the next read waits until on_data
	 * has returned, or it would land in the chunk being read. */
	fd = open_reader(&r, "p.bin", 0, 10000, 1000);
	r.resume_in_data = true;
	ck_assert_int_eq(rstream_resume(&r.s), 0);
	run_for(2000, "the stream, resumed inside on_data");
	check_bytes(&r, 0, "resumed from inside each on_data");
	ck_assert_msg(r.extra_in_flight == 0,
	              "rstream_resume() inside on_data started a read while "
	              "on_data was still reading the chunk");
	rstream_close(&r.s, NULL);
	run_for(1000, "the close");
	free(r.got);
	close(fd);
}
END_TEST

/* Closed inside on_data: no callback after it but on_closed, once. */
START_TEST(test_stream_close_in_data)
{
	struct reader r;
	int fd;

	make_file("c.bin", 10000);
	fd = open_reader(&r, "c.bin", 0, 10000, 1000);
	r.close_after = 2;
	ck_assert_int_eq(rstream_resume(&r.s), 0);
	ev_close(&watchdog.h, NULL); /* nothing keeps the loop up now */
	ev_run(&loop, EV_RUN_DEFAULT);
	ck_assert_msg(r.chunks == 2 && r.ends == 0 && r.closed == 1,
	              "closed in the 2nd chunk: %d chunks, %d on_end and %d "
	              "on_closed came (expected 2, 0 and 1)",
	              r.chunks, r.ends, r.closed);
	ev_timer_init(&loop, &watchdog, on_watchdog);
	ev_unref(&watchdog.h);
	free(r.got);
	close(fd);
}
END_TEST

/* The file shrinks under the stream: on_end(-EIO), no chunk after it. */
static void shrink(struct rstream *s, const char *data, size_t n)
{
	struct reader *r = s->data;

	on_data(s, data, n);
	if (r->chunks == 1)
		ck_assert_int_eq(ftruncate(s->fd, 1500), 0);
}

START_TEST(test_stream_read_error)
{
	struct reader r;
	char path[128];
	int fd;

	make_file("e.bin", 5000);
	snprintf(path, sizeof(path), "%s/e.bin", dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	r = (struct reader){.got = malloc(5001), .want = 5000};
	rstream_init(&r.s, &pool, fd, 0, 5000, shrink, on_end);
	r.s.data = &r;
	r.s.chunk = 1000;
	ck_assert_int_eq(rstream_resume(&r.s), 0);
	run_for(2000, "on_end");
	ck_assert_msg(r.ends == 1 && r.end_err == -EIO && r.n == 1500,
	              "a 5000-byte file cut to 1500 after the first chunk: "
	              "expected 1500 bytes then on_end(-EIO), got %lld bytes, "
	              "on_end %d times, last with %d",
	              (long long)r.n, r.ends, r.end_err);
	rstream_close(&r.s, NULL);
	run_for(1000, "the close");
	free(r.got);
	close(fd);
}
END_TEST

/* --- the pipe, torn down from either side --- */

static int dones, done_err;

static void on_done(struct pipe *pp, int err)
{
	(void)pp;
	dones++;
	done_err = err;
}

/* A pipe into an answer whose client is gone (a reply never taken, as
 * after on_gone): the first chunk's server_write() says -ENOTCONN, the
 * stream stops there, and done comes once with that error. Then a pipe
 * stopped by pipe_gone() with its first read in flight: done once, when
 * the read has landed. Then a read error at the other end: done once,
 * with the read's error. */
START_TEST(test_pipe_teardown)
{
	struct server_reply gone = {0}; /* no client: as after on_gone */
	struct rstream src;
	struct pipe pp;
	char path[128];
	int fd;

	make_file("t.bin", 10000);
	snprintf(path, sizeof(path), "%s/t.bin", dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);

	rstream_init(&src, &pool, fd, 0, 10000, NULL, NULL);
	src.chunk = 1000;
	dones = 0;
	pipe_start(&pp, &src, &gone, on_done);
	run_for(2000, "the pipe's done");
	ck_assert_msg(dones == 1 && done_err == -ENOTCONN,
	              "a pipe whose client had gone: done came %d times, last "
	              "with %d; expected once, with -ENOTCONN",
	              dones, done_err);
	ck_assert_msg(src.pos <= 1000,
	              "the client was gone at the first chunk, yet the stream "
	              "read on to byte %lld: stop it when server_write() fails",
	              (long long)src.pos);

	rstream_init(&src, &pool, fd, 0, 10000, NULL, NULL);
	dones = 0;
	pipe_start(&pp, &src, &gone, on_done);
	pipe_gone(&pp); /* the guest leaves with the first read in the pool */
	ck_assert_msg(dones == 0,
	              "pipe_gone() with a read in flight: done came at once, "
	              "while the read still writes into the stream's buffer");
	run_for(2000, "the pipe's done");
	ck_assert_msg(dones == 1 && done_err == -ENOTCONN,
	              "pipe_gone(): done came %d times, last with %d; "
	              "expected once, with -ENOTCONN",
	              dones, done_err);

	ck_assert_int_eq(ftruncate(fd, 0), 0); /* every read now finds 0 */
	rstream_init(&src, &pool, fd, 0, 10000, NULL, NULL);
	dones = 0;
	pipe_start(&pp, &src, &gone, on_done);
	run_for(2000, "the pipe's done");
	ck_assert_msg(dones == 1 && done_err == -EIO,
	              "a pipe whose file had shrunk to nothing: done came %d "
	              "times, last with %d; expected once, with the read's "
	              "-EIO",
	              dones, done_err);
	close(fd);
}
END_TEST

/* --- Range --- */

START_TEST(test_range_forms)
{
	static const struct {
		const char *v;
		off_t size;
		enum files_range kind;
		off_t start, end;
	} cases[] = {
	    {"bytes=0-99", 1000, FILES_PART, 0, 100},
	    {"bytes=100-", 1000, FILES_PART, 100, 1000},
	    {"bytes=-100", 1000, FILES_PART, 900, 1000},
	    {"bytes=-5000", 1000, FILES_PART, 0, 1000},
	    {"bytes=990-5000", 1000, FILES_PART, 990, 1000},
	    {"bytes=999-999", 1000, FILES_PART, 999, 1000},
	    {"bytes=1000-", 1000, FILES_UNSATISFIABLE, 0, 0},
	    {"bytes=-0", 1000, FILES_UNSATISFIABLE, 0, 0},
	    {"bytes=0-", 0, FILES_UNSATISFIABLE, 0, 0},
	    {"bytes=5-4", 1000, FILES_WHOLE, 0, 0},
	    {"bytes=0-1,5-6", 1000, FILES_WHOLE, 0, 0},
	    {"bytes=-", 1000, FILES_WHOLE, 0, 0},
	    {"items=0-1", 1000, FILES_WHOLE, 0, 0},
	    {"bytes=99999999999999999999-", 1000, FILES_WHOLE, 0, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		off_t start = -1, end = -1;
		enum files_range kind =
		    files_range(cases[i].v, strlen(cases[i].v), cases[i].size,
		                &start, &end);
		ck_assert_msg(
		    kind == cases[i].kind &&
		        (kind != FILES_PART ||
		         (start == cases[i].start && end == cases[i].end)),
		    "Range: %s on a %lld-byte file: expected %d "
		    "[%lld, %lld), got %d [%lld, %lld)",
		    cases[i].v, (long long)cases[i].size, cases[i].kind,
		    (long long)cases[i].start, (long long)cases[i].end, kind,
		    (long long)start, (long long)end);
	}
	ck_assert_int_eq(files_range(NULL, 0, 1000, NULL, NULL), FILES_WHOLE);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("stream");
	TCase *tc;
	struct {
		const char *name;
		const TTest *test;
	} tests[] = {
	    {"test_fs_operations", test_fs_operations},
	    {"test_fs_open_refuses", test_fs_open_refuses},
	    {"test_stream_chunks", test_stream_chunks},
	    {"test_stream_pause_resume", test_stream_pause_resume},
	    {"test_stream_close_in_data", test_stream_close_in_data},
	    {"test_stream_read_error", test_stream_read_error},
	    {"test_pipe_teardown", test_pipe_teardown},
	    {"test_range_forms", test_range_forms},
	};

	for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		tc = tcase_create(tests[i].name);
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 20);
		tcase_add_test(tc, tests[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}

TEST_MAIN(suite)
