/*
 * host/freeze.h - the filesystem that a volume's image carries, found from
 * the image file; and pausing it, so that a snapshot taken meanwhile is
 * consistent: FIFREEZE writes back what
 * the filesystem has dirty, commits its journal and blocks new writes until
 * FITHAW. The filesystem is found from the image file: the loop device
 * whose backing file it is, and where that device is mounted.
 */
#ifndef CEPHVOL_HOST_FREEZE_H
#define CEPHVOL_HOST_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The loop device over image_file (as below) and where it is mounted;
 * false when none is. */
bool	fs_over_image(const char *image_file, char *dev, size_t devlen,
	    char *mountpoint, size_t mplen);
/*
 * Freeze the filesystem mounted from a loop device over image_file (an
 * absolute path without symlinks, as realpath() gives). *fd is
 * what freeze_thaw() takes, or -1 when no filesystem is mounted from it
 * (nothing to freeze: returns 0). mountpoint (may be NULL) gets where it
 * is mounted; *t_freeze when the pause began (now_ns(): after a syncfs
 * that writers do not wait for, before FIFREEZE). Past deadline_ns
 * (now_ns(); 0: none) after that writeback, nothing is frozen: -ETIMEDOUT. -errno and a sentence in err on failure (nothing frozen).
 */
int	freeze_image_fs(const char *image_file, int *fd, char *mountpoint,
	    size_t mplen, uint64_t deadline_ns, uint64_t *t_freeze, char *err,
	    size_t errlen);
/* Thaw and close; nothing when fd is -1. */
void	freeze_thaw(int fd);

#endif
