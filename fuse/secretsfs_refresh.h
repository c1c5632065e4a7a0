/*
 * fuse/secretsfs_refresh.h - keeping a secrets tree current while it is
 * served (fuse/secretsfs_refresh.c).
 */
#ifndef CEPHVOL_SECRETSFS_REFRESH_H
#define CEPHVOL_SECRETSFS_REFRESH_H

struct secretsfs;

/* Watch every entry for updates (a failure is logged: the re-check
 * catches up) and mark the followed ones for one refresh. */
void	secretsfs_refresh_watch(struct secretsfs *fs);
/* Drop every watch (the refresher stopped). */
void	secretsfs_refresh_unwatch(struct secretsfs *fs);
/* Start the refresher thread (the tree mounted); 0 or -errno. */
int	secretsfs_refresh_start(struct secretsfs *fs);
/* Stop it and wait for it. */
void	secretsfs_refresh_stop(struct secretsfs *fs);
/* From any thread: stop serving the volume, for good, saying why. */
void	secretsfs_refresh_revoke(struct secretsfs *fs, const char *why);

#endif
