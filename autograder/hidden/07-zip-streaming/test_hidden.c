/* test_hidden.c - hidden tests of lab 7: the traps behind the public ones.
 *
 * An archive of 2,500 entries (the list kept for the central directory
 * must grow: a fixed array overflows); an end record whose comment is cut
 * short (the archive is not whole until the comment has come); a zip64 end
 * record whose count disagrees with the directory. The archives are built
 * with the public tests' zipfix.h.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../../labs/07-zip-streaming/tests/zipfix.h"
#include "extract.h"
#include "testing.h"
#include "zipread.h"

/* Callbacks that accept everything: the reader's own rules only. */
static int ok_entry(void *arg, const struct zip_entry *e)
{
	(void)arg;
	(void)e;
	return 0;
}
static int ok_data(void *arg, const struct zip_entry *e, const void *buf,
                   size_t len)
{
	(void)arg;
	(void)e;
	(void)buf;
	(void)len;
	return 0;
}
static int ok_central(void *arg, const struct zip_entry *c)
{
	(void)arg;
	(void)c;
	return 0;
}
static int ok_end(void *arg, uint64_t entries)
{
	(void)arg;
	(void)entries;
	return 0;
}
static const struct zr_callbacks quiet = {ok_entry, ok_data, ok_entry,
                                          ok_central, ok_end};

/* The reader's verdict on the first n bytes of an archive. */
static int verdict(const void *p, size_t n)
{
	static struct zip_reader r;
	int rc = zr_init(&r, &quiet, NULL);

	if (rc == 0)
		rc = zr_feed(&r, p, n);
	if (rc == 0)
		rc = zr_finish(&r);
	zr_free(&r);
	return rc;
}

START_TEST(test_hidden_many_entries)
{
	enum { N = 2500 }; /* under the grader's 4,000-file disk budget */
	static struct zip_extract x;
	struct zf_archive a;
	/* In the working folder: a sandbox's /tmp may hold fewer files. */
	char scratch[] = "test-hidden-XXXXXX", name[32];
	int dirfd, rc = 0, files = 0;

	zf_init(&a);
	zf_add_dir(&a, "d/");
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "d/%05d", i);
		zf_add(&a, name, ZIP_STORED, 0, name, strlen(name));
	}
	zf_directory(&a);
	ck_assert_ptr_nonnull(mkdtemp(scratch));
	dirfd = open(scratch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dirfd, 0);
	ck_assert_int_eq(zx_init(&x, dirfd, NULL), 0);
	for (size_t at = 0; at < a.b.len && rc == 0; at += 4096)
		rc = zx_feed(&x, a.b.p + at,
		             a.b.len - at < 4096 ? a.b.len - at : 4096);
	if (rc == 0)
		rc = zx_finish(&x);
	zx_free(&x);
	ck_assert_msg(rc == 0,
	              "an archive of %d files in one folder: expected 0, got "
	              "%d (%s) at \"%s\"",
	              N, rc, zip_errname(rc), x.where);
	int sub = openat(dirfd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = sub >= 0 ? fdopendir(sub) : NULL;
	for (struct dirent *de; d && (de = readdir(d)) != NULL;)
		files += de->d_name[0] != '.';
	if (d)
		closedir(d);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	ck_assert_int_eq(system(cmd), 0);
	close(dirfd);
	zf_free(&a);
	ck_assert_msg(files == N, "expected %d files in d/, found %d", N,
	              files);
}
END_TEST

START_TEST(test_hidden_comment_cut)
{
	static const char comment[100] = "an end record's comment, 100 bytes";
	struct zf_archive a;

	zf_init(&a);
	zf_add(&a, "a.txt", ZIP_DEFLATED, 0, "hello\n", 6);
	zf_centrals(&a);
	zf_end_disk(&a.b, 0, 1, (uint32_t)a.cd_size, (uint32_t)a.cd_offset,
	            comment, sizeof(comment));
	int whole = verdict(a.b.p, a.b.len);
	int cut = verdict(a.b.p, a.b.len - 50);
	zf_free(&a);
	ck_assert_msg(whole == 0, "the whole archive: expected 0, got %d (%s)",
	              whole, zip_errname(whole));
	ck_assert_msg(cut == ZIP_ETRUNCATED,
	              "cut 50 bytes into the end record's 100-byte comment: "
	              "expected ZIP_ETRUNCATED (%d), got %d (%s)",
	              ZIP_ETRUNCATED, cut, zip_errname(cut));
}
END_TEST

START_TEST(test_hidden_zip64_end_count)
{
	struct zf_archive a;

	zf_init(&a);
	zf_add(&a, "a.txt", ZIP_STORED, 0, "one\n", 4);
	zf_add(&a, "b.txt", ZIP_STORED, 0, "two\n", 4);
	zf_centrals(&a);
	zf_end64(&a.b, 3, a.cd_size, a.cd_offset); /* says 3 of 2 */
	zf_end(&a.b, 0xffff, 0xffffffff, 0xffffffff, NULL);
	int rc = verdict(a.b.p, a.b.len);
	zf_free(&a);
	ck_assert_msg(rc == ZIP_EMISMATCH,
	              "2 central records, a zip64 end record that counts 3: "
	              "expected ZIP_EMISMATCH (%d), got %d (%s)",
	              ZIP_EMISMATCH, rc, zip_errname(rc));
}
END_TEST

static Suite *hidden_suite(void)
{
	Suite *s = suite_create("hidden");

	TEST_ADD(s, test_hidden_many_entries, 30);
	TEST_ADD(s, test_hidden_comment_cut, 10);
	TEST_ADD(s, test_hidden_zip64_end_count, 10);
	return s;
}

TEST_MAIN(hidden_suite)
