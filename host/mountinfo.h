/*
 * host/mountinfo.h - what is mounted on this host, read afresh from
 * /proc/self/mountinfo (and, for other mount namespaces, /proc/PID/
 * mountinfo) at every call; mount points are compared unescaped.
 */
#ifndef CEPHVOL_HOST_MOUNTINFO_H
#define CEPHVOL_HOST_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Is path (as given, or resolved by realpath) a mount point? Fills its
 * fstype and source ("/dev/loop3"), each may be NULL, from the last such
 * mount (the one on top).
 */
bool	mountinfo_find(const char *path, char *fstype, size_t flen, char *source,
	    size_t slen);
/* The first mount point of this namespace whose source is `source`
 * ("/dev/loop3"), into mountpoint. */
bool	mountinfo_by_source(const char *source, char *mountpoint, size_t len);
/* fn(mountpoint, arg) for every mount of this namespace, in order. 0 or
 * -errno when the table cannot be read. */
int	mountinfo_each(void (*fn)(const char *mountpoint, void *arg), void *arg);
/*
 * How many mount namespaces other than ours have the filesystem mounted at
 * mountpoint (containers bind-mount it into theirs); -1 if unknown.
 */
int	mountinfo_elsewhere(const char *mountpoint);

#endif
