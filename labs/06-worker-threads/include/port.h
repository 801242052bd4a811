/* port.h - a message port: any thread posts, one loop receives (lab 6).
 * Node's MessagePort, with bytes instead of the structured clone.
 *
 * The pool of lab 4 had one bell for the whole kitchen. A port is a bell
 * and a queue of its own, for one table:
 *
 *   any thread                           the receiver's loop thread
 *   port_post(p, data, len) --> queue --> on_message(p, m), later
 *                                 |            ^
 *                                 +--eventfd---+ (the loop's ev_io on it)
 *
 * A port goes one way. Its receiving end is bound to one loop (the eventfd
 * is watched by an ev_io on it); any thread may post to it. Two ports make
 * a conversation (worker.h: one to the worker, one back).
 *
 * What a port guarantees (the tests check each one; when a post rings, and
 * how the loop answers a ring, is yours to design: lab 4's bell again):
 * - every message posted before port_close() is received exactly once;
 *   the messages of one sender arrive in the order it posted them (and in
 *   fact all in the order their posts took the lock);
 * - on_message runs on the receiver's loop thread, never inside
 *   port_post(), even when the poster is that thread;
 * - no message waits in the queue with no wake-up on its way, whatever
 *   the loop is doing when it is posted;
 * - wake-ups coalesce: posts made while the loop is away share one
 *   eventfd write (a thousand of them: one write in all), and one wake-up
 *   may deliver many messages (p->wakeups fewer than p->received). A
 *   wake-up that finds nothing to deliver is harmless; a message with none
 *   coming is the bug;
 * - port_post() copies the bytes: the caller's buffer is its own again at
 *   once. port_post_owned() hands over a malloc()ed buffer instead: no
 *   copy, and the sender's pointer is cleared, so that it cannot touch the
 *   buffer again (Node's transfer list);
 * - a received message is the receiver's: on_message frees it with
 *   port_msg_free(), then or later (it may keep it);
 * - port_close() on the receiver's loop thread: messages still queued are
 *   freed unreceived (from inside on_message, so is the rest of the batch
 *   being delivered), later posts fail with -EPIPE, and on_closed comes
 *   once, from the loop, when the eventfd's watcher is closed. The port's
 *   memory is the caller's again from on_closed on. A post racing with the
 *   close either gets in before it (and is freed by it) or gets -EPIPE;
 * - an open port keeps its loop alive (like a Node port with a message
 *   listener); port_unref() lets the loop end while it is open.
 *
 * The traps, as questions to put to your design (play each interleaving):
 * - two threads post at once while the receiver drains: can a message be
 *   left in the queue with no wake-up coming? And if the loop reads the
 *   eventfd and takes the queue in the other order?
 * - a thousand posts and one write: which post writes, and how does each
 *   of the others know a wake-up is already on its way?
 * - on_message posts to its own port, or closes it: what does the loop
 *   hold while it runs, and what is left of the batch?
 * - a post on another thread while the loop closes the port: once the
 *   eventfd is closed its number may be another file's. Can the post still
 *   write to it?
 *
 * Facts: an eventfd is a 64-bit counter in the kernel; write() adds to it,
 * read() returns it and resets it to 0, and epoll reports it readable
 * while it is above 0 (lab 3's loop is level-triggered: an eventfd never
 * read is reported again at once, for ever).
 *
 * Every function but port_post() and port_post_owned() is called on the
 * receiver's loop thread. A port is not closed by a post that fails.
 */
#ifndef PORT_H
#define PORT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"
#include "loop.h"

struct port;

/* One message. Received, it is yours: port_msg_free() it when done. */
struct port_msg {
	void *data; /* the bytes (a copy's live in the message itself) */
	size_t len;
	/* Private: */
	struct list link; /* in the port's queue */
	bool owned;   /* data is a buffer handed over by port_post_owned() */
	char bytes[]; /* a copy's bytes */
};

typedef void (*port_message_fn)(struct port *p, struct port_msg *m);
typedef void (*port_closed_fn)(struct port *p);

struct port {
	void *data; /* yours */
	port_message_fn on_message;
	/* Private: */
	pthread_mutex_t lock; /* guards queue and closed */
	struct list queue;    /* posted, not yet taken by the loop */
	bool closed;          /* port_close() has begun: posts fail */
	int wake_fd;       /* the bell: an eventfd the receiver's loop watches */
	struct ev_io wake; /* the receiver loop's watcher on wake_fd */
	port_closed_fn on_closed;
	uint64_t received; /* loop thread only: messages handed to on_message */
	uint64_t
	    wakeups; /* loop thread only: eventfd reads that found a ring */
};

/* A port whose messages go to on_message on loop's thread (p->data is left
 * as it is: set it before or after). 0, or a
 * negative errno: nothing to close then -- except when the watcher could
 * not be started, which is ev_close()d: run the loop before p's memory
 * goes (as after tp_init()). */
int port_open(struct port *p, struct ev_loop *loop, port_message_fn on_message);

/* Posts a copy of data[0..len) (len may be 0). From any thread. 0,
 * -ENOMEM, or -EPIPE when the port is closed. */
int port_post(struct port *p, const void *data, size_t len);

/* Posts *data (a malloc()ed buffer of len bytes) without copying it. On
 * success *data is NULL: the buffer is the port's, then the receiver's
 * (port_msg_free() frees it). On failure *data is untouched and still
 * the caller's. From any thread. 0, -ENOMEM, -EPIPE. */
int port_post_owned(struct port *p, void **data, size_t len);

/* Frees a received message (and its buffer, if it was handed over). */
void port_msg_free(struct port_msg *m);

/* Delivers now, on the receiver's loop thread, every message queued so
 * far, as if the ring had come (a ring still pending then finds nothing,
 * and is harmless). worker.c uses it to hand on a worker's last replies
 * before its exit. */
void port_drain(struct port *p);

/* Lets p's loop end while p is open (ev_unref of its watcher). */
void port_unref(struct port *p);

/* Closes the port as the rules above say; on_closed may be NULL. Called
 * once. */
void port_close(struct port *p, port_closed_fn on_closed);

#endif
