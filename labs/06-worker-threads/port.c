/* port.c - a message port: a locked queue and an eventfd bell (lab 6;
 * port.h).
 *
 * The same bell as lab 4's pool, one per port: a post appends under the
 * lock and rings only when the queue was empty; the loop answers a ring by
 * reading the eventfd and taking the whole queue at once, so that any
 * number of posts cost one wake-up.
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

/* Appends m; rings if the queue was empty. -EPIPE once closed. */
static int enqueue(struct port *p, struct port_msg *m)
{
	/* TODO(lab 6): append m to p's queue under p->lock, and ring the bell
	 * (ring()) if the queue was empty: a queue that already held a message
	 * has a ring on its way. A closed port takes nothing: -EPIPE. Why must
	 * the ring be under the lock too? (port_close() closes the eventfd once
	 * `closed` is set.)
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
	/* TODO(lab 6): like port_post(), but the message points at *data
	 * (m->owned: port_msg_free() frees it) instead of holding a copy. Clear
	 * *data only once the post has succeeded: on failure the buffer is
	 * still the caller's.
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
	/* TODO(lab 6): take the whole queue under the lock (list_move() to a
	 * list of your own), then, with the lock released, hand each message to
	 * p->on_message, oldest first, counting p->received. on_message may
	 * close the port: stop then, and free the rest of the batch unread
	 * (free_all()).
	 */
	(void)p;
	(void)free_all;
}

static void on_ring(struct ev_io *io, unsigned revents)
{
	/* TODO(lab 6): the bell rang: read the eventfd (one read answers every
	 * ring before it; count p->wakeups), then deliver (port_drain()).
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
	/* TODO(lab 6): set `closed` under the lock (from then on posts fail and
	 * nobody rings), free what is still queued, remember on_closed, and
	 * close the watcher: on_wake_closed closes the eventfd and calls
	 * on_closed, from the loop.
	 */
	(void)p;
	(void)on_closed;
	(void)on_wake_closed;
}
