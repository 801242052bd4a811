/* test_port.c - public tests of lab 6's message port.
 *
 * One receiver (rx) listens on a port of the test's loop. Its on_message
 * checks each message as it comes: on which thread, whether the test is
 * inside one of its own port_post()s just then, and whether each sender's
 * sequence numbers come in order. It notes the first thing that is wrong,
 * and the test reports it. Senders are threads that post (sender, sequence)
 * pairs. Every run of the loop is bounded by an unreferenced watchdog timer
 * (it keeps nothing alive), so a broken port fails a test with a message
 * instead of hanging it. Bounds stretch under valgrind, which runs the code
 * 20 to 50 times slower.
 */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "port.h"
#include "testing.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

/* --- time and the loop --- */

static double real_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* A time limit in ms, stretched under valgrind. */
static unsigned bound(unsigned ms)
{
	return RUNNING_ON_VALGRIND ? ms * 20 : ms;
}

static struct ev_loop loop;
static struct ev_timer watchdog;
static bool barked;
static double deadline;     /* when the watchdog barks */
static atomic_bool gave_up; /* a sender's post failed: stop waiting */

/* Every 20 ms: past the deadline, or a sender gave up (a port that says
 * -ENOSYS should fail a test at once, not after its whole time limit). */
static void bark(struct ev_timer *t)
{
	if (real_ms() < deadline && !atomic_load(&gave_up))
		return;
	barked = true;
	ev_stop(t->h.loop);
}

static void watch(unsigned ms)
{
	barked = false;
	deadline = real_ms() + bound(ms);
	ck_assert_int_eq(ev_timer_start(&watchdog, 20, 20), 0);
}

static void loop_open(void)
{
	atomic_store(&gave_up, false);
	ck_assert_int_eq(ev_loop_init(&loop), 0);
	ck_assert_int_eq(ev_timer_init(&loop, &watchdog, bark), 0);
	ev_unref(&watchdog.h); /* it watches; it keeps nothing alive */
}

static void loop_close(void)
{
	int rc;

	ev_close(&watchdog.h, NULL);
	ev_run(&loop, EV_RUN_NOWAIT);
	rc = ev_loop_close(&loop);
	ck_assert_msg(rc == 0,
	              "ev_loop_close() said %d after every port's on_closed: "
	              "a handle of the port is still open",
	              rc);
}

/* ev_run(EV_RUN_DEFAULT): true if it returned by itself, false if the
 * watchdog had to stop it after ms. */
static bool run_default(unsigned ms)
{
	watch(ms);
	ev_run(&loop, EV_RUN_DEFAULT);
	ev_timer_stop(&watchdog);
	return !barked;
}

/* One iteration at a time, until *count reaches want or ms have passed
 * (or nothing is left to wait for): whether it did. */
static bool run_until(const unsigned *count, unsigned want, unsigned ms)
{
	watch(ms);
	while (*count < want && !barked)
		if (!ev_run(&loop, EV_RUN_ONCE))
			break;
	ev_timer_stop(&watchdog);
	return *count >= want;
}

/* --- the receiver --- */

enum { SENDERS = 4, OWN = SENDERS /* the loop thread's sender id */, KEEP = 8 };

struct msg {
	uint32_t sender, seq;
};

static struct rx {
	struct port p;
	pthread_t loop_thread;
	unsigned got;       /* on_message calls */
	unsigned closed;    /* on_closed calls */
	unsigned close_at;  /* port_close() in the on_message making got so */
	unsigned repost;    /* on_message posts one more, this many times */
	bool posting;       /* the test is inside its own port_post() */
	bool keep;          /* keep messages in kept[] rather than free them */
	bool join_at_close; /* join the senders right after port_close() */
	int late_post; /* what a post from on_message after its close said */
	struct port_msg *kept[KEEP];
	unsigned nkept;
	uint32_t next[SENDERS + 1]; /* each sender's next sequence number */
	char wrong[256];            /* the first thing on_message found wrong */
} rx;

static void wrong(const char *fmt, ...)
{
	va_list ap;

	if (rx.wrong[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(rx.wrong, sizeof(rx.wrong), fmt, ap);
	va_end(ap);
}

static void check_rx(void)
{
	ck_assert_msg(rx.wrong[0] == '\0', "%s", rx.wrong);
}

static void senders_join(void);

/* A post from the loop thread: on_message must not run inside it. */
static int own_post(uint32_t seq)
{
	struct msg m = {OWN, seq};
	int rc;

	rx.posting = true;
	rc = port_post(&rx.p, &m, sizeof(m));
	rx.posting = false;
	return rc;
}

static void rx_closed(struct port *p)
{
	if (p != &rx.p)
		wrong("on_closed got port %p, not the one closed (%p)",
		      (void *)p, (void *)&rx.p);
	if (!pthread_equal(pthread_self(), rx.loop_thread))
		wrong("on_closed ran on another thread than the loop's");
	rx.closed++;
}

static void rx_message(struct port *p, struct port_msg *m)
{
	struct msg v;

	if (!pthread_equal(pthread_self(), rx.loop_thread))
		wrong("on_message ran on another thread than the receiver's "
		      "loop thread");
	if (rx.posting)
		wrong("on_message ran inside port_post() on the loop thread; "
		      "expected it later, from the loop");
	if (rx.closed > 0)
		wrong("on_message came after on_closed");
	rx.got++;
	if (m->len == sizeof(v)) {
		memcpy(&v, m->data, sizeof(v));
		if (v.sender > OWN)
			wrong("a message from sender %u: its bytes were "
			      "damaged",
			      v.sender);
		else if (v.seq != rx.next[v.sender])
			wrong("sender %u's message %u came when its message "
			      "%u was expected: each message exactly once, "
			      "in the order of its posts",
			      v.sender, v.seq, rx.next[v.sender]);
		else
			rx.next[v.sender]++;
	}
	if (rx.keep && rx.nkept < KEEP)
		rx.kept[rx.nkept++] = m; /* it is ours: freed later */
	else
		port_msg_free(m);
	if (rx.repost > 0) {
		rx.repost--;
		if (own_post(rx.next[OWN]) != 0)
			wrong("a port_post() from inside on_message failed");
	}
	if (rx.close_at != 0 && rx.got == rx.close_at) {
		port_close(p, rx_closed);
		if (rx.closed > 0)
			wrong("on_closed came from inside port_close(), called "
			      "in on_message: it comes from the loop");
		rx.late_post = own_post(0);
		if (rx.join_at_close)
			senders_join();
	}
}

static void rx_open(void)
{
	memset(&rx, 0, sizeof(rx));
	/* A port's memory is garbage until port_open(), as in a malloc()ed
	 * struct: open must set every field it relies on. */
	memset(&rx.p, 0xa5, sizeof(rx.p));
	rx.loop_thread = pthread_self();
	ck_assert_int_eq(port_open(&rx.p, &loop, rx_message), 0);
	rx.p.data = &rx;
}

/* port_close(), then the loop until it ends: on_closed once, from it. */
static void rx_close(void)
{
	port_close(&rx.p, rx_closed);
	ck_assert_msg(rx.closed == 0,
	              "on_closed came from inside port_close(): it comes from "
	              "the loop, once the eventfd's watcher is closed");
	ck_assert_msg(run_default(2000),
	              "ev_run() did not end within 2 s of port_close(): the "
	              "port's watcher must be closed (ev_close)");
	ck_assert_msg(rx.closed == 1, "on_closed came %u times, expected once",
	              rx.closed);
	check_rx();
}

/* --- the senders: threads posting (id, 0), (id, 1)... --- */

static struct sender {
	pthread_t thread;
	uint32_t id, count;
	uint32_t posted; /* posts that said 0 */
	int failed;      /* the first that did not: what it said */
	int again;       /* and a post after it */
	bool started, joined;
} senders[SENDERS];

static void *send_all(void *arg)
{
	struct sender *s = arg;

	for (uint32_t seq = 0; seq < s->count; seq++) {
		struct msg m = {s->id, seq};
		int rc = port_post(&rx.p, &m, sizeof(m));

		if (rc != 0) {
			s->failed = rc;
			s->again = port_post(&rx.p, &m, sizeof(m));
			if (rc != -EPIPE) /* closed: the flood's expected end */
				atomic_store(&gave_up, true);
			break;
		}
		s->posted++;
	}
	return NULL;
}

static void senders_start(uint32_t count)
{
	for (uint32_t i = 0; i < SENDERS; i++) {
		senders[i] = (struct sender){.id = i, .count = count};
		ck_assert_int_eq(pthread_create(&senders[i].thread, NULL,
		                                send_all, &senders[i]),
		                 0);
		senders[i].started = true;
	}
}

static void senders_join(void)
{
	for (int i = 0; i < SENDERS; i++) {
		if (senders[i].started && !senders[i].joined)
			pthread_join(senders[i].thread, NULL);
		senders[i].joined = true;
	}
}

/* Every sender posted all it had, and every message came, in order. */
static void check_all_came(bool done, unsigned total, unsigned ms)
{
	for (int i = 0; i < SENDERS; i++)
		ck_assert_msg(senders[i].failed == 0,
		              "sender %d: port_post() said %d after %u posts, "
		              "with the port open",
		              i, senders[i].failed, senders[i].posted);
	check_rx();
	ck_assert_msg(done, "%u of %u messages received within %u ms", rx.got,
	              total, bound(ms));
	for (int i = 0; i < SENDERS; i++)
		ck_assert_msg(rx.next[i] == senders[i].count,
		              "sender %d: %u of its %u messages came", i,
		              rx.next[i], senders[i].count);
	ck_assert_msg(rx.got == total, "%u messages came, %u were posted",
	              rx.got, total);
	ck_assert_msg(rx.p.received == total,
	              "p->received is %llu after %u on_message calls",
	              (unsigned long long)rx.p.received, rx.got);
}

/* --- test_port_order ---
 * Every message posted before port_close() is received exactly once, each
 * sender's in the order it posted them; on_message runs on the loop thread
 * and never inside port_post(), even the loop thread's own; on_closed
 * comes once, from the loop. */

enum { ORDER_EACH = 25000, ORDER_OWN = 200 };

START_TEST(test_port_order)
{
	/* 100,000 messages natively; a tenth under valgrind. */
	uint32_t each = RUNNING_ON_VALGRIND ? ORDER_EACH / 10 : ORDER_EACH;
	unsigned total = SENDERS * each + ORDER_OWN;

	loop_open();
	rx_open();
	for (uint32_t seq = 0; seq < ORDER_OWN / 2; seq++)
		ck_assert_int_eq(own_post(seq), 0);
	ck_assert_msg(rx.got == 0,
	              "%u messages were received before the loop ran: "
	              "on_message runs from the loop, never in port_post()",
	              rx.got);
	senders_start(each);
	/* The loop thread posts too, while the senders do. */
	for (uint32_t seq = ORDER_OWN / 2; seq < ORDER_OWN; seq++)
		ck_assert_int_eq(own_post(seq), 0);
	bool done = run_until(&rx.got, total, 4000);
	senders_join();
	check_all_came(done, total, 4000);
	ck_assert_uint_eq(rx.next[OWN], ORDER_OWN);
	rx_close();
	loop_close();
}
END_TEST

/* --- test_port_coalesce ---
 * Posts made while the loop is away share one wake-up (a thousand of them:
 * one eventfd write), and no message is left without one: a post made
 * after the loop received everything, or from inside on_message while the
 * loop delivers, still arrives. port_drain() delivers at once, and
 * whatever wake-up it leaves pending is harmless. */

enum { HELD = 1000 };

/* What the eventfd's counter holds (how many rings the loop has not read
 * yet), put back for the loop to hear. */
static uint64_t rings_pending(void)
{
	struct pollfd pfd = {.fd = rx.p.wake_fd, .events = POLLIN};
	uint64_t n = 0;

	if (poll(&pfd, 1, 0) == 1 &&
	    read(rx.p.wake_fd, &n, sizeof(n)) == (ssize_t)sizeof(n))
		ck_assert_int_eq(write(rx.p.wake_fd, &n, sizeof(n)),
		                 (ssize_t)sizeof(n));
	return n;
}

START_TEST(test_port_coalesce)
{
	uint64_t rings, wakeups;
	unsigned want;

	loop_open();
	rx_open();
	for (uint32_t seq = 0; seq < HELD; seq++)
		ck_assert_int_eq(own_post(seq), 0);
	rings = rings_pending();
	ck_assert_msg(rings == 1,
	              "%llu rings (eventfd writes) for %u posts made before "
	              "the loop looked, expected 1",
	              (unsigned long long)rings, HELD);
	ck_assert_msg(run_until(&rx.got, HELD, 2000),
	              "%u of %u messages came within 2 s", rx.got, HELD);
	check_rx();
	wakeups = rx.p.wakeups;
	ck_assert_msg(wakeups >= 1 && wakeups < rx.p.received,
	              "%llu wake-ups (p->wakeups) for %llu messages received "
	              "(p->received), all posted before the loop looked; "
	              "expected at least 1 and fewer than the messages",
	              (unsigned long long)wakeups,
	              (unsigned long long)rx.p.received);

	/* Everything received: the next post must still arrive. */
	for (int round = 0; round < 3; round++) {
		want = rx.got + 1;
		ck_assert_int_eq(own_post(rx.next[OWN]), 0);
		ck_assert_msg(
		    run_until(&rx.got, want, 2000),
		    "round %d: a post made after the loop had received "
		    "every earlier message: %u of %u messages came "
		    "within 2 s",
		    round, rx.got, want);
	}
	/* Posts from inside on_message, while the loop delivers: each
	 * comes in a later wake-up. */
	rx.repost = 5;
	want = rx.got + 6;
	ck_assert_int_eq(own_post(rx.next[OWN]), 0);
	ck_assert_msg(run_until(&rx.got, want, 2000),
	              "%u of 6 messages came within 2 s, 5 of them posted "
	              "from inside on_message, while the loop delivered; "
	              "expected all 6",
	              6 - (want - rx.got));
	check_rx();

	/* port_drain() delivers now; the pending ring then finds nothing. */
	want = rx.got + 3;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(own_post(rx.next[OWN] + (uint32_t)i), 0);
	port_drain(&rx.p);
	ck_assert_msg(rx.got == want,
	              "port_drain() with 3 messages queued delivered %u",
	              3 - (want - rx.got));
	ev_run(&loop, EV_RUN_NOWAIT);
	ev_run(&loop, EV_RUN_NOWAIT);
	ck_assert_uint_eq(rx.got, want);
	ck_assert_int_eq(own_post(rx.next[OWN]), 0);
	ck_assert_msg(run_until(&rx.got, want + 1, 2000),
	              "a post after port_drain() never came");
	check_rx();
	rx_close();
	loop_close();
}
END_TEST

/* --- test_port_copy_and_transfer ---
 * port_post() copies: the caller's buffer is its own again at once.
 * port_post_owned() hands the buffer over: the sender's pointer is
 * cleared, the receiver gets that very buffer, and port_msg_free() frees
 * it (valgrind sees a leak or a double free otherwise). A received message
 * is the receiver's, to free when it likes. A post that fails leaves the
 * buffer the caller's. Empty messages work both ways. */

START_TEST(test_port_copy_and_transfer)
{
	char buf[16] = "hello";
	char *owned = malloc(32), *mine = malloc(8), *empty = malloc(1);
	void *handed = owned, *handed_empty = empty, *refused = mine;
	struct port_msg **k = rx.kept;

	ck_assert(owned && mine && empty);
	strcpy(owned, "handed over");
	loop_open();
	rx_open();
	rx.keep = true;
	ck_assert_int_eq(port_post(&rx.p, buf, 5), 0);
	memcpy(buf, "XXXXX", 5); /* ours again at once */
	ck_assert_int_eq(port_post_owned(&rx.p, &handed, 12), 0);
	ck_assert_msg(handed == NULL,
	              "port_post_owned() succeeded and left the sender's "
	              "pointer at %p: it must clear it",
	              handed);
	ck_assert_int_eq(port_post(&rx.p, buf, 0), 0);
	ck_assert_int_eq(port_post_owned(&rx.p, &handed_empty, 0), 0);
	ck_assert_ptr_null(handed_empty);
	ck_assert_msg(run_until(&rx.got, 4, 2000), "%u of 4 messages came",
	              rx.got);
	check_rx();
	ck_assert_uint_eq(rx.nkept, 4);

	ck_assert_uint_eq(k[0]->len, 5);
	ck_assert_msg(memcmp(k[0]->data, "hello", 5) == 0,
	              "the copy came as \"%.5s\", expected \"hello\": "
	              "port_post() must copy the bytes before it returns",
	              (const char *)k[0]->data);
	ck_assert_ptr_ne(k[0]->data, buf);
	ck_assert_msg(k[1]->data == owned,
	              "the buffer handed over (%p) came as %p: "
	              "port_post_owned() passes the pointer, no copy",
	              (void *)owned, k[1]->data);
	ck_assert_uint_eq(k[1]->len, 12);
	ck_assert_str_eq((const char *)k[1]->data, "handed over");
	ck_assert_uint_eq(k[2]->len, 0);
	ck_assert_uint_eq(k[3]->len, 0);
	ck_assert_ptr_eq(k[3]->data, empty);
	/* Freed after the loop handed them on: they were ours to keep. */
	for (unsigned i = 0; i < rx.nkept; i++)
		port_msg_free(rx.kept[i]);
	rx.nkept = 0;

	port_close(&rx.p, rx_closed);
	ck_assert_int_eq(port_post(&rx.p, buf, 5), -EPIPE);
	ck_assert_int_eq(port_post_owned(&rx.p, &refused, 8), -EPIPE);
	ck_assert_msg(refused == mine,
	              "a port_post_owned() that failed changed the sender's "
	              "pointer from %p to %p: on failure it is untouched",
	              (void *)mine, refused);
	free(refused); /* still ours: a double free if the port freed it */
	ck_assert_msg(run_default(2000), "the loop did not end after "
	                                 "port_close()");
	ck_assert_uint_eq(rx.closed, 1);
	loop_close();
}
END_TEST

/* --- test_port_close ---
 * port_close() frees the messages still queued unreceived (valgrind), later
 * posts fail with -EPIPE, on_closed comes once from the loop (not from
 * inside port_close()), and the loop can be closed after it; the eventfd
 * is closed by then. Closed from inside on_message, the rest of the batch
 * is not delivered. */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

START_TEST(test_port_close)
{
	void *b, *mine;
	int fds;

	loop_open();
	fds = count_fds();
	rx_open();
	for (uint32_t seq = 0; seq < 10; seq++)
		ck_assert_int_eq(own_post(seq), 0);
	for (int i = 0; i < 5; i++) {
		ck_assert_ptr_nonnull(b = malloc(100));
		ck_assert_int_eq(port_post_owned(&rx.p, &b, 100), 0);
	}
	port_close(&rx.p, rx_closed);
	ck_assert_msg(rx.closed == 0,
	              "on_closed came from inside port_close(): it comes from "
	              "the loop, once the eventfd's watcher is closed");
	ck_assert_int_eq(own_post(10), -EPIPE);
	ck_assert_ptr_nonnull(mine = b = malloc(4));
	ck_assert_int_eq(port_post_owned(&rx.p, &b, 4), -EPIPE);
	ck_assert_ptr_eq(b, mine);
	free(b);
	ck_assert_msg(run_default(2000),
	              "ev_run() did not end within 2 s of port_close()");
	ck_assert_msg(rx.got == 0,
	              "%u of the 15 messages queued when port_close() was "
	              "called were received: they are freed unreceived",
	              rx.got);
	ck_assert_msg(rx.closed == 1, "on_closed came %u times, expected once",
	              rx.closed);
	check_rx();
	ck_assert_msg(count_fds() == fds,
	              "%d descriptors open after on_closed, %d before "
	              "port_open(); expected as many",
	              count_fds(), fds);

	/* Ten messages in one batch, the port closed by the third. */
	rx_open();
	rx.close_at = 3;
	for (uint32_t seq = 0; seq < 10; seq++)
		ck_assert_int_eq(own_post(seq), 0);
	ck_assert_msg(run_default(2000),
	              "ev_run() did not end within 2 s of a port_close() "
	              "from on_message");
	check_rx();
	ck_assert_msg(rx.got == 3,
	              "port_close() in the 3rd on_message of a batch of 10: "
	              "%u on_message calls came, expected 3 (stop delivering "
	              "once the port is closed, and free the rest)",
	              rx.got);
	ck_assert_msg(rx.late_post == -EPIPE,
	              "a post after port_close() said %d, expected -EPIPE",
	              rx.late_post);
	ck_assert_msg(rx.closed == 1, "on_closed came %u times, expected once",
	              rx.closed);
	loop_close();
}
END_TEST

/* --- test_port_unref ---
 * An open port keeps its loop alive, waiting for a post; port_unref()
 * lets the loop end while the port is open (it still delivers while
 * something else runs the loop). */

static struct ev_timer poster, kick;
static double posted_at;

static void post_late(struct ev_timer *t)
{
	(void)t;
	posted_at = real_ms();
	if (own_post(0) != 0)
		wrong("a post from a timer on the loop failed");
}

static void nothing(struct ev_timer *t)
{
	(void)t;
}

START_TEST(test_port_unref)
{
	double t0, ms;

	loop_open();
	rx_open();
	rx.close_at = 1;
	/* Unreferenced: only the port keeps the loop up for 100 ms. */
	ck_assert_int_eq(ev_timer_init(&loop, &poster, post_late), 0);
	ev_unref(&poster.h);
	ck_assert_int_eq(ev_timer_start(&poster, 100, 0), 0);
	t0 = real_ms();
	ck_assert_msg(run_default(3000),
	              "the loop did not end within 3 s, though on_message "
	              "closed the port");
	ms = real_ms() - t0;
	check_rx();
	ck_assert_msg(rx.got == 1,
	              "ev_run(EV_RUN_DEFAULT) returned after %.0f ms with the "
	              "port open and its message, posted at 100 ms, not "
	              "received: an open port keeps its loop alive",
	              ms);
	ck_assert_msg(ms >= 90, "ev_run() returned after %.0f ms", ms);
	ck_assert_uint_eq(rx.closed, 1);
	ev_close(&poster.h, NULL);

	rx_open();
	port_unref(&rx.p);
	ck_assert_msg(run_default(2000),
	              "with port_unref(), ev_run(EV_RUN_DEFAULT) did not "
	              "return within 2 s: the port still keeps the loop alive");
	ck_assert_uint_eq(rx.closed, 0); /* still open */
	ck_assert_int_eq(own_post(0), 0);
	/* A referenced timer runs the loop for 20 ms: the port delivers. */
	ck_assert_int_eq(ev_timer_init(&loop, &kick, nothing), 0);
	ck_assert_int_eq(ev_timer_start(&kick, 20, 0), 0);
	ck_assert(run_default(2000));
	ck_assert_msg(rx.got == 1,
	              "an unreferenced port delivered %u messages of 1 while "
	              "a timer ran its loop",
	              rx.got);
	ev_close(&kick.h, NULL);
	rx_close();
	loop_close();
}
END_TEST

/* --- test_port_races ---
 * For helgrind: four threads post while the loop receives, then post
 * while the loop closes the port from on_message. Every racing post either
 * gets in (and is received, or freed by the close) or gets -EPIPE, and
 * -EPIPE for good. The senders are joined before on_closed: from then on
 * the port's memory is the caller's, and no post may touch it. */

enum { RACE_EACH = 2000, RACE_FLOOD = 5000, RACE_CLOSE_AT = 1000 };

START_TEST(test_port_races)
{
	unsigned total = SENDERS * RACE_EACH;
	bool done;

	loop_open();
	rx_open();
	senders_start(RACE_EACH);
	done = run_until(&rx.got, total, 4000);
	senders_join();
	check_all_came(done, total, 4000);
	rx_close();

	rx_open();
	rx.close_at = RACE_CLOSE_AT;
	rx.join_at_close = true;
	senders_start(RACE_FLOOD);
	done = run_default(4000);
	senders_join();
	check_rx();
	ck_assert_msg(done,
	              "the loop did not end within %u ms of the flood "
	              "and the close",
	              bound(4000));
	ck_assert_uint_eq(rx.got, RACE_CLOSE_AT);
	ck_assert_uint_eq(rx.closed, 1);
	for (int i = 0; i < SENDERS; i++) {
		const struct sender *s = &senders[i];

		ck_assert_msg(s->failed == 0 ||
		                  (s->failed == -EPIPE && s->again == -EPIPE),
		              "sender %d: a post racing with port_close() said "
		              "%d, and the next one %d; expected -EPIPE, both",
		              i, s->failed, s->again);
		ck_assert_msg(rx.next[i] <= s->posted,
		              "sender %d: %u messages received, %u posted", i,
		              rx.next[i], s->posted);
	}
	loop_close();
}
END_TEST

static Suite *port_suite(void)
{
	Suite *s = suite_create("port");

	TEST_ADD(s, test_port_order, 5);
	TEST_ADD(s, test_port_coalesce, 5);
	TEST_ADD(s, test_port_copy_and_transfer, 5);
	TEST_ADD(s, test_port_close, 5);
	TEST_ADD(s, test_port_unref, 5);
	TEST_ADD(s, test_port_races, 5);
	return s;
}

TEST_MAIN(port_suite)
