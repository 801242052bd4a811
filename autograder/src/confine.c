#include "confine.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define BWRAP   "/usr/bin/bwrap"
#define SETPRIV "/usr/bin/setpriv"

/* Private /tmp and /dev/shm are memory: small, and gone after each run. */
#define TMP_BYTES "67108864"
#define SHM_BYTES "16777216"

static struct {
	enum sbx_mode mode;
	bool tmpfs_size; /* this bubblewrap knows --size (0.7 and later) */
	char why[200];   /* why namespaces are not available */
	char text[600];
	char box[PATH_MAX];
	char parents[8][PATH_MAX]; /* the box's parent folders, top down */
	int nparents;
	char hide[PATH_MAX]; /* the course, when it lies in a bound folder */
	char shared[PATH_MAX]; /* sbx_share(): bound read-write, or "" */
	char shared_parents[8][PATH_MAX];
	int nshared_parents;
	char tmpdir[PATH_MAX + 16];
	/* /bin, /lib...: symlinks into /usr (merged /usr) or folders. */
	char sys_args[6][3][PATH_MAX];
	int nsys;
	char uid_arg[2][32];
} cf = {.tmpdir = "TMPDIR=/tmp"};

enum sbx_mode confine_mode(void)
{
	return cf.mode;
}

enum sbx_mode sbx_mode(void)
{
	return cf.mode;
}

const char *sbx_mode_text(void)
{
	return cf.text;
}

const char *confine_tmpdir_env(void)
{
	return cf.tmpdir;
}

static void find_sys_dirs(void)
{
	static const char *const dirs[] = {"/bin",   "/sbin",  "/lib",
	                                   "/lib32", "/lib64", "/libx32"};
	struct stat st;

	cf.nsys = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char(*a)[PATH_MAX] = cf.sys_args[cf.nsys];

		if (lstat(dirs[i], &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			ssize_t n = readlink(dirs[i], a[1], PATH_MAX - 1);
			if (n <= 0)
				continue;
			a[1][n] = '\0';
			strcpy(a[0], "--symlink");
		} else if (S_ISDIR(st.st_mode)) {
			strcpy(a[0], "--ro-bind");
			strcpy(a[1], dirs[i]);
		} else {
			continue;
		}
		strcpy(a[2], dirs[i]);
		cf.nsys++;
	}
}

struct args {
	char **v;
	size_t n, cap;
};

static void add(struct args *a, const char *s)
{
	if (a->n + 1 < a->cap)
		a->v[a->n] = (char *)s;
	a->n++;
}

static void add2(struct args *a, const char *s1, const char *s2)
{
	add(a, s1);
	add(a, s2);
}

static void add3(struct args *a, const char *s1, const char *s2, const char *s3)
{
	add(a, s1);
	add2(a, s2, s3);
}

/* bubblewrap's view: the system read-only, the box, private /tmp and
 * /dev/shm, nothing else of the disk (not the course, not the grader). */
static void bwrap_view(struct args *a, bool net, const char *cwd,
                       const char *info)
{
	add(a, BWRAP);
	add3(a, "--ro-bind", "/usr", "/usr");
	add3(a, "--ro-bind", "/etc", "/etc");
	for (int i = 0; i < cf.nsys; i++)
		add3(a, cf.sys_args[i][0], cf.sys_args[i][1],
		     cf.sys_args[i][2]);
	add2(a, "--proc", "/proc");
	add2(a, "--dev", "/dev");
	/* Sticky and world-writable, like the real ones. */
	if (cf.tmpfs_size)
		add2(a, "--size", TMP_BYTES);
	add2(a, "--perms", "1777");
	add2(a, "--tmpfs", "/tmp");
	if (cf.tmpfs_size)
		add2(a, "--size", SHM_BYTES);
	add2(a, "--perms", "1777");
	add2(a, "--tmpfs", "/dev/shm");
	/* bubblewrap would make the box's parents 0700: the sandbox uid
	 * could not walk down to it. */
	for (int i = 0; i < cf.nparents; i++) {
		add2(a, "--perms", "0755");
		add2(a, "--dir", cf.parents[i]);
	}
	if (cf.box[0])
		add3(a, "--bind", cf.box, cf.box);
	for (int i = 0; i < cf.nshared_parents; i++) {
		add2(a, "--perms", "0755");
		add2(a, "--dir", cf.shared_parents[i]);
	}
	if (cf.shared[0])
		add3(a, "--bind", cf.shared, cf.shared);
	if (cf.hide[0])
		add2(a, "--tmpfs", cf.hide);
	add(a, "--unshare-pid");
	add(a, "--unshare-ipc");
	add(a, "--unshare-uts");
	add(a, "--unshare-cgroup-try");
	if (!net)
		add(a, "--unshare-net");
	add(a, "--die-with-parent");
	add(a, "--new-session");
	if (info)
		add2(a, "--info-fd", info);
	add2(a, "--chdir", cwd);
	add(a, "--");
	if (geteuid() == 0) {
		/* bubblewrap runs as root (it needs to, without user
		 * namespaces); the program must not. */
		add(a, SETPRIV);
		add(a, cf.uid_arg[0]);
		add(a, cf.uid_arg[1]);
		add(a, "--clear-groups");
		add(a, "--inh-caps=-all");
		add(a, "--bounding-set=-all");
		add(a, "--no-new-privs");
		add(a, "--");
	}
}

int confine_argv(char **argv, size_t cap, const struct sbx_spec *s, int info_at)
{
	struct args a = {argv, 0, cap};
	char *info = NULL;

	if (cf.mode == SBX_NAMESPACES) {
		static char num[16];
		snprintf(num, sizeof(num), "%d", info_at);
		info = info_at >= 0 ? num : NULL;
		bwrap_view(&a, s->lim->net, s->cwd, info);
	}
	for (size_t i = 0; s->argv[i]; i++)
		add(&a, s->argv[i]);
	if (a.n >= cap)
		return -E2BIG;
	argv[a.n] = NULL;
	return 0;
}

/* Runs argv with stderr into a pipe; 0 when it exits 0 within 5 s, else
 * -1 with the first line it printed in cf.why. */
static int try_run(char **argv)
{
	int pfd[2], status;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	if ((pid = fork()) == 0) {
		int null_fd = open("/dev/null", O_RDWR);
		dup2(null_fd, 0);
		dup2(null_fd, 1);
		dup2(pfd[1], 2);
		close_range(3, ~0U, 0);
		char *envp[] = {"PATH=/usr/bin:/bin", NULL};
		execve(argv[0], argv, envp);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	struct pollfd p = {pfd[0], POLLIN, 0};
	ssize_t n = poll(&p, 1, 5000) == 1
	                ? read(pfd[0], cf.why, sizeof(cf.why) - 1)
	                : 0;
	cf.why[n > 0 ? n : 0] = '\0';
	cf.why[strcspn(cf.why, "\n")] = '\0';
	close(pfd[0]);
	for (int i = 0; i < 5000 && waitpid(pid, &status, WNOHANG) == 0; i++)
		usleep(1000);
	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		snprintf(cf.why, sizeof(cf.why), "bwrap did not finish");
	}
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

/* Can bubblewrap make namespaces here (as the uid the code would run as)? */
static bool namespaces_work(void)
{
	char *argv[80];
	const struct sbx_limits lim = {0};
	const struct sbx_spec s = {
	    .argv = (char *[]){"/bin/true", NULL}, .cwd = "/", .lim = &lim};

	if (access(BWRAP, X_OK) != 0) {
		snprintf(cf.why, sizeof(cf.why),
		         "bubblewrap is not installed (Debian: bubblewrap)");
		return false;
	}
	cf.mode = SBX_NAMESPACES;
	for (int size = 1; size >= 0; size--) {
		cf.tmpfs_size = size;
		if (confine_argv(argv, 80, &s, -1) == 0 && try_run(argv) == 0)
			return true;
	}
	cf.mode = SBX_AUTO;
	return false;
}

static void describe(void)
{
	char who[64];

	if (geteuid() == 0)
		snprintf(who, sizeof(who), "as uid %u", (unsigned)sbx_uid());
	else
		snprintf(who, sizeof(who), "as your own uid");
	switch (cf.mode) {
	case SBX_NAMESPACES:
		snprintf(cf.text, sizeof(cf.text),
		         "namespaces (bubblewrap): student code runs %s and "
		         "sees the system read-only and its scratch copy, not "
		         "the course; private /tmp and /dev/shm",
		         who);
		break;
	case SBX_PERMISSIONS:
		snprintf(cf.text, sizeof(cf.text),
		         "permissions: student code runs %s; the course tree "
		         "is closed to it and what it leaves in /tmp, "
		         "/var/tmp, /dev/shm is removed (no namespaces: %s)",
		         who, cf.why);
		break;
	default:
		snprintf(cf.text, sizeof(cf.text),
		         "limits only: student code runs %s with limits, and "
		         "can read what you can (no namespaces: %s); fine for "
		         "your own code, not for grading others'",
		         who, cf.why);
	}
}

int confine_init(enum sbx_mode want)
{
	bool root = geteuid() == 0;

	snprintf(cf.uid_arg[0], sizeof(cf.uid_arg[0]), "--reuid=%u",
	         (unsigned)sbx_uid());
	snprintf(cf.uid_arg[1], sizeof(cf.uid_arg[1]), "--regid=%u",
	         (unsigned)sbx_uid());
	find_sys_dirs();
	if (want == SBX_AUTO || want == SBX_NAMESPACES) {
		if (namespaces_work())
			cf.mode = SBX_NAMESPACES;
		else if (want == SBX_NAMESPACES)
			cf.mode = root ? SBX_PERMISSIONS : SBX_PLAIN;
	} else {
		snprintf(cf.why, sizeof(cf.why), "%s",
		         want == SBX_PLAIN && root
		             ? "as root, student code always runs under a uid "
		               "of its own"
		             : "not asked for");
	}
	if (cf.mode != SBX_NAMESPACES)
		cf.mode = root ? SBX_PERMISSIONS : SBX_PLAIN;
	describe();
	if (want != SBX_AUTO && want != cf.mode)
		return -ENOTSUP;
	return 0;
}

int confine_status(int status)
{
	if (cf.mode != SBX_NAMESPACES || !WIFEXITED(status))
		return status;
	int code = WEXITSTATUS(status);
	/* A wait status whose low 7 bits are N says "killed by signal N". */
	return code > 128 && code - 128 < NSIG ? code - 128 : status;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* "child-pid": N from bubblewrap's --info-fd JSON, within 5 s. */
static pid_t read_child_pid(int fd)
{
	char buf[1024];
	size_t n = 0;
	struct pollfd p = {fd, POLLIN, 0};

	while (n + 1 < sizeof(buf) && poll(&p, 1, 5000) == 1) {
		ssize_t got = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (got <= 0)
			break;
		n += (size_t)got;
		buf[n] = '\0';
		if (strchr(buf, '}'))
			break;
	}
	buf[n] = '\0';
	const char *key = strstr(buf, "\"child-pid\":");
	return key ? (pid_t)atoi(key + strlen("\"child-pid\":")) : 0;
}

/* A child of parent, by the parent's "children" file or, on kernels
 * without it, by each process's parent in /proc/PID/stat; 0 if none. */
static pid_t child_of(pid_t parent)
{
	char path[64], buf[300];
	int fd, ppid;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent,
	         (int)parent);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		return (pid_t)atoi(buf);
	}
	DIR *d = opendir("/proc");
	struct dirent *e;
	pid_t found = 0;
	while (d && !found && (e = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/%.20s/stat", e->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		const char *p = strrchr(buf, ')');
		if (p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == parent)
			found = (pid_t)atoi(e->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

pid_t confine_find_program(int info_fd, pid_t monitor)
{
	pid_t init = read_child_pid(info_fd), prog;
	char path[64];

	if (init <= 0)
		return monitor;
	/* The namespace's init (bubblewrap) forks the program at once. */
	snprintf(path, sizeof(path), "/proc/%d", (int)init);
	for (int i = 0; i < 2000 && access(path, F_OK) == 0; i++) {
		if ((prog = child_of(init)) > 0)
			return prog;
		sleep_ms(1);
	}
	return monitor; /* init is gone: the program ended already */
}

/* Forks a process of the sandbox uid to see what it can open. */
static int open_as_sandbox(const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		if (setgroups(0, NULL) < 0 || setgid(sbx_uid()) < 0 ||
		    setuid(sbx_uid()) < 0)
			_exit(2);
		_exit(open(path, O_RDONLY | O_DIRECTORY) >= 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Permissions mode: others lose every right on the course tree. For good:
 * putting the bits back at exit would race graders running side by side. */
static int close_course(const char *course, char *why, size_t cap)
{
	struct stat st;

	if (stat(course, &st) < 0 ||
	    ((st.st_mode & S_IRWXO) && chmod(course, st.st_mode & 0770) < 0)) {
		snprintf(why, cap, "cannot close %s to others: %s", course,
		         strerror(errno));
		return -errno;
	}
	if (open_as_sandbox(course) != 1) {
		snprintf(why, cap,
		         "the sandbox uid can still read %s (its group?)",
		         course);
		return -EACCES;
	}
	if (open_as_sandbox(cf.box) != 0) {
		snprintf(why, cap,
		         "the sandbox uid cannot reach the scratch folder %s: "
		         "set TMPDIR to a folder others may enter (/tmp)",
		         cf.box);
		return -EACCES;
	}
	return 0;
}

static bool inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == '/' || path[n] == '\0');
}

/* The folders above path, top down (at most 8): bubblewrap must make them
 * walkable for the sandbox uid to reach path. */
static int parents_of(const char *path, char parents[][PATH_MAX])
{
	int n = 0;

	for (const char *p = path + 1; (p = strchr(p, '/')) && n < 8; p++)
		snprintf(parents[n++], PATH_MAX, "%.*s", (int)(p - path), path);
	return n;
}

int sbx_share(const char *dir)
{
	if (strlen(dir) >= sizeof(cf.shared) || dir[0] != '/')
		return -EINVAL;
	snprintf(cf.shared, sizeof(cf.shared), "%s", dir);
	cf.nshared_parents = parents_of(dir, cf.shared_parents);
	return 0;
}

int sbx_set_box(const char *box, const char *course, char *why, size_t cap)
{
	char tmp[PATH_MAX + 8], real[PATH_MAX];
	int rc;

	snprintf(cf.box, sizeof(cf.box), "%s", box);
	cf.nparents = parents_of(box, cf.parents);
	snprintf(tmp, sizeof(tmp), "%s/tmp", box);
	snprintf(cf.tmpdir, sizeof(cf.tmpdir), "TMPDIR=%s", tmp);
	if ((rc = sbx_mkdir(tmp)) < 0) {
		snprintf(why, cap, "cannot make %s: %s", tmp, strerror(-rc));
		return rc;
	}
	cf.hide[0] = '\0';
	if (!course || !realpath(course, real))
		return 0;
	if (cf.mode == SBX_PERMISSIONS)
		return close_course(real, why, cap);
	/* Only /usr and /etc are shown: a course kept there is covered. */
	if (inside(real, "/usr") || inside(real, "/etc"))
		snprintf(cf.hide, sizeof(cf.hide), "%s", real);
	return 0;
}
