/* sandbox.c - starting, watching and killing untrusted programs. What
 * they can see (bubblewrap's view, the course closed by permissions) is in
 * confine.c; what they leave behind is swept up by sweep.c. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
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

#include "confine.h"
#include "sweep.h"

enum { DRAIN_CAP = 8 << 20 }; /* bytes of fd 3 kept; the rest is dropped */

/* Every process sbx_spawn started and nobody has reaped yet, so that
 * sbx_kill_all (the watchdog's thread) can reach them. */
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	pid_t pid, prog;
} live[64];
enum { NLIVE = sizeof(live) / sizeof(live[0]) };

static void live_add(const struct sbx_proc *p)
{
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < NLIVE; i++)
		if (live[i].pid == 0) {
			live[i].pid = p->pid;
			live[i].prog = p->prog;
			break;
		}
	pthread_mutex_unlock(&live_lock);
}

static void live_remove(const struct sbx_proc *p)
{
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < NLIVE; i++)
		if (live[i].pid == p->pid)
			live[i].pid = live[i].prog = 0;
	pthread_mutex_unlock(&live_lock);
}

int sbx_init(enum sbx_mode want)
{
	/* Orphaned sandbox processes are re-parented to us, not to init,
	 * so they can be reaped (and counted) here. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	return confine_init(want);
}

/* A uid no real account uses, different for each grader process, so that
 * graders running side by side (make test) never kill each other's code. */
uid_t sbx_uid(void)
{
	static uid_t uid;

	if (geteuid() != 0)
		return geteuid();
	if (uid == 0)
		uid = 200000 + (uid_t)(getpid() % 100000);
	return uid;
}

int sbx_mkdir(const char *path)
{
	int fd, rc = 0;

	if (mkdir(path, 0700) < 0)
		return -errno;
	/* By descriptor: nothing can swap the folder for a link meanwhile. */
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (geteuid() == 0 && fchown(fd, sbx_uid(), sbx_uid()) < 0)
		rc = -errno;
	close(fd);
	return rc;
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

static void set_limit(int res, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = {soft, hard};

	setrlimit(res, &rl);
}

/* dup2 that does nothing when there is nothing to move. */
static int place(int fd, int want)
{
	if (fd < 0 || want < 0)
		return 0;
	return dup2(fd, want) < 0 ? -1 : 0;
}

/* In the child, between fork and exec: only async-signal-safe work.
 * fds[] are (high-numbered) descriptors to become 1 and 2, 3, and the
 * bubblewrap info fd. */
static void child_setup(const struct sbx_spec *s, const int fds[3], int info_at,
                        int nproc_base)
{
	const struct sbx_limits *lim = s->lim;
	/* Opened before the uid changes: the grader's files, not the
	 * sandbox's to reach. */
	int null_fd = open(s->in ? s->in : "/dev/null", O_RDONLY);
	int out_fd = s->out ? open(s->out, O_WRONLY | O_CREAT | O_EXCL, 0600)
	                    : fds[0];
	sigset_t none;

	/* Ignored signals stay ignored across exec: the grader ignores
	 * SIGPIPE, the student's program must start with the defaults. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	if (null_fd < 0 || out_fd < 0 || dup2(null_fd, 0) < 0 ||
	    dup2(out_fd, 1) < 0 ||
	    dup2(fds[0], 2) < 0 || place(fds[1], 3) < 0 ||
	    place(fds[2], info_at) < 0)
		_exit(126);
	close_range(info_at > 0 ? info_at + 1 : fds[1] >= 0 ? 4 : 3, ~0U, 0);
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
	/* Root ignores RLIMIT_NPROC; the limit binds from the moment the
	 * program runs as the sandbox uid (here, or in bubblewrap). */
	set_limit(RLIMIT_NPROC, nproc_base + lim->nproc,
	          nproc_base + lim->nproc);
	if (confine_mode() == SBX_NAMESPACES)
		return; /* bubblewrap changes folder and uid itself */
	if (chdir(s->cwd) < 0)
		_exit(126);
	if (geteuid() == 0) {
		uid_t uid = sbx_uid();

		if (setgroups(0, NULL) < 0 || setgid(uid) < 0 ||
		    setuid(uid) < 0)
			_exit(126);
	}
}

static int threads_of(pid_t pid, void *arg)
{
	char path[64], line[128];
	int threads = 1;
	FILE *f;

	(void)arg;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (!(f = fopen(path, "r")))
		return 1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Threads: %d", &threads) == 1)
			break;
	fclose(f);
	return threads;
}

/* Threads (tasks) the user runs: RLIMIT_NPROC counts threads, not
 * processes, so a desktop with a browser open may already run thousands. */
static int count_tasks(uid_t uid)
{
	return sweep_each_proc(uid, threads_of, NULL);
}

/* The copier of fd 3: a process of the grader's (root's, when root), so
 * the sandbox can neither kill it nor reach the file it writes. */
static pid_t start_drain(int from, int to)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	if (dup2(from, 0) < 0 || dup2(to, 1) < 0)
		_exit(1);
	/* Holding none of the grader's sockets: a client the grader closes
	 * must look closed to the server. */
	close_range(3, ~0U, 0);
	char buf[65536];
	long kept = 0;
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (kept + n > DRAIN_CAP)
			n = kept < DRAIN_CAP ? DRAIN_CAP - kept : 0;
		if (n > 0 && write(1, buf, (size_t)n) != n)
			break;
		kept += n;
	}
	_exit(0);
}

static int open_new(const char *path)
{
	return open(path,
	            O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC |
	                O_NOCTTY,
	            0600);
}

/* "K=V" entries: a clean, minimal environment; nothing of the grader's. */
static void make_env(char **envp, size_t cap, char *const *extra)
{
	size_t n = 0;

	envp[n++] = "PATH=/usr/local/bin:/usr/bin:/bin";
	envp[n++] = "LC_ALL=C";
	envp[n++] = "HOME=/tmp";
	envp[n++] = (char *)confine_tmpdir_env();
	for (size_t i = 0; extra && extra[i] && n + 1 < cap; i++)
		envp[n++] = extra[i];
	envp[n] = NULL;
}

/* Descriptors the child needs, each above 9 so that moving them into
 * place never overwrites another. */
struct plumbing {
	int log, fd3[2], info[2];
};

static void plumbing_close(struct plumbing *pl)
{
	int *all[] = {&pl->log, &pl->fd3[0], &pl->fd3[1], &pl->info[0],
	              &pl->info[1]};

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (*all[i] >= 0) {
			close(*all[i]);
			*all[i] = -1;
		}
}

static int high(int fd)
{
	int h = fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 10);

	if (fd >= 0)
		close(fd);
	return h;
}

static int plumb(struct plumbing *pl, const struct sbx_spec *s, int *log3)
{
	*pl = (struct plumbing){-1, {-1, -1}, {-1, -1}};
	*log3 = -1;
	if ((pl->log = high(open_new(s->log))) < 0)
		return -errno;
	if (s->fd3_log) {
		if ((*log3 = open_new(s->fd3_log)) < 0 ||
		    pipe2(pl->fd3, O_CLOEXEC) < 0)
			return -errno;
		pl->fd3[0] = high(pl->fd3[0]);
		pl->fd3[1] = high(pl->fd3[1]);
	}
	if (confine_mode() == SBX_NAMESPACES) {
		if (pipe2(pl->info, O_CLOEXEC) < 0)
			return -errno;
		pl->info[0] = high(pl->info[0]);
		pl->info[1] = high(pl->info[1]);
	}
	return 0;
}

int sbx_spawn(struct sbx_proc *p, const struct sbx_spec *s)
{
	struct plumbing pl;
	char *envp[40], *argv[160];
	int rc, log3, nproc_base = 0;
	/* bubblewrap's info fd comes after fd 3 when fd 3 is in use. */
	int info_at = confine_mode() != SBX_NAMESPACES ? -1
	              : s->fd3_log                     ? 4
	                                               : 3;

	*p = (struct sbx_proc){0};
	if ((rc = plumb(&pl, s, &log3)) < 0)
		goto close_plumbing;
	make_env(envp, sizeof(envp) / sizeof(envp[0]), s->env);
	if (confine_argv(argv, sizeof(argv) / sizeof(argv[0]), s, info_at) <
	    0) {
		rc = -E2BIG;
		goto close_plumbing;
	}
	if (geteuid() != 0)
		nproc_base = count_tasks(geteuid()) +
		             (confine_mode() == SBX_NAMESPACES ? 2 : 0);
	if (s->fd3_log && (p->drain = start_drain(pl.fd3[0], log3)) < 0) {
		rc = -errno;
		p->drain = 0;
		goto close_plumbing;
	}
	p->pid = fork();
	if (p->pid < 0) {
		rc = -errno;
		goto close_plumbing;
	}
	if (p->pid == 0) {
		int fds[3] = {pl.log, pl.fd3[1], pl.info[1]};

		child_setup(s, fds, info_at, nproc_base);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	/* Also from the parent, so that no signal can race the setsid. */
	setpgid(p->pid, p->pid);
	p->prog = p->pid;
	if (info_at > 0) {
		close(pl.info[1]);
		pl.info[1] = -1;
		p->prog = confine_find_program(pl.info[0], p->pid);
	}
	live_add(p);
	rc = 0;
close_plumbing:
	plumbing_close(&pl);
	if (log3 >= 0)
		close(log3);
	if (rc < 0 && p->drain > 0) {
		kill(p->drain, SIGKILL);
		waitpid(p->drain, NULL, 0);
		p->drain = 0;
	}
	return rc;
}

static void reaped(struct sbx_proc *p, int status)
{
	p->exited = true;
	p->status = confine_status(status);
	live_remove(p);
}

int sbx_wait(struct sbx_proc *p, int timeout_ms)
{
	long deadline = now_ms() + timeout_ms;

	while (!p->exited) {
		int status;
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid) {
			reaped(p, status);
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
	if (p->prog > 0 && !p->exited)
		kill(p->prog, sig);
}

/* The drain ends when the last holder of fd 3 is gone; everything of the
 * sandbox has been killed by now, so it is a matter of milliseconds. */
static void end_drain(struct sbx_proc *p)
{
	if (p->drain <= 0)
		return;
	for (int i = 0; i < 1000; i++) {
		pid_t r = waitpid(p->drain, NULL, WNOHANG);
		if (r == p->drain || (r < 0 && errno != EINTR))
			break;
		if (i == 999) {
			kill(p->drain, SIGKILL);
			waitpid(p->drain, NULL, 0);
		}
		sleep_ms(2);
	}
	p->drain = 0;
}

void sbx_kill(struct sbx_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(-p->pid, SIGKILL);
	kill(p->prog, SIGKILL);
	if (!p->exited) {
		int status;

		while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
			;
		reaped(p, status);
	}
	/* After the program is reaped, so its status is ours to keep. */
	sweep_after_run();
	end_drain(p);
}

void sbx_kill_all(void)
{
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < NLIVE; i++)
		if (live[i].pid > 0) {
			kill(-live[i].pid, SIGKILL);
			kill(live[i].prog, SIGKILL);
		}
	pthread_mutex_unlock(&live_lock);
	sweep_kill_uid();
}

int sbx_run(struct sbx_proc *p, const struct sbx_spec *s, int timeout_ms)
{
	int rc = sbx_spawn(p, s);

	if (rc < 0)
		return rc;
	rc = sbx_wait(p, timeout_ms);
	sbx_kill(p); /* the group may have stragglers even after a clean exit */
	return rc;
}

int sbx_leftovers(void)
{
	return geteuid() == 0 ? sweep_count_live(sbx_uid()) : 0;
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
