/* test_heap.c - public tests of the timer heap (lab 3).
 *
 * The heap needs no epoll and no clock: a zeroed struct ev_loop is an empty
 * heap, and a timer needs only its due time and its seq (start order).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heap.h"
#include "testing.h"

static void set_timer(struct ev_timer *t, uint64_t due, uint64_t seq)
{
	memset(t, 0, sizeof(*t));
	t->due = due;
	t->seq = seq;
}

static bool earlier(const struct ev_timer *a, const struct ev_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

/* Whether every timer in the heap knows its slot and no child is due
 * before its parent. Returns the first bad slot, or SIZE_MAX. */
static size_t heap_bad_slot(const struct ev_loop *loop)
{
	for (size_t i = 0; i < loop->heap_len; i++) {
		if (loop->heap[i]->heap_index != i)
			return i;
		if (i > 0 && earlier(loop->heap[i], loop->heap[(i - 1) / 2]))
			return i;
	}
	return SIZE_MAX;
}

/* Removes the minimum until the heap is empty, checking that each one
 * comes no earlier than the one before. Returns how many came out. */
static size_t drain_in_order(struct ev_loop *loop)
{
	const struct ev_timer *prev = NULL;
	struct ev_timer *t;
	size_t n = 0;

	while ((t = heap_min(loop)) != NULL) {
		if (prev != NULL)
			ck_assert_msg(!earlier(t, prev),
			              "out of order: (due %llu, seq %llu) came "
			              "after (due %llu, seq %llu)",
			              (unsigned long long)t->due,
			              (unsigned long long)t->seq,
			              (unsigned long long)prev->due,
			              (unsigned long long)prev->seq);
		heap_remove(loop, t);
		prev = t;
		n++;
		ck_assert_msg(n <= 1000000, "the heap never empties");
	}
	ck_assert_uint_eq(loop->heap_len, 0);
	return n;
}

START_TEST(test_heap_order)
{
	static const uint64_t dues[] = {50, 10, 40, 10, 30, 20, 50, 0,
	                                90, 10, 60, 70, 20, 80, 5,  10};
	enum { N = sizeof(dues) / sizeof(dues[0]) };
	struct ev_loop loop = {0};
	struct ev_timer t[N];

	ck_assert_ptr_null(heap_min(&loop));
	for (size_t i = 0; i < N; i++) {
		set_timer(&t[i], dues[i], i);
		ck_assert_int_eq(heap_push(&loop, &t[i]), 0);
		ck_assert_uint_eq(loop.heap_len, i + 1);
		ck_assert_uint_eq(heap_bad_slot(&loop), SIZE_MAX);
	}
	/* The earliest is due at 0. */
	ck_assert_ptr_eq(heap_min(&loop), &t[7]);

	/* Due 10 four times: in start (seq) order, t[1], t[3], t[9], t[15]. */
	heap_remove(&loop, &t[7]);
	heap_remove(&loop, &t[14]);
	ck_assert_ptr_eq(heap_min(&loop), &t[1]);
	heap_remove(&loop, &t[1]);
	ck_assert_ptr_eq(heap_min(&loop), &t[3]);
	heap_remove(&loop, &t[3]);
	ck_assert_ptr_eq(heap_min(&loop), &t[9]);
	heap_remove(&loop, &t[9]);
	ck_assert_ptr_eq(heap_min(&loop), &t[15]);
	ck_assert_uint_eq(heap_bad_slot(&loop), SIZE_MAX);

	ck_assert_uint_eq(drain_in_order(&loop), N - 5);
	ck_assert_ptr_null(heap_min(&loop));
	heap_free(&loop);
	ck_assert_ptr_null(loop.heap);
}
END_TEST

START_TEST(test_heap_remove_middle)
{
	enum { N = 31 };
	struct ev_loop loop = {0};
	struct ev_timer t[N];
	bool gone[N] = {false};
	size_t removed = 0;

	/* Due in a scrambled order, so the tree is not just sorted. */
	for (size_t i = 0; i < N; i++) {
		set_timer(&t[i], (i * 17) % N, i);
		ck_assert_int_eq(heap_push(&loop, &t[i]), 0);
	}
	/* Take timers out of the middle, the last slot and the root. */
	for (size_t k = 0; k < 12; k++) {
		size_t slot = (k * 7 + 3) % loop.heap_len;
		struct ev_timer *victim;

		if (k == 4)
			slot = loop.heap_len - 1;
		if (k == 8)
			slot = 0;
		victim = loop.heap[slot];
		heap_remove(&loop, victim);
		gone[victim - t] = true;
		removed++;
		ck_assert_uint_eq(loop.heap_len, N - removed);
		ck_assert_msg(heap_bad_slot(&loop) == SIZE_MAX,
		              "after removing slot %zu of %zu: slot %zu is "
		              "wrong",
		              slot, loop.heap_len + 1, heap_bad_slot(&loop));
	}
	/* The removed ones are really gone, the others all there. */
	for (size_t i = 0; i < loop.heap_len; i++)
		ck_assert_msg(!gone[loop.heap[i] - t],
		              "timer %td was removed but is still in the heap",
		              loop.heap[i] - t);
	ck_assert_uint_eq(drain_in_order(&loop), N - removed);

	/* Removing everything from the middle, one at a time. */
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(heap_push(&loop, &t[i]), 0);
	for (size_t i = 0; i < N; i += 2)
		heap_remove(&loop, &t[i]);
	ck_assert_uint_eq(heap_bad_slot(&loop), SIZE_MAX);
	for (size_t i = 1; i < N; i += 2)
		heap_remove(&loop, &t[i]);
	ck_assert_uint_eq(loop.heap_len, 0);
	ck_assert_ptr_null(heap_min(&loop));
	heap_free(&loop);
}
END_TEST

/* A small deterministic generator: the same run every time. */
static uint64_t rng_state = 88172645463325252ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

START_TEST(test_heap_random_100k)
{
	enum { POOL = 512, OPS = 100000 };
	struct ev_loop loop = {0};
	struct ev_timer *t = calloc(POOL, sizeof(*t));
	bool *in = calloc(POOL, sizeof(*in)); /* the model: who is in */
	uint64_t seq = 0;
	size_t count = 0, bad_op = SIZE_MAX;
	const struct ev_timer *want = NULL, *got = NULL;

	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(in);
	/* Checked without ck_assert in the loop (each one is a message to
	 * the parent): the first wrong operation is kept and reported. */
	for (size_t op = 0; op < OPS && bad_op == SIZE_MAX; op++) {
		size_t i = rng() % POOL;

		if (!in[i]) {
			/* Few distinct due times: many ties on due. */
			set_timer(&t[i], rng() % 64, seq++);
			if (heap_push(&loop, &t[i]) < 0)
				break;
			in[i] = true;
			count++;
		} else {
			heap_remove(&loop, &t[i]);
			in[i] = false;
			count--;
		}
		want = NULL;
		for (size_t j = 0; j < POOL; j++) {
			if (in[j] && (want == NULL || earlier(&t[j], want)))
				want = &t[j];
		}
		got = heap_min(&loop);
		if (got != want || loop.heap_len != count)
			bad_op = op;
	}
	ck_assert_msg(
	    bad_op == SIZE_MAX,
	    "operation %zu: heap_min() is timer %td (due %llu), the "
	    "earliest is timer %td (due %llu); %zu timers in the "
	    "heap, %zu expected",
	    bad_op, got ? got - t : -1, got ? (unsigned long long)got->due : 0,
	    want ? want - t : -1, want ? (unsigned long long)want->due : 0,
	    loop.heap_len, count);
	ck_assert_uint_eq(heap_bad_slot(&loop), SIZE_MAX);

	/* Drained: exactly the model's timers, in (due, seq) order. */
	ck_assert_uint_eq(drain_in_order(&loop), count);
	heap_free(&loop);
	free(in);
	free(t);
}
END_TEST

static Suite *heap_suite(void)
{
	Suite *s = suite_create("heap");

	TEST_ADD(s, test_heap_order, 5);
	TEST_ADD(s, test_heap_remove_middle, 5);
	TEST_ADD(s, test_heap_random_100k, 30);
	return s;
}

TEST_MAIN(heap_suite)
