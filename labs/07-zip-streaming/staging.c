/* staging.c - a folder that appears whole or not at all (lab 7).
 *
 * Yours to finish: stage_publish() and stage_discard(), the two ways a
 * staging folder ends. Making it, and removing a tree, are given. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "staging.h"

int rm_tree(int at, const char *name)
{
	int fd, rc = 0;
	DIR *d;
	struct dirent *de;

	if (unlinkat(at, name, 0) == 0)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return errno == ENOENT ? 0 : -errno;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		int r = rm_tree(fd, de->d_name);
		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	if (unlinkat(at, name, AT_REMOVEDIR) < 0 && rc == 0)
		rc = -errno;
	return rc;
}

int stage_open(struct staging *s, int parent, const char *name)
{
	struct stat st;

	if (strlen(name) + 20 > NAME_MAX)
		return -ENAMETOOLONG;
	if (fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return -EEXIST;
	s->parent = parent;
	snprintf(s->name, sizeof(s->name), "%s", name);
	/* A name nobody else is using: mkdir fails if it is taken. */
	for (int tries = 0; tries < 100; tries++) {
		snprintf(s->tmp, sizeof(s->tmp), ".%s.partial-%06lx", name,
		         (unsigned long)((getpid() * 7919L + random() + tries) &
		                         0xffffff));
		if (mkdirat(parent, s->tmp, 0700) == 0)
			goto made;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
made:
	s->fd = openat(parent, s->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0) {
		int err = -errno;
		unlinkat(parent, s->tmp, AT_REMOVEDIR);
		return err;
	}
	return 0;
}

int stage_publish(struct staging *s)
{
	/* TODO(lab 7): the staging folder becomes the result in one step
	 * no reader can see half done. Returns 0, and then s->name is the
	 * folder, with everything in it, readable by others (it was 0700
	 * while it filled, 0755 now). Or -errno, and then s->name is as it
	 * was and the staging folder is still there (the caller discards
	 * it). Either way s->fd is closed.
	 *
	 * The trap: something named s->name may have appeared since
	 * stage_open() looked, and it must never be replaced: rename(2)
	 * silently replaces an empty folder (or a file, by a file), and
	 * renameat2(2) has a flag that refuses to replace anything. */
	(void)s;
	return -ENOSYS;
}

void stage_discard(struct staging *s)
{
	/* TODO(lab 7): afterwards s->fd is closed (and -1: a discard
	 * after a failed publish, which closed it, must not close it again)
	 * and the staging folder is gone with everything in it (rm_tree(),
	 * given): nothing of a refused archive is left beside the
	 * destination. */
	(void)s;
}
