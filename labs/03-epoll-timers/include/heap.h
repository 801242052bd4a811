/* heap.h - the timer min-heap of the loop (lab 3).
 *
 * An array where every parent is due no later than its children: the next
 * timer is always heap[0], insert and remove cost O(log n). Ties on `due`
 * are broken by `seq`, the order timers were started, so timers due at the
 * same millisecond fire in start order (as libuv's do). Each timer knows its
 * index, so stopping one in the middle is O(log n) too.
 */
#ifndef HEAP_H
#define HEAP_H

#include "loop.h"

/* Adds t (due and seq set). 0 or -ENOMEM. */
int heap_push(struct ev_loop *loop, struct ev_timer *t);
/* The earliest timer, or NULL when empty. */
struct ev_timer *heap_min(const struct ev_loop *loop);
/* Removes t, which must be in the heap. */
void heap_remove(struct ev_loop *loop, struct ev_timer *t);
/* Frees the array (the timers are the caller's). */
void heap_free(struct ev_loop *loop);

#endif
