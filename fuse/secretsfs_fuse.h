/*
 * fuse/secretsfs_fuse.h - the FUSE layer of a secrets tree
 * (fuse/secretsfs_fuse.c): a session mounted on fs->mountpoint, served by
 * one thread.
 */
#ifndef CEPHVOL_SECRETSFS_FUSE_H
#define CEPHVOL_SECRETSFS_FUSE_H

#include <stdbool.h>
#include <stddef.h>

struct secretsfs;
struct secretsfs_entry;

/* Create the session and mount it on fs->mountpoint; 0 or -errno and a
 * sentence. */
int	secretsfs_fuse_mount(struct secretsfs *fs, char *err, size_t errlen);
/* Serve until unmounted or secretsfs_fuse_stop(); 0 or -errno. Like
 * imagefs_run(), its thread must also be interrupted to stop. */
int	secretsfs_fuse_run(struct secretsfs *fs);
void	secretsfs_fuse_stop(struct secretsfs *fs);
void	secretsfs_fuse_unmount(struct secretsfs *fs);
/* e changed: drop what the kernel caches of it, its attributes and, with
 * name, its name. From the refresher only, never on a request's path. */
void	secretsfs_fuse_invalidate(struct secretsfs *fs, struct secretsfs_entry *e,
	    bool name);

#endif
