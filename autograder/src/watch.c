#include "watch.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "probe.h"
#include "sandbox.h"

enum {
	TICK_MS = 50,        /* how late a deadline may be noticed */
	DISK_EVERY_TICKS = 5 /* the disk is walked every 250 ms */
};

static struct {
	pthread_t thread;
	pthread_mutex_t lock;
	bool running, stop;
	const char *const *dirs;
	struct watch_budget budget;
	double deadline;
	int events;
	char why[300];
} w = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* nftw has no argument for its callback: the walk's totals live here
 * (only the watchdog's thread, or a caller holding the lock, walks). */
static long long walk_bytes;
static long walk_files;

static int count(const char *path, const struct stat *st, int flag,
                 struct FTW *ftw)
{
	(void)path, (void)flag;
	if (ftw->level == 0)
		return 0; /* the folder itself is the grader's */
	/* Blocks, not st_size: a sparse file of a terabyte fills nothing. */
	walk_bytes += (long long)st->st_blocks * 512;
	walk_files++;
	return 0;
}

static void usage(long long *bytes, long *files)
{
	walk_bytes = 0;
	walk_files = 0;
	for (size_t i = 0; w.dirs && w.dirs[i]; i++)
		nftw(w.dirs[i], count, 16, FTW_PHYS | FTW_MOUNT);
	sbx_shared_usage(bytes, files);
	*bytes += walk_bytes;
	*files += walk_files;
}

void watch_usage(long long *bytes, long *files)
{
	pthread_mutex_lock(&w.lock);
	usage(bytes, files);
	pthread_mutex_unlock(&w.lock);
}

static void check_disk(void)
{
	long long bytes;
	long files;

	usage(&bytes, &files);
	if (bytes <= w.budget.bytes && files <= w.budget.files)
		return;
	sbx_kill_all();
	if (!(w.events & WATCH_DISK))
		snprintf(w.why, sizeof(w.why),
		         "%.1f MiB in %ld files and folders (the budget is "
		         "%lld MiB and %ld)",
		         (double)bytes / (1 << 20), files, w.budget.bytes >> 20,
		         w.budget.files);
	w.events |= WATCH_DISK;
}

static void *run(void *arg)
{
	struct timespec tick = {0, TICK_MS * 1000000L};

	(void)arg;
	for (unsigned n = 0;; n++) {
		pthread_mutex_lock(&w.lock);
		if (w.stop) {
			pthread_mutex_unlock(&w.lock);
			return NULL;
		}
		if (w.deadline && probe_interrupted()) {
			sbx_kill_all();
			w.events |= WATCH_INTERRUPT;
		} else if (w.deadline && probe_now_ms() > w.deadline) {
			/* Nothing left to wait for: every wait on the
			 * sandbox ends now, and whatever the check still
			 * starts ends at once too. */
			sbx_kill_all();
			w.events |= WATCH_DEADLINE;
		}
		if (n % DISK_EVERY_TICKS == 0)
			check_disk();
		pthread_mutex_unlock(&w.lock);
		nanosleep(&tick, NULL);
	}
}

int watch_start(const char *const dirs[], const struct watch_budget *b)
{
	int rc;

	w.dirs = dirs;
	w.budget = *b;
	w.stop = false;
	w.deadline = 0;
	w.events = 0;
	if ((rc = pthread_create(&w.thread, NULL, run, NULL)) != 0)
		return -rc;
	w.running = true;
	return 0;
}

void watch_stop(void)
{
	if (!w.running)
		return;
	pthread_mutex_lock(&w.lock);
	w.stop = true;
	pthread_mutex_unlock(&w.lock);
	pthread_join(w.thread, NULL);
	w.running = false;
}

void watch_arm(double deadline_ms)
{
	pthread_mutex_lock(&w.lock);
	w.deadline = deadline_ms;
	w.events = 0;
	w.why[0] = '\0';
	pthread_mutex_unlock(&w.lock);
}

int watch_disarm(char *why, size_t cap)
{
	int events;

	pthread_mutex_lock(&w.lock);
	/* A disk filled in the check's last instants counts too. */
	check_disk();
	events = w.events;
	snprintf(why, cap, "%s", w.why);
	w.deadline = 0;
	w.events = 0;
	pthread_mutex_unlock(&w.lock);
	return events;
}
