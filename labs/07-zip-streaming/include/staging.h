/* staging.h - a folder that appears whole or not at all (lab 7).
 *
 * An extraction writes into a hidden folder next to its destination,
 * ".NAME.partial-XXXXXX"; only when everything has been checked is it
 * renamed to NAME, in one step that no reader can see half done
 * (rename(2) within one file system is atomic). On any failure the hidden
 * folder and everything in it are removed, so no partial file is ever
 * left where anyone looks.
 */
#ifndef STAGING_H
#define STAGING_H

#include <limits.h>

struct staging {
	int parent;              /* the destination's folder (not ours) */
	int fd;                  /* the staging folder, open */
	char name[NAME_MAX + 1]; /* the destination's name */
	char tmp[NAME_MAX + 1];  /* the staging folder's name */
};

/* Creates the staging folder for parent/name; name must not exist.
 * 0 or -errno (-EEXIST if name does). */
int stage_open(struct staging *s, int parent, const char *name);
/* Renames the staging folder to its name: 0 or -errno (then it is still
 * there: discard it). Closes s->fd either way. */
int stage_publish(struct staging *s);
/* Removes the staging folder and all it holds. */
void stage_discard(struct staging *s);
/* Removes dirfd/name and, if it is a folder, everything below it, never
 * following a symbolic link. 0 or -errno. */
int rm_tree(int dirfd, const char *name);

#endif
