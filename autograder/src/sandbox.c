#include "sandbox.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A uid no real account uses, different for each grader process, so that
 * graders running side by side (make test) never kill each other's code. */
int sbx_init(void)
{
	/* Orphaned sandbox processes are re-parented to us, not to init,
	 * so they can be reaped (and counted) here. */
	return prctl(PR_SET_CHILD_SUBREAPER, 1) < 0 ? -errno : 0;
}

uid_t sbx_uid(void)
{
	static uid_t uid;

	if (geteuid() != 0)
		return geteuid();
	if (uid == 0)
		uid = 200000 + (uid_t)(getpid() % 100000);
	return uid;
}

int sbx_give(const char *path)
{
	if (geteuid() != 0)
		return 0;
	return chown(path, sbx_uid(), sbx_uid()) < 0 ? -errno : 0;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Calls fn(pid) for every process of uid; returns how many matched. */
static int for_each_proc(uid_t uid, bool live_only, void (*fn)(pid_t))
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct stat st;
	char path[300], state[8];
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", e->d_name);
		if (stat(path, &st) != 0 || st.st_uid != uid)
			continue;
		if (live_only) {
			snprintf(path, sizeof(path), "/proc/%s/stat",
			         e->d_name);
			FILE *f = fopen(path, "r");
			bool zombie =
			    f && fscanf(f, "%*d (%*[^)]) %7s", state) == 1 &&
			    state[0] == 'Z';
			if (f)
				fclose(f);
			if (zombie)
				continue;
		}
		n++;
		if (fn)
			fn((pid_t)atoi(e->d_name));
	}
	closedir(d);
	return n;
}

/* Threads (tasks) the user runs: RLIMIT_NPROC counts threads, not
 * processes, so a desktop with a browser open may already run thousands. */
static int count_tasks(uid_t uid)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	struct stat st;
	char path[300], line[128];
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s", e->d_name);
		if (stat(path, &st) != 0 || st.st_uid != uid)
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		FILE *f = fopen(path, "r");
		int threads = 1;
		while (f && fgets(line, sizeof(line), f))
			if (sscanf(line, "Threads: %d", &threads) == 1)
				break;
		if (f)
			fclose(f);
		n += threads;
	}
	closedir(d);
	return n;
}

static void reap(pid_t pid)
{
	waitpid(pid, NULL, WNOHANG);
}

int sbx_leftovers(void)
{
	if (geteuid() != 0)
		return 0;
	return for_each_proc(sbx_uid(), true, NULL);
}

static void set_limit(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {soft, hard};

	setrlimit(res, &rl);
}

/* In the child, between fork and exec: only async-signal-safe work. */
static void child_setup(const char *cwd, int log_fd,
                        const struct sbx_limits *lim, int nproc_base)
{
	int null_fd = open("/dev/null", O_RDONLY);
	sigset_t none;

	/* Ignored signals stay ignored across exec: the grader ignores
	 * SIGPIPE, the student's program must start with the defaults. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(log_fd, 1) < 0 ||
	    dup2(log_fd, 2) < 0)
		_exit(126);
	close_range(3, ~0U, 0);
	if (cwd && chdir(cwd) < 0)
		_exit(126);
	if (lim->cpu_s)
		set_limit(RLIMIT_CPU, lim->cpu_s, lim->cpu_s + 1);
	if (lim->mem_mb)
		set_limit(RLIMIT_AS, (rlim_t)lim->mem_mb << 20,
		          (rlim_t)lim->mem_mb << 20);
	if (lim->fsize_mb)
		set_limit(RLIMIT_FSIZE, (rlim_t)lim->fsize_mb << 20,
		          (rlim_t)lim->fsize_mb << 20);
	if (lim->nofile)
		set_limit(RLIMIT_NOFILE, lim->nofile, lim->nofile);
	set_limit(RLIMIT_CORE, 0, 0);
	if (geteuid() == 0) {
		uid_t uid = sbx_uid();

		if (setgroups(0, NULL) < 0 || setgid(uid) < 0 ||
		    setuid(uid) < 0)
			_exit(126);
	}
	set_limit(RLIMIT_NPROC, nproc_base + lim->nproc,
	          nproc_base + lim->nproc);
}

int sbx_spawn(struct sbx_proc *p, char *const argv[], char *const env[],
              const char *cwd, const char *log_path,
              const struct sbx_limits *lim)
{
	char *envp[32];
	size_t n = 0;
	int log_fd, nproc_base;

	log_fd =
	    open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (log_fd < 0)
		return -errno;
	sbx_give(log_path);
	/* A clean, minimal environment: nothing of the grader's leaks in. */
	envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	envp[n++] = "LC_ALL=C";
	envp[n++] = "HOME=/tmp";
	for (size_t i = 0; env && env[i] && n < 31; i++)
		envp[n++] = env[i];
	envp[n] = NULL;
	nproc_base = geteuid() == 0 ? 0 : count_tasks(geteuid());

	p->exited = false;
	p->status = 0;
	p->pid = fork();
	if (p->pid < 0) {
		int err = -errno;

		close(log_fd);
		return err;
	}
	if (p->pid == 0) {
		child_setup(cwd, log_fd, lim, nproc_base);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	close(log_fd);
	/* Also from the parent, so that no signal can race the child's setsid.
	 */
	setpgid(p->pid, p->pid);
	return 0;
}

int sbx_wait(struct sbx_proc *p, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	while (!p->exited) {
		pid_t r = waitpid(p->pid, &p->status, WNOHANG);

		if (r == p->pid) {
			p->exited = true;
			break;
		}
		if (r < 0 && errno != EINTR)
			return -errno;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		sleep_ms(2);
	}
	return 0;
}

void sbx_signal(struct sbx_proc *p, int sig)
{
	if (p->pid > 0 && !p->exited)
		kill(-p->pid, sig);
}

/* kill(-1) from a process running as the sandbox uid reaches exactly that
 * uid's processes: the ones that escaped the process group included. */
static void sweep_uid(void)
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
	/* Orphans of the uid were handed to us (we are a subreaper): reap
	 * them, or they stay zombies for as long as the grader runs. */
	for_each_proc(sbx_uid(), false, reap);
}

void sbx_kill(struct sbx_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(-p->pid, SIGKILL);
	if (!p->exited) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
			;
		p->exited = true;
	}
	/* After the main process is reaped, so its status is ours to keep. */
	sweep_uid();
}

int sbx_run(struct sbx_proc *p, char *const argv[], char *const env[],
            const char *cwd, const char *log_path, const struct sbx_limits *lim,
            int timeout_ms)
{
	int rc = sbx_spawn(p, argv, env, cwd, log_path, lim);

	if (rc < 0)
		return rc;
	rc = sbx_wait(p, timeout_ms);
	sbx_kill(p); /* the group may have stragglers even after a clean exit */
	return rc;
}

const char *sbx_describe(int status, char *buf, size_t cap)
{
	if (WIFEXITED(status))
		snprintf(buf, cap, "exited with status %d",
		         WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, cap, "was killed by signal %d (%s)",
		         WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(buf, cap, "ended with wait status %#x", status);
	return buf;
}
