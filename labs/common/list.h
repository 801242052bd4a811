/* list.h - one intrusive doubly linked list and one container_of, for every
 * module that queues things (given code: the loop, the pool, the server).
 *
 * "Intrusive": the node lives inside the thing queued (a handle, a work
 * order, a client), so queueing never allocates and a thing can unlink
 * itself in O(1). A list is a circular ring through a head node; an empty
 * ring, and a node in no list, point at themselves.
 *
 *   head <-> a.node <-> b.node <-> head        container_of(&a.node, T, node)
 *                                              gives back &a
 */
#ifndef LIST_H
#define LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list {
	struct list *prev, *next;
};

/* The struct of type `type` whose member `member` ptr points at. */
#define container_of(ptr, type, member)                                        \
	((type *)(void *)((char *)(ptr)-offsetof(type, member)))

static inline void list_init(struct list *l)
{
	l->prev = l;
	l->next = l;
}

/* For a head: the list is empty. For a node: it is in no list. */
static inline bool list_empty(const struct list *l)
{
	return l->next == l;
}

/* Adds l at the end of the list headed by head. */
static inline void list_append(struct list *head, struct list *l)
{
	l->prev = head->prev;
	l->next = head;
	head->prev->next = l;
	head->prev = l;
}

/* Unlinks l from whatever list holds it (none: nothing happens). */
static inline void list_remove(struct list *l)
{
	l->prev->next = l->next;
	l->next->prev = l->prev;
	list_init(l);
}

/* Moves every node of from onto the (re-initialised) head to, leaving from
 * empty: a phase or a batch works on such a copy, so what is added while
 * it runs waits for the next time round. */
static inline void list_move(struct list *from, struct list *to)
{
	list_init(to);
	if (list_empty(from))
		return;
	to->next = from->next;
	to->prev = from->prev;
	to->next->prev = to;
	to->prev->next = to;
	list_init(from);
}

#endif
