/* test_buf.c - public tests of the byte buffer (lab 2, given code). */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "testing.h"

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + (i >> 8));
}

START_TEST(test_buf_append_consume)
{
	struct buf b = BUF_INIT;
	unsigned char chunk[61];
	size_t in = 0, out = 0, max_cap = 0, bad = SIZE_MAX;

	ck_assert_uint_eq(buf_pending(&b), 0);
	ck_assert_int_eq(buf_append(&b, "hello", 5), 0);
	ck_assert_int_eq(buf_append(&b, ", world", 7), 0);
	ck_assert_uint_eq(buf_pending(&b), 12);
	ck_assert_mem_prefix(buf_head(&b), buf_pending(&b), "hello, world");
	buf_consume(&b, 7);
	ck_assert_uint_eq(buf_pending(&b), 5);
	ck_assert_mem_prefix(buf_head(&b), buf_pending(&b), "world");
	buf_consume(&b, 5);
	ck_assert_uint_eq(buf_pending(&b), 0);

	/* A megabyte through a buffer that never holds more than ~200 bytes:
	 * first in, first out, and the consumed space is reused. (Checked
	 * without ck_assert in the loop: each one costs a message to the
	 * parent process.) */
	while (out < (1u << 20) && bad == SIZE_MAX) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern(in + i);
		if (buf_append(&b, chunk, sizeof(chunk)) < 0)
			break;
		in += sizeof(chunk);
		while (buf_pending(&b) > 150) {
			const unsigned char *p =
			    (const unsigned char *)buf_head(&b);

			for (size_t i = 0; i < 50 && bad == SIZE_MAX; i++) {
				if (p[i] != pattern(out + i))
					bad = out + i;
			}
			buf_consume(&b, 50);
			out += 50;
		}
		if (b.cap > max_cap)
			max_cap = b.cap;
	}
	ck_assert_msg(bad == SIZE_MAX, "wrong byte at offset %zu", bad);
	ck_assert_uint_ge(out, 1u << 20);
	ck_assert_uint_eq(buf_pending(&b), in - out);
	ck_assert_msg(max_cap <= 4096,
	              "the buffer grew to %zu bytes to hold at most 211: "
	              "the consumed prefix is never reclaimed",
	              max_cap);

	buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(buf_pending(&b), 0);
	/* A freed buffer is an empty one, ready for use. */
	ck_assert_int_eq(buf_append(&b, "again", 5), 0);
	ck_assert_mem_prefix(buf_head(&b), buf_pending(&b), "again");
	buf_free(&b);
	buf_free(&b);
}
END_TEST

START_TEST(test_buf_reserve_commit)
{
	struct buf b = BUF_INIT;
	char *data;
	size_t cap;

	ck_assert_int_eq(buf_reserve(&b, 100), 0);
	ck_assert_uint_ge(buf_room(&b), 100);
	ck_assert_uint_eq(buf_pending(&b), 0);
	memcpy(buf_tail(&b), "0123456789", 10);
	buf_commit(&b, 10);
	ck_assert_uint_eq(buf_pending(&b), 10);
	ck_assert_mem_prefix(buf_head(&b), buf_pending(&b), "0123456789");

	/* Room made by reclaiming the consumed prefix keeps the rest. */
	buf_consume(&b, 8);
	ck_assert_int_eq(buf_reserve(&b, b.cap - 2), 0);
	ck_assert_uint_ge(buf_room(&b), b.cap - 2);
	ck_assert_mem_prefix(buf_head(&b), buf_pending(&b), "89");

	/* Growth keeps the pending bytes too. */
	ck_assert_int_eq(buf_reserve(&b, 100000), 0);
	ck_assert_uint_ge(buf_room(&b), 100000);
	ck_assert_uint_eq(buf_pending(&b), 2);
	ck_assert_mem_prefix(buf_head(&b), buf_pending(&b), "89");
	memset(buf_tail(&b), 'x', 100000);
	buf_commit(&b, 100000);
	ck_assert_uint_eq(buf_pending(&b), 100002);
	ck_assert_int_eq(buf_head(&b)[100001], 'x');

	/* Asking for nothing, or for what is there, changes nothing. */
	data = b.data;
	cap = b.cap;
	ck_assert_int_eq(buf_reserve(&b, 0), 0);
	ck_assert_int_eq(buf_reserve(&b, buf_room(&b)), 0);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);

	/* Impossible sizes fail cleanly and leave the buffer as it was. */
	ck_assert_int_eq(buf_reserve(&b, SIZE_MAX), -ENOMEM);
	ck_assert_int_eq(buf_append(&b, "y", SIZE_MAX - 1), -ENOMEM);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(buf_pending(&b), 100002);
	ck_assert_mem_prefix(buf_head(&b), buf_pending(&b), "89xxx");
	buf_free(&b);
}
END_TEST

static Suite *buf_suite(void)
{
	Suite *s = suite_create("buf");

	TEST_ADD(s, test_buf_append_consume, 5);
	TEST_ADD(s, test_buf_reserve_commit, 5);
	return s;
}

TEST_MAIN(buf_suite)
