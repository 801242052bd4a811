/* sweep.c - what the sandbox leaves behind: its processes (killed and
 * reaped after every run) and, in permissions mode, its files in the
 * machine's shared places and its SysV IPC objects (counted for the disk
 * budget, removed after every run). In namespaces mode a run's /tmp,
 * /dev/shm and IPC die with its namespaces. */
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "util.h"

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int sweep_each_proc(uid_t uid, int (*fn)(pid_t pid, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct stat st;
	char path[300];
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", e->d_name);
		if (stat(path, &st) == 0 && st.st_uid == uid)
			n += fn((pid_t)atoi(e->d_name), arg);
	}
	closedir(d);
	return n;
}

static int live(pid_t pid, void *arg)
{
	char path[64], state[8];
	FILE *f;
	bool zombie;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	zombie = fscanf(f, "%*d (%*[^)]) %7s", state) == 1 && state[0] == 'Z';
	fclose(f);
	return !zombie;
}

int sweep_count_live(uid_t uid)
{
	return sweep_each_proc(uid, live, NULL);
}

/* kill(-1) from a process running as the sandbox uid reaches exactly that
 * uid's processes: the ones that escaped the process group included. */
void sweep_kill_uid(void)
{
	if (geteuid() != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		/* Repeat: a fork bomb may still be forking while we kill.
		 * kill() fails with ESRCH once nothing of the uid is left. */
		if (setgid(sbx_uid()) == 0 && setuid(sbx_uid()) == 0)
			for (int i = 0; i < 50 && kill(-1, SIGKILL) == 0; i++)
				sleep_ms(1);
		_exit(0);
	}
	if (pid > 0)
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
}

static int reap(pid_t pid, void *arg)
{
	(void)arg;
	waitpid(pid, NULL, WNOHANG);
	return 1;
}

static const char *const shared_places[] = {"/tmp", "/var/tmp", "/dev/shm",
                                            "/run/lock", "/dev/mqueue"};

/* Calls fn(path, st) for what uid owns in dir, and looks into the
 * world-writable folders of others (a sticky /tmp/shared/) two levels deep. */
static void each_owned(const char *dir, uid_t uid, int depth,
                       void (*fn)(const char *path, const struct stat *st))
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;
	char path[PATH_MAX];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (st.st_uid == uid)
			fn(path, &st);
		else if (S_ISDIR(st.st_mode) && (st.st_mode & S_IWOTH) &&
		         depth < 2)
			each_owned(path, uid, depth + 1, fn);
	}
	closedir(d);
}

/* Runs when nothing of the uid is alive, so nothing can swap a folder for
 * a link meanwhile. */
static void remove_one(const char *path, const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		remove_tree(path);
	else
		unlink(path);
}

static long long used_bytes;
static long used_files;

static int count_one(const char *path, const struct stat *st, int flag,
                     struct FTW *ftw)
{
	(void)path, (void)flag, (void)ftw;
	used_bytes += (long long)st->st_blocks * 512;
	used_files++;
	return 0;
}

static void count_owned(const char *path, const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		nftw(path, count_one, 16, FTW_PHYS | FTW_MOUNT);
	else
		count_one(path, st, 0, NULL);
}

void sbx_shared_usage(long long *bytes, long *files)
{
	used_bytes = 0;
	used_files = 0;
	if (confine_mode() == SBX_PERMISSIONS)
		for (size_t i = 0; i < 5; i++)
			each_owned(shared_places[i], sbx_uid(), 0, count_owned);
	*bytes = used_bytes;
	*files = used_files;
}

/* SysV shared memory, semaphores and message queues outlive processes:
 * /proc/sysvipc/{shm,sem,msg} list them with their owner's uid. */
static void remove_ipc(uid_t uid)
{
	static const char *const kinds[] = {"shm", "sem", "msg"};

	for (int k = 0; k < 3; k++) {
		char path[64], line[512];
		int uid_col = -1;

		snprintf(path, sizeof(path), "/proc/sysvipc/%s", kinds[k]);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			long col[16] = {0};
			int n = 0;
			char *save, *tok = strtok_r(line, " \t\n", &save);

			for (; tok && n < 16;
			     tok = strtok_r(NULL, " \t\n", &save)) {
				if (uid_col < 0 && !strcmp(tok, "uid"))
					uid_col = n;
				col[n++] = strtol(tok, NULL, 10);
			}
			if (uid_col < 0 || n <= uid_col ||
			    (uid_t)col[uid_col] != uid)
				continue;
			int id = (int)col[1];
			if (k == 0)
				shmctl(id, IPC_RMID, NULL);
			else if (k == 1)
				semctl(id, 0, IPC_RMID);
			else
				msgctl(id, IPC_RMID, NULL);
		}
		fclose(f);
	}
}

void sweep_after_run(void)
{
	if (geteuid() != 0)
		return;
	sweep_kill_uid();
	/* Orphans of the uid were handed to us (we are a subreaper): reap
	 * them, or they stay zombies for as long as the grader runs. */
	sweep_each_proc(sbx_uid(), reap, NULL);
	if (confine_mode() != SBX_PERMISSIONS)
		return; /* a namespace's /tmp, /dev/shm and IPC die with it */
	for (size_t i = 0; i < 5; i++)
		each_owned(shared_places[i], sbx_uid(), 0, remove_one);
	remove_ipc(sbx_uid());
}
