/* port.c - a message port: a locked queue and an eventfd bell (lab 6;
 * port.h).
 *
 * The same bell as lab 4's pool, one per port, with the same two rules at
 * once: no message sits in the queue with no ring on its way, and any
 * number of posts between two looks of the loop cost one wake-up
 * (port.h's rules; test_port_coalesce counts them).
 *
 * You write the functions marked TODO(lab 6): enqueue() (under port_post()
 * and port_post_owned()), port_post_owned(), port_drain(), on_ring() and
 * port_close(). Given: ring(), port_post(), port_msg_free(), port_open(),
 * port_unref() and on_wake_closed(). Until you write them, every post
 * says -ENOSYS.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "port.h"

/* Rings the bell: one write, which the loop's next read answers. */
static void ring(int fd)
{
	uint64_t one = 1;

	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* Appends m, and sees that the loop will hear of it. -EPIPE once closed. */
static int enqueue(struct port *p, struct port_msg *m)
{
	/* TODO(lab 6): from any thread, under port_post() and
	 * port_post_owned(). Returns 0, and then m is the newest message in
	 * p's queue and the receiver's loop will hear of it, with rings
	 * coalescing as port.h says; or -EPIPE once port_close() has begun
	 * (p->closed), and then m is the caller's still.
	 *
	 * Given: ring(), one eventfd write. p->lock guards the queue and
	 * `closed`.
	 *
	 * The trap (test_port_races, under helgrind): port_close() on the
	 * loop thread may run at any moment, and once `closed` is set the
	 * eventfd is closed soon after -- its number may then be another
	 * file's. A post that finds the port open must not ring after that
	 * close.
	 */
	(void)p;
	(void)m;
	(void)ring;
	return -ENOSYS;
}

int port_post(struct port *p, const void *data, size_t len)
{
	struct port_msg *m = malloc(sizeof(*m) + len);
	int rc;

	if (m == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(m->bytes, data, len);
	m->data = m->bytes;
	m->len = len;
	m->owned = false;
	if ((rc = enqueue(p, m)) < 0)
		free(m);
	return rc;
}

int port_post_owned(struct port *p, void **data, size_t len)
{
	/* TODO(lab 6): port_post() without the copy (port.h): the message
	 * carries the caller's buffer itself (m->owned says so, and
	 * port_msg_free() then frees it too). Returns 0, and then *data is
	 * NULL: the sender cannot touch the buffer again. On failure
	 * (-ENOMEM, -EPIPE) *data is untouched and the buffer still the
	 * caller's (test_port_copy_and_transfer; valgrind sees a leak or a
	 * double free otherwise).
	 */
	(void)p;
	(void)data;
	(void)len;
	return -ENOSYS;
}

void port_msg_free(struct port_msg *m)
{
	if (m == NULL)
		return;
	if (m->owned)
		free(m->data);
	free(m);
}

static void free_all(struct list *q)
{
	while (!list_empty(q)) {
		struct port_msg *m =
		    container_of(q->next, struct port_msg, link);
		list_remove(&m->link);
		port_msg_free(m);
	}
}

/* Hands on every message queued now. on_message may close the port: the
 * rest of the batch is then freed unreceived. */
void port_drain(struct port *p)
{
	/* TODO(lab 6): on the receiver's loop thread. Afterwards every
	 * message queued when it began has been handed to p->on_message,
	 * oldest first, each once and counted in p->received -- unless
	 * on_message closed the port: then the rest of that batch has been
	 * freed unreceived (free_all()) and nothing more was delivered.
	 *
	 * Traps: on_message runs without the lock -- it may post to this very
	 * port, or another thread may post meanwhile, and both lock; and the
	 * senders must not wait on the lock while on_message works. A
	 * message posted during the drain: is it delivered in this drain, or
	 * left for a later wake-up -- and if left, is that wake-up sure to
	 * come?
	 */
	(void)p;
	(void)free_all;
}

static void on_ring(struct ev_io *io, unsigned revents)
{
	/* TODO(lab 6): the bell's ev_io callback (p = io->h.data), on the
	 * receiver's loop thread. Afterwards the ring is heard (the eventfd
	 * read: level-triggered epoll reports it again at once, for ever,
	 * until it is), p->wakeups counts the reads that found a ring, and
	 * the queue has been delivered (port_drain()).
	 *
	 * The trap, as in lab 4's on_bell(): a post may come while you are
	 * here, and ring. Whatever the interleaving, its message must be
	 * delivered now or have a ring still pending when the loop next
	 * looks.
	 */
	(void)io;
	(void)revents;
}

int port_open(struct port *p, struct ev_loop *loop, port_message_fn on_message)
{
	int rc;

	if (on_message == NULL)
		return -EINVAL;
	p->on_message = on_message;
	p->on_closed = NULL;
	p->closed = false;
	p->received = p->wakeups = 0;
	list_init(&p->queue);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->wake_fd < 0)
		return -errno;
	if ((rc = -pthread_mutex_init(&p->lock, NULL)) < 0)
		goto close_fd;
	if ((rc = ev_io_init(loop, &p->wake, p->wake_fd, on_ring)) < 0)
		goto destroy_lock;
	p->wake.h.data = p;
	if ((rc = ev_io_start(&p->wake, EV_READABLE)) < 0) {
		/* Initialised: only a close gives it back (port.h). */
		p->closed = true;
		ev_close(&p->wake.h, NULL);
		goto destroy_lock;
	}
	return 0;

destroy_lock:
	pthread_mutex_destroy(&p->lock);
close_fd:
	close(p->wake_fd);
	return rc;
}

void port_unref(struct port *p)
{
	ev_unref(&p->wake.h);
}

/* The lock is not destroyed: a thread that still holds a pointer to the
 * port (a worker's parent posting to its inbox) must find the lock and
 * `closed`, and get -EPIPE. A mutex holds no resource (glibc), so nothing
 * leaks; the port's memory is the caller's from here. */
static void on_wake_closed(struct ev_handle *h)
{
	struct port *p = h->data;

	close(p->wake_fd);
	if (p->on_closed != NULL)
		p->on_closed(p);
}

void port_close(struct port *p, port_closed_fn on_closed)
{
	/* TODO(lab 6): on the receiver's loop thread, once. Afterwards
	 * every post, from any thread, fails with -EPIPE and rings no more;
	 * the messages still queued are freed unreceived; and on_closed (may
	 * be NULL) will come, once, from the loop, when the bell's watcher is
	 * closed (ev_close(): on_wake_closed(), given, then closes the
	 * eventfd and calls it). Closed from inside on_message, the rest of
	 * the batch is not delivered (port_drain()).
	 *
	 * The trap (test_port_races): a post on another thread racing with
	 * the close either got in before it (and its message is freed here)
	 * or gets -EPIPE: nothing in between, nothing leaked.
	 */
	(void)p;
	(void)on_closed;
	(void)on_wake_closed;
}
